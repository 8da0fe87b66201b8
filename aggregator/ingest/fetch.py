"""Fetching feeds over HTTP. The only module that touches httpx (and, beneath it, aiohttp).

httpx's API is the product's choice, but its own connection pool degrades badly under high
concurrency (encode/httpx#3215), so the client runs on a transport over aiohttp
(`FeedTransport`, a lean take on httpx-aiohttp's: a poll makes thousands of small requests,
and every step per request shows). That also gives the SSRF guard a place to live: aiohttp
asks our resolver for every connection, so the resolved address is checked at connect time,
on the first request and on every redirect; literal IP hosts, which never reach a resolver,
are checked by the transport before it sends.
"""

from __future__ import annotations

import asyncio
import functools
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import NoReturn
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpx
import yarl
from httpx_aiohttp.transport import AIOHTTP_EXC_MAP

from aggregator import PRODUCT_URL, __version__, speedups
from aggregator.errors import BodyTooLarge, FetchError, HTTPStatusError
from aggregator.ingest.guard import AddressGuard, GuardedResolver, refuse_private_literal

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = f"Biowire/{__version__} (+{PRODUCT_URL}; feed aggregator)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
# Only codings we decode ourselves, chunk by chunk under the size limit (see `_read_limited`).
ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True)
class FetchLimits:
    """How long and how much one fetch may take."""

    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True)
class ClientOptions:
    concurrency: int = 64
    allow_private_networks: bool = False
    # Networks reachable even with the guard on (an intranet feed server, say): CIDR strings.
    allowed_networks: tuple[str, ...] = ()
    user_agent: str = USER_AGENT


@dataclass
class FetchResult:
    status: int
    final_url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Set when every hop to the final URL was a permanent redirect (301/308).
    moved_permanently_to: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FeedTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface over one aiohttp session, doing per request only what a
    feed GET needs: no body to send, no proxy, decoding left to `_read_limited`."""

    def __init__(
        self, make_session: Callable[[], aiohttp.ClientSession], guard: AddressGuard | None
    ) -> None:
        self._make_session = make_session
        self._session: aiohttp.ClientSession | None = None
        self._guard = guard
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._guard is not None:
            refuse_private_literal(self._guard, request.url.host)
        if self._session is None:
            self._session = self._make_session()
        # `open_feed` hands over aiohttp's form of the URL, made once per URL; formatting
        # and parsing it again cost more than the rest of this method.
        target = request.extensions.get(_AIOHTTP_URL) or str(request.url)
        try:
            response = await self._session.request(
                request.method,
                target,
                headers=request.headers.multi_items(),
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=self._timeout(request.extensions.get("timeout") or {}),
            )
        except Exception as error:
            _raise_as_httpx_error(error)
        # Without a reason from the server, httpx supplies the standard one.
        extensions = {"reason_phrase": response.reason.encode()} if response.reason else {}
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_AiohttpStream(response),
            request=request,
            extensions=extensions,
        )

    def _timeout(self, timeout: dict[str, float | None]) -> aiohttp.ClientTimeout:
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        made = self._timeouts.get(key)
        if made is None:
            made = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1], connect=key[2])
            self._timeouts[key] = made
        return made

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class _AiohttpStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # Whatever has arrived, at most the reader's buffer (64 KiB) at a time: one step per
        # network read, not per fixed-size slice of it.
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as error:
            _raise_as_httpx_error(error)

    async def aclose(self) -> None:
        try:
            await self._response.__aexit__(None, None, None)
        except Exception as error:
            _raise_as_httpx_error(error)


def _raise_as_httpx_error(error: Exception) -> NoReturn:
    """Raise the httpx exception for an aiohttp one, by httpx-aiohttp's table (the most
    specific match wins), or `error` itself. Called from a plain `except` rather than
    httpx-aiohttp's context manager, a generator: three a request cost more than the
    mapping ever does."""
    mapped: type[Exception] | None = None
    for aiohttp_type, httpx_type in AIOHTTP_EXC_MAP.items():
        if isinstance(error, aiohttp_type) and (mapped is None or issubclass(httpx_type, mapped)):
            mapped = httpx_type
    if mapped is None:
        raise error
    raise mapped(str(error)) from error


class FeedClient(httpx.AsyncClient):
    """The client a poll run shares: httpx's API, plus `open_feed`, which with the fast
    paths on hands one GET straight to the transport. `AsyncClient.send` runs cookie, auth
    and event-hook machinery on every request, none of which a feed GET uses (extracting
    cookies alone was a large share of a fetch: BENCHMARKS.md). Either way no cookie is
    kept: a feed poller has no session, and its jar refuses them all."""

    def __init__(self, transport: FeedTransport, headers: dict[str, str]) -> None:
        super().__init__(
            transport=transport, headers=headers, follow_redirects=False,
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        )  # fmt: skip
        self._feed_transport = transport
        self._feed_headers = httpx.Headers(headers)

    async def open_feed(
        self, url: str, headers: list[tuple[str, str]], timeout: httpx.Timeout
    ) -> httpx.Response:
        """GET `url` with the client's headers and `headers`; the body is left to stream.
        With the fast paths off, through httpx's own `send`, as httpx ships it."""
        if not speedups.enabled():
            request = self.build_request("GET", url, headers=headers, timeout=timeout)
            return await self.send(request, stream=True)
        request_headers = httpx.Headers(self._feed_headers)  # a copy, already normalised
        for name, value in headers:
            request_headers[name] = value
        # A GET has no body: given the empty stream, httpx skips encoding one and adding
        # its length (aiohttp adds Host itself).
        parsed, target = _parsed_url(url)
        request = httpx.Request(
            "GET", parsed, headers=request_headers, stream=_NO_BODY,
            extensions={"timeout": timeout.as_dict(), _AIOHTTP_URL: target},
        )  # fmt: skip
        return await self._feed_transport.handle_async_request(request)


