"""The digest page over real HTTP (uvicorn on 127.0.0.1), on articles stored with the
dates, sources and topics each test needs: its days in the site's time zone, its
most-covered items, its filters and their links, what it escapes, and what it offers
assistive technology (read with the standard library's HTML parser)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from aggregator.digest.view import RANGE_LIMIT
from aggregator.ingest.sources import add_source
from aggregator.service import Database
from aggregator.settings import Settings
from models import Article, ArticleSource, ArticleTopic, Source, Topic, session_scope
from tests.conftest import run_poll, serving
from tests.fixtures.feeds import Item, recent, rss
from tests.fixtures.html import Element, parse_html


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass(frozen=True)
class Story:
    """An article as a test stores it: its sources by name, its topics by slug, the first
    the strongest."""

    title: str
    published: datetime
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ("Wire",)
    text: str = ""


def store(db: Database, *stories: Story) -> dict[str, int]:
    """Stores `stories`; their ids by title."""
    ids = {}
    with session_scope(db.factory) as session:
        topics = {t.slug: t for t in session.scalars(select(Topic))}
        sources = {s.title: s for s in session.scalars(select(Source))}
        first_id = (session.scalar(select(Article.id).order_by(Article.id.desc())) or 0) + 1
        for number, story in enumerate(stories, start=first_id):
            for name in story.sources:
                if name not in sources:
                    sources[name] = Source(url=f"https://feeds.example/{len(sources)}",
                                           title=name)  # fmt: skip
            article = Article(
                dedup_key=f"https://news.example/{number}", url=f"https://news.example/{number}",
                title=story.title, text=story.text, content_hash=str(number),
                published_at=story.published,
            )  # fmt: skip
            article.links = [
                ArticleSource(source=sources[name], guid=f"{number}-{name}",
                              first_seen_at=story.published + timedelta(minutes=rank))
                for rank, name in enumerate(story.sources)
            ]  # fmt: skip
            article.tags = [
                ArticleTopic(topic=topics[slug], score=0.9 - rank / 10, why=["a term"])
                for rank, slug in enumerate(story.topics)
            ]
            session.add(article)
            session.flush()
            ids[story.title] = article.id
    return ids


def source_id(db: Database, name: str) -> int:
    with session_scope(db.factory) as session:
        return session.scalars(select(Source.id).where(Source.title == name)).one()


@contextmanager
def site(settings: Settings, zone: str = "UTC") -> Iterator[httpx.Client]:
    """The app with its days in `zone`, and a client of it."""
    with serving(settings.model_copy(update={"timezone": zone})) as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            yield client


def page(client: httpx.Client, **params: object) -> Element:
    """The digest for `params` (a list value repeats the parameter), parsed."""
    query = [(name.rstrip("_"), str(v)) for name, value in params.items()
             for v in (value if isinstance(value, list) else [value])]  # fmt: skip
    response = client.get("/", params=query)
    assert response.status_code == 200, response.text
    return parse_html(response.text)


def listed(tree: Element) -> list[str]:
    """The titles of the articles the page lists under its topics, in order."""
    return [article.one("h3").text for article in tree.all("article.item")]


def most_covered(tree: Element) -> list[str]:
    return [a.text for a in tree.all("a.headline")]


def query_of(link: Element) -> list[tuple[str, str]]:
    return sorted(parse_qsl(urlsplit(link.get("href")).query))


# --- days in the site's time zone ---------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "published", "local", "shown"),
    [
        # Late in the UTC day is the next morning in Tokyo.
        ("Asia/Tokyo", utc(2026, 3, 9, 23, 30), date(2026, 3, 10), "10 Mar 2026, 08:30 JST"),
        ("America/New_York", utc(2026, 3, 10, 3, 30), date(2026, 3, 9), "9 Mar 2026, 23:30 EDT"),
        # The last half hour of London's 23-hour day is already the next day.
        ("Europe/London", utc(2026, 3, 29, 23, 30), date(2026, 3, 30), "30 Mar 2026, 00:30 BST"),
        # ...and the last of its 25-hour day is still that day.
        ("Europe/London", utc(2026, 10, 25, 23, 30), date(2026, 10, 25),
         "25 Oct 2026, 23:30 GMT"),
        # Chile's clocks skip its midnight: the day before ends, the next begins at 01:00.
        ("America/Santiago", utc(2026, 9, 6, 3, 30), date(2026, 9, 5), "5 Sep 2026, 23:30 -04"),
        ("America/Santiago", utc(2026, 9, 6, 4, 30), date(2026, 9, 6), "6 Sep 2026, 01:30 -03"),
    ],
    ids=["tokyo", "new-york", "london-spring", "london-autumn", "santiago-before-gap",
         "santiago-after-gap"],
)  # fmt: skip
def test_an_article_is_on_its_day_in_the_sites_zone_at_its_time_there(
    settings: Settings, db: Database, zone: str, published: datetime, local: date, shown: str
) -> None:
    store(db, Story("The story", published, ("digital-id",)))
    with site(settings, zone) as client:
        on_its_day = page(client, date=local)
        assert listed(on_its_day) == ["The story"]
        time = on_its_day.one("article.item").one("time")
        assert time.text == shown
        assert time.get("datetime") == published.isoformat().replace("+00:00", "Z")
        for other in (local - timedelta(days=1), local + timedelta(days=1)):
            assert listed(page(client, date=other)) == []


def test_today_is_today_in_the_sites_zone(settings: Settings, db: Database) -> None:
    # Kiritimati is 14 hours ahead of UTC: for most of the UTC day it is already tomorrow.
    zone = "Pacific/Kiritimati"
    today = datetime.now(ZoneInfo(zone)).date()
    store(db, Story("Early edition", datetime.now(UTC) - timedelta(minutes=1)))
    with site(settings, zone) as client:
        heading = page(client).one("h1").text
    assert heading == f"{today:%A} {today.day} {today:%B %Y} (today)"


def test_previous_and_next_are_the_nearest_local_days_the_view_has(
    settings: Settings, db: Database
) -> None:
    store(
        db,
        Story("Before", utc(2026, 3, 8, 16), ("digital-id",), text="kiosk"),  # 9 Mar in Tokyo
        Story("Shown", utc(2026, 3, 9, 23, 30), ("digital-id",), text="kiosk"),  # 10 Mar
        Story("Other topic", utc(2026, 3, 11, 2), ("border-control",), text="kiosk"),  # 11
        Story("Gates only", utc(2026, 3, 11, 3), ("digital-id",), text="gates"),  # 11 Mar
        Story("After", utc(2026, 3, 13, 1), ("digital-id",), text="kiosk"),  # 13 Mar
    )
    with site(settings, "Asia/Tokyo") as client:
        alone = page(client, date="2026-03-10")
        wire = source_id(db, "Wire")
        filtered = page(client, date="2026-03-10", topic="digital-id", source=wire, q="kiosk")
    assert query_of(alone.one(_rel("prev"))) == [("date", "2026-03-09")]
    assert query_of(alone.one(_rel("next"))) == [("date", "2026-03-11")]
    previous, following = filtered.one(_rel("prev")), filtered.one(_rel("next"))
    # The nearest days with an article in the view, each link keeping every filter.
    kept = [("q", "kiosk"), ("source", str(wire)), ("topic", "digital-id")]
    assert query_of(previous) == sorted([*kept, ("date", "2026-03-09")])
    assert query_of(following) == sorted([*kept, ("date", "2026-03-13")])
    assert "Mon 9 Mar" in previous.text and "Fri 13 Mar" in following.text


# --- the most covered ---------------------------------------------------------------------


def test_the_page_opens_with_the_articles_the_most_sources_carried(
    settings: Settings, db: Database
) -> None:
    three, two = ("Alpha", "Beta", "Gamma"), ("Alpha", "Beta")
    ids = store(
        db,
        Story("Carried by three", utc(2026, 3, 10, 9), ("border-control",), three),
        Story("Two, newer", utc(2026, 3, 10, 11), ("digital-id",), two),
        Story("Two, older", utc(2026, 3, 10, 8), ("digital-id",), two),
        Story("One source", utc(2026, 3, 10, 12), ("digital-id",)),
        *[Story(f"Also by two {n}", utc(2026, 3, 10, 7 - n), (), two) for n in range(1, 5)],
    )
    with site(settings) as client:
        tree = page(client, date="2026-03-10")
    assert most_covered(tree) == ["Carried by three", "Two, newer", "Two, older",
                                  "Also by two 1", "Also by two 2"]  # fmt: skip
    section = tree.one("section.most-covered")
    assert section.one("h2").text == "Most covered"
    assert "3 sources: Alpha, Beta, Gamma" in section.all("li")[0].text
    # Each points to the article further down, which the page lists once.
    inner = [a.get("href") for a in section.all("a") if a.get("href").startswith("#")]
    assert inner[0] == f"#article-{ids['Carried by three']}"
    article_ids = [article.get("id") for article in tree.all("article")]
    assert len(article_ids) == len(set(article_ids)) == 8
    assert all(href[1:] in article_ids for href in inner)


def test_no_most_covered_section_when_each_article_had_one_source(
    settings: Settings, db: Database
) -> None:
    store(db, Story("Solo", utc(2026, 3, 10, 9), ("digital-id",)))
    with site(settings) as client:
        tree = page(client, date="2026-03-10")
    assert listed(tree) == ["Solo"] and tree.all("section.most-covered") == []


def test_a_new_source_for_a_stored_article_changes_the_page(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    item = Item("Agency picks a vendor for e-gates", "https://news.example.org/e-gates",
                summary="The contract covers ten airports.", published=recent(1))  # fmt: skip
    for path in ("/first", "/second"):
        httpserver.expect_request(path).respond_with_data(
            rss([item], title=f"Feed {path[1:]}"), content_type="application/rss+xml"
        )
    with session_scope(db.factory) as session:
        add_source(session, httpserver.url_for("/first"))
    run_poll(settings, db)
    assert item.published is not None
    day = item.published.date().isoformat()
    with site(settings) as client:
        before = client.get("/", params={"date": day})
        assert most_covered(parse_html(before.text)) == []
        with session_scope(db.factory) as session:
            add_source(session, httpserver.url_for("/second"))
        run_poll(settings, db)
        after = client.get("/", params={"date": day}, headers={"If-None-Match": before.headers[
            "etag"]})  # fmt: skip
    assert after.status_code == 200
    assert most_covered(parse_html(after.text)) == [item.title]
    assert "2 sources: Feed first, Feed second" in after.text


# --- filters ------------------------------------------------------------------------------

FILTERED = (
    Story("Gate trial", utc(2026, 3, 10, 9), ("digital-id",), ("Alpha",), "kiosk trial"),
    Story("Border queue", utc(2026, 3, 10, 8), ("border-control",), ("Beta",), "kiosk queue"),
    Story("Fraud ring", utc(2026, 3, 10, 7), ("liveness-fraud",), ("Alpha",), "deepfake ring"),
    Story("Wallet law", utc(2026, 3, 10, 6), ("privacy-regulation",), ("Alpha",), "kiosk law"),
)


@pytest.mark.parametrize(
    ("params", "sources", "expected"),
    [
        ({}, [], {"Gate trial", "Border queue", "Fraud ring", "Wallet law"}),
        ({"topic": ["digital-id", "border-control"]}, [], {"Gate trial", "Border queue"}),
        ({"q": "kiosk"}, ["Alpha"], {"Gate trial", "Wallet law"}),
        ({"topic": ["digital-id", "privacy-regulation", "border-control"], "q": "kiosk"},
         ["Alpha"], {"Gate trial", "Wallet law"}),
        ({"topic": ["border-control"], "q": "kiosk"}, [], {"Border queue"}),
        ({"q": "deepfake"}, ["Alpha", "Beta"], {"Fraud ring"}),
    ],
    ids=["none", "two-topics", "source-and-search", "topics-source-search", "topic-search",
         "two-sources"],
)  # fmt: skip
def test_filters_combine_and_narrow(
    settings: Settings,
    db: Database,
    params: dict[str, object],
    sources: list[str],
    expected: set[str],
) -> None:
    store(db, *FILTERED)
    source_ids = [source_id(db, name) for name in sources]
    with site(settings) as client:
        tree = page(client, date="2026-03-10", source=source_ids, **params)
    assert set(listed(tree)) == expected
    # The form shows the view it made.
    form = tree.one("form.filters")
    checked = {box.get("value") for box in form.all("input") if "checked" in box.attrs}
    topics = params.get("topic", [])
    assert isinstance(topics, list)
    assert checked == {*topics, *map(str, source_ids)}
    assert form.one("#filter-q").get("value") == params.get("q", "")


RANGE = (
    Story("Sunday", utc(2026, 3, 7, 16), ("digital-id",)),  # Sunday 8 March in Tokyo
    Story("Monday", utc(2026, 3, 9, 14, 59), ("digital-id",)),  # the last minute of the 9th
    Story("Tuesday", utc(2026, 3, 9, 15), ("border-control",)),  # the first of the 10th
    Story("Wednesday", utc(2026, 3, 11, 1), ("digital-id",)),  # 11 March
)


@pytest.mark.parametrize(
    ("params", "expected", "heading", "form"),
    [
        ({"from_": "2026-03-09", "to": "2026-03-10"}, ["Tuesday", "Monday"],
         "Monday 9 March 2026 to Tuesday 10 March 2026", ("2026-03-09", "2026-03-10")),
        ({"from_": "2026-03-10", "to": "2026-03-09"}, ["Tuesday", "Monday"],
         "Monday 9 March 2026 to Tuesday 10 March 2026", ("2026-03-09", "2026-03-10")),
        ({"from_": "2026-03-10"}, ["Wednesday", "Tuesday"], "Since Tuesday 10 March 2026",
         ("2026-03-10", "")),
        ({"to": "2026-03-09"}, ["Monday", "Sunday"], "Until Monday 9 March 2026",
         ("", "2026-03-09")),
        ({"from_": "2026-03-08", "to": "2026-03-11", "topic": "digital-id"},
         ["Wednesday", "Monday", "Sunday"], "Sunday 8 March 2026 to Wednesday 11 March 2026",
         ("2026-03-08", "2026-03-11")),
        # A range replaces the day the form kept.
        ({"date": "2026-03-08", "from_": "2026-03-10", "to": "2026-03-10"}, ["Tuesday"],
         "Tuesday 10 March 2026", ("2026-03-10", "2026-03-10")),
    ],
    ids=["range", "reversed", "from-only", "to-only", "range-and-topic", "range-over-date"],
)  # fmt: skip
def test_a_range_of_local_days(
    settings: Settings,
    db: Database,
    params: dict[str, str],
    expected: list[str],
    heading: str,
    form: tuple[str, str],
) -> None:
    store(db, *RANGE)
    with site(settings, "Asia/Tokyo") as client:
        tree = page(client, **params)
    assert sorted(listed(tree)) == sorted(expected)  # (under their topics)
    assert tree.one("h1").text == heading
    assert tree.all(_rel("prev")) == tree.all(_rel("next")) == []  # a range has no days around
    filters = tree.one("form.filters")
    assert filters.all(lambda e: e.get("name") == "date") == []  # nor a day to keep
    shown = tuple(filters.one(f"#filter-{end}").get("value") for end in ("from", "to"))
    assert shown == form


def test_a_ranges_feeds_are_the_range_between_the_zones_midnights(
    settings: Settings, db: Database
) -> None:
    store(db, *RANGE)
    with site(settings, "Asia/Tokyo") as client:
        tree = page(client, from_="2026-03-09", to="2026-03-10", topic="digital-id")
        feeds = [link for link in tree.all("link") if link.get("rel") == "alternate"]
        rss = client.get(feeds[0].get("href")).text
    assert len(feeds) == 3
    for link in feeds:
        assert query_of(link) == [("since", "2026-03-08T15:00:00Z"), ("topic", "digital-id"),
                                  ("until", "2026-03-10T15:00:00Z")]  # fmt: skip
        # Named by the days it holds in the site's zone, the last one included.
        assert "Digital ID (2026-03-09 to 2026-03-10)" in link.get("title")
    assert "<title>Biowire: Digital ID (2026-03-09 to 2026-03-10)</title>" in rss


def test_a_day_keeps_its_feeds_open_ended(settings: Settings, db: Database) -> None:
    store(db, *FILTERED)
    with site(settings) as client:
        tree = page(client, date="2026-03-10", topic="digital-id", q="kiosk")
    feeds = [link for link in tree.all("link") if link.get("rel") == "alternate"]
    assert [query_of(link) for link in feeds] == [[("q", "kiosk"), ("topic", "digital-id")]] * 3


def test_a_long_range_goes_on_page_after_page(settings: Settings, db: Database) -> None:
    start = utc(2026, 3, 1)
    stories = [Story(f"Item {n:03}", start + timedelta(hours=n)) for n in range(RANGE_LIMIT + 5)]
    store(db, *stories)
    with site(settings) as client:
        first = page(client, from_="2026-03-01", to="2026-03-31")
        more = first.one("nav.pages").one(lambda e: e.tag == "a" and "Older" in e.text)
        second = parse_html(client.get(more.get("href")).text)
    assert len(listed(first)) == RANGE_LIMIT
    assert sorted(listed(first) + listed(second)) == sorted(s.title for s in stories)
    assert second.all(lambda e: e.tag == "a" and "Older" in e.text) == []
    assert query_of(more)[:2] == [("before", query_of(more)[0][1]), ("from", "2026-03-01")]


# --- bad input and hostile data -----------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "params", "status", "fragment"),
    [
        ("UTC", {"from": "2026-02-30"}, 422, "from"),
        ("UTC", {"to": "tomorrow"}, 422, "YYYY-MM-DD"),
        ("UTC", {"date": "2026-3-1"}, 422, "YYYY-MM-DD"),
        ("UTC", {"topic": "no-such-topic", "from": "2026-03-01"}, 422, "no-such-topic"),
        ("UTC", {"before": "999999"}, 422, "before"),
        ("UTC", {"before": "0"}, 422, "before"),
        ("UTC", {"date": "", "from": "", "to": ""}, 200, "(today)"),
        ("Pacific/Kiritimati", {"date": "0001-01-01"}, 200, "Monday 1 January 1"),
        ("Pacific/Pago_Pago", {"date": "9999-12-31"}, 200, "Friday 31 December 9999"),
        ("Pacific/Kiritimati", {"from": "0001-01-01", "to": "9999-12-31"}, 200, "to Friday"),
        ("Pacific/Pago_Pago", {"until": "0001-01-01"}, 200, "Until Monday 1 January 1"),
    ],
    ids=["impossible-day", "word-for-a-day", "short-date", "unknown-topic", "unknown-cursor",
         "cursor-zero", "blank-fields", "first-day", "last-day", "whole-calendar",
         "before-the-calendar"],
)  # fmt: skip
def test_bad_input_gets_the_error_page_never_a_crash(
    settings: Settings, zone: str, params: dict[str, str], status: int, fragment: str
) -> None:
    with site(settings, zone) as client:
        response = client.get("/", params=params)
    assert response.status_code == status, response.text
    assert fragment in response.text
    assert ('class="error"' in response.text) == (status != 200)


def test_hostile_titles_sources_and_searches_are_shown_as_text(
    settings: Settings, db: Database
) -> None:
    title = '</h3><script>alert("title")</script><b>Bold</b>'
    source = '<img src=x onerror=alert("source")>'
    store(db, Story(title, utc(2026, 3, 10, 9), ("digital-id",), (source, "Plain"), "x"))
    search = '"><script>alert("q")</script>'
    with site(settings) as client:
        html = client.get("/", params={"date": "2026-03-10"}).text
        searched = client.get("/", params={"date": "2026-03-10", "q": search}).text
    for text in (html, searched):
        assert "<script>alert" not in text and "<img" not in text and "<b>" not in text
    tree = parse_html(html)
    assert tree.one("article.item").one("h3").text == title  # the markup, as words
    assert source in tree.one("article.item").one("p.meta").text
    assert most_covered(tree) == [title]
    assert parse_html(searched).one("#filter-q").get("value") == search


def test_only_web_addresses_become_links(settings: Settings, db: Database) -> None:
    ids = store(db, Story("Scripted link", utc(2026, 3, 10, 9), ("digital-id",)))
    with session_scope(db.factory) as session:
        session.get_one(Article, ids["Scripted link"]).url = "javascript:alert(1)"
    with site(settings) as client:
        tree = page(client, date="2026-03-10")
    link = tree.one("article.item").one("h3").one("a")
    assert link.get("href") == f"#article-{ids['Scripted link']}"


def test_the_digest_names_the_sources_that_fail(settings: Settings, db: Database) -> None:
    store(db, Story("Quiet morning", utc(2026, 3, 10, 9), ("digital-id",), ("Wire",)))
    with site(settings) as client:
        assert "sources-failing" not in client.get("/", params={"date": "2026-03-10"}).text
        with session_scope(db.factory) as session:
            wire = session.scalars(select(Source).where(Source.title == "Wire")).one()
            # As a failed poll records it (the poll's time is part of the data's version).
            wire.consecutive_failures, wire.last_error = 2, "HTTP 404"
            wire.last_polled_at = datetime.now(UTC)
        # The same day, the same articles: the notice alone changes the page.
        notice = page(client, date="2026-03-10").one("p.sources-failing")
    assert "1 source failed at the last poll" in notice.text and "Wire" in notice.text
    assert notice.one("a").get("href").endswith("/sources")


# --- what assistive technology and a browser without CSS or script get ---------------------


def test_the_page_has_landmarks_ordered_headings_and_labelled_controls(
    settings: Settings, db: Database
) -> None:
    store(
        db,
        Story("Yesterday", utc(2026, 3, 9, 9), ("digital-id",)),
        *FILTERED,
        Story("Widely carried", utc(2026, 3, 10, 10), ("border-control",), ("Alpha", "Beta")),
        Story("Tomorrow", utc(2026, 3, 11, 9), ("digital-id",)),
    )
    with site(settings) as client:
        response = client.get("/", params={"date": "2026-03-10"})
        script = client.get("/static/local-time.js")
    tree = parse_html(response.text)
    assert tree.one("html").get("lang") == "en"

    body = tree.one("body")
    first_link = body.all("a")[0]
    assert first_link.get("href") == "#main" and "skip" in first_link.text.lower()
    assert [e.tag for e in body.children if isinstance(e, Element)] == [
        "a", "header", "main", "footer"]  # fmt: skip
    assert body.one("main").get("id") == "main"
    navs = body.all("nav")
    assert navs and all(nav.get("aria-label") for nav in navs)
    site_nav = body.one("header").one("nav")
    assert [a.text for a in site_nav.all("a")] == ["Digest", "Sources", "RSS", "Atom",
                                                    "JSON Feed", "API"]  # fmt: skip

    # One h1, then h2 sections, then h3 articles: no level skipped.
    levels = [int(e.tag[1]) for e in body.all(lambda e: e.tag in {"h1", "h2", "h3", "h4"})]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(after <= before + 1 for before, after in zip(levels, levels[1:], strict=False))
    assert {2, 3} <= set(levels)

    # The filter form: a search landmark sent by GET, each control labelled.
    form = body.one("form.filters")
    assert (form.get("role"), form.get("method")) == ("search", "get")
    controls = form.all(lambda e: e.tag in {"input", "select", "textarea"}
                        and e.get("type") != "hidden")  # fmt: skip
    labels = {label.get("for") for label in form.all("label") if label.get("for")}
    for control in controls:
        wrapped = any(a.tag == "label" for a in control.ancestors())
        assert wrapped or control.get("id") in labels or control.get("aria-label"), control.attrs
    topics = [box.get("value") for box in form.all("input") if box.get("name") == "topic"]
    assert "digital-id" in topics and len(topics) == 13
    assert form.one(lambda e: e.get("type") == "search").get("name") == "q"
    assert len(form.all("button")) == 1 and form.one("button").get("type") == "submit"
    assert query_of(body.one(_rel("prev"))) == [("date", "2026-03-09")]
    assert query_of(body.one(_rel("next"))) == [("date", "2026-03-11")]

    for article in body.all("article"):
        assert "item" in article.classes and article.get("id").startswith("article-")
        link = article.one("h3").one("a")
        assert "noopener" in link.get("rel").split()
        assert article.one("time").get("datetime").endswith("Z")

    # Script: one file of the site's own, deferred, nothing inline; nothing from elsewhere.
    [script_tag] = tree.all("script")
    src = urlsplit(script_tag.get("src"))
    assert (src.netloc, src.path) == (client.base_url.netloc.decode(), "/static/local-time.js")
    assert "defer" in script_tag.attrs and script_tag.text == ""
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert {urlsplit(link.get("href")).netloc for link in tree.all("link")} == {src.netloc}


def test_the_page_reads_in_order_without_its_stylesheet(settings: Settings, db: Database) -> None:
    store(db, *FILTERED, Story("Widely carried", utc(2026, 3, 10, 10), (), ("Alpha", "Beta")))
    with site(settings) as client:
        tree = page(client, date="2026-03-10")
    main = tree.one("main")
    order = [e.tag if e.tag != "section" else e.get("class") for e in main.children
             if isinstance(e, Element)]  # fmt: skip
    # The day, then how to choose what to see, then the most covered, then the topics.
    assert order[:4] == ["div", "form", "p", "most-covered"]
    assert set(order[4:]) == {"group"}
    assert len(main.all("h2")) == 1 + len(order[4:])


def _rel(value: str) -> Callable[[Element], bool]:
    def test(element: Element) -> bool:
        return element.tag == "a" and value in element.get("rel").split()

    return test
