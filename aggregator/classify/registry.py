"""The model registry: gathering every training signal, training model versions, storing
them and activating them (through the activation guard), and loading the active one. Never
commits; the caller owns the transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aggregator.classify import model_cache
from aggregator.classify.activation import Decision, judge, trusted_scores
from aggregator.classify.corrections import latest_corrections
from aggregator.classify.model import Classifier
from aggregator.classify.self_training import confident_labels
from aggregator.classify.training import load_seed_examples, train
from aggregator.classify.types import (
    SIGNAL_EDITOR,
    SIGNAL_PUBLISHER,
    SIGNAL_SELF,
    SIGNALS,
    Document,
    Example,
    ProgressCallback,
    SelfTrainingRule,
    SignalWeights,
    TrainingReport,
)
from aggregator.errors import ClassifierError
from aggregator.taxonomy import TopicDefinition, sync_topics
from models import Article, ClassifierModel
from models.dialect import json_array_nonempty

log = logging.getLogger("biowire.classify")

# The weights and the self-training rule every model is trained with; both are recorded in
# its `params` (see `SignalWeights` and `SelfTrainingRule` for the reasons).
DEFAULT_SIGNAL_WEIGHTS = SignalWeights()
DEFAULT_SELF_TRAINING = SelfTrainingRule()
# Stored articles scored at once when looking for confident ones.
_SCAN_BATCH = 500


def load_classifier(model: ClassifierModel) -> Classifier:
    """The model's classifier, loaded once per process (`model_cache`). Raises
    `ClassifierError`, naming `biowire train`, and nothing else, if it cannot be loaded."""
    return model_cache.load(model.id, model.blob)


def classifier_or_error(model: ClassifierModel) -> Classifier | ClassifierError:
    """`load_classifier`, with the `ClassifierError` returned rather than raised: for a
    caller that reports an unusable model and carries on, as a poll does."""
    return model_cache.load_outcome(model.id, model.blob)


def active_model(session: Session) -> ClassifierModel | None:
    return session.scalar(
        select(ClassifierModel).where(ClassifierModel.is_active.is_(True)).limit(1)
    )


@dataclass
class TrainingSet:
    """The examples of every signal, and where each signal's came from (recorded with the
    model: which model labelled the self-training examples, the dates of the articles)."""

    examples: list[Example]
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)


def training_examples(session: Session, taxonomy: Sequence[TopicDefinition]) -> list[Example]:
    """Every training signal's examples: see `gather_training_set`."""
    return gather_training_set(session, taxonomy).examples


def gather_training_set(
    session: Session,
    taxonomy: Sequence[TopicDefinition],
    rule: SelfTrainingRule = DEFAULT_SELF_TRAINING,
) -> TrainingSet:
    """Every training signal, in this order: the seed set, publisher categories, the active
    model's confident tags (self-training), editors' corrections.

    One article gives one example at most: an editor's correction wins over everything
    else, and a publisher's category over the model's own tags.
    """
    seed = load_seed_examples()
    corrected = latest_corrections(session)
    provenance: dict[str, dict[str, Any]] = {}
    publisher, publisher_dates = _publisher_examples(session, taxonomy, set(corrected))
    if publisher:
        provenance[SIGNAL_PUBLISHER] = _date_range(publisher_dates)
    taken = set(corrected) | set(publisher)
    self_training, self_provenance = _self_training_examples(
        session, taken, min(rule.max_examples, len(seed)), rule
    )
    provenance[SIGNAL_SELF] = self_provenance
    editor: list[Example] = []
    for article_id, slugs in corrected.items():
        corrected_article = session.get(Article, article_id)
        if corrected_article is not None:
            editor.append(
                Example(
                    corrected_article.title, corrected_article.text, tuple(slugs), SIGNAL_EDITOR
                )
            )
    examples = [*seed, *publisher.values(), *self_training, *editor]
    return TrainingSet(examples, provenance)


