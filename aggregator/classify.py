"""The topic classifier. The only module that touches scikit-learn.

TF-IDF features (title and body separately, so a word in the headline counts for more) feed
one linear model per topic (one-vs-rest). Each topic gets its own decision threshold, chosen
by cross-validation on the training data. A fitted `Classifier` is serialised into a
`ClassifierModel` row by `aggregator.tagging`; this module knows nothing about the database.
"""

from __future__ import annotations

import io
import json
import pickle
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MultiLabelBinarizer

from aggregator.errors import ClassifierError

# Where a training example came from, weakest signal first.
SIGNAL_SEED = "seed"
SIGNAL_PUBLISHER = "publisher-category"
SIGNAL_EDITOR = "editor"

DEFAULT_THRESHOLD = 0.5
EXPLAIN_TERMS = 4


@dataclass(frozen=True)
class Document:
    title: str
    text: str


@dataclass(frozen=True)
class Example:
    title: str
    text: str
    labels: tuple[str, ...]
    signal: str = SIGNAL_SEED


@dataclass(frozen=True)
class TopicScore:
    slug: str
    score: float
    why: tuple[str, ...] = ()


@dataclass
class TrainingReport:
    counts: dict[str, int]
    per_topic_f1: dict[str, float]
    micro_f1: float
    macro_f1: float
    thresholds: dict[str, float]
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)


def _columns(documents: Sequence[Document]) -> np.ndarray:
    return np.array([[d.title, d.text] for d in documents], dtype=object).reshape(-1, 2)


def _build_pipeline() -> Pipeline:
    features = ColumnTransformer(
        [
            ("title", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1), 0),
            ("body", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1), 1),
        ],
        transformer_weights={"title": 1.0, "body": 0.8},
    )
    model = OneVsRestClassifier(
        LogisticRegression(C=10.0, class_weight="balanced", solver="liblinear")
    )
    return Pipeline([("features", features), ("model", model)])


