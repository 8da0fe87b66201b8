"""The classifier's value types: what it reads, what it answers, how it is tuned.

Imports nothing heavy, so that the web layer, the storage code and the CLI can name these
without loading NumPy or scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Where a training example came from.
SIGNAL_SEED = "seed"
SIGNAL_PUBLISHER = "publisher-category"
# The active model's own confident tags on stored articles (self-training).
SIGNAL_SELF = "self-training"
SIGNAL_EDITOR = "editor"
SIGNALS = (SIGNAL_SEED, SIGNAL_PUBLISHER, SIGNAL_SELF, SIGNAL_EDITOR)
# The examples whose labels a person wrote for this very text: the activation guard judges
# a new model on these only, never on labels that came from publishers or from a model.
TRUSTED_SIGNALS = (SIGNAL_SEED, SIGNAL_EDITOR)

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
    # The kinds of organisation an article names, as tokens of the whole-text block (see
    # `aggregator.classify.features`). Off: on the development sets it lost a little on the
    # real-style set and gained nothing elsewhere (BENCHMARKS.md).
    organisation_kinds: bool = False
    threshold_floor: float = -0.6
    folds: int = 5
    seed: int = 13


@dataclass(frozen=True)
class SignalWeights:
    """How much one training example of each signal counts (a sample weight in the SVMs'
    fit), recorded with every model.

    - seed 1.0: the reference; written and checked for Biowire, label by label.
    - publisher categories 0.5: real text from the user's own sources, but a category is a
      section of the publisher's site, not a ruling on the article (an "Airports" story may
      be about a strike), so each counts half a seed example.
    - self-training 0.5: the sources' own vocabulary, labelled by the active model where it
      is confident. It can only reinforce what the model already believes, so it counts
      half too; with at most as many examples as the seed set (`SelfTrainingRule`), all of
      them together weigh at most half the seed set.
    - editor 2.0: a person's ruling on exactly this article, and rare: twice a seed
      example, so that a handful of corrections can move a boundary that hundreds of weaker
      examples hold.
    """

    seed: float = 1.0
    publisher: float = 0.5
    self_training: float = 0.5
    editor: float = 2.0

    def of(self, signal: str) -> float:
        """The weight of `signal`'s examples; 1.0 for a signal not named here (an
        evaluation file's rows, say)."""
        return self.as_dict().get(signal, 1.0)

    def as_dict(self) -> dict[str, float]:
        return {
            SIGNAL_SEED: self.seed,
            SIGNAL_PUBLISHER: self.publisher,
            SIGNAL_SELF: self.self_training,
            SIGNAL_EDITOR: self.editor,
        }


@dataclass(frozen=True)
class SelfTrainingRule:
    """Which of the active model's tags are confident enough to train on (see
    `aggregator.classify.self_training.confident_rows`), and how many to take.

    An article is taken when the model chose at least one topic, every topic it chose has a
    calibrated score of at least `min_score`, and every topic it did not choose has a margin
    more than `uncertain_band` below that topic's cut: an article that nearly took one more
    topic is one the model is unsure about, however sure it is of the others. The band is in
    SVM margin units (a topic's cut is never below `Params.threshold_floor`, the SVM's own
    boundary is 0), not in
    probability: a rare topic's threshold can be a probability of 1e-8, where a band of
    probability means nothing.

    At most `max_examples`, and never more than the seed set, newest first, so that real
    text adds to the seed set without swamping it; `max_scanned` bounds the articles scored
    to find them.
    """

    min_score: float = 0.8
    uncertain_band: float = 0.25
    max_examples: int = 2000
    max_scanned: int = 10_000


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
    # The cross-validated scores on the trusted examples alone (`TRUSTED_SIGNALS`): rows,
    # micro_f1, macro_f1; None when there are none (an evaluation file's rows).
    trusted: dict[str, Any] | None = None


def whole_text(document: Document) -> str:
    """The headline and the body as one text, as a wire story prints them."""
    return f"{document.title}\n{document.text}"
