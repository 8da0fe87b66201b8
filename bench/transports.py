"""HTTP client transports side by side: `python -m bench.transports`.

A local keep-alive server (its own process) answers ~30 KB bodies; each client makes the
same 2,000 GETs with the given number of connections: plain httpx at 8 and 64, httpx over
httpx-aiohttp's transport, httpx over Biowire's own transport (`aggregator.ingest.fetch`), the
whole of Biowire's `fetch_feed` on that client, and bare aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
import httpx
from aiohttp import web
from httpx_aiohttp import AiohttpTransport

from bench.servers import serve_on_loopback

BODY = (b"<item><title>Biometric gates</title><description>" + b"x" * 400 + b"</description>"
        b"</item>") * 65  # fmt: skip


def _serve(port_out: multiprocessing.Queue) -> None:
    async def answer(_request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="application/rss+xml")

    async def main() -> None:
        _runner, port = await serve_on_loopback("/feed/{n}", answer)
        port_out.put(port)
        await asyncio.Event().wait()

    asyncio.run(main())


async def _run_all(urls: list[str], concurrency: int, get: Callable[[str], Awaitable[int]]) -> int:
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str) -> int:
        async with gate:
            return await get(url)

    return sum(await asyncio.gather(*(one(u) for u in urls)))


async def plain_httpx(urls: list[str], connections: int) -> int:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits) as client:
        return await _run_all(urls, connections, lambda u: _httpx_get(client, u))


async def httpx_over_aiohttp(urls: list[str], connections: int) -> int:
    def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections))

    async with httpx.AsyncClient(transport=AiohttpTransport(client=session)) as client:
        return await _run_all(urls, connections, lambda u: _httpx_get(client, u))


async def httpx_over_feed_transport(urls: list[str], connections: int) -> int:
    from aggregator.ingest.fetch import ClientOptions, build_client

    options = ClientOptions(concurrency=connections, allow_private_networks=True)
    async with build_client(options) as client:
        return await _run_all(urls, connections, lambda u: _httpx_get(client, u))


async def biowire_fetch_feed(urls: list[str], connections: int) -> int:
    from aggregator.ingest.fetch import ClientOptions, FetchLimits, build_client, fetch_feed

    options = ClientOptions(concurrency=connections, allow_private_networks=True)
    limits = FetchLimits()

    async def get(client: httpx.AsyncClient, url: str) -> int:
        return len((await fetch_feed(client, url, limits)).body)

    async with build_client(options) as client:
        return await _run_all(urls, connections, lambda u: get(client, u))


async def _httpx_get(client: httpx.AsyncClient, url: str) -> int:
    return len((await client.get(url)).content)


async def bare_aiohttp(urls: list[str], connections: int) -> int:
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def get(url: str) -> int:
            async with session.get(url) as response:
                return len(await response.read())

        return await _run_all(urls, connections, get)


CLIENTS: list[tuple[str, Callable[[list[str], int], Coroutine[Any, Any, int]], int]] = [
    ("httpx AsyncClient, 8 connections", plain_httpx, 8),
    ("httpx AsyncClient, 64 connections", plain_httpx, 64),
    ("httpx over aiohttp transport, 8", httpx_over_aiohttp, 8),
    ("httpx over aiohttp transport, 64", httpx_over_aiohttp, 64),
    ("httpx over Biowire's transport, 64", httpx_over_feed_transport, 64),
    ("Biowire fetch_feed, 64", biowire_fetch_feed, 64),
    ("bare aiohttp, 64", bare_aiohttp, 64),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="run the clients whose name has this")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue = context.Queue()
    server = context.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    port = ports.get(timeout=60)
    urls = [f"http://127.0.0.1:{port}/feed/{n}" for n in range(args.requests)]
    print(f"{args.requests} GETs of {len(BODY):,} bytes, keep-alive server on 127.0.0.1, "
          f"{os.cpu_count()} CPUs; median of {args.repeats}")  # fmt: skip
    try:
        for name, client, connections in CLIENTS:
            if args.only.lower() not in name.lower():
                continue
            rates = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                total = asyncio.run(client(urls, connections))
                rates.append(args.requests / (time.perf_counter() - started))
                assert total == len(BODY) * args.requests
            print(f"  {name:36} {statistics.median(rates):7.0f} requests/s")
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
