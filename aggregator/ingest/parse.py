"""Turning a fetched body into normalised entries. The only module that touches feedparser
(with `aggregator.ingest.feedparser_speedups`, faster paths through feedparser's helpers that
the parse workers install when they start; elsewhere feedparser runs as shipped).

`parse_feed(url, body, headers)` either returns a `ParsedFeed` or raises `ParseError` with a
sentence a person can act on; it never returns feedparser's own structures.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from aggregator.errors import ParseError
from aggregator.ingest.sanitize import html_to_text, sanitize_html, sanitized_to_text
from aggregator.ingest.urls import canonical_url

# Seconds per `sy:updatePeriod` unit (RSS 1.0 Syndication module).
_SY_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000,
               "yearly": 31536000}  # fmt: skip


@dataclass(frozen=True)
class ParsedEntry:
    guid: str
    dedup_key: str
    url: str | None
    title: str
    author: str | None
    summary_html: str
    content_html: str
    text: str
    categories: tuple[str, ...]
    published_at: datetime
    updated_at: datetime | None
    content_hash: str


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    entries: list[ParsedEntry] = field(default_factory=list)
    # The publisher's own hint of how often to poll, in seconds (RSS <ttl>, sy:update*).
    suggested_interval: int | None = None
    # feedparser's complaint about a feed it could still read, kept for the source's record.
    warning: str | None = None


def parse_feed(
    url: str, body: bytes, headers: dict[str, str] | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Parse `body` fetched from `url`. HTTP headers let feedparser pick the right charset."""
    now = now or datetime.now(UTC)
    if not body.strip():
        raise ParseError("the server returned an empty body")
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    # The base feedparser resolves links and relative ids against (xml:base aside); the
    # stored guids of relative ids depend on it, so it must stay as it is.
    response_headers.setdefault("content-location", url)
    # Our own sanitiser also does these two jobs, resolving relative links as it goes:
    # feedparser's would parse every entry's markup twice more, in pure Python.
    result = feedparser.parse(
        _strip_before_declaration(body),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if not result.get("version") and not result.entries:
        raise ParseError(_explain_unreadable(result, body))

    feed = result.feed
    entries = []
    for raw in result.entries:
        entry = _normalise_entry(raw, url, now)
        if entry is not None:
            entries.append(entry)
    warning = None
    problem = result.get("bozo_exception")
    # A missing or odd Content-Type says nothing about the feed, and nothing its owner
    # could act on from here; anything else is worth keeping on the source's record.
    if result.get("bozo") and not isinstance(problem, feedparser.NonXMLContentType):
        warning = f"feed is not well-formed but was read: {problem}"
    return ParsedFeed(
        title=_plain(feed.get("title")) or None,
        site_url=feed.get("link") or None,
        entries=entries,
        suggested_interval=_suggested_interval(feed),
        warning=warning,
    )


def _strip_before_declaration(body: bytes) -> bytes:
    """Drop white space before `<?xml`: XML forbids it, so a strict parser rejects the feed
    and feedparser falls back to its looser, less faithful one. Common in the wild (a blank
    line printed by a template before the declaration)."""
    if body[:1].isspace():
        stripped = body.lstrip()
        if stripped.startswith(b"<?xml"):
            return stripped
    return body


def normalise_title(raw: Any) -> str:
    """A title as stored: markup removed, entities decoded, white space collapsed."""
    return _plain(raw)[:2000]


def _explain_unreadable(result: Any, body: bytes) -> str:
    head = body.lstrip()[:512].lower()
    if head.startswith(b"<!doctype html") or b"<html" in head:
        return "the server returned an HTML page, not a feed"
    reason = result.get("bozo_exception")
    return (
        f"not a readable RSS, Atom or JSON feed ({reason})"
        if reason
        else ("not a readable RSS, Atom or JSON feed")
    )


def _normalise_entry(entry: Any, feed_url: str, now: datetime) -> ParsedEntry | None:
    # feedparser's own `get` maps old key names and warns on every entry without an
    # updated date; read as a plain dict (none of these keys is an alias), with that one
    # fallback kept, an entry costs far less to read.
    raw = _entry_fields(entry)
    title = normalise_title(raw("title"))
    link = raw("link") or ""
    url = canonical_url(link) if link else None
    raw_summary = raw("summary") or ""
    contents = raw("content") or []
    # Relative links resolve against the xml:base in scope, else the feed's own URL. (An
    # Atom entry with content and no summary has its content given as the summary.)
    summary_detail = raw("summary_detail") or (contents[0] if contents else None)
    summary_html = sanitize_html(raw_summary, _base(summary_detail, feed_url))
    content_html = ""
    for content in contents:
        if content.get("value"):
            # feedparser often gives the content as the summary too: sanitise it once.
            if content["value"] != raw_summary:
                content_html = sanitize_html(content["value"], _base(content, feed_url))
            break
    if summary_html == content_html:
        content_html = ""
    text = sanitized_to_text(content_html or summary_html)
    if not title:
        # Title-less items (common in microblog-style feeds) take their opening words.
        title = text[:120].rsplit(" ", 1)[0] + "…" if len(text) > 120 else text
    if not title and not url:
        return None

    published_parsed = raw("published_parsed")
    # An entry without an updated date counts as updated when published (feedparser's
    # own `updated_parsed` says so too).
    updated_parsed = raw("updated_parsed") if "updated_parsed" in entry else published_parsed
    published = _timestamp(published_parsed) or _timestamp(updated_parsed)
    updated = _timestamp(updated_parsed)
    published = min(published or now, now)
    updated = min(updated, now) if updated else None

    guid = (raw("id") or link or "").strip()[:2048]
    fallback = ""
    if not guid or not url:  # then keyed by a hash of its title and date
        date_key = published.isoformat() if published_parsed else ""
        fallback = "sha256:" + _digest(title, date_key)
    dedup_key = url or fallback
    categories = tuple(
        dict.fromkeys(_plain(tag.get("term") or tag.get("label")) for tag in raw("tags") or [])
    )
    return ParsedEntry(
        guid=guid or fallback,
        dedup_key=dedup_key[:2048],
        url=url,
        title=title[:2000],
        author=(_plain(raw("author")) or None),
        summary_html=summary_html,
        content_html=content_html,
        text=text,
        categories=tuple(c for c in categories if c),
        published_at=published,
        updated_at=updated,
        content_hash=_digest(title, summary_html, content_html),
    )


def _entry_fields(entry: Any) -> Callable[[str], Any]:
    """A lookup of an entry's fields by their own names, None for a missing one."""
    return functools.partial(dict.get, entry)


def _base(detail: Any, feed_url: str) -> str:
    """The base URL of an element's markup: its xml:base (feedparser has resolved it against
    the feed's URL), else the feed's URL."""
    base = detail.get("base") if detail else None
    return str(base) if base else feed_url


def _plain(value: Any) -> str:
    return html_to_text(str(value)) if value else ""


def _timestamp(parsed: time.struct_time | None) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _suggested_interval(feed: Any) -> int | None:
    hints: list[int] = []
    ttl = feed.get("ttl")
    if ttl and str(ttl).strip().isdigit():
        hints.append(int(str(ttl).strip()) * 60)
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in _SY_PERIODS:
        frequency = str(feed.get("sy_updatefrequency") or "1").strip()
        per_period = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
        hints.append(_SY_PERIODS[period] // per_period)
    return max(hints) if hints else None
