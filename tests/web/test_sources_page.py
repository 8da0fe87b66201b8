"""The sources page over real HTTP (uvicorn on 127.0.0.1), after real polls of local feeds:
each source's health, those in trouble first with their error in plain words and the
commands that fix them, times in the site's zone, and a page that changes as soon as a
poll records something, even a poll that brings no article."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Response

from aggregator.ingest.storage import add_source
from aggregator.service import Database
from aggregator.settings import Settings
from models import Source, session_scope
from tests.conftest import run_poll, serving
from tests.fixtures.feeds import BIOMETRIC_ITEMS, rss

EFF = "https://www.eff.org/rss/updates.xml"  # a default source: the shipped OPML notes it


@pytest.fixture
def polled(httpserver: HTTPServer, settings: Settings, db: Database) -> dict[str, int]:
    """Two feeds polled once: one that answers, one that has gone missing (404); and a
    default source not polled yet (disabled, so that the poll leaves it be)."""
    httpserver.expect_request("/press").respond_with_data(
        rss(BIOMETRIC_ITEMS, title="Trade press"), content_type="application/rss+xml"
    )
    httpserver.expect_request("/moved").respond_with_data("no such page", status=404)
    with session_scope(db.factory) as session:
        press, _ = add_source(session, httpserver.url_for("/press"))
        moved, _ = add_source(session, httpserver.url_for("/moved"), "Moved away")
        eff, _ = add_source(session, EFF)
        eff.disabled_at, eff.disabled_reason = datetime.now(UTC), "switched off by hand"
        ids = {"press": press.id, "moved": moved.id, "eff": eff.id}
    run_poll(settings, db)
    return ids


@pytest.fixture
def http(live_app: str, polled: dict[str, int]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_app, timeout=10) as client:
        yield client


def _card(page: str, source_id: int) -> str:
    """The part of the page about one source."""
    found = re.search(
        rf'<article class="source[^"]*" id="source-{source_id}".*?</article>', page, re.S
    )
    assert found is not None, f"no card for source {source_id}"
    return found.group(0)


def test_a_failing_source_comes_first_with_its_error_and_the_commands(
    http: httpx.Client, polled: dict[str, int]
) -> None:
    page = http.get("/sources")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    moved, press, eff = polled["moved"], polled["press"], polled["eff"]
    assert "3 sources: 1 healthy, 1 failing, 1 disabled." in html
    assert re.search(r"2 sources need attention</h2>", html)
    # Trouble first: the disabled one, the failing one, then the healthy one.
    order = [int(n) for n in re.findall(r'<article class="source[^"]*" id="source-(\d+)"', html)]
    assert order == [eff, moved, press]

    card = _card(html, moved)
    assert 'class="source status-failing"' in card and '<span class="status">failing</span>' in card
    assert re.search(r"<strong>Last error:</strong> <samp>HTTP 404 not found</samp>", card, re.I)
    assert "The feed is not at this address any more (HTTP 404)" in card
    assert f"biowire sources set-url {moved} NEW_URL" in card
    assert f"biowire sources remove {moved}" in card
    assert "biowire sources enable" not in card
    assert "<dt>Failures in a row</dt><dd>1</dd>" in card


def test_a_healthy_source_shows_its_poll_and_its_articles_without_commands(
    http: httpx.Client, polled: dict[str, int], httpserver: HTTPServer
) -> None:
    card = _card(http.get("/sources").text, polled["press"])
    assert '<span class="status">healthy</span>' in card
    assert f'<a href="{httpserver.url_for("/press")}"' in card
    assert "(HTTP 200)" in card and "UTC</time>" in card
    assert "<dt>Articles, last 30 days</dt><dd>3</dd>" in card
    assert "biowire sources" not in card and 'class="problem"' not in card


def test_a_default_source_has_its_note_and_folder_and_a_disabled_one_can_be_enabled(
    http: httpx.Client, polled: dict[str, int]
) -> None:
    card = _card(http.get("/sources").text, polled["eff"])
    assert '<p class="note">Electronic Frontier Foundation' in card
    assert "<dt>Folder</dt><dd>" in card
    assert '<a href="https://www.eff.org/"' in card  # its site, from the OPML
    assert "<strong>Disabled:</strong> switched off by hand" in card
    assert "none while it is disabled" in card
    assert f"biowire sources enable {polled['eff']}" in card


def test_what_feeds_and_servers_say_is_text_and_never_a_link_to_script(
    http: httpx.Client, polled: dict[str, int], db: Database
) -> None:
    with session_scope(db.factory) as session:
        source = session.get_one(Source, polled["moved"])
        source.title = '<script>alert("name")</script> News'
        source.site_url = "javascript:alert(1)"
        source.last_error = '<img src=x onerror="alert(1)"> refused'
    html = http.get("/sources").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt; News" in html
    assert "<samp>&lt;img src=x onerror=&#34;alert(1)&#34;&gt; refused</samp>" in html
    assert "javascript:" not in html


def test_a_poll_that_brings_nothing_new_still_changes_the_page(
    http: httpx.Client, polled: dict[str, int], settings: Settings, db: Database,
    httpserver: HTTPServer,
) -> None:  # fmt: skip
    first = http.get("/sources")
    etag = first.headers["etag"]
    assert http.get("/sources", headers={"If-None-Match": etag}).status_code == 304
    # The press feed now fails: no article changes, only the sources' records.
    httpserver.clear()
    httpserver.expect_request("/press").respond_with_response(Response("down", status=503))
    httpserver.expect_request("/moved").respond_with_data("no such page", status=404)
    run_poll(settings, db)
    again = http.get("/sources", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag
    card = _card(again.text, polled["press"])
    assert '<span class="status">failing</span>' in card and "usually temporary" in card
    assert "<dt>Failures in a row</dt><dd>1</dd>" in _card(again.text, polled["press"])
    assert "<dt>Failures in a row</dt><dd>2</dd>" in _card(again.text, polled["moved"])


def test_times_are_in_the_sites_zone(
    settings: Settings, db: Database, polled: dict[str, int]
) -> None:
    with session_scope(db.factory) as session:
        polled_at = session.scalars(select(Source.last_polled_at).where(
            Source.id == polled["press"])).one()  # fmt: skip
    assert polled_at is not None
    in_tokyo = Settings(**{**settings.model_dump(), "timezone": "Asia/Tokyo"})
    with serving(in_tokyo) as url, httpx.Client(base_url=url) as http:
        card = _card(http.get("/sources").text, polled["press"])
    local = polled_at.astimezone(in_tokyo.zone)
    assert f"{local.day} {local:%b %Y, %H:%M} JST</time>" in card
    assert f'datetime="{polled_at.isoformat().replace("+00:00", "Z")}"' in card


def test_no_sources_says_how_to_add_one(client: httpx.Client) -> None:
    html = client.get("/sources").text
    assert "0 sources: 0 healthy, 0 failing, 0 disabled." in html
    assert "<code>biowire sources add URL</code>" in html


def test_the_page_is_in_the_openapi_document(client: httpx.Client) -> None:
    answers = client.get("/openapi.json").json()["paths"]["/sources"]["get"]["responses"]
    assert list(answers["200"]["content"]) == ["text/html"]
