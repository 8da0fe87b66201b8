"""Polling: refresh every due source, concurrently, each refresh its own transaction.

`refresh_source` tells one source's story from top to bottom; `poll` runs many of them under
a global and a per-host concurrency limit, fetching on the event loop, parsing in an
executor (a process pool in production) and writing through one database thread
(`aggregator.ingest.writer`).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import urlsplit

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Table,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from aggregator.classify.model import Classifier
from aggregator.classify.tagging import insert_model_tags, mark_classified
from aggregator.classify.types import Document
from aggregator.errors import BiowireError, FetchError, HTTPStatusError, ParseError
from aggregator.ingest.fetch import (
    FeedClient,
    FetchLimits,
    FetchResult,
    cache_lifetime_seconds,
    fetch_feed,
)
from aggregator.ingest.parse import ParsedEntry, ParsedFeed
from aggregator.ingest.parse_batching import ParseBatcher
from aggregator.ingest.parse_pool import ParseJob, installed_classifier
from aggregator.ingest.schedule import (
    ScheduleBounds,
    interval_after_failure,
    interval_after_success,
    next_poll,
)
from aggregator.ingest.storage import EntryTags, store_entries
from aggregator.ingest.writer import RowWrite, Write, Writer, apply_write, defer_row
from models import Source, Topic, session_scope

log = logging.getLogger("biowire.poll")
# The table itself, for the UPDATEs a poll makes by the thousand (no ORM bookkeeping).
_SOURCES = cast(Table, Source.__table__)


@dataclass(frozen=True)
class PollOptions:
    limits: FetchLimits = field(default_factory=FetchLimits)
    bounds: ScheduleBounds = field(default_factory=ScheduleBounds)
    concurrency: int = 64
    per_host_concurrency: int = 4
    max_consecutive_failures: int = 10


@dataclass(frozen=True)
class SourceSnapshot:
    """What a refresh needs to know about its source, read before the fetch starts."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    consecutive_failures: int
    poll_interval_seconds: int | None = None


@dataclass(frozen=True)
class Tagging:
    """The model the parse workers tag new sources' entries with, and the topics' ids;
    with its classifier, the writer tags the other sources' new entries as it stores them
    (see `_tag_stored`)."""

    model_id: int
    topic_ids: dict[str, int]
    classifier: Classifier | None = None


# In a writer session's `info`: the ids of articles stored untagged, and their documents.
_UNTAGGED = "biowire.untagged"


def _queue_for_tagging(
    session: Session, article_ids: list[int], entries: list[ParsedEntry]
) -> None:
    ids, documents = session.info.setdefault(_UNTAGGED, ([], []))
    ids.extend(article_ids)
    documents.extend(Document(e.title, e.text) for e in entries)


def _tag_stored(tagging: Tagging, session: Session) -> None:
    """Tag, in one pass of the classifier, the articles a group of writes stored untagged
    (the new entries of sources read before, which the parse workers do not tag: they
    cannot tell them from the entries already stored). Done here, they are tagged as they
    are stored, and the pass after the poll, alone on one core, has nothing left to do."""
    ids, documents = session.info.pop(_UNTAGGED, ([], []))
    if not ids or tagging.classifier is None:
        return
    tags = tagging.classifier.predict(documents)
    with session.begin_nested():
        insert_model_tags(session, tagging.model_id, tagging.topic_ids, zip(ids, tags, strict=True))
        mark_classified(session, ids, tagging.model_id)


@dataclass
class RefreshOutcome:
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


def due_sources(session: Session, now: datetime, everything: bool = False) -> list[SourceSnapshot]:
    """The sources a poll at `now` refreshes: the enabled ones that are due (all the enabled
    ones with `everything`)."""
    query = (
        select(Source.id, Source.url, Source.etag, Source.last_modified, Source.body_hash,
               Source.consecutive_failures, Source.poll_interval_seconds)
        .where(*_due(now, everything))
        .order_by(Source.id)
    )  # fmt: skip
    return [SourceSnapshot(*row) for row in session.execute(query)]


def count_due_sources(session: Session, now: datetime, everything: bool = False) -> int:
    """How many sources `due_sources` would give."""
    query = select(func.count()).select_from(Source).where(*_due(now, everything))
    return session.scalar(query) or 0


