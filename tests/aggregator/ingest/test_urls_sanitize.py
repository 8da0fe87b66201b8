from __future__ import annotations

import pytest

from aggregator.ingest.sanitize import html_to_text, sanitize_html, sanitized_to_text
from aggregator.ingest.urls import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.ORG/a?utm_source=rss&id=3#top", "https://news.example.org/a?id=3"),
        ("http://example.org:80/x?fbclid=1&gclid=2", "http://example.org/x"),
        ("https://example.org:8443/x", "https://example.org:8443/x"),
        ("https://example.org", "https://example.org/"),
        ("javascript:alert(1)", None),
        ("/relative/path", None),
        ("http://[::1]:8080/feed", "http://[::1]:8080/feed"),
    ],
    ids=["tracking-and-case", "default-port", "other-port", "empty-path", "js", "relative", "ipv6"],
)
def test_canonical_url(url: str, expected: str | None) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "markup",
    [
        '<p>ok</p><script>alert("x")</script>',
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        '<iframe src="https://evil.example/x"></iframe>',
        '<p onclick="steal()">text</p>',
        "<svg><script>alert(1)</script></svg>",
    ],
    ids=["script", "onerror", "javascript-url", "foreign-iframe", "event-handler", "svg"],
)
def test_sanitize_removes_active_content(markup: str) -> None:
    cleaned = sanitize_html(markup).lower()
    assert "<script" not in cleaned
    assert "onerror" not in cleaned and "onclick" not in cleaned
    assert "javascript:" not in cleaned
    assert "evil.example" not in cleaned


def test_sanitize_keeps_content_and_trusted_embeds() -> None:
    cleaned = sanitize_html(
        '<p>Read <a href="https://example.org/r">the report</a></p>'
        '<iframe src="https://www.youtube-nocookie.com/embed/abc"></iframe>'
    )
    assert 'href="https://example.org/r"' in cleaned
    assert 'rel="noopener noreferrer nofollow"' in cleaned
    assert "youtube-nocookie.com/embed/abc" in cleaned


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<a href="/reports/2026">r</a>', 'href="https://example.org/reports/2026"'),
        ('<img src="chart.png" alt="c">', 'src="https://example.org/news/chart.png"'),
        ('<a href="//cdn.example.net/x">x</a>', 'href="https://cdn.example.net/x"'),
        ('<a href="https://other.example/y">y</a>', 'href="https://other.example/y"'),
        ('<a href="mailto:desk@example.org">m</a>', 'href="mailto:desk@example.org"'),
    ],
    ids=["root-relative", "relative", "protocol-relative", "absolute", "mailto"],
)
def test_sanitize_resolves_relative_links_against_the_base(markup: str, expected: str) -> None:
    assert expected in sanitize_html(markup, base_url="https://example.org/news/feed.xml")


def test_resolving_links_never_lets_another_scheme_in() -> None:
    # The sanitiser checks schemes before links are resolved: a base that is not http(s)
    # must leave the (harmless) relative link as it was, never produce a javascript: URL.
    cleaned = sanitize_html(
        '<a href="x">x</a><a href="javascript:y">y</a>', base_url="javascript:z"
    )
    assert "javascript" not in cleaned
    assert 'href="x"' in cleaned


def test_sanitize_drops_tracking_pixels() -> None:
    cleaned = sanitize_html('<p>x</p><img src="https://t.example/p.gif" width="1" height="1">')
    assert "t.example" not in cleaned
    kept = sanitize_html('<img src="https://img.example/chart.png" width="600">')
    assert "chart.png" in kept


def test_html_to_text_separates_blocks_and_decodes_entities() -> None:
    assert html_to_text("<p>Face&nbsp;ID</p><p>and &amp; more</p>") == "Face ID and & more"
    assert html_to_text("<script>bad()</script>visible") == "visible"


@pytest.mark.parametrize(
    "markup",
    [
        "<p>Face&nbsp;ID</p><p>and &amp; more</p>",
        '<p title="a > b">quoted &gt; in an attribute</p>',
        "<p>a &lt; b &amp;&amp; c &gt; d</p>",
        '<ul><li>one</li><li>two<br>three</li></ul><a href="https://example.org/x">link</a>',
        '<iframe src="https://www.youtube.com/embed/x"></iframe><p>after</p>',
        "<!-- a comment --><script>bad()</script><style>p {}</style>visible",
        "plain text with \u00e9 and \u4e2d\u6587 &#8217; quote",
        '<img src="https://img.example/a.png" alt="x > y">caption',
    ],
    ids=["entities", "gt-in-attr", "escaped", "blocks", "iframe", "removed", "unicode", "alt"],
)
def test_text_of_sanitized_markup_outside_tables_is_the_text_of_a_second_parse(markup: str) -> None:
    cleaned = sanitize_html(markup)
    assert sanitized_to_text(cleaned) == html_to_text(cleaned)


def test_text_of_sanitized_markup_keeps_every_table_cell() -> None:
    cleaned = sanitize_html(
        "<table><tr><th>Rails</th><th>Gemstone</th></tr><tr><td>MySQL</td><td>Stone</td></tr>"
        "</table><p>after</p>"
    )
    assert sanitized_to_text(cleaned) == "Rails Gemstone MySQL Stone after"


def test_every_kind_of_white_space_collapses_to_one_space() -> None:
    # Tabs, line breaks, no-break and ideographic spaces, and the information separators
    # that Unicode also counts as white space.
    spaces = "\t\n\r\x0b\x0c\x1c\x1f\x85\u00a0\u2003\u2028\u3000"
    markup = f"{spaces}<p>Face{spaces}ID</p>{spaces}<p>gates &nbsp; open</p>{spaces}"
    assert sanitized_to_text(sanitize_html(markup)) == "Face ID gates open"
    assert html_to_text(markup) == "Face ID gates open"
    assert html_to_text(f"{spaces}no{spaces}markup{spaces}") == "no markup"
