"""The topic classifier. With `features` and its fast path `fast_tfidf`, and `model_format`,
the modules of `aggregator.classify` that touch scikit-learn.

Training, in `train`, for every corpus (the shipped seed set, an evaluation file, Reuters):

1. TF-IDF features: word 1–2-grams with sublinear tf, the headline and the body vectorised
   separately so that a headline word counts on its own (the headline block weighted by
   `Params.title_weight`), and beside them the headline and body as one text
   (`Params.whole_text`), ending with the kinds of organisation the article names
   (`Params.organisation_kinds`).
2. One linear SVM per topic (one-vs-rest `LinearSVC`), each example weighted by its
   signal (`SignalWeights`) when the caller says so.
3. K-fold cross-validation on the training examples (each signal's examples split into
   folds on their own) gives every example an out-of-fold score for every topic. From
   those scores, per topic:
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
   The out-of-fold decisions on the trusted examples alone (the seed set and editors'
   corrections) are scored apart: the activation guard compares models on them.
4. A final fit on every example. With the fast paths on, prediction looks the vocabulary up
   as word ids (`fast_tfidf`): the same matrix as scikit-learn's `transform`, faster.

Nothing in it looks at test data: the hyper-parameters in `Params` were chosen by nested
cross-validation on the Reuters training split and on the seed set (see BENCHMARKS.md) and
are the same for the product. A fitted `Classifier` is serialised into a `ClassifierModel` row by
`aggregator.classify.registry`; this module knows nothing about the database.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold
from sklearn.svm import LinearSVC
from sklearn.utils.parallel import Parallel, delayed

from aggregator.classify.features import Features
from aggregator.classify.model import Classifier, decide, linear_margins
from aggregator.classify.types import (
    SIGNAL_SEED,
    TRUSTED_SIGNALS,
    Document,
    Example,
    Params,
    ProgressCallback,
    SignalWeights,
    TrainingReport,
)
from aggregator.errors import ClassifierError


def _fit_scorers(
    matrix: sparse.csr_matrix,
    y: np.ndarray,
    c: float,
    seed: int,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """One LinearSVC per column of `y`, each example counting `sample_weight` (all 1 when
    None); returns the stacked weights and intercepts.

    What `OneVsRestClassifier(LinearSVC(C=c, random_state=seed))` fits, to the bit, when no
    weights are given (tested): scikit-learn's one-vs-rest passes sample weights on only with
    metadata routing switched on for the whole process, so the topics are fitted here, one
    `LinearSVC.fit` each. liblinear's coordinate descent visits examples in a random order:
    the fixed seed makes a retrain on the same examples give the same model, so that the
    activation guard compares data, not luck.

    A topic with no positive example in `y` (possible inside a cross-validation fold) gets
    a scorer that always answers a large negative margin.
    """
    present = y.sum(axis=0) > 0
    weights = np.zeros((matrix.shape[1], y.shape[1]), dtype=np.float32)
    intercepts = np.full(y.shape[1], -10.0)
    columns = np.flatnonzero(present)
    if len(columns):
        # Topics are independent problems: spread them over the cores (2 on the target box).
        fitted = Parallel(n_jobs=min(2, os.cpu_count() or 1))(
            delayed(_fit_topic)(matrix, y[:, column], c, seed, sample_weight) for column in columns
        )
        for column, (coef, intercept) in zip(columns, fitted, strict=True):
            weights[:, column] = coef
            intercepts[column] = intercept
    return weights, intercepts


def _fit_topic(
    matrix: sparse.csr_matrix,
    truth: np.ndarray,
    c: float,
    seed: int,
    sample_weight: np.ndarray | None,
) -> tuple[np.ndarray, float]:
    if truth.min() == truth.max():  # every example positive: always yes, as one-vs-rest does
        return np.zeros(matrix.shape[1]), 10.0
    svm = LinearSVC(C=c, random_state=seed)
    svm.fit(matrix, truth, sample_weight=sample_weight)
    return svm.coef_.ravel(), float(svm.intercept_[0])


def _fold_of_rows(signals: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Each example's cross-validation fold, the examples of each signal split on their own.

    The seed set's rows then fall in the same folds in every training run whatever else is
    added, so that the scores of two runs on the trusted rows differ by what the added
    examples taught, not by a reshuffle. With one signal this is `KFold` over all rows.
    """
    assignment = np.zeros(len(signals), dtype=np.int64)
    labels = np.array(signals, dtype=object)
    for signal in dict.fromkeys(signals):
        rows = np.flatnonzero(labels == signal)
        if len(rows) < folds:
            assignment[rows] = np.arange(len(rows)) % folds
            continue
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
        for fold, (_, held) in enumerate(splitter.split(rows)):
            assignment[rows[held]] = fold
    return assignment


