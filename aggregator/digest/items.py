"""How an article reads in every view: its topics best first, the sources that carried it,
a short snippet of its text. Shared by the page, the feeds and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass

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
