from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.errors import ParseError
from aggregator.ingest.parse import parse_feed
from tests.fixtures.feeds import Item, recent, rss

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_entries_are_normalised() -> None:
    body = rss(
        [
            Item(
                "Border &amp; <b>e-gates</b>",
                "https://News.example.org/a?utm_medium=rss#frag",
                guid="g-1",
                summary='<p>Lead <img src=x onerror="alert(1)"></p>',
                published=datetime(2026, 2, 27, 8, 30, tzinfo=UTC),
                categories=("Border and Port Security", "Airports"),
            )
        ]
    )
    feed = parse_feed("https://example.org/feed", body, {"content-type": "application/rss+xml"},
                      now=NOW)  # fmt: skip
    [entry] = feed.entries
    assert entry.title == "Border & e-gates"
    assert entry.url == "https://news.example.org/a"
    assert entry.dedup_key == entry.url
    assert entry.guid == "g-1"
    assert "onerror" not in entry.summary_html
    assert entry.text == "Lead"
    assert entry.published_at == datetime(2026, 2, 27, 8, 30, tzinfo=UTC)
    assert entry.categories == ("Border and Port Security", "Airports")
    assert feed.title == "Test feed"


def test_relative_links_in_content_are_resolved() -> None:
    rss_body = rss(
        [Item("Relative", "https://example.org/a", summary='<a href="/r/1">r</a><img src="i.png">')]
    )
    [entry] = parse_feed("https://example.org/feeds/news.xml", rss_body).entries
    assert 'href="https://example.org/r/1"' in entry.summary_html
    assert 'src="https://example.org/feeds/i.png"' in entry.summary_html
    atom_body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://press.example.com/en/">
  <title>Newsroom</title><id>urn:x</id><updated>2026-02-01T00:00:00Z</updated>
  <entry xml:base="releases/"><title>Release</title><id>urn:x:1</id>
    <link href="2026/release-1"/><updated>2026-02-01T00:00:00Z</updated>
    <content type="html">&lt;a href="../pdf/r1.pdf"&gt;PDF&lt;/a&gt;</content></entry>
</feed>"""
    [entry] = parse_feed("https://feeds.example.com/atom", atom_body).entries
    assert entry.url == "https://press.example.com/en/releases/2026/release-1"
    assert 'href="https://press.example.com/en/pdf/r1.pdf"' in (
        entry.content_html or entry.summary_html
    )


def test_missing_date_becomes_fetch_time_and_future_is_clamped() -> None:
    body = rss(
        [
            Item("No date", "https://example.org/1"),
            Item("From the future", "https://example.org/2", published=NOW + timedelta(days=3)),
        ]
    )
    entries = parse_feed("https://example.org/feed", body, now=NOW).entries
    assert [e.published_at for e in entries] == [NOW, NOW]


def test_entry_without_link_is_keyed_by_title_and_date() -> None:
    body = rss([Item("Linkless", "", guid="x-1", published=recent(1))])
    [entry] = parse_feed("https://example.org/feed", body).entries
    assert entry.url is None
    assert entry.dedup_key.startswith("sha256:")


def test_publisher_interval_hints_are_read() -> None:
    body = rss([], extra_channel="<ttl>90</ttl>")
    assert parse_feed("https://example.org/feed", body).suggested_interval == 90 * 60


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"<!DOCTYPE html><html><body>Welcome</body></html>", "HTML page"),
        (b"this is not xml at all {", "not a readable"),
    ],
    ids=["empty", "html", "garbage"],
)
def test_unreadable_bodies_raise_a_readable_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed("https://example.org/feed", body)


def test_updated_dates_fall_back_as_feedparser_reads_them() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Dates</title>
<entry><id>both</id><title>Both</title><link href="https://example.org/both"/>
  <published>2026-02-01T08:00:00Z</published><updated>2026-02-03T09:30:00Z</updated></entry>
<entry><id>updated-only</id><title>Updated only</title><link href="https://example.org/u"/>
  <updated>2026-02-05T10:00:00Z</updated></entry>
<entry><id>published-only</id><title>Published only</title><link href="https://example.org/p"/>
  <published>2026-02-07T11:00:00Z</published></entry>
</feed>"""
    feed = parse_feed("https://example.org/atom", body, now=NOW)
    dates = {e.title: (e.published_at, e.updated_at) for e in feed.entries}
    assert dates == {
        "Both": (datetime(2026, 2, 1, 8, tzinfo=UTC), datetime(2026, 2, 3, 9, 30, tzinfo=UTC)),
        "Updated only": (datetime(2026, 2, 5, 10, tzinfo=UTC),) * 2,
        "Published only": (datetime(2026, 2, 7, 11, tzinfo=UTC),) * 2,
    }