def _scores(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Micro- and macro-F1, rounded as the model record keeps them."""
    micro = f1_score(truth, predicted, average="micro", zero_division=0)
    macro = f1_score(truth, predicted, average="macro", zero_division=0)
    return round(float(micro), 4), round(float(macro), 4)


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
    signal_weights: SignalWeights | None = None,
) -> tuple[Classifier, TrainingReport]:
    """Fit a classifier on `examples` for `topics`; labels outside `topics` are ignored.

    With `signal_weights`, each example counts its signal's weight in the SVMs' fit; the
    thresholds, calibration and scores still count every example once. Without, every
    example counts 1, as with weights that are all 1."""
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
        features = Features.for_training(params)
        matrix = features.fit_transform([Document(e.title, e.text) for e in examples])
        step("features")

        # Out-of-fold margins. The vectoriser is fitted once on all the training text: it
        # sees no labels, and refitting it per fold would cost more than the SVMs.
        margins = np.zeros(y.shape, dtype=np.float64)
        signals = [e.signal for e in examples]
        fold_of_row = _fold_of_rows(signals, folds, params.seed)
        sample_weight = (
            None
            if signal_weights is None
            else np.array([signal_weights.of(signal) for signal in signals], dtype=np.float64)
        )
        for fold in range(folds):
            fit_rows, held_rows = fold_of_row != fold, fold_of_row == fold
            weights, intercepts = _fit_scorers(
                matrix[fit_rows], y[fit_rows], params.c, params.seed,
                None if sample_weight is None else sample_weight[fit_rows],
            )  # fmt: skip
            margins[held_rows] = linear_margins(matrix[held_rows], weights, intercepts)
            step(f"cross-validation fold {fold + 1}/{folds}")

        calibration = np.array(
            [_calibrate(margins[:, j], y[:, j]) for j in range(len(topics))]
        ).T.reshape(2, len(topics))
        cuts = np.array(
            [_best_threshold(margins[:, j], y[:, j], params.threshold_floor)
             for j in range(len(topics))]
        )  # fmt: skip
        fallback = _best_fallback(margins, y, cuts)
        weights, intercepts = _fit_scorers(matrix, y, params.c, params.seed, sample_weight)
        step("final fit")

    classifier = Classifier(features, topics, weights, intercepts, calibration, cuts, fallback)
    thresholds = classifier.thresholds
    cv_predicted = decide(margins, cuts, fallback).astype(np.int8)
    per_topic = f1_score(y, cv_predicted, average=None, zero_division=0)
    micro_f1, macro_f1 = _scores(y, cv_predicted)
    trusted_rows = np.isin(np.array(signals, dtype=object), TRUSTED_SIGNALS)
    trusted = None
    if trusted_rows.any():
        trusted_micro, trusted_macro = _scores(y[trusted_rows], cv_predicted[trusted_rows])
        trusted = {"rows": int(trusted_rows.sum()), "micro_f1": trusted_micro,
                   "macro_f1": trusted_macro}  # fmt: skip
    report = TrainingReport(
        counts=dict(Counter(signals)),
        per_topic_f1={t: round(float(f), 4) for t, f in zip(topics, per_topic, strict=True)},
        micro_f1=micro_f1,
        macro_f1=macro_f1,
        thresholds=thresholds,
        seconds=round(time.perf_counter() - started, 2),
        params={
            "model": _model_name(features),
            **asdict(params),
            "fallback": None if fallback is None else round(fallback, 4),
            **({} if signal_weights is None else {"signal_weights": signal_weights.as_dict()}),
        },
        trusted=trusted,
    )
    return classifier, report


def _model_name(features: Features) -> str:
    whole = "-whole" if features.whole is not None else ""
    kinds = "+orgkinds" if features.organisation_kinds else ""
    return f"tfidf-title-body{whole}{kinds}+linearsvc-ovr+platt"


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
