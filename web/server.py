"""Running the web app: uvicorn serving `create_app`, and, for `biowire up`, the poller on
its schedule in the same event loop."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn

from aggregator.service import open_database, poll_forever
from aggregator.settings import Settings
from web.app import create_app


def serve(settings: Settings, background_poll: bool) -> None:
    """Serve until stopped; with `background_poll`, poll what is due on schedule too."""

    async def run() -> None:
        config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                                log_level="warning")  # fmt: skip
        server = uvicorn.Server(config)
        poller = None
        if background_poll:
            db = open_database(settings)
            poller = asyncio.create_task(poll_forever(settings, db))
        try:
            await server.serve()
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
                db.close()

    asyncio.run(run())
