"""HTTP caching for every feed and JSON response: an ETag and Last-Modified derived from
the newest change in the view, 304 Not Modified for a conditional request that already
holds it, and `Cache-Control: max-age` from the settings.

Bodies are also kept, per worker, in a small LRU keyed by that ETag: a view asked for again
before it changes is answered from the page's ids and stamps (one indexed query) without
reading or rendering its articles. `BIOWIRE_RESPONSE_CACHE_ENTRIES=0` turns that off.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request
from fastapi.responses import Response

from aggregator import __version__


def make_etag(request: Request, variant: str, validator: str) -> str:
    """A strong ETag: the same address, format and page state give the same bytes."""
    key = f"{__version__}|{variant}|{request.url}|{validator}"
    return '"' + hashlib.blake2b(key.encode(), digest_size=16).hexdigest() + '"'


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def is_fresh(request: Request, etag: str, last_modified: datetime | None) -> bool:
    """True when the client's copy is current (RFC 9110 §13.2.2: If-None-Match, when
    sent, decides; If-Modified-Since only without it)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        offered = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in offered or etag in offered
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored, as RFC 9110 says
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


def cache_headers(etag: str, last_modified: datetime | None, max_age: int) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if last_modified is not None:
        headers["Last-Modified"] = _http_date(last_modified)
    return headers


class ResponseCache:
    """The last `entries` bodies rendered by this worker, by ETag (thread-safe: FastAPI
    runs the routes in a thread pool)."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, etag: str, render: Callable[[], bytes]) -> bytes:
        if self.entries <= 0:
            return render()
        with self._lock:
            body = self._bodies.get(etag)
            if body is not None:
                self._bodies.move_to_end(etag)
                return body
        body = render()
        with self._lock:
            self._bodies[etag] = body
            while len(self._bodies) > self.entries:
                self._bodies.popitem(last=False)
        return body


def cached_response(
    request: Request,
    *,
    variant: str,
    validator: str,
    last_modified: datetime | None,
    media_type: str,
    render: Callable[[], bytes],
) -> Response:
    """The response every feed and JSON view goes through: 304 when the client's copy is
    current, else the body (from the cache when this worker rendered it already)."""
    settings = request.app.state.settings
    etag = make_etag(request, variant, validator)
    headers = cache_headers(etag, last_modified, settings.cache_max_age)
    if is_fresh(request, etag, last_modified):
        return Response(status_code=304, headers=headers)
    body = request.app.state.response_cache.get_or_render(etag, render)
    return Response(content=body, media_type=media_type, headers=headers)
