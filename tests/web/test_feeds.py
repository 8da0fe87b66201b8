"""Every view as RSS, Atom and JSON Feed, with HTTP caching, over real HTTP (uvicorn on
127.0.0.1) on a database filled by a real poll of two local feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import feedparser
import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from aggregator.classify.corrections import set_topics
from aggregator.ingest.sources import add_source
from aggregator.service import Database, classify_new
from aggregator.settings import Settings
from models import Article, Source, session_scope
from tests.conftest import run_poll, serving
from tests.fixtures.corpus import CORPUS_ROOT
from tests.fixtures.feeds import BIOMETRIC_ITEMS, Item, earlier_today, rss
from tests.fixtures.required import REQUIRE_CORPUS, unavailable

FORMATS = ("rss", "atom", "json")
OTHER_ITEMS = [
    Item(
        "Border agency extends e-gates to three land crossings",
        "https://gates.example.net/land-crossings",
        summary="Travellers with <b>biometric</b> passports use the gates from spring.",
        published=earlier_today(4),
        categories=("Borders",),
    ),
    Item(
        "Wallet pilot lets residents prove their age at kiosks",
        "https://gates.example.net/wallet-age",
        summary="The mobile driving licence shares only an over-18 claim.",
        published=earlier_today(5),
    ),
]

pytestmark = pytest.mark.usefixtures("filled")


@pytest.fixture
def filled(httpserver: HTTPServer, settings: Settings, db: Database) -> Database:
    httpserver.expect_request("/press").respond_with_data(
        rss(BIOMETRIC_ITEMS, title="Trade press"), content_type="application/rss+xml"
    )
    httpserver.expect_request("/gates").respond_with_data(
        rss(OTHER_ITEMS, title="Gate news"), content_type="application/rss+xml"
    )
    with session_scope(db.factory) as session:
        add_source(session, httpserver.url_for("/press"))
        add_source(session, httpserver.url_for("/gates"))
    run_poll(settings, db)
    classify_new(db)
    # Editors' rulings make the topics certain, whatever the shipped model thinks.
    with session_scope(db.factory) as session:
        ids = {url: id_ for url, id_ in session.execute(select(Article.url, Article.id))}
        for item, topics in zip(
            [*BIOMETRIC_ITEMS, *OTHER_ITEMS],
            [["airports-travel"], ["privacy-regulation"], ["liveness-fraud"],
             ["border-control", "airports-travel"], ["digital-id"]],
            strict=True,
        ):  # fmt: skip
            set_topics(session, ids[item.link], topics)
    return db


def _source_id(db: Database, path: str) -> int:
    with session_scope(db.factory) as session:
        return session.scalars(select(Source.id).where(Source.url.endswith(path))).one()


def _parse(response: httpx.Response) -> Any:
    """feedparser's reading of an RSS or Atom response."""
    return feedparser.parse(response.content)


def _entries(client: httpx.Client, kind: str, params: Any = None) -> list[dict[str, Any]]:
    """Each entry of the feed as (id, title, link, published), read back by feedparser;
    JSON Feed as JSON (feedparser reads JSON Feed from 6.1, not yet released)."""
    response = client.get(f"/feed.{kind}", params=params)
    assert response.status_code == 200, response.text
    if kind == "json":
        return [
            {"id": i["id"], "title": i["title"], "link": i["url"],
             "published": datetime.fromisoformat(i["date_published"])}
            for i in response.json()["items"]
        ]  # fmt: skip
    parsed = _parse(response)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [
        {"id": e.id, "title": e.title, "link": e.link,
         "published": datetime(*e.published_parsed[:6], tzinfo=UTC)}
        for e in parsed.entries
    ]  # fmt: skip


