"""Hostile servers: each misbehaves in one way, in a run with well-behaved sources beside it.

Every test checks two things: the hostile source ends in a recorded state (error, status,
failure count, next poll), and the other sources of the same run all land. Each runs both
with the fast paths and with the libraries as shipped.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from aggregator.classify.registry import active_model
from aggregator.ingest.parse_pool import install_model
from aggregator.service import Database
from aggregator.settings import Settings
from models import Source, session_scope
from tests.aggregator.helpers import add_sources, articles_of, source_state
from tests.conftest import both_paths, run_poll
from tests.fixtures.feeds import Item, recent, rss
from tests.fixtures.servers import (
    LoopbackServer,
    cut_off,
    endless,
    redirect,
    serve,
    status,
    trickle,
)

pytestmark = both_paths

GOOD_PATHS = ("/good/one", "/good/two")


def good_feed(path: str) -> bytes:
    return rss(
        [
            Item(f"Story {n} from {path}", f"https://news.example.org{path}/{n}",
                 summary="Gate operators report steady use of face matching.",
                 published=recent(n + 1))
            for n in range(3)
        ],
        title=f"Well-behaved feed {path}",
    )  # fmt: skip


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        for path in GOOD_PATHS:
            running.routes[path] = serve(good_feed(path))
        yield running


def poll_beside_good_sources(
    settings: Settings, db: Database, server: LoopbackServer, hostile_url: str
) -> Source:
    """Poll the hostile source with the good ones in one run; check the good ones landed."""
    hostile_id, *good_ids = add_sources(db, hostile_url, *(server.url(p) for p in GOOD_PATHS))
    summary = run_poll(settings, db)
    assert len(summary.outcomes) == 1 + len(good_ids)
    for source_id in good_ids:
        good = source_state(db, source_id)
        assert (good.last_status, good.last_error, good.consecutive_failures) == (200, None, 0)
        assert len(articles_of(db, source_id)) == 3
    return source_state(db, hostile_id)


def load_the_active_model(db: Database) -> None:
    with session_scope(db.factory) as session:
        model = active_model(session)
        assert model is not None
        install_model(model.id, model.blob)


def assert_failure_recorded(source: Source, message: str) -> None:
    assert source.last_error is not None and message in source.last_error
    assert source.consecutive_failures == 1
    assert source.last_polled_at is not None and source.last_error_at is not None
    assert source.next_poll_at is not None and source.disabled_at is None


def test_server_slower_than_the_total_timeout(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    server.routes["/slow"] = trickle(good_feed("/slow"), every=0.05)  # ~40 s for the body
    quick = settings.model_copy(update={"total_timeout": 1.0, "read_timeout": 0.5})

    hostile = poll_beside_good_sources(quick, db, server, server.url("/slow"))

    assert_failure_recorded(hostile, "no complete answer within 1 s")


def test_server_silent_for_longer_than_the_read_timeout(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    server.routes["/stalls"] = trickle(good_feed("/stalls"), every=3.0)  # a byte, then silence
    quick = settings.model_copy(update={"total_timeout": 10.0, "read_timeout": 0.5})

    hostile = poll_beside_good_sources(quick, db, server, server.url("/stalls"))

    # aiohttp's read timeout, given httpx's name for it, not the total timeout.
    assert_failure_recorded(hostile, "timed out: ")
    assert hostile.last_error is not None and "no complete answer" not in hostile.last_error


def test_endless_body_stops_at_the_size_limit(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    server.routes["/endless"] = endless(b"<item><title>again</title></item>" * 1000)

    hostile = poll_beside_good_sources(settings, db, server, server.url("/endless"))

    assert_failure_recorded(hostile, "body larger than 10,485,760 bytes")


# (Content-Encoding, zlib's window bits for it.) Servers that say "deflate" send either
# what RFC 9110 §8.4.1.2 asks, the zlib format, or raw deflate with no header at all.
CODINGS = [
    pytest.param("gzip", 16 + zlib.MAX_WBITS, id="gzip"),
    pytest.param("deflate", zlib.MAX_WBITS, id="deflate-zlib"),
    pytest.param("deflate", -zlib.MAX_WBITS, id="deflate-raw"),
]


def compress(body: bytes, wbits: int) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return deflater.compress(body) + deflater.flush()


@pytest.mark.parametrize(("coding", "wbits"), CODINGS)
def test_compression_bomb_stops_at_the_size_limit(
    settings: Settings, db: Database, server: LoopbackServer, coding: str, wbits: int
) -> None:
    # 128 MiB of zeros in about 128 KB: twelve times the limit, a thousand times its size.
    deflater = zlib.compressobj(9, zlib.DEFLATED, wbits)
    megabyte = bytes(1 << 20)
    bomb = b"".join(deflater.compress(megabyte) for _ in range(128)) + deflater.flush()
    assert len(bomb) < 256 << 10
    server.routes["/bomb"] = serve(bomb, headers={"Content-Encoding": coding})

    # Loaded first, as in a poller that has run before: the peak is then the poll's own.
    load_the_active_model(db)
    tracemalloc.start()
    try:
        hostile = poll_beside_good_sources(settings, db, server, server.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert_failure_recorded(hostile, "body larger than 10,485,760 bytes (after decompression)")
    # What is kept is at most the limit, and one inflation step adds 64 KiB to it. A
    # decoder that inflated a whole network read at once would hold 64 MiB; one that
    # inflated the whole body, 128 MiB.
    assert peak < 2 * settings.max_body_bytes, f"{peak:,} bytes at the peak"


@pytest.mark.parametrize(("coding", "wbits"), CODINGS)
def test_compressed_feed_is_read(
    settings: Settings, db: Database, server: LoopbackServer, coding: str, wbits: int
) -> None:
    """The contrast to the bomb: a well-formed compressed body is decoded and stored."""
    server.routes["/packed"] = serve(
        compress(good_feed("/packed"), wbits), headers={"Content-Encoding": coding}
    )
    source = poll_beside_good_sources(settings, db, server, server.url("/packed"))
    assert source.last_error is None and len(articles_of(db, source.id)) == 3


def test_gzip_members_are_one_body(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    """Concatenated gzip members are one body (RFC 1952 §2.2): a feed split in two."""
    feed = good_feed("/members")
    half = len(feed) // 2
    server.routes["/members"] = serve(
        gzip.compress(feed[:half]) + gzip.compress(feed[half:]),
        headers={"Content-Encoding": "gzip"},
    )
    source = poll_beside_good_sources(settings, db, server, server.url("/members"))
    assert source.last_error is None and len(articles_of(db, source.id)) == 3


def test_redirect_loop_gives_up_after_five_redirects(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    server.routes["/loop"] = redirect(302, "/loop")

    hostile = poll_beside_good_sources(settings, db, server, server.url("/loop"))

    assert_failure_recorded(hostile, "more than 5 redirects")
    assert server.hits("/loop") == 6  # the first request and five redirects


def test_redirect_to_loopback_is_refused_with_the_guard_on(
    settings: Settings, db: Database
) -> None:
    """The guard is on; only 127.0.0.2 is allowed (as an operator may allow an intranet
    host). A redirect from there to 127.0.0.1, and a name that resolves to loopback, are
    both refused before any request reaches the forbidden server."""
    guarded = settings.model_copy(
        update={"allow_private_networks": False, "allowed_networks": "127.0.0.2/32"}
    )
    with LoopbackServer("127.0.0.1") as forbidden, LoopbackServer("127.0.0.2") as allowed:
        forbidden.routes["/internal"] = serve(good_feed("/internal"))
        for path in GOOD_PATHS:
            allowed.routes[path] = serve(good_feed(path))
        allowed.routes["/jump"] = redirect(302, forbidden.url("/internal"))
        by_redirect, by_name, *good_ids = add_sources(
            db, allowed.url("/jump"), forbidden.url("/internal", host="localhost"),
            *(allowed.url(p) for p in GOOD_PATHS),
        )  # fmt: skip

        run_poll(guarded, db)

        assert forbidden.requests == []
    assert_failure_recorded(source_state(db, by_redirect), "127.0.0.1 is a private")
    assert_failure_recorded(source_state(db, by_name), "localhost resolves to a private")
    for source_id in good_ids:
        assert source_state(db, source_id).last_status == 200
        assert len(articles_of(db, source_id)) == 3


@pytest.mark.parametrize("as_date", [False, True], ids=["seconds", "http-date"])
def test_429_honours_retry_after(
    settings: Settings, db: Database, server: LoopbackServer, as_date: bool
) -> None:
    # The date is made when the test runs, not when it is collected (a minute may lie between).
    in_two_hours = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    retry_after = in_two_hours if as_date else "7200"
    server.routes["/busy"] = status(429, {"Retry-After": retry_after})

    hostile = poll_beside_good_sources(settings, db, server, server.url("/busy"))

    assert_failure_recorded(hostile, "HTTP 429")
    assert hostile.last_status == 429
    assert hostile.next_poll_at is not None and hostile.last_polled_at is not None
    wait = hostile.next_poll_at - hostile.last_polled_at
    assert timedelta(seconds=7200 - 60) <= wait <= timedelta(seconds=7200 + 60)


def test_410_disables_the_source(settings: Settings, db: Database, server: LoopbackServer) -> None:
    server.routes["/gone"] = status(410)

    hostile = poll_beside_good_sources(settings, db, server, server.url("/gone"))

    assert hostile.last_status == 410 and hostile.disabled_at is not None
    assert hostile.disabled_reason == "the server says the feed is gone (HTTP 410)"
    run_poll(settings, db)  # a disabled source is not asked again
    assert server.hits("/gone") == 1


@pytest.mark.parametrize(
    ("code", "moves"),
    [(301, True), (308, True), (302, False), (307, False)],
    ids=["301-moves", "308-moves", "302-stays", "307-stays"],
)
def test_redirects_update_the_url_only_when_permanent(
    settings: Settings, db: Database, server: LoopbackServer, code: int, moves: bool
) -> None:
    server.routes["/old"] = redirect(code, "/new")
    server.routes["/new"] = serve(good_feed("/new"))

    source = poll_beside_good_sources(settings, db, server, server.url("/old"))

    assert source.last_status == 200 and source.last_error is None
    assert source.url == server.url("/new" if moves else "/old")
    assert len(articles_of(db, source.id)) == 3


def test_connection_closed_mid_body(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    body = good_feed("/cut")
    server.routes["/cut"] = cut_off(body, after=len(body) // 2)

    hostile = poll_beside_good_sources(settings, db, server, server.url("/cut"))

    assert_failure_recorded(hostile, "the connection broke before the whole body arrived")
    assert articles_of(db, hostile.id) == []


def test_html_page_instead_of_a_feed(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    page = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>Hi</body></html>"
    server.routes["/page"] = serve(page, content_type="text/html; charset=utf-8")

    hostile = poll_beside_good_sources(settings, db, server, server.url("/page"))

    assert_failure_recorded(hostile, "the server returned an HTML page, not a feed")
    assert hostile.last_status == 200


def test_empty_body(settings: Settings, db: Database, server: LoopbackServer) -> None:
    server.routes["/empty"] = serve(b"")

    hostile = poll_beside_good_sources(settings, db, server, server.url("/empty"))

    assert_failure_recorded(hostile, "the server returned an empty body")
