"""When a source is polled next: adaptive, never sooner than the server asks, backing off;
the rule as a pure function (`decide`), then as polls against real servers apply it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from aggregator.ingest.parse import ParsedFeed, parse_feed
from aggregator.ingest.results import (
    Changed,
    Failed,
    RefreshResult,
    SourceSnapshot,
    SourceUpdate,
    Unchanged,
)
from aggregator.ingest.schedule import (
    PollPolicy,
    ScheduleBounds,
    decide,
    interval_after_failure,
    interval_after_success,
)
from aggregator.ingest.storage import count_due_sources, due_sources
from aggregator.service import Database
from aggregator.settings import Settings
from models import Source, session_scope
from tests.aggregator.helpers import add_sources, source_state
from tests.conftest import run_poll
from tests.fixtures.feeds import Item, recent, rss
from tests.fixtures.servers import LoopbackServer, serve, status

BOUNDS = ScheduleBounds(min_interval=600, max_interval=21600)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def every(hours: float, count: int = 10) -> list[datetime]:
    return [NOW - timedelta(hours=hours * n) for n in range(count)]


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (every(2), 3600),  # half the typical gap
        (every(0.05), 600),  # a firehose is held to the lower bound
        (every(24 * 7), 21600),  # a weekly feed is checked at the upper bound
        ([NOW], 3600),  # one entry says nothing about rhythm
        ([], 3600),
    ],
    ids=["two-hourly", "firehose", "weekly", "single", "empty"],
)
def test_interval_adapts_to_publishing_rhythm(published: list[datetime], expected: int) -> None:
    assert interval_after_success(published, BOUNDS) == expected


def test_server_minimum_wins_even_past_the_upper_bound() -> None:
    assert interval_after_success(every(2), BOUNDS, server_min=7200) == 7200
    assert interval_after_success(every(2), BOUNDS, server_min=86400) == 86400
    assert interval_after_success(every(2), BOUNDS, server_min=60) == 3600


def test_server_hints_are_obeyed_up_to_a_ceiling() -> None:
    # A year's max-age, a far-future Expires: obeyed only up to a week.
    year = 365 * 86400
    assert interval_after_success(every(2), BOUNDS, server_min=year) == 604800
    assert interval_after_failure(1, BOUNDS, retry_after=year) == 604800
    tight = ScheduleBounds(min_interval=600, max_interval=21600, max_server_interval=86400)
    assert interval_after_success(every(2), tight, server_min=3 * 86400) == 86400


def test_failures_back_off_exponentially_with_jitter() -> None:
    for failures, base in [(1, 600), (2, 1200), (3, 2400), (4, 4800), (10, 21600)]:
        samples = {interval_after_failure(failures, BOUNDS) for _ in range(200)}
        assert all(0.8 * base <= s <= 1.2 * base for s in samples)
        assert len(samples) > 20, "jitter spreads sources that fail together"


def test_retry_after_outlasts_backoff() -> None:
    assert interval_after_failure(1, BOUNDS, retry_after=10_000) == 10_000


# --- the whole rule as a pure function: a result and a source in, the source's update out ---

POLICY = PollPolicy(BOUNDS, max_consecutive_failures=3)


def no_jitter(low: float, high: float) -> float:
    return 1.0


def hourly_feed(warning: str | None = None) -> ParsedFeed:
    entries = parse_feed("https://news.example.org/feed", rss(HOURLY_AT_NOON)).entries
    return ParsedFeed("News", "https://news.example.org/", entries, warning=warning)


HOURLY_AT_NOON = [
    Item(f"Story {n}", f"https://news.example.org/{n}", published=NOW - timedelta(hours=n))
    for n in range(6)
]
FAILING = SourceSnapshot(1, "https://news.example.org/feed", consecutive_failures=1,
                         poll_interval_seconds=1200)  # fmt: skip


@pytest.mark.parametrize(
    ("result", "source", "expected"),
    [
        (
            Changed(200, hourly_feed(), '"e"', None, "h"),
            FAILING,
            SourceUpdate(NOW, 200, 1800, NOW + timedelta(seconds=1800), 0),
        ),
        (
            Changed(200, hourly_feed("feed is not well-formed but was read: x"), None, None, "h",
                    server_interval=7200),
            FAILING,
            SourceUpdate(NOW, 200, 7200, NOW + timedelta(seconds=7200), 0,
                         error="feed is not well-formed but was read: x"),
        ),
        (
            Unchanged(304, None, None),
            SourceSnapshot(1, "u", poll_interval_seconds=5400),
            SourceUpdate(NOW, 304, 5400, NOW + timedelta(seconds=5400), 0),
        ),
        (
            Unchanged(304, None, None, server_interval=10**8),
            SourceSnapshot(1, "u"),
            SourceUpdate(NOW, 304, 604800, NOW + timedelta(seconds=604800), 0),
        ),
        (
            Failed("HTTP 503 Service Unavailable", 503),
            FAILING,
            SourceUpdate(NOW, 503, 1200, NOW + timedelta(seconds=1200), 2,
                         error="HTTP 503 Service Unavailable"),
        ),
        (
            Failed("HTTP 429 Too Many Requests", 429, retry_after=9000),
            SourceSnapshot(1, "u"),
            SourceUpdate(NOW, 429, 9000, NOW + timedelta(seconds=9000), 1,
                         error="HTTP 429 Too Many Requests"),
        ),
        (
            Failed("HTTP 410 Gone", 410),
            SourceSnapshot(1, "u"),
            SourceUpdate(NOW, 410, 600, NOW + timedelta(seconds=600), 1, error="HTTP 410 Gone",
                         disabled_reason="the server says the feed is gone (HTTP 410)"),
        ),
        (
            Failed("could not connect: refused"),
            SourceSnapshot(1, "u", consecutive_failures=2),
            SourceUpdate(NOW, None, 2400, NOW + timedelta(seconds=2400), 3,
                         error="could not connect: refused",
                         disabled_reason="disabled after 3 consecutive failures; "
                         "last: could not connect: refused"),
        ),
    ],
    ids=["changed", "changed-with-warning-and-hint", "unchanged-keeps-interval",
         "unchanged-hint-capped", "failure-backs-off", "retry-after", "gone", "too-many-failures"],
)  # fmt: skip
def test_decide(result: RefreshResult, source: SourceSnapshot, expected: SourceUpdate) -> None:
    assert decide(result, source, POLICY, NOW, jitter=no_jitter) == expected


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


HOURLY = [
    Item(f"Story {n}", f"https://news.example.org/{n}", published=recent(n)) for n in range(6)
]
SY_FEED = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
    b' xmlns="http://purl.org/rss/1.0/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
    b'<channel rdf:about="https://news.example.org/"><title>Syndicated</title>'
    b"<link>https://news.example.org/</link><description>d</description>"
    b"<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>"
    b"</channel>"
    b'<item rdf:about="https://news.example.org/sy"><title>One</title>'
    b"<link>https://news.example.org/sy</link></item></rdf:RDF>"
)


@pytest.mark.parametrize(
    ("body", "headers", "at_least"),
    [
        (rss(HOURLY), {}, 1800),
        (rss(HOURLY), {"Cache-Control": "public, max-age=14400"}, 14400),
        (rss(HOURLY), {"Expires": "{in_3h}"}, 10800 - 60),
        (rss(HOURLY, extra_channel="<ttl>300</ttl>"), {}, 18000),
        (SY_FEED, {}, 21600),
    ],
    ids=["adaptive-only", "cache-control", "expires", "rss-ttl", "sy-update"],
)
def test_next_poll_is_never_sooner_than_the_server_asks(
    settings: Settings,
    db: Database,
    server: LoopbackServer,
    body: bytes,
    headers: dict[str, str],
    at_least: int,
) -> None:
    in_3h = format_datetime(datetime.now(UTC) + timedelta(hours=3), usegmt=True)
    headers = {k: v.format(in_3h=in_3h) for k, v in headers.items()}
    server.routes["/feed"] = serve(body, headers=headers)
    [source_id] = add_sources(db, server.url("/feed"))

    run_poll(settings, db)

    source = source_state(db, source_id)
    assert source.last_error is None and source.poll_interval_seconds is not None
    assert at_least <= source.poll_interval_seconds <= max(at_least, 1800) + 120


def test_not_modified_keeps_honouring_cache_control(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    server.routes["/feed"] = serve(rss(HOURLY), headers={"ETag": '"a"'})
    [source_id] = add_sources(db, server.url("/feed"))
    run_poll(settings, db)
    server.routes["/feed"] = status(304, {"Cache-Control": "max-age=20000"})
    run_poll(settings, db)

    source = source_state(db, source_id)
    assert source.next_poll_at is not None and source.last_polled_at is not None
    assert (source.next_poll_at - source.last_polled_at).total_seconds() >= 20000
    assert source.etag == '"a"'


def test_a_year_long_max_age_is_obeyed_only_up_to_the_ceiling(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    year = {"Cache-Control": f"max-age={365 * 86400}", "ETag": '"a"'}
    server.routes["/feed"] = serve(rss(HOURLY), headers=year)
    [source_id] = add_sources(db, server.url("/feed"))
    run_poll(settings, db)
    assert source_state(db, source_id).poll_interval_seconds == settings.max_server_interval
    server.routes["/feed"] = status(304, year)  # and the same on a 304
    run_poll(settings, db)

    source = source_state(db, source_id)
    assert source.next_poll_at is not None and source.last_polled_at is not None
    waited = (source.next_poll_at - source.last_polled_at).total_seconds()
    assert waited == pytest.approx(settings.max_server_interval, abs=1)


def test_only_due_sources_are_polled(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    server.routes["/feed"] = serve(rss(HOURLY))
    add_sources(db, server.url("/feed"))
    run_poll(settings, db, everything=False)
    assert run_poll(settings, db, everything=False).outcomes == []
    assert len(run_poll(settings, db, everything=True).outcomes) == 1


def test_the_due_count_matches_the_sources_a_poll_takes(db: Database) -> None:
    due, later, disabled = add_sources(
        db, "https://due.example/feed", "https://later.example/feed", "https://off.example/feed"
    )
    now = datetime.now(UTC)
    with session_scope(db.factory) as session:
        session.get_one(Source, later).next_poll_at = now + timedelta(hours=1)
        session.get_one(Source, disabled).disabled_at = now
    with session_scope(db.factory) as session:
        for everything, expected in ((False, [due]), (True, [due, later])):
            assert [s.id for s in due_sources(session, now, everything)] == expected
            assert count_due_sources(session, now, everything) == len(expected)
