"""The one seam where SQLite and PostgreSQL differ: upserts, bulk inserts, text search and
row locking.

Queries elsewhere call these helpers and never test the dialect themselves.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Dialect, Select, Table, func, insert, or_
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


def select_in(
    connection: Connection, statement: Select[Any], values: Sequence[Any], **params: Any
) -> list[tuple[Any, ...]]:
    """The rows of `statement` when its expanding parameter `values` holds `values` and its
    other parameters hold `params`, as plain tuples.

    On SQLite, a statement whose parameters and columns need no conversion (ids and text)
    goes straight to the driver, its text made once per length of `values`: SQLAlchemy's
    work for each execution (the cache key, expanding the IN list, the result object) cost
    several times SQLite's own for the small lookups a poll's writer makes by the
    thousand. Anything else, and PostgreSQL, goes through SQLAlchemy.
    """
    dialect = connection.dialect
    driver = _driver_select(dialect, statement, len(values)) if dialect.name == "sqlite" else None
    if driver is None:
        result = connection.execute(statement, {"values": list(values), **params})
        return [tuple(row) for row in result]
    text, names = driver
    slots = iter(values)
    arguments = tuple(params[name] if name in params else next(slots) for name in names)
    # The driver's own cursor, on the connection (and so in the transaction) of the rest.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(text, arguments)
        return list(cursor.fetchall())
    finally:
        cursor.close()


@functools.lru_cache(maxsize=256)
def _driver_select(
    dialect: Dialect, statement: Select[Any], count: int
) -> tuple[str, tuple[str, ...]] | None:
    """The text of `statement` with `count` placeholders for its `values`, and the names of
    its parameters in the order of the placeholders; None if a parameter or a column has a
    conversion the driver would skip."""
    binds = statement.compile(dialect=dialect).binds
    if any(b.type.dialect_impl(dialect).bind_processor(dialect) for b in binds.values()):
        return None
    # Placeholder values: only their number (for the IN list) shapes the text.
    placeholders = {name: [None] * count if b.expanding else None for name, b in binds.items()}
    compiled = statement.params(placeholders).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    columns = [column.type for column in statement.selected_columns]
    if any(t.dialect_impl(dialect).result_processor(dialect, None) for t in columns):
        return None
    return str(compiled), tuple(compiled.positiontup or ())


def insert_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `rows` (values in the order of `columns`) into `table`. `columns` must name
    every column that has a default: no default is filled in.

    On SQLite, straight to the driver's `executemany` with each value converted by its
    column's own type: SQLAlchemy's per-row bookkeeping for an executemany cost more than
    SQLite's insert itself, and a poll inserts rows by the hundred thousand. On PostgreSQL,
    SQLAlchemy's own batched INSERT ... VALUES, which is the fast path there.
    """
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name != "sqlite":
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    statement, order, converters = _driver_insert(dialect, table, tuple(columns))
    # A column often holds one value all the way down (when the rows were fetched, which
    # model tagged them): converted once, not once a row.
    unseen = object()
    last_value: list[Any] = [unseen] * len(converters)
    last_converted: list[Any] = [None] * len(converters)
    values = []
    for row in rows:
        ordered = list(order(row))
        for slot, (index, convert) in enumerate(converters):
            value = ordered[index]
            if value is not last_value[slot]:
                last_value[slot], last_converted[slot] = value, convert(value)
            ordered[index] = last_converted[slot]
        values.append(tuple(ordered))
    connection.exec_driver_sql(statement, values)


@functools.lru_cache(maxsize=64)
def _driver_insert(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[str, Callable[[Sequence[Any]], Sequence[Any]], list[tuple[int, Callable[[Any], Any]]]]:
    """The INSERT's text for the driver; how to put a row's values (given in the order of
    `columns`) in the statement's order; and the conversion of each value whose column's
    type has one, by its position in the statement."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    names = list(compiled.positiontup or ())
    if sorted(names) != sorted(columns):
        raise ValueError(f"every column of the INSERT must be given: {names} vs {columns}")
    positions = [columns.index(name) for name in names]
    order: Callable[[Sequence[Any]], Sequence[Any]] = (
        operator.itemgetter(*positions) if len(positions) > 1 else lambda row: row
    )
    converters: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(names):
        convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            converters.append((index, convert))
    return str(compiled), order, converters
