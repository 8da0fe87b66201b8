from __future__ import annotations

import asyncio

import pytest

from aggregator.database import downgrade_database, require_current_schema
from aggregator.errors import SchemaOutOfDate
from aggregator.settings import Settings
from models import make_engine
from web.app import create_app


def test_app_refuses_a_database_behind_head(empty_database_url: str) -> None:
    app = create_app(Settings(database_url=empty_database_url))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(SchemaOutOfDate, match="biowire db upgrade"):
        asyncio.run(start())


def test_downgraded_database_is_reported(database_url: str) -> None:
    downgrade_database(database_url, "base")
    engine = make_engine(database_url)
    try:
        with pytest.raises(SchemaOutOfDate, match="no Biowire schema"):
            require_current_schema(engine)
    finally:
        engine.dispose()
