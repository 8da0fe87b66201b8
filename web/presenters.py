"""Turning ORM rows into what templates and JSON show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models import Article, ArticleTopic

SNIPPET_CHARS = 280


@dataclass(frozen=True)
class TagView:
    slug: str
    name: str
    score: float
    origin: str
    why: list[str]

    @property
    def set_by_editor(self) -> bool:
        return self.origin == "editor"


def tags_of(article: Article) -> list[TagView]:
    tags: list[ArticleTopic] = sorted(article.tags, key=lambda t: (-t.score, t.topic.position))
    return [TagView(t.topic.slug, t.topic.name, t.score, t.origin, list(t.why)) for t in tags]


def source_names(article: Article) -> list[str]:
    links = sorted(article.links, key=lambda link: link.first_seen_at)
    return [link.source.display_name for link in links]


def snippet(article: Article) -> str:
    text = article.text
    if len(text) <= SNIPPET_CHARS:
        return text
    return text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def article_json(article: Article) -> dict[str, Any]:
    names = source_names(article)
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "source": names[0] if names else None,
        "sources": names,
        "published": iso(article.published_at),
        "summary": snippet(article),
        "topics": [
            {"slug": t.slug, "name": t.name, "score": t.score, "origin": t.origin, "why": t.why}
            for t in tags_of(article)
        ],
    }
