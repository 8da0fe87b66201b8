"""The topic page over real HTTP (uvicorn on 127.0.0.1): what the topic covers, its
articles a day over the site's last 30 days as a chart and a table, its latest articles,
and the ways to follow it; one address per topic beside its feeds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from aggregator.ingest.storage import add_source
from aggregator.service import Database
from aggregator.settings import Settings
from models import Article, ArticleSource, ArticleTopic, Topic, session_scope
from tests.conftest import serving

SLUG = "border-control"


def _store(db: Database, title: str, published: datetime, *slugs: str) -> int:
    """An article of the test source, carrying `slugs`, as a poll and the tagger store it."""
    with session_scope(db.factory) as session:
        source, _ = add_source(session, "https://press.example/feed", "Trade press")
        topics = {t.slug: t.id for t in session.scalars(select(Topic))}
        article = Article(
            dedup_key=f"https://press.example/{title}", url=f"https://press.example/{title}",
            title=title, content_hash=title, published_at=published, text=f"{title}.",
        )  # fmt: skip
        session.add(article)
        session.flush()
        session.add(ArticleSource(article_id=article.id, source_id=source.id, guid=title))
        session.add_all(
            ArticleTopic(article_id=article.id, topic_id=topics[slug], score=0.9, why=[])
            for slug in slugs
        )
        return article.id


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def _table(page: str) -> dict[date, int]:
    """The chart's numbers as the page's table gives them, day by day."""
    rows = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">[^<]*</time></th><td>(\d+)</td>', page)
    return {date.fromisoformat(day): int(count) for day, count in rows}


def _in_zone(settings: Settings, zone: str) -> Settings:
    return Settings(**{**settings.model_dump(), "timezone": zone})


@pytest.fixture
def utc_today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
def filled(db: Database, utc_today: date) -> Database:
    _store(db, "Land border adds e-gates", _at(utc_today, 0, 5), SLUG)
    _store(db, "Visa rules change", _at(utc_today - timedelta(days=2), 10), SLUG, "digital-id")
    _store(db, "Export ban widened", _at(utc_today, 0, 1), "sanctions-trade")
    return db


@pytest.fixture
def http(live_app: str, filled: Database) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_app, timeout=10) as client:
        yield client


def test_the_page_says_what_the_topic_covers_and_how_to_follow_it(http: httpx.Client) -> None:
    page = http.get(f"/topics/{SLUG}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<h1>Border control</h1>" in html
    assert "Borders, immigration, customs, entry/exit systems, visas and e-gates." in html
    base = str(http.base_url).rstrip("/")
    assert f'href="{base}/?topic={SLUG}"' in html  # the digest on the topic
    for kind in ("rss", "atom", "json"):
        assert f'href="{base}/topics/{SLUG}.{kind}"' in html
    assert (
        'rel="alternate" type="application/rss+xml" title="Biowire: Border control (RSS)"' in html
    )
    assert "/static/pages.css" in html
    # The latest articles are the topic's, newest first, and only the topic's.
    assert html.index("Land border adds e-gates") < html.index("Visa rules change")
    assert "Export ban widened" not in html


def test_the_chart_is_an_image_with_a_name_and_the_numbers_as_a_table(
    http: httpx.Client, utc_today: date
) -> None:
    html = http.get(f"/topics/{SLUG}").text
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S)
    assert svg is not None
    chart = svg.group(0)
    assert 'role="img"' in chart and 'aria-labelledby="volume-title volume-desc"' in chart
    assert (
        '<title id="volume-title">Articles a day on Border control, last 30 days</title>' in chart
    )
    busiest = f"{utc_today.day} {utc_today:%B %Y}"  # a tie: the latest of the busiest days
    assert f"2 in all, max 1 on {busiest}." in chart
    assert len(re.findall(r'<rect class="bar', chart)) == 30
    # The same numbers in a table, every one of the 30 days, none left out for being empty.
    assert re.search(r"<details[^>]*>\s*<summary>", html)
    table = _table(html)
    assert sorted(table) == [utc_today - timedelta(days=n) for n in range(29, -1, -1)]
    assert {day: n for day, n in table.items() if n} == {
        utc_today: 1, utc_today - timedelta(days=2): 1
    }  # fmt: skip
    # Nothing a Content-Security-Policy without 'unsafe-inline' styles would block.
    assert not re.search(r"\sstyle=", html) and "<style" not in html


@pytest.mark.parametrize(
    ("zone", "shift"), [("UTC", 0), ("Asia/Tokyo", 1), ("America/New_York", 0)],
    ids=["utc", "east-of-utc", "west-of-utc"],
)  # fmt: skip
def test_days_are_the_sites_days(settings: Settings, db: Database, zone: str, shift: int) -> None:
    # 23:30 UTC is the next morning in Tokyo and the same evening in New York.
    today = datetime.now(ZoneInfo(zone)).date()
    late = _at(today - timedelta(days=5), 23, 30)
    _store(db, "Late-evening story", late, SLUG)
    with serving(_in_zone(settings, zone)) as url, httpx.Client(base_url=url) as http:
        table = _table(http.get(f"/topics/{SLUG}").text)
    assert {day: n for day, n in table.items() if n} == {late.date() + timedelta(days=shift): 1}
    assert max(table) == today


def test_a_change_to_the_chart_alone_changes_the_pages_etag(
    http: httpx.Client, filled: Database, utc_today: date
) -> None:
    first = http.get(f"/topics/{SLUG}")
    etag = first.headers["etag"]
    assert http.get(f"/topics/{SLUG}", headers={"If-None-Match": etag}).status_code == 304
    # Twenty newer articles fill the list; one more, days ago, shows only in the chart.
    for n in range(20):
        _store(filled, f"Gate news {n}", _at(utc_today, 0, 10 + n), SLUG)
    listed = http.get(f"/topics/{SLUG}", headers={"If-None-Match": etag})
    assert listed.status_code == 200
    _store(filled, "An older story", _at(utc_today - timedelta(days=9), 12), SLUG)
    charted = http.get(f"/topics/{SLUG}", headers={"If-None-Match": listed.headers["etag"]})
    assert charted.status_code == 200
    assert "An older story" not in charted.text
    assert _table(charted.text)[utc_today - timedelta(days=9)] == 1


def test_an_unknown_topic_is_the_friendly_404_naming_the_topics(http: httpx.Client) -> None:
    page = http.get("/topics/no-such-topic")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "no topic &#39;no-such-topic&#39;" in page.text
    assert f'?topic={SLUG}">{SLUG}</a>' in page.text


def test_the_topics_feeds_keep_their_addresses_beside_the_page(http: httpx.Client) -> None:
    rss = http.get(f"/topics/{SLUG}.rss")
    assert rss.status_code == 200 and rss.headers["content-type"].startswith("application/rss")
    assert "Land border adds e-gates" in rss.text
    assert (
        http.get(f"/topics/{SLUG}.json").headers["content-type"].startswith("application/feed+json")
    )
    missing = http.get("/topics/no-such-topic.atom")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_topic"


def test_a_hostile_title_is_text_on_the_page(http: httpx.Client, filled: Database) -> None:
    _store(filled, '<script>alert("title")</script> Gate <b>news</b>', datetime.now(UTC), SLUG)
    html = http.get(f"/topics/{SLUG}").text
    assert "<script>alert" not in html and "<b>news" not in html
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; Gate &lt;b&gt;news" in html


def test_the_page_is_in_the_openapi_document(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    answers = document["paths"]["/topics/{slug}"]["get"]["responses"]
    assert set(answers) >= {"200", "404", "422", "500"}
    assert list(answers["200"]["content"]) == ["text/html"]
