"""The most-covered items of a digest: what the most sources carried.

An article is stored once however many feeds carried it (`models.ArticleSource`), so the
number of its sources is a measure of how widely a story was reported. This is the
simplest such measure, over the articles a page has already loaded (no query of its own);
grouping different articles about the same event into one story would count better.
"""

from __future__ import annotations

from collections.abc import Iterable

from models import Article

MOST_COVERED = 5
MIN_SOURCES = 2


def most_covered(
    articles: Iterable[Article], limit: int = MOST_COVERED, min_sources: int = MIN_SOURCES
) -> list[Article]:
    """Up to `limit` of `articles` carried by at least `min_sources` sources, the most
    sources first, then the newest, then the latest stored."""
    covered = [article for article in articles if len(article.links) >= min_sources]
    covered.sort(key=lambda a: (len(a.links), a.published_at, a.id), reverse=True)
    return covered[:limit]
