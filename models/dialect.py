"""The one seam where SQLite and PostgreSQL differ: upserts, text search and row locking.

Queries elsewhere call these helpers and never test the dialect themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.dml import Insert


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_ignoring_conflicts(session: Session, table: Any, index_elements: list[str]) -> Insert:
    """INSERT ... ON CONFLICT (index_elements) DO NOTHING, for the session's dialect."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def text_matches(columns: list[InstrumentedAttribute[Any]], query: str) -> ColumnElement[bool]:
    """A case-insensitive substring match of `query` against any of `columns`.

    Both dialects answer ILIKE (SQLite's LIKE is already case-insensitive for ASCII);
    full-text indexes can replace this here without touching callers.
    """
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


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
