"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text

from aggregator import __version__
from aggregator.database import require_current_schema
from aggregator.digest.items import snippet, source_names, tags_of
from aggregator.digest.view import TopicCatalogue
from aggregator.settings import Settings, get_settings
from models import make_engine, make_session_factory
from web.caching import ViewCache
from web.errors import install_error_handlers
from web.presenters import marked
from web.routes import api, feeds, pages


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(resources.files("web").joinpath("templates")))
    templates.env.filters["hhmm"] = _hhmm
    templates.env.filters["marked"] = marked
    templates.env.globals.update(
        version=__version__, tags_of=tags_of, source_names=source_names, snippet=snippet
    )
    return templates


def _hhmm(moment: datetime | None) -> str:
    return moment.strftime("%H:%M") if moment else ""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        try:
            require_current_schema(engine)
            app.state.engine = engine
            app.state.session_factory = make_session_factory(engine)
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="Biowire", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.templates = _templates()
    app.state.view_cache = ViewCache(settings.response_cache_entries)
    app.state.topics = TopicCatalogue()
    install_error_handlers(app)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("web").joinpath("static"))),
        name="static",
    )

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        with app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    return app
