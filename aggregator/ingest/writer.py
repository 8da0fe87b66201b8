"""The one thread that writes a poll's results to the database, in group commits.

A refresh hands its outcome over as a write: a function of the session, or a row of
parameters for a statement that many refreshes share (`RowWrite`), which a group runs as
one `executemany`. A function may also leave such rows for the end of its group
(`defer_row`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Update
from sqlalchemy.orm import Session, sessionmaker

from models import session_scope

log = logging.getLogger("biowire.poll")


@dataclass(frozen=True)
class RowWrite:
    """A write that is one row of parameters for a shared statement: the writer runs all such
    rows of a group as one `executemany`, instead of a statement each."""

    statement: Update
    params: dict[str, object]


Write = Callable[[Session, datetime], None] | RowWrite


# A write and the future (of the event loop) that its outcome settles; and that outcome.
_Job = tuple[Write, "asyncio.Future[None]"]
_Outcome = tuple["asyncio.Future[None]", BaseException | None]


# In a session's `info`: rows that writes left to run together (see `defer_row`).
_DEFERRED = "biowire.deferred_rows"


def defer_row(session: Session, statement: Update, params: dict[str, object]) -> None:
    """Run `statement` with `params` in this transaction, but later, as one `executemany`
    with every other row of the same statement that the transaction's writes leave: an
    UPDATE a refresh makes costs SQLAlchemy several times what it costs SQLite, and an
    executemany pays that once. Only for rows nothing else in the transaction reads."""
    rows: dict[Update, list[dict[str, object]]] = session.info.setdefault(_DEFERRED, {})
    rows.setdefault(statement, []).append(params)


def _run_deferred(session: Session) -> None:
    for statement, params in session.info.pop(_DEFERRED, {}).items():
        session.execute(statement, params)


def apply_write(session: Session, write: Write, now: datetime) -> None:
    """Run `write` in `session`'s transaction, with the rows it defers."""
    _begin_write(session, write, now)
    _run_deferred(session)


def _begin_write(session: Session, write: Write, now: datetime) -> None:
    """Run `write`, leaving its rows (a `RowWrite`'s own, or those it defers) for
    `_run_deferred`."""
    if isinstance(write, RowWrite):
        defer_row(session, write.statement, write.params)
    else:
        write(session, now)


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
        max_group: int = 200,
        fill_group: int = 64,
        linger_seconds: float = 0.02,
        before_commit: Callable[[Session], None] | None = None,
    ) -> None:
        self._factory = factory
        self._loop = loop
        # Work on what a group wrote, in its transaction (see `_run_before_commit`).
        self._before_commit = before_commit
        self._max_group = max_group
        # A group smaller than `fill_group` waits up to `linger_seconds` for more writes:
        # each commit rewrites the index pages it touched, so five refreshes committed
        # together cost a sixth less than five commits, and a warm poll of 2,000 sources
        # committed in about 36 groups rather than 95 (groups filled to 16) spends a fifth
        # less of the writer's time. Fetching never waits for it.
        self._fill_group = fill_group
        self._linger_seconds = linger_seconds
        self._queue: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        # Writes submitted in this pass of the loop, handed over at its end.
        self._submitted: list[_Job] = []
        self._hand_over_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="biowire-db", daemon=True)
        self._thread.start()

    def submit(self, write: Write) -> asyncio.Future[None]:
        """Queue `write`; the future settles when it is committed or has failed. Call from
        the event loop's thread."""
        future = self._loop.create_future()
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
        for future, error in outcomes:
            if future.cancelled():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    def _commit_group(self, group: list[_Job], outcomes: list[_Outcome]) -> None:
        try:
            with session_scope(self._factory) as session:
                for write, _ in group:
                    _begin_write(session, write, datetime.now(UTC))
                _run_deferred(session)
                self._run_before_commit(session)
        except Exception as error:
            if len(group) == 1:
                outcomes.append((group[0][1], error))
                return
            for job in group:
                self._commit_group([job], outcomes)
            return
        outcomes.extend((future, None) for _, future in group)

    def _run_before_commit(self, session: Session) -> None:
        """The hook may add to what the group wrote but never costs it its writes: if it
        fails, it is logged and the group commits without it (a hook that writes does so
        in a savepoint of its own)."""
        if self._before_commit is None:
            return
        try:
            self._before_commit(session)
        except Exception:
            log.exception("the work before a group's commit failed; the writes stand")


__all__ = ["RowWrite", "Write", "Writer", "apply_write", "defer_row"]
