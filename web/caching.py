"""HTTP caching for every view (the feeds, the JSON lists, the pages): an ETag and
Last-Modified derived from the newest change in the view, 304 Not Modified for a
conditional request that already holds it, `Cache-Control: max-age` from the settings.

Each web worker also remembers the views it has answered (`ViewCache`), by address: the
page's ETag, and its body once rendered. Before reusing one, it compares the data's version
(`models.queries.data_version`: the newest article id and change stamp, two index
lookups) with the version the view was computed at. Unchanged, the answer is the one it
has, at the cost of that one small query; changed, the view's page is found again, and
rendered again only if its own ETag moved. An entry is also found again after `ttl`
seconds whatever the version says, which bounds how long a change stamped by a clock
running behind could go unseen. `BIOWIRE_RESPONSE_CACHE_ENTRIES=0` turns the memory off:
every request then finds and renders its view afresh.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from time import monotonic

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from aggregator import __version__
from aggregator.digest.view import PageFound
from models.queries import DataVersion, data_version

# Seconds a remembered view is trusted on the data's version alone.
VIEW_TTL = 10.0


def make_etag(variant: str, url: str, validator: str) -> str:
    """A strong ETag: the same address, format and page state give the same bytes."""
    key = f"{__version__}|{variant}|{url}|{validator}"
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


def cache_headers(etag: str, last_modified: datetime | None, cache_control: str
                  ) -> dict[str, str]:  # fmt: skip
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if last_modified is not None:
        headers["Last-Modified"] = _http_date(last_modified)
    return headers


@dataclass
class KnownView:
    """A view this worker has answered: its page and ETag, its body once rendered."""

    version: DataVersion
    checked_at: float
    page: PageFound
    etag: str
    body: bytes | None = None


class ViewCache:
    """The last `entries` views a worker answered, by variant and address (thread-safe:
    FastAPI runs the routes in a thread pool)."""

    def __init__(self, entries: int, ttl: float = VIEW_TTL) -> None:
        self.entries = entries
        self.ttl = ttl
        self._known: OrderedDict[tuple[str, str], KnownView] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], version: DataVersion) -> KnownView | None:
        """The view known under `key`, if it was computed at `version` within the TTL."""
        if self.entries <= 0:
            return None
        with self._lock:
            known = self._known.get(key)
            if known is None:
                return None
            self._known.move_to_end(key)
            if known.version != version or monotonic() - known.checked_at > self.ttl:
                return None
            return known

    def peek(self, key: tuple[str, str]) -> KnownView | None:
        with self._lock:
            return self._known.get(key)

    def put(self, key: tuple[str, str], known: KnownView) -> None:
        if self.entries <= 0:
            return
        with self._lock:
            self._known[key] = known
            self._known.move_to_end(key)
            while len(self._known) > self.entries:
                self._known.popitem(last=False)


def view_response(
    request: Request,
    session: Session,
    *,
    variant: str,
    media_type: str,
    find: Callable[[], PageFound],
    render: Callable[[PageFound], bytes],
    revalidate: bool = False,
) -> Response:
    """The response every cached view goes through. `find` checks the request and finds
    the view's page (raising its error when the request is wrong); `render` makes the
    body. 304 when the client's copy is current; the remembered body when this worker has
    it for the page as it is now. With `revalidate` (pages people read), clients ask
    again each time rather than reuse their copy for `max-age`."""
    settings = request.app.state.settings
    cache: ViewCache = request.app.state.view_cache
    key = (variant, str(request.url))
    version = data_version(session)
    known = cache.get(key, version)
    if known is None:
        page = find()
        etag = make_etag(variant, key[1], page.validator)
        before = cache.peek(key)
        body = before.body if before is not None and before.etag == etag else None
        known = KnownView(version, monotonic(), page, etag, body)
        cache.put(key, known)
    cache_control = "no-cache" if revalidate else f"public, max-age={settings.cache_max_age}"
    headers = cache_headers(known.etag, known.page.last_modified, cache_control)
    if is_fresh(request, known.etag, known.page.last_modified):
        return Response(status_code=304, headers=headers)
    if known.body is None:
        known.body = render(known.page)
    return Response(content=known.body, media_type=media_type, headers=headers)
