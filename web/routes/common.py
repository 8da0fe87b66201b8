"""What the routes share: the view filters every page, feed and API list takes, and the
lookups that turn a missing thing into the right HTTP error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Query, Request
from pydantic import Field, StringConstraints
from sqlalchemy.orm import Session

from aggregator.classify.corrections import UnknownTopics, set_topics
from aggregator.digest.view import (
    InvalidView,
    PageFound,
    ResolvedView,
    TopicInfo,
    ViewFilters,
    find_page,
    resolve,
)
from models import Article
from models.queries import get_article
from web.errors import ApiError
from web.params import MAX_ID, NO_NUL, SEARCH_MAX, SLUG_MAX, TOPIC_SLUG, IsoMoment
from web.presenters import rfc3339

# Blank is "every topic" (or source), as the page's filter form sends it.
TopicItem = (
    Annotated[
        str,
        StringConstraints(max_length=SLUG_MAX, pattern=NO_NUL),
        Field(json_schema_extra=TOPIC_SLUG),
    ]
    | Literal[""]
)
SourceItem = Annotated[int, Field(ge=1, le=MAX_ID)] | Literal[""]


async def view_filters(
    topic: Annotated[
        list[TopicItem],
        Query(
            max_length=20,
            description="A topic's slug; repeat for any of several topics; blank: every topic.",
        ),
    ] = [],  # noqa: B006 (FastAPI copies a default list per request)
    source: Annotated[
        list[SourceItem],
        Query(
            max_length=50,
            description="A source's id; repeat for any of several sources; blank: every source.",
        ),
    ] = [],  # noqa: B006
    q: Annotated[
        str | None,
        Query(
            max_length=SEARCH_MAX,
            pattern=NO_NUL,
            description='Full-text search: words, "a phrase", -word, OR between words.',
        ),
    ] = None,  # fmt: skip
    since: Annotated[
        IsoMoment | None, Query(description="Published at or after (ISO 8601; UTC if no zone).")
    ] = None,
    until: Annotated[
        IsoMoment | None, Query(description="Published before (ISO 8601; UTC if no zone).")
    ] = None,
) -> ViewFilters:
    """The filters every view takes: the page, the feeds and the JSON list alike."""
    return ViewFilters(
        topics=tuple(dict.fromkeys(t for t in topic if t)),
        sources=tuple(dict.fromkeys(s for s in source if isinstance(s, int))),
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
    if error.missing:
        return ApiError(404, "not_found", f"{error.field}: {error}", **error.details)
    return ApiError(422, "invalid_request", f"{error.field}: {error}", **error.details)


def require_topic(request: Request, session: Session, slug: str) -> TopicInfo:
    """The topic `slug` names (a path's: a 404 naming the valid ones when none)."""
    topics = request.app.state.topics.topics(session)
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


def apply_correction(session: Session, article_id: int, topics: list[str], editor: str) -> None:
    """An editor's ruling on an article's topics, as the API and the pages' form both give
    it: 404 for an article that is not there, 422 naming the valid topics for an unknown
    one; nothing is written for either."""
    require_article(session, article_id)
    try:
        set_topics(session, article_id, topics, editor=editor)
    except UnknownTopics as error:
        raise ApiError(
            422, "unknown_topics", str(error), unknown=error.unknown, valid_topics=error.valid
        ) from error


def view_url(request: Request, route: str, filters: ViewFilters, **path: str) -> str:
    """The address of route `route` showing the view `filters` describes."""
    query: list[tuple[str, str | int]] = [("topic", t) for t in filters.topics]
    query += [("source", s) for s in filters.sources]
    if filters.q:
        query.append(("q", filters.q))
    query += [(k, rfc3339(v)) for k, v in (("since", filters.since), ("until", filters.until)) if v]
    url = str(request.url_for(route, **path))
    return url + "?" + urlencode(query) if query else url


def public_url(request: Request, url: str) -> str:
    """`url` as readers reach it: behind a proxy, `BIOWIRE_BASE_URL` names the site."""
    base = request.app.state.settings.base_url
    if not base:
        return url
    own = str(request.base_url).rstrip("/")
    return base.rstrip("/") + url[len(own) :] if url.startswith(own) else url
