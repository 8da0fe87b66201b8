"""Parses reach the pool alone while it has room, several to a task while it is busy, and
each body's result (or fault) is its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from aggregator.classify.evaluation import read_rows
from aggregator.classify.training import train
from aggregator.classify.types import Example
from aggregator.errors import ParseError
from aggregator.ingest import parse_pool
from aggregator.ingest.parse_batching import ParseBatcher
from aggregator.ingest.parse_pool import ParseJob, PreparedFeed, prepare_feed, prepare_feeds
from tests.fixtures.feeds import BIOMETRIC_ITEMS, Item, recent, rss

SMALL = Path(__file__).resolve().parents[2] / "fixtures" / "classifier-small.jsonl"
TOPICS = ["airports-travel", "payments-finance", "research-standards"]
MODEL_ID = 7
URL = "https://feeds.example/feed"


@pytest.fixture(scope="module")
def model() -> Iterator[int]:
    rows = [r for r in read_rows(SMALL) if r.split == "train"]
    classifier, _ = train([Example(r.title, r.text, r.labels) for r in rows], TOPICS)
    parse_pool.install_model(MODEL_ID, classifier.to_bytes())
    yield MODEL_ID
    parse_pool.uninstall_model()


def _feed(number: int) -> bytes:
    return rss([Item(f"Airport {number} opens face boarding gates", f"https://e.org/{number}",
                     summary="Passengers board with a selfie at the gate.",
                     published=recent(number))])  # fmt: skip


def test_a_batch_gives_each_body_what_it_would_get_alone(model: int) -> None:
    jobs = [
        ParseJob(URL, rss(BIOMETRIC_ITEMS), None, model),
        ParseJob(URL, b"<html><body>not a feed</body></html>", None, model),
        ParseJob(URL, _feed(1), None, None),  # parsed, not tagged
        ParseJob(URL, _feed(2), None, model),
    ]
    results = prepare_feeds(jobs)
    assert isinstance(results[1], ParseError)
    assert str(results[1]) == "the server returned an HTML page, not a feed"
    for job, result in zip(jobs, results, strict=True):
        if job is jobs[1]:
            continue
        alone = prepare_feed(job.url, job.body, job.headers, job.model_id)
        assert isinstance(result, PreparedFeed)
        assert result.tags == alone.tags and result.model_id == alone.model_id
        assert [e.title for e in result.feed.entries] == [e.title for e in alone.feed.entries]
    assert results[0].tags and results[3].tags  # type: ignore[union-attr]
    assert results[2].tags is None  # type: ignore[union-attr]


class _CountingPool(ThreadPoolExecutor):
    """A real thread pool that counts its tasks and can be held busy."""

    workers = 1

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.batches: list[int] = []
        self.gate = threading.Event()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.batches.append(len(args[0]))

        def held() -> Any:
            self.gate.wait(timeout=30)
            return fn(*args, **kwargs)

        return super().submit(held)


def test_a_busy_pool_gets_the_waiting_bodies_together() -> None:
    pool = _CountingPool()

    async def run() -> list[PreparedFeed | BaseException]:
        batcher = ParseBatcher(pool, max_batch=4)
        jobs = [ParseJob(URL, _feed(n)) for n in range(10)]
        jobs.insert(5, ParseJob(URL, b""))  # one body that cannot be read
        parses = [asyncio.ensure_future(batcher.prepare(job)) for job in jobs]
        await asyncio.sleep(0.05)  # every parse has arrived; the pool is still held
        pool.gate.set()
        return await asyncio.gather(*parses, return_exceptions=True)

    with pool:
        results = asyncio.run(run())
    # Two tasks fill the pool (one running, one waiting); the other nine bodies waited
    # and went four, four and one to a task.
    assert pool.batches == [1, 1, 4, 4, 1]
    assert isinstance(results[5], ParseError)
    titles = [r.feed.entries[0].title for r in results if isinstance(r, PreparedFeed)]
    assert titles == [f"Airport {n} opens face boarding gates" for n in range(10)]


def test_an_idle_pool_gets_each_body_at_once() -> None:
    pool = _CountingPool()
    pool.gate.set()

    async def run() -> None:
        batcher = ParseBatcher(pool)
        for n in range(3):
            await batcher.prepare(ParseJob(URL, _feed(n)))

    with pool:
        asyncio.run(run())
    assert pool.batches == [1, 1, 1]


def test_bodies_waiting_for_a_pool_that_takes_no_more_work_fail_instead_of_waiting() -> None:
    # A pool that cannot start its workers (a fork server that died) refuses new tasks:
    # the bodies waiting to be sent must fail, or the poll waits for them for ever.
    pool = _CountingPool()

    async def run() -> list[PreparedFeed | BaseException]:
        batcher = ParseBatcher(pool, max_batch=4)
        parses = [asyncio.ensure_future(batcher.prepare(ParseJob(URL, _feed(n)))) for n in range(6)]
        await asyncio.sleep(0.05)  # two bodies sent, four waiting; the pool is held
        pool.shutdown(wait=False)
        pool.gate.set()
        return await asyncio.wait_for(asyncio.gather(*parses, return_exceptions=True), 10)

    results = asyncio.run(run())
    assert all(isinstance(r, PreparedFeed) for r in results[:2])
    assert all(
        isinstance(r, ParseError) and "cannot schedule new futures after shutdown" in str(r)
        for r in results[2:]
    ), results


def test_a_task_that_fails_fails_each_of_its_bodies() -> None:
    class Broken(ThreadPoolExecutor):
        workers = 1

        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            return super().submit(_crash)

    async def run() -> list[BaseException | PreparedFeed]:
        batcher = ParseBatcher(pool)
        return await asyncio.gather(
            *(batcher.prepare(ParseJob(URL, _feed(n))) for n in range(2)),
            return_exceptions=True,
        )

    with Broken(max_workers=1) as pool:
        results = asyncio.run(run())
    assert all(isinstance(r, ParseError) and "the parser failed" in str(r) for r in results)


def _crash() -> None:
    raise RuntimeError("worker lost")
