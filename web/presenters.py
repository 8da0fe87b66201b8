"""Turning ORM rows into what templates and JSON show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aggregator.digest.items import snippet, source_names, tags_of
from models import Article


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
