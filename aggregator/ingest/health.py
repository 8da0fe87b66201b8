"""How each source's polling stands, told so that a person can act on it: its status in a
word, its last error in plain terms, and the commands that fix it.

`status_of`, `explain_error` and `remedies` decide from a source's stored state alone;
`source_health` reads every source with its articles of the last days in one query, and
adds what the shipped OPML says of the defaults (their note and folder).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from aggregator.ingest.sources import OutlineFeed, default_outlines
from models import Source
from models.queries import sources_with_counts


class SourceStatus(StrEnum):
    HEALTHY = "healthy"
    FAILING = "failing"
    DISABLED = "disabled"
    NEW = "not polled yet"


def status_of(source: Source) -> SourceStatus:
    if source.disabled_at is not None:
        return SourceStatus.DISABLED
    if source.consecutive_failures > 0:
        return SourceStatus.FAILING
    if source.last_polled_at is None:
        return SourceStatus.NEW
    return SourceStatus.HEALTHY


# What a failure's message begins with or holds (`aggregator.ingest.fetch`, `parse`,
# `guard`), and what it means for the person who reads it.
_MESSAGES = (
    ("could not connect", "Biowire could not reach the server: its name does not resolve, or "
     "it refuses connections. Check the address; a site that is down is tried again later."),
    ("connection failed", "Biowire could not reach the server: its name does not resolve, or "
     "it refuses connections. Check the address; a site that is down is tried again later."),
    ("private or reserved address", "The address leads into a private network, which Biowire "
     "does not fetch from unless BIOWIRE_ALLOW_PRIVATE_NETWORKS or BIOWIRE_ALLOWED_NETWORKS "
     "allows it."),
    ("no complete answer within", "The server was too slow to send the feed. Biowire tries "
     "again, less often each time."),
    ("timed out", "The server was too slow to answer. Biowire tries again, less often each "
     "time."),
    ("the connection broke", "The connection broke before the whole feed arrived. Biowire "
     "tries again, less often each time."),
    ("redirects", "The address sends Biowire from one place to another too many times: the "
     "site is misconfigured, or the feed has moved. Find its current address."),
    ("HTML page", "The address answers with a web page, not a feed: the feed has probably "
     "moved. Look on the site for its RSS or Atom link and set that address."),
    ("empty body", "The server answered with nothing at all. If it goes on, the feed has "
     "probably moved or been switched off."),
    ("not a readable", "What the address answers is not a feed Biowire can read (RSS, Atom or "
     "JSON Feed). The feed may have moved, or be broken at its source."),
    ("not well-formed but was read", "The feed has a fault its publisher could fix, but "
     "Biowire read it anyway: nothing to do here."),
    ("unsupported URL scheme", "The address is not an http or https one. Set the feed's web "
     "address."),
    ("not a valid URL", "The address is not a valid web address. Set the feed's correct "
     "address."),
)  # fmt: skip


def explain_error(error: str | None, status: int | None) -> str | None:
    """What the last poll's error means, in plain words; None when there was none, or when
    the message says all there is to say."""
    if not error:
        return None
    if status is not None and status >= 400:
        return _explain_status(status)
    lowered = error.lower()
    for marker, meaning in _MESSAGES:
        if marker.lower() in lowered:
            return meaning
    return None


def _explain_status(status: int) -> str:
    if status in (404, 410):
        return (
            f"The feed is not at this address any more (HTTP {status}): the site has moved "
            "or removed it. Find its new address on the site and set it, or remove the source."
        )
    if status in (401, 403):
        return (
            f"The server will not let Biowire read the feed (HTTP {status}): it may need a "
            "login, or the site turns away automated readers."
        )
    if status == 429:
        return (
            "The server says Biowire asks too often (HTTP 429). Biowire waits as long as it "
            "is told before asking again."
        )
    if status >= 500:
        return (
            f"The server failed while answering (HTTP {status}). That is usually temporary: "
            "Biowire tries again, less often each time."
        )
    return f"The server refused the request (HTTP {status})."


def remedies(source_id: int, status: SourceStatus) -> tuple[str, ...]:
    """The commands that deal with a source in trouble: give it a new address, poll it
    again as it is (a disabled one), or remove it. None for a source that is fine."""
    if status not in (SourceStatus.FAILING, SourceStatus.DISABLED):
        return ()
    commands = [f"biowire sources set-url {source_id} NEW_URL"]
    if status is SourceStatus.DISABLED:
        commands.append(f"biowire sources enable {source_id}")
    commands.append(f"biowire sources remove {source_id}")
    return tuple(commands)


@dataclass(frozen=True)
class SourceHealth:
    """One source as the sources page shows it."""

    id: int
    name: str
    url: str
    site_url: str | None
    note: str | None
    folder: str | None
    status: SourceStatus
    last_polled_at: datetime | None
    last_status: int | None
    last_error: str | None
    explanation: str | None
    disabled_reason: str | None
    next_poll_at: datetime | None
    consecutive_failures: int
    recent_articles: int
    commands: tuple[str, ...]

    @property
    def in_trouble(self) -> bool:
        return self.status in (SourceStatus.FAILING, SourceStatus.DISABLED)


def health_of(source: Source, recent_articles: int, outline: OutlineFeed | None) -> SourceHealth:
    status = status_of(source)
    return SourceHealth(
        id=source.id,
        name=source.display_name,
        url=source.url,
        site_url=source.site_url or (outline.site_url if outline else None),
        note=outline.note if outline else None,
        folder=outline.category if outline else None,
        status=status,
        last_polled_at=source.last_polled_at,
        last_status=source.last_status,
        last_error=source.last_error,
        explanation=explain_error(source.last_error, source.last_status),
        disabled_reason=source.disabled_reason,
        next_poll_at=source.next_poll_at,
        consecutive_failures=source.consecutive_failures,
        recent_articles=recent_articles,
        commands=remedies(source.id, status),
    )


def source_health(
    session: Session, since: datetime, outlines: Mapping[str, OutlineFeed] | None = None
) -> list[SourceHealth]:
    """Every source with its articles published since `since`: those in trouble first
    (disabled, then the longest failing), then the rest by name. `outlines` (by feed URL)
    give notes and folders; by default, the shipped OPML's."""
    if outlines is None:
        outlines = default_outlines()
    health = [
        health_of(source, count, outlines.get(source.url))
        for source, count in sources_with_counts(session, since)
    ]
    return sorted(health, key=_trouble_first)


def _trouble_first(health: SourceHealth) -> tuple[int, int, str, int]:
    rank = {SourceStatus.DISABLED: 0, SourceStatus.FAILING: 1}.get(health.status, 2)
    return rank, -health.consecutive_failures, health.name.casefold(), health.id
