"""The app over real HTTP (uvicorn on 127.0.0.1), on a database filled by a real poll."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import feedparser
import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from aggregator.ingest.sources import add_source
from aggregator.service import Database, classify_new
from aggregator.settings import Settings
from models import Article, session_scope
from tests.conftest import run_poll
from tests.fixtures.feeds import BIOMETRIC_ITEMS, Item, earlier_today, rss

HOSTILE = Item(
    'Evil <script>alert("title")</script> headline',
    "https://news.example.org/hostile",
    summary='<p>Lead</p><img src="x" onerror="alert(1)"><script>alert("summary")</script>',
    published=earlier_today(0),
)


AUTH = {"Authorization": "Bearer test-token"}

pytestmark = pytest.mark.usefixtures("filled")  # every test reads a polled, tagged feed


@pytest.fixture
def filled(httpserver: HTTPServer, settings: Settings, db: Database) -> Database:
    httpserver.expect_request("/feed").respond_with_data(
        rss([*BIOMETRIC_ITEMS, HOSTILE], title="Trade press"),
        content_type="application/rss+xml",
    )
    with session_scope(db.factory) as session:
        add_source(session, httpserver.url_for("/feed"))
    run_poll(settings, db)
    classify_new(db)
    return db


def result_links(page: str) -> list[str]:
    """The link of each article a page lists, in order (the headline of `_article.html`)."""
    return re.findall(r'<article class="item"[^>]*>\s*<h3><a href="([^"]+)"', page)


def _digest_of_the_items(client: httpx.Client) -> httpx.Response:
    """The digest of the day the test items were published (today, unless the clock has
    passed midnight since they were made)."""
    return client.get("/", params={"date": BIOMETRIC_ITEMS[0].published.date().isoformat()})


def test_digest_shows_todays_articles_grouped_with_chips(client: httpx.Client) -> None:
    page = _digest_of_the_items(client)
    assert page.status_code == 200
    html = page.text
    for item in BIOMETRIC_ITEMS:
        assert item.title in html
    assert 'class="group"' in html and 'class="chip' in html
    assert 'type="application/rss+xml"' in html  # autodiscovery


def test_hostile_markup_never_reaches_the_page(client: httpx.Client) -> None:
    page = _digest_of_the_items(client).text
    assert HOSTILE.link in result_links(page)
    assert "<script>alert" not in page
    assert "onerror=" not in page.replace("onerror=&quot;", "")
    assert not re.search(r"<img[^>]*onerror", page)
    # Titles are plain text: markup in them is dropped, the words around it kept.
    assert re.search(r"Evil\s+headline", page)


def test_hostile_markup_never_reaches_the_feed(client: httpx.Client) -> None:
    # The XML escapes every `<`, so a search of its text would find nothing whatever the
    # description held: what matters is the HTML a feed reader decodes from it, unsanitised.
    feed = feedparser.parse(client.get("/feed.rss").content, sanitize_html=False)
    [hostile] = [entry for entry in feed.entries if entry.link == HOSTILE.link]
    assert re.fullmatch(r"Evil\s+headline", hostile.title)
    description = hostile.description.lower()
    assert "<p>lead</p>" in description  # the harmless markup is kept
    for dangerous in ("<script", "alert(", "onerror", "javascript:"):
        assert dangerous not in description


def test_rss_round_trips_through_feedparser(client: httpx.Client) -> None:
    response = client.get("/feed.rss")
    assert response.headers["content-type"].startswith("application/rss+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo
    by_link = {e.link: e for e in parsed.entries}
    for item in BIOMETRIC_ITEMS:
        entry = by_link[item.link]
        assert entry.title == item.title
        published = datetime(*entry.published_parsed[:6], tzinfo=UTC)
        assert published == item.published


def test_topic_api_lists_topics_and_their_articles(client: httpx.Client) -> None:
    topics = client.get("/api/topics").json()["topics"]
    assert len(topics) == 13
    tagged = [t for t in topics if t["count"] > 0]
    assert tagged, "the classifier tagged nothing"
    slug = tagged[0]["slug"]
    page = client.get(f"/api/topics/{slug}", params={"limit": 1}).json()
    assert len(page["articles"]) == 1
    article = page["articles"][0]
    assert set(article) >= {"id", "title", "url", "source", "published", "summary", "topics"}
    assert any(t["slug"] == slug and 0 <= t["score"] <= 1 for t in article["topics"])
    assert client.get(f"/topics/{slug}.rss").status_code == 200


def test_topic_api_pages_through_every_article_in_order(
    client: httpx.Client, filled: Database
) -> None:
    # An editor files all four articles under one topic, so it has two full pages of two.
    slug = "research-standards"
    with session_scope(filled.factory) as session:
        stored = session.execute(select(Article.id, Article.published_at)).all()
    for article_id, _ in stored:
        response = client.put(
            f"/api/articles/{article_id}/topics", json={"topics": [slug]}, headers=AUTH
        )
        assert response.status_code == 200, response.text
    newest_first = [i for i, _ in sorted(stored, key=lambda row: (row[1], row[0]), reverse=True)]
    assert len(newest_first) == 4

    def page(before: int | None) -> tuple[list[int], int | None]:
        params = {"limit": 2, **({"before": before} if before else {})}
        body = client.get(f"/api/topics/{slug}", params=params).json()
        return [a["id"] for a in body["articles"]], body["next_before"]

    first, after_first = page(None)
    second, after_second = page(after_first)
    third, after_third = page(after_second)

    assert (first, after_first) == (newest_first[:2], newest_first[1])
    assert (second, after_second) == (newest_first[2:], newest_first[3])
    assert (third, after_third) == ([], None)


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/api/topics/no-such-topic", 404, "facial-recognition"),
        ("/topics/no-such-topic.rss", 404, "valid_topics"),
        ("/api/topics/digital-id?limit=0", 422, "limit"),
        ("/api/topics/digital-id?limit=500", 422, "limit"),
        ("/api/topics/digital-id?before=abc", 422, "before"),
        ("/api/topics/digital-id?before=999999", 422, "before"),
        ("/?date=2026-13-45", 422, "date"),
        ("/?topic=no-such-topic", 422, "no-such-topic"),
        ("/feed.rss?topic=nope", 422, "valid_topics"),
        ("/feed.json?source=424242", 404, "no source"),
        ("/api/articles?since=yesterday", 422, "since"),
        ("/api/articles/99999999999999999999999", 422, "article_id"),
        ("/?source=99999999999999999999999", 422, "source"),
        ("/api/topics/sanctions-trade?before=157079415599512476975104", 422, "before"),
    ],
    ids=["unknown-topic", "unknown-topic-rss", "limit-zero", "limit-big", "before-text",
         "before-missing", "bad-date", "unknown-topic-page", "unknown-topic-feed",
         "unknown-source-feed", "bad-since", "id-beyond-64-bits", "source-beyond-64-bits",
         "cursor-beyond-64-bits"],
)  # fmt: skip
def test_bad_requests_get_clear_errors(
    client: httpx.Client, path: str, status: int, fragment: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert fragment in response.text
    if path.startswith("/api/"):
        assert response.json()["error"]["message"]


def test_every_template_renders(client: httpx.Client) -> None:
    assert "Nothing published" in client.get("/?date=2001-01-01").text  # empty digest
    assert 'class="error"' in client.get("/?topic=nope").text  # error page
    assert len(result_links(_digest_of_the_items(client).text)) == 4  # digest with articles


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("Series B", [BIOMETRIC_ITEMS[2].link]),  # in a title
        ("FINGERPRINT", [BIOMETRIC_ITEMS[1].link]),  # in any case
        ("instead of a passport", [BIOMETRIC_ITEMS[0].link]),  # in the text only
        ("retinal", []),
    ],
    ids=["title", "case", "text", "nothing"],
)
def test_search_lists_only_the_articles_that_match(
    client: httpx.Client, query: str, found: list[str]
) -> None:
    day = BIOMETRIC_ITEMS[0].published.date().isoformat()
    page = client.get("/", params={"date": day, "q": query}).text
    # The search box echoes the query, so the page is judged by its list of results.
    assert result_links(page) == found


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
