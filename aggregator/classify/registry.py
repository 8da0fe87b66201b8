"""The model registry: training model versions on every signal, storing and activating
them, and loading the active one. Never commits; the caller owns the transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aggregator.classify import model_cache
from aggregator.classify.corrections import latest_corrections
from aggregator.classify.model import Classifier
from aggregator.classify.training import load_seed_examples, train
from aggregator.classify.types import (
    SIGNAL_EDITOR,
    SIGNAL_PUBLISHER,
    SIGNALS,
    Example,
    ProgressCallback,
    TrainingReport,
)
from aggregator.errors import ClassifierError
from aggregator.taxonomy import TopicDefinition, sync_topics
from models import Article, ClassifierModel
from models.dialect import json_array_nonempty

log = logging.getLogger("biowire.classify")


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


def training_examples(session: Session, taxonomy: Sequence[TopicDefinition]) -> list[Example]:
    """Every training signal, weakest first: seed set, publisher categories, corrections.

    An article with an editor's correction contributes that correction only.
    """
    examples = load_seed_examples()
    corrected = latest_corrections(session)
    by_category: dict[str, str] = {}
    for topic in taxonomy:
        for category in topic.publisher_categories:
            by_category.setdefault(category, topic.slug)
    if by_category:
        for article in session.scalars(
            select(Article).where(json_array_nonempty(Article.categories))
        ):
            if article.id in corrected:
                continue
            labels = {
                by_category[c.strip().lower()]
                for c in article.categories
                if c.strip().lower() in by_category
            }
            if labels:
                examples.append(
                    Example(article.title, article.text, tuple(sorted(labels)), SIGNAL_PUBLISHER)
                )
    for article_id, slugs in corrected.items():
        corrected_article = session.get(Article, article_id)
        if corrected_article is not None:
            examples.append(
                Example(
                    corrected_article.title, corrected_article.text, tuple(slugs), SIGNAL_EDITOR
                )
            )
    return examples


def train_model(
    session: Session,
    taxonomy: Sequence[TopicDefinition],
    activate: bool = True,
    progress: ProgressCallback | None = None,
) -> tuple[ClassifierModel, TrainingReport]:
    """Train on every signal and store the result as a new model version.

    Activating it does not retag anything by itself: see `mark_for_retagging`.
    """
    sync_topics(session, tuple(taxonomy))
    slugs = [t.slug for t in taxonomy]
    classifier, report = train(training_examples(session, taxonomy), slugs, progress=progress)
    model = ClassifierModel(
        topics=slugs,
        # Every signal is listed, with 0 when it gave nothing, so versions compare at a glance.
        training_counts={signal: report.counts.get(signal, 0) for signal in SIGNALS},
        metrics={
            "micro_f1": report.micro_f1,
            "macro_f1": report.macro_f1,
            "per_topic_f1": report.per_topic_f1,
            "train_seconds": report.seconds,
        },
        thresholds=report.thresholds,
        params=report.params,
        blob=classifier.to_bytes(),
    )
    session.add(model)
    session.flush()
    if activate:
        activate_model(session, model.id)
    return model, report


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
    model, _ = train_model(session, taxonomy)
    return model, load_classifier(model)


def shipped_classifier(taxonomy: Sequence[TopicDefinition]) -> Classifier:
    """The model the package alone gives, with no database: trained on the seed set."""
    classifier, _ = train(load_seed_examples(), [t.slug for t in taxonomy])
    return classifier
