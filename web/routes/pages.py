"""The HTML pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from aggregator.digest.view import build_digest
from models.queries import list_sources, topics_with_counts
from web.deps import SessionDep
from web.routes.common import require_topic

router = APIRouter()


@router.get("/", response_class=HTMLResponse, name="digest")
def digest_page(
    request: Request,
    session: SessionDep,
    day: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD, UTC")] = None,
    topic: Annotated[str | None, Query(max_length=100)] = None,
    source: Annotated[int | None, Query(ge=1)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    topic = topic or None
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
