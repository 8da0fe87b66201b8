"""When to poll a source next: adaptive to how often it publishes, never sooner than the
server asks (up to a ceiling), backing off exponentially (with jitter) while it fails."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

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


def interval_after_failure(
    failures: int, bounds: ScheduleBounds, retry_after: int | None = None
) -> int:
    """Exponential backoff from the lower bound, with ±20% jitter so that sources failing
    together (one host down) do not retry together; Retry-After wins if longer (up to the
    ceiling on server hints)."""
    base = min(bounds.max_interval, bounds.min_interval * 2 ** max(0, failures - 1))
    interval = int(base * random.uniform(0.8, 1.2))
    return max(interval, bounds.server_hint(retry_after))


def next_poll(now: datetime, interval: int) -> datetime:
    return now + timedelta(seconds=interval)
