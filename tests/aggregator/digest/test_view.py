"""The digest view, built from a real database without the web layer: one day's articles,
each under its strongest topic, and the nearest days that have any."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.digest.days import Period
from aggregator.digest.view import (
    UNTAGGED,
    Digest,
    ResolvedView,
    TopicCatalogue,
    ViewFilters,
    build_digest,
    find_digest,
    resolve,
)
from aggregator.service import Database
from models import Article, ArticleTopic, Topic, session_scope

DAY = date(2026, 3, 10)


def _article(session, title: str, published: datetime, tags: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    topics = {t.slug: t for t in session.scalars(select(Topic))}
    article = Article(
        dedup_key=f"https://news.example/{title}", url=f"https://news.example/{title}",
        title=title, content_hash=title, published_at=published,
    )  # fmt: skip
    session.add(article)
    session.flush()
    for slug, score in tags.items():
        session.add(
            ArticleTopic(article_id=article.id, topic_id=topics[slug].id, score=score, why=[])
        )


def _digest_of(session: Session, day: date, filters: ViewFilters) -> Digest:
    """The digest of `day` (in UTC) as the page builds it: found, then read."""
    catalogue = TopicCatalogue(ttl=0)
    view = resolve(session, filters, catalogue)
    found = find_digest(session, view, Period.of_day(day, UTC), UTC)
    return build_digest(session, view, found, catalogue.topics(session))


def test_a_days_articles_sit_under_their_strongest_topic(db: Database) -> None:
    noon = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with session_scope(db.factory) as session:
        _article(session, "gates", noon, {"border-control": 0.6, "airports-travel": 0.9})
        _article(session, "ban", noon - timedelta(hours=1), {"sanctions-trade": 0.8})
        _article(session, "untagged", noon - timedelta(hours=2), {})
        _article(session, "days-before", noon - timedelta(days=3), {"sanctions-trade": 0.7})
        _article(session, "next-week", noon + timedelta(days=6), {"digital-id": 0.7})

    with session_scope(db.factory) as session:
        digest = _digest_of(session, DAY, ViewFilters())
        groups = {group.name: [a.title for a in group.articles] for group in digest.groups}
        slugs = [group.slug for group in digest.groups]

    assert digest.total == 3
    assert groups[UNTAGGED] == ["untagged"]
    assert slugs[-1] is None  # the untagged come last
    assert groups["Airports & travel"] == ["gates"]  # its strongest topic, not border control
    assert groups["Sanctions & trade"] == ["ban"]
    assert digest.previous_day == DAY - timedelta(days=3)
    assert digest.next_day == DAY + timedelta(days=6)


def test_a_topic_filter_keeps_the_topics_articles_only(db: Database) -> None:
    noon = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with session_scope(db.factory) as session:
        _article(session, "gates", noon, {"border-control": 0.6, "airports-travel": 0.9})
        _article(session, "ban", noon, {"sanctions-trade": 0.8})

    with session_scope(db.factory) as session:
        digest = _digest_of(session, DAY, ViewFilters(topics=("border-control",)))
        # Filtered by a topic, an article sits under it even where another topic is stronger.
        assert [(g.slug, [a.title for a in g.articles]) for g in digest.groups] == [
            ("border-control", ["gates"])
        ]


@pytest.mark.parametrize(
    ("since", "until", "zone", "said"),
    [
        # The zone's midnights are days, the end naming the last day it includes.
        (datetime(2026, 3, 8, 15, tzinfo=UTC), datetime(2026, 3, 10, 15, tzinfo=UTC),
         ZoneInfo("Asia/Tokyo"), "(2026-03-09 to 2026-03-10)"),
        # The same instants in UTC fall mid-day: each is its minute.
        (datetime(2026, 3, 8, 15, tzinfo=UTC), datetime(2026, 3, 10, 15, tzinfo=UTC),
         UTC, "(2026-03-08 15:00 to 2026-03-10 15:00)"),
        (None, datetime(2026, 3, 10, tzinfo=UTC), UTC, "(… to 2026-03-09)"),
        (datetime(2026, 3, 10, tzinfo=UTC), None, UTC, "(2026-03-10 to …)"),
    ],
)  # fmt: skip
def test_a_views_bounds_are_said_in_the_sites_zone(
    since: datetime | None, until: datetime | None, zone: tzinfo, said: str
) -> None:
    view = ResolvedView(ViewFilters(since=since, until=until), topics=[], sources=[])
    assert view.describe(zone) == said
