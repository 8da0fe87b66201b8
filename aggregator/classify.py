"""The topic classifier. With `aggregator.features`, the only module that touches
scikit-learn.

Training, in `train`, for every corpus (the shipped seed set, an evaluation file, Reuters):

1. TF-IDF features: word 1–2-grams with sublinear tf, the headline and the body vectorised
   separately so that a headline word counts on its own (the headline block weighted by
   `Params.title_weight`), and beside them the headline and body as one text
   (`Params.whole_text`).
2. One linear SVM per topic (one-vs-rest `LinearSVC`).
3. K-fold cross-validation on the training examples gives every example an out-of-fold
   score for every topic. From those scores, per topic:
   - a Platt sigmoid (`LogisticRegression` on the single score) turns the SVM margin into a
     calibrated probability in [0, 1]; this is what `CalibratedClassifierCV(method="sigmoid",
     ensemble=False)` does, done once here so the same out-of-fold scores also serve
   - the decision threshold: the one that maximises the topic's out-of-fold F1, but never
     below `Params.threshold_floor` on the margin. With only a handful of positives the
     F1-optimal cut can sit far down the ranking, where it floods the topic with false
     positives; the floor keeps rare topics near the SVM's own boundary.
   And, for the corpus as a whole, whether an article that no topic passes takes the topic
   nearest its cut (`_best_fallback`): on only if that raises the out-of-fold micro-F1, so
   the rule turns itself on where every article has a topic (Reuters) and stays off where
   many rightly have none (the seed set's hard negatives).
4. A final fit on every example. Prediction re-uses the vocabulary as word ids (`features.Tfidf`),
   the same matrix as scikit-learn's `transform` at about twice its speed.

Nothing in it looks at test data: the hyper-parameters in `Params` were chosen by nested
cross-validation on the Reuters training split and on the seed set (see BENCHMARKS.md) and
are the same for the product. A fitted `Classifier` is serialised into a `ClassifierModel` row by
`aggregator.tagging`; this module knows nothing about the database.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from aggregator.errors import ClassifierError
from aggregator.features import Features, Tfidf

# Where a training example came from, weakest signal first.
SIGNAL_SEED = "seed"
SIGNAL_PUBLISHER = "publisher-category"
SIGNAL_EDITOR = "editor"
SIGNALS = (SIGNAL_SEED, SIGNAL_PUBLISHER, SIGNAL_EDITOR)

EXPLAIN_TERMS = 4
# Terms looked at to find them: a word fills at most one column in each of the three
# blocks, so this many always hold `EXPLAIN_TERMS` distinct words when there are that many.
_CANDIDATES = 3 * EXPLAIN_TERMS
# Articles tagged in one pass of `Classifier.predict`.
_PREDICT_BATCH = 100

# Told at each step of training: (what is happening, steps done, steps in all).
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Params:
    """Hyper-parameters, chosen by nested cross-validation on the Reuters training split and
    on the seed set (the same values win on both; see BENCHMARKS.md)."""

    c: float = 0.5
    title_weight: float = 1.0
    min_df: int = 2
    whole_text: bool = True
    threshold_floor: float = -0.6
    folds: int = 5
    seed: int = 13


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


# Stored models pickle the feature classes by these, their earlier names.
_Tfidf = Tfidf
_Features = Features


class Classifier:
    """Fitted features, one linear scorer and one sigmoid per topic, and the thresholds."""

    def __init__(
        self,
        features: Features,
        topics: list[str],
        weights: np.ndarray,
        intercepts: np.ndarray,
        calibration: np.ndarray,
        cuts: np.ndarray,
        fallback: float | None = None,
    ) -> None:
        self.features = features
        self.topics = topics
        self.weights = weights  # (features, topics)
        self.intercepts = intercepts  # (topics,)
        self.calibration = calibration  # (2, topics): slope and offset of each sigmoid
        # Decisions compare margins with these cuts, never rounded probabilities: for a rare
        # topic the probability at its cut can be 1e-8, which rounding would turn into 0.
        self.cuts = cuts  # (topics,)
        # An article that no topic passes takes the topic nearest its cut, if that margin
        # minus cut is at least `fallback`; None when cross-validation turned the rule off.
        self.fallback = fallback
        self._names: list[str] | None = None

    @property
    def thresholds(self) -> dict[str, float]:
        """Each topic's threshold as a probability (the same decision as its margin cut)."""
        probabilities = expit(self.cuts * self.calibration[0] + self.calibration[1])
        return {t: float(f"{p:.4g}") for t, p in zip(self.topics, probabilities, strict=True)}

    def scores(self, documents: Sequence[Document]) -> np.ndarray:
        """Calibrated probability of each topic for each document, (documents, topics)."""
        if not documents:
            return np.zeros((0, len(self.topics)))
        return self._probabilities(self.features.transform(documents))

    def _probabilities(self, matrix: sparse.csr_matrix) -> np.ndarray:
        return self._calibrated(self._margins(matrix))

    def _margins(self, matrix: sparse.csr_matrix) -> np.ndarray:
        return _linear_margins(matrix, self.weights, self.intercepts)

    def _calibrated(self, margins: np.ndarray) -> np.ndarray:
        return np.asarray(expit(margins * self.calibration[0] + self.calibration[1]))

    def _decide(self, margins: np.ndarray) -> np.ndarray:
        return _decisions(margins, self.cuts, self.fallback)

    def predict_labels(self, documents: Sequence[Document]) -> np.ndarray:
        """0/1 matrix (documents, topics): the fast path for evaluation, no explanations."""
        if not documents:
            return np.zeros((0, len(self.topics)), dtype=np.int8)
        margins = self._margins(self.features.transform(documents))
        return self._decide(margins).astype(np.int8)

    def predict(
        self, documents: Sequence[Document], explain: bool = True
    ) -> list[list[TopicScore]]:
        """The topics at or above threshold for each document, best first, with reasons."""
        if len(documents) > _PREDICT_BATCH:
            # Sorting each batch's terms grows faster than the batch: a hundred at a time
            # cost a fifth less an article than four hundred (and explanations do not
            # depend on the batch: see `_largest_per_row`).
            return [
                tags
                for start in range(0, len(documents), _PREDICT_BATCH)
                for tags in self.predict(documents[start : start + _PREDICT_BATCH], explain)
            ]
        if not documents:
            return []
        matrix = self.features.transform(documents)
        margins = self._margins(matrix)
        probabilities = self._calibrated(margins)
        decided = self._decide(margins)
        rows, topics = np.nonzero(decided)
        reasons = self._why(matrix, rows, topics) if explain else [()] * len(rows)
        why = dict(zip(zip(rows.tolist(), topics.tolist(), strict=True), reasons, strict=True))
        # Each row's topics best first, as Python values: NumPy's scalars cost more to
        # index and compare one by one than the whole matrix costs to convert.
        ranked = np.argsort(-probabilities, axis=1).tolist()
        scores, chosen = probabilities.tolist(), decided.tolist()
        return [
            [
                TopicScore(self.topics[index], round(scores[row][index], 4), why[row, index])
                for index in ranked[row]
                if chosen[row][index]
            ]
            for row in range(len(documents))
        ]

    def _why(
        self, matrix: sparse.csr_matrix, rows: np.ndarray, topics: np.ndarray
    ) -> list[tuple[str, ...]]:
        """For each (row, topic) pair, the article's terms with the largest positive
        contribution (tf-idf × weight) to the topic's margin; the sigmoid is monotonic, so
        they also drive the probability. All pairs at once: each pair's terms side by side
        in one padded array, the `_CANDIDATES` largest of each picked out without sorting
        every term, then at most that many a pair looked at in Python."""
        if not len(rows):
            return []
        starts, lengths = matrix.indptr[rows], np.diff(matrix.indptr)[rows]
        width = max(int(lengths.max()), 1)
        offsets = np.arange(width)
        present = offsets < lengths[:, None]  # (pair, term): the term exists; the rest pads
        positions = np.where(present, starts[:, None] + offsets, 0)
        columns = matrix.indices[positions] if matrix.nnz else np.zeros_like(positions)
        values = matrix.data[positions] if matrix.nnz else np.zeros(positions.shape)
        contributions = np.where(present, values * self.weights[columns, topics[:, None]], 0.0)
        picked, ranked = _largest_per_row(columns, contributions, min(_CANDIDATES, width))
        names = self._feature_names()
        explanations: list[tuple[str, ...]] = []
        for pair_columns, pair_values in zip(picked.tolist(), ranked.tolist(), strict=True):
            chosen: list[str] = []
            for column, value in zip(pair_columns, pair_values, strict=True):
                if value <= 0 or len(chosen) == EXPLAIN_TERMS:
                    break
                term = names[column]
                if term not in chosen:  # the same word in headline and body is one reason
                    chosen.append(term)
            explanations.append(tuple(chosen))
        return explanations

    def _feature_names(self) -> list[str]:
        if self._names is None:
            self._names = self.features.names()
        return self._names

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        state = {
            "features": self.features, "topics": self.topics, "weights": self.weights,
            "intercepts": self.intercepts, "calibration": self.calibration,
            "cuts": self.cuts, "fallback": self.fallback,
        }  # fmt: skip
        pickle.dump(state, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Classifier:
        # Only ever our own rows in our own database: this is a trusted blob.
        state = pickle.loads(blob)  # noqa: S301
        try:
            return cls(
                state["features"], list(state["topics"]), state["weights"],
                state["intercepts"], state["calibration"], state["cuts"],
                state.get("fallback"),
            )  # fmt: skip
        except KeyError as exc:
            raise ClassifierError(
                "this model was saved by an older version of Biowire: run `biowire train`"
            ) from exc


def _largest_per_row(
    labels: np.ndarray, values: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """The `count` largest `values` of each row and their `labels`, largest first; of equal
    values the leftmost first, as a stable sort of the whole row would rank them, so that
    an article is explained the same whatever batch it is tagged in."""
    kth = count - 1
    threshold = -np.partition(-values, kth, axis=1)[:, kth : kth + 1]  # each row's count-th
    above = values > threshold
    tied = values == threshold
    # Of the values equal to the threshold, as many of the leftmost as fill the row.
    wanted = count - above.sum(axis=1, keepdims=True)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= wanted))
    rows = len(values)
    labels, values = labels[chosen].reshape(rows, count), values[chosen].reshape(rows, count)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(labels, order, axis=1), np.take_along_axis(values, order, axis=1)


