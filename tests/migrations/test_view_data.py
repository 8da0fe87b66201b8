"""The view-data migration on a database that already holds tagged articles: the upgrade
stamps each article's last change with its fetch time and counts the tags per topic and
day; the downgrade takes both away and leaves the articles and tags; upgrading again
counts what was written in between. On SQLite, and on PostgreSQL when one answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from aggregator.database import downgrade_database, upgrade_database
from models import make_engine
from tests.fixtures.postgres import scratch_database

PREVIOUS = "20261207_1600_models_as_data"
REVISION = "20261207_1850_view_data"
FETCHED = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)

_ARTICLES = sa.table(
    "articles",
    sa.column("id", sa.Integer()),
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
_TOPICS = sa.table("topics", sa.column("id", sa.Integer()), sa.column("slug", sa.String()),
                   sa.column("name", sa.String()), sa.column("definition", sa.Text()),
                   sa.column("position", sa.Integer()))  # fmt: skip
_TAGS = sa.table("article_topics", sa.column("article_id", sa.Integer()),
                 sa.column("topic_id", sa.Integer()), sa.column("score", sa.Float()),
                 sa.column("origin", sa.String()), sa.column("why", sa.JSON()))  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def previous_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    made: AbstractContextManager[str]
    if request.param == "sqlite":
        made = nullcontext(f"sqlite:///{tmp_path / 'before-view-data.db'}")
    else:
        made = scratch_database(PREVIOUS)
    with made as url:
        upgrade_database(url, PREVIOUS)
        yield url


def _write(url: str, first_id: int, tags: dict[int, list[int]]) -> None:
    """Articles `first_id`, `first_id + 1`... published a day apart, tagged with `tags`."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            if first_id == 1:
                connection.execute(sa.insert(_TOPICS), [
                    {"id": n, "slug": f"topic-{n}", "name": f"Topic {n}", "definition": "",
                     "position": n} for n in (1, 2)
                ])  # fmt: skip
            ids = range(first_id, first_id + len(tags))
            connection.execute(sa.insert(_ARTICLES), [
                {"id": i, "dedup_key": f"https://news.example.org/{i}", "title": f"Story {i}",
                 "summary_html": "", "content_html": "", "text": "", "categories": [],
                 "content_hash": str(i), "fetched_at": FETCHED,
                 "published_at": datetime(2026, 11, 1, 12, tzinfo=UTC) + timedelta(days=i % 2)}
                for i in ids
            ])  # fmt: skip
            connection.execute(sa.insert(_TAGS), [
                {"article_id": i, "topic_id": t, "score": 0.9, "origin": "model", "why": []}
                for i, topics in zip(ids, tags.values(), strict=True) for t in topics
            ])  # fmt: skip
    finally:
        engine.dispose()


def _counts(url: str) -> dict[tuple[int, date], int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT topic_id, day, articles FROM topic_daily_counts")
            )
            return {(t, d if isinstance(d, date) else date.fromisoformat(d)): n
                    for t, d, n in rows if n}  # fmt: skip
    finally:
        engine.dispose()


def _columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("articles")}
    finally:
        engine.dispose()


def test_the_migration_stamps_and_counts_what_is_there(previous_url: str) -> None:
    nov1, nov2 = date(2026, 11, 1), date(2026, 11, 2)
    # Ids 1..3: 1 and 3 on 2 November, 2 on 1 November.
    _write(previous_url, 1, {1: [1, 2], 2: [1], 3: [1]})
    upgrade_database(previous_url, REVISION)
    assert _counts(previous_url) == {(1, nov2): 2, (2, nov2): 1, (1, nov1): 1}
    engine = make_engine(previous_url)
    with engine.connect() as connection:
        stamps = connection.execute(sa.text("SELECT changed_at, fetched_at FROM articles"))
        assert all(changed == fetched for changed, fetched in stamps)
    engine.dispose()

    downgrade_database(previous_url, PREVIOUS)
    assert "changed_at" not in _columns(previous_url)
    engine = make_engine(previous_url)
    assert "topic_daily_counts" not in sa.inspect(engine).get_table_names()
    engine.dispose()

    _write(previous_url, 4, {4: [2]})  # 4: 1 November, written while downgraded
    upgrade_database(previous_url, REVISION)
    assert _counts(previous_url) == {(1, nov2): 2, (2, nov2): 1, (1, nov1): 1, (2, nov1): 1}
    assert "changed_at" in _columns(previous_url)
