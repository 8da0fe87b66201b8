"""Learning from the user's own sources: the confidence rule of self-training, the
activation guard's judgement, and sample weights that change nothing when they are all 1."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from aggregator.classify.activation import judge, trusted_scores
from aggregator.classify.features import Features
from aggregator.classify.self_training import confident_rows
from aggregator.classify.training import _fit_scorers, load_seed_examples, train
from aggregator.classify.types import (
    SIGNAL_EDITOR,
    SIGNAL_PUBLISHER,
    SIGNAL_SEED,
    SIGNAL_SELF,
    Document,
    Example,
    Params,
    SelfTrainingRule,
    SignalWeights,
)
from aggregator.taxonomy import default_taxonomy

RULE = SelfTrainingRule(min_score=0.8, uncertain_band=0.25)

# One article, three topics: (decided, calibrated score, margin minus cut) of each.
CONFIDENCE_CASES = [
    ([(1, 0.95, 1.2), (0, 0.02, -1.0), (0, 0.01, -2.0)], True),
    ([(1, 0.95, 1.2), (1, 0.85, 0.6), (0, 0.01, -2.0)], True),
    ([(1, 0.80, 0.4), (0, 0.02, -1.0), (0, 0.01, -2.0)], True),
    ([(1, 0.79, 0.4), (0, 0.02, -1.0), (0, 0.01, -2.0)], False),
    ([(1, 0.95, 1.2), (1, 0.60, 0.1), (0, 0.01, -2.0)], False),
    ([(1, 0.95, 1.2), (0, 0.30, -0.1), (0, 0.01, -2.0)], False),
    ([(1, 0.95, 1.2), (0, 0.30, -0.25), (0, 0.01, -2.0)], False),
    ([(1, 0.95, 1.2), (0, 0.30, -0.26), (0, 0.01, -2.0)], True),
    ([(0, 0.02, -1.0), (0, 0.02, -1.0), (0, 0.01, -2.0)], False),
    ([(0, 0.95, 1.2), (0, 0.02, -1.0), (0, 0.01, -2.0)], False),
]
CONFIDENCE_IDS = [
    "one-sure-topic",
    "two-sure-topics",
    "score-at-the-minimum",
    "score-just-below-the-minimum",
    "one-of-two-topics-unsure",
    "a-topic-left-out-just-below-its-cut",
    "a-topic-left-out-at-the-band-edge",
    "a-topic-left-out-just-beyond-the-band",
    "no-topic-chosen",
    "scores-high-but-nothing-decided",
]


@pytest.mark.parametrize(("topics", "confident"), CONFIDENCE_CASES, ids=CONFIDENCE_IDS)
def test_the_confidence_rule(topics: list[tuple[int, float, float]], confident: bool) -> None:
    decided = np.array([[bool(d) for d, _, _ in topics]])
    probabilities = np.array([[p for _, p, _ in topics]])
    over_cut = np.array([[o for _, _, o in topics]])

    assert confident_rows(decided, probabilities, over_cut, RULE).tolist() == [confident]


def test_the_confidence_rule_judges_each_row_on_its_own() -> None:
    rows = [CONFIDENCE_CASES[i][0] for i in range(len(CONFIDENCE_CASES))]
    decided = np.array([[bool(d) for d, _, _ in row] for row in rows])
    probabilities = np.array([[p for _, p, _ in row] for row in rows])
    over_cut = np.array([[o for _, _, o in row] for row in rows])

    assert confident_rows(decided, probabilities, over_cut, RULE).tolist() == [
        confident for _, confident in CONFIDENCE_CASES
    ]


ACTIVE = {"rows": 1511, "micro_f1": 0.830, "macro_f1": 0.800}
GUARD_CASES = [
    ({"micro_f1": 0.840, "macro_f1": 0.810}, False, True, "activated over #3: micro-F1 0.840"),
    ({"micro_f1": 0.826, "macro_f1": 0.796}, False, True, "activated over #3"),
    ({"micro_f1": 0.810, "macro_f1": 0.800}, False, False,
     "kept #3 active: micro-F1 0.810 < 0.830 on seed+corrections"),
    ({"micro_f1": 0.830, "macro_f1": 0.790}, False, False,
     "kept #3 active: macro-F1 0.790 < 0.800 on seed+corrections"),
    ({"micro_f1": 0.810, "macro_f1": 0.790}, True, True,
     "activated by --force over #3: micro-F1 0.810 < 0.830, macro-F1 0.790 < 0.800"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("new", "force", "activated", "note"),
    GUARD_CASES,
    ids=["better", "within-tolerance", "micro-worse", "macro-worse", "forced"],
)
def test_the_guard_activates_a_model_only_if_it_is_no_worse_on_trusted_rows(
    new: dict[str, float], force: bool, activated: bool, note: str
) -> None:
    decision = judge(new, ACTIVE, 3, force=force)

    assert decision.activate is activated
    assert decision.note.startswith(note), decision.note


def test_the_guard_with_nothing_to_compare_with_activates() -> None:
    assert judge(ACTIVE, None, None).note == "activated: no model was active"
    assert judge(ACTIVE, None, 3).activate  # an older model trained on untrusted signals


@pytest.mark.parametrize(
    ("metrics", "counts", "expected"),
    [
        ({"micro_f1": 0.8, "macro_f1": 0.7, "trusted": ACTIVE}, {SIGNAL_SEED: 1511}, ACTIVE),
        ({"micro_f1": 0.8, "macro_f1": 0.7}, {SIGNAL_SEED: 1511, SIGNAL_EDITOR: 2},
         {"rows": 1513, "micro_f1": 0.8, "macro_f1": 0.7}),
        ({"micro_f1": 0.8, "macro_f1": 0.7}, {SIGNAL_SEED: 1511, SIGNAL_PUBLISHER: 4}, None),
        ({"micro_f1": 0.8, "macro_f1": 0.7}, {SIGNAL_SEED: 1511, SIGNAL_SELF: 0},
         {"rows": 1511, "micro_f1": 0.8, "macro_f1": 0.7}),
    ],
    ids=["stored", "older-model-on-trusted-signals", "older-model-with-publishers",
         "zero-self-training"],
)  # fmt: skip
def test_a_models_scores_on_trusted_rows(
    metrics: dict[str, object], counts: dict[str, int], expected: dict[str, object] | None
) -> None:
    assert trusted_scores(dict(metrics), dict(counts)) == expected


def _seed_subset() -> list[Example]:
    """Every other seed example: each topic keeps examples, training takes half as long."""
    return load_seed_examples()[::2]


def test_per_topic_fits_are_scikit_learns_one_vs_rest_and_weights_of_one_change_nothing() -> None:
    examples = _seed_subset()
    topics = [t.slug for t in default_taxonomy()]
    params = Params()
    matrix = Features.for_training(params).fit_transform(
        [Document(e.title, e.text) for e in examples]
    )
    y = np.array([[int(t in e.labels) for t in topics] for e in examples], dtype=np.int8)

    with warnings.catch_warnings():
        # As in training: liblinear may stop at its iteration cap, the same way both times.
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm = LinearSVC(C=params.c, random_state=params.seed)
        reference = OneVsRestClassifier(svm).fit(matrix, y)
        unweighted = _fit_scorers(matrix, y, params.c, params.seed)
        ones = _fit_scorers(matrix, y, params.c, params.seed, np.ones(len(examples)))

    expected = np.stack([e.coef_.ravel() for e in reference.estimators_], axis=1)
    assert np.array_equal(unweighted[0], expected.astype(np.float32))
    assert np.array_equal(unweighted[1], [e.intercept_[0] for e in reference.estimators_])
    for fitted, fitted_with_ones in zip(unweighted, ones, strict=True):
        assert np.array_equal(fitted, fitted_with_ones)


def test_training_with_weights_of_one_gives_the_same_model() -> None:
    examples = _seed_subset()
    topics = [t.slug for t in default_taxonomy()]
    held_out = [Document(e.title, e.text) for e in load_seed_examples()[1::2]]

    plain, plain_report = train(examples, topics)
    weighted, weighted_report = train(examples, topics, signal_weights=SignalWeights(1, 1, 1, 1))

    assert np.array_equal(plain.weights, weighted.weights)
    assert np.array_equal(plain.cuts, weighted.cuts)
    assert np.array_equal(plain.predict_labels(held_out), weighted.predict_labels(held_out))
    assert plain.predict(held_out) == weighted.predict(held_out)
    assert plain_report.micro_f1 == weighted_report.micro_f1
    assert plain_report.trusted == weighted_report.trusted
    assert weighted_report.params["signal_weights"][SIGNAL_SELF] == 1


def test_weights_count_in_the_fit() -> None:
    """A weaker signal moves the model less: the same mislabelled copies weigh less at 0.5."""
    seed = _seed_subset()
    topics = [t.slug for t in default_taxonomy()]
    flipped = [
        Example(e.title, e.text, ("payments-finance",), SIGNAL_PUBLISHER)
        for e in seed[:150]
        if "payments-finance" not in e.labels
    ]
    half, _ = train([*seed, *flipped], topics, signal_weights=SignalWeights(publisher=0.5))
    full, _ = train([*seed, *flipped], topics, signal_weights=SignalWeights(publisher=1.0))
    payments = topics.index("payments-finance")
    copies = [Document(e.title, e.text) for e in flipped]

    assert half.predict_labels(copies)[:, payments].sum() < (
        full.predict_labels(copies)[:, payments].sum()
    )
