"""Handing a poll's parses to the parse pool, several to a task when the pool is busy.

A task costs the poller and its workers more than its feeds' parsing does to pass around
(pickling, pipes, a wake-up of the pool's threads and of the event loop), and the
classifier costs less an article when it tags more articles at once. So while every
worker has a task running and another waiting, bodies that arrive wait here, and the next
task takes up to `max_batch` of them. An idle pool gets each body at once, alone: batching
never delays a parse that a worker could start now.
"""

from __future__ import annotations

import asyncio
import functools
import os
from concurrent.futures import Executor

from aggregator.errors import ParseError
from aggregator.ingest.parse_pool import ParseJob, PreparedFeed, prepare_feeds

_Waiting = tuple[ParseJob, asyncio.Future[PreparedFeed]]
_Results = list[PreparedFeed | ParseError]


class ParseBatcher:
    """Parses for one event loop, run in `executor` (None: the loop's default)."""

    def __init__(self, executor: Executor | None, max_batch: int = 4) -> None:
        self._executor = executor
        workers = getattr(executor, "workers", None) or os.cpu_count() or 1
        # A task running on each worker and one waiting for it, so that no worker idles
        # while the next task travels to it.
        self._max_tasks = 2 * workers
        self._max_batch = max_batch
        self._tasks = 0
        self._waiting: list[_Waiting] = []

    async def prepare(self, job: ParseJob) -> PreparedFeed:
        """The parsed (and, if asked, tagged) feed; raises `ParseError` if it cannot be read."""
        future: asyncio.Future[PreparedFeed] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, future))
        self._send()
        return await future

    def _send(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting and self._tasks < self._max_tasks:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                jobs = [job for job, _ in batch]
                task = loop.run_in_executor(self._executor, prepare_feeds, jobs)
            except Exception as failure:  # a pool that takes no more work (shut down, or
                # unable to start a worker): its bodies fail now, rather than wait forever
                _fail(batch, failure)
                continue
            self._tasks += 1
            task.add_done_callback(functools.partial(self._settle, batch))

    def _settle(self, batch: list[_Waiting], task: asyncio.Future[_Results]) -> None:
        self._tasks -= 1
        try:
            if task.cancelled():
                for _, future in batch:
                    future.cancel()
                return
            for (_, future), result in zip(batch, task.result(), strict=True):
                if future.done():  # its refresh was cancelled
                    continue
                if isinstance(result, ParseError):
                    future.set_exception(result)
                else:
                    future.set_result(result)
        except Exception as failure:  # the worker died, or the task could not be sent
            _fail(batch, failure)
        finally:
            self._send()


def _fail(batch: list[_Waiting], failure: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(ParseError(f"the parser failed: {failure!r}"))
