"""The per-day topic counts the database keeps (`topic_daily_counts`, kept by triggers)
always equal a count of the tags themselves, whatever path wrote them: a poll's raw
executemany, a retag, an editor's correction, an article whose date moves, one deleted.
On SQLite, and on PostgreSQL where a server answers (see tests/models/test_postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from aggregator.classify.corrections import set_topics
from aggregator.service import Database, classify_new, open_database
from aggregator.settings import Settings
from models import Article, ArticleTopic, Topic, TopicDailyCount, session_scope
from models.queries import daily_counts, topics_with_counts
from tests.conftest import run_poll
from tests.fixtures.feeds import Item, rss
from tests.models.test_postgres import scratch_database

pytestmark = pytest.mark.usefixtures("httpserver")
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def counted(request: pytest.FixtureRequest, settings: Settings, httpserver) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A database of either kind, filled by a real poll of a local feed and tagged."""
    if request.param == "postgresql":
        with scratch_database() as url:
            yield from _filled(settings.model_copy(update={"database_url": url}), httpserver)
    else:
        yield from _filled(settings, httpserver)


def _filled(settings: Settings, httpserver) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    items = [
        Item(f"Airport adds face gates at terminal {n}", f"https://news.example/gates-{n}",
             summary="Passengers board with a face scan instead of a boarding pass.",
             published=NOON - timedelta(days=n % 3, hours=n))
        for n in range(12)
    ]  # fmt: skip
    httpserver.expect_request("/feed").respond_with_data(
        rss(items), content_type="application/rss+xml"
    )
    db = open_database(settings, migrate=True)
    try:
        from aggregator.ingest.sources import add_source

        with session_scope(db.factory) as session:
            add_source(session, httpserver.url_for("/feed"))
        run_poll(settings, db)
        classify_new(db)
        yield db
    finally:
        db.close()


def _kept(session: Session) -> dict[tuple[int, date], int]:
    rows = session.execute(select(TopicDailyCount.topic_id, TopicDailyCount.day,
                                  TopicDailyCount.articles))  # fmt: skip
    return {(topic, day): n for topic, day, n in rows if n}


def _counted(session: Session) -> dict[tuple[int, date], int]:
    tags = session.execute(
        select(ArticleTopic.topic_id, Article.published_at).join(
            Article, Article.id == ArticleTopic.article_id
        )
    )
    counts: dict[tuple[int, date], int] = {}
    for topic, published in tags:
        key = (topic, published.astimezone(UTC).date())
        counts[key] = counts.get(key, 0) + 1
    return counts


def _check(db: Database) -> dict[tuple[int, date], int]:
    with session_scope(db.factory) as session:
        kept, counted = _kept(session), _counted(session)
    assert kept == counted
    return kept


def test_counts_follow_every_write_of_tags(counted: Database) -> None:
    assert sum(_check(counted).values()) > 0  # the poll's tags are counted
    with session_scope(counted.factory) as session:
        ids = list(session.scalars(select(Article.id).order_by(Article.id)))
        set_topics(session, ids[0], ["sanctions-trade", "research-standards"])
        set_topics(session, ids[1], [])
    _check(counted)
    with session_scope(counted.factory) as session:
        # A date that moves to another day (as an edited entry's does) moves its counts.
        session.execute(update(Article).where(Article.id == ids[0]).values(
            published_at=NOON - timedelta(days=9)))  # fmt: skip
        session.execute(update(Article).where(Article.id == ids[2]).values(
            published_at=NOON + timedelta(minutes=1)))  # fmt: skip
    _check(counted)
    with session_scope(counted.factory) as session:
        session.execute(delete(Article).where(Article.id.in_(ids[3:5])))
    kept = _check(counted)

    with session_scope(counted.factory) as session:
        sanctions = session.scalars(select(Topic.id).where(Topic.slug == "sanctions-trade")).one()
        day = (NOON - timedelta(days=9)).date()
        assert kept[(sanctions, day)] >= 1
        assert daily_counts(session, "sanctions-trade", day, day) == {day: kept[(sanctions, day)]}
        totals = {t.slug: n for t, n in topics_with_counts(session)}
        tags = session.scalar(select(func.count()).select_from(ArticleTopic))
    assert sum(totals.values()) == tags
