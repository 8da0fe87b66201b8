"""Tagging stored articles with the active model: the pass over articles not yet
classified, retagging after a new model is activated, and writing a model's tags. Never
commits; the caller owns the transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from aggregator.classify.types import Document, TopicScore
from models import Article, ArticleTopic, ClassifierModel, Correction, Topic
from models.base import utcnow
from models.dialect import insert_rows

if TYPE_CHECKING:
    from aggregator.classify.model import Classifier
    from aggregator.ingest.hooks import StoredArticles

log = logging.getLogger("biowire.tagging")

BATCH_SIZE = 500

# Keeps IN (...) lists well under SQLite's bound-parameter limit.
_CHUNK = 500
# The tables themselves: tags are written as plain rows, by the thousand in a cold poll.
_ARTICLES = cast(Table, Article.__table__)
_TAGS = cast(Table, ArticleTopic.__table__)
_TAG_COLUMNS = ("article_id", "topic_id", "score", "origin", "model_id", "why")
_MARK_UNCLASSIFIED = (
    update(_ARTICLES)
    .where(_ARTICLES.c.id.in_(bindparam("ids", expanding=True)))
    .values(classified_by_id=None)
)
_MARK_CLASSIFIED = (
    update(_ARTICLES)
    .where(_ARTICLES.c.id.in_(bindparam("ids", expanding=True)))
    .values(classified_by_id=bindparam("model_id"), changed_at=bindparam("changed_at"))
)


def topic_ids(session: Session) -> dict[str, int]:
    """Each topic's id, by slug."""
    return {slug: id_ for slug, id_ in session.execute(select(Topic.slug, Topic.id))}


@dataclass(frozen=True)
class TagNewArticles:
    """The after-store hook that tags a poll's new articles with model `model_id` in the
    transaction that stores them: with the parse workers' tags where they computed them
    (a new source's entries), and by `classifier`, in one pass a group, for the rest (the
    new entries of sources read before, which the workers cannot tell from the entries
    already stored). The pass after the poll, alone on one core, then has nothing left."""

    model_id: int
    topic_ids: Mapping[str, int]
    classifier: Classifier | None = None

    def __call__(self, session: Session, articles: StoredArticles) -> None:
        # Articles the parse worker tagged were stored as classified by this model (an
        # UPDATE of tens of thousands of fresh rows in a cold poll would cost more than the
        # tags): their tags are written here, and if that fails, their mark is taken back,
        # so that the tagging pass after the poll tags them.
        worker_tagged = articles.tagged_by == self.model_id
        tags = [found if worker_tagged else None for found in articles.tags]
        marked = [id_ for id_, found in zip(articles.ids, tags, strict=True) if found is not None]
        try:
            with session.begin_nested():
                self._tag(session, articles, tags)
        except Exception:
            log.exception("could not tag the new articles; the pass after the poll will")
            for chunk in _chunks(marked):
                session.execute(_MARK_UNCLASSIFIED, {"ids": chunk})

    def _tag(
        self,
        session: Session,
        articles: StoredArticles,
        tags: list[Sequence[TopicScore] | None],
    ) -> None:
        missing = [index for index, found in enumerate(tags) if found is None]
        predicted_ids = []
        if missing and self.classifier is not None:
            predicted = self.classifier.predict([articles.documents[i] for i in missing])
            for index, found in zip(missing, predicted, strict=True):
                tags[index] = found
                predicted_ids.append(articles.ids[index])
        tagged = [
            (id_, found) for id_, found in zip(articles.ids, tags, strict=True) if found is not None
        ]
        insert_model_tags(session, self.model_id, self.topic_ids, tagged)
        mark_classified(session, predicted_ids, self.model_id)


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
    topics = topic_ids(session)
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


def insert_model_tags(
    session: Session,
    model_id: int,
    topic_ids: Mapping[str, int],
    tagged: Iterable[tuple[int, Sequence[TopicScore]]],
) -> None:
    """Write a model's tags, given as (article id, its tags) pairs, as plain rows; a tag of
    a topic not in `topic_ids` (slug -> topics.id) is left out."""
    rows = [
        (article_id, topic_ids[tag.slug], tag.score, "model", model_id, list(tag.why))
        for article_id, article_tags in tagged
        for tag in article_tags
        if tag.slug in topic_ids
    ]
    insert_rows(session.connection(), _TAGS, _TAG_COLUMNS, rows)


def mark_classified(session: Session, article_ids: list[int], model_id: int) -> None:
    """Record that model `model_id` has classified these articles (and so, for the views,
    that their tags changed now)."""
    now = utcnow()
    for chunk in _chunks(article_ids):
        session.execute(_MARK_CLASSIFIED, {"ids": chunk, "model_id": model_id, "changed_at": now})


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


def retag_window_start(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
