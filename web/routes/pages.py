"""The HTML pages: the digest, of one day or of a range of days, in the site's time zone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from aggregator.digest import days
from aggregator.digest.days import Period
from aggregator.digest.view import (
    Digest,
    DigestFound,
    InvalidView,
    PageFound,
    ResolvedView,
    ViewFilters,
    build_digest,
    find_digest,
)
from models import Source
from models.queries import failing_sources, list_sources
from web import openapi
from web.caching import view_response
from web.deps import ReadSessionDep
from web.params import Cursor, FormDate
from web.routes.common import invalid, require_view, view_filters, view_url

router = APIRouter()
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class DigestQuery:
    """What the digest page was asked for: the view's filters and the period, one local
    `day` or a range (`first` to `last`, and the filters' `since` and `until`). The page's
    links ask for the same with one thing changed (`url`)."""

    filters: ViewFilters
    day: date | None = None
    first: date | None = None
    last: date | None = None
    before: int | None = None

    @property
    def is_range(self) -> bool:
        bounds = (self.first, self.last, self.filters.since, self.filters.until)
        return any(bound is not None for bound in bounds)

    def period(self, zone: ZoneInfo, today: date) -> Period:
        if self.is_range:
            f = self.filters
            return Period.of_range(zone, self.first, self.last, f.since, f.until)
        return Period.of_day(self.day or today, zone)

    def url(self, request: Request, **changes: Any) -> str:
        asked = replace(self, **changes)
        period = {"date": asked.day, "from": asked.first, "to": asked.last, "before": asked.before}
        url = view_url(request, "digest", asked.filters)
        more = urlencode([(name, str(value)) for name, value in period.items() if value])
        if not more:
            return url
        return f"{url}{'&' if '?' in url else '?'}{more}"


@router.get(
    "/", response_class=HTMLResponse, name="digest",
    responses={**openapi.HTML_PAGE, **openapi.HTML_NOT_FOUND, **openapi.HTML_INVALID},
)  # fmt: skip
async def digest_page(
    request: Request,
    session: ReadSessionDep,
    filters: Annotated[ViewFilters, Depends(view_filters)],
    day: Annotated[
        FormDate,
        Query(
            alias="date",
            description="A day (YYYY-MM-DD) in the site's time zone; default: today there.",
        ),
    ] = None,
    first: Annotated[
        FormDate,
        Query(
            alias="from",
            description="The first day of a range (YYYY-MM-DD, in the "
            "site's time zone); a range replaces `date`.",
        ),
    ] = None,
    last: Annotated[
        FormDate, Query(alias="to", description="The last day of a range, included.")
    ] = None,
    before: Cursor = None,
) -> Response:
    if first and last and first > last:  # the days typed the other way round
        first, last = last, first
    asked = DigestQuery(filters, day, first, last, before)
    zone: ZoneInfo = request.app.state.settings.zone
    today = days.today(zone)
    period = asked.period(zone, today)

    def resolved() -> ResolvedView:
        return require_view(request, session, filters)

    failing: list[Source] = []

    def find() -> PageFound:
        try:
            found = find_digest(session, resolved(), period, zone, before)
        except InvalidView as error:
            raise invalid(error) from error
        # The page also says which day is today, shows times in the zone, and names the
        # sources that fail: a digest short of a source is never silently short.
        failing[:] = failing_sources(session)
        trouble = ",".join(
            f"{s.id}:{s.consecutive_failures}:{bool(s.disabled_at)}" for s in failing
        )
        return replace(found, validator=f"{found.validator}|{today}|{zone.key}|{trouble}")

    def render(found: PageFound) -> bytes:
        assert isinstance(found, DigestFound)
        view = resolved()
        topics = request.app.state.topics.topics(session)
        digest = build_digest(session, view, found, topics)
        context = _context(request, asked, view, digest, zone, today)
        context.update(topics=topics, sources=list_sources(session), failing=failing)
        template = request.app.state.templates.get_template("digest.html")
        return template.render(context).encode()

    return await view_response(
        request, variant="page", media_type=HTML, find=find, render=render, revalidate=True
    )


def _context(
    request: Request,
    asked: DigestQuery,
    view: ResolvedView,
    digest: Digest,
    zone: ZoneInfo,
    today: date,
) -> dict[str, Any]:
    """What `digest.html` shows beside the articles: headings, the form's state, links."""
    period = digest.period
    # A range's feeds are the range; a day's are the view going on: a feed of one past
    # day would never change.
    feed_view = view
    if period.day is None:
        feed_view = replace(view, filters=_within(view.filters, period.since, period.until))
    # The filters without their bounds: what the heading's days leave to say.
    unbounded = _within(view.filters, None, None)
    return {
        "request": request,
        "digest": digest,
        "highlights": digest.highlights,
        "asked": asked,
        "view": view,
        "heading": _heading(period, zone),
        "described": replace(view, filters=unbounded).describe() if _narrows(unbounded) else None,
        "is_today": period.day == today,
        "zone": zone.key,
        "zone_abbreviation": days.zone_abbreviation(period.day or today, zone),
        "links": _links(request, asked, digest),
        "feed_title": feed_view.describe(zone),
        "feeds": {
            kind: view_url(request, f"feed_{kind}", feed_view.filters)
            for kind in ("rss", "atom", "json")
        },
    }


def _links(request: Request, asked: DigestQuery, digest: Digest) -> dict[str, str | None]:
    """The page's ways elsewhere, each keeping every filter: the days before and after
    (a day's digest), today's digest, the next page and back to the first."""

    def to(**changes: Any) -> str:
        return asked.url(request, **changes)

    previous_day, next_day, more = digest.previous_day, digest.next_day, digest.next_before
    return {
        "previous": to(day=previous_day, before=None) if previous_day else None,
        "next": to(day=next_day, before=None) if next_day else None,
        "today": DigestQuery(_within(asked.filters, None, None)).url(request),
        "more": to(before=more) if more else None,
        "first_page": to(before=None) if asked.before else None,
    }


def _within(filters: ViewFilters, since: datetime | None, until: datetime | None) -> ViewFilters:
    return replace(filters, since=since, until=until)


def _narrows(filters: ViewFilters) -> bool:
    return bool(filters.topics or filters.sources or filters.q)


def _heading(period: Period, zone: ZoneInfo) -> str:
    """The page's title: its day, or its range's first and last days."""
    if period.day is not None:
        return _long_date(period.day)
    first, last = period.local_days(zone)
    if first and last:
        return _long_date(first) if first == last else f"{_long_date(first)} to {_long_date(last)}"
    if first:
        return f"Since {_long_date(first)}"
    return f"Until {_long_date(last)}" if last else "Every day"


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B} {day.year}"
