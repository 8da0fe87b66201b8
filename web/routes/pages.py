"""The HTML pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from aggregator.digest.view import build_digest
from models.queries import list_sources, topics_with_counts
from web import openapi
from web.deps import SessionDep
from web.params import IsoDate, SearchQuery, SourceFilter, TopicFilter
from web.routes.common import require_topic

router = APIRouter()


@router.get(
    "/", response_class=HTMLResponse, name="digest",
    responses={**openapi.HTML_PAGE, **openapi.HTML_NOT_FOUND, **openapi.HTML_INVALID},
)  # fmt: skip
def digest_page(
    request: Request,
    session: SessionDep,
    day: Annotated[IsoDate | None, Query(alias="date", description="YYYY-MM-DD, UTC")] = None,
    topic: TopicFilter = None,
    source: SourceFilter = None,
    q: SearchQuery = None,
) -> HTMLResponse:
    topic = topic or None
    source = source or None
    q = (q or "").strip() or None
    current_topic = require_topic(session, topic) if topic else None
    digest = build_digest(session, day or datetime.now(UTC).date(), topic, source, q)
    context = {
        "digest": digest,
        "topic": current_topic,
        "source_id": source,
        "q": q or "",
        "topics": topics_with_counts(session),
        "sources": list_sources(session),
        "today": datetime.now(UTC).date(),
    }
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "digest.html", context
    )
    return response