class Classifier:
    """A fitted pipeline with its topics and per-topic thresholds."""

    def __init__(self, pipeline: Pipeline, topics: list[str], thresholds: dict[str, float]):
        self.pipeline = pipeline
        self.topics = topics
        self.thresholds = thresholds

    def scores(self, documents: Sequence[Document]) -> np.ndarray:
        """Probability of each topic for each document, shape (documents, topics)."""
        if not documents:
            return np.zeros((0, len(self.topics)))
        return np.asarray(self.pipeline.predict_proba(_columns(documents)))

    def predict(
        self, documents: Sequence[Document], explain: bool = True
    ) -> list[list[TopicScore]]:
        """The topics above threshold for each document, best first, with their reasons."""
        if not documents:
            return []
        matrix = self.pipeline.named_steps["features"].transform(_columns(documents))
        probabilities = np.asarray(self.pipeline.named_steps["model"].predict_proba(matrix))
        results: list[list[TopicScore]] = []
        for row, probs in enumerate(probabilities):
            tags = []
            for index in np.argsort(-probs):
                slug = self.topics[index]
                if probs[index] < self.thresholds.get(slug, DEFAULT_THRESHOLD):
                    continue
                why = self._why(matrix, row, index) if explain else ()
                tags.append(TopicScore(slug, round(float(probs[index]), 4), why))
            results.append(tags)
        return results

    def _why(self, matrix: Any, row: int, topic_index: int) -> tuple[str, ...]:
        """The terms with the largest positive contribution (tf-idf weight × coefficient)."""
        estimator = self.pipeline.named_steps["model"].estimators_[topic_index]
        coefficients = getattr(estimator, "coef_", None)
        if coefficients is None:  # a topic with no positive examples has a constant model
            return ()
        vector = sparse.csr_matrix(matrix[row])
        contributions = vector.multiply(coefficients.ravel()).tocsr()
        if contributions.nnz == 0:
            return ()
        order = np.argsort(-contributions.data)[: EXPLAIN_TERMS * 2]
        names = self._feature_names()
        terms: list[str] = []
        for position in order:
            if contributions.data[position] <= 0:
                break
            term = names[contributions.indices[position]].split("__", 1)[-1]
            if term not in terms:
                terms.append(term)
            if len(terms) == EXPLAIN_TERMS:
                break
        return tuple(terms)

    def _feature_names(self) -> np.ndarray:
        cached = getattr(self, "_names", None)
        if cached is None:
            cached = self.pipeline.named_steps["features"].get_feature_names_out()
            self._names = cached
        return cached

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump(
            {"pipeline": self.pipeline, "topics": self.topics, "thresholds": self.thresholds},
            buffer,
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Classifier:
        # Only ever our own rows in our own database: this is a trusted blob.
        state = pickle.loads(blob)  # noqa: S301
        return cls(state["pipeline"], list(state["topics"]), dict(state["thresholds"]))


def train(examples: Sequence[Example], topics: Sequence[str]) -> tuple[Classifier, TrainingReport]:
    """Fit a classifier on `examples` for `topics`; labels outside `topics` are ignored."""
    started = time.perf_counter()
    topics = list(topics)
    if not examples:
        raise ClassifierError("no training examples")
    documents = [Document(e.title, e.text) for e in examples]
    binarizer = MultiLabelBinarizer(classes=topics)
    known = set(topics)
    y = binarizer.fit_transform([[label for label in e.labels if label in known] for e in examples])
    empty = [t for t, n in zip(topics, y.sum(axis=0), strict=True) if n == 0]
    if empty:
        raise ClassifierError(f"no training examples for topics: {', '.join(empty)}")

    X = _columns(documents)
    thresholds, per_topic = _choose_thresholds(X, y, topics)
    pipeline = _build_pipeline()
    pipeline.fit(X, y)
    classifier = Classifier(pipeline, topics, thresholds)

    cv_predicted = np.column_stack([per_topic[t]["predicted"] for t in topics])
    report = TrainingReport(
        counts=dict(Counter(e.signal for e in examples)),
        per_topic_f1={t: round(per_topic[t]["f1"], 4) for t in topics},
        micro_f1=round(float(f1_score(y, cv_predicted, average="micro", zero_division=0)), 4),
        macro_f1=round(float(f1_score(y, cv_predicted, average="macro", zero_division=0)), 4),
        thresholds=thresholds,
        seconds=round(time.perf_counter() - started, 2),
        params={"model": "tfidf-title-body+logreg-ovr", "C": 10.0},
    )
    return classifier, report


def _choose_thresholds(
    X: np.ndarray, y: np.ndarray, topics: list[str]
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Per-topic thresholds that maximise cross-validated F1 on the training data alone."""
    folds = KFold(n_splits=5, shuffle=True, random_state=13)
    probabilities = cross_val_predict(_build_pipeline(), X, y, cv=folds, method="predict_proba")
    thresholds: dict[str, float] = {}
    per_topic: dict[str, dict[str, Any]] = {}
    candidates = np.round(np.arange(0.1, 0.91, 0.05), 2)
    for index, topic in enumerate(topics):
        truth = y[:, index]
        best_threshold, best_f1 = DEFAULT_THRESHOLD, -1.0
        for threshold in candidates:
            score = f1_score(truth, probabilities[:, index] >= threshold, zero_division=0)
            if score > best_f1 + 1e-9:
                best_threshold, best_f1 = float(threshold), float(score)
        thresholds[topic] = best_threshold
        per_topic[topic] = {
            "f1": best_f1,
            "predicted": (probabilities[:, index] >= best_threshold).astype(int),
        }
    return thresholds, per_topic


def load_seed_examples(directory: Path | None = None) -> list[Example]:
    """The labelled seed set shipped in the package (every `*.jsonl` in `data/seed/`)."""
    examples: list[Example] = []
    if directory is None:
        files: Iterable[Any] = sorted(
            (f for f in resources.files("aggregator").joinpath("data/seed").iterdir()
             if f.name.endswith(".jsonl")),
            key=lambda f: f.name,
        )  # fmt: skip
    else:
        files = sorted(directory.glob("*.jsonl"))
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                examples.append(
                    Example(row.get("title", ""), row["text"], tuple(row["labels"]), SIGNAL_SEED)
                )
            except (ValueError, KeyError) as exc:
                raise ClassifierError(f"{file.name}:{number}: not a seed row ({exc})") from exc
    return examples
