"""The dialect seam's lookups and bulk inserts give what SQLAlchemy's own execution gives,
with SQLite's driver called directly (the fast paths on) and without (off)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, bindparam, event, insert, select, text

from models import Article, make_engine
from models.dialect import insert_rows, select_in
from models.sqlite_driver import _compiled_select

# Both ways through the seam; the `fast_paths` fixture (tests/conftest.py) sets the switch.
both_paths = pytest.mark.parametrize("fast_paths", [True, False], ids=["driver", "sqlalchemy"])

_ARTICLES = cast(Table, Article.__table__)
# Every column that has a default must be given (see the next test).
_COLUMNS = (
    "dedup_key", "title", "categories", "published_at", "updated_at", "content_hash",
    "summary_html", "content_html", "text", "fetched_at", "changed_at",
)  # fmt: skip
_FETCHED = datetime(2026, 3, 2, tzinfo=UTC)


def _row(key: str, published: datetime) -> tuple[Any, ...]:
    return (key, f"Title {key}", ["gates", "kiosks"], published, None, "0" * 64,
            "<p>Body</p>", "", "Body", _FETCHED, _FETCHED)  # fmt: skip


@both_paths
def test_insert_rows_stores_the_text_sqlalchemy_would(database_url: str) -> None:
    # Out of the table's column order, a zone other than UTC, and microseconds of 0.
    columns = tuple(reversed(_COLUMNS))
    paris = timezone(timedelta(hours=1))
    published = datetime(2026, 3, 1, 9, 30, 0, tzinfo=paris)
    rows = [_row("a", published), _row("b", published.replace(microsecond=7))]
    engine = make_engine(database_url)
    with engine.begin() as connection:
        insert_rows(connection, _ARTICLES, columns, [tuple(reversed(r)) for r in rows])
        connection.execute(
            insert(_ARTICLES),
            [dict(zip(_COLUMNS, _row("core-" + r[0], r[3]), strict=True)) for r in rows],
        )
    with engine.connect() as connection:
        stored = {
            key: (published_at, categories, updated_at)
            for key, published_at, categories, updated_at in connection.execute(
                text("SELECT dedup_key, published_at, categories, updated_at FROM articles")
            )
        }
        read = {a.dedup_key: a for a in connection.execute(select(_ARTICLES))}
    engine.dispose()
    expected = ("2026-03-01 08:30:00.000000", '["gates", "kiosks"]', None)
    assert stored["a"] == stored["core-a"] == expected
    assert stored["b"] == stored["core-b"]
    assert read["b"].published_at == published.replace(microsecond=7).astimezone(UTC)
    assert read["a"].categories == ["gates", "kiosks"]


def test_insert_rows_refuses_a_partial_row_set_on_the_drivers_path(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection, pytest.raises(ValueError, match="every column"):
        # `fetched_at` has a default that SQLAlchemy would fill in; this path does not.
        insert_rows(connection, _ARTICLES, ("dedup_key",), [("only-a-key",)])
    engine.dispose()


@pytest.mark.parametrize("fast_paths", [False], ids=["sqlalchemy"])
def test_insert_rows_off_the_fast_path_is_sqlalchemys_own(database_url: str) -> None:
    columns = ("dedup_key", "title", "published_at", "content_hash")
    row = ("a-key", "Title", datetime(2026, 3, 1, tzinfo=UTC), "0" * 64)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        insert_rows(connection, _ARTICLES, columns, [row])
        [fetched_at] = connection.execute(select(_ARTICLES.c.fetched_at)).scalars()
    engine.dispose()
    assert fetched_at is not None  # the column's default, filled in by SQLAlchemy


@both_paths
def test_select_in_finds_what_sqlalchemy_finds(database_url: str) -> None:
    published = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        insert_rows(connection, _ARTICLES, _COLUMNS, [_row(k, published) for k in "abcd"])
    by_key = select(_ARTICLES.c.dedup_key, _ARTICLES.c.id).where(
        _ARTICLES.c.dedup_key.in_(bindparam("values", expanding=True)),
        _ARTICLES.c.title != bindparam("title"),
    )
    # A column the driver would return as text: SQLAlchemy's own path, converted.
    dates = select(_ARTICLES.c.published_at).where(
        _ARTICLES.c.dedup_key.in_(bindparam("values", expanding=True))
    )
    with engine.connect() as connection:
        found = select_in(connection, by_key, ["a", "c", "d", "zz"], title="Title d")
        expected = connection.execute(
            by_key, {"values": ["a", "c", "d", "zz"], "title": "Title d"}
        ).all()
        assert sorted(found) == sorted(tuple(row) for row in expected)
        assert sorted(key for key, _ in found) == ["a", "c"]
        assert [key for key, _ in select_in(connection, by_key, ["b"], title="")] == ["b"]
        assert select_in(connection, dates, ["a"]) == [(published,)]
        # The first can go straight to the driver on SQLite; the second cannot.
        assert _compiled_select(connection.dialect, by_key, 4) is not None
        assert _compiled_select(connection.dialect, dates, 1) is None
    engine.dispose()


@pytest.fixture
def compiled_statements(database_url: str) -> Iterator[tuple[Engine, list[bool]]]:
    """An engine, and for each statement it sends through SQLAlchemy's execution or
    `exec_driver_sql`, whether SQLAlchemy compiled it (a direct cursor sends none)."""
    engine = make_engine(database_url)
    compiled: list[bool] = []

    def record(*args: Any) -> None:  # (conn, cursor, statement, params, context, many)
        compiled.append(args[4].compiled is not None)

    event.listen(engine, "before_cursor_execute", record)
    yield engine, compiled
    engine.dispose()


@pytest.mark.parametrize(
    ("fast_paths", "sent"),
    [(True, [False]), (False, [True, True])],
    ids=["driver", "sqlalchemy"],
)
def test_the_switch_chooses_who_runs_the_statements(
    compiled_statements: tuple[Engine, list[bool]], sent: list[bool]
) -> None:
    engine, compiled = compiled_statements
    published = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    by_key = select(_ARTICLES.c.id).where(
        _ARTICLES.c.dedup_key.in_(bindparam("values", expanding=True))
    )
    with engine.begin() as connection:
        insert_rows(connection, _ARTICLES, _COLUMNS, [_row("a", published)])
        assert len(select_in(connection, by_key, ["a"])) == 1
    # The driver's path: the insert as driver SQL, the lookup on a cursor of its own
    # (unseen); SQLAlchemy's: both compiled by it.
    assert compiled == sent


@both_paths
@pytest.mark.parametrize("variables", [None, 25], ids=["default-limit", "25-variables"])
def test_insert_rows_stores_every_row_of_a_large_batch(
    database_url: str, variables: int | None
) -> None:
    # The driver's path inserts many rows a statement, as many as SQLite's limit on a
    # statement's variables allows (25 allows two rows of ten columns).
    rows = [_row(f"key-{n}", datetime(2026, 3, 1, tzinfo=UTC)) for n in range(1234)]
    engine = make_engine(database_url)
    with engine.begin() as connection:
        if variables is not None:
            driver = connection.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, variables)
        insert_rows(connection, _ARTICLES, _COLUMNS, rows)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT dedup_key, title FROM articles ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in stored] == [(row[0], row[1]) for row in rows]
