"""The HTML pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from aggregator.digest.view import ViewFilters, build_digest
from models.queries import list_sources, topics_with_counts
from web.deps import SessionDep
from web.routes.common import require_terms, view_filters, view_url

router = APIRouter()


@router.get("/", response_class=HTMLResponse, name="digest")
def digest_page(
    request: Request,
    session: SessionDep,
    filters: Annotated[ViewFilters, Depends(view_filters)],
    day: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD, UTC")] = None,
) -> HTMLResponse:
    terms = require_terms(session, filters)
    digest = build_digest(session, day or datetime.now(UTC).date(), filters)
    context = {
        "digest": digest,
        "filters": filters,
        "terms": terms,
        "topic": terms.topics[0] if len(terms.topics) == 1 else None,
        "source_id": filters.sources[0] if len(filters.sources) == 1 else None,
        "q": filters.q or "",
        "topics": topics_with_counts(session),
        "sources": list_sources(session),
        "today": datetime.now(UTC).date(),
        "feeds": {
            kind: view_url(request, f"feed_{kind}", filters) for kind in ("rss", "atom", "json")
        },
        "title": terms.describe(filters),
    }
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "digest.html", context
    )
    return response
