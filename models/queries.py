"""Read queries for the digest, the JSON API and the feeds. They never commit.

A view is read in two steps. `page_rows` finds one page of the view: the ids in order,
with each article's date and last change, from indexes alone where it can. That is all a
conditional request needs. `load_articles` then reads those articles with their tags and
sources, for the views that render them.

How each filter is asked (EXPLAIN plans in BENCHMARKS.md):
- newest first walks `ix_articles_published_id` backwards and stops at the page's end;
- a topic is an EXISTS probe of `article_topics`' primary key for each article walked, since
  every topic is common enough that the page fills within a few hundred steps;
- a source is an IN list from `article_sources` (a source carries a small share of the
  articles: reading them all and sorting beats walking the whole index for them);
- a search (`models.search`) joins the full-text index's matches and orders by their rank,
  best first, newest first among equals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Text,
    and_,
    exists,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session, selectinload

from models.entities import (
    Article,
    ArticleSource,
    ArticleTopic,
    Source,
    Topic,
    TopicDailyCount,
)
from models.search import rank_of, search_matches


class SearchCursorError(ValueError):
    """`before` names an article that is not among a search's matches (its text has changed
    since, or it never matched): there is no place in the results to continue from."""


@dataclass(frozen=True)
class ArticleFilter:
    """Which articles a view shows. Each field narrows the selection; several topics or
    several sources mean any of them. `query` is a search in the grammar of
    `models.search` (a blank one searches for nothing)."""

    topic_ids: tuple[int, ...] = ()
    source_ids: tuple[int, ...] = ()
    query: str | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class PageRow:
    """One article of a page: its id, and its change stamp as the database wrote it (read
    as text: a page's validator needs only to compare stamps; `parse_stamp` reads one)."""

    id: int
    changed: str


@dataclass(frozen=True)
class Cursor:
    """Where a page continues: after the article with this date and id."""

    published_at: datetime
    id: int


def _conditions(view: ArticleFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if view.topic_ids:
        conditions.append(
            exists()
            .where(ArticleTopic.article_id == Article.id)
            .where(ArticleTopic.topic_id.in_(view.topic_ids))
        )
    if view.source_ids:
        conditions.append(
            Article.id.in_(
                select(ArticleSource.article_id).where(ArticleSource.source_id.in_(view.source_ids))
            )
        )
    if view.start is not None:
        conditions.append(Article.published_at >= view.start)
    if view.end is not None:
        conditions.append(Article.published_at < view.end)
    return conditions


def _after(cursor: Cursor) -> ColumnElement[bool]:
    return or_(
        Article.published_at < cursor.published_at,
        and_(Article.published_at == cursor.published_at, Article.id < cursor.id),
    )


def page_rows(
    session: Session, view: ArticleFilter, limit: int, after: Cursor | None = None
) -> list[PageRow]:
    """One page of the view, continuing after `after` (keyset pagination): newest first,
    or, when the view searches, best match first and newest first among equals.

    Raises `models.search.SearchQueryError` for a search with nothing to look for, and
    `SearchCursorError` when `after` is not among a search's matches."""
    statement = select(Article.id, _STAMP).where(*_conditions(view))
    newest_first: list[ColumnElement[Any]] = [Article.published_at.desc(), Article.id.desc()]
    if view.query is not None and view.query.strip():
        matches = search_matches(session, view.query)
        statement = statement.join(matches, matches.c.article_id == Article.id)
        rank = matches.c.rank
        if after is not None:
            after_rank = rank_of(session, view.query, after.id)
            if after_rank is None:
                raise SearchCursorError(f"article {after.id} is not among the search's matches")
            statement = statement.where(
                or_(rank < after_rank, and_(rank == after_rank, _after(after)))
            )
        statement = statement.order_by(rank.desc(), *newest_first)
    else:
        if after is not None:
            statement = statement.where(_after(after))
        statement = statement.order_by(*newest_first)
    return [PageRow(id_, str(changed)) for id_, changed in session.execute(statement.limit(limit))]


# The stamp as stored, not as a `UTCDateTime`: a page of stamps is read on every request,
# and converting each costs more than the query (on SQLite the stored text sorts as the
# times do; a new article's is its fetch time, never NULL since the column came in).
_STAMP = type_coerce(func.coalesce(Article.changed_at, Article.fetched_at), Text)


def parse_stamp(stamp: str) -> datetime:
    """A stamp of `PageRow.changed` as a UTC datetime."""
    moment = datetime.fromisoformat(stamp)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


DataVersion = tuple[Any, Any, Any]
_DATA_VERSION = select(
    select(func.max(Article.id)).scalar_subquery(),
    select(func.max(Article.changed_at)).scalar_subquery(),
    select(func.max(Source.last_polled_at)).scalar_subquery(),
)


def data_version(connection: Session | Connection) -> DataVersion:
    """A value that changes whenever an article is added or changed (its text, its date,
    its tags) and whenever a poll records how a source fared (the sources page shows it,
    and a poll that brings nothing new changes no article): the newest id, the newest
    change stamp and the newest poll, three index lookups."""
    newest_id, newest_change, newest_poll = connection.execute(_DATA_VERSION).one()
    return newest_id, newest_change, newest_poll


def sources_state(session: Session) -> tuple[str, datetime | None]:
    """A digest of every source as the sources page shows it, and the newest poll: the
    digest changes whenever a poll records an outcome or a source is added, moved,
    re-enabled or removed. One read of a small table, without building a row object."""
    rows = session.execute(
        select(
            Source.id, Source.url, Source.title, Source.site_url, Source.last_status,
            Source.last_polled_at, Source.next_poll_at, Source.consecutive_failures,
            Source.last_error, Source.disabled_at, Source.disabled_reason,
        ).order_by(Source.id)
    ).all()  # fmt: skip
    digest = hashlib.blake2b(repr(rows).encode(), digest_size=12).hexdigest()
    polls = [row.last_polled_at for row in rows if row.last_polled_at is not None]
    return digest, max(polls, default=None)


def cursor_of(session: Session, article_id: int) -> Cursor | None:
    """The cursor that continues after this article; None when there is no such article."""
    row = session.execute(
        select(Article.published_at, Article.id).where(Article.id == article_id)
    ).first()
    return Cursor(*row) if row else None


def _with_relations(statement: Select[Article]) -> Select[Article]:
    return statement.options(
        selectinload(Article.tags).selectinload(ArticleTopic.topic),
        selectinload(Article.links).selectinload(ArticleSource.source),
    )


def load_articles(session: Session, ids: Sequence[int]) -> list[Article]:
    """These articles with their tags and sources, in the order of `ids`."""
    if not ids:
        return []
    found = {a.id: a for a in session.scalars(_with_relations(select(Article).where(
        Article.id.in_(ids))))}  # fmt: skip
    return [found[i] for i in ids if i in found]


def list_articles(
    session: Session, view: ArticleFilter, limit: int = 50, before: Article | None = None
) -> list[Article]:
    """One page of the view, loaded (`page_rows` then `load_articles`), continuing after
    article `before`."""
    after = Cursor(before.published_at, before.id) if before is not None else None
    return load_articles(session, [row.id for row in page_rows(session, view, limit, after)])


def get_article(session: Session, article_id: int) -> Article | None:
    return session.scalar(_with_relations(select(Article).where(Article.id == article_id)))


def topics_with_counts(session: Session, since: date | None = None) -> list[tuple[Topic, int]]:
    """Every topic in taxonomy order, with how many articles carry it (published on or
    after `since`, a UTC day, when given), from the counts the database keeps."""
    counts = select(TopicDailyCount.topic_id, func.sum(TopicDailyCount.articles).label("n"))
    if since is not None:
        counts = counts.where(TopicDailyCount.day >= since)
    totals = counts.group_by(TopicDailyCount.topic_id).subquery()
    rows = session.execute(
        select(Topic, func.coalesce(totals.c.n, 0))
        .outerjoin(totals, totals.c.topic_id == Topic.id)
        .order_by(Topic.position)
    )
    return [(topic, int(count)) for topic, count in rows]


def daily_counts(session: Session, slug: str, first: date, last: date) -> dict[date, int]:
    """Articles carrying topic `slug` on each UTC day from `first` to `last`, both
    included; a day with none is absent."""
    rows = session.execute(
        select(TopicDailyCount.day, TopicDailyCount.articles)
        .join(Topic, Topic.id == TopicDailyCount.topic_id)
        .where(Topic.slug == slug, TopicDailyCount.day.between(first, last))
    )
    return {day: count for day, count in rows if count}


def topic_publication_times(
    session: Session, topic_id: int, start: datetime, end: datetime
) -> list[datetime]:
    """When each article carrying the topic was published, from `start` (included) to
    `end` (excluded), in no particular order: for counts by days that are not UTC days,
    which `daily_counts` cannot give."""
    statement = select(Article.published_at).where(
        Article.published_at >= start,
        Article.published_at < end,
        exists()
        .where(ArticleTopic.article_id == Article.id)
        .where(ArticleTopic.topic_id == topic_id),
    )
    return list(session.scalars(statement))


def list_topics(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).order_by(Topic.position)))


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.id)))


