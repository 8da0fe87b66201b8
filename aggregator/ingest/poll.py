"""Polling: refresh every due source, concurrently, each refresh its own transaction.

`poll` runs many refreshes under a global and a per-host concurrency limit, fetching on the
event loop, parsing in an executor (a process pool in production) and writing through one
database thread (`writer`). Each refresh ends in a value (`refresh.refresh_source`), which
`schedule.decide` turns into the source's new state; the writer stores both, and runs the
after-store hooks on the new articles.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from aggregator.ingest.fetch import FeedClient, FetchLimits
from aggregator.ingest.hooks import AfterStoreHook
from aggregator.ingest.parse_batching import ParseBatcher
from aggregator.ingest.refresh import refresh_source
from aggregator.ingest.results import Changed, Failed, RefreshResult, SourceSnapshot
from aggregator.ingest.schedule import PollPolicy, ScheduleBounds, decide
from aggregator.ingest.storage import RefreshWrite, due_sources
from aggregator.ingest.writer import Writer
from models import session_scope

log = logging.getLogger("biowire.poll")


@dataclass(frozen=True)
class PollOptions:
    limits: FetchLimits = field(default_factory=FetchLimits)
    bounds: ScheduleBounds = field(default_factory=ScheduleBounds)
    concurrency: int = 64
    per_host_concurrency: int = 4
    max_consecutive_failures: int = 10

    @property
    def policy(self) -> PollPolicy:
        return PollPolicy(self.bounds, self.max_consecutive_failures)


@dataclass
class RefreshOutcome:
    """How one source's refresh went, for the poll's summary and progress."""

    source_id: int
    url: str
    status: int | None = None
    new_articles: int = 0
    bytes: int = 0
    error: str | None = None
    seconds: float = 0.0
    unchanged: bool = False
    new_article_ids: list[int] = field(default_factory=list)


@dataclass(repr=False)
class PollSummary:
    outcomes: list[RefreshOutcome] = field(default_factory=list)
    seconds: float = 0.0
    # Why the new articles were stored untagged, if they were (the model cannot be loaded).
    untagged_reason: str | None = None

    def __repr__(self) -> str:
        # Counts, not every outcome: asyncio formats the result of a task that `asyncio.run`
        # ran, and a poll of thousands of sources would print (and pay for) them all.
        return (
            f"PollSummary(sources={len(self.outcomes)}, new_articles={self.new_articles}, "
            f"errors={self.errors}, seconds={self.seconds:.2f})"
        )

    @property
    def new_articles(self) -> int:
        return sum(o.new_articles for o in self.outcomes)

    @property
    def errors(self) -> int:
        return sum(1 for o in self.outcomes if o.error)


async def poll(
    factory: sessionmaker[Session],
    client: FeedClient,
    options: PollOptions,
    everything: bool = False,
    parse_executor: Executor | None = None,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
    model_id: int | None = None,
    hooks: Sequence[AfterStoreHook] = (),
) -> PollSummary:
    """Refresh every due source (every enabled one with `everything`) once. With
    `model_id`, new sources' entries are tagged by that model as they are parsed (see
    `parse_pool`); `hooks` run on every group of new articles as it is stored."""
    started = time.perf_counter()
    with session_scope(factory) as session:
        sources = due_sources(session, datetime.now(UTC), everything)
    overall = asyncio.Semaphore(options.concurrency)
    per_host: dict[str, asyncio.Semaphore] = defaultdict(
        lambda: asyncio.Semaphore(options.per_host_concurrency)
    )
    writer = Writer(factory, asyncio.get_running_loop(), hooks)
    parser = ParseBatcher(parse_executor)
    summary = PollSummary()

    async def run(source: SourceSnapshot) -> None:
        refresh_started = 0.0
        # Host first: a refresh queued behind its host's limit must not hold a global slot
        # that a refresh of another host could use.
        limits = (per_host[_host(source.url)], overall)
        try:
            held: list[asyncio.Semaphore] = []
            try:
                for limit in limits:
                    await limit.acquire()
                    held.append(limit)
                refresh_started = time.perf_counter()
                # A source read for the first time brings all its entries as new articles:
                # they are tagged as they are parsed. Later reads bring a few new entries
                # among many known ones, which are not worth classifying again: the
                # tagging hook tags those few as they are stored.
                tag_with = model_id if source.body_hash is None else None
                result = await refresh_source(client, source, options.limits, parser, tag_with)
            finally:
                # Waiting for the database need not keep another refresh from fetching.
                for limit in held:
                    limit.release()
            outcome = await _store(writer, source, result, options.policy)
        except Exception as error:  # one source's bug must not end the run
            log.exception("refresh failed unexpectedly", extra={"source": source.url})
            outcome = RefreshOutcome(source.id, source.url, error=f"internal error: {error!r}")
        outcome.seconds = time.perf_counter() - refresh_started
        _log_outcome(outcome)
        summary.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    try:
        await asyncio.gather(*(run(source) for source in sources))
    finally:
        # Off the loop: the last group may still be committing, and in the server the
        # loop also answers web requests.
        await asyncio.to_thread(writer.close)
    summary.seconds = time.perf_counter() - started
    return summary


async def _store(
    writer: Writer, source: SourceSnapshot, result: RefreshResult, policy: PollPolicy
) -> RefreshOutcome:
    """Write the refresh's result and the source's new state; entries that cannot be stored
    are recorded on the source as its failure."""
    outcome = RefreshOutcome(source.id, source.url, result.status, bytes=result.size)
    update = decide(result, source, policy, datetime.now(UTC))
    try:
        stored = await writer.submit(RefreshWrite(source, result, update))
    except Exception as error:
        if not isinstance(result, Changed):
            raise
        # Rolled back; recorded on the source so it is seen.
        failed = Failed(f"could not store the entries: {error!r}"[:2000], result.status)
        update = decide(failed, source, policy, datetime.now(UTC))
        await writer.submit(RefreshWrite(source, failed, update))
        result, stored = failed, None
    if isinstance(result, Failed):
        outcome.error = result.reason
    elif isinstance(result, Changed) and stored is not None:
        outcome.new_articles, outcome.new_article_ids = stored.new, stored.new_article_ids
    else:
        outcome.unchanged = True
    return outcome


@functools.lru_cache(maxsize=16384)
def _host(url: str) -> str:
    """The host a source's URL names, for the per-host limit (a poll asks for the same
    URLs every time)."""
    return (urlsplit(url).hostname or "").lower()


def _log_outcome(outcome: RefreshOutcome) -> None:
    log.info(
        "refreshed source",
        extra={
            "source_id": outcome.source_id, "source": outcome.url, "status": outcome.status,
            "bytes": outcome.bytes, "unchanged": outcome.unchanged,
            "new_articles": outcome.new_articles, "duration_ms": round(outcome.seconds * 1000),
            "error": outcome.error,
        },
    )  # fmt: skip
