"""Full-text search over the articles' titles and texts, for `models.search`.

SQLite: an FTS5 table, `articles_fts`, whose content is `articles` itself (external
content: the index holds no second copy of the text), kept in step by triggers on every
insert, delete and update of a title or text, which the driver's bulk inserts of a poll
fire like any other statement. The upgrade indexes the rows already stored.

PostgreSQL: a stored generated column, `articles.search_vector` (the title weighted A, the
text B), with a GIN index. Only the first 100,000 characters of a text are indexed: a
tsvector holds at most 1 MB, and an article past it would make its whole poll fail.

Neither is mapped by the ORM, and `migrations/env.py` keeps autogenerate from proposing to
drop them. A later migration that rebuilds `articles` on SQLite in batch mode (a copy,
then a rename) drops the triggers with the old table: it must create them again, as this
one does, and rebuild the index.

Revision ID: 20261207_1900_full_text_search
Revises: 20261207_1850_view_data
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "20261207_1900_full_text_search"
down_revision: str | None = "20261207_1850_view_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Porter stemming ("airports" finds "airport") over unicode61's words, diacritics folded
# ("cafe" finds "café").
_TOKENIZER = "porter unicode61 remove_diacritics 2"
# An external-content index forgets a row by being given the values it indexed.
_REMOVE = (
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text);"
)
_ADD = "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);"
_TRIGGERS = {
    "articles_fts_insert": f"AFTER INSERT ON articles BEGIN {_ADD} END",
    "articles_fts_delete": f"AFTER DELETE ON articles BEGIN {_REMOVE} END",
    # Not on every update: tagging rewrites `classified_by_id` of thousands of rows.
    "articles_fts_update": (
        f"AFTER UPDATE OF id, title, text ON articles BEGIN {_REMOVE} {_ADD} END"
    ),
}
_MAX_INDEXED_TEXT = 100_000


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', title), 'A') || "
            f"setweight(to_tsvector('english', left(text, {_MAX_INDEXED_TEXT})), 'B')"
            ") STORED"
        )
        op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', "
        f"content_rowid='id', tokenize='{_TOKENIZER}')"
    )
    for name, body in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN search_vector")
        return
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE articles_fts")
