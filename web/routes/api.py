"""The JSON API. Every list is a view (`aggregator.digest.view`) paged by keyset: `before`
is the id of the last article seen, never an offset."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from aggregator.digest.view import (
    PageFound,
    ViewFilters,
    highlights,
    load_page,
)
from models.queries import get_article, sources_with_counts, topics_with_counts
from web import openapi, schemas
from web.caching import view_response
from web.deps import EditorDep, ReadSessionDep, SessionDep
from web.params import SLUG_MAX, TOPIC_SLUG, ArticleId, Cursor, TopicSlug
from web.presenters import article_json, iso
from web.routes.common import (
    apply_correction,
    require_article,
    require_page,
    require_topic,
    require_view,
    view_filters,
)

router = APIRouter(prefix="/api", tags=["api"])
JSON = "application/json"
Limit = Annotated[int, Query(ge=1, le=200, description="Articles per page.")]


class TopicsUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"topics": ["airports-travel", "border-control"]}]}
    )

    topics: list[Annotated[str, Field(max_length=SLUG_MAX, json_schema_extra=TOPIC_SLUG)]] = Field(
        max_length=50, description="Topic slugs; an empty list means no topic applies."
    )


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _page_body(request: Request, session: Session, page: PageFound,
               filters: ViewFilters | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    next_before = page.next_before
    found = highlights(session, filters, page.ids) if filters is not None else {}
    next_url = str(request.url.include_query_params(before=next_before)) if next_before else None
    return {
        **extra,
        "articles": [article_json(a, found.get(a.id)) for a in load_page(session, page)],
        "next_before": next_before,
        "next_url": next_url,
        **({"notice": page.notice} if page.notice else {}),
    }


@router.get(
    "/articles", name="api_articles", response_model=None,
    responses={**openapi.json_ok(schemas.ArticlePage), **openapi.JSON_GET, **openapi.NOT_FOUND,
               **openapi.INVALID},
)  # fmt: skip
async def articles(
    request: Request,
    session: ReadSessionDep,
    filters: Annotated[ViewFilters, Depends(view_filters)],
    limit: Limit = 50,
    before: Cursor = None,
) -> Response:
    """Articles matching every filter, newest first (best match first with `q`)."""
    return await view_response(
        request, variant="api", media_type=JSON,
        find=lambda: require_page(session, require_view(request, session, filters), limit, before),
        render=lambda page: _json(_page_body(request, session, page, filters)),
    )  # fmt: skip


@router.get(
    "/articles/{article_id}", name="api_article", response_model=None,
    responses={**openapi.json_ok(schemas.Article), **openapi.JSON_GET, **openapi.NOT_FOUND,
               **openapi.INVALID},
)  # fmt: skip
def article(article_id: ArticleId, session: ReadSessionDep) -> dict[str, Any]:
    return article_json(require_article(session, article_id))


@router.get(
    "/topics", name="api_topics", response_model=None,
    responses={**openapi.json_ok(schemas.TopicList), **openapi.JSON_GET},
)  # fmt: skip
def topics(request: Request, session: ReadSessionDep) -> dict[str, Any]:
    return {
        "topics": [
            {
                "slug": topic.slug,
                "name": topic.name,
                "definition": topic.definition,
                "count": count,
                "url": str(request.url_for("topic_articles", slug=topic.slug)),
                "rss": str(request.url_for("topic_rss", slug=topic.slug)),
                "atom": str(request.url_for("topic_atom", slug=topic.slug)),
                "json_feed": str(request.url_for("topic_json", slug=topic.slug)),
            }
            for topic, count in topics_with_counts(session)
        ]
    }


@router.get(
    "/topics/{slug}", name="topic_articles", response_model=None,
    responses={**openapi.json_ok(schemas.TopicPage), **openapi.JSON_GET,
               **openapi.UNKNOWN_TOPIC, **openapi.INVALID},
)  # fmt: skip
async def topic_articles(
    slug: TopicSlug,
    request: Request,
    session: ReadSessionDep,
    limit: Limit = 50,
    before: Cursor = None,
) -> Response:
    """The topic's articles, newest first: `/api/articles?topic=` with the topic named."""
    topic = require_topic(request, session, slug)
    named = {"topic": {"slug": topic.slug, "name": topic.name}}

    def find() -> PageFound:
        return require_page(session, require_view(request, session, ViewFilters(topics=(slug,))),
                     limit, before)  # fmt: skip

    return await view_response(
        request, variant="api", media_type=JSON, find=find,
        render=lambda page: _json(_page_body(request, session, page, None, **named)),
    )  # fmt: skip


@router.get(
    "/sources", name="api_sources", response_model=None,
    responses={**openapi.json_ok(schemas.SourceList), **openapi.JSON_GET},
)  # fmt: skip
def sources(session: ReadSessionDep) -> dict[str, Any]:
    """Every source with its health: last poll, status, error, next poll, recent volume."""
    month_ago = datetime.now(UTC) - timedelta(days=30)
    return {
        "sources": [
            {
                "id": source.id,
                "title": source.title,
                "url": source.url,
                "site_url": source.site_url,
                "enabled": source.enabled,
                "disabled_reason": source.disabled_reason,
                "last_polled_at": iso(source.last_polled_at),
                "last_status": source.last_status,
                "last_error": source.last_error,
                "consecutive_failures": source.consecutive_failures,
                "next_poll_at": iso(source.next_poll_at),
                "articles_30_days": count,
            }  # fmt: skip
            for source, count in sources_with_counts(session, month_ago)
        ]
    }


@router.put(
    "/articles/{article_id}/topics", name="api_correct", response_model=None,
    responses={**openapi.json_ok(schemas.Article), **openapi.WRITE, **openapi.NOT_FOUND,
               **openapi.JSON_BODY},
)  # fmt: skip
def correct_topics(
    article_id: ArticleId, update: TopicsUpdate, session: SessionDep, editor: EditorDep
) -> dict[str, Any]:
    """An editor's ruling on the article's topics (it wins over the model, and trains it)."""
    apply_correction(session, article_id, update.topics, editor)
    session.flush()
    refreshed = get_article(session, article_id)
    assert refreshed is not None
    return article_json(refreshed)
