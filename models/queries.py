"""Read queries for the digest, the JSON API and the feeds. They never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from models.entities import Article, ArticleSource, ArticleTopic, Source, Topic
from models.search import rank_of, search_matches


class SearchCursorError(ValueError):
    """`before` names an article that is not among a search's matches (its text has changed
    since, or it never matched): there is no place in the results to continue from."""


@dataclass(frozen=True)
class ArticleFilter:
    """Which articles a view shows; every field narrows the selection. `query` is a search
    in the grammar of `models.search` (a blank one searches for nothing)."""

    topic: str | None = None
    source_id: int | None = None
    query: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def _with_relations(statement: Select[Article]) -> Select[Article]:
    return statement.options(
        selectinload(Article.tags).selectinload(ArticleTopic.topic),
        selectinload(Article.links).selectinload(ArticleSource.source),
    )


def _filtered(
    session: Session, view: ArticleFilter
) -> tuple[Select[Article], ColumnElement[float] | None]:
    """The articles `view` selects, and their rank when it searches."""
    statement = select(Article)
    rank: ColumnElement[float] | None = None
    if view.topic:
        statement = statement.where(
            Article.id.in_(
                select(ArticleTopic.article_id)
                .join(Topic, Topic.id == ArticleTopic.topic_id)
                .where(Topic.slug == view.topic)
            )
        )
    if view.source_id is not None:
        statement = statement.where(
            Article.id.in_(
                select(ArticleSource.article_id).where(ArticleSource.source_id == view.source_id)
            )
        )
    if view.query is not None and view.query.strip():
        matches = search_matches(session, view.query)
        statement = statement.join(matches, matches.c.article_id == Article.id)
        rank = matches.c.rank
    if view.start is not None:
        statement = statement.where(Article.published_at >= view.start)
    if view.end is not None:
        statement = statement.where(Article.published_at < view.end)
    return statement, rank


def list_articles(
    session: Session,
    view: ArticleFilter,
    limit: int = 50,
    before: Article | None = None,
) -> list[Article]:
    """Newest first, or, when `view` searches, best match first and the newest first among
    equals; `before` continues after that article (keyset pagination), in the same order.

    Raises `models.search.SearchQueryError` for a search with nothing to look for, and
    `SearchCursorError` when `before` is not among a search's matches."""
    statement, rank = _filtered(session, view)
    if before is not None:
        earlier = or_(
            Article.published_at < before.published_at,
            and_(Article.published_at == before.published_at, Article.id < before.id),
        )
        if rank is None:
            statement = statement.where(earlier)
        else:
            assert view.query is not None
            before_rank = rank_of(session, view.query, before.id)
            if before_rank is None:
                raise SearchCursorError(f"article {before.id} is not among the search's matches")
            statement = statement.where(or_(rank < before_rank, and_(rank == before_rank, earlier)))
    if rank is not None:
        statement = statement.order_by(rank.desc())
    statement = statement.order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)
    return list(session.scalars(_with_relations(statement)))


def topics_with_counts(session: Session) -> list[tuple[Topic, int]]:
    counts = (
        select(ArticleTopic.topic_id, func.count().label("n"))
        .group_by(ArticleTopic.topic_id)
        .subquery()
    )
    rows = session.execute(
        select(Topic, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.topic_id == Topic.id)
        .order_by(Topic.position)
    )
    return [(topic, int(count)) for topic, count in rows]


def list_topics(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).order_by(Topic.position)))


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.id)))


def get_article(session: Session, article_id: int) -> Article | None:
    return session.scalar(_with_relations(select(Article).where(Article.id == article_id)))


def nearest_day_with_articles(
    session: Session, moment: datetime, direction: str
) -> datetime | None:
    """The publication time of the closest article strictly before/after `moment`."""
    if direction == "before":
        return session.scalar(select(func.max(Article.published_at)).where(
            Article.published_at < moment))  # fmt: skip
    return session.scalar(select(func.min(Article.published_at)).where(
        Article.published_at >= moment))  # fmt: skip
