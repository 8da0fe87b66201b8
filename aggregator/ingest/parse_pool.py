"""The parse pool: a process per core that does the CPU work of refreshes off the event
loop, parsing each body and, when asked, tagging its entries with the active model.

Tagging here rather than in a pass after the poll puts the classifier on every core and
overlaps it with fetching, and the store then writes each new article with its tags in
the same transaction. The model reaches a pool process once, through `start_worker` (the
pool's initializer), never with each task: a task names the model it wants by id, and a
process that does not hold that model (or cannot load it) returns the entries untagged,
for `tagging.classify_pending` to tag later. Nothing is lost, only done later. A process
holds its models in `aggregator.classify.model_cache`, as the rest of it does.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.context import BaseContext
from typing import Any, ParamSpec, TypeVar, cast

from aggregator import speedups
from aggregator.classify import model_cache
from aggregator.classify.model import Classifier
from aggregator.classify.types import Document, TopicScore
from aggregator.errors import ClassifierError, ParseError
from aggregator.ingest import feedparser_speedups
from aggregator.ingest.parse import ParsedFeed, parse_feed

log = logging.getLogger("biowire.parse_pool")


@dataclass(frozen=True)
class PreparedFeed:
    feed: ParsedFeed
    # One list of tags per entry of `feed.entries`, from model `model_id`; None if untagged.
    tags: list[list[TopicScore]] | None = None
    model_id: int | None = None


# Container allocations between collections of the young generation (Python's default: 700).
YOUNG_GENERATION_THRESHOLD = 10_000


def collect_garbage_less_often() -> None:
    """Collect the young generation every `YOUNG_GENERATION_THRESHOLD` allocations.

    Parsing, fetching and storing allocate short-lived containers by the hundred thousand,
    nearly all freed by reference counting; at Python's default the collector still
    scanned the survivors several hundred times a poll, on the event loop's time
    (measured with `gc.callbacks`; BENCHMARKS.md). Cyclic garbage waits a little longer to
    be freed.
    """
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD)


def start_worker(
    model_id: int | None = None, blob: bytes | None = None, *, fast_paths: bool
) -> None:
    """A parse worker's start (the pool's initializer): its pool's fast-paths switch, and
    with it feedparser's faster paths or feedparser exactly as shipped (a forked worker may
    inherit either); collection tuned as in the poller; and the model loaded once, if there
    is one."""
    speedups.set_enabled(fast_paths)
    if fast_paths:
        feedparser_speedups.install()
    else:
        feedparser_speedups.uninstall()
    collect_garbage_less_often()
    if model_id is not None and blob is not None:
        install_model(model_id, blob)


def install_model(model_id: int, blob: bytes) -> None:
    """Load the model this process tags with (a pool initializer, or called in-process).
    One that cannot be loaded is logged, and its articles are stored untagged, for
    `classify_pending` to tag after the poll."""
    outcome = model_cache.load_outcome(model_id, blob)
    if isinstance(outcome, ClassifierError):
        log.warning("%s; until then articles are stored untagged and tagged later", outcome)


def installed_classifier(model_id: int) -> Classifier | None:
    """The classifier of model `model_id`, if this process holds it."""
    held = model_cache.held(model_id)
    return held if isinstance(held, Classifier) else None


def uninstall_model() -> None:
    """Let go of every model this process holds."""
    model_cache.clear()


@dataclass(frozen=True)
class ParseJob:
    """One fetched body to parse, and the model to tag its entries with, if any."""

    url: str
    body: bytes
    headers: dict[str, str] | None = None
    model_id: int | None = None


def prepare_feed(
    url: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    model_id: int | None = None,
    now: datetime | None = None,
) -> PreparedFeed:
    """Parse `body`; with `model_id`, tag every entry if this process holds that model.
    Raises `ParseError` if the body cannot be read."""
    [result] = prepare_feeds([ParseJob(url, body, headers, model_id)], now)
    if isinstance(result, ParseError):
        raise result
    return result


def prepare_feeds(
    jobs: Sequence[ParseJob], now: datetime | None = None
) -> list[PreparedFeed | ParseError]:
    """`prepare_feed` for several bodies in one task (see `aggregator.ingest.parse_batching`).

    Each body is parsed on its own, and a body that cannot be read gets its `ParseError`
    in its place: one feed's fault never costs another its result. The entries of every
    feed to tag go through the classifier in one pass, which costs less an article than a
    pass per feed.
    """
    results: list[PreparedFeed | ParseError] = []
    for job in jobs:
        try:
            results.append(PreparedFeed(parse_feed(job.url, job.body, job.headers, now)))
        except ParseError as error:
            results.append(error)
        except Exception as error:  # feedparser's own failures are the feed's
            results.append(ParseError(f"the parser failed: {error!r}"))
    # A poll's jobs all name the same model; each model named is one classifier pass.
    for model_id in {job.model_id for job in jobs if job.model_id is not None}:
        classifier = installed_classifier(model_id)
        if classifier is not None:
            _tag_entries(jobs, results, model_id, classifier)
    return results


def _tag_entries(
    jobs: Sequence[ParseJob],
    results: list[PreparedFeed | ParseError],
    model_id: int,
    classifier: Classifier,
) -> None:
    """Tag, in place, the entries of every parsed feed whose job names model `model_id`."""
    to_tag = [
        index
        for index, (job, result) in enumerate(zip(jobs, results, strict=True))
        if job.model_id == model_id and isinstance(result, PreparedFeed) and result.feed.entries
    ]
    documents = [
        Document(e.title, e.text)
        for index in to_tag
        for e in cast(PreparedFeed, results[index]).feed.entries
    ]
    # The same documents `classify_pending` would build from the stored columns.
    tags = iter(classifier.predict(documents))
    for index in to_tag:
        feed = cast(PreparedFeed, results[index]).feed
        results[index] = PreparedFeed(feed, [next(tags) for _ in feed.entries], model_id)


def worker_ready(pause: float) -> int:
    """A task that only occupies a worker for `pause` seconds (see `ParsePool.warm_up`)."""
    time.sleep(pause)
    return os.getpid()


P = ParamSpec("P")
T = TypeVar("T")


class ParsePool(Executor):
    """A process per core for parsing, which is CPU work: it stays off the event loop and
    uses every core.

    Workers come from a fork server, which has to import feedparser, nh3 and
    scikit-learn before it forks the first. With `fork`, a pool made
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
        context.set_forkserver_preload(["aggregator.ingest.parse_pool"])
        return self._executor(context)

    def _executor(self, context: BaseContext) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            # Each worker takes this process's switch as it starts (see `aggregator.speedups`).
            initializer=functools.partial(start_worker, fast_paths=speedups.enabled()),
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
