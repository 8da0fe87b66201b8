"""A fitted classifier as stored in `classifier_models.blob`: data, never code.

The blob is a NumPy `.npz` archive (written by `numpy.savez` and read with
`allow_pickle=False`, so a row of the database cannot run anything when it is loaded).
Its arrays:

- `json`: the description of the model, UTF-8 JSON (below);
- `weights` (features × topics), `intercepts` (topics), `calibration` (2 × topics: each
  sigmoid's slope and offset), `cuts` (topics);
- `title_idf`, `body_idf` and, with the whole-text block, `whole_idf`: each TF-IDF block's
  idf, one value per column of its vocabulary.

The JSON: `{"kind": "biowire-classifier", "format": 1, "topics": [...], "fallback": null,
"features": {"title_weight": 1.0, "whole_text": true, "organisation_kinds": true,
"blocks": {"title": {"params": {...}, "vocabulary": [...]}, ...}}}`, each vocabulary its
terms in column order and each block's `params` the `TfidfVectorizer` parameters its
`transform` depends on. `organisation_kinds` is optional: a model stored before it existed
reads its whole text without the kinds' tokens, as it was trained. A fitted
block is rebuilt from them through scikit-learn's own parameters (a fixed `vocabulary`,
then `idf_`).

A blob that does not hold a model of this format, whatever is wrong with it, raises
`ClassifierError`, naming `biowire train` as the fix; nothing else escapes `loads`.
`numpy.savez` rather than `savez_compressed`: every parse worker loads the model, and
inflating the archive took longer than the rest of a load (BENCHMARKS.md has the figures).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from aggregator.classify.features import Features
from aggregator.errors import ClassifierError

KIND = "biowire-classifier"
FORMAT = 1
_BLOCKS = ("title", "body", "whole")
# A block's parameters that its `transform` depends on are stored with its vocabulary
# (`_PARAM_CHECKS`, at the end, says which, and checks them when it is loaded); for those
# the format leaves out, a block must have scikit-learn's default.
_DEFAULT_PARAMS = {
    "input": "content", "analyzer": "word", "binary": False, "preprocessor": None,
    "tokenizer": None, "stop_words": None, "strip_accents": None,
}  # fmt: skip
_DTYPES = ("float64", "float32")
_ZIP_MAGIC = b"PK\x03\x04"
# The first byte of a pickle of protocol 2 or later, as older versions stored models.
_PICKLE_MAGIC = b"\x80"


@dataclass(frozen=True)
class StoredModel:
    """What a blob holds: a `Classifier`'s parts."""

    features: Features
    topics: list[str]
    weights: np.ndarray
    intercepts: np.ndarray
    calibration: np.ndarray
    cuts: np.ndarray
    fallback: float | None


def dumps(model: StoredModel) -> bytes:
    """The model as a blob. Raises `ValueError` for features this format cannot hold."""
    features = model.features
    blocks = dict(zip(_BLOCKS, features.blocks(), strict=False))
    description = {
        "kind": KIND,
        "format": FORMAT,
        "topics": list(model.topics),
        "fallback": None if model.fallback is None else float(model.fallback),
        "features": {
            "title_weight": float(features.title_weight),
            "whole_text": features.whole is not None,
            "organisation_kinds": features.organisation_kinds,
            "blocks": {name: _describe_block(block) for name, block in blocks.items()},
        },
    }
    text = json.dumps(description, ensure_ascii=False).encode("utf-8")
    arrays = {
        "json": np.frombuffer(text, dtype=np.uint8),
        "weights": model.weights,
        "intercepts": model.intercepts,
        "calibration": model.calibration,
        "cuts": model.cuts,
        **{f"{name}_idf": block.idf_ for name, block in blocks.items()},
    }
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def _describe_block(block: TfidfVectorizer) -> dict[str, Any]:
    params = block.get_params()
    for name, default in _DEFAULT_PARAMS.items():
        if params[name] != default:
            raise ValueError(f"a TF-IDF block with {name}={params[name]!r} cannot be stored")
    if not block.use_idf:
        raise ValueError("a TF-IDF block without idf cannot be stored")
    stored = {name: params[name] for name in _PARAM_CHECKS}
    stored["ngram_range"] = list(block.ngram_range)
    stored["dtype"] = np.dtype(block.dtype).name
    columns = block.vocabulary_
    return {"params": stored, "vocabulary": sorted(columns, key=columns.__getitem__)}


def loads(blob: bytes, label: str = "the stored model") -> StoredModel:
    """The model a blob holds; `label` names it in the error (e.g. "model 7")."""
    try:
        return _read(blob)
    except ClassifierError as error:
        raise ClassifierError(f"{label} cannot be loaded ({error}): run `biowire train`") from None
    except Exception as error:  # whatever a damaged blob makes NumPy or scikit-learn raise
        raise ClassifierError(
            f"{label} cannot be loaded (it is damaged: {error}): run `biowire train`"
        ) from error


