"""The daily digest: one day's articles, grouped under their strongest topic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from models import Article, Topic
from models.queries import ArticleFilter, list_articles, list_topics, nearest_day_with_articles

DIGEST_LIMIT = 500
UNTAGGED = "Other news"


@dataclass
class DigestGroup:
    slug: str | None
    name: str
    articles: list[Article] = field(default_factory=list)


@dataclass
class Digest:
    day: date
    groups: list[DigestGroup]
    total: int
    previous_day: date | None
    next_day: date | None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    if day == date.max:  # the day after it is past what a datetime can hold
        return start, datetime.max.replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


def build_digest(
    session: Session, day: date, topic: str | None, source_id: int | None, query: str | None
) -> Digest:
    start, end = day_bounds(day)
    view = ArticleFilter(topic=topic, source_id=source_id, query=query, start=start, end=end)
    articles = list_articles(session, view, limit=DIGEST_LIMIT)
    topics = list_topics(session)
    groups = _group(articles, topics, topic)
    before = nearest_day_with_articles(session, start, "before")
    after = nearest_day_with_articles(session, end, "after")
    return Digest(
        day=day,
        groups=groups,
        total=len(articles),
        previous_day=before.date() if before else None,
        next_day=after.date() if after else None,
    )


def _group(articles: list[Article], topics: list[Topic], only: str | None) -> list[DigestGroup]:
    groups = {t.slug: DigestGroup(t.slug, t.name) for t in topics}
    other = DigestGroup(None, UNTAGGED)
    for article in articles:
        tags = sorted(article.tags, key=lambda t: (-t.score, t.topic.position))
        home = only or (tags[0].topic.slug if tags else None)
        groups.get(home or "", other).articles.append(article)
    ordered = [g for g in groups.values() if g.articles]
    if other.articles:
        ordered.append(other)
    return ordered
