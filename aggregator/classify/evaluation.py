"""Scoring the classifier on a labelled JSONL file: `biowire evaluate` and the benchmark.

Each row is `{"text": ..., "title": optional, "labels": [...], "split": "train" | "test"}`.
A row without a title whose text has several lines takes its first line as the title: that
is how wire copy such as Reuters-21578 stores a headline.

- With train rows, a fresh classifier is trained on them by `aggregator.classify.train`, the
  very code that trains the product, on the labels the train rows use, and scored on the
  test rows.
- With test rows only, the caller's classifier (the active model) is scored; labels it does
  not know are listed and left out of the scores.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support

from aggregator.classify.model import Classifier
from aggregator.classify.training import train
from aggregator.classify.types import Document, Example, Params, ProgressCallback, TrainingReport
from aggregator.errors import ClassifierError

SIGNAL_FILE = "evaluation-file"


class EvaluationError(ClassifierError):
    """The evaluation file is missing, malformed or has no test rows."""


@dataclass(frozen=True)
class Row:
    title: str
    text: str
    labels: tuple[str, ...]
    split: str

    @property
    def document(self) -> Document:
        return Document(self.title, self.text)


@dataclass(frozen=True)
class LabelScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    micro_f1: float
    macro_f1: float
    per_label: dict[str, LabelScore]
    n_test: int
    n_train: int
    train_seconds: float | None
    predict_docs_per_second: float
    ignored_labels: list[str] = field(default_factory=list)
    training: TrainingReport | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "micro_f1": self.micro_f1,
            "macro_f1": self.macro_f1,
            "per_label": {
                label: {
                    "precision": s.precision,
                    "recall": s.recall,
                    "f1": s.f1,
                    "support": s.support,
                }
                for label, s in self.per_label.items()
            },  # fmt: skip
            "n_test": self.n_test,
            "n_train": self.n_train,
            "train_seconds": self.train_seconds,
            "predict_docs_per_second": self.predict_docs_per_second,
            "ignored_labels": self.ignored_labels,
        }


def read_rows(path: Path) -> list[Row]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvaluationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    rows: list[Row] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            text, labels, split = raw["text"], raw["labels"], raw.get("split", "test")
            if not isinstance(text, str) or not isinstance(labels, list):
                raise ValueError("text must be a string and labels a list")
            if split not in ("train", "test"):
                raise ValueError(f"split must be 'train' or 'test', not {split!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EvaluationError(f"{path.name}:{number}: not an evaluation row ({exc})") from exc
        title = raw.get("title")
        if not title and "\n" in text.strip():
            title, _, text = text.strip().partition("\n")
        rows.append(Row(str(title or "").strip(), text.strip(), tuple(map(str, labels)), split))
    return rows


def evaluate_rows(
    rows: Sequence[Row],
    active: Callable[[], Classifier],
    params: Params | None = None,
    progress: ProgressCallback | None = None,
) -> Evaluation:
    """Train on the train rows if any (else take `active()`), then score the test rows."""
    train_rows = [r for r in rows if r.split == "train"]
    test_rows = [r for r in rows if r.split == "test"]
    if not test_rows:
        raise EvaluationError("the file has no test rows to score")
    report: TrainingReport | None = None
    ignored: list[str] = []
    if train_rows:
        topics = sorted({label for r in train_rows for label in r.labels})
        examples = [Example(r.title, r.text, r.labels, SIGNAL_FILE) for r in train_rows]
        started = time.perf_counter()
        classifier, report = train(examples, topics, params, progress)
        train_seconds: float | None = round(time.perf_counter() - started, 2)
        # A label seen only in the test rows cannot be predicted; it still counts, as a miss.
        labels = topics + sorted({lb for r in test_rows for lb in r.labels} - set(topics))
    else:
        classifier = active()
        train_seconds = None
        labels = list(classifier.topics)
        ignored = sorted({lb for r in test_rows for lb in r.labels} - set(labels))

    started = time.perf_counter()
    predicted = classifier.predict_labels([r.document for r in test_rows])
    seconds = time.perf_counter() - started
    column = {t: j for j, t in enumerate(classifier.topics)}
    truth = np.array([[int(lb in r.labels) for lb in labels] for r in test_rows], dtype=np.int8)
    guessed = np.zeros_like(truth)
    for j, label in enumerate(labels):
        if label in column:
            guessed[:, j] = predicted[:, column[label]]
    return _score(truth, guessed, labels, len(train_rows), train_seconds, seconds, ignored,
                  report)  # fmt: skip


def _score(
    truth: np.ndarray,
    guessed: np.ndarray,
    labels: list[str],
    n_train: int,
    train_seconds: float | None,
    predict_seconds: float,
    ignored: list[str],
    report: TrainingReport | None,
) -> Evaluation:
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, guessed, average=None, zero_division=0
    )
    per_label = {
        label: LabelScore(round(float(p), 4), round(float(r), 4), round(float(f), 4), int(s))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    # A label absent from the test rows and never predicted has no defined F1; averaging it
    # in as 0 would punish a model for being right, so the macro average leaves it out.
    defined = (truth.sum(axis=0) + guessed.sum(axis=0)) > 0
    macro = float(np.mean(f1[defined])) if defined.any() else 0.0
    return Evaluation(
        micro_f1=round(float(f1_score(truth, guessed, average="micro", zero_division=0)), 4),
        macro_f1=round(macro, 4),
        per_label=per_label,
        n_test=len(truth),
        n_train=n_train,
        train_seconds=train_seconds,
        predict_docs_per_second=round(len(truth) / max(predict_seconds, 1e-9), 1),
        ignored_labels=ignored,
        training=report,
    )


def evaluate_file(
    path: Path,
    active: Callable[[], Classifier],
    params: Params | None = None,
    progress: ProgressCallback | None = None,
) -> Evaluation:
    return evaluate_rows(read_rows(path), active, params, progress)
