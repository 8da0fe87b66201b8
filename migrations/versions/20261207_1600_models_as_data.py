"""Models as data: every stored classifier, until now a pickle, converted into the arrays
and JSON of `aggregator.classify.model_format` (format 1); each pickle kept in the new
column `legacy_blob`, so that a downgrade can put it back.

The pickles are read by an unpickler that runs nothing of theirs: it builds NumPy arrays,
and, for the classes of Biowire and scikit-learn they name (under the module paths of
every earlier version), plain holders of the pickled attributes; any other name is
refused. A row that cannot be converted is left as it is, and logged: it then fails to
load with an error that says to run `biowire train`.

The conversion writes format 1 itself, with NumPy alone, rather than calling the
application's code: a migration must write the same thing whatever the application
becomes after it.

Revision ID: 20261207_1600_models_as_data
Revises: 20261128_2307_initial
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import io
import json
import logging
import pickle
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import context, op

if TYPE_CHECKING:
    import numpy as np

# NumPy is imported by the functions that convert, not with this module: Alembic imports
# every revision to find the head, as the web server does when it starts.

revision: str = "20261207_1600_models_as_data"
down_revision: str | None = "20261128_2307_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("biowire.migrations")

_MODELS = sa.table(
    "classifier_models",
    sa.column("id", sa.Integer()),
    sa.column("blob", sa.LargeBinary()),
    sa.column("legacy_blob", sa.LargeBinary()),
)
# How a blob of the new format starts: a zip archive's first local header.
_ZIP_MAGIC = b"PK\x03\x04"


def upgrade() -> None:
    with op.batch_alter_table("classifier_models") as batch_op:
        batch_op.add_column(sa.Column("legacy_blob", sa.LargeBinary(), nullable=True))
    if context.is_offline_mode():
        log.warning("SQL only: the stored models are not converted (run the upgrade itself)")
        return
    connection = op.get_bind()
    for model_id in connection.scalars(sa.select(_MODELS.c.id).order_by(_MODELS.c.id)).all():
        # One blob at a time: a database may hold many model versions of megabytes each.
        blob = bytes(
            connection.scalar(sa.select(_MODELS.c.blob).where(_MODELS.c.id == model_id)) or b""
        )
        if blob.startswith(_ZIP_MAGIC):
            continue
        try:
            converted = convert(blob)
        except Unconvertible as error:
            log.warning(
                "model %s is left as it was (it cannot be converted: %s); "
                "run `biowire train` to replace it",
                model_id,
                error,
            )
            continue
        connection.execute(
            sa.update(_MODELS)
            .where(_MODELS.c.id == model_id)
            .values(blob=converted, legacy_blob=blob)
        )


def downgrade() -> None:
    connection = op.get_bind()
    connection.execute(
        sa.update(_MODELS)
        .where(_MODELS.c.legacy_blob.is_not(None))
        .values(blob=_MODELS.c.legacy_blob)
    )
    # Models stored in the new format with no pickle behind them (trained since the
    # upgrade): the previous version cannot read them. Their tags keep their rows, with
    # no model (the foreign keys say ON DELETE SET NULL).
    connection.execute(
        sa.delete(_MODELS).where(
            _MODELS.c.legacy_blob.is_(None),
            sa.func.substr(_MODELS.c.blob, 1, len(_ZIP_MAGIC))
            == sa.literal(_ZIP_MAGIC, sa.LargeBinary()),
        )
    )
    # Not in batch mode: on SQLite that copies the table into a new one and drops the old,
    # and with foreign keys on, dropping it would set every tag's model to NULL.
    op.drop_column("classifier_models", "legacy_blob")


class Unconvertible(Exception):
    """A blob that is not a pickle of a model this migration knows how to read."""


class _Pickled:
    """A pickled object's attributes, and nothing else: its class's code never runs."""

    def __init__(self, *args: object) -> None:
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: object) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (attributes, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise Unconvertible(f"{type(self).__name__} has no attributes to read")
        self.state = state


class _Features(_Pickled):
    pass


class _Tfidf(_Pickled):
    pass


class _TfidfTransformer(_Pickled):
    pass


class _SparseMatrix(_Pickled):
    pass


# The classes older models name, by every path they have had, and what reads them here.
_HOLDERS: dict[tuple[str, str], type[_Pickled]] = {
    ("aggregator.features", "Features"): _Features,
    ("aggregator.classify", "_Features"): _Features,
    ("aggregator.classify.features", "Features"): _Features,
    ("aggregator.features", "Tfidf"): _Tfidf,
    ("aggregator.classify", "_Tfidf"): _Tfidf,
    ("aggregator.classify.features", "Tfidf"): _Tfidf,
    ("sklearn.feature_extraction.text", "TfidfVectorizer"): _Tfidf,
    ("sklearn.feature_extraction.text", "TfidfTransformer"): _TfidfTransformer,
    # Before scikit-learn 1.5 the transformer kept its idf as the diagonal of a matrix.
    ("scipy.sparse._csr", "csr_matrix"): _SparseMatrix,
    ("scipy.sparse.csr", "csr_matrix"): _SparseMatrix,
    ("scipy.sparse._dia", "dia_matrix"): _SparseMatrix,
    ("scipy.sparse.dia", "dia_matrix"): _SparseMatrix,
}


def _allowed_names() -> dict[tuple[str, str], Any]:
    """The functions and types NumPy's pickles of arrays, dtypes and scalars name, under
    the module paths of NumPy 1 and 2 (taken from NumPy's own pickles, never imported by
    the names a blob gives), and the few of Python's own that pickles of protocols 0 to 2
    name: objects rebuilt by `copyreg`, bytes by `codecs.encode`."""
    import codecs
    import copyreg

    import numpy as np

    reconstruct = np.zeros(1).__reduce__()[0]
    from_buffer = np.zeros(1).__reduce_ex__(5)[0]
    scalar = np.float64(0).__reduce__()[0]
    names: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for package in ("numpy.core", "numpy._core"):
        names[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        names[(f"{package}.multiarray", "scalar")] = scalar
        names[(f"{package}.numeric", "_frombuffer")] = from_buffer
    for name in ("float64", "float32", "int64", "int32", "bool_"):
        names[("numpy", name)] = getattr(np, name)
    # Protocols 0 to 2 write Python 2's module names, which Python 3 reads as its own.
    for copyreg_module, builtins_module in (("copyreg", "builtins"), ("copy_reg", "__builtin__")):
        names[(copyreg_module, "_reconstructor")] = copyreg._reconstructor  # type: ignore[attr-defined]
        names[(builtins_module, "object")] = object
    names[("_codecs", "encode")] = codecs.encode
    return names


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds NumPy arrays and holders of attributes; refuses every other name."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self._allowed = _allowed_names()

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            return self._allowed[module, name]
        if (module, name) in _HOLDERS:
            return _HOLDERS[module, name]
        raise Unconvertible(f"it names {module}.{name}, which is not read here")


def convert(blob: bytes) -> bytes:
    """A pickled model in format 1: a `.npz` archive of its arrays and a JSON description."""
    try:
        state = _RestrictedUnpickler(io.BytesIO(blob)).load()
    except Unconvertible:
        raise
    except Exception as error:  # whatever a damaged or foreign pickle makes pickle raise
        raise Unconvertible(f"it is not a readable pickle ({error!r})") from error
    if not isinstance(state, dict):
        raise Unconvertible("it is not a stored model's state")
    try:
        return _format_1(state)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise Unconvertible(f"it lacks part of a model ({error!r})") from error


def _format_1(state: dict[str, Any]) -> bytes:
    import numpy as np

    features = _holder(state["features"], _Features)
    blocks = {"title": features["title"], "body": features["body"]}
    if features.get("whole") is not None:
        blocks["whole"] = features["whole"]
    described, idf = {}, {}
    for name, block in blocks.items():
        described[name], idf[f"{name}_idf"] = _block(_holder(block, _Tfidf))
    description = {
        "kind": "biowire-classifier",
        "format": 1,
        "topics": [str(topic) for topic in state["topics"]],
        "fallback": None if state.get("fallback") is None else float(state["fallback"]),
        "features": {
            "title_weight": float(features["title_weight"]),
            "whole_text": "whole" in blocks,
            "blocks": described,
        },
    }
    text = json.dumps(description, ensure_ascii=False).encode("utf-8")
    arrays = {
        "json": np.frombuffer(text, dtype=np.uint8),
        **{name: _floats(state[name]) for name in ("weights", "intercepts", "calibration", "cuts")},
        **idf,
    }
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


# Parameters format 1 does not store: a block must have scikit-learn's default for each.
_DEFAULTS = {
    "input": "content", "analyzer": "word", "binary": False, "preprocessor": None,
    "tokenizer": None, "stop_words": None, "strip_accents": None,
}  # fmt: skip


def _block(block: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """A TF-IDF block's description in format 1, and its idf."""
    import numpy as np

    for name, default in _DEFAULTS.items():
        if block.get(name, default) != default:
            raise Unconvertible(f"a TF-IDF block has {name}={block[name]!r}")
    columns: dict[str, int] = block["vocabulary_"]
    if sorted(columns.values()) != list(range(len(columns))):
        raise Unconvertible("a TF-IDF block's vocabulary does not number its columns")
    transformer = _holder(block["_tfidf"], _TfidfTransformer)
    params = {
        "lowercase": bool(block["lowercase"]),
        "token_pattern": str(block["token_pattern"]),
        "ngram_range": [int(n) for n in block["ngram_range"]],
        "norm": block["norm"],
        "use_idf": bool(block["use_idf"]),
        "smooth_idf": bool(block["smooth_idf"]),
        "sublinear_tf": bool(block["sublinear_tf"]),
        "dtype": np.dtype(block["dtype"]).name,
    }
    vocabulary = sorted(columns, key=columns.__getitem__)
    return {"params": params, "vocabulary": vocabulary}, _idf(transformer, len(columns))


def _idf(transformer: dict[str, Any], width: int) -> np.ndarray:
    import numpy as np

    if "idf_" in transformer:
        idf = _floats(transformer["idf_"])
    else:  # scikit-learn before 1.5: the diagonal of a sparse matrix
        diagonal = _holder(transformer["_idf_diag"], _SparseMatrix)
        if "offsets" in diagonal:  # DIA: one stored diagonal, offset 0
            idf = _floats(diagonal["data"])[0]
        else:  # CSR: one value a row, on the diagonal
            if not np.array_equal(diagonal["indices"], np.arange(width)):
                raise Unconvertible("a TF-IDF block's idf matrix is not a full diagonal")
            idf = _floats(diagonal["data"])
    if idf.shape != (width,):
        raise Unconvertible(f"a TF-IDF block's idf has shape {idf.shape}, not ({width},)")
    return idf


def _holder(value: object, kind: type[_Pickled]) -> dict[str, Any]:
    if type(value) is not kind:
        raise Unconvertible(f"{kind.__name__.lstrip('_')} expected, found {type(value).__name__}")
    assert isinstance(value, _Pickled)
    return value.state


def _floats(value: object) -> np.ndarray:
    import numpy as np

    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        raise Unconvertible("an array of numbers expected")
    return value
