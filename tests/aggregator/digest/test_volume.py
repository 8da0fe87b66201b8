"""A topic's articles a day, the days being the site's zone's: counted from the kept UTC
counts when the zone's days are UTC days, from the articles' times otherwise, the same
either way; a day of daylight saving's change still one day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.digest.days import midnight
from aggregator.digest.view import TopicCatalogue
from aggregator.digest.volume import (
    count_by_local_day,
    days_are_utc_days,
    last_days,
    topic_volume,
)
from aggregator.service import Database
from models import Article, ArticleTopic, Topic, session_scope
from models.queries import topic_publication_times

PARIS = ZoneInfo("Europe/Paris")
TOKYO = ZoneInfo("Asia/Tokyo")
LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 12, 8)


def _article(session: Session, title: str, published: datetime, *slugs: str) -> None:
    topics = {t.slug: t.id for t in session.scalars(select(Topic))}
    article = Article(
        dedup_key=f"https://news.example/{title}", url=f"https://news.example/{title}",
        title=title, content_hash=title, published_at=published,
    )  # fmt: skip
    session.add(article)
    session.flush()
    session.add_all(
        ArticleTopic(article_id=article.id, topic_id=topics[slug], score=0.9, why=[])
        for slug in slugs
    )


def test_the_last_days_end_with_today_oldest_first() -> None:
    days = last_days(TODAY)
    assert len(days) == 30
    assert (days[0], days[-1]) == (date(2026, 11, 9), TODAY)


def test_a_moment_counts_on_its_day_in_the_zone_across_a_change_of_clocks() -> None:
    # Paris moves from UTC+1 to UTC+2 on 29 March 2026.
    days = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    moments = [
        datetime(2026, 3, 27, 23, 30, tzinfo=UTC),  # 00:30 on the 28th in Paris
        datetime(2026, 3, 28, 22, 59, tzinfo=UTC),  # 23:59 on the 28th
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),  # midnight: the 29th
        datetime(2026, 3, 29, 21, 59, tzinfo=UTC),  # 23:59 on the 29th, a 23-hour day
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),  # midnight: the 30th
        datetime(2026, 3, 26, 12, 0, tzinfo=UTC),  # outside the days asked: left out
    ]
    assert count_by_local_day(moments, days, PARIS) == [2, 2, 1]
    assert midnight(date(2026, 3, 30), PARIS) == datetime(2026, 3, 29, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "first", "expected"),
    [
        (UTC, date(2026, 3, 20), True),
        (LONDON, date(2026, 1, 5), True),
        (LONDON, date(2026, 3, 20), False),  # British Summer Time begins on 29 March
        (PARIS, date(2026, 1, 5), False),
    ],
    ids=["utc", "london-winter", "london-clocks-change", "paris"],
)
def test_whether_the_zones_days_are_utc_days(zone: ZoneInfo, first: date, expected: bool) -> None:
    assert days_are_utc_days(last_days(first + timedelta(days=29)), zone) is expected


def test_an_article_late_in_the_utc_day_counts_on_the_next_day_east_of_utc(db: Database) -> None:
    late = datetime.combine(TODAY - timedelta(days=3), datetime.min.time(), UTC).replace(
        hour=23, minute=30
    )
    with session_scope(db.factory) as session:
        _article(session, "late", late, "border-control")
        _article(session, "other-topic", late, "sanctions-trade")
        _article(session, "too-old", late - timedelta(days=40), "border-control")

    with session_scope(db.factory) as session:
        [topic] = [t for t in TopicCatalogue(ttl=0).topics(session) if t.slug == "border-control"]
        in_tokyo = topic_volume(session, topic, TOKYO, TODAY)
        in_utc = topic_volume(session, topic, UTC, TODAY)

    assert [day.day for day in in_tokyo] == last_days(TODAY)
    assert {day.day: day.articles for day in in_tokyo if day.articles} == {
        TODAY - timedelta(days=2): 1
    }
    assert {day.day: day.articles for day in in_utc if day.articles} == {
        TODAY - timedelta(days=3): 1
    }


def test_the_kept_utc_counts_and_the_articles_times_agree(db: Database) -> None:
    # Every 31 hours from the window's first day, past its end: some days have none.
    start = datetime(2026, 11, 9, tzinfo=UTC)
    moments = [start + timedelta(hours=31 * n, minutes=n) for n in range(30)]
    with session_scope(db.factory) as session:
        for n, moment in enumerate(moments):
            _article(session, f"a{n}", moment, "digital-id", *(["border-control"] * (n % 2)))

    with session_scope(db.factory) as session:
        [topic] = [t for t in TopicCatalogue(ttl=0).topics(session) if t.slug == "digital-id"]
        kept = topic_volume(session, topic, UTC, TODAY)
        days = last_days(TODAY)
        end = midnight(TODAY + timedelta(days=1), UTC)
        read = topic_publication_times(session, topic.id, midnight(days[0], UTC), end)
        counted = count_by_local_day(read, days, UTC)

    assert [day.articles for day in kept] == counted
    assert sum(counted) == sum(1 for moment in moments if moment < end)
    assert 0 in counted
