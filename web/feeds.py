"""A view as a feed: RSS 2.0 and Atom written by feedgen (a maintained generator of both),
JSON Feed 1.1 as plain JSON (a dozen keys: no library needed).

Every format carries the same articles with the same ids (`article_id_uri`), links and
dates: RSS dates in RFC 822, Atom and JSON Feed in RFC 3339, every URL absolute, and a
self link equal to the address the feed was asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator

from aggregator.digest.items import snippet, source_names, tags_of
from models import Article
from web.presenters import rfc3339

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
# An empty view has changed never: its `updated` must not be the time of the request,
# or the same view would give a new body, under the same ETag, each time it is asked.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedMeta:
    title: str
    description: str
    page_url: str  # the same view as a web page
    feed_url: str  # this feed's own address, as it was asked for
    updated: datetime | None
    next_url: str | None = None  # the next page of the view (JSON Feed's `next_url`)


@dataclass(frozen=True)
class FeedFormat:
    name: str
    media_type: str
    render: Callable[[FeedMeta, list[Article]], bytes]


# Characters XML 1.0 cannot carry (of the controls, only tab, newline and return): lxml,
# under feedgen, refuses a whole document for one. A search's words reach the feed's title,
# and a JSON feed's text may hold them; RSS and Atom leave them out.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def article_id_uri(article: Article) -> str:
    """A stable, unique id for an article in every format: a tag URI (RFC 4151)."""
    return f"tag:biowire,2026:article:{article.id}"


def _link(meta: FeedMeta, article: Article) -> str:
    return article.url or f"{meta.page_url.split('#')[0]}#article-{article.id}"


def _content(article: Article) -> str:
    # Stored HTML was sanitised when it was stored; feedgen escapes it again as text.
    return article.summary_html or article.content_html


def _generator(meta: FeedMeta) -> FeedGenerator:
    generator = FeedGenerator()
    generator.id(meta.page_url)
    generator.title(xml_text(meta.title))
    generator.subtitle(xml_text(meta.description))  # RSS <description>, Atom <subtitle>
    generator.link(href=meta.page_url, rel="alternate")
    generator.link(href=meta.feed_url, rel="self")
    generator.language("en")
    generator.generator("Biowire")
    generator.updated(meta.updated or NEVER)
    return generator


def _add_entries(generator: FeedGenerator, meta: FeedMeta, articles: list[Article]) -> None:
    # feedgen prepends each entry it adds: add the oldest first to keep newest first.
    for article in reversed(articles):
        entry = generator.add_entry()
        entry.id(article_id_uri(article))
        entry.guid(article_id_uri(article), permalink=False)
        entry.title(xml_text(article.title))
        entry.link(href=_link(meta, article), rel="alternate")
        entry.published(article.published_at)
        entry.updated(article.updated_at or article.published_at)
        content = _content(article)
        if content:
            entry.description(xml_text(content))  # RSS <description>, Atom <summary>
        if article.author:
            entry.author(name=xml_text(article.author))
        for tag in tags_of(article):
            entry.category(term=xml_text(tag.name))


def rss_document(meta: FeedMeta, articles: list[Article]) -> bytes:
    generator = _generator(meta)
    _add_entries(generator, meta, articles)
    body: bytes = generator.rss_str(pretty=False)
    return body


def atom_document(meta: FeedMeta, articles: list[Article]) -> bytes:
    generator = _generator(meta)
    _add_entries(generator, meta, articles)
    body: bytes = generator.atom_str(pretty=False)
    return body


def json_feed_document(meta: FeedMeta, articles: list[Article]) -> bytes:
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": meta.title,
        "home_page_url": meta.page_url,
        "feed_url": meta.feed_url,
        "description": meta.description,
        "language": "en",
        "items": [_json_item(meta, article) for article in articles],
    }
    if meta.next_url:
        feed["next_url"] = meta.next_url
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode()


def _json_item(meta: FeedMeta, article: Article) -> dict[str, Any]:
    content = _content(article)
    tags = tags_of(article)
    item: dict[str, Any] = {
        "id": article_id_uri(article),
        "url": _link(meta, article),
        "title": article.title,
        **({"content_html": content} if content else {"content_text": article.text}),
        "summary": snippet(article),
        "date_published": rfc3339(article.published_at),
        "date_modified": rfc3339(article.updated_at or article.published_at),
        "tags": [tag.name for tag in tags],
        # JSON Feed's extension convention: a key starting with an underscore.
        "_biowire": {
            "article_id": article.id,
            "sources": source_names(article),
            "topics": [
                {
                    "slug": tag.slug,
                    "name": tag.name,
                    "score": round(tag.score, 4),
                    "origin": tag.origin,
                }
                for tag in tags
            ],  # fmt: skip
        },
    }
    if article.author:
        item["authors"] = [{"name": article.author}]
    return item


FORMATS = {
    "rss": FeedFormat("rss", "application/rss+xml; charset=utf-8", rss_document),
    "atom": FeedFormat("atom", "application/atom+xml; charset=utf-8", atom_document),
    "json": FeedFormat("json", "application/feed+json; charset=utf-8", json_feed_document),
}
