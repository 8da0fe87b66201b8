"""The application factory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from aggregator import __version__
from aggregator.database import require_current_schema
from aggregator.digest.items import snippet, source_names, tags_of
from aggregator.digest.view import TopicCatalogue
from aggregator.settings import Settings, get_settings
from aggregator.taxonomy import default_taxonomy
from models import make_engine, make_session_factory, session_scope
from models.queries import list_topics
from web import openapi, schemas
from web.caching import KnownViewsFirst, VersionProbe, ViewCache
from web.errors import install_error_handlers
from web.presenters import local_clock, local_time, marked, rfc3339, web_link
from web.routes import api, browse, editing, feeds, pages
from web.security import SecurityHeaders


def _templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(resources.files("web").joinpath("templates")))
    # Times are shown in the site's zone (`BIOWIRE_TIMEZONE`); `<time datetime>` in UTC.
    templates.env.filters["hhmm"] = partial(local_clock, zone=settings.zone)
    templates.env.filters["local_time"] = partial(local_time, zone=settings.zone)
    templates.env.filters["rfc3339"] = rfc3339
    templates.env.filters["marked"] = marked
    templates.env.globals.update(
        version=__version__,
        tags_of=tags_of,
        source_names=source_names,
        snippet=snippet,
        web_link=web_link,
    )
    templates.env.globals.update(editing=editing.editing, sign_in_url=editing.sign_in_url)
    return templates


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        try:
            require_current_schema(engine)
            app.state.engine = engine
            app.state.session_factory = make_session_factory(engine)
            app.state.version_probe = VersionProbe(engine)
            yield
        finally:
            probe = getattr(app.state, "version_probe", None)
            if probe is not None:
                probe.close()
            engine.dispose()

    app = FastAPI(title="Biowire", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.templates = _templates(settings)
    app.state.view_cache = ViewCache(settings.response_cache_entries)
    app.state.topics = TopicCatalogue()
    app.add_middleware(KnownViewsFirst, owner=app)
    # Added last, so outermost: the answers `KnownViewsFirst` gives get the headers too.
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(editing.router)
    # After the feeds: `/topics/{slug}` would otherwise also take `/topics/{slug}.rss`.
    app.include_router(browse.router)
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("web").joinpath("static"))),
        name="static",
    )

    openapi.install_openapi(app, lambda: _topic_slugs(app))

    @app.get(
        "/healthz", response_model=None,
        responses={**openapi.json_ok(schemas.Health), **openapi.SERVER_ERROR},
    )  # fmt: skip
    async def healthz() -> dict[str, Any]:
        # On the event loop, on the connection the views' version check uses
        # (`web.caching.VersionProbe`): one trivial query costs less than a worker thread.
        app.state.version_probe.ping()
        # The pid tells which worker answered, when several serve (`--workers`).
        return {"status": "ok", "version": __version__, "pid": os.getpid()}

    return app


def create_app_from_env() -> FastAPI:
    """The app of one of several worker processes (`biowire serve --workers N`), made in
    the worker: its settings are the environment's, which the command set to its own
    (`web.server.serve_workers`), and it sets up the process as every command does."""
    from aggregator import speedups
    from aggregator.logs import configure_logging

    settings = get_settings()
    speedups.set_enabled(settings.fast_paths)
    configure_logging(settings.log_level)
    return create_app(settings)


def _topic_slugs(app: FastAPI) -> tuple[list[str], bool]:
    """The database's topics once the app has started; before, the taxonomy's, which the
    database mirrors (plus any topic it has since dropped: rows are never deleted)."""
    factory = getattr(app.state, "session_factory", None)
    if factory is None:
        return [topic.slug for topic in default_taxonomy()], False
    with session_scope(factory) as session:
        return [topic.slug for topic in list_topics(session)], True