_NO_BODY = httpx.ByteStream(b"")
# The request extension that carries the URL as aiohttp takes it (see `_parsed_url`).
_AIOHTTP_URL = "biowire.aiohttp_url"


@functools.lru_cache(maxsize=16384)
def _parsed_url(url: str) -> tuple[httpx.URL, yarl.URL]:
    """`url` as httpx's URL and as aiohttp's, which is made from httpx's normal form.
    Each client parses a URL in Python on every request (aiohttp's own cache holds a few
    hundred); a poll asks for the same URLs every time, and URL objects never change, so
    each is parsed once."""
    parsed = httpx.URL(url)
    return parsed, yarl.URL(str(parsed))


def build_client(options: ClientOptions) -> FeedClient:
    """The one client a poll run shares; the caller closes it."""
    guard = None if options.allow_private_networks else AddressGuard(options.allowed_networks)

    def make_session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=options.concurrency,
            limit_per_host=0,  # per-host politeness is the poller's job, with its semaphores
            resolver=GuardedResolver(guard) if guard else None,
            ttl_dns_cache=300,
        )
        # No cookie jar: a feed poller has no session to keep, and jars grow without bound.
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return FeedClient(
        FeedTransport(make_session, guard),
        {"User-Agent": options.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
    )


async def fetch_feed(
    client: FeedClient,
    url: str,
    limits: FetchLimits,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """GET `url` conditionally, following at most `limits.max_redirects` redirects.

    Returns any 2xx or 304; raises `FetchError` (with a readable message) for everything else.
    """
    try:
        async with asyncio.timeout(limits.total_timeout):
            return await _fetch(client, url, limits, etag, last_modified)
    except TimeoutError as exc:
        raise FetchError(f"no complete answer within {limits.total_timeout:g} s") from exc
    except httpx.TimeoutException as exc:
        # httpx-aiohttp's mapping files every aiohttp connector error under ConnectTimeout;
        # a refused connection or an unknown host is no timeout, and says so.
        if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
            raise FetchError(f"could not connect: {exc.__cause__}") from exc
        raise FetchError(f"timed out: {exc or type(exc).__name__}") from exc
    except httpx.ReadError as exc:
        raise FetchError(
            f"the connection broke before the whole body arrived ({_innermost(exc)})"
        ) from exc
    except httpx.InvalidURL as exc:
        raise FetchError(f"not a valid URL: {exc}") from exc
    except httpx.UnsupportedProtocol as exc:
        # httpx-aiohttp's name for a URL aiohttp will not request, such as one whose host
        # is a shorthand of an IPv4 address (127.1, 2130706433): no protocol is at fault.
        raise FetchError(f"not a valid URL: {exc}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(
            f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        ) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise FetchError(f"connection failed: {exc}") from exc


async def _fetch(
    client: FeedClient,
    url: str,
    limits: FetchLimits,
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    timeout = _timeout(limits)
    headers = []
    if etag:
        headers.append(("If-None-Match", etag))
    if last_modified:
        headers.append(("If-Modified-Since", last_modified))

    current = url
    all_permanent = True
    for _hop in range(limits.max_redirects + 1):
        _check_scheme(current)
        response = await client.open_feed(current, headers, timeout)
        try:
            if response.status_code in REDIRECT_STATUSES:
                location = response.headers.get("location")
                if not location:
                    raise HTTPStatusError(response.status_code, "redirect without a Location")
                all_permanent = all_permanent and response.status_code in (301, 308)
                current = urljoin(current, location)
                continue
            result = FetchResult(
                status=response.status_code,
                final_url=current,
                headers=dict(response.headers.items()),  # the names come lower-cased
                moved_permanently_to=current if all_permanent and current != url else None,
            )
            if response.status_code == 304:
                return result
            if response.status_code >= 400:
                raise HTTPStatusError(
                    response.status_code,
                    f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                    retry_after=retry_after_seconds(result.headers),
                )
            result.body = await _read_limited(response, limits.max_body_bytes)
            return result
        finally:
            await response.aclose()
    raise FetchError(f"more than {limits.max_redirects} redirects (last to {current})")


@functools.lru_cache(maxsize=8)
def _timeout(limits: FetchLimits) -> httpx.Timeout:
    """One `Timeout` per set of limits, not one per request (a poll makes thousands)."""
    return httpx.Timeout(
        connect=limits.connect_timeout, read=limits.read_timeout, write=10.0,
        pool=limits.total_timeout,
    )  # fmt: skip


def _innermost(exc: BaseException) -> str:
    """The message of the root cause: aiohttp's wrappers repeat it inside longer text."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(getattr(exc, "message", "") or exc) or type(exc).__name__


def _check_scheme(url: str) -> None:
    if url[:8].lower().startswith(("http://", "https://")):
        return  # nearly every URL: no need to split it
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme {scheme or '(none)'!r}: only http and https")


async def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    """Read and decode the body, stopping as soon as it passes `max_bytes` after decompression.

    Decoding here rather than in httpx bounds every inflation step: a gzip bomb is cut off
    at the limit, never inflated a whole network chunk (a thousandfold) at a time.
    """
    decoders = [_Decoder(coding) for coding in _codings(response.headers)]
    chunks: list[bytes] = []
    size = 0

    def keep(piece: bytes) -> None:
        nonlocal size
        size += len(piece)
        if size > max_bytes:
            raise BodyTooLarge(f"body larger than {max_bytes:,} bytes (after decompression)")
        chunks.append(piece)

    def decode(data: bytes, stage: int) -> None:
        if stage == len(decoders):
            keep(data)
            return
        for piece in decoders[stage].feed(data, max_bytes + 1):
            decode(piece, stage + 1)

    # With the fast paths on, our transport's stream is read directly: `aiter_raw`'s
    # bookkeeping around it (a context manager, a re-chunker) cost more a response than the
    # reading did.
    stream = response.stream
    raw_chunks: AsyncIterable[bytes]
    if speedups.enabled() and isinstance(stream, _AiohttpStream):
        raw_chunks = stream
    else:
        raw_chunks = response.aiter_raw()
    async for raw in raw_chunks:
        decode(raw, 0)
    return b"".join(chunks)


def _codings(headers: httpx.Headers) -> list[str]:
    """Content codings in the order they must be undone (RFC 9110 §8.4: listed as applied)."""
    listed = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")]
    codings = [c for c in listed if c and c != "identity"]
    for coding in codings:
        if coding not in _Decoder.WBITS:
            raise FetchError(f"unsupported content coding {coding!r} (we ask for gzip or deflate)")
    return list(reversed(codings))


class _Decoder:
    """Incremental gzip/deflate decoding that never yields more than `limit` bytes a step."""

    WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
    STEP = 64 * 1024

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.wbits = self.WBITS[coding]
        self.inflater = zlib.decompressobj(self.wbits)
        # Until a deflate body has produced output, whether it has the zlib wrapper is open:
        # the bytes fed so far are kept to feed again as raw deflate (a network read may
        # bring as little as one byte, too few for zlib to judge its header).
        self.undecided: bytes | None = b"" if coding == "deflate" else None
        self.finished = False

    def feed(self, data: bytes, limit: int) -> Iterable[bytes]:
        produced = 0
        while data and produced < limit and not self.finished:
            try:
                piece = self.inflater.decompress(data, self.STEP)
            except zlib.error as exc:
                if self.undecided is not None and self.wbits != -zlib.MAX_WBITS:
                    # Some servers send raw deflate without the zlib wrapper.
                    self.wbits = -zlib.MAX_WBITS
                    self.inflater = zlib.decompressobj(self.wbits)
                    data, self.undecided = self.undecided + data, None
                    continue
                raise FetchError(f"the body is not valid {self.coding}: {exc}") from exc
            if self.undecided is not None:
                self.undecided = None if piece else self.undecided + data
                if self.undecided is not None and len(self.undecided) > self.STEP:
                    self.undecided = None  # a zlib header long accepted: wrapped after all
            produced += len(piece)
            if piece:
                yield piece
            data = self.inflater.unconsumed_tail
            if self.inflater.eof:
                # Concatenated gzip members are one body (RFC 1952 §2.2); anything else after
                # the end of the stream is padding some servers add, and is ignored.
                data = self.inflater.unused_data
                if data.startswith(b"\x1f\x8b") and self.wbits > zlib.MAX_WBITS:
                    self.inflater = zlib.decompressobj(self.wbits)
                else:
                    self.finished = True


def retry_after_seconds(headers: dict[str, str], now: datetime | None = None) -> int | None:
    """Retry-After as seconds from now (RFC 9110 §10.2.3: delay-seconds or an HTTP-date)."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    return _seconds_until(value, now)


def cache_lifetime_seconds(headers: dict[str, str], now: datetime | None = None) -> int | None:
    """How long the server says the response stays fresh: max-age, else Expires."""
    for directive in headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() in ("max-age", "s-maxage") and value.strip('"').isdigit():
            return int(value.strip('"'))
    expires = headers.get("expires")
    return _seconds_until(expires, now) if expires else None


def _seconds_until(http_date: str, now: datetime | None) -> int | None:
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = (moment - (now or datetime.now(UTC))).total_seconds()
    return max(0, int(delta))
