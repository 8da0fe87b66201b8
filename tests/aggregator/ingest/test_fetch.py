"""Fetching against a real server on 127.0.0.1: what we send, what we follow, what we keep.
The tests of fetching run both with the fast path through httpx and with httpx as shipped."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from aggregator import PRODUCT_URL
from aggregator.errors import FetchError
from aggregator.ingest.fetch import ClientOptions, FetchLimits, build_client, fetch_feed
from aggregator.ingest.parse_pool import (
    YOUNG_GENERATION_THRESHOLD,
    ParsePool,
    safe_to_fork,
    worker_ready,
)
from aggregator.service import Database, poll_once
from aggregator.settings import Settings
from tests.aggregator.helpers import add_sources, articles_of, source_state
from tests.conftest import both_paths, run_poll
from tests.fixtures.feeds import BIOMETRIC_ITEMS, rss
from tests.fixtures.processes import REPO, imported_from, run_python
from tests.fixtures.servers import Exchange, LoopbackServer, redirect, sequence, serve, status


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def fetch(url: str, limits: FetchLimits | None = None) -> object:
    async def go() -> object:
        client = build_client(ClientOptions(allow_private_networks=True))
        try:
            return await fetch_feed(client, url, limits or FetchLimits())
        finally:
            await client.aclose()

    return asyncio.run(go())


@both_paths
def test_requests_name_the_product_and_ask_for_feeds(server: LoopbackServer) -> None:
    server.routes["/feed"] = serve(rss(BIOMETRIC_ITEMS))
    fetch(server.url("/feed"))
    [request] = server.requests
    assert request.headers["user-agent"].startswith("Biowire/")
    assert PRODUCT_URL in request.headers["user-agent"]
    assert "application/rss+xml" in request.headers["accept"]
    assert request.headers["accept-encoding"] == "gzip, deflate"


@both_paths
def test_conditional_get_uses_last_modified(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    stamp = "Tue, 03 Mar 2026 10:00:00 GMT"

    def answer(ex: Exchange) -> None:
        if ex.headers.get("if-modified-since") == stamp:
            ex.respond(304)
        else:
            ex.respond(200, rss(BIOMETRIC_ITEMS), {"Last-Modified": stamp})

    server.routes["/feed"] = answer
    [source_id] = add_sources(db, server.url("/feed"))
    run_poll(settings, db)
    [outcome] = run_poll(settings, db).outcomes

    assert (outcome.status, outcome.unchanged) == (304, True)
    assert source_state(db, source_id).last_modified == stamp


@both_paths
def test_unchanged_body_is_not_parsed_again(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    # No validators at all: only the body's hash can tell it has not changed.
    server.routes["/feed"] = serve(rss(BIOMETRIC_ITEMS))
    [source_id] = add_sources(db, server.url("/feed"))
    first = run_poll(settings, db).outcomes[0]
    second = run_poll(settings, db).outcomes[0]

    assert (first.unchanged, first.new_articles) == (False, 3)
    assert (second.status, second.unchanged, second.new_articles) == (200, True, 0)
    assert source_state(db, source_id).body_hash is not None


@both_paths
def test_cookies_a_server_sets_are_not_sent_back(server: LoopbackServer) -> None:
    # A feed poller keeps no session: one feed's cookie must not follow the client around.
    server.routes["/feed"] = serve(rss(BIOMETRIC_ITEMS), headers={"Set-Cookie": "id=abc; Path=/"})

    async def twice() -> None:
        client = build_client(ClientOptions(allow_private_networks=True))
        try:
            for _ in range(2):
                await fetch_feed(client, server.url("/feed"), FetchLimits())
        finally:
            await client.aclose()

    asyncio.run(twice())
    assert [r.headers.get("cookie") for r in server.requests] == [None, None]


@pytest.mark.parametrize(
    ("fast_paths", "through_send"), [(True, False), (False, True)], ids=["fast", "as-shipped"]
)
def test_the_switch_chooses_who_sends_the_request(
    server: LoopbackServer, through_send: bool
) -> None:
    # httpx runs a client's event hooks in `AsyncClient.send`; the fast path skips it.
    body = rss(BIOMETRIC_ITEMS)
    server.routes["/feed"] = serve(body)
    sent: list[httpx.URL] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request.url)

    async def go() -> object:
        client = build_client(ClientOptions(allow_private_networks=True))
        client.event_hooks = {"request": [record]}
        try:
            return await fetch_feed(client, server.url("/feed"), FetchLimits())
        finally:
            await client.aclose()

    result = asyncio.run(go())
    assert result.body == body  # type: ignore[attr-defined]
    assert sent == ([httpx.URL(server.url("/feed"))] if through_send else [])


@both_paths
def test_five_redirects_are_followed(server: LoopbackServer) -> None:
    for hop in range(5):
        server.routes[f"/hop{hop}"] = redirect(302, f"/hop{hop + 1}")
    server.routes["/hop5"] = serve(rss(BIOMETRIC_ITEMS))
    result = fetch(server.url("/hop0"))
    assert result.status == 200 and result.final_url == server.url("/hop5")  # type: ignore[attr-defined]


@both_paths
@pytest.mark.parametrize(
    "location",
    ["ftp://127.0.0.1/feed.xml", "file:///etc/passwd", "gopher://127.0.0.1/1"],
    ids=["ftp", "file", "gopher"],
)
def test_only_http_and_https_are_followed(server: LoopbackServer, location: str) -> None:
    server.routes["/feed"] = redirect(302, location)
    with pytest.raises(FetchError, match="only http and https"):
        fetch(server.url("/feed"))


@both_paths
def test_503_retry_after_is_honoured(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    server.routes["/feed"] = status(503, {"Retry-After": "5400"})
    [source_id] = add_sources(db, server.url("/feed"))
    run_poll(settings, db)
    source = source_state(db, source_id)
    assert source.next_poll_at is not None and source.last_polled_at is not None
    assert (source.next_poll_at - source.last_polled_at).total_seconds() >= 5400


def test_consecutive_failures_disable_the_source_and_success_resets_them(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    server.routes["/flaky"] = sequence([status(500), status(500), serve(rss(BIOMETRIC_ITEMS))])
    server.routes["/broken"] = status(500)
    flaky, broken = add_sources(db, server.url("/flaky"), server.url("/broken"))
    three = settings.model_copy(update={"max_consecutive_failures": 3})

    for _ in range(3):
        run_poll(three, db)

    assert source_state(db, flaky).consecutive_failures == 0
    assert len(articles_of(db, flaky)) == 3
    disabled = source_state(db, broken)
    assert disabled.consecutive_failures == 3 and disabled.disabled_at is not None
    assert disabled.disabled_reason == (
        "disabled after 3 consecutive failures; last: HTTP 500 Internal Server Error"
    )


def test_poll_parses_in_the_process_pool(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    server.routes["/feed"] = serve(rss(BIOMETRIC_ITEMS))
    [source_id] = add_sources(db, server.url("/feed"))
    with ParsePool(workers=2) as pool:
        summary = asyncio.run(poll_once(settings, db, everything=True, parse_executor=pool))
    assert summary.new_articles == 3 and summary.errors == 0
    assert len(articles_of(db, source_id)) == 3


_FIRST_POLL = """
import asyncio, gc, json, sys