def test_every_format_carries_the_same_entries(client: httpx.Client) -> None:
    rss_entries, atom_entries, json_entries = (_entries(client, kind) for kind in FORMATS)
    assert rss_entries == atom_entries == json_entries
    items = sorted([*BIOMETRIC_ITEMS, *OTHER_ITEMS], key=lambda i: i.published, reverse=True)
    assert [e["title"] for e in rss_entries] == [i.title for i in items]
    assert [e["link"] for e in rss_entries] == [i.link for i in items]
    assert [e["published"] for e in rss_entries] == [i.published for i in items]
    assert all(e["id"].startswith("tag:biowire,2026:article:") for e in rss_entries)
    assert len({e["id"] for e in rss_entries}) == len(items)


def test_dates_are_rfc822_in_rss_and_rfc3339_in_atom_and_json(client: httpx.Client) -> None:
    newest = max([*BIOMETRIC_ITEMS, *OTHER_ITEMS], key=lambda i: i.published)
    assert newest.published is not None
    assert (
        f"<pubDate>{format_datetime(newest.published)}</pubDate>".replace("-0000", "+0000")
        in client.get("/feed.rss").text
    )
    rfc3339 = newest.published.isoformat()
    assert f"<published>{rfc3339}</published>" in client.get("/feed.atom").text
    item = client.get("/feed.json").json()["items"][0]
    assert item["date_published"] == rfc3339.replace("+00:00", "Z")


@pytest.mark.parametrize("kind", FORMATS)
def test_a_feeds_self_link_is_its_own_address(client: httpx.Client, kind: str) -> None:
    response = client.get(f"/feed.{kind}", params=[("topic", "airports-travel"), ("q", "gates")])
    own = str(response.url)
    if kind == "json":
        body = response.json()
        assert body["feed_url"] == own
        assert body["home_page_url"].startswith(str(client.base_url))
        return
    parsed = feedparser.parse(response.content)
    links = parsed.feed.links
    assert [link.href for link in links if link.rel == "self"] == [own]
    assert all(link.href.startswith("http") for link in links)


@pytest.mark.parametrize("kind", FORMATS)
def test_topic_shortcuts_are_the_filtered_feed(client: httpx.Client, kind: str) -> None:
    shortcut = client.get(f"/topics/border-control.{kind}")
    assert shortcut.status_code == 200
    titles = [e["title"] for e in _entries(client, kind, {"topic": "border-control"})]
    if kind == "json":
        assert [i["title"] for i in shortcut.json()["items"]] == titles
    else:
        assert [e.title for e in _parse(shortcut).entries] == titles
    assert titles == [OTHER_ITEMS[0].title]


def test_filters_combine(client: httpx.Client, filled: Database) -> None:
    def titles(params: Any) -> list[str]:
        return [e["title"] for e in _entries(client, "json", params)]

    airports = titles({"topic": "airports-travel"})
    assert set(airports) == {BIOMETRIC_ITEMS[0].title, OTHER_ITEMS[0].title}
    either = titles([("topic", "digital-id"), ("topic", "liveness-fraud")])
    assert set(either) == {OTHER_ITEMS[1].title, BIOMETRIC_ITEMS[2].title}
    gates_source = _source_id(filled, "/gates")
    assert titles({"topic": "airports-travel", "source": gates_source}) == [OTHER_ITEMS[0].title]
    cutoff = OTHER_ITEMS[0].published
    assert cutoff is not None
    assert titles({"source": gates_source, "until": cutoff.isoformat()}) == [OTHER_ITEMS[1].title]
    assert titles({"since": cutoff.isoformat()}) == [
        i.title for i in sorted([*BIOMETRIC_ITEMS, OTHER_ITEMS[0]], key=lambda i: i.published,
                                reverse=True)
    ]  # fmt: skip


