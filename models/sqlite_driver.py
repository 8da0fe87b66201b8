"""SQLite's driver called directly, in place of SQLAlchemy's execution, for the two kinds of
statement a poll runs by the thousand: the small lookups of `models.dialect.select_in` and
the bulk inserts of `models.dialect.insert_rows`. Each gives exactly SQLAlchemy's result.

Why: for a small lookup, SQLAlchemy's work for each execution (the cache key, expanding the
IN list, the result object) cost several times SQLite's own; for a bulk insert, its per-row
bookkeeping for an executemany cost more than SQLite's insert itself, and a poll inserts
rows by the hundred thousand (the figures are in BENCHMARKS.md).

`models.dialect` takes these paths on SQLite only, and only while `enabled()`. The switch
is set where a process starts (`aggregator.speedups.set_enabled`, from the `fast_paths`
setting: `models` reads no settings); switched off, every statement goes through
SQLAlchemy as shipped.
"""

from __future__ import annotations

import functools
import itertools
import operator
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Select, Table, insert

_enabled = True


def enabled() -> bool:
    """Whether `models.dialect` sends its lookups and bulk inserts to the driver directly."""
    return _enabled


def set_enabled(flag: bool) -> None:
    """Take the driver's path (True) or SQLAlchemy's own execution (False) from now on."""
    global _enabled
    _enabled = flag


def select_rows(
    connection: Connection, statement: Select[Any], values: Sequence[Any], params: dict[str, Any]
) -> list[tuple[Any, ...]] | None:
    """The rows of `statement` (its expanding parameter `values` holding `values`, its
    others `params`) from the driver, as plain tuples; None if a parameter or a column of
    the statement has a conversion (dates, JSON) the driver would skip, for SQLAlchemy to
    run it. The statement's text is made once per length of `values`."""
    compiled = _compiled_select(connection.dialect, statement, len(values))
    if compiled is None:
        return None
    text, names = compiled
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
def _compiled_select(
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
    """INSERT `rows` (values in the order of `columns`) into `table` through the driver,
    hundreds of rows a statement, each value converted by its column's own type, as
    SQLAlchemy would.
    `columns` must name every column that has a default: none is filled in here, so a
    partial set raises `ValueError`."""
    statement, order, converters = _compiled_insert(connection.dialect, table, tuple(columns))
    if not rows:
        return
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
        values.append(ordered)
    # Many rows a statement, not one as an executemany would: SQLite opens a savepoint for
    # each statement on a table with triggers, and FTS5, which the triggers of `articles`
    # keep in step (`models.search`), writes out what it has indexed at every savepoint.
    # A row at a time, that made storing an article seven times as slow.
    driver = connection.connection.driver_connection
    assert driver is not None  # (only a closed connection has none)
    variables = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, min(_ROWS_A_STATEMENT, variables // len(values[0])))
    placeholders = statement[statement.rindex(" VALUES ") + len(" VALUES ") :]
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        connection.exec_driver_sql(
            statement + f", {placeholders}" * (len(chunk) - 1),
            tuple(itertools.chain.from_iterable(chunk)),
        )


# Enough rows to make a statement's savepoint rare, few enough for a short statement.
_ROWS_A_STATEMENT = 500


@functools.lru_cache(maxsize=64)
def _compiled_insert(
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
