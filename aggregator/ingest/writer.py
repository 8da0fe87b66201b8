"""The one thread that writes a poll's results to the database, in group commits.

A refresh hands its result over as a value (`storage.RefreshWrite`): the writer stores a
group of them with `storage.write_refreshes`, which runs each kind of source update as one
`executemany`, then runs the after-store hooks on the group's new articles in the same
transaction.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from aggregator.classify.types import Document
from aggregator.ingest.hooks import AfterStoreHook, StoredArticles, run_after_store_hooks
from aggregator.ingest.results import Changed
from aggregator.ingest.storage import RefreshWrite, StoreResult, write_refreshes
from models import session_scope

log = logging.getLogger("biowire.poll")

# A write and the future (of the event loop) that its outcome settles; and that outcome.
_Job = tuple[RefreshWrite, "asyncio.Future[StoreResult | None]"]
_Outcome = tuple["asyncio.Future[StoreResult | None]", StoreResult | None, BaseException | None]


def apply_writes(
    session: Session, writes: Sequence[RefreshWrite], hooks: Sequence[AfterStoreHook] = ()
) -> list[StoreResult | None]:
    """Write `writes` in `session`'s transaction and run `hooks` on their new articles."""
    stored = write_refreshes(session, writes)
    run_after_store_hooks(session, hooks, new_articles(writes, stored))
    return stored


def new_articles(
    writes: Sequence[RefreshWrite], stored: Sequence[StoreResult | None]
) -> StoredArticles:
    """The articles a group of writes added, with the parse workers' tags where they had
    them."""
    articles = StoredArticles()
    for write, outcome in zip(writes, stored, strict=True):
        result = write.result
        if outcome is None or not outcome.new or not isinstance(result, Changed):
            continue
        articles.ids.extend(outcome.new_article_ids)
        articles.documents.extend(Document(e.title, e.text) for e in outcome.new_entries)
        if result.tags is not None:
            articles.tags.extend(result.tags[index] for index in outcome.new_entry_indexes)
            articles.tagged_by = result.tagged_by
        else:
            articles.tags.extend([None] * outcome.new)
    return articles


class Writer:
    """The one thread that writes a poll's results, committing them in groups.

    SQLite has one writer, so funnelling writes through one thread keeps them in order and
    lets fetching carry on while a refresh is stored. Committing costs far more than the
    small write of a refresh that found nothing new, so the writes waiting at any moment
    are applied in one transaction (group commit). Each write is still all-or-nothing: if
    any write of a group fails, the group is rolled back and its writes are replayed one
    transaction each, so only the faulty one fails.

    Writes are submitted from the event loop and answered there: the writes submitted in
    one pass of the loop reach this thread together, and a group's outcomes reach the loop
    in one call. Each hand-over wakes the other thread, which then competes for the GIL
    with the one that woke it: a hand-over a pass, not a write, keeps those wake-ups few.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        loop: asyncio.AbstractEventLoop,
        hooks: Sequence[AfterStoreHook] = (),
        max_group: int = 200,
        fill_group: int = 64,
        linger_seconds: float = 0.02,
    ) -> None:
        self._factory = factory
        self._loop = loop
        self._hooks = tuple(hooks)
        self._max_group = max_group
        # A group smaller than `fill_group` waits up to `linger_seconds` for more writes:
        # each commit rewrites the index pages it touched, so several refreshes committed
        # together cost less than a commit each. Fetching never waits for it.
        self._fill_group = fill_group
        self._linger_seconds = linger_seconds
        self._queue: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        # Writes submitted in this pass of the loop, handed over at its end.
        self._submitted: list[_Job] = []
        self._hand_over_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="biowire-db", daemon=True)
        self._thread.start()

    def submit(self, write: RefreshWrite) -> asyncio.Future[StoreResult | None]:
        """Queue `write`; the future settles when it is committed (with what storing a
        changed feed gave) or has failed. Call from the event loop's thread."""
        future: asyncio.Future[StoreResult | None] = self._loop.create_future()
        if not self._submitted:
            self._loop.call_soon(self._hand_over)
        self._submitted.append((write, future))
        return future

    def _hand_over(self) -> None:
        with self._hand_over_lock:
            submitted, self._submitted = self._submitted, []
        if submitted:
            self._queue.put(submitted)

    def close(self) -> None:
        """Write what was submitted, then stop. Call once nothing more is submitted, from
        any thread."""
        self._hand_over()
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = first
            deadline = time.monotonic() + self._linger_seconds
            while len(group) < self._max_group:
                try:
                    if len(group) < self._fill_group:
                        jobs = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    else:
                        jobs = self._queue.get_nowait()
                except queue.Empty:
                    break
                if jobs is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                group.extend(jobs)
            outcomes: list[_Outcome] = []
            self._commit_group(group, outcomes)
            try:
                self._loop.call_soon_threadsafe(self._settle, outcomes)
            except RuntimeError:  # the loop has closed: nobody is waiting for the outcome
                log.warning("event loop closed before %d writes were answered", len(outcomes))

    @staticmethod
    def _settle(outcomes: list[_Outcome]) -> None:
        for future, stored, error in outcomes:
            if future.cancelled():
                continue
            if error is None:
                future.set_result(stored)
            else:
                future.set_exception(error)

    def _commit_group(self, group: list[_Job], outcomes: list[_Outcome]) -> None:
        try:
            with session_scope(self._factory) as session:
                stored = apply_writes(session, [write for write, _ in group], self._hooks)
        except Exception as error:
            if len(group) == 1:
                outcomes.append((group[0][1], None, error))
                return
            for job in group:
                self._commit_group([job], outcomes)
            return
        for (_, future), outcome in zip(group, stored, strict=True):
            outcomes.append((future, outcome, None))
