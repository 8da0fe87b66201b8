"""A view of the articles: filters in, a page of articles out, built once here and
rendered by every front door (the page, RSS, Atom, JSON Feed, the JSON API).

A view is built in two steps, so that a client asking "has it changed?" costs one indexed
query: `find_page` reads one page's ids and change stamps and derives the page's
validator from them; `load_page` reads the articles themselves for the renderers.

The digest page is built the same way over a period (a local day, or a range of days:
`aggregator.digest.days`): `find_digest`, then `build_digest`.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from time import monotonic

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.digest.coverage import most_covered
from aggregator.digest.days import Period, in_zone, local_day
from aggregator.errors import BiowireError
from models import Article, Source
from models.queries import (
    ArticleFilter,
    PageRow,
    SearchCursorError,
    cursor_of,
    list_topics,
    load_articles,
    nearest_published,
    page_rows,
    parse_stamp,
)
from models.search import SearchQueryError, highlighted_snippets

DIGEST_LIMIT = 500  # a day's articles on one page
RANGE_LIMIT = 100  # a range's: grouped by topic, a page is read at one sitting
UNTAGGED = "Other news"


class InvalidView(BiowireError):
    """A filter names something that does not exist (a topic, a source, a cursor), or a
    search has nothing to look for. `missing` when it names a thing there is not (a
    source): the request was well formed, the thing is not found."""

    def __init__(self, field: str, message: str, missing: bool = False, **details: object
                 ) -> None:  # fmt: skip
        super().__init__(message)
        self.field = field
        self.missing = missing
        self.details = details


@dataclass(frozen=True)
class ViewFilters:
    """What a reader asked to see. Several topics or sources mean any of them; everything
    else narrows. The same filters drive the page, the feeds and the API."""

    topics: tuple[str, ...] = ()
    sources: tuple[int, ...] = ()
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class TopicInfo:
    """A topic as views show it: read once, then kept (see `TopicCatalogue`)."""

    id: int
    slug: str
    name: str
    definition: str
    position: int


class TopicCatalogue:
    """The topics, read from the database at most every `ttl` seconds: every request
    names them, and they change only when the taxonomy is synced."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._topics: list[TopicInfo] = []
        self._read_at = -math.inf
        self._lock = threading.Lock()

    def topics(self, session: Session) -> list[TopicInfo]:
        with self._lock:
            if monotonic() - self._read_at < self.ttl:
                return self._topics
        topics = [
            TopicInfo(t.id, t.slug, t.name, t.definition, t.position) for t in list_topics(session)
        ]
        with self._lock:
            self._topics, self._read_at = topics, monotonic()
        return topics


@dataclass(frozen=True)
class ResolvedView:
    """A view's filters with the topics and sources they name, checked to exist."""

    filters: ViewFilters
    topics: list[TopicInfo]
    sources: list[Source]

    def article_filter(self) -> ArticleFilter:
        f = self.filters
        return ArticleFilter(
            topic_ids=tuple(t.id for t in self.topics), source_ids=f.sources, query=f.q,
            start=f.since, end=f.until,
        )  # fmt: skip

    def describe(self, zone: tzinfo = UTC) -> str:
        """A title for the view, e.g. 'Border control, Airports & travel from IDEMIA'; its
        bounds in `zone`, the site's time zone."""
        filters = self.filters
        parts = []
        if self.topics:
            parts.append(", ".join(t.name for t in self.topics))
        if self.sources:
            parts.append("from " + ", ".join(s.display_name for s in self.sources))
        if filters.q:
            parts.append(f"matching “{filters.q}”")
        if filters.since or filters.until:
            first = _bound(filters.since, zone, end=False)
            last = _bound(filters.until, zone, end=True)
            parts.append(f"({first} to {last})")
        return " ".join(parts) if parts else "All articles"


def _bound(moment: datetime | None, zone: tzinfo, *, end: bool) -> str:
    """A bound of a view as people say it: a day when it falls at the zone's midnight (an
    end then names the last day it includes, the one before), else the minute."""
    if moment is None:
        return "…"
    local = in_zone(moment, zone)
    if local.time() != time.min:
        return f"{local:%Y-%m-%d %H:%M}"
    day = local.date()
    return (day - timedelta(days=1) if end and day > date.min else day).isoformat()


def resolve(
    session: Session, filters: ViewFilters, catalogue: TopicCatalogue | None = None
) -> ResolvedView:
    """The view `filters` asks for; an unknown topic or source is an `InvalidView`."""
    every_topic = (catalogue or TopicCatalogue(ttl=0)).topics(session)
    by_slug = {t.slug: t for t in every_topic}
    unknown = [slug for slug in filters.topics if slug not in by_slug]
    if unknown:
        raise InvalidView(
            "topic", f"no topic {', '.join(map(repr, unknown))}",
            valid_topics=[t.slug for t in every_topic],
        )  # fmt: skip
    sources: list[Source] = []
    if filters.sources:
        found = {
            s.id: s for s in session.scalars(select(Source).where(Source.id.in_(filters.sources)))
        }
        missing = [i for i in filters.sources if i not in found]
        if missing:
            raise InvalidView(
                "source", f"no source with id {', '.join(map(str, missing))}", missing=True
            )
        sources = [found[i] for i in filters.sources]
    return ResolvedView(filters, [by_slug[s] for s in filters.topics], sources)


@dataclass(frozen=True)
class PageFound:
    """One page of a view, before its articles are read: enough to answer a conditional
    request. `validator` changes whenever an article joins, leaves or changes on it."""

    rows: list[PageRow]
    limit: int
    validator: str
    last_modified: datetime | None
    # Why the page is empty when the request itself is the reason (a search with nothing
    # to look for, such as only "-word"): said to the reader instead of an error.
    notice: str | None = None

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]

    @property
    def next_before(self) -> int | None:
        """The `before` that continues the view after this page; None on the last."""
        return self.rows[-1].id if len(self.rows) == self.limit else None


