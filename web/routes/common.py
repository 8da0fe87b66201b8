"""What the routes share: the view filters every page, feed and API list takes, and the
lookups that turn a missing thing into the right HTTP error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from pydantic import StringConstraints
from sqlalchemy.orm import Session

from aggregator.digest.view import (
    InvalidView,
    PageFound,
    ResolvedView,
    ViewFilters,
    find_page,
    resolve,
)
from models import Article, Topic
from models.queries import get_article, list_topics
from web.errors import ApiError

# The largest id a 64-bit signed integer column holds: anything beyond is refused as
# invalid before it reaches the database.
MAX_ID = 2**63 - 1
Slug = Annotated[str, StringConstraints(max_length=100)]


async def view_filters(
    topic: Annotated[
        list[Slug],
        Query(max_length=20, description="Topic slug; repeat for any of several topics."),
    ] = [],  # noqa: B006 (FastAPI copies a default list per request)
    source: Annotated[
        list[Annotated[int, Query(ge=1, le=MAX_ID)]],
        Query(max_length=50, description="Source id; repeat for any of several sources."),
    ] = [],  # noqa: B006
    q: Annotated[
        str | None,
        Query(max_length=200, description='Full-text search: words, "a phrase", -word, OR.'),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Published at or after (ISO 8601; UTC if no zone).")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Published before (ISO 8601; UTC if no zone).")
    ] = None,
) -> ViewFilters:
    return ViewFilters(
        topics=tuple(dict.fromkeys(t for t in topic if t)),
        sources=tuple(dict.fromkeys(source)),
        q=(q or "").strip() or None,
        since=_utc(since),
        until=_utc(until),
    )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def require_view(request: Request, session: Session, filters: ViewFilters) -> ResolvedView:
    """The view `filters` asks for; a topic or source that does not exist is a 422."""
    try:
        return resolve(session, filters, request.app.state.topics)
    except InvalidView as error:
        raise invalid(error) from error


def require_page(
    session: Session, view: ResolvedView, limit: int, before: int | None = None
) -> PageFound:
    """The view's page after article `before`; a bad search or cursor is a 422."""
    try:
        return find_page(session, view, limit, before)
    except InvalidView as error:
        raise invalid(error) from error


def invalid(error: InvalidView) -> ApiError:
    return ApiError(422, "invalid_request", f"{error.field}: {error}", **error.details)


def require_topic(session: Session, slug: str) -> Topic:
    topics = list_topics(session)
    for topic in topics:
        if topic.slug == slug:
            return topic
    raise ApiError(
        404, "unknown_topic", f"no topic {slug!r}", valid_topics=[t.slug for t in topics]
    )


def require_article(session: Session, article_id: int) -> Article:
    article = get_article(session, article_id)
    if article is None:
        raise ApiError(404, "not_found", f"no article with id {article_id}")
    return article


def view_url(request: Request, route: str, filters: ViewFilters, **path: str) -> str:
    """The address of route `route` showing the view `filters` describes."""
    query: list[tuple[str, str | int]] = [("topic", t) for t in filters.topics]
    query += [("source", s) for s in filters.sources]
    if filters.q:
        query.append(("q", filters.q))
    query += [(k, _iso(v)) for k, v in (("since", filters.since), ("until", filters.until)) if v]
    url = str(request.url_for(route, **path))
    return url + "?" + urlencode(query) if query else url


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def public_url(request: Request, url: str) -> str:
    """`url` as readers reach it: behind a proxy, `BIOWIRE_BASE_URL` names the site."""
    base = request.app.state.settings.base_url
    if not base:
        return url
    own = str(request.base_url).rstrip("/")
    return base.rstrip("/") + url[len(own) :] if url.startswith(own) else url
