"""Storing parsed entries. Runs inside the caller's transaction and never commits.

Each entry is matched, in order, by (source, guid): the same item seen again, perhaps
edited; then by dedup key (canonical URL, else a title+date hash): the same story from
another feed, which gains a link to this source; otherwise it is a new article.
"""

from __future__ import annotations

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
        article: Article | None = known_articles.get(entry.dedup_key)
        if article is None:
            article = Article(dedup_key=entry.dedup_key, fetched_at=fetched_at)
            _apply(article, entry)
            session.add(article)
            known_articles[entry.dedup_key] = article
            created.append((article, entry))
        elif article.id is not None:
            result.linked_article_ids.append(article.id)
        link = ArticleSource(article=article, source_id=source_id, guid=entry.guid)
        session.add(link)
        known_links[entry.guid] = link
    session.flush()
    result.new_article_ids = [article.id for article, _ in created]
    return result


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
