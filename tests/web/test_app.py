"""The app over real HTTP (uvicorn on 127.0.0.1), on a database filled by a real poll."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import feedparser
import httpx
import pytest
from pytest_httpserver import HTTPServer

from aggregator.ingest.sources import add_source
from aggregator.service import Database, classify_new
from aggregator.settings import Settings
from models import session_scope
from tests.conftest import run_poll
from tests.fixtures.feeds import BIOMETRIC_ITEMS, Item, earlier_today, rss

HOSTILE = Item(
    'Evil <script>alert("title")</script> headline',
    "https://news.example.org/hostile",
    summary='<p>Lead</p><img src="x" onerror="alert(1)"><script>alert("summary")</script>',
    published=earlier_today(0),
)


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


def test_hostile_markup_never_reaches_the_page_or_feed(client: httpx.Client) -> None:
    for body in (_digest_of_the_items(client).text, client.get("/feed.rss").text):
        assert "<script>alert" not in body
        assert "onerror=" not in body.replace("onerror=&quot;", "")
        assert not re.search(r"<img[^>]*onerror", body)
    # Titles are plain text: markup in them is dropped, the words around it kept.
    assert re.search(r"Evil\s+headline", _digest_of_the_items(client).text)


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


def test_topic_api_lists_and_paginates(client: httpx.Client) -> None:
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
    if page["next_before"]:
        following = client.get(f"/api/topics/{slug}", params={"before": page["next_before"]})
        assert article["id"] not in [a["id"] for a in following.json()["articles"]]
    assert client.get(f"/topics/{slug}.rss").status_code == 200


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
        ("/?topic=no-such-topic", 404, "no-such-topic"),
    ],
    ids=["unknown-topic", "unknown-topic-rss", "limit-zero", "limit-big", "before-text",
         "before-missing", "bad-date", "unknown-topic-page"],
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
    day = BIOMETRIC_ITEMS[0].published.date().isoformat()
    filtered = client.get("/", params={"date": day, "q": "Series B"}).text
    assert "Series B" in filtered and BIOMETRIC_ITEMS[0].title not in filtered


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
