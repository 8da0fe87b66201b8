"""Editors' corrections: an editor's ruling replaces an article's tags and is kept for
every later training. Imports nothing heavy: the web server applies corrections without
loading the classifier."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aggregator.errors import ClassifierError
from models import Article, ArticleTopic, Correction, Topic
from models.base import utcnow


class UnknownTopics(ClassifierError):
    def __init__(self, unknown: Sequence[str], valid: Sequence[str]) -> None:
        super().__init__(f"unknown topics: {', '.join(unknown)} (valid: {', '.join(valid)})")
        self.unknown = list(unknown)
        self.valid = list(valid)


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
    article.changed_at = utcnow()
    session.execute(delete(ArticleTopic).where(ArticleTopic.article_id == article_id))
    for slug in chosen:
        session.add(
            ArticleTopic(article_id=article_id, topic_id=topics[slug].id, score=1.0,
                         origin="editor", why=[])
        )  # fmt: skip
    session.flush()
    session.expire(article, ["tags"])
    return article


def latest_corrections(session: Session) -> dict[int, list[str]]:
    latest: dict[int, list[str]] = {}
    for correction in session.scalars(select(Correction).order_by(Correction.id)):
        latest[correction.article_id] = list(correction.topics)
    return latest