def test_json_feed_validates_against_the_json_feed_schema(client: httpx.Client) -> None:
    import jsonschema

    schema_file = CORPUS_ROOT / "validators" / "sonicdoe-jsonfeed-schema" / "schema-v1.1.json"
    if not schema_file.is_file():
        unavailable(f"no JSON Feed schema at {schema_file}", REQUIRE_CORPUS)
    schema = json.loads(schema_file.read_text())
    for params in ({}, {"topic": "border-control"}, {"q": "passports"}):
        body = client.get("/feed.json", params=params).json()
        jsonschema.validate(body, schema)
        assert body["version"] == "https://jsonfeed.org/version/1.1"


def test_hostile_text_is_escaped_in_every_format(
    client: httpx.Client, settings: Settings, db: Database, httpserver: HTTPServer
) -> None:
    title = "Evil <img src=x onerror=alert(1)> headline"
    httpserver.expect_request("/hostile").respond_with_data(
        rss([Item(title, "https://evil.example/x", summary="<script>alert(2)</script><p>ok</p>",
                  published=earlier_today(0))]),
        content_type="application/rss+xml",
    )  # fmt: skip
    with session_scope(db.factory) as session:
        add_source(session, httpserver.url_for("/hostile"))
    run_poll(settings, db)
    with session_scope(db.factory) as session:
        stored = session.scalars(select(Article.title).where(Article.url.contains("evil"))).one()
    for kind in FORMATS:
        body = client.get(f"/feed.{kind}").text
        assert "<img" not in body and "<script" not in body
        assert [e["title"] for e in _entries(client, kind)][0] == stored


CONDITIONAL = ["/feed.rss", "/feed.atom", "/feed.json", "/api/articles",
               "/topics/airports-travel.json", "/api/topics/airports-travel"]  # fmt: skip


