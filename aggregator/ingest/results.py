"""What a refresh of one source comes to, as values: a source as the poll read it, and the
three ways its refresh can end. `refresh.refresh_source` makes them; `schedule.decide`
turns one into what changes on the source; `storage` writes both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aggregator.classify.types import TopicScore

if TYPE_CHECKING:
    from aggregator.ingest.parse import ParsedFeed


@dataclass(frozen=True)
class SourceSnapshot:
    """What a refresh needs to know about its source, read before the fetch starts."""

    id: int
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    consecutive_failures: int = 0
    poll_interval_seconds: int | None = None


@dataclass(frozen=True)
class Changed:
    """The feed has content the source has not stored: its entries, to store."""

    status: int
    feed: ParsedFeed
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    # The longest interval the server asked for (cache lifetime, <ttl>, sy:update*), seconds.
    server_interval: int = 0
    # Where every hop of a 301/308 chain led, if the feed moved for good.
    moved_to: str | None = None
    size: int = 0
    # The parse worker's tags of each entry, by model `tagged_by`; None if it did not tag.
    tags: list[list[TopicScore]] | None = None
    tagged_by: int | None = None


@dataclass(frozen=True)
class Unchanged:
    """A 304, or the very body the source had last time (RFC 9110 §15.4.5: our copy is
    current either way)."""

    status: int
    # A 304 may carry fresh validators; None keeps the ones the source has.
    etag: str | None
    last_modified: str | None
    server_interval: int = 0
    moved_to: str | None = None
    size: int = 0


@dataclass(frozen=True)
class Failed:
    """The source could not be read: the reason is shown to people, as it is."""

    reason: str
    status: int | None = None
    # Retry-After, seconds (a 429 or 503 asks to be left alone this long).
    retry_after: int | None = None
    size: int = 0

    @property
    def gone(self) -> bool:
        # RFC 9110 §15.5.11: gone for good; polling again would only bother the server.
        return self.status == 410


RefreshResult = Changed | Unchanged | Failed


@dataclass(frozen=True)
class SourceUpdate:
    """What a refresh changes on its source, decided by `schedule.decide` from the result
    and the source as the poll read it."""

    polled_at: datetime
    status: int | None
    poll_interval_seconds: int
    next_poll_at: datetime
    consecutive_failures: int
    error: str | None = None
    # Set when the source is to be polled no more.
    disabled_reason: str | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_reason is not None
