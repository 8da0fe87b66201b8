"""The one seam where SQLite and PostgreSQL differ: upserts, bulk inserts and row locking
(full-text search, FTS5 or a tsvector, is `models.search`'s).

Queries elsewhere call these helpers and never test the dialect themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, func, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.dml import Insert

from models import sqlite_driver


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_ignoring_conflicts(session: Session, table: Any, index_elements: list[str]) -> Insert:
    """INSERT ... ON CONFLICT (index_elements) DO NOTHING, for the session's dialect."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def json_array_nonempty(column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """True where a JSON array column holds at least one element (both dialects have
    json_array_length; PostgreSQL cannot compare a json value with a string)."""
    return func.json_array_length(column) > 0


def for_update_skip_locked(session: Session, statement: Select[Any]) -> Select[Any]:
    """Claim rows so concurrent pollers never take the same one (a no-op on SQLite,
    where the single writer lock already serialises them)."""
    if dialect_name(session) == "postgresql":
        return statement.with_for_update(skip_locked=True)
    return statement


def select_in(
    connection: Connection, statement: Select[Any], values: Sequence[Any], **params: Any
) -> list[tuple[Any, ...]]:
    """The rows of `statement` when its expanding parameter `values` holds `values` and its
    other parameters hold `params`, as plain tuples.

    On SQLite, with the fast paths on, a statement whose parameters and columns need no
    conversion (ids and text) goes straight to the driver (`models.sqlite_driver`: a poll's
    writer makes these small lookups by the thousand). Anything else, and PostgreSQL, goes
    through SQLAlchemy.
    """
    if connection.dialect.name == "sqlite" and sqlite_driver.enabled():
        rows = sqlite_driver.select_rows(connection, statement, values, params)
        if rows is not None:
            return rows
    result = connection.execute(statement, {"values": list(values), **params})
    return [tuple(row) for row in result]


def insert_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `rows` (values in the order of `columns`) into `table`. `columns` must name
    every column that has a default: the driver's path fills none in, and refuses a
    partial set (SQLAlchemy's own fills them in).

    On SQLite, with the fast paths on, straight to the driver, hundreds of rows a
    statement (`models.sqlite_driver`: a poll inserts rows by the hundred thousand, and
    the search index's triggers cost least that way). Otherwise
    SQLAlchemy's own executemany; on PostgreSQL its batched INSERT ... VALUES, which is
    the fast path there.
    """
    if not rows:
        return
    if connection.dialect.name == "sqlite" and sqlite_driver.enabled():
        sqlite_driver.insert_rows(connection, table, columns, rows)
        return
    connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