def failing_sources(session: Session) -> list[Source]:
    """The sources whose last poll failed, and the disabled ones: disabled first, then the
    longest failing, then by id. A digest that comes up short can name them."""
    return list(
        session.scalars(
            select(Source)
            .where(or_(Source.consecutive_failures > 0, Source.disabled_at.is_not(None)))
            .order_by(Source.disabled_at.is_(None), Source.consecutive_failures.desc(), Source.id)
        )
    )


def sources_with_counts(session: Session, since: datetime) -> list[tuple[Source, int]]:
    """Every source by id, with how many of its articles were published since `since`."""
    # The window's articles from the date index, then their links: joined the other way,
    # SQLite read every link in the database (300 ms at 200,000 articles, against 10).
    recent = select(Article.id).where(Article.published_at >= since)
    counts = (
        select(ArticleSource.source_id, func.count().label("n"))
        .where(ArticleSource.article_id.in_(recent))
        .group_by(ArticleSource.source_id)
        .subquery()
    )
    rows = session.execute(
        select(Source, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.source_id == Source.id)
        .order_by(Source.id)
    )
    return [(source, int(count)) for source, count in rows]


def nearest_published(
    session: Session, view: ArticleFilter, moment: datetime, direction: Literal["before", "after"]
) -> datetime | None:
    """When the view's closest article strictly before `moment` (or at or after it) was
    published, the view's own `start` and `end` aside; None when it has none there.

    Asked as a page is: without sources or a search, a walk of `ix_articles_published_id`
    from `moment` that stops at the first article the view keeps; with them, their
    articles, sorted (a search's matches are not ranked for this). Raises
    `models.search.SearchQueryError` for a search with nothing to look for."""
    conditions = _conditions(replace(view, start=None, end=None))
    if view.query is not None and view.query.strip():
        matches = search_matches(session, view.query)
        conditions.append(Article.id.in_(select(matches.c.article_id)))
    if direction == "before":
        conditions.append(Article.published_at < moment)
        order = Article.published_at.desc()
    else:
        conditions.append(Article.published_at >= moment)
        order = Article.published_at.asc()
    return session.scalar(select(Article.published_at).where(*conditions).order_by(order).limit(1))
