"""The full-text search migration on a database that already holds articles: the upgrade
indexes them, the downgrade takes the index away and leaves the articles, and upgrading
again indexes what was written in between. On SQLite, and on PostgreSQL when one answers
(see `tests/fixtures/postgres.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from aggregator.database import downgrade_database, upgrade_database
from models import make_engine, make_session_factory, session_scope
from models.queries import ArticleFilter, list_articles
from tests.fixtures.postgres import scratch_database

PREVIOUS = "20261207_1600_models_as_data"
REVISION = "20261207_1900_full_text_search"

# The table as the previous revision made it, for rows written as that version did.
_ARTICLES = sa.table(
    "articles",
    sa.column("dedup_key", sa.String()),
    sa.column("title", sa.Text()),
    sa.column("summary_html", sa.Text()),
    sa.column("content_html", sa.Text()),
    sa.column("text", sa.Text()),
    sa.column("categories", sa.JSON()),
    sa.column("content_hash", sa.String()),
    sa.column("published_at", sa.DateTime(timezone=True)),
    sa.column("fetched_at", sa.DateTime(timezone=True)),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def previous_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at the revision before full-text search."""
    made: AbstractContextManager[str]
    if request.param == "sqlite":
        made = nullcontext(f"sqlite:///{tmp_path / 'before-search.db'}")
    else:
        made = scratch_database(PREVIOUS)
    with made as url:
        upgrade_database(url, PREVIOUS)
        yield url


def write_articles(url: str, *titles: str) -> None:
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(_ARTICLES),
                [
                    {"dedup_key": f"https://news.example.org/{title}", "title": title,
                     "summary_html": "", "content_html": "", "categories": [],
                     "text": f"The story of {title.lower()}.", "content_hash": "0" * 64,
                     "published_at": now, "fetched_at": now}
                    for title in titles
                ],
            )  # fmt: skip
    finally:
        engine.dispose()


def found(url: str, q: str) -> list[str]:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return sorted(a.title for a in list_articles(session, ArticleFilter(query=q)))
    finally:
        engine.dispose()


def search_objects(url: str) -> set[str]:
    """The tables, triggers, columns and indexes the migration makes, where they exist."""
    engine = make_engine(url)
    try:
        inspector = sa.inspect(engine)
        names = {c["name"] for c in inspector.get_columns("articles")}
        names |= {i["name"] or "" for i in inspector.get_indexes("articles")}
        names |= set(inspector.get_table_names())
        if engine.dialect.name == "sqlite":
            # With the FTS5 table's own shadow tables (articles_fts_data...).
            every = sa.text("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
            with engine.connect() as connection:
                names |= set(connection.scalars(every))
        return {n for n in names if "fts" in n or "search" in n}
    finally:
        engine.dispose()


def test_upgrade_indexes_stored_articles_and_downgrade_keeps_them(previous_url: str) -> None:
    write_articles(previous_url, "Airport kiosks", "Border gates")

    upgrade_database(previous_url, REVISION)
    assert found(previous_url, "kiosk") == ["Airport kiosks"]
    assert found(previous_url, "airport OR border") == ["Airport kiosks", "Border gates"]

    downgrade_database(previous_url, PREVIOUS)
    assert search_objects(previous_url) == set()
    # Written by the previous version, with no index to keep in step.
    write_articles(previous_url, "Station turnstiles")

    upgrade_database(previous_url, REVISION)
    assert found(previous_url, "turnstiles") == ["Station turnstiles"]
    assert found(previous_url, "story") == ["Airport kiosks", "Border gates", "Station turnstiles"]
    sqlite = previous_url.startswith("sqlite")
    assert search_objects(previous_url) == (  # fmt: skip
        {
            "articles_fts",
            "articles_fts_insert",
            "articles_fts_update",
            "articles_fts_delete",
            "articles_fts_data",
            "articles_fts_idx",
            "articles_fts_docsize",
            "articles_fts_config",
        }
        if sqlite
        else {"search_vector", "ix_articles_search_vector"}
    )
