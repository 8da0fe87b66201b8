"""A stored model is data: arrays and JSON, rebuilt into the same classifier, and a blob
that is anything else (damaged, of another format, a pickle) is a `ClassifierError` that
names the fix, with nothing of the blob run."""

from __future__ import annotations

import io
import json
import os
import pickle
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aggregator import speedups
from aggregator.classify.evaluation import read_rows
from aggregator.classify.model import Classifier
from aggregator.classify.training import train
from aggregator.classify.types import Document, Example, Params
from aggregator.errors import ClassifierError

SMALL = Path(__file__).resolve().parents[2] / "fixtures" / "classifier-small.jsonl"
TOPICS = ["airports-travel", "payments-finance", "research-standards"]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    rows = [r for r in read_rows(SMALL) if r.split == "train"]
    examples = [Example(r.title, r.text, r.labels) for r in rows] + [
        # Two articles naming a border agency, so that its kind's token is a column.
        Example("CBP opens face gates at the airport", "Travellers board.", ("airports-travel",)),
        Example("Frontex and the ABF trial e-gates", "At two airports.", ("airports-travel",)),
    ]
    trained, _ = train(examples, TOPICS, Params(organisation_kinds=True))
    return trained


@pytest.fixture(scope="module")
def blob(classifier: Classifier) -> bytes:
    return classifier.to_bytes()


@pytest.mark.parametrize("fast_paths", [True, False], ids=["fast-paths", "as-shipped"])
def test_a_loaded_model_tags_exactly_as_the_one_saved(
    classifier: Classifier, blob: bytes, fast_paths: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speedups, "_enabled", fast_paths)
    documents = [r.document for r in read_rows(SMALL)]
    loaded = Classifier.from_bytes(blob)
    assert loaded.topics == classifier.topics and loaded.fallback == classifier.fallback
    assert loaded.thresholds == classifier.thresholds
    assert loaded.features.names() == classifier.features.names()
    assert np.array_equal(loaded.scores(documents), classifier.scores(documents))
    tags = loaded.predict(documents)
    assert tags == classifier.predict(documents)
    assert sum(len(t) for t in tags) >= len(documents) // 2
    assert all(tag.why for row in tags for tag in row)


def test_the_blob_is_an_archive_of_arrays_and_a_versioned_description(blob: bytes) -> None:
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    description = json.loads(arrays["json"].tobytes())
    assert (description["kind"], description["format"]) == ("biowire-classifier", 1)
    assert description["topics"] == TOPICS
    blocks = description["features"]["blocks"]
    assert list(blocks) == ["title", "body", "whole"]
    assert blocks["body"]["params"]["ngram_range"] == [1, 2]
    assert description["features"]["organisation_kinds"] is True
    assert "orgkind_border_agency" in blocks["whole"]["vocabulary"]
    assert len(blocks["body"]["vocabulary"]) == len(arrays["body_idf"])
    assert set(arrays) == {"json", "weights", "intercepts", "calibration", "cuts",
                           "title_idf", "body_idf", "whole_idf"}  # fmt: skip


Change = Callable[[dict[str, Any], dict[str, np.ndarray]], None]


