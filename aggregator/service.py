"""Use cases shared by the CLI and the server: open the database, poll, classify.

Each function takes the settings and builds what it needs, so the CLI stays a thin shell.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, ParamSpec, TypeVar

from joblib.externals.loky import get_reusable_executor
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from aggregator.database import require_current_schema, upgrade_database
from aggregator.fetch import ClientOptions, FetchLimits, build_client
from aggregator.poll import PollOptions, PollSummary, RefreshOutcome, poll
from aggregator.prepare import (
    collect_garbage_less_often,
    install_model,
    start_worker,
    worker_ready,
)
from aggregator.schedule import ScheduleBounds
from aggregator.settings import Settings
from aggregator.tagging import active_model, classify_pending, ensure_model
from aggregator.taxonomy import default_taxonomy, sync_topics
from models import make_engine, make_session_factory, session_scope

log = logging.getLogger("biowire.service")


@dataclass
class Database:
    engine: Engine
    factory: sessionmaker[Session]

    def close(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, migrate: bool = False) -> Database:
    """Connect; with `migrate`, bring the schema to head first, else insist it is there."""
    if migrate:
        upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    require_current_schema(engine)
    database = Database(engine, make_session_factory(engine))
    with session_scope(database.factory) as session:
        sync_topics(session, default_taxonomy())
    return database


def poll_options(settings: Settings) -> PollOptions:
    return PollOptions(
        limits=FetchLimits(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            total_timeout=settings.total_timeout,
            max_body_bytes=settings.max_body_bytes,
            max_redirects=settings.max_redirects,
        ),
        bounds=ScheduleBounds(
            settings.min_poll_interval, settings.max_poll_interval, settings.max_server_interval
        ),
        concurrency=settings.concurrency,
        per_host_concurrency=settings.per_host_concurrency,
        max_consecutive_failures=settings.max_consecutive_failures,
    )


P = ParamSpec("P")
T = TypeVar("T")


class ParsePool(Executor):
    """A process per core for parsing, which is CPU work: it stays off the event loop and
    uses every core.

    Workers come from a fork server, which has to import feedparser, nh3 and
    scikit-learn before it forks the first (about a second). With `fork`, a pool made
    while its process has no other thread and no event loop (a command, before it starts
    either) forks its first workers from that process instead, ready in milliseconds
    with everything imported. Only then: forking a process that has other threads (the
    database writer, the resolver's) can copy a lock another thread holds and deadlock
    the child, and the child of a process whose event loop handles signals would pass
    the signals it receives on to that loop. If a worker dies (a parser crash, the OOM
    killer), the refreshes in flight fail and are recorded, and the pool is replaced,
    from the fork server, so the rest of the run still parses.
    """

    def __init__(
        self,
        workers: int | None = None,
        model: tuple[int, bytes] | None = None,
        fork: bool = False,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._lock = threading.Lock()
        self._model = model  # (id, blob) of the model the workers tag with
        self._pool = self._start(fork=fork and safe_to_fork())

    def _start(self, fork: bool = False) -> ProcessPoolExecutor:
        if fork:
            pool = self._executor(multiprocessing.get_context("fork"))
            # Now, while it is still safe: a fork pool starts all its workers with its
            # first task.
            list(pool.map(worker_ready, [0.0] * self.workers))
            return pool
        context = multiprocessing.get_context("forkserver")
        # Workers then fork from a server that has feedparser, nh3 and scikit-learn
        # imported already.
        context.set_forkserver_preload(["aggregator.prepare"])
        return self._executor(context)

    def _executor(self, context: BaseContext) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=start_worker,
            initargs=self._model or (),
        )

    def use_model(self, model_id: int, blob: bytes) -> None:
        """Let the workers tag with this model: each loads it once, when it starts. A new
        model replaces the workers (between polls, when none is busy)."""
        with self._lock:
            if self._model is not None and self._model[0] == model_id and self._model[1] == blob:
                return
            self._model = (model_id, blob)
            self._pool.shutdown(wait=True)
            self._pool = self._start()

    def warm_up(self) -> None:
        """Start every worker now, each with the model loaded, rather than as the first
        parses arrive: for a caller that wants the first parses fast, or times what
        follows without the start-up."""
        with self._lock:
            pool = self._pool
        # Tasks that overlap in time, so each lands on its own worker.
        list(pool.map(worker_ready, [0.05] * self.workers))

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._lock:
            try:
                return self._pool.submit(fn, *args, **kwargs)
            except BrokenProcessPool:
                log.warning("parse pool broken; starting a new one")
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start()
                return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown(wait=True)


def client_options(settings: Settings) -> ClientOptions:
    return ClientOptions(
        concurrency=settings.concurrency,
        allow_private_networks=settings.allow_private_networks,
        allowed_networks=tuple(settings.allowed_networks.split(",")),
    )


def safe_to_fork() -> bool:
    """No other thread, and no event loop running in this one (see `ParsePool`); and a
    platform where forking is safe at all (not macOS, whose system libraries are not)."""
    if sys.platform == "darwin" or "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return threading.active_count() == 1
    return False


def parse_pool(database: Database | None = None, fork: bool = False) -> ParsePool:
    """The parse pool a poll run uses; close it (or use it as a context manager) after.
    Given the database, its workers start with the active model loaded; `fork` as in
    `ParsePool`."""
    model = _active_model(database) if database is not None else None
    return ParsePool(model=model, fork=fork)


_heap_frozen = False


def _tune_garbage_collection() -> None:
    """Once a process has started (modules, the model, SQLAlchemy's caches), set what is
    alive aside from the cyclic garbage collector, which would otherwise scan it on every
    full collection: those cost a twentieth of the poller's CPU in a cold poll of 2,000
    sources. Done once, before the first poll: later polls' objects are collected as ever,
    the young ones less often (see `collect_garbage_less_often`).
    """
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()  # garbage is freed, not frozen
        gc.freeze()
        collect_garbage_less_often()
        _heap_frozen = True


async def poll_once(
    settings: Settings,
    database: Database,
    everything: bool = False,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
    parse_executor: Executor | None = None,
) -> PollSummary:
    model_id = _tag_with_active_model(database, parse_executor)
    _tune_garbage_collection()
    client = build_client(client_options(settings))
    try:
        return await poll(
            database.factory,
            client,
            poll_options(settings),
            everything=everything,
            parse_executor=parse_executor,
            on_outcome=on_outcome,
            model_id=model_id,
        )
    finally:
        await client.aclose()


def _active_model(database: Database) -> tuple[int, bytes] | None:
    with session_scope(database.factory) as session:
        model = active_model(session)
        return None if model is None else (model.id, model.blob)


def _tag_with_active_model(database: Database, parse_executor: Executor | None) -> int | None:
    """Give the parse workers the active model, so new sources' articles are stored tagged,
    and this process too, whose writer tags known sources' new articles as it stores them;
    without one, articles are stored untagged and `classify_new` trains one and tags them."""
    model = _active_model(database)
    if model is None:
        return None
    model_id, blob = model
    if isinstance(parse_executor, ParsePool):
        parse_executor.use_model(model_id, blob)
    install_model(model_id, blob)  # loaded once a process: kept while it is the active one
    return model_id


def ensure_active_model(database: Database, on_training: Callable[[], None] | None = None) -> bool:
    """Train and activate a model from the seed set if the database has none (a first
    run), so that the parse workers tag a first poll's articles as they parse them rather
    than leaving them all to a pass afterwards. Returns whether one was trained;
    `on_training` is called first if so."""
    with session_scope(database.factory) as session:
        if active_model(session) is not None:
            return False
        if on_training:
            on_training()
        ensure_model(session, default_taxonomy())
    # Training's worker processes would idle on for minutes, and their threads would keep
    # a poll's parse pool from forking its workers (see `ParsePool`).
    get_reusable_executor().shutdown(wait=True)
    return True


def classify_new(database: Database, on_batch: Callable[[int], None] | None = None) -> int:
    """Tag every article the active model has not seen (training one on first use)."""
    with session_scope(database.factory) as session:
        model, classifier = ensure_model(session, default_taxonomy())
        return classify_pending(session, model, classifier, on_batch=on_batch)


async def poll_forever(settings: Settings, database: Database) -> None:
    """Poll what is due every `scheduler_tick` seconds until cancelled. A database with no
    model gets one first, so that the first poll's articles are tagged as they are parsed."""
    try:
        await asyncio.to_thread(ensure_active_model, database)
    except Exception:  # polling goes on; `classify_new` tries again after each poll
        log.exception("could not train the first topic model")
    with parse_pool() as pool:
        await _poll_on_schedule(settings, database, pool)


async def _poll_on_schedule(settings: Settings, database: Database, pool: Executor) -> None:
    while True:
        try:
            summary = await poll_once(settings, database, parse_executor=pool)
            tagged = await asyncio.to_thread(classify_new, database) if summary.outcomes else 0
            if summary.outcomes:
                log.info(
                    "poll cycle",
                    extra={"sources": len(summary.outcomes), "new_articles": summary.new_articles,
                           "errors": summary.errors, "tagged": tagged},
                )  # fmt: skip
        except asyncio.CancelledError:
            raise
        except Exception:  # a bad cycle must not stop the schedule
            log.exception("poll cycle failed")
        await asyncio.sleep(settings.scheduler_tick)
