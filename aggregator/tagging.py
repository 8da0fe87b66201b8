"""Topic tags in the database: training and activating model versions, tagging articles,
and editors' corrections. Never commits; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from aggregator.classify import (
    SIGNAL_EDITOR,
    SIGNAL_PUBLISHER,
    SIGNALS,
    Classifier,
    Document,
    Example,
    ProgressCallback,
    TrainingReport,
    load_seed_examples,
    train,
)
from aggregator.errors import ClassifierError
from aggregator.store import insert_model_tags, mark_classified
from aggregator.taxonomy import TopicDefinition, sync_topics
from models import Article, ArticleTopic, ClassifierModel, Correction, Topic
from models.dialect import json_array_nonempty

BATCH_SIZE = 500


class UnknownTopics(ClassifierError):
    def __init__(self, unknown: Sequence[str], valid: Sequence[str]) -> None:
        super().__init__(f"unknown topics: {', '.join(unknown)} (valid: {', '.join(valid)})")
        self.unknown = list(unknown)
        self.valid = list(valid)


@lru_cache(maxsize=4)
def _load(model_id: int, blob: bytes) -> Classifier:
    return Classifier.from_bytes(blob)


def load_classifier(model: ClassifierModel) -> Classifier:
    return _load(model.id, model.blob)


def active_model(session: Session) -> ClassifierModel | None:
    return session.scalar(
        select(ClassifierModel).where(ClassifierModel.is_active.is_(True)).limit(1)
    )


def training_examples(session: Session, taxonomy: Sequence[TopicDefinition]) -> list[Example]:
    """Every training signal, weakest first: seed set, publisher categories, corrections.

    An article with an editor's correction contributes that correction only.
    """
    examples = load_seed_examples()
    corrected = _latest_corrections(session)
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


def _latest_corrections(session: Session) -> dict[int, list[str]]:
    latest: dict[int, list[str]] = {}
    for correction in session.scalars(select(Correction).order_by(Correction.id)):
        latest[correction.article_id] = list(correction.topics)
    return latest


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
    """The active model, training one from every signal on first use (or when the active
    one was saved in a format this version no longer reads)."""
    model = active_model(session)
    if model is not None:
        try:
            return model, load_classifier(model)
        except ClassifierError:
            pass
    model, _ = train_model(session, taxonomy)
    return model, load_classifier(model)


def shipped_classifier(taxonomy: Sequence[TopicDefinition]) -> Classifier:
    """The model the package alone gives, with no database: trained on the seed set."""
    classifier, _ = train(load_seed_examples(), [t.slug for t in taxonomy])
    return classifier


def mark_for_retagging(session: Session, since: datetime) -> int:
    """Queue the articles published since `since` for the newly active model.

    `classify_pending` then retags them in batches; it skips every article an editor has
    corrected, so human-set tags are never overwritten."""
    outcome = session.execute(
        update(Article).where(Article.published_at >= since).values(classified_by_id=None)
    )
    return int(getattr(outcome, "rowcount", 0) or 0)


def classify_pending(
    session: Session,
    model: ClassifierModel,
    classifier: Classifier,
    limit: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Tag articles not yet classified, in batches. Returns how many were tagged."""
    topics = {t.slug: t.id for t in session.scalars(select(Topic))}
    done = 0
    while limit is None or done < limit:
        size = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - done)
        # Only the columns the classifier reads, and the tags written as plain rows: the
        # pass after a poll tags hundreds of articles, and ORM objects cost more than the
        # classifier did.
        articles = session.execute(
            select(Article.id, Article.title, Article.text)
            .where(Article.classified_by_id.is_(None))
            .order_by(Article.id)
            .limit(size)
        ).all()
        if not articles:
            break
        ids = [a.id for a in articles]
        corrected = set(
            session.scalars(select(Correction.article_id).where(Correction.article_id.in_(ids)))
        )
        to_tag = [a for a in articles if a.id not in corrected]
        predictions = classifier.predict([Document(a.title, a.text) for a in to_tag])
        if to_tag:
            session.execute(
                delete(ArticleTopic).where(
                    ArticleTopic.article_id.in_([a.id for a in to_tag]),
                    ArticleTopic.origin == "model",
                )
            )
        insert_model_tags(
            session, model.id, topics,
            ((article.id, tags) for article, tags in zip(to_tag, predictions, strict=True)),
        )  # fmt: skip
        mark_classified(session, ids, model.id)
        done += len(articles)
        if on_batch:
            on_batch(len(articles))
    return done


def set_topics(
    session: Session, article_id: int, slugs: Sequence[str], editor: str = "editor"
) -> Article:
    """An editor's correction: replaces the article's tags and is kept for training."""
    article = session.get(Article, article_id)
    if article is None:
        raise LookupError(f"no article with id {article_id}")
    topics = {t.slug: t for t in session.scalars(select(Topic).order_by(Topic.position))}
    unknown = [s for s in slugs if s not in topics]
    if unknown:
        raise UnknownTopics(unknown, list(topics))
    chosen = list(dict.fromkeys(slugs))
    session.add(Correction(article_id=article_id, topics=chosen, created_by=editor))
    session.execute(delete(ArticleTopic).where(ArticleTopic.article_id == article_id))
    for slug in chosen:
        session.add(
            ArticleTopic(article_id=article_id, topic_id=topics[slug].id, score=1.0,
                         origin="editor", why=[])
        )  # fmt: skip
    session.flush()
    session.expire(article, ["tags"])
    return article


def retag_window_start(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