def _publisher_examples(
    session: Session, taxonomy: Sequence[TopicDefinition], corrected: set[int]
) -> tuple[dict[int, Example], list[datetime]]:
    """Articles whose publisher's categories map to topics (taxonomy.toml's
    `publisher_categories`), by article id, with their publication dates."""
    by_category: dict[str, str] = {}
    for topic in taxonomy:
        for category in topic.publisher_categories:
            by_category.setdefault(category, topic.slug)
    examples: dict[int, Example] = {}
    dates: list[datetime] = []
    if not by_category:
        return examples, dates
    for article in session.scalars(
        select(Article).where(json_array_nonempty(Article.categories)).order_by(Article.id)
    ):
        if article.id in corrected:
            continue
        labels = {
            by_category[c.strip().lower()]
            for c in article.categories
            if c.strip().lower() in by_category
        }
        if labels:
            examples[article.id] = Example(
                article.title, article.text, tuple(sorted(labels)), SIGNAL_PUBLISHER
            )
            dates.append(article.published_at)
    return examples, dates


def _self_training_examples(
    session: Session, excluded: set[int], wanted: int, rule: SelfTrainingRule
) -> tuple[list[Example], dict[str, Any]]:
    """Up to `wanted` stored articles, newest first, that the active model tags with
    confidence (`rule`), labelled with its tags; never one in `excluded`. With the
    provenance: which model labelled them, and their dates."""
    model = active_model(session)
    if model is None or wanted <= 0:
        return [], {"model_id": None}
    classifier = classifier_or_error(model)
    if isinstance(classifier, ClassifierError):
        # Whoever uses the model warns that it is broken (`ensure_model`, a poll); here it
        # only means no self-training examples, which is worth a line, not a warning.
        log.info("no self-training examples: %s", classifier)
        return [], {"model_id": model.id, "error": str(classifier)}
    examples: list[Example] = []
    dates: list[datetime] = []
    scanned = 0
    while len(examples) < wanted and scanned < rule.max_scanned:
        batch = session.execute(
            select(Article.id, Article.title, Article.text, Article.published_at)
            .order_by(Article.published_at.desc(), Article.id.desc())
            .offset(scanned)
            .limit(min(_SCAN_BATCH, rule.max_scanned - scanned))
        ).all()
        if not batch:
            break
        scanned += len(batch)
        candidates = [row for row in batch if row.id not in excluded]
        documents = [Document(row.title, row.text) for row in candidates]
        for row, labels in zip(candidates, confident_labels(classifier, documents, rule),
                               strict=True):  # fmt: skip
            if labels is not None and len(examples) < wanted:
                examples.append(Example(row.title, row.text, labels, SIGNAL_SELF))
                dates.append(row.published_at)
    return examples, {"model_id": model.id, **_date_range(dates), "articles_scored": scanned,
                      "rule": asdict(rule)}  # fmt: skip


def _date_range(dates: Sequence[datetime]) -> dict[str, Any]:
    if not dates:
        return {}
    return {
        "articles_from": min(dates).isoformat(timespec="seconds"),
        "articles_to": max(dates).isoformat(timespec="seconds"),
    }


def train_model(
    session: Session,
    taxonomy: Sequence[TopicDefinition],
    activate: bool = True,
    progress: ProgressCallback | None = None,
    force: bool = False,
) -> tuple[ClassifierModel, TrainingReport]:
    """Train on every signal and store the result as a new model version, activated if
    `activate` and the guard lets it (`store_model`).

    Activating it does not retag anything by itself: see `mark_for_retagging`.
    """
    sync_topics(session, tuple(taxonomy))
    training_set = gather_training_set(session, taxonomy)
    classifier, report = fit_training_set(training_set, taxonomy, progress)
    model = store_model(session, classifier, report, training_set, activate, force)
    return model, report


