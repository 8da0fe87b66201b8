"""The sources as OPML: the default list shipped in the package (every feed an https
address with a note and a category), the notes read from `description` and written back
on export. Offline: nothing here fetches a feed."""

from __future__ import annotations

from urllib.parse import urlsplit

from aggregator.ingest.sources import (
    OutlineFeed,
    default_notes,
    default_sources,
    export_opml,
    import_feeds,
    load_defaults_if_empty,
    parse_opml,
)
from aggregator.ingest.storage import add_source
from aggregator.ingest.urls import canonical_url
from aggregator.service import Database
from models import session_scope

# The addresses that replaced ones public evidence did not bear out, by the old address.
CORRECTED = {
    "https://www.idemia.com/rss.xml": "https://www.idemia.com/feed",
    "https://www.nec.com/en/press/rss/index.xml": "https://www.nec.com/en/press/rss.xml",
    "https://www.iata.org/en/pressroom/pressroom-rss/": "https://www.iata.org/api/rss/pressrelease",
    "https://www.dhs.gov/news/rss.xml": "https://www.dhs.gov/news-releases.xml",
    "https://www.secureidnews.com/feed/": "https://www.secureidnews.com/news-item/feed/",
}

ADDED = {
    "https://www.thinkdigitalpartners.com/feed/",
    "https://fidoalliance.org/feed/",
    "https://www.leidos.com/rss.xml",
    "https://www.tsa.gov/news/press/releases/feed.xml",
    "https://www.gov.uk/government/organisations/uk-visas-and-immigration.atom",
    "https://www.passengerterminaltoday.com/feed",
    "https://www.itweb.co.za/rss",
    "https://www.eff.org/rss/updates.xml",
}


def test_the_shipped_opml_gives_every_default_an_https_address_a_note_and_a_category() -> None:
    defaults = default_sources()
    assert len(defaults) >= 20
    for feed in defaults:
        parts = urlsplit(feed.url)
        assert parts.scheme == "https" and parts.hostname, feed.url
        assert canonical_url(feed.url) is not None, feed.url
        assert feed.title, feed.url
        assert feed.site_url and feed.site_url.startswith("https://"), feed.url
        assert feed.note and len(feed.note) >= 30 and feed.note.endswith("."), feed.url
        assert feed.category, feed.url
    urls = [canonical_url(feed.url) for feed in defaults]
    assert len(set(urls)) == len(urls), "a feed is listed twice"
    assert len({feed.note for feed in defaults}) == len(defaults), "each note is its own"


def test_the_defaults_carry_the_corrected_and_the_added_addresses() -> None:
    urls = {feed.url for feed in default_sources()}
    assert set(CORRECTED.values()) <= urls
    assert not set(CORRECTED) & urls
    assert ADDED <= urls
    assert "https://www.tsa.gov/rss.xml" not in urls  # valid, but its newest item is from 2024


def test_parse_opml_reads_the_note_and_the_nearest_folder() -> None:
    document = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>t</title></head><body>
  <outline type="rss" text="Loose" xmlUrl="https://loose.example/feed"/>
  <outline text="Press">
    <outline type="rss" text="A" xmlUrl=" https://a.example/feed " htmlUrl="https://a.example/"
      description="  Covers   one
        thing. "/>
    <outline title="Inner" text="ignored">
      <outline type="rss" text="B" xmlUrl="https://b.example/feed" description=""/>
    </outline>
    <outline>
      <outline type="rss" text="C" xmlurl="https://c.example/feed"/>
    </outline>
  </outline>
</body></opml>"""
    assert parse_opml(document) == [
        OutlineFeed("https://loose.example/feed", "Loose", None, None, None),
        OutlineFeed(
            "https://a.example/feed", "A", "https://a.example/", "Covers one thing.", "Press"
        ),
        OutlineFeed("https://b.example/feed", "B", None, None, "Inner"),
        OutlineFeed("https://c.example/feed", "C", None, None, "Press"),  # unnamed: the outer one
    ]


def test_the_defaults_notes_survive_export_then_parse(db: Database) -> None:
    with session_scope(db.factory) as session:
        assert load_defaults_if_empty(session) == len(default_sources())
        exported = export_opml(session)
    read_back = {feed.url: feed.note for feed in parse_opml(exported.encode())}
    assert read_back == default_notes()
    assert len(read_back) == len(default_sources())


def test_export_writes_given_notes_as_text(db: Database) -> None:
    note = 'Says "quoted" things & <tags>, on two\nlines.'
    with session_scope(db.factory) as session:
        source, _ = add_source(session, "https://odd.example/feed", "Odd")
        add_source(session, "https://plain.example/feed")
        exported = export_opml(session, {source.url: note})
    feeds = {feed.url: feed for feed in parse_opml(exported.encode())}
    assert feeds["https://odd.example/feed"].note == 'Says "quoted" things & <tags>, on two lines.'
    assert feeds["https://plain.example/feed"].note is None
    # And what was exported imports again, as the same sources.
    with session_scope(db.factory) as session:
        assert import_feeds(session, list(feeds.values())) == 0
