"""What the views read instead of recomputing: each article's last change, and each
topic's article count per day.

- `articles.changed_at`: when anything a reader sees of the article last changed (its
  text, its date, its tags). Feeds and JSON derive their ETag and Last-Modified from it, so
  a conditional request is answered from the ids and stamps of one page of the view. The
  application sets it on every such write; existing rows start from `fetched_at`. Its
  index gives the newest change of all at once (with the newest id: the data's version,
  which web workers compare before they reuse a view they computed).
- `topic_daily_counts`: articles per topic per UTC day, kept in step by triggers on
  `article_topics` (every tag written or removed, by any path: the ingest's raw
  executemany too) and on `articles` (a date that moves, an article deleted). Menus,
  the topic API and the topic page's 30-day chart read a few hundred rows of it instead of
  counting every tag on every request.

Revision ID: 20261207_1850_view_data
Revises: 20261207_1600_models_as_data
Create Date: 2026-12-07 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_1850_view_data"
down_revision: str | None = "20261207_1600_models_as_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An article's day is its UTC date: SQLite stores UTC timestamps as text, PostgreSQL as
# timestamptz, read here in UTC whatever the session's zone.
_SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER article_topics_count_insert AFTER INSERT ON article_topics BEGIN
        INSERT INTO topic_daily_counts (topic_id, day, articles)
        SELECT NEW.topic_id, date(published_at), 1 FROM articles WHERE id = NEW.article_id
        ON CONFLICT (topic_id, day) DO UPDATE SET articles = articles + 1;
    END
    """,
    """
    CREATE TRIGGER article_topics_count_delete AFTER DELETE ON article_topics BEGIN
        UPDATE topic_daily_counts SET articles = articles - 1
        WHERE topic_id = OLD.topic_id
          AND day = (SELECT date(published_at) FROM articles WHERE id = OLD.article_id);
    END
    """,
    """
    CREATE TRIGGER articles_count_move AFTER UPDATE OF published_at ON articles
    WHEN date(OLD.published_at) IS NOT date(NEW.published_at) BEGIN
        UPDATE topic_daily_counts SET articles = articles - 1
        WHERE day = date(OLD.published_at)
          AND topic_id IN (SELECT topic_id FROM article_topics WHERE article_id = NEW.id);
        INSERT INTO topic_daily_counts (topic_id, day, articles)
        SELECT topic_id, date(NEW.published_at), 1 FROM article_topics
        WHERE article_id = NEW.id
        ON CONFLICT (topic_id, day) DO UPDATE SET articles = articles + 1;
    END
    """,
    # The tags go first, while the article (and so their day) is still there; the
    # foreign key's cascade then finds none.
    """
    CREATE TRIGGER articles_count_delete BEFORE DELETE ON articles BEGIN
        DELETE FROM article_topics WHERE article_id = OLD.id;
    END
    """,
]

_POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION biowire_count_tag() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO topic_daily_counts (topic_id, day, articles)
            SELECT NEW.topic_id, (published_at AT TIME ZONE 'UTC')::date, 1
            FROM articles WHERE id = NEW.article_id
            ON CONFLICT (topic_id, day) DO UPDATE
                SET articles = topic_daily_counts.articles + 1;
            RETURN NEW;
        END IF;
        UPDATE topic_daily_counts SET articles = articles - 1
        WHERE topic_id = OLD.topic_id
          AND day = (SELECT (published_at AT TIME ZONE 'UTC')::date
                     FROM articles WHERE id = OLD.article_id);
        RETURN OLD;
    END $$
    """,
    """
    CREATE TRIGGER article_topics_count AFTER INSERT OR DELETE ON article_topics
    FOR EACH ROW EXECUTE FUNCTION biowire_count_tag()
    """,
    """
    CREATE FUNCTION biowire_move_counts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE topic_daily_counts SET articles = articles - 1
        WHERE day = (OLD.published_at AT TIME ZONE 'UTC')::date
          AND topic_id IN (SELECT topic_id FROM article_topics WHERE article_id = NEW.id);
        INSERT INTO topic_daily_counts (topic_id, day, articles)
        SELECT topic_id, (NEW.published_at AT TIME ZONE 'UTC')::date, 1
        FROM article_topics WHERE article_id = NEW.id
        ON CONFLICT (topic_id, day) DO UPDATE SET articles = topic_daily_counts.articles + 1;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER articles_count_move AFTER UPDATE OF published_at ON articles
    FOR EACH ROW
    WHEN ((OLD.published_at AT TIME ZONE 'UTC')::date
          IS DISTINCT FROM (NEW.published_at AT TIME ZONE 'UTC')::date)
    EXECUTE FUNCTION biowire_move_counts()
    """,
    """
    CREATE FUNCTION biowire_uncount_article() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM article_topics WHERE article_id = OLD.id;
        RETURN OLD;
    END $$
    """,
    """
    CREATE TRIGGER articles_count_delete BEFORE DELETE ON articles
    FOR EACH ROW EXECUTE FUNCTION biowire_uncount_article()
    """,
]

_BACKFILL = {
    "sqlite": """
        INSERT INTO topic_daily_counts (topic_id, day, articles)
        SELECT t.topic_id, date(a.published_at), count(*)
        FROM article_topics t JOIN articles a ON a.id = t.article_id
        GROUP BY t.topic_id, date(a.published_at)
    """,
    "postgresql": """
        INSERT INTO topic_daily_counts (topic_id, day, articles)
        SELECT t.topic_id, (a.published_at AT TIME ZONE 'UTC')::date, count(*)
        FROM article_topics t JOIN articles a ON a.id = t.article_id
        GROUP BY 1, 2
    """,
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("articles", sa.Column("changed_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE articles SET changed_at = fetched_at")
    op.create_index("ix_articles_changed_at", "articles", ["changed_at"])
    op.create_table(
        "topic_daily_counts",
        sa.Column(
            "topic_id",
            sa.Integer,
            sa.ForeignKey(
                "topics.id",
                ondelete="CASCADE",
                name=op.f("fk_topic_daily_counts_topic_id_topics"),
            ),
            nullable=False,
        ),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("articles", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("topic_id", "day", name=op.f("pk_topic_daily_counts")),
    )
    op.execute(_BACKFILL[dialect])
    for statement in _POSTGRESQL_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER articles_count_delete ON articles")
        op.execute("DROP TRIGGER articles_count_move ON articles")
        op.execute("DROP TRIGGER article_topics_count ON article_topics")
        for function in ("biowire_uncount_article", "biowire_move_counts", "biowire_count_tag"):
            op.execute(f"DROP FUNCTION {function}()")
    else:
        for trigger in (
            "articles_count_delete",
            "articles_count_move",
            "article_topics_count_delete",
            "article_topics_count_insert",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("topic_daily_counts")
    op.drop_index("ix_articles_changed_at", "articles")
    # Not batch mode: on SQLite that rebuilds the table, and with it go the other
    # migrations' triggers on `articles`.
    op.execute("ALTER TABLE articles DROP COLUMN changed_at")
