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

Pages are the same for every reader but not for a signed-in editor, whose pages carry
their forms (`web.editors`). An editor's page is found and rendered for them alone,
neither remembered nor reused, and answered `Cache-Control: private, no-store`; every
page says `Vary: Cookie`, so that no browser or proxy serves a reader's copy to an editor
or an editor's to a reader.
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
from typing import TypeVar

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from aggregator import __version__
from aggregator.digest.view import PageFound
from models.queries import DataVersion, data_version
from web.editors import carries_session_cookie, signed_in

_T = TypeVar("_T")

# Seconds a remembered view is trusted on the data's version alone.
VIEW_TTL = 10.0

EDITORS_PAGE_HEADERS = {"Cache-Control": "private, no-store", "Vary": "Cookie"}


def is_page(media_type: str) -> bool:
    """Whether a view is a page, which differs for a signed-in editor."""
    return media_type.startswith("text/html")


def make_etag(variant: str, url: str, validator: str) -> str:
    """A strong ETag: the same address, format and page state give the same bytes."""
    key = f"{__version__}|{variant}|{url}|{validator}"
    return '"' + hashlib.blake2b(key.encode(), digest_size=16).hexdigest() + '"'


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def is_fresh(headers: Headers, etag: str, last_modified: datetime | None) -> bool:
    """True when the client's copy is current (RFC 9110 §13.2.2: If-None-Match, when
    sent, decides; If-Modified-Since only without it)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        offered = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in offered or etag in offered
    if_modified_since = headers.get("if-modified-since")
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
    """A view this worker has answered: its page, its response headers (ETag among them)
    and media type, and its body once rendered."""

    version: DataVersion
    checked_at: float
    page: PageFound
    etag: str
    headers: dict[str, str]
    media_type: str
    body: bytes | None = None

    def response(self, request_headers: Headers) -> Response | None:
        """The answer to a request holding `request_headers`: 304 when its copy is
        current, the body when it is rendered, None when it must be rendered first."""
        if is_fresh(request_headers, self.etag, self.page.last_modified):
            return Response(status_code=304, headers=self.headers)
        if self.body is None:
            return None
        return Response(content=self.body, media_type=self.media_type, headers=self.headers)


class VersionProbe:
    """The worker's own connection for the version check and the health check, used only
    on the event loop, in autocommit so that each check sees the latest commit. It never
    waits for the pool: a request waiting there on the event loop would hold up the very
    requests that would give a connection back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def _run(self, ask: Callable[[Connection], _T]) -> _T:
        if self._connection is None:
            self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            return ask(self._connection)
        except DBAPIError:
            self.close()  # a connection the server dropped: a new one next time
            raise

    def version(self) -> DataVersion:
        return self._run(data_version)

    def ping(self) -> None:
        self._run(lambda connection: connection.exec_driver_sql("SELECT 1"))

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


class ViewCache:
    """The last `entries` views a worker answered, by variant and address (thread-safe:
    FastAPI runs the routes in a thread pool)."""

    def __init__(self, entries: int, ttl: float = VIEW_TTL) -> None:
        self.entries = entries
        self.ttl = ttl
        self._known: OrderedDict[str, KnownView] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, version: DataVersion) -> KnownView | None:
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

    def peek(self, key: str) -> KnownView | None:
        with self._lock:
            return self._known.get(key)

    def put(self, key: str, known: KnownView) -> None:
        if self.entries <= 0:
            return
        with self._lock:
            self._known[key] = known
            self._known.move_to_end(key)
            while len(self._known) > self.entries:
                self._known.popitem(last=False)


async def view_response(
    request: Request,
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
    again each time rather than reuse their copy for `max-age`. An editor's page is
    theirs alone: found and rendered afresh, remembered by no one."""
    if is_page(media_type) and signed_in(request) is not None:
        editors_page = await run_in_threadpool(lambda: render(find()))
        return Response(editors_page, media_type=media_type, headers=EDITORS_PAGE_HEADERS)
    settings = request.app.state.settings
    cache: ViewCache = request.app.state.view_cache
    key = str(request.url)
    # The version is asked on the event loop (`VersionProbe`): one query that two index
    # lookups answer, cheaper than the trip to a worker thread. Finding and rendering a
    # view go to the thread pool.
    version = request.app.state.version_probe.version()
    known = cache.get(key, version)
    if known is None:
        page = await run_in_threadpool(find)
        etag = make_etag(variant, key, page.validator)
        before = cache.peek(key)
        body = before.body if before is not None and before.etag == etag else None
        cache_control = "no-cache" if revalidate else f"public, max-age={settings.cache_max_age}"
        headers = cache_headers(etag, page.last_modified, cache_control)
        if is_page(media_type):
            headers["Vary"] = "Cookie"
        known = KnownView(version, monotonic(), page, etag, headers, media_type, body)
        cache.put(key, known)
    response = known.response(request.headers)
    if response is None:
        known.body = await run_in_threadpool(render, known.page)
        response = known.response(request.headers)
        assert response is not None
    return response


class KnownViewsFirst:
    """ASGI middleware: a GET for a view this worker knows, while the data's version
    stands, is answered here (304, or the remembered body) before routing and parameter
    parsing, which cost a conditional request several times what it needs. Anything else,
    and every view not yet known, goes on to the routes, which check the request and
    remember the view (`view_response`). The answers are the routes' own, byte for byte.
    A page asked for with an editor's cookie goes on too: the route tells whether the
    cookie is good, and an editor's page is never a remembered one."""

    def __init__(self, app: ASGIApp, owner: Starlette) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            response = self._known_answer(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _known_answer(self, scope: Scope) -> Response | None:
        state = self.owner.state
        cache: ViewCache | None = getattr(state, "view_cache", None)
        probe: VersionProbe | None = getattr(state, "version_probe", None)
        if cache is None or probe is None or cache.entries <= 0:
            return None
        known = cache.peek(str(URL(scope=scope)))
        if known is None:
            return None
        request_headers = Headers(scope=scope)
        if is_page(known.media_type) and carries_session_cookie(request_headers):
            return None
        version = probe.version()
        if known.version != version or monotonic() - known.checked_at > cache.ttl:
            return None
        return known.response(request_headers)
