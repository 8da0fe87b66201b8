"""Ingest's storage: every write a poll makes, and the reads it needs to make them. Runs
inside the caller's transaction and never commits. (Reads for pages, feeds and the API are
in `models.queries`.)

- Sources: which are due (`due_sources`), and what a refresh changed on each, written in
  bulk by kind (`write_refreshes`): the outcome of `schedule.decide` for each result, and
  the new URL of a feed that moved for good. Adding, re-enabling, moving (a new
  address) and removing sources.
- Articles (`store_entries`): each entry is matched, in order, by (source, guid): the
  same item seen again, perhaps edited; then by dedup key (canonical URL, else a
  title+date hash): the same story from another feed, which gains a link to this source;
  otherwise it is a new article. A feed that carries two items with different guids
  means two stories, even when their canonical URLs agree (a blog whose posts are
  fragments of one day's page): the second is stored as its own article under a key made
  distinct by its guid.

New articles are stored unclassified, or as classified by the model whose tags the parse
worker computed; the after-store hooks (tagging first) are given them in the same
transaction. Edited articles are queued for `tagging.classify_pending`, which
leaves an editor's correction alone.

Claiming due sources for one poller among several (`lease_expires_at`,
`models.dialect.for_update_skip_locked`) and conflict-safe inserts
(`models.dialect.insert_ignoring_conflicts`) belong here when several pollers share a
PostgreSQL database.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    Update,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from aggregator.errors import BiowireError
from aggregator.ingest.results import (
    Changed,
    Failed,
    RefreshResult,
    SourceSnapshot,
    SourceUpdate,
    Unchanged,
)
from aggregator.ingest.urls import canonical_url
from models import Article, ArticleSource, Source
from models.base import utcnow
from models.dialect import insert_rows, select_in

if TYPE_CHECKING:
    # In annotations only: the sources page reaches this module (through `health` and
    # `sources`), and a web worker loads no feedparser.
    from aggregator.ingest.parse import ParsedEntry

# Keeps IN (...) lists well under SQLite's bound-parameter limit.
_BATCH = 500
# The tables themselves: inserts of plain rows skip the ORM's bulk machinery, which cost
# more than SQLite did, and the poll's writer shares the GIL with the event loop.
_ARTICLES = cast(Table, Article.__table__)
_LINKS = cast(Table, ArticleSource.__table__)
_SOURCES = cast(Table, Source.__table__)
_LINK_COLUMNS = ("source_id", "guid", "article_id", "first_seen_at")


class SourceError(BiowireError):
    """A source cannot be added or found."""


# --- sources ------------------------------------------------------------------------------


def due_sources(session: Session, now: datetime, everything: bool = False) -> list[SourceSnapshot]:
    """The sources a poll at `now` refreshes: the enabled ones that are due (all the enabled
    ones with `everything`)."""
    query = (
        select(Source.id, Source.url, Source.etag, Source.last_modified, Source.body_hash,
               Source.consecutive_failures, Source.poll_interval_seconds)
        .where(*_due(now, everything))
        .order_by(Source.id)
    )  # fmt: skip
    return [SourceSnapshot(*row) for row in session.execute(query)]


def count_due_sources(session: Session, now: datetime, everything: bool = False) -> int:
    """How many sources `due_sources` would give."""
    query = select(func.count()).select_from(Source).where(*_due(now, everything))
    return session.scalar(query) or 0


def _due(now: datetime, everything: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Source.disabled_at.is_(None)]
    if not everything:
        conditions.append(or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now))
    return conditions


@dataclass(frozen=True)
class RefreshWrite:
    """One refresh, ready to write: the source as the poll read it, the refresh's result,
    and what `schedule.decide` made of it."""

    source: SourceSnapshot
    result: RefreshResult
    update: SourceUpdate


def write_refreshes(session: Session, writes: Sequence[RefreshWrite]) -> list[StoreResult | None]:
    """Write a group of refreshes: each changed feed's entries, then every source's new
    state, one statement a kind for the whole group (an UPDATE costs SQLAlchemy several
    times what it costs SQLite, and an executemany pays that once). Returns what storing
    each changed feed gave, None for the others, in the order of `writes`."""
    stored: list[StoreResult | None] = []
    rows: dict[Update, list[dict[str, object]]] = {}
    for write in writes:
        result, update_ = write.result, write.update
        if isinstance(result, Changed):
            # Entries the parse worker tagged are stored as classified by its model.
            tagged_by = result.tagged_by if result.tags is not None else None
            outcome = store_entries(
                session, write.source.id, result.feed.entries, update_.polled_at, tagged_by
            )
            stored.append(outcome)
            rows.setdefault(_RECORD_SUCCESS, []).append(
                _success_row(write.source, result, update_, outcome.new)
            )
        else:
            stored.append(None)
            statement, row = (
                (_RECORD_UNCHANGED, _unchanged_row(write.source, result, update_))
                if isinstance(result, Unchanged)
                else (_RECORD_FAILURE, _failure_row(write.source, result, update_))
            )
            rows.setdefault(statement, []).append(row)
    for statement, params in rows.items():
        session.execute(statement, params)
    for write in writes:
        moved_to = getattr(write.result, "moved_to", None)
        if moved_to is not None:
            _follow_permanent_redirect(session, write.source.id, moved_to)
    return stored


def _column_param(name: str) -> Any:
    return bindparam(f"p_{name}", type_=_SOURCES.c[name].type)


def _params(columns: Sequence[str]) -> dict[str, Any]:
    return {name: _column_param(name) for name in columns}


# The statements a poll runs by the thousand, built once and their compiled forms reused.
_STATE_COLUMNS = (
    "last_status", "last_polled_at", "poll_interval_seconds", "next_poll_at",
    "consecutive_failures", "last_error", "last_error_at",
)  # fmt: skip
# A changed feed: its validators and hash, how many articles it brought; its title and site
# URL fill in what the source lacks.
_RECORD_SUCCESS = (
    update(_SOURCES)
    .where(_SOURCES.c.id == bindparam("p_id"))
    .values(
        **_params((*_STATE_COLUMNS, "etag", "last_modified", "body_hash", "last_new_articles")),
        title=case(
            (
                or_(_SOURCES.c.title.is_(None), _SOURCES.c.title == ""),
                func.coalesce(_column_param("title"), _SOURCES.c.title),
            ),
            else_=_SOURCES.c.title,
        ),  # fmt: skip
        site_url=func.coalesce(_column_param("site_url"), _SOURCES.c.site_url),
    )
)
# Most refreshes of a warm poll end here. A 304 may carry fresh validators; the old ones
# stay if it does not.
_RECORD_UNCHANGED = (
    update(_SOURCES)
    .where(_SOURCES.c.id == bindparam("p_id"))
    .values(
        **_params(_STATE_COLUMNS),
        last_new_articles=0,
        etag=func.coalesce(_column_param("etag"), _SOURCES.c.etag),
        last_modified=func.coalesce(_column_param("last_modified"), _SOURCES.c.last_modified),
    )
)
_RECORD_FAILURE = (
    update(_SOURCES)
    .where(_SOURCES.c.id == bindparam("p_id"))
    .values(
        **_params((*_STATE_COLUMNS, "disabled_at", "disabled_reason")),
        last_new_articles=0,
    )
)


def _state_row(source: SourceSnapshot, update_: SourceUpdate) -> dict[str, object]:
    return {
        "p_id": source.id,
        "p_last_status": update_.status,
        "p_last_polled_at": update_.polled_at,
        "p_poll_interval_seconds": update_.poll_interval_seconds,
        "p_next_poll_at": update_.next_poll_at,
        "p_consecutive_failures": update_.consecutive_failures,
        "p_last_error": update_.error,
        "p_last_error_at": update_.polled_at if update_.error else None,
    }


def _success_row(
    source: SourceSnapshot, result: Changed, update_: SourceUpdate, new_articles: int
) -> dict[str, object]:
    feed = result.feed
    return {
        **_state_row(source, update_),
        "p_etag": result.etag,
        "p_last_modified": result.last_modified,
        "p_body_hash": result.body_hash,
        "p_last_new_articles": new_articles,
        "p_title": feed.title[:500] if feed.title else None,
        "p_site_url": feed.site_url[:2048] if feed.site_url else None,
    }


def _unchanged_row(
    source: SourceSnapshot, result: Unchanged, update_: SourceUpdate
) -> dict[str, object]:
    return {
        **_state_row(source, update_),
        "p_etag": result.etag,
        "p_last_modified": result.last_modified,
    }


def _failure_row(
    source: SourceSnapshot, result: Failed, update_: SourceUpdate
) -> dict[str, object]:
    return {
        **_state_row(source, update_),
        "p_disabled_at": update_.polled_at if update_.disabled else None,
        "p_disabled_reason": update_.disabled_reason,
    }


def _follow_permanent_redirect(session: Session, source_id: int, new_url: str) -> None:
    """Move the source to where every hop of a 301/308 chain led, unless another source
    already has that URL."""
    taken = session.scalar(select(Source.id).where(Source.url == new_url, Source.id != source_id))
    if taken is None:
        session.execute(update(_SOURCES).where(_SOURCES.c.id == source_id).values(url=new_url))


def add_source(
    session: Session, url: str, title: str | None = None, site_url: str | None = None
) -> tuple[Source, bool]:
    """Register `url`; returns (source, created). Adding a known URL is not an error."""
    normalised = canonical_url(url)
    if normalised is None:
        raise SourceError(f"not an http(s) URL: {url!r}")
    existing = session.scalar(select(Source).where(Source.url == normalised))
    if existing is not None:
        return existing, False
    source = Source(url=normalised, title=title, site_url=site_url)
    session.add(source)
    session.flush()
    return source, True


def enable_source(session: Session, source_id: int) -> Source:
    """Poll a disabled source again, at the next poll, with its failures forgotten."""
    source = session.get(Source, source_id)
    if source is None:
        raise SourceError(f"no source with id {source_id}")
    source.disabled_at = None
    source.disabled_reason = None
    source.consecutive_failures = 0
    source.next_poll_at = None
    return source


@dataclass(frozen=True)
class MovedSource:
    id: int
    old_url: str
    new_url: str


def set_source_url(session: Session, source_id: int, url: str) -> MovedSource:
    """Poll the source at `url` from now on, as a source new to it: the address is checked
    as `add_source` checks it, and what Biowire knew of the old one (its validators, its
    failures, its last poll, its being disabled) is forgotten, so that the next poll
    fetches the new address in full. The articles it carried stay its own."""
    source = session.get(Source, source_id)
    if source is None:
        raise SourceError(f"no source with id {source_id}")
    normalised = canonical_url(url)
    if normalised is None:
        raise SourceError(f"not an http(s) URL: {url!r}")
    taken = session.scalar(
        select(Source.id).where(Source.url == normalised, Source.id != source_id)
    )
    if taken is not None:
        raise SourceError(
            f"source #{taken} already polls {normalised}: remove source #{source_id} instead"
        )
    old_url, source.url = source.url, normalised
    source.etag = source.last_modified = source.body_hash = None
    source.last_polled_at = source.last_status = None
    source.last_error = source.last_error_at = None
    source.consecutive_failures = 0
    source.last_new_articles = 0
    source.poll_interval_seconds = None
    source.disabled_at = source.disabled_reason = None
    source.next_poll_at = None  # due at the next poll
    session.flush()
    return MovedSource(source_id, old_url, normalised)


@dataclass(frozen=True)
class SourceFootprint:
    """A source's share of the articles: how many it carried, and how many of those
    another source carried too."""

    id: int
    name: str
    articles: int
    shared: int

    @property
    def only_here(self) -> int:
        return self.articles - self.shared


def source_footprint(session: Session, source_id: int) -> SourceFootprint:
    found = session.execute(select(Source.title, Source.url).where(Source.id == source_id)).first()
    if found is None:
        raise SourceError(f"no source with id {source_id}")
    title, url = found
    carried, shared = _carried_and_shared(source_id)
    return SourceFootprint(
        source_id, title or url, _count(session, carried), _count(session, shared)
    )


@dataclass(frozen=True)
class RemovedSource:
    id: int
    name: str
    deleted_articles: int
    kept_articles: int


def remove_source(session: Session, source_id: int, keep_articles: bool = False) -> RemovedSource:
    """Delete the source and, unless `keep_articles`, the articles it alone carried; an
    article another source also carried stays, as that source's. Their tags, search
    entries and editors' corrections go with the deleted articles (the schema's cascades
    and triggers)."""
    footprint = source_footprint(session, source_id)
    carried, shared = _carried_and_shared(source_id)
    deleted = 0
    if not keep_articles:
        deleted = footprint.only_here
        session.execute(
            delete(_ARTICLES).where(_ARTICLES.c.id.in_(carried), _ARTICLES.c.id.not_in(shared))
        )
    # The articles that stay no longer name this source: a change their readers see.
    session.execute(
        update(_ARTICLES).where(_ARTICLES.c.id.in_(carried)).values(changed_at=utcnow())
    )
    # Its links go with it, by the foreign key's cascade. (A statement, not the unit of
    # work, which would first try to empty the links' `source_id`.)
    session.execute(delete(_SOURCES).where(_SOURCES.c.id == source_id))
    return RemovedSource(source_id, footprint.name, deleted, footprint.articles - deleted)


def _carried_and_shared(source_id: int) -> tuple[Select[tuple[int]], Select[tuple[int]]]:
    """The ids of the articles the source carried, and of those another source did too."""
    carried = select(_LINKS.c.article_id).where(_LINKS.c.source_id == source_id)
    shared = select(_LINKS.c.article_id).where(
        _LINKS.c.article_id.in_(carried), _LINKS.c.source_id != source_id
    )
    return carried, shared


def _count(session: Session, ids: Select[tuple[int]]) -> int:
    return session.scalar(select(func.count(func.distinct(ids.subquery().c[0])))) or 0


def schedule_now(session: Session, source_ids: list[int] | None = None) -> None:
    """Make these sources (every source without `source_ids`) due at once."""
    query = update(_SOURCES).values(next_poll_at=datetime.now(UTC) - timedelta(seconds=1))
    if source_ids:
        query = query.where(_SOURCES.c.id.in_(source_ids))
    session.execute(query)


# --- articles -----------------------------------------------------------------------------


@dataclass
class StoreResult:
    new_article_ids: list[int] = field(default_factory=list)
    # The entry each new article was made from, in the order of `new_article_ids`, and its
    # index in the entries stored.
    new_entries: list[ParsedEntry] = field(default_factory=list)
    new_entry_indexes: list[int] = field(default_factory=list)
    updated_article_ids: list[int] = field(default_factory=list)
    linked_article_ids: list[int] = field(default_factory=list)

    @property
    def new(self) -> int:
        return len(self.new_article_ids)


def store_entries(
    session: Session,
    source_id: int,
    entries: list[ParsedEntry],
    fetched_at: datetime,
    classified_by: int | None = None,
) -> StoreResult:
    """Store one refresh's entries; with `classified_by`, the new articles are stored as
    classified by that model (the parse worker tagged them, and the tagging hook writes
    their tags). Works in bulk statements rather than ORM objects: a cold poll stores tens
    of thousands of articles, and per-object bookkeeping would cost more than the database
    does."""
    result = StoreResult()
    if not entries:
        return result
    # An article is an id once stored, or -(n+1) for the n-th row this call will insert.
    by_guid, stored_hash = _articles_by_guid(session, source_id, [e.guid for e in entries])
    # Only an entry whose guid this source has not carried is matched by key: a refresh
    # of a known feed looks up its few new entries, not all of them.
    by_key = _articles_by_key(session, [e.dedup_key for e in entries if e.guid not in by_guid])
    # Articles this source already carries: a key match among them is another item of the
    # same feed, not the same story.
    carried = _linked_to(session, source_id, list(by_key.values()))

    new_rows: list[dict[str, Any]] = []
    new_row_entry: list[int] = []  # the index in `entries` each new row was made from
    links: list[tuple[str, int]] = []
    edits: dict[int, ParsedEntry] = {}
    for index, entry in enumerate(entries):
        known = by_guid.get(entry.guid)
        if known is not None:
            if known < 0:  # the same guid twice in one document: the later one wins
                new_rows[-known - 1].update(_columns(entry))
                new_row_entry[-known - 1] = index
            elif stored_hash.get(known, entry.content_hash) != entry.content_hash:
                # (An article of another feed linked by this very call is left as it is.)
                edits[known] = entry
                stored_hash[known] = entry.content_hash
            continue
        key = entry.dedup_key
        article = by_key.get(key)
        if article is not None and article in carried:
            key = _distinct_key(entry)
            article = by_key.get(key) or _articles_by_key(session, [key]).get(key)
        if article is None:
            new_rows.append({"dedup_key": key, "fetched_at": fetched_at, "changed_at": fetched_at,
                             "classified_by_id": classified_by, **_columns(entry)})  # fmt: skip
            new_row_entry.append(index)
            article = -len(new_rows)
            by_key[key] = article
        elif article > 0:
            result.linked_article_ids.append(article)
        links.append((entry.guid, article))
        by_guid[entry.guid] = article
        carried.add(article)

    new_ids: list[int] = []
    if new_rows:
        # One bulk insert, then the ids by key (unique): asking for them with RETURNING in
        # parameter order made SQLite insert the rows a statement each.
        columns = tuple(new_rows[0])  # every new row is built with the same keys
        values = operator.itemgetter(*columns)
        insert_rows(session.connection(), _ARTICLES, columns, [values(r) for r in new_rows])
        inserted = _articles_by_key(session, [row["dedup_key"] for row in new_rows])
        new_ids = [inserted[row["dedup_key"]] for row in new_rows]
    if links:
        insert_rows(
            session.connection(), _LINKS, _LINK_COLUMNS,
            [(source_id, guid, new_ids[-article - 1] if article < 0 else article, fetched_at)
             for guid, article in links],
        )  # fmt: skip
    if result.linked_article_ids:
        # Which sources carried an article is part of what readers see of it (and how
        # widely it was covered): the views that show it have changed.
        for chunk in _chunks(result.linked_article_ids):
            session.execute(
                update(_ARTICLES).where(_ARTICLES.c.id.in_(chunk)).values(changed_at=fetched_at)
            )
    if edits:
        # Edited: new content, and classified again.
        session.execute(
            update(Article),
            [{"id": article_id, "classified_by_id": None, "changed_at": fetched_at,
              **_columns(entry)}
             for article_id, entry in edits.items()],
        )  # fmt: skip
        result.updated_article_ids = list(edits)
    result.new_article_ids = new_ids
    result.new_entries = [entries[index] for index in new_row_entry]
    result.new_entry_indexes = new_row_entry
    return result


def _distinct_key(entry: ParsedEntry) -> str:
    guid_hash = hashlib.sha256(entry.guid.encode("utf-8")).hexdigest()[:32]
    return f"{entry.dedup_key[:2000]}#guid={guid_hash}"


def _columns(entry: ParsedEntry) -> dict[str, Any]:
    return {
        "url": entry.url, "title": entry.title, "author": entry.author,
        "summary_html": entry.summary_html, "content_html": entry.content_html,
        "text": entry.text, "categories": list(entry.categories),
        "content_hash": entry.content_hash, "published_at": entry.published_at,
        "updated_at": entry.updated_at,
    }  # fmt: skip


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), _BATCH):
        yield unique[start : start + _BATCH]


# The lookups a refresh makes, built once: a cold poll runs each of them thousands of times,
# and building a statement anew cost more than SQLite took to answer it.
_BY_GUID = (
    select(_LINKS.c.guid, _ARTICLES.c.id, _ARTICLES.c.content_hash)
    .join(_ARTICLES, _ARTICLES.c.id == _LINKS.c.article_id)
    .where(
        _LINKS.c.source_id == bindparam("source_id"),
        _LINKS.c.guid.in_(bindparam("values", expanding=True)),
    )
)
_BY_KEY = select(_ARTICLES.c.dedup_key, _ARTICLES.c.id).where(
    _ARTICLES.c.dedup_key.in_(bindparam("values", expanding=True))
)
_LINKED = select(_LINKS.c.article_id).where(
    _LINKS.c.source_id == bindparam("source_id"),
    _LINKS.c.article_id.in_(bindparam("values", expanding=True)),
)


def _lookup(
    session: Session, statement: Select[Any], values: list[Any], **params: Any
) -> Iterator[tuple[Any, ...]]:
    """The rows `statement` finds for `values`, asked in chunks."""
    connection = session.connection()
    for chunk in _chunks(values):
        yield from select_in(connection, statement, chunk, **params)


def _articles_by_guid(
    session: Session, source_id: int, guids: list[str]
) -> tuple[dict[str, int], dict[int, str]]:
    """guid → article id for this source's known items, and each such article's hash."""
    found: dict[str, int] = {}
    hashes: dict[int, str] = {}
    for guid, article_id, content_hash in _lookup(session, _BY_GUID, guids, source_id=source_id):
        found[guid] = article_id
        hashes[article_id] = content_hash
    return found, hashes


def _articles_by_key(session: Session, keys: list[str]) -> dict[str, int]:
    return {key: article_id for key, article_id in _lookup(session, _BY_KEY, keys)}


def _linked_to(session: Session, source_id: int, article_ids: list[int]) -> set[int]:
    """Those of `article_ids` that `source_id` already carries."""
    return {row[0] for row in _lookup(session, _LINKED, article_ids, source_id=source_id)}