def _repacked(blob: bytes, change: Change) -> bytes:
    """`blob` with its description and arrays changed by `change`, archived again."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    description = json.loads(arrays.pop("json").tobytes())
    change(description, arrays)
    text = json.dumps(description).encode()
    buffer = io.BytesIO()
    np.savez(buffer, json=np.frombuffer(text, dtype=np.uint8), **arrays)
    return buffer.getvalue()


def _archive(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _block_param(name: str, value: object) -> Change:
    return lambda d, a: d["features"]["blocks"]["body"]["params"].__setitem__(name, value)


DAMAGED: list[tuple[str, Callable[[bytes], bytes], str]] = [
    ("empty", lambda b: b"", "not a model archive"),
    ("text", lambda b: b"model 7, trust me", "not a model archive"),
    ("a-pickle", lambda b: pickle.dumps({"weights": [1.0]}), "it is a pickle"),
    ("truncated", lambda b: b[: len(b) // 2], "not a model archive"),
    ("a-single-array", lambda b: _npy(np.zeros(3)), "not a model archive"),
    ("no-description", lambda b: _archive(weights=np.zeros((2, 2))), "no description"),
    ("description-not-json",
     lambda b: _archive(json=np.frombuffer(b"{not json", dtype=np.uint8)), "not JSON"),
    ("another-kind", lambda b: _repacked(b, lambda d, a: d.update(kind="spam")),
     "not a biowire-classifier"),
    ("unknown-format", lambda b: _repacked(b, lambda d, a: d.update(format=2)),
     "of format 2; this version reads format 1"),
    ("no-weights", lambda b: _repacked(b, lambda d, a: a.pop("weights")), "no 'weights' array"),
    ("weights-of-other-shape",
     lambda b: _repacked(b, lambda d, a: a.update(weights=a["weights"][:-1])), "shape"),
    ("a-topic-too-many",
     lambda b: _repacked(b, lambda d, a: d["topics"].append("weather")), "shape"),
    ("idf-of-other-length",
     lambda b: _repacked(b, lambda d, a: a.update(body_idf=a["body_idf"][1:])), "'body_idf'"),
    ("object-array",
     lambda b: _repacked(b, lambda d, a: a.update(cuts=np.array([None] * 3, dtype=object))),
     "Object arrays cannot be loaded"),
    ("a-block-missing",
     lambda b: _repacked(b, lambda d, a: d["features"]["blocks"].pop("whole")), "blocks"),
    ("unknown-norm", lambda b: _repacked(b, _block_param("norm", "l3")), "norm='l3'"),
    ("bad-token-pattern", lambda b: _repacked(b, _block_param("token_pattern", "(")),
     "token_pattern"),
    ("organisation-kinds-not-a-flag",
     lambda b: _repacked(b, lambda d, a: d["features"].update(organisation_kinds="yes")),
     "'organisation_kinds'"),
    ("a-term-twice",
     lambda b: _repacked(b, lambda d, a: _twice(d["features"]["blocks"]["title"]["vocabulary"])),
     "lists a term twice"),
]  # fmt: skip


NAMING_ORGANISATIONS = [
    Document("CBP opens face gates at the airport", "Travellers and the border agency."),
    Document("Frontex and eu-LISA", "The EES starts at the border; iBeta tested the bank app."),
    Document("cbp opens gates", "frontex watched the airport"),
]


@pytest.mark.parametrize("fast_paths", [True, False], ids=["fast-paths", "as-shipped"])
def test_the_organisation_kinds_switch_is_stored_and_read_back(
    classifier: Classifier, blob: bytes, fast_paths: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speedups, "_enabled", fast_paths)
    loaded = Classifier.from_bytes(blob)
    assert classifier.features.organisation_kinds and loaded.features.organisation_kinds
    assert np.array_equal(
        loaded.features.transform(NAMING_ORGANISATIONS).toarray(),
        classifier.features.transform(NAMING_ORGANISATIONS).toarray(),
    )
    assert loaded.predict(NAMING_ORGANISATIONS) == classifier.predict(NAMING_ORGANISATIONS)


@pytest.mark.parametrize("fast_paths", [True, False], ids=["fast-paths", "as-shipped"])
def test_a_model_stored_before_organisation_kinds_loads_and_predicts_as_before(
    fast_paths: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blob of format 1 written before the switch existed has no `organisation_kinds`: it
    reads its whole text alone, as it was trained, and tags exactly as before."""
    monkeypatch.setattr(speedups, "_enabled", fast_paths)
    rows = [r for r in read_rows(SMALL) if r.split == "train"]
    examples = [Example(r.title, r.text, r.labels) for r in rows]
    before, _ = train(examples, TOPICS, Params(organisation_kinds=False))
    old_blob = _repacked(before.to_bytes(), lambda d, a: d["features"].pop("organisation_kinds"))
    loaded = Classifier.from_bytes(old_blob)
    assert loaded.features.organisation_kinds is False
    documents = [*NAMING_ORGANISATIONS, *(r.document for r in read_rows(SMALL))]
    assert np.array_equal(loaded.scores(documents), before.scores(documents))
    assert loaded.predict(documents) == before.predict(documents)
    # Saved again, it says what it is.
    again = json.loads(np.load(io.BytesIO(loaded.to_bytes()))["json"].tobytes())
    assert again["features"]["organisation_kinds"] is False


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _twice(vocabulary: list[str]) -> None:
    vocabulary[1] = vocabulary[0]


@pytest.mark.parametrize(
    ("damage", "reason"), [case[1:] for case in DAMAGED], ids=[case[0] for case in DAMAGED]
)
def test_a_blob_that_is_not_a_model_of_this_format_is_a_clear_error(
    blob: bytes, damage: Callable[[bytes], bytes], reason: str
) -> None:
    with pytest.raises(ClassifierError) as raised:
        Classifier.from_bytes(damage(blob), "model 7")
    message = str(raised.value)
    assert message.startswith("model 7 cannot be loaded (")
    assert message.endswith("): run `biowire train`")
    assert reason in message


class _Exploit:
    """Unpickled, it would run a shell command that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


EXPLOITS: list[tuple[str, Callable[[_Exploit], bytes]]] = [
    ("pickle", lambda exploit: pickle.dumps(exploit, protocol=pickle.HIGHEST_PROTOCOL)),
    ("pickle-protocol-0", lambda exploit: pickle.dumps(exploit, protocol=0)),
    ("archive-of-a-pickled-array",
     lambda exploit: _archive(json=np.array([exploit], dtype=object))),
]  # fmt: skip


@pytest.mark.parametrize("pack", [e[1] for e in EXPLOITS], ids=[e[0] for e in EXPLOITS])
def test_a_blob_that_would_run_code_is_refused_without_running_it(
    tmp_path: Path, pack: Callable[[_Exploit], bytes]
) -> None:
    marker = tmp_path / "ran"
    blob = pack(_Exploit(marker))
    with pytest.raises(ClassifierError, match="cannot be loaded .*run `biowire train`"):
        Classifier.from_bytes(blob)
    assert not marker.exists()
    # The blob really runs the command when it is unpickled, as the old loader did.
    if blob.startswith(b"PK"):
        with np.load(io.BytesIO(blob), allow_pickle=True) as archive:
            archive["json"]
    else:
        pickle.loads(blob)  # noqa: S301
    assert marker.exists()
