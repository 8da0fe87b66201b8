"""The JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aggregator.classify.corrections import UnknownTopics, set_topics
from models.queries import ArticleFilter, get_article, list_articles, topics_with_counts
from web import openapi, schemas
from web.deps import EditorDep, SessionDep
from web.errors import ApiError
from web.params import SLUG_MAX, TOPIC_SLUG, ArticleId, Cursor, TopicSlug
from web.presenters import article_json
from web.routes.common import require_article, require_topic

router = APIRouter(prefix="/api")


class TopicsUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"topics": ["airports-travel", "border-control"]}]}
    )

    topics: list[Annotated[str, Field(max_length=SLUG_MAX, json_schema_extra=TOPIC_SLUG)]] = Field(
        max_length=50, description="Topic slugs; an empty list means no topic applies."
    )


@router.get(
    "/topics", response_model=None,
    responses={**openapi.json_ok(schemas.TopicList), **openapi.JSON_GET},
)  # fmt: skip
def topics(request: Request, session: SessionDep) -> dict[str, Any]:
    return {
        "topics": [
            {
                "slug": topic.slug,
                "name": topic.name,
                "definition": topic.definition,
                "count": count,
                "url": str(request.url_for("topic_articles", slug=topic.slug)),
                "rss": str(request.url_for("topic_rss", slug=topic.slug)),
            }
            for topic, count in topics_with_counts(session)
        ]
    }


@router.get(
    "/topics/{slug}", name="topic_articles", response_model=None,
    responses={**openapi.json_ok(schemas.TopicPage), **openapi.JSON_GET,
               **openapi.UNKNOWN_TOPIC, **openapi.INVALID},
)  # fmt: skip
def topic_articles(
    slug: TopicSlug,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Cursor = None,
) -> dict[str, Any]:
    topic = require_topic(session, slug)
    cursor = require_article(session, before, field="before") if before else None
    articles = list_articles(session, ArticleFilter(topic=slug), limit=limit, before=cursor)
    return {
        "topic": {"slug": topic.slug, "name": topic.name},
        "articles": [article_json(a) for a in articles],
        "next_before": articles[-1].id if len(articles) == limit else None,
    }


@router.get(
    "/articles/{article_id}", response_model=None,
    responses={**openapi.json_ok(schemas.Article), **openapi.JSON_GET, **openapi.NOT_FOUND,
               **openapi.INVALID},
)  # fmt: skip
def article(article_id: ArticleId, session: SessionDep) -> dict[str, Any]:
    return article_json(require_article(session, article_id))


@router.put(
    "/articles/{article_id}/topics", response_model=None,
    responses={**openapi.json_ok(schemas.Article), **openapi.WRITE, **openapi.NOT_FOUND,
               **openapi.JSON_BODY},
)  # fmt: skip
def correct_topics(
    article_id: ArticleId, update: TopicsUpdate, session: SessionDep, editor: EditorDep
) -> dict[str, Any]:
    require_article(session, article_id)
    try:
        set_topics(session, article_id, update.topics, editor=editor)
    except UnknownTopics as error:
        raise ApiError(
            422, "unknown_topics", str(error), unknown=error.unknown, valid_topics=error.valid
        ) from error
    session.flush()
    refreshed = get_article(session, article_id)
    assert refreshed is not None
    return article_json(refreshed)
