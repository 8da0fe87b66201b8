"""What a refresh means for its source: when to poll it next (adaptive to how often it
publishes, never sooner than the server asks, up to a ceiling; backing off exponentially,
with jitter, while it fails) and whether to stop polling it.

Pure functions of the refresh's result and the source as the poll read it: no database, no
clock of their own. `decide` is the whole rule; storage writes what it returns.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from aggregator.ingest.results import (
    Changed,
    RefreshResult,
    SourceSnapshot,
    SourceUpdate,
    Unchanged,
)

DEFAULT_INTERVAL = 3600


@dataclass(frozen=True)
class ScheduleBounds:
    min_interval: int = 600
    max_interval: int = 21600
    # A server may ask for longer than `max_interval` and is obeyed, up to this: a year's
    # max-age or a far-future Expires is a misconfiguration more often than a wish, and
    # would silence the feed.
    max_server_interval: int = 604800

    def server_hint(self, seconds: int | None) -> int:
        """A server's hint in seconds (0 for none), held to `max_server_interval`."""
        return min(seconds or 0, self.max_server_interval)


def interval_after_success(
    published: Sequence[datetime],
    bounds: ScheduleBounds,
    server_min: int | None = None,
) -> int:
    """Half the typical gap between recent entries, within bounds, never below `server_min`.

    A feed that publishes hourly is checked every half hour; one that publishes weekly is
    checked at the upper bound.
    """
    recent = sorted(published, reverse=True)[:20]
    if len(recent) >= 2:
        gaps = [
            (newer - older).total_seconds()
            for newer, older in zip(recent, recent[1:], strict=False)
            if newer > older
        ]
        interval = int(median(gaps) / 2) if gaps else DEFAULT_INTERVAL
    else:
        interval = DEFAULT_INTERVAL
    interval = max(bounds.min_interval, min(bounds.max_interval, interval))
    return max(interval, bounds.server_hint(server_min))


# Draws the jitter: a number between its two arguments (`random.uniform`, or a fixed one in
# tests).
Jitter = Callable[[float, float], float]


def interval_after_failure(
    failures: int,
    bounds: ScheduleBounds,
    retry_after: int | None = None,
    jitter: Jitter = random.uniform,
) -> int:
    """Exponential backoff from the lower bound, with ±20% jitter so that sources failing
    together (one host down) do not retry together; Retry-After wins if longer (up to the
    ceiling on server hints)."""
    base = min(bounds.max_interval, bounds.min_interval * 2 ** max(0, failures - 1))
    interval = int(base * jitter(0.8, 1.2))
    return max(interval, bounds.server_hint(retry_after))


def next_poll(now: datetime, interval: int) -> datetime:
    return now + timedelta(seconds=interval)


@dataclass(frozen=True)
class PollPolicy:
    """The rules `decide` applies: the interval bounds, and how many failures in a row a
    source may have before it is disabled."""

    bounds: ScheduleBounds = field(default_factory=ScheduleBounds)
    max_consecutive_failures: int = 10


def decide(
    result: RefreshResult,
    source: SourceSnapshot,
    policy: PollPolicy,
    now: datetime,
    jitter: Jitter = random.uniform,
) -> SourceUpdate:
    """What `result` changes on `source`: the next poll, the failure count, the error shown,
    and whether the source is disabled."""
    bounds = policy.bounds
    if isinstance(result, Changed):
        published = [entry.published_at for entry in result.feed.entries]
        interval = interval_after_success(published, bounds, result.server_interval)
        # A feed read despite a fault keeps the parser's complaint on the source's record.
        return SourceUpdate(
            now, result.status, interval, next_poll(now, interval), 0, error=result.feed.warning
        )
    if isinstance(result, Unchanged):
        # Nothing new says nothing new about the rhythm: the interval stays, unless the
        # server now asks for a longer one.
        interval = max(
            source.poll_interval_seconds or bounds.min_interval,
            bounds.server_hint(result.server_interval),
        )
        return SourceUpdate(now, result.status, interval, next_poll(now, interval), 0)
    failures = source.consecutive_failures + 1
    disabled_reason = None
    if result.gone:
        disabled_reason = "the server says the feed is gone (HTTP 410)"
    elif failures >= policy.max_consecutive_failures:
        disabled_reason = f"disabled after {failures} consecutive failures; last: {result.reason}"
    interval = interval_after_failure(failures, bounds, result.retry_after, jitter)
    return SourceUpdate(
        now, result.status, interval, next_poll(now, interval), failures,
        error=result.reason, disabled_reason=disabled_reason,
    )  # fmt: skip
