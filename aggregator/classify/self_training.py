"""Self-training: the active model's confident tags on stored articles, as training examples.

A deployment stores thousands of real articles a week, in its sources' own words. Where the
active model is sure of an article's topics (`SelfTrainingRule`), those topics become a
weak training example (`SIGNAL_SELF`), so that the next model learns the sources'
vocabulary. The rule is a pure function of the model's scores (`confident_rows`); choosing
which stored articles to score is `aggregator.classify.registry`'s business.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aggregator.classify.model import Classifier
from aggregator.classify.types import Document, SelfTrainingRule


def confident_rows(
    decided: np.ndarray,
    probabilities: np.ndarray,
    over_cut: np.ndarray,
    rule: SelfTrainingRule,
) -> np.ndarray:
    """Boolean (documents,): the rows whose decisions are confident under `rule`.

    `decided` is the model's decision for each (document, topic), `probabilities` its
    calibrated score and `over_cut` its margin minus the topic's cut. A row is confident
    when at least one topic was chosen, every chosen topic scores at least
    `rule.min_score`, and no topic left out has a margin within `rule.uncertain_band` below
    its cut. A topic the "at least one topic" fallback chose sits below its cut, so its
    score is low and the row is not taken.
    """
    chosen_sure = np.where(decided, probabilities >= rule.min_score, True).all(axis=1)
    others_clear = np.where(decided, True, over_cut < -rule.uncertain_band).all(axis=1)
    return np.asarray(decided.any(axis=1) & chosen_sure & others_clear)


def confident_labels(
    classifier: Classifier, documents: Sequence[Document], rule: SelfTrainingRule
) -> list[tuple[str, ...] | None]:
    """For each document, the topics `classifier` tags it with if it is confident of them
    (best first, as its tags), else None."""
    if not documents:
        return []
    # The classifier's own decisions, so that the labels are exactly the tags it gives.
    margins, probabilities, decided = classifier.judge(documents)
    sure = confident_rows(decided, probabilities, margins - classifier.cuts, rule)
    labels: list[tuple[str, ...] | None] = []
    for row in range(len(documents)):
        if not sure[row]:
            labels.append(None)
            continue
        chosen = np.flatnonzero(decided[row])
        ranked = chosen[np.argsort(-probabilities[row, chosen], kind="stable")]
        labels.append(tuple(classifier.topics[int(index)] for index in ranked))
    return labels
