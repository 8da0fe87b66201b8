"""Lookups shared by the routes, each turning a missing thing into the right HTTP error."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import Article, Topic
from models.queries import get_article, list_topics
from web.errors import ApiError


def require_topic(session: Session, slug: str) -> Topic:
    topics = list_topics(session)
    for topic in topics:
        if topic.slug == slug:
            return topic
    raise ApiError(
        404, "unknown_topic", f"no topic {slug!r}", valid_topics=[t.slug for t in topics]
    )


def require_article(session: Session, article_id: int, field: str = "id") -> Article:
    article = get_article(session, article_id)
    if article is None:
        if field == "before":
            raise ApiError(422, "invalid_request", f"before: no article with id {article_id}")
        raise ApiError(404, "not_found", f"no article with id {article_id}")
    return article
