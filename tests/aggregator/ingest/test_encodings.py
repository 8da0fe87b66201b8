"""Feeds in the encodings the industry's publishers actually use, fetched over HTTP and
stored as correct Unicode, with and without a charset in the Content-Type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aggregator.service import Database
from aggregator.settings import Settings
from tests.aggregator.helpers import add_sources, articles_of, source_state
from tests.conftest import run_poll
from tests.fixtures.servers import LoopbackServer, serve


def feed_document(title: str, summary: str, declared: str | None) -> str:
    declaration = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    return (
        f'{declaration}<rss version="2.0"><channel><title>{title}</title>'
        "<link>https://news.example.org/</link><description>d</description>"
        f"<item><title>{title}</title><link>https://news.example.org/story</link>"
        f"<description>{summary}</description></item></channel></rss>"
    )


# (id, title, summary, codec used for the bytes, encoding the XML declaration names)
CASES = [
    ("iso-8859-1", "Gesichtserkennung für Grenzübergänge", "Straße, Größe, Ärger",
     "iso-8859-1", "iso-8859-1"),
    ("windows-1252", "“Smart” e-gates cost €5m — report", "Curly ‘quotes’ and a … ellipsis",
     "windows-1252", "windows-1252"),
    ("windows-1251", "Биометрия на границе", "Новые терминалы в аэропорту",
     "windows-1251", "windows-1251"),
    ("koi8-r", "Распознавание лиц в метро", "Оператор расширяет систему",
     "koi8-r", "koi8-r"),
    ("gb2312", "人脸识别进入机场", "边境检查站启用新系统", "gb2312", "gb2312"),
    ("utf-16", "Identité numérique: l’État avance", "Contrôle d’accès", "utf-16", "utf-16"),
    ("declares-latin1-is-utf8", "Zutrittskontrolle für Büros", "Gebühren steigen",
     "utf-8", "iso-8859-1"),
    ("declares-utf8-is-latin1", "Contrôle biométrique à l'aéroport", "Sécurité renforcée",
     "iso-8859-1", "utf-8"),
    ("no-declaration-latin1", "Empreinte digitale: défi", "Éléments clés",
     "iso-8859-1", None),
]  # fmt: skip
CONTENT_TYPES = {
    "charset-in-header": "application/rss+xml; charset={codec}",
    "no-charset": "application/rss+xml",
    "text-xml": "text/xml",
}


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.mark.parametrize("content_type", list(CONTENT_TYPES.values()), ids=list(CONTENT_TYPES))
@pytest.mark.parametrize(
    ("title", "summary", "codec", "declared"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_encoded_feed_is_stored_as_unicode(
    settings: Settings,
    db: Database,
    server: LoopbackServer,
    title: str,
    summary: str,
    codec: str,
    declared: str | None,
    content_type: str,
) -> None:
    body = feed_document(title, summary, declared).encode(codec)
    server.routes["/feed"] = serve(body, content_type.format(codec=codec))
    [source_id] = add_sources(db, server.url("/feed"))

    run_poll(settings, db)

    [article] = articles_of(db, source_id)
    assert (article.title, article.text) == (title, summary)
    assert source_state(db, source_id).title == title


def test_white_space_before_the_declaration_is_read_strictly(
    settings: Settings, db: Database, server: LoopbackServer
) -> None:
    body = (
        b"\n\n   \n" + feed_document("Iris scanners at the gate", "Queues shrink", "utf-8").encode()
    )
    server.routes["/feed"] = serve(body)
    [source_id] = add_sources(db, server.url("/feed"))

    run_poll(settings, db)

    [article] = articles_of(db, source_id)
    assert article.title == "Iris scanners at the gate"
    # Read as well-formed XML, not by the fallback parser, so no warning is recorded.
    assert source_state(db, source_id).last_error is None
