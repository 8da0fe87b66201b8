"""The pages to browse by: a topic (`/topics/{slug}`: what it covers, its articles a day
over the last 30 days, its latest articles) and the sources (`/sources`: how each one's
polling stands, and what to do about one that fails).

Days are the site's (`BIOWIRE_TIMEZONE`), as are the times shown. Each page's `find`
reads all that the page shows but the articles, and its validator is made from it; the
page found carries it to `render`, which reads nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from aggregator.digest import days
from aggregator.digest.days import midnight
from aggregator.digest.view import PageFound, TopicInfo, ViewFilters, load_page
from aggregator.digest.volume import DayCount, last_days, topic_volume
from aggregator.ingest.health import SourceStatus, source_health
from models.queries import data_version, sources_state
from web import openapi
from web.caching import view_response
from web.charts import bar_chart
from web.deps import ReadSessionDep
from web.params import TopicSlug
from web.routes.common import require_page, require_topic, require_view, view_url

router = APIRouter()
HTML = "text/html; charset=utf-8"
TOPIC_ARTICLES = 20


@dataclass(frozen=True)
class TopicPageFound(PageFound):
    """The topic's latest articles (as ids) with the topic itself and its daily counts."""

    topic: TopicInfo = field(kw_only=True)
    volume: tuple[DayCount, ...] = field(kw_only=True)


@router.get(
    "/topics/{slug}", response_class=HTMLResponse, name="topic_page",
    responses={**openapi.HTML_PAGE, **openapi.HTML_NOT_FOUND, **openapi.HTML_INVALID},
)  # fmt: skip
async def topic_page(slug: TopicSlug, request: Request, session: ReadSessionDep) -> Response:
    zone: tzinfo = request.app.state.settings.zone
    today = days.today(zone)
    filters = ViewFilters(topics=(slug,))

    def find() -> PageFound:
        topic = require_topic(request, session, slug)
        page = require_page(session, require_view(request, session, filters), TOPIC_ARTICLES)
        volume = tuple(topic_volume(session, topic, zone, today))
        counts = ",".join(str(day.articles) for day in volume)
        validator = f"{page.validator}|{today}|{counts}|{topic.name}|{topic.definition}"
        return TopicPageFound(
            page.rows, page.limit, validator, page.last_modified, page.notice,
            topic=topic, volume=volume,
        )  # fmt: skip

    def render(page: PageFound) -> bytes:
        assert isinstance(page, TopicPageFound)
        topic, volume = page.topic, page.volume
        context = {
            "topic": topic,
            "volume": volume,
            "total": sum(day.articles for day in volume),
            "chart": volume_chart(topic.name, volume),
            "articles": load_page(session, page),
            "digest_url": view_url(request, "digest", filters),
            "feeds": {
                kind: request.url_for(f"topic_{kind}", slug=topic.slug)
                for kind in ("rss", "atom", "json")
            },
            "highlights": {},
            "day_label": day_label,
        }
        return _render(request, "topic.html", context)

    return await view_response(
        request, variant="page", media_type=HTML, find=find, render=render, revalidate=True
    )


@router.get(
    "/sources", response_class=HTMLResponse, name="sources_page",
    responses=openapi.HTML_PAGE,
)  # fmt: skip
async def sources_page(request: Request, session: ReadSessionDep) -> Response:
    zone: tzinfo = request.app.state.settings.zone
    today = days.today(zone)
    # "The last 30 days" are the chart's: whole days of the zone, today's so far included.
    since = midnight(last_days(today)[0], zone)

    def find() -> PageFound:
        # Cheap, as a page is asked for again and again: the sources' rows, the articles'
        # version (their counts) and the day (the window's start); health is for `render`.
        state, newest_poll = sources_state(session)
        articles = data_version(session)
        return PageFound(
            rows=[], limit=1, validator=f"{state}|{articles}|{today}", last_modified=newest_poll
        )

    def render(page: PageFound) -> bytes:
        sources = source_health(session, since)
        context = {
            "sources": sources,
            "in_trouble": [s for s in sources if s.in_trouble],
            "counts": {status: sum(s.status is status for s in sources) for status in SourceStatus},
            "statuses": SourceStatus,
            "zone_name": str(zone),
        }
        return _render(request, "sources.html", context)

    return await view_response(
        request, variant="page", media_type=HTML, find=find, render=render, revalidate=True
    )


def _render(request: Request, template: str, context: Mapping[str, object]) -> bytes:
    page = request.app.state.templates.get_template(template)
    return page.render({"request": request, **context}).encode()


def volume_chart(topic_name: str, volume: Sequence[DayCount]) -> Markup:
    """The chart of a topic's articles a day, named and described for those who cannot
    see it: the span, the total and the busiest day."""
    title = f"Articles a day on {topic_name}, last {len(volume)} days"
    return bar_chart(
        [day.articles for day in volume],
        [day_label(day.day) for day in volume],
        title=title,
        description=volume_summary(topic_name, volume),
        chart_id="volume",
        first_label=day_label(volume[0].day) if volume else None,
        last_label=day_label(volume[-1].day) if volume else None,
    )


def volume_summary(topic_name: str, volume: Sequence[DayCount]) -> str:
    """E.g. "Articles a day on Border control, last 30 days: 42 in all, max 7 on 3 December
    2026." The busiest day is the latest of those that tie."""
    days = len(volume)
    total = sum(day.articles for day in volume)
    if total == 0:
        return f"No articles on {topic_name} in the last {days} days."
    peak = max(reversed(volume), key=lambda day: day.articles)
    return (
        f"Articles a day on {topic_name}, last {days} days: {total} in all, "
        f"max {peak.articles} on {long_date(peak.day)}."
    )


def day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"