def _linear_margins(
    matrix: sparse.csr_matrix, weights: np.ndarray, intercepts: np.ndarray
) -> np.ndarray:
    """Every topic's SVM margin. The features go to float32 to meet the float32 weights:
    the other way round, SciPy would copy the whole weight matrix to float64 on every call
    (tens of milliseconds, whatever the batch size)."""
    return np.asarray(matrix.astype(np.float32, copy=False) @ weights) + intercepts


def _fit_scorers(matrix: sparse.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, ...]:
    """One LinearSVC per column of `y`; returns the stacked weights and intercepts.

    A topic with no positive example in `y` (possible inside a cross-validation fold) gets
    a scorer that always answers a large negative margin.
    """
    present = y.sum(axis=0) > 0
    weights = np.zeros((matrix.shape[1], y.shape[1]), dtype=np.float32)
    intercepts = np.full(y.shape[1], -10.0)
    if present.any():
        # Topics are independent problems: spread them over the cores (2 on the target box).
        model = OneVsRestClassifier(LinearSVC(C=c), n_jobs=min(2, os.cpu_count() or 1))
        model.fit(matrix, y[:, present])
        columns = np.flatnonzero(present)
        for column, estimator in zip(columns, model.estimators_, strict=True):
            weights[:, column] = estimator.coef_.ravel()
            intercepts[column] = float(estimator.intercept_[0])
    return weights, intercepts


