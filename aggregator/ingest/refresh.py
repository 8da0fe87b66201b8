"""Refreshing one source: fetch it (conditionally), and parse what changed. The story ends
in a value (`Changed`, `Unchanged` or `Failed`); what it means for the source is decided by
`schedule.decide`, and storage writes both.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from aggregator.errors import FetchError, ParseError
from aggregator.ingest.fetch import (
    FeedClient,
    FetchLimits,
    FetchResult,
    cache_lifetime_seconds,
    fetch_feed,
)
from aggregator.ingest.parse import ParsedFeed
from aggregator.ingest.parse_batching import ParseBatcher
from aggregator.ingest.parse_pool import ParseJob
from aggregator.ingest.results import Changed, Failed, RefreshResult, SourceSnapshot, Unchanged


async def refresh_source(
    client: FeedClient,
    source: SourceSnapshot,
    limits: FetchLimits,
    parser: ParseBatcher,
    tag_with: int | None = None,
) -> RefreshResult:
    """Fetch and parse one source. Never raises for the source's own faults: they come back
    as `Failed`, with a reason a person can act on. With `tag_with`, the parse worker tags
    the entries with that model, if it holds it."""
    try:
        response = await fetch_feed(client, source.url, limits, source.etag, source.last_modified)
    except FetchError as error:
        return Failed(
            str(error), getattr(error, "status", None), getattr(error, "retry_after", None)
        )

    now = datetime.now(UTC)
    size = len(response.body)
    body_hash = hashlib.sha256(response.body).hexdigest() if response.body else None
    if response.not_modified or (body_hash and body_hash == source.body_hash):
        # RFC 9110 §15.4.5: 304 means our copy is current; an identical body means the same.
        return Unchanged(
            response.status,
            response.headers.get("etag"),
            response.headers.get("last-modified"),
            _server_interval(response, None, now),
            response.moved_permanently_to,
            size,
        )

    try:
        prepared = await parser.prepare(
            ParseJob(response.final_url, response.body, response.headers, tag_with)
        )
    except ParseError as error:
        return Failed(str(error), response.status, size=size)
    return Changed(
        response.status,
        prepared.feed,
        response.headers.get("etag"),
        response.headers.get("last-modified"),
        body_hash,
        _server_interval(response, prepared.feed, now),
        response.moved_permanently_to,
        size,
        prepared.tags,
        prepared.model_id if prepared.tags is not None else None,
    )


def _server_interval(response: FetchResult, parsed: ParsedFeed | None, now: datetime) -> int:
    """The longest interval the server or the feed asks for: the response's cache lifetime,
    the feed's <ttl> or sy:update* hint; 0 for none."""
    hints = [cache_lifetime_seconds(response.headers, now) or 0]
    if parsed and parsed.suggested_interval:
        hints.append(parsed.suggested_interval)
    return max(hints)
