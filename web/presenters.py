"""Turning ORM rows into what templates and JSON show."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from aggregator.digest.days import in_zone
from aggregator.digest.items import snippet, source_names, tags_of
from models import Article
from models.search import MARK_END, MARK_START


def rfc3339(moment: datetime) -> str:
    """A moment as every JSON body, feed and link writes it: RFC 3339, in UTC, with Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_time(moment: datetime | None, zone: tzinfo) -> str:
    """A moment as the pages write it, in the site's time zone with the zone's name:
    "10 Mar 2026, 14:05 JST"."""
    if moment is None:
        return ""
    local = in_zone(moment, zone)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def local_clock(moment: datetime | None, zone: tzinfo) -> str:
    """A moment's time of day in the site's time zone: "14:05"."""
    return f"{in_zone(moment, zone):%H:%M}" if moment else ""


def iso(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment else None


def marked(text: str) -> Markup:
    """A snippet whose matched words the search marked, as safe HTML: escaped, then each
    match in <mark>."""
    return Markup(str(escape(text)).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def article_json(article: Article, highlight: str | None = None) -> dict[str, Any]:
    names = source_names(article)
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "source": names[0] if names else None,
        "sources": names,
        "published": iso(article.published_at),
        "summary": snippet(article),
        "highlight": marked(highlight) if highlight is not None else None,
        "topics": [
            {"slug": t.slug, "name": t.name, "score": t.score, "origin": t.origin, "why": t.why}
            for t in tags_of(article)
        ],
    }


def web_link(url: str | None) -> str | None:
    """`url` when a page may link to it (http or https); None for anything else, such as
    a `javascript:` address a feed gave as its site or an item's link."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None