def find_page(
    session: Session, view: ResolvedView, limit: int, before: int | None = None
) -> PageFound:
    """The page of the view that follows article `before` (the first page without it)."""
    after = None
    if before is not None:
        after = cursor_of(session, before)
        if after is None:
            raise InvalidView("before", f"no article with id {before}")
    try:
        rows = page_rows(session, view.article_filter(), limit, after)
    except SearchQueryError as error:
        return PageFound([], limit, _validator([]) + "|nothing-to-search", None, str(error))
    except SearchCursorError as error:
        raise InvalidView("before", str(error)) from error
    newest = max((row.changed for row in rows), default=None)
    return PageFound(rows, limit, _validator(rows), parse_stamp(newest) if newest else None)


def _validator(rows: Sequence[PageRow]) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for row in rows:
        digest.update(f"{row.id}:{row.changed};".encode())
    return digest.hexdigest()


def load_page(session: Session, page: PageFound) -> list[Article]:
    return load_articles(session, page.ids)


def highlights(session: Session, filters: ViewFilters, ids: Sequence[int]) -> dict[int, str]:
    """For a search, each article's snippet with the matched words between
    `models.search.MARK_START` and `MARK_END`; nothing when the view does not search."""
    if not filters.q or not ids:
        return {}
    return highlighted_snippets(session, filters.q, ids)


# The digest: a period's articles (a local day, or a range), the most covered first, then
# each under its topic.


@dataclass(frozen=True)
class DigestFound(PageFound):
    """A digest page found (see `PageFound`): its period, the article it continues after
    (if any) and, for a day's digest, the nearest local days before and after it on which
    the view has articles. Those days are part of its validator: the page of a day whose
    next day has just begun has changed."""

    period: Period = Period(None, None)
    after: int | None = None
    previous_day: date | None = None
    next_day: date | None = None


@dataclass
class DigestGroup:
    slug: str | None
    name: str
    articles: list[Article] = field(default_factory=list)


@dataclass
class Digest:
    period: Period
    groups: list[DigestGroup]
    most_covered: list[Article]
    total: int
    previous_day: date | None
    next_day: date | None
    # The `before` that continues the digest after this page; None on the last page.
    next_before: int | None = None
    highlights: dict[int, str] = field(default_factory=dict)
    notice: str | None = None

    @property
    def day(self) -> date | None:
        return self.period.day

    def group_of(self, article: Article) -> DigestGroup | None:
        """The group `article` is listed under."""
        return next((group for group in self.groups if article in group.articles), None)


def find_digest(
    session: Session, view: ResolvedView, period: Period, zone: tzinfo, before: int | None = None
) -> DigestFound:
    """The page of `view` within `period` that follows article `before`: a day's is up to
    `DIGEST_LIMIT` articles, a range's up to `RANGE_LIMIT`. The period's bounds stand in
    for the view's own `since` and `until`, which a range has already taken in."""
    limit = DIGEST_LIMIT if period.day is not None else RANGE_LIMIT
    within = replace(view.filters, since=period.since, until=period.until)
    page = find_page(session, replace(view, filters=within), limit, before)
    previous_day = next_day = None
    if period.day is not None:
        previous_day, next_day = _neighbours(session, view, period, zone)
    return DigestFound(
        rows=page.rows,
        limit=page.limit,
        validator=f"{page.validator}|{previous_day}|{next_day}",
        last_modified=page.last_modified,
        notice=page.notice,
        period=period,
        after=before,
        previous_day=previous_day,
        next_day=next_day,
    )


def _neighbours(
    session: Session, view: ResolvedView, period: Period, zone: tzinfo
) -> tuple[date | None, date | None]:
    """The nearest local days before and after `period` with an article in `view`."""
    assert period.since is not None and period.until is not None
    wanted = view.article_filter()
    try:
        before = nearest_published(session, wanted, period.since, "before")
        after = nearest_published(session, wanted, period.until, "after")
    except SearchQueryError:  # a search with nothing to look for finds no day either
        return None, None
    return (
        local_day(before, zone) if before else None,
        local_day(after, zone) if after else None,
    )


def build_digest(
    session: Session, view: ResolvedView, found: DigestFound, topics: Sequence[TopicInfo]
) -> Digest:
    """The articles of the page `found`, each under its strongest topic (under the
    strongest of the topics asked for, when the view names topics), and on a first page
    the most covered of them."""
    articles = load_page(session, found)
    return Digest(
        period=found.period,
        groups=_group(articles, topics, view.filters.topics),
        most_covered=most_covered(articles) if found.after is None else [],
        total=len(articles),
        previous_day=found.previous_day,
        next_day=found.next_day,
        next_before=found.next_before,
        highlights=highlights(session, view.filters, [a.id for a in articles]),
        notice=found.notice,
    )


def _group(
    articles: list[Article], topics: Sequence[TopicInfo], only: Sequence[str]
) -> list[DigestGroup]:
    groups = {t.slug: DigestGroup(t.slug, t.name) for t in topics}
    other = DigestGroup(None, UNTAGGED)
    for article in articles:
        tags = sorted(article.tags, key=lambda t: (-t.score, t.topic.position))
        asked = [t.topic.slug for t in tags if t.topic.slug in only]
        home = asked[0] if asked else (tags[0].topic.slug if tags else None)
        groups.get(home or "", other).articles.append(article)
    ordered = [g for g in groups.values() if g.articles]
    if other.articles:
        ordered.append(other)
    return ordered