def _best_threshold(margins: np.ndarray, truth: np.ndarray, floor: float) -> float:
    """The margin cut that maximises F1 over out-of-fold scores, no lower than `floor`."""
    positives = int(truth.sum())
    if positives == 0:
        return max(floor, float(margins.max()) + 1.0)
    order = np.argsort(-margins, kind="stable")
    ranked, hits = margins[order], truth[order]
    true_positives = np.cumsum(hits)
    f1 = 2 * true_positives / (np.arange(1, len(ranked) + 1) + positives)
    best = int(np.argmax(f1))
    below = ranked[best + 1] if best + 1 < len(ranked) else ranked[best] - 1.0
    # Halfway to the next score down, so that a new article scoring like the last one
    # taken is taken too.
    return max(floor, float(ranked[best] + below) / 2)


def _decisions(margins: np.ndarray, cuts: np.ndarray, fallback: float | None) -> np.ndarray:
    """Boolean (documents, topics): each topic at or above its cut; with a fallback, an
    article no topic passes takes its topic nearest the cut if that is within `fallback`."""
    decided = margins >= cuts
    if fallback is not None:
        over = margins - cuts
        empty = np.flatnonzero(~decided.any(axis=1))
        nearest = over[empty].argmax(axis=1) if len(empty) else np.zeros(0, dtype=np.int64)
        close = over[empty, nearest] >= fallback
        decided[empty[close], nearest[close]] = True
    return decided


