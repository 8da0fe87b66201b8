"""Small readers of the database state that the aggregator tests assert on."""

from __future__ import annotations

from sqlalchemy import select

from aggregator.ingest.sources import add_source
from aggregator.service import Database
from models import Article, ArticleSource, Source, session_scope


def add_sources(db: Database, *urls: str) -> list[int]:
    with session_scope(db.factory) as session:
        return [add_source(session, url)[0].id for url in urls]


def source_state(db: Database, source_id: int) -> Source:
    with session_scope(db.factory) as session:
        return session.get_one(Source, source_id)


def articles_of(db: Database, source_id: int) -> list[Article]:
    """The articles linked to a source, in the order they were stored."""
    with session_scope(db.factory) as session:
        return list(
            session.scalars(
                select(Article)
                .join(ArticleSource)
                .where(ArticleSource.source_id == source_id)
                .order_by(Article.id)
            )
        )
