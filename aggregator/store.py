"""Storing parsed entries. Runs inside the caller's transaction and never commits.

Each entry is matched, in order, by (source, guid): the same item seen again, perhaps
edited; then by dedup key (canonical URL, else a title+date hash): the same story from
another feed, which gains a link to this source; otherwise it is a new article.

A feed that carries two items with different guids means two stories, even when their
canonical URLs agree (a blog whose posts are fragments of one day's page): the second is
stored as its own article under a key made distinct by its guid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.parse import ParsedEntry
from models import Article, ArticleSource

# Keeps IN (...) lists well under SQLite's bound-parameter limit.
_BATCH = 500


@dataclass
class StoreResult:
    new_article_ids: list[int] = field(default_factory=list)
    updated_article_ids: list[int] = field(default_factory=list)
    linked_article_ids: list[int] = field(default_factory=list)

    @property
    def new(self) -> int:
        return len(self.new_article_ids)


def store_entries(
    session: Session, source_id: int, entries: list[ParsedEntry], fetched_at: datetime
) -> StoreResult:
    result = StoreResult()
    if not entries:
        return result
    known_links = _links_by_guid(session, source_id, [e.guid for e in entries])
    known_articles = _articles_by_key(session, [e.dedup_key for e in entries])
    # Articles this source already carries: a key match among them is another item of the
    # same feed, not the same story.
    linked_here = _linked_to(session, source_id, [a.id for a in known_articles.values()])
    carried = {a for a in known_articles.values() if a.id in linked_here}

    created: list[tuple[Article, ParsedEntry]] = []
    for entry in entries:
        link = known_links.get(entry.guid)
        if link is not None:
            seen = link.article
            if seen.content_hash != entry.content_hash:
                _apply(seen, entry)
                seen.classified_by_id = None  # edited: classify it again
                result.updated_article_ids.append(seen.id)
            continue
        key = entry.dedup_key
        article: Article | None = known_articles.get(key)
        if article is not None and article in carried:
            key = _distinct_key(entry)
            article = known_articles.get(key) or _articles_by_key(session, [key]).get(key)
        if article is None:
            article = Article(dedup_key=key, fetched_at=fetched_at)
            _apply(article, entry)
            session.add(article)
            known_articles[key] = article
            created.append((article, entry))
        elif article.id is not None:
            result.linked_article_ids.append(article.id)
        link = ArticleSource(article=article, source_id=source_id, guid=entry.guid)
        session.add(link)
        known_links[entry.guid] = link
        carried.add(article)
    session.flush()
    result.new_article_ids = [article.id for article, _ in created]
    return result


def _distinct_key(entry: ParsedEntry) -> str:
    guid_hash = hashlib.sha256(entry.guid.encode("utf-8")).hexdigest()[:32]
    return f"{entry.dedup_key[:2000]}#guid={guid_hash}"


def _linked_to(session: Session, source_id: int, article_ids: list[int]) -> set[int]:
    """Those of `article_ids` that `source_id` already carries."""
    linked: set[int] = set()
    for start in range(0, len(article_ids), _BATCH):
        chunk = article_ids[start : start + _BATCH]
        linked.update(
            session.scalars(
                select(ArticleSource.article_id).where(
                    ArticleSource.source_id == source_id, ArticleSource.article_id.in_(chunk)
                )
            )
        )
    return linked


def _apply(article: Article, entry: ParsedEntry) -> None:
    article.url = entry.url
    article.title = entry.title
    article.author = entry.author
    article.summary_html = entry.summary_html
    article.content_html = entry.content_html
    article.text = entry.text
    article.categories = list(entry.categories)
    article.content_hash = entry.content_hash
    article.published_at = entry.published_at
    article.updated_at = entry.updated_at


def _links_by_guid(session: Session, source_id: int, guids: list[str]) -> dict[str, ArticleSource]:
    found: dict[str, ArticleSource] = {}
    unique = list(dict.fromkeys(guids))
    for start in range(0, len(unique), _BATCH):
        chunk = unique[start : start + _BATCH]
        rows = session.scalars(
            select(ArticleSource).where(
                ArticleSource.source_id == source_id, ArticleSource.guid.in_(chunk)
            )
        )
        found.update((row.guid, row) for row in rows)
    return found


def _articles_by_key(session: Session, keys: list[str]) -> dict[str, Article]:
    found: dict[str, Article] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _BATCH):
        chunk = unique[start : start + _BATCH]
        found.update(
            (a.dedup_key, a)
            for a in session.scalars(select(Article).where(Article.dedup_key.in_(chunk)))
        )
    return found