from aggregator.ingest.parse_pool import ParsePool
from aggregator.service import open_database, poll_once
from aggregator.settings import Settings

settings = Settings(database_url=sys.argv[1], allow_private_networks=True)
db = open_database(settings)
before = {"frozen": gc.get_freeze_count(), "young": gc.get_threshold()[0]}
with ParsePool(workers=1) as pool:
    summary = asyncio.run(poll_once(settings, db, everything=True, parse_executor=pool))
    worker = pool.submit(gc.get_threshold).result(timeout=30)[0]
after = {"frozen": gc.get_freeze_count(), "young": gc.get_threshold()[0]}
print(json.dumps({"before": before, "after": after, "worker": worker,
                  "new_articles": summary.new_articles}))
"""


def test_the_first_poll_of_a_process_tunes_its_garbage_collector(
    database_url: str, db: Database, server: LoopbackServer
) -> None:
    """The first poll of a process sets the start-up heap aside from the garbage collector,
    and it and the workers collect the young generation less often. Seen in a fresh
    interpreter, where nothing has polled before."""
    server.routes["/feed"] = serve(rss(BIOMETRIC_ITEMS))
    add_sources(db, server.url("/feed"))

    ran = run_python(_FIRST_POLL, database_url)

    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    assert seen["new_articles"] == 3
    assert seen["before"]["frozen"] == 0 and seen["before"]["young"] != YOUNG_GENERATION_THRESHOLD
    assert seen["after"]["frozen"] > 0 and seen["after"]["young"] == YOUNG_GENERATION_THRESHOLD
    assert seen["worker"] == YOUNG_GENERATION_THRESHOLD


def test_parse_workers_run_this_checkouts_code() -> None:
    # Not a copy of the package installed from elsewhere (see `pytest_configure`).
    with ParsePool(workers=1) as pool:
        assert pool.submit(imported_from).result(timeout=30) == str(REPO)


def test_parse_pool_replaces_a_dead_worker() -> None:
    with ParsePool(workers=1) as pool:
        with pytest.raises(Exception, match="terminated abruptly"):
            pool.submit(os._exit, 1).result(timeout=30)
        assert pool.submit(pow, 2, 10).result(timeout=30) == 1024


def test_parse_pool_warm_up_starts_every_worker() -> None:
    with ParsePool(workers=2) as pool:
        pool.warm_up()
        started = {p.pid for p in pool._pool._processes.values() if p.is_alive()}
        assert len(started) == 2
        # The running workers answer; none is started anew for it.
        assert pool.submit(worker_ready, 0.0).result(timeout=30) in started


_FORKED_FROM_HERE = """
import os
from aggregator.ingest.parse_pool import ParsePool

with ParsePool(workers=1, fork=True) as pool:
    print(pool.submit(os.getppid).result(timeout=30) == os.getpid())
"""


def test_parse_pool_forks_its_workers_from_a_process_with_no_other_thread() -> None:
    # A fresh interpreter: this one may have other threads (a live app, training's).
    ran = run_python(_FORKED_FROM_HERE)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "True"


def test_parse_pool_never_forks_beside_another_thread_or_in_an_event_loop() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with ParsePool(workers=1, fork=True) as pool:
            # From the fork server, so the worker's parent is not this process.
            assert pool.submit(os.getppid).result(timeout=30) != os.getpid()
    finally:
        stop.set()
        other.join()

    async def in_a_loop() -> bool:
        return safe_to_fork()

    assert asyncio.run(in_a_loop()) is False


@both_paths
def test_a_refused_connection_is_not_called_a_timeout() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound but never listening: connections are refused
        with pytest.raises(FetchError, match="^could not connect: ") as raised:
            fetch(f"http://127.0.0.1:{port}/feed")
    assert "timed out" not in str(raised.value)
