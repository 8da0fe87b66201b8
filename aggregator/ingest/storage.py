"""Storing parsed entries. Runs inside the caller's transaction and never commits.

Each entry is matched, in order, by (source, guid): the same item seen again, perhaps
edited; then by dedup key (canonical URL, else a title+date hash): the same story from
another feed, which gains a link to this source; otherwise it is a new article.

A feed that carries two items with different guids means two stories, even when their
canonical URLs agree (a blog whose posts are fragments of one day's page): the second is
stored as its own article under a key made distinct by its guid.

New articles may arrive with the model's tags (computed in the parse pool): they are
written with the articles and the articles marked as classified by that model, so the
later tagging pass has nothing left to do. Edited articles are not retagged here: they
are queued for `tagging.classify_pending`, which leaves an editor's correction alone.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.orm import Session

from aggregator.classify.tagging import insert_model_tags
from aggregator.classify.types import TopicScore
from aggregator.ingest.parse import ParsedEntry
from models import Article, ArticleSource
from models.dialect import insert_rows, select_in

# Keeps IN (...) lists well under SQLite's bound-parameter limit.
_BATCH = 500
# The tables themselves: inserts of plain rows skip the ORM's bulk machinery, which cost
# more than SQLite did, and the poll's writer shares the GIL with the event loop.
_ARTICLES = cast(Table, Article.__table__)
_LINKS = cast(Table, ArticleSource.__table__)
_LINK_COLUMNS = ("source_id", "guid", "article_id", "first_seen_at")


@dataclass(frozen=True)
class EntryTags:
    """A model's tags for each entry of one refresh (in the order of the entries)."""

    model_id: int
    topic_ids: Mapping[str, int]  # topic slug -> topics.id
    per_entry: Sequence[Sequence[TopicScore]]


@dataclass
class StoreResult:
    new_article_ids: list[int] = field(default_factory=list)
    # The entry each new article was made from, in the order of `new_article_ids`.
    new_entries: list[ParsedEntry] = field(default_factory=list)
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
    tags: EntryTags | None = None,
) -> StoreResult:
    """Store one refresh's entries, and the model's `tags` of the new ones. Works in bulk
    statements rather than ORM objects: a cold poll stores tens of thousands of articles,
    and per-object bookkeeping would cost more than the database does."""
    result = StoreResult()
    if not entries:
        return result
    if tags is not None and len(tags.per_entry) != len(entries):
        raise ValueError("tags must give one list per entry")
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
    classified_by = tags.model_id if tags is not None else None
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
            new_rows.append({"dedup_key": key, "fetched_at": fetched_at,
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
        # One executemany, then the ids by key (unique): asking for them with RETURNING in
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
    if tags is not None and new_ids:
        insert_model_tags(
            session, tags.model_id, tags.topic_ids,
            ((new_ids[row], tags.per_entry[i]) for row, i in enumerate(new_row_entry)),
        )  # fmt: skip
    if edits:
        # Edited: new content, and classified again.
        session.execute(
            update(Article),
            [{"id": article_id, "classified_by_id": None, **_columns(entry)}
             for article_id, entry in edits.items()],
        )  # fmt: skip
        result.updated_article_ids = list(edits)
    result.new_article_ids = new_ids
    result.new_entries = [entries[index] for index in new_row_entry]
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
