"""Running the web app: uvicorn serving `create_app`, and, for `biowire up`, the poller on
its schedule in the same event loop; or, with several workers, uvicorn's processes, each
making its own app (`web.app.create_app_from_env`)."""

from __future__ import annotations

import asyncio
import contextlib
import os

import uvicorn

from aggregator.service import open_database, poll_forever
from aggregator.settings import Settings
from web.app import create_app


def serve(settings: Settings, background_poll: bool, workers: int = 1) -> None:
    """Serve until stopped; with `background_poll`, poll what is due on schedule too (in
    this one process: the poller must run once, not once a worker)."""
    if workers > 1:
        if background_poll:
            raise ValueError("polling on schedule runs in one process: serve with one worker")
        serve_workers(settings, workers)
        return

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


def serve_workers(settings: Settings, workers: int) -> None:
    """Serve with `workers` processes: this one binds the socket and looks after them
    (restarting one that dies, stopping them all on SIGINT or SIGTERM); each makes its own
    app from the environment, which is set here to these settings, so that none is lost
    (a command-line option, a setting a command changed).

    Each worker opens its own engine in the app's lifespan, after it has started: no
    connection is shared between processes. On SQLite, WAL lets readers go on while one
    writes, and the busy timeout (`models.db.make_engine`) makes a writer wait its turn.
    """
    for name, value in settings.environment().items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    uvicorn.run(
        "web.app:create_app_from_env", factory=True, host=settings.host, port=settings.port,
        workers=workers, log_level="warning",
    )  # fmt: skip
