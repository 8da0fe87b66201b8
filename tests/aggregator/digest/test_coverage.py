"""The most-covered items: the articles the most sources carried, from the articles a page
has loaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.digest.coverage import most_covered
from models import Article, ArticleSource

NOON = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _article(id_: int, sources: int, hours_before_noon: int = 0) -> Article:
    article = Article(id=id_, title=f"article {id_}", published_at=NOON - timedelta(
        hours=hours_before_noon))  # fmt: skip
    article.links = [ArticleSource(source_id=n, guid=f"{id_}-{n}") for n in range(sources)]
    return article


def test_most_sources_first_then_newest_then_latest_stored() -> None:
    articles = [
        _article(1, sources=2, hours_before_noon=3),
        _article(2, sources=1),  # one source: not "covered"
        _article(3, sources=4, hours_before_noon=9),
        _article(4, sources=2, hours_before_noon=1),
        _article(5, sources=2, hours_before_noon=1),
        _article(6, sources=3, hours_before_noon=2),
    ]
    assert [a.id for a in most_covered(articles)] == [3, 6, 5, 4, 1]
    assert [a.id for a in most_covered(articles, limit=2)] == [3, 6]
    assert [a.id for a in most_covered(articles, min_sources=3)] == [3, 6]


def test_nothing_is_most_covered_when_every_article_had_one_source() -> None:
    assert most_covered([_article(1, sources=1), _article(2, sources=1)]) == []
    assert most_covered([]) == []