def _due(now: datetime, everything: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Source.disabled_at.is_(None)]
    if not everything:
        conditions.append(or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now))
    return conditions


async def poll(
    factory: sessionmaker[Session],
    client: FeedClient,
    options: PollOptions,
    everything: bool = False,
    parse_executor: Executor | None = None,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
    model_id: int | None = None,
) -> PollSummary:
    """Refresh every due source (every enabled one with `everything`) once. With
    `model_id`, new sources' entries are tagged by that model as they are parsed (see
    `aggregator.ingest.parse_pool`)."""
    started = time.perf_counter()
    with session_scope(factory) as session:
        sources = due_sources(session, datetime.now(UTC), everything)
        tagging = None
        if model_id is not None:
            topic_ids = {slug: id_ for slug, id_ in session.execute(select(Topic.slug, Topic.id))}
            tagging = Tagging(model_id, topic_ids, installed_classifier(model_id))
    overall = asyncio.Semaphore(options.concurrency)
    per_host: dict[str, asyncio.Semaphore] = defaultdict(
        lambda: asyncio.Semaphore(options.per_host_concurrency)
    )
    writer = Writer(
        factory,
        asyncio.get_running_loop(),
        before_commit=functools.partial(_tag_stored, tagging) if tagging else None,
    )
    parser = ParseBatcher(parse_executor)
    summary = PollSummary()

    async def run(source: SourceSnapshot) -> None:
        host = _host(source.url)
        # Host first: a refresh queued behind its host's limit must not hold a global slot
        # that a refresh of another host could use.
        held: list[asyncio.Semaphore] = []

        def release() -> None:
            while held:
                held.pop().release()

        try:
            for limit in (per_host[host], overall):
                await limit.acquire()
                held.append(limit)
            outcome = await refresh_source(
                factory, client, source, options, parser, writer, tagging, release
            )
        except Exception as error:  # one source's bug must not end the run
            log.exception("refresh failed unexpectedly", extra={"source": source.url})
            outcome = RefreshOutcome(source.id, source.url, error=f"internal error: {error!r}")
        finally:
            release()
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


@functools.lru_cache(maxsize=16384)
def _host(url: str) -> str:
    """The host a source's URL names, for the per-host limit (a poll asks for the same
    URLs every time)."""
    return (urlsplit(url).hostname or "").lower()


