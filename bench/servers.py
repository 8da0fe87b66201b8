"""The benchmarks' local HTTP servers: an aiohttp app on loopback, in its own process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve_on_loopback(
    route: str, handler: Handler, addresses: int = 1
) -> tuple[web.AppRunner, int]:
    """Serve `handler` at `route` on 127.0.0.1 (and 127.0.0.2 … up to `addresses`, all on
    the same port, so that a client sees that many hosts); returns the runner and port."""
    app = web.Application()
    app.router.add_get(route, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    first = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await first.start()
    port: int = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    for host in range(2, addresses + 1):
        await web.TCPSite(runner, f"127.0.0.{host}", port, backlog=1024).start()
    return runner, port
