"""A fitted topic classifier: TF-IDF features, one linear scorer and one Platt sigmoid per
topic, and a cut on each topic's margin (see `aggregator.classify.training` for how they
are fitted). Predicting gives each article its topics with the terms that chose them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from scipy.special import expit

from aggregator.classify import model_format
from aggregator.classify.features import KIND_TOKEN_PREFIX, Features, kind_reasons
from aggregator.classify.model_format import StoredModel
from aggregator.classify.types import Document, TopicScore

EXPLAIN_TERMS = 4
# Terms looked at to find them: a word fills at most one column in each of the three
# blocks, so this many always hold `EXPLAIN_TERMS` distinct words when there are that many.
_CANDIDATES = 3 * EXPLAIN_TERMS
# Articles tagged in one pass of `Classifier.predict`.
_PREDICT_BATCH = 100


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
        return linear_margins(matrix, self.weights, self.intercepts)

    def _calibrated(self, margins: np.ndarray) -> np.ndarray:
        return np.asarray(expit(margins * self.calibration[0] + self.calibration[1]))

    def _decide(self, margins: np.ndarray) -> np.ndarray:
        return decide(margins, self.cuts, self.fallback)

    def judge(self, documents: Sequence[Document]) -> tuple[np.ndarray, ...]:
        """For each document and topic (documents, topics): the SVM margin, the calibrated
        probability, and whether the topic is chosen, as `predict` decides it."""
        margins = self._margins(self.features.transform(documents))
        return margins, self._calibrated(margins), self._decide(margins)

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
            # Sorting each batch's terms grows faster than the batch, so a long list goes a
            # hundred at a time (explanations do not depend on the batch: see
            # `_largest_per_row`).
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
        reasons = self._why(documents, matrix, rows, topics) if explain else [()] * len(rows)
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
        self,
        documents: Sequence[Document],
        matrix: sparse.csr_matrix,
        rows: np.ndarray,
        topics: np.ndarray,
    ) -> list[tuple[str, ...]]:
        """For each (row, topic) pair, the article's terms with the largest positive
        contribution (tf-idf × weight) to the topic's margin; the sigmoid is monotonic, so
        they also drive the probability. All pairs at once: each pair's terms side by side
        in one padded array, the `_CANDIDATES` largest of each picked out without sorting
        every term, then at most that many a pair looked at in Python. A term that holds an
        organisation kind's token is told as the organisations of that kind the article
        names ("CBP (border agency)"): the token is no word of the article."""
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
        reasons_of_row: dict[int, dict[str, str]] = {}
        for row, pair_columns, pair_values in zip(
            rows.tolist(), picked.tolist(), ranked.tolist(), strict=True
        ):
            chosen: list[str] = []
            for column, value in zip(pair_columns, pair_values, strict=True):
                if value <= 0 or len(chosen) == EXPLAIN_TERMS:
                    break
                term = names[column]
                if self.features.organisation_kinds and KIND_TOKEN_PREFIX in term:
                    if row not in reasons_of_row:
                        reasons_of_row[row] = kind_reasons(documents[row])
                    term = _told_with_organisations(term, reasons_of_row[row])
                if term not in chosen:  # the same word in headline and body is one reason
                    chosen.append(term)
            explanations.append(tuple(chosen))
        return explanations

    def _feature_names(self) -> list[str]:
        if self._names is None:
            self._names = self.features.names()
        return self._names

    def to_bytes(self) -> bytes:
        """The model as data, for `classifier_models.blob` (see `model_format`)."""
        return model_format.dumps(
            StoredModel(self.features, self.topics, self.weights, self.intercepts,
                        self.calibration, self.cuts, self.fallback)
        )  # fmt: skip

    @classmethod
    def from_bytes(cls, blob: bytes, label: str = "the stored model") -> Classifier:
        """The model `to_bytes` stored. Raises `ClassifierError`, naming `label` and
        `biowire train`, for a blob it cannot load, and runs no code from the blob."""
        stored = model_format.loads(blob, label)
        return cls(stored.features, stored.topics, stored.weights, stored.intercepts,
                   stored.calibration, stored.cuts, stored.fallback)  # fmt: skip


def _told_with_organisations(term: str, reasons: dict[str, str]) -> str:
    """A term holding kind tokens, as the organisations behind them: "orgkind_border_agency"
    becomes "CBP (border agency)". A bigram of a word and a kind token is told by its
    kind alone (the word only stood next to the line of kinds), two kinds side by side
    as both, and one kind twice (two mentions) once."""
    told = dict.fromkeys(reasons[word] for word in term.split(" ") if word in reasons)
    return "; ".join(told) if told else term


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


def linear_margins(
    matrix: sparse.csr_matrix, weights: np.ndarray, intercepts: np.ndarray
) -> np.ndarray:
    """Every topic's SVM margin. The features go to float32 to meet the float32 weights:
    the other way round, SciPy would copy the whole weight matrix to float64 on every call
    (tens of milliseconds, whatever the batch size)."""
    return np.asarray(matrix.astype(np.float32, copy=False) @ weights) + intercepts


def decide(margins: np.ndarray, cuts: np.ndarray, fallback: float | None) -> np.ndarray:
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