async def refresh_source(
    factory: sessionmaker[Session],
    client: FeedClient,
    source: SourceSnapshot,
    options: PollOptions,
    parser: ParseBatcher,
    writer: Writer | None = None,
    tagging: Tagging | None = None,
    release_limits: Callable[[], None] | None = None,
) -> RefreshOutcome:
    """Fetch (conditionally), parse, store and schedule one source. Never raises for the
    source's own faults: they are recorded on the source and returned in the outcome.
    `release_limits` is called once the server and the parser are done with it: waiting
    for the database need not keep another refresh from fetching."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    outcome = RefreshOutcome(source.id, source.url)

    def finish(write: Write) -> asyncio.Future[None]:
        if release_limits is not None:
            release_limits()
        if writer is not None:
            return writer.submit(write)

        def transaction() -> None:
            with session_scope(factory) as session:
                apply_write(session, write, datetime.now(UTC))

        return loop.run_in_executor(None, transaction)

    try:
        response = await fetch_feed(
            client, source.url, options.limits, source.etag, source.last_modified
        )
    except FetchError as error:
        outcome.status = getattr(error, "status", None)
        outcome.error = str(error)
        fetch_failure: BiowireError = error
        await finish(lambda s, now: _record_failure(s, source, fetch_failure, None, options, now))
        return _done(outcome, started)

    outcome.status = response.status
    outcome.bytes = len(response.body)
    body_hash = hashlib.sha256(response.body).hexdigest() if response.body else None
    if response.not_modified or (body_hash and body_hash == source.body_hash):
        # RFC 9110 §15.4.5: 304 means our copy is current; an identical body means the same.
        outcome.unchanged = True
        await finish(_record_unchanged(source, response, options, datetime.now(UTC)))
        return _done(outcome, started)

    # A source read for the first time brings all its entries as new articles: tag them as
    # they are parsed. Later reads bring a few new entries among many known ones, which
    # are not worth classifying again: the writer tags those few as it stores them.
    tag_with = tagging.model_id if tagging is not None and source.body_hash is None else None
    try:
        prepared = await parser.prepare(
            ParseJob(response.final_url, response.body, response.headers, tag_with)
        )
    except ParseError as error:
        parse_failure = error
        outcome.error = str(parse_failure)
        await finish(
            lambda s, now: _record_failure(s, source, parse_failure, response, options, now)
        )
        return _done(outcome, started)

    parsed = prepared.feed
    tags = None
    if tagging is not None and prepared.tags is not None:
        tags = EntryTags(tagging.model_id, tagging.topic_ids, prepared.tags)

    def store(session: Session, now: datetime) -> None:
        stored = store_entries(session, source.id, parsed.entries, now, tags)
        if tags is None and tagging is not None and tagging.classifier is not None and stored.new:
            _queue_for_tagging(session, stored.new_article_ids, stored.new_entries)
        outcome.new_articles = stored.new
        outcome.new_article_ids = stored.new_article_ids
        _record_success(session, source, response, parsed, body_hash, stored.new, options, now)

    try:
        await finish(store)
    except Exception as error:  # rolled back; recorded so it is seen
        outcome.new_articles, outcome.new_article_ids = 0, []
        store_failure = BiowireError(f"could not store the entries: {error!r}"[:2000])
        outcome.error = str(store_failure)
        await finish(
            lambda s, now: _record_failure(s, source, store_failure, response, options, now)
        )
    return _done(outcome, started)


def _done(outcome: RefreshOutcome, started: float) -> RefreshOutcome:
    outcome.seconds = time.perf_counter() - started
    log.info(
        "refreshed source",
        extra={
            "source_id": outcome.source_id, "source": outcome.url, "status": outcome.status,
            "bytes": outcome.bytes, "unchanged": outcome.unchanged,
            "new_articles": outcome.new_articles, "duration_ms": round(outcome.seconds * 1000),
            "error": outcome.error,
        },
    )  # fmt: skip
    return outcome


def _server_min_interval(response: FetchResult, parsed: ParsedFeed | None, now: datetime) -> int:
    hints = [cache_lifetime_seconds(response.headers, now) or 0]
    if parsed and parsed.suggested_interval:
        hints.append(parsed.suggested_interval)
    return max(hints)


def _column_param(name: str) -> BindParameter[object]:
    return bindparam(f"p_{name}", type_=_SOURCES.c[name].type)


# One statement for every successful parse, its compiled form reused (a cold poll makes
# thousands). The feed's title and site URL fill in what the source lacks or had.
_SUCCESS_COLUMNS = (
    "etag", "last_modified", "body_hash", "last_status", "last_polled_at", "last_new_articles",
    "last_error", "last_error_at", "poll_interval_seconds", "next_poll_at",
)  # fmt: skip
_RECORD_SUCCESS = (
    update(_SOURCES)
    .where(_SOURCES.c.id == bindparam("p_id"))
    .values(
        **{name: _column_param(name) for name in _SUCCESS_COLUMNS},
        consecutive_failures=0,
        title=case(
            (
                or_(_SOURCES.c.title.is_(None), _SOURCES.c.title == ""),
                func.coalesce(_column_param("title"), _SOURCES.c.title),
            ),
            else_=_SOURCES.c.title,
        ),  # fmt: skip
        site_url=func.coalesce(_column_param("site_url"), _SOURCES.c.site_url),
    )
)


def _record_success(
    session: Session,
    snapshot: SourceSnapshot,
    response: FetchResult,
    parsed: ParsedFeed,
    body_hash: str | None,
    new_articles: int,
    options: PollOptions,
    now: datetime,
) -> None:
    interval = interval_after_success(
        [e.published_at for e in parsed.entries],
        options.bounds,
        _server_min_interval(response, parsed, now),
    )
    defer_row(
        session,
        _RECORD_SUCCESS,
        {
            "p_id": snapshot.id,
            "p_etag": response.headers.get("etag"),
            "p_last_modified": response.headers.get("last-modified"),
            "p_body_hash": body_hash,
            "p_last_status": response.status,
            "p_last_polled_at": now,
            "p_last_new_articles": new_articles,
            "p_last_error": parsed.warning,
            "p_last_error_at": now if parsed.warning else None,
            "p_poll_interval_seconds": interval,
            "p_next_poll_at": next_poll(now, interval),
            "p_title": parsed.title[:500] if parsed.title else None,
            "p_site_url": parsed.site_url[:2048] if parsed.site_url else None,
        },
    )
    _follow_permanent_redirect(session, snapshot.id, response)


# Most refreshes of a warm poll end here, so the writer runs them all as one statement.
_RECORD_UNCHANGED = (
    update(_SOURCES)
    .where(_SOURCES.c.id == bindparam("p_id"))
    .values(
        last_status=bindparam("p_status", type_=_SOURCES.c.last_status.type),
        last_polled_at=bindparam("p_polled_at", type_=_SOURCES.c.last_polled_at.type),
        next_poll_at=bindparam("p_next_poll_at", type_=_SOURCES.c.next_poll_at.type),
        last_new_articles=0,
        consecutive_failures=0,
        last_error=null(),
        last_error_at=null(),
        # A 304 may carry a fresh validator; keep the old one if it does not.
        etag=func.coalesce(bindparam("p_etag", type_=_SOURCES.c.etag.type), _SOURCES.c.etag),
        last_modified=func.coalesce(
            bindparam("p_last_modified", type_=_SOURCES.c.last_modified.type),
            _SOURCES.c.last_modified,
        ),
    )
)


def _record_unchanged(
    snapshot: SourceSnapshot, response: FetchResult, options: PollOptions, now: datetime
) -> Write:
    interval = max(
        snapshot.poll_interval_seconds or options.bounds.min_interval,
        options.bounds.server_hint(_server_min_interval(response, None, now)),
    )
    params: dict[str, object] = {
        "p_id": snapshot.id,
        "p_status": response.status,
        "p_polled_at": now,
        "p_next_poll_at": next_poll(now, interval),
        "p_etag": response.headers.get("etag"),
        "p_last_modified": response.headers.get("last-modified"),
    }
    if response.moved_permanently_to is None:
        return RowWrite(_RECORD_UNCHANGED, params)

    def record_and_move(session: Session, _now: datetime) -> None:
        session.execute(_RECORD_UNCHANGED, [params])
        _follow_permanent_redirect(session, snapshot.id, response)

    return record_and_move


def _record_failure(
    session: Session,
    snapshot: SourceSnapshot,
    error: BiowireError,
    response: FetchResult | None,
    options: PollOptions,
    now: datetime,
) -> None:
    source = session.get_one(Source, snapshot.id)
    status = error.status if isinstance(error, HTTPStatusError) else None
    source.last_status = status or (response.status if response else None)
    source.last_polled_at = now
    source.last_new_articles = 0
    source.last_error = str(error)
    source.last_error_at = now
    source.consecutive_failures = (source.consecutive_failures or 0) + 1
    retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
    if status == 410:
        # RFC 9110 §15.5.11: gone for good; polling again would only bother the server.
        source.disabled_at = now
        source.disabled_reason = "the server says the feed is gone (HTTP 410)"
    elif source.consecutive_failures >= options.max_consecutive_failures:
        source.disabled_at = now
        source.disabled_reason = (
            f"disabled after {source.consecutive_failures} consecutive failures; last: {error}"
        )
    interval = interval_after_failure(source.consecutive_failures, options.bounds, retry_after)
    source.poll_interval_seconds = interval
    source.next_poll_at = next_poll(now, interval)


def _follow_permanent_redirect(session: Session, source_id: int, response: FetchResult) -> None:
    """Move the source to where every hop of a 301/308 chain led, unless another source
    already has that URL."""
    new_url = response.moved_permanently_to
    if new_url is None:
        return
    taken = session.scalar(select(Source.id).where(Source.url == new_url, Source.id != source_id))
    if taken is None:
        session.execute(update(_SOURCES).where(_SOURCES.c.id == source_id).values(url=new_url))


def schedule_now(session: Session, source_ids: list[int] | None = None) -> None:
    query = select(Source)
    if source_ids:
        query = query.where(Source.id.in_(source_ids))
    for source in session.scalars(query):
        source.next_poll_at = datetime.now(UTC) - timedelta(seconds=1)


__all__ = ["PollOptions", "PollSummary", "RefreshOutcome", "poll", "refresh_source"]