@pytest.mark.parametrize("path", CONDITIONAL)
def test_conditional_requests_answer_304_until_the_view_changes(
    client: httpx.Client, filled: Database, path: str
) -> None:
    first = client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["cache-control"] == "public, max-age=300"
    again = client.get(path, headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200

    # An editor moves the newest article onto another topic: the view has changed.
    with session_scope(filled.factory) as session:
        newest = session.scalars(select(Article).order_by(Article.published_at.desc())).first()
        assert newest is not None
        set_topics(session, newest.id, ["research-standards", "airports-travel"])
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.content != first.content


def test_cache_max_age_comes_from_the_settings(settings: Settings) -> None:
    with serving(settings.model_copy(update={"cache_max_age": 42})) as url:
        assert httpx.get(url + "/feed.atom").headers["cache-control"] == "public, max-age=42"


def test_remembered_answers_are_the_answers_made_afresh(settings: Settings) -> None:
    # With the memory on, the second request of each path is answered before routing
    # (`web.caching.KnownViewsFirst`); with it off, every request is found and rendered.
    paths = ["/feed.rss", "/feed.atom", "/feed.json?topic=airports-travel", "/api/articles",
             "/?q=gates", "/topics/border-control.json", "/api/topics/digital-id"]  # fmt: skip
    kept = ("etag", "last-modified", "cache-control", "content-type", "content-length")
    answers = {}
    for entries in (0, 64):
        with serving(settings.model_copy(update={"response_cache_entries": entries})) as url:
            # The addresses are the same both times: feeds name their own address.
            port = url.rsplit(":", 1)[1]
            rounds = []
            for _ in range(3):
                responses = [httpx.get(url + p) for p in paths]
                rounds.append([
                    (r.status_code, {k: r.headers.get(k) for k in kept if k != "etag"},
                     r.content.replace(port.encode(), b"PORT"))
                    for r in responses
                ])  # fmt: skip
                etags = [r.headers["etag"] for r in responses]
                again = [httpx.get(url + p, headers={"If-None-Match": e}) for p, e in
                         zip(paths, etags, strict=True)]  # fmt: skip
                assert [(r.status_code, r.content) for r in again] == [(304, b"")] * len(paths)
                assert [r.headers["etag"] for r in again] == etags
            answers[entries] = rounds
    assert answers[0][0] == answers[0][2] == answers[64][0] == answers[64][1] == answers[64][2]


def test_api_articles_pages_by_keyset_through_every_article(client: httpx.Client) -> None:
    seen: list[int] = []
    url: str | None = "/api/articles?limit=2"
    while url:
        body = client.get(url).json()
        seen += [a["id"] for a in body["articles"]]
        url = body["next_url"]
        assert (url is None) == (body["next_before"] is None)
    everything = [a["id"] for a in client.get("/api/articles?limit=200").json()["articles"]]
    assert seen == everything
    assert len(seen) == len(set(seen)) == len(BIOMETRIC_ITEMS) + len(OTHER_ITEMS)


def test_api_sources_reports_each_sources_health(client: httpx.Client) -> None:
    sources = client.get("/api/sources").json()["sources"]
    assert [s["url"].rsplit("/", 1)[1] for s in sources] == ["press", "gates"]
    assert all(s["last_status"] == 200 and s["last_error"] is None for s in sources)
    assert [s["articles_30_days"] for s in sources] == [len(BIOMETRIC_ITEMS), len(OTHER_ITEMS)]


def test_the_page_announces_its_own_view_in_every_format(client: httpx.Client) -> None:
    page = client.get("/", params=[("topic", "airports-travel"), ("q", "gates")]).text
    for media_type, kind in (("application/rss+xml", "rss"), ("application/atom+xml", "atom"),
                             ("application/feed+json", "json")):  # fmt: skip
        assert (
            f'type="{media_type}" title="Biowire: Airports &amp; travel matching “gates” ' in page
        )
        assert f"/feed.{kind}?topic=airports-travel&amp;q=gates" in page


def test_old_dates_are_kept_apart(client: httpx.Client) -> None:
    # since/until take dates as well as instants; a date is midnight UTC.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert client.get("/api/articles", params={"since": tomorrow}).json()["articles"] == []


def test_a_search_ranks_and_marks_the_words_it_found(client: httpx.Client) -> None:
    body = client.get("/api/articles", params={"q": "gates"}).json()
    found = [a["title"] for a in body["articles"]]
    # Both name gates in the title; only the land-crossings story names them in its text.
    assert found == [OTHER_ITEMS[0].title, BIOMETRIC_ITEMS[0].title]
    assert "<mark>gates</mark>" in body["articles"][0]["highlight"]
    page = client.get("/", params={"q": "gates", "date": earlier_today(4).date().isoformat()})
    assert "<mark>gates</mark>" in page.text
    # A search with nothing to look for finds nothing, and says why.
    nothing = client.get("/api/articles", params={"q": "-gates"}).json()
    assert nothing["articles"] == [] and "only excludes" in nothing["notice"]
    page = client.get("/", params={"q": '"'})
    assert page.status_code == 200 and "needs at least one word" in page.text


def test_many_requests_at_once_never_wait_on_the_event_loop(settings: Settings) -> None:
    # More requests in flight than the pool holds connections (5 + 10), each finding and
    # rendering its view: the version check on the event loop has a connection of its
    # own, so it never waits there for one that only the waiting requests could give back.
    from concurrent.futures import ThreadPoolExecutor

    with serving(settings.model_copy(update={"response_cache_entries": 0})) as url:
        paths = [f"/api/articles?limit={n}" for n in range(1, 41)]
        with httpx.Client(base_url=url, timeout=20) as http, ThreadPoolExecutor(40) as pool:
            statuses = list(pool.map(lambda p: http.get(p).status_code, paths))
    assert statuses == [200] * len(paths)


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_a_control_character_in_a_search_leaves_the_feed_well_formed(
    client: httpx.Client, kind: str
) -> None:
    # XML cannot carry it, and the search's words are part of the feed's title.
    response = client.get(f"/feed.{kind}", params={"q": "gates\x01"})
    assert response.status_code == 200
    parsed = _parse(response)
    assert not parsed.bozo
    assert parsed.feed.title == "Biowire: matching “gates”"