def _best_fallback(margins: np.ndarray, truth: np.ndarray, cuts: np.ndarray) -> float | None:
    """The "at least one topic" rule, decided on out-of-fold margins: the cut on (margin −
    topic cut) of an article's nearest topic that maximises micro-F1 when articles no topic
    passes take that topic; None (the rule off) unless it raises the out-of-fold micro-F1.

    On a corpus where every article has a topic (Reuters) the near misses are mostly right and
    the rule turns on; where many articles rightly have none (the seed set's hard negatives),
    taking their nearest topic only adds false positives and it stays off.
    """
    decided = margins >= cuts
    true_positives = int((decided & (truth == 1)).sum())
    false_positives = int((decided & (truth == 0)).sum())
    false_negatives = int((~decided & (truth == 1)).sum())
    empty = np.flatnonzero(~decided.any(axis=1))
    if not len(empty) or not true_positives + false_negatives:
        return None
    over = (margins - cuts)[empty]
    nearest = over.argmax(axis=1)
    closeness = over[np.arange(len(empty)), nearest]
    order = np.argsort(-closeness, kind="stable")
    ranked, hits = closeness[order], truth[empty[order], nearest[order]].astype(np.int64)
    gained, wrong = np.cumsum(hits), np.cumsum(1 - hits)
    errors = false_positives + false_negatives  # taking a right one turns a miss into a hit
    f1 = 2 * (true_positives + gained) / (2 * (true_positives + gained) + errors - gained + wrong)
    base = 2 * true_positives / (2 * true_positives + errors)
    best = int(np.argmax(f1))
    if f1[best] <= base:
        return None
    below = ranked[best + 1] if best + 1 < len(ranked) else ranked[best] - 1.0
    return float(ranked[best] + below) / 2


def _calibrate(margins: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Platt scaling: a sigmoid from margin to probability, fitted on out-of-fold margins."""
    if truth.min() == truth.max():
        return 1.0, -5.0 if truth.max() == 0 else 5.0
    sigmoid = LogisticRegression(C=1.0)
    sigmoid.fit(margins.reshape(-1, 1), truth)
    return float(sigmoid.coef_[0, 0]), float(sigmoid.intercept_[0])


def train(
    examples: Sequence[Example],
    topics: Sequence[str],
    params: Params | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[Classifier, TrainingReport]:
    """Fit a classifier on `examples` for `topics`; labels outside `topics` are ignored."""
    params = params or Params()
    started = time.perf_counter()
    topics = list(topics)
    if not examples:
        raise ClassifierError("no training examples")
    known = set(topics)
    y = np.array(
        [[1 if t in set(e.labels) & known else 0 for t in topics] for e in examples],
        dtype=np.int8,
    ).reshape(len(examples), len(topics))
    empty = [t for t, n in zip(topics, y.sum(axis=0), strict=True) if n == 0]
    if empty:
        raise ClassifierError(f"no training examples for topics: {', '.join(empty)}")
    folds = min(params.folds, len(examples))
    if folds < 2:
        raise ClassifierError("at least two training examples are needed")
    steps, done = folds + 2, 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(what, done, steps)

    with warnings.catch_warnings():
        # liblinear may stop at its iteration cap on a hard topic; the model is still usable
        # and the cross-validated F1 shows how good it is.
        warnings.simplefilter("ignore", ConvergenceWarning)
        features = Features(params)
        matrix = features.fit_transform([Document(e.title, e.text) for e in examples])
        step("features")

        # Out-of-fold margins. The vectoriser is fitted once on all the training text: it
        # sees no labels, and refitting it per fold would cost more than the SVMs.
        margins = np.zeros(y.shape, dtype=np.float64)
        splitter = KFold(n_splits=folds, shuffle=True, random_state=params.seed)
        for number, (fit_rows, held_rows) in enumerate(splitter.split(matrix), 1):
            weights, intercepts = _fit_scorers(matrix[fit_rows], y[fit_rows], params.c)
            margins[held_rows] = _linear_margins(matrix[held_rows], weights, intercepts)
            step(f"cross-validation fold {number}/{folds}")

        calibration = np.array(
            [_calibrate(margins[:, j], y[:, j]) for j in range(len(topics))]
        ).T.reshape(2, len(topics))
        cuts = np.array(
            [_best_threshold(margins[:, j], y[:, j], params.threshold_floor)
             for j in range(len(topics))]
        )  # fmt: skip
        fallback = _best_fallback(margins, y, cuts)
        weights, intercepts = _fit_scorers(matrix, y, params.c)
        step("final fit")

    classifier = Classifier(features, topics, weights, intercepts, calibration, cuts, fallback)
    thresholds = classifier.thresholds
    cv_predicted = _decisions(margins, cuts, fallback).astype(np.int8)
    per_topic = f1_score(y, cv_predicted, average=None, zero_division=0)
    report = TrainingReport(
        counts=dict(Counter(e.signal for e in examples)),
        per_topic_f1={t: round(float(f), 4) for t, f in zip(topics, per_topic, strict=True)},
        micro_f1=round(float(f1_score(y, cv_predicted, average="micro", zero_division=0)), 4),
        macro_f1=round(float(f1_score(y, cv_predicted, average="macro", zero_division=0)), 4),
        thresholds=thresholds,
        seconds=round(time.perf_counter() - started, 2),
        params={
            "model": f"tfidf-title-body{'-whole' if params.whole_text else ''}+linearsvc-ovr+platt",
            **asdict(params),
            "fallback": None if fallback is None else round(fallback, 4),
        },
    )
    return classifier, report


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
