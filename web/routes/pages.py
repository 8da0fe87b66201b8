"""The HTML pages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from aggregator.digest.view import (
    DIGEST_LIMIT,
    PageFound,
    ViewFilters,
    build_digest,
    day_bounds,
)
from models.queries import list_sources, topics_with_counts
from web import openapi
from web.caching import view_response
from web.deps import ReadSessionDep
from web.params import IsoDate
from web.routes.common import require_page, require_view, view_filters, view_url

router = APIRouter()
HTML = "text/html; charset=utf-8"


@router.get(
    "/", response_class=HTMLResponse, name="digest",
    responses={**openapi.HTML_PAGE, **openapi.HTML_NOT_FOUND, **openapi.HTML_INVALID},
)  # fmt: skip
async def digest_page(
    request: Request,
    session: ReadSessionDep,
    filters: Annotated[ViewFilters, Depends(view_filters)],
    day: Annotated[IsoDate | None, Query(alias="date", description="YYYY-MM-DD, UTC")] = None,
) -> Response:
    today = datetime.now(UTC).date()
    shown = day or today

    def find() -> PageFound:
        # The day's articles decide the page, and which day it is (it says "today").
        start, end = day_bounds(shown)
        on_the_day = replace(filters, since=start, until=end)
        page = require_page(session, require_view(request, session, on_the_day), DIGEST_LIMIT)
        return replace(page, validator=f"{page.validator}|{shown}|{today}")

    def render(page: PageFound) -> bytes:
        view = require_view(request, session, filters)
        context = {
            "digest": build_digest(session, shown, view),
            "filters": filters,
            "view": view,
            "topic": view.topics[0] if len(view.topics) == 1 else None,
            "source_id": filters.sources[0] if len(filters.sources) == 1 else None,
            "q": filters.q or "",
            "topics": topics_with_counts(session),
            "sources": list_sources(session),
            "today": today,
            "feeds": {
                kind: view_url(request, f"feed_{kind}", filters) for kind in ("rss", "atom", "json")
            },
            "title": view.describe(),
        }
        template = request.app.state.templates.get_template("digest.html")
        return template.render({"request": request, **context}).encode()

    return await view_response(
        request, variant="page", media_type=HTML, find=find, render=render, revalidate=True
    )
