"""The index on each source's last poll, which the data's version reads on every request:
the upgrade adds it, the downgrade takes it away and leaves the sources as they were, and
the version then asks the index for the newest poll. On SQLite, and on PostgreSQL when
one answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from aggregator.database import downgrade_database, upgrade_database
from models import make_engine
from models.queries import data_version
from tests.fixtures.postgres import scratch_database

PREVIOUS = "20261207_1900_full_text_search"
REVISION = "20261207_2345_source_poll_index"
POLLED = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def previous_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    made: AbstractContextManager[str]
    if request.param == "sqlite":
        made = nullcontext(f"sqlite:///{tmp_path / 'before-poll-index.db'}")
    else:
        made = scratch_database(PREVIOUS)
    with made as url:
        upgrade_database(url, PREVIOUS)
        yield url


def _indexes(engine: sa.Engine) -> set[str]:
    return {index["name"] or "" for index in sa.inspect(engine).get_indexes("sources")}


def test_the_index_comes_and_goes_and_the_sources_stay(previous_url: str) -> None:
    sources = sa.table("sources", sa.column("url", sa.String()),
                       sa.column("created_at", sa.DateTime(timezone=True)),
                       sa.column("last_polled_at", sa.DateTime(timezone=True)),
                       sa.column("consecutive_failures", sa.Integer()),
                       sa.column("last_new_articles", sa.Integer()))  # fmt: skip
    engine = make_engine(previous_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(sources), [
                {"url": f"https://feeds.example/{n}", "created_at": POLLED,
                 "last_polled_at": POLLED if n else None,
                 "consecutive_failures": 0, "last_new_articles": 0} for n in range(3)
            ])  # fmt: skip
        upgrade_database(previous_url, REVISION)
        assert "ix_sources_last_polled_at" in _indexes(engine)
        with engine.connect() as connection:
            *_, newest_poll = data_version(connection)
            assert newest_poll == POLLED

        downgrade_database(previous_url, PREVIOUS)
        assert "ix_sources_last_polled_at" not in _indexes(engine)
        with engine.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(sources)) == 3
    finally:
        engine.dispose()