def _read(blob: bytes) -> StoredModel:
    if blob.startswith(_PICKLE_MAGIC):
        raise ClassifierError(
            "it is a pickle, as older versions of Biowire stored models, and this version "
            "never loads one"
        )
    if not blob.startswith(_ZIP_MAGIC):
        raise ClassifierError("it is not a model archive")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ClassifierError(f"it is not a model archive: {error}") from error
    if not all(isinstance(array, np.ndarray) for array in arrays.values()):
        raise ClassifierError("it is not a model archive: it holds files that are not arrays")
    if "json" not in arrays:
        raise ClassifierError("it has no description")
    description = _description(arrays.pop("json"))
    features_description = _field(description, "features", dict)
    blocks = _field(features_description, "blocks", dict)
    whole_text = _field(features_description, "whole_text", bool)
    expected_blocks = list(_BLOCKS if whole_text else _BLOCKS[:2])
    if list(blocks) != expected_blocks:
        raise ClassifierError(f"its feature blocks are {list(blocks)}, not {expected_blocks}")
    vectorizers = [_block(name, blocks[name], arrays) for name in expected_blocks]
    title_weight = _field(features_description, "title_weight", (int, float))
    whole = vectorizers[2] if whole_text else None
    organisation_kinds = False
    if "organisation_kinds" in features_description:
        organisation_kinds = _field(features_description, "organisation_kinds", bool)
    features = Features(vectorizers[0], vectorizers[1], whole, title_weight, organisation_kinds)
    features.index_words()
    topics = _field(description, "topics", list)
    if not all(isinstance(topic, str) for topic in topics):
        raise ClassifierError("its topics are not all names")
    fallback = _field(description, "fallback", (int, float, type(None)))
    width = sum(len(vectorizer.vocabulary_) for vectorizer in vectorizers)
    shapes = {
        "weights": (width, len(topics)),
        "intercepts": (len(topics),),
        "calibration": (2, len(topics)),
        "cuts": (len(topics),),
    }
    parts = {name: _array(arrays, name, shape) for name, shape in shapes.items()}
    return StoredModel(
        features=features,
        topics=topics,
        weights=parts["weights"],
        intercepts=parts["intercepts"],
        calibration=parts["calibration"],
        cuts=parts["cuts"],
        fallback=None if fallback is None else float(fallback),
    )


def _description(raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ClassifierError("its description is not text")
    try:
        description = json.loads(raw.tobytes().decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ClassifierError(f"its description is not JSON: {error}") from error
    if not isinstance(description, dict) or description.get("kind") != KIND:
        raise ClassifierError(f"it is not a {KIND}")
    if description.get("format") != FORMAT:
        raise ClassifierError(
            f"it is of format {description.get('format')!r}; this version reads format {FORMAT}"
        )
    return description


def _field(container: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = container.get(name)
    if name not in container or not isinstance(value, kind):
        raise ClassifierError(f"its description lacks a valid {name!r}")
    return value


def _array(arrays: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in arrays:
        raise ClassifierError(f"it has no {name!r} array")
    array = arrays[name]
    if array.shape != shape:
        raise ClassifierError(f"its {name!r} array has shape {array.shape}, not {shape}")
    if array.dtype.kind != "f":
        raise ClassifierError(f"its {name!r} array holds {array.dtype}, not numbers")
    return array


def _block(name: str, description: Any, arrays: dict[str, np.ndarray]) -> TfidfVectorizer:
    """A fitted TF-IDF block, rebuilt as scikit-learn's own: its parameters, its vocabulary
    as a fixed one, and its idf."""
    if not isinstance(description, dict):
        raise ClassifierError(f"its {name!r} block is not described")
    params = _field(description, "params", dict)
    vocabulary = _field(description, "vocabulary", list)
    if set(params) != set(_PARAM_CHECKS):
        raise ClassifierError(f"its {name!r} block has the parameters {sorted(params)}")
    for param, valid in _PARAM_CHECKS.items():
        if not valid(params[param]):
            raise ClassifierError(f"its {name!r} block has {param}={params[param]!r}")
    if not vocabulary or set(map(type, vocabulary)) != {str}:
        raise ClassifierError(f"its {name!r} block's vocabulary is not a list of terms")
    columns = {term: column for column, term in enumerate(vocabulary)}
    if len(columns) != len(vocabulary):
        raise ClassifierError(f"its {name!r} block's vocabulary lists a term twice")
    shortest, longest = params["ngram_range"]
    block = TfidfVectorizer(
        **{**params, "ngram_range": (shortest, longest), "dtype": np.dtype(params["dtype"]).type},
        vocabulary=columns,
    )
    block.idf_ = _array(arrays, f"{name}_idf", (len(vocabulary),))
    return block


def _is_pattern(value: Any) -> bool:
    try:
        re.compile(value)
    except (re.error, TypeError):
        return False
    return True


def _is_ngram_range(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(type(n) is int for n in value)
        and 1 <= value[0] <= value[1]
    )


# Each stored parameter of a block, and what a valid value of it is.
_PARAM_CHECKS: dict[str, Callable[[Any], bool]] = {
    "lowercase": lambda value: isinstance(value, bool),
    "token_pattern": _is_pattern,
    "ngram_range": _is_ngram_range,
    "norm": lambda value: value in ("l1", "l2", None),
    "use_idf": lambda value: value is True,
    "smooth_idf": lambda value: isinstance(value, bool),
    "sublinear_tf": lambda value: isinstance(value, bool),
    "dtype": lambda value: value in _DTYPES,
}