def fit_training_set(
    training_set: TrainingSet,
    taxonomy: Sequence[TopicDefinition],
    progress: ProgressCallback | None = None,
) -> tuple[Classifier, TrainingReport]:
    """Fit a classifier on the training set, each signal weighted (`SignalWeights`). Needs
    no database: a server trains outside any transaction."""
    slugs = [t.slug for t in taxonomy]
    return train(training_set.examples, slugs, progress=progress,
                 signal_weights=DEFAULT_SIGNAL_WEIGHTS)  # fmt: skip


def store_model(
    session: Session,
    classifier: Classifier,
    report: TrainingReport,
    training_set: TrainingSet,
    activate: bool = True,
    force: bool = False,
) -> ClassifierModel:
    """Store a trained classifier as a new model version. With `activate`, it replaces the
    active model if the guard finds it no worse on the trusted examples
    (`aggregator.classify.activation`), or if `force`; either way the decision is recorded
    in its metrics (`activation_note`)."""
    current = active_model(session)
    if activate:
        decision = judge(
            report.trusted,
            None if current is None else trusted_scores(current.metrics, current.training_counts),
            None if current is None else current.id,
            force=force,
        )
    else:
        decision = Decision(False, "stored inactive: not asked to activate")
    weights = report.params.get("signal_weights", {})
    model = ClassifierModel(
        topics=list(classifier.topics),
        # Every signal is listed, with 0 when it gave nothing, so versions compare at a glance.
        training_counts={signal: report.counts.get(signal, 0) for signal in SIGNALS},
        metrics={
            "micro_f1": report.micro_f1,
            "macro_f1": report.macro_f1,
            "per_topic_f1": report.per_topic_f1,
            "train_seconds": report.seconds,
            "trusted": report.trusted,
            "activation": {
                "activated": decision.activate,
                "note": decision.note,
                "compared_with": None if current is None else current.id,
            },
        },
        thresholds=report.thresholds,
        params={
            **report.params,
            # Each signal's count, weight and where its examples came from, in one place.
            "signals": {
                signal: {
                    "count": report.counts.get(signal, 0),
                    "weight": weights.get(signal, 1.0),
                    **training_set.provenance.get(signal, {}),
                }
                for signal in SIGNALS
            },
        },
        blob=classifier.to_bytes(),
    )
    session.add(model)
    session.flush()
    if decision.activate:
        activate_model(session, model.id)
    log.info(
        "model #%s trained: %s", model.id, decision.note,
        extra={"model_id": model.id, "activated": decision.activate},
    )  # fmt: skip
    return model


def activation_note(model: ClassifierModel) -> str:
    """Why the model was or was not activated when it was trained ("" for older models)."""
    activation = model.metrics.get("activation")
    return str(activation.get("note", "")) if isinstance(activation, dict) else ""


def newest_model(session: Session) -> ClassifierModel | None:
    """The most recently trained model, active or not."""
    return session.scalar(select(ClassifierModel).order_by(ClassifierModel.id.desc()).limit(1))


def activate_model(session: Session, model_id: int) -> ClassifierModel:
    model = session.get(ClassifierModel, model_id)
    if model is None:
        raise ClassifierError(f"no model with id {model_id}")
    session.execute(update(ClassifierModel).values(is_active=False))
    model.is_active = True
    session.flush()
    return model


def ensure_model(
    session: Session, taxonomy: Sequence[TopicDefinition]
) -> tuple[ClassifierModel, Classifier]:
    """The active model, training one from every signal on first use, or when the active
    one cannot be loaded (which is logged)."""
    model = active_model(session)
    if model is not None:
        try:
            return model, load_classifier(model)
        except ClassifierError as error:
            log.warning("%s; training a new model now, in its place", error)
    # Nothing usable is active: the new model takes its place whatever the guard would say.
    model, _ = train_model(session, taxonomy, force=True)
    return model, load_classifier(model)


def shipped_classifier(taxonomy: Sequence[TopicDefinition]) -> Classifier:
    """The model the package alone gives, with no database: trained on the seed set."""
    classifier, _ = train(load_seed_examples(), [t.slug for t in taxonomy])
    return classifier
