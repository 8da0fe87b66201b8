"""SQLite: a writer may index its new articles for search in one statement at the end of
its transaction, rather than a trigger's statement for each row as it is inserted.

Each statement that writes to an FTS5 table flushes what it indexed to a new segment, and
a trigger's statement is a statement: a cold poll inserting 40,000 articles wrote 40,000
one-row segments, and FTS5 spent more merging them than the poll spent on everything
else it stores. `models.search.indexing_in_bulk` now writes one row to
`search_index_deferrals` when its transaction starts writing: the highest article id at
that moment. While that row exists, the search triggers leave alone every article above
it, and the transaction indexes those articles in one `INSERT ... SELECT` before it
removes the row. The row is only ever seen by the transaction that wrote it (SQLite has
one writer at a time, and readers see committed data only), so every other writer's
rows are indexed by the triggers as before.

PostgreSQL is unchanged: its index is a generated column, computed with each row.

Revision ID: 20261207_2330_bulk_search_index
Revises: 20261207_1900_full_text_search
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "20261207_2330_bulk_search_index"
down_revision: str | None = "20261207_1900_full_text_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As the full-text search revision made them (its module holds the reasons).
_REMOVE = (
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text);"
)
_ADD = "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);"
_EVENTS = {
    "articles_fts_insert": ("AFTER INSERT ON articles", "new", _ADD),
    "articles_fts_delete": ("AFTER DELETE ON articles", "old", _REMOVE),
    "articles_fts_update": ("AFTER UPDATE OF id, title, text ON articles", "old", _REMOVE + _ADD),
}


def _not_deferred(row: str) -> str:
    return f"NOT EXISTS (SELECT 1 FROM search_index_deferrals WHERE {row}.id > above_id)"


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE search_index_deferrals (above_id INTEGER NOT NULL)")
    for name, (event, row, body) in _EVENTS.items():
        op.execute(f"DROP TRIGGER {name}")
        op.execute(f"CREATE TRIGGER {name} {event} WHEN {_not_deferred(row)} BEGIN {body} END")


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    for name, (event, _row, body) in _EVENTS.items():
        op.execute(f"DROP TRIGGER {name}")
        op.execute(f"CREATE TRIGGER {name} {event} BEGIN {body} END")
    op.execute("DROP TABLE search_index_deferrals")
