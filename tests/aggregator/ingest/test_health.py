"""Each source's health as the sources page tells it: a status in a word, the last error
in plain terms, the commands that fix it, and the sources in trouble first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from aggregator.ingest.health import (
    SourceStatus,
    explain_error,
    remedies,
    source_health,
    status_of,
)
from aggregator.ingest.sources import OutlineFeed
from aggregator.ingest.storage import add_source
from aggregator.service import Database
from models import Article, ArticleSource, Source, session_scope
from models.queries import failing_sources

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, SourceStatus.NEW),
        ({"last_polled_at": NOW}, SourceStatus.HEALTHY),
        ({"last_polled_at": NOW, "consecutive_failures": 2}, SourceStatus.FAILING),
        ({"last_polled_at": NOW, "consecutive_failures": 10, "disabled_at": NOW},
         SourceStatus.DISABLED),
    ],
    ids=["never-polled", "healthy", "failing", "disabled"],
)  # fmt: skip
def test_status_in_a_word(state: dict[str, object], expected: SourceStatus) -> None:
    source = Source(url="https://feeds.example/a", **{"consecutive_failures": 0, **state})
    assert status_of(source) is expected


@pytest.mark.parametrize(
    ("error", "status", "says"),
    [
        ("HTTP 404 Not Found", 404, "not at this address any more"),
        ("HTTP 410 Gone", 410, "not at this address any more"),
        ("HTTP 403 Forbidden", 403, "will not let Biowire read"),
        ("HTTP 429 Too Many Requests", 429, "asks too often"),
        ("HTTP 503 Service Unavailable", 503, "usually temporary"),
        ("could not connect: Cannot connect to host feeds.example:443", None, "could not reach"),
        ("no complete answer within 60 s", None, "too slow"),
        ("the server returned an HTML page, not a feed", 200, "web page, not a feed"),
        ("not a readable RSS, Atom or JSON feed (syntax error)", 200, "not a feed Biowire can"),
        ("feeds.example resolves to a private or reserved address (10.0.0.1); set …", None,
         "private network"),
        ("feed is not well-formed but was read: mismatched tag", 200, "nothing to do here"),
    ],
    ids=["404", "410", "403", "429", "503", "connect", "timeout", "html", "unreadable",
         "private", "warning"],
)  # fmt: skip
def test_an_error_explained_plainly(error: str, status: int | None, says: str) -> None:
    explained = explain_error(error, status)
    assert explained is not None and says in explained


def test_no_error_no_explanation_and_an_unknown_one_left_as_it_is() -> None:
    assert explain_error(None, None) is None
    assert explain_error("something no one foresaw", None) is None


def test_the_commands_that_fix_a_source_in_trouble() -> None:
    assert remedies(7, SourceStatus.FAILING) == (
        "biowire sources set-url 7 NEW_URL",
        "biowire sources remove 7",
    )
    assert "biowire sources enable 7" in remedies(7, SourceStatus.DISABLED)
    assert remedies(7, SourceStatus.HEALTHY) == remedies(7, SourceStatus.NEW) == ()


def _link(session: Session, source_id: int, title: str, published: datetime) -> None:
    article = Article(dedup_key=title, title=title, content_hash=title, published_at=published)
    session.add(article)
    session.flush()
    session.add(ArticleSource(article_id=article.id, source_id=source_id, guid=title))


def test_every_source_with_its_recent_articles_in_one_query_trouble_first(db: Database) -> None:
    with session_scope(db.factory) as session:
        calm, broken, off, fresh = (
            add_source(session, f"https://feeds.example/{name}")[0]
            for name in ("calm", "broken", "off", "fresh")
        )
        calm.title, calm.last_polled_at = "Calm news", NOW
        broken.title, broken.last_polled_at, broken.consecutive_failures = "Broken", NOW, 3
        broken.last_status, broken.last_error = 404, "HTTP 404 Not Found"
        off.title, off.disabled_at, off.consecutive_failures = "Off", NOW, 10
        off.disabled_reason = "the server says the feed is gone (HTTP 410)"
        for n in range(3):
            _link(session, calm.id, f"calm-{n}", NOW - timedelta(days=n * 20))
        _link(session, broken.id, "broken-0", NOW - timedelta(days=1))
        ids = {"calm": calm.id, "broken": broken.id, "off": off.id, "fresh": fresh.id}

    note = OutlineFeed("https://feeds.example/calm", "Calm news", None, "Calm coverage.", "Press")
    statements: list[str] = []

    def record(*execution: Any) -> None:
        statements.append(execution[2])

    with session_scope(db.factory) as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            health = source_health(session, NOW - timedelta(days=30), {note.url: note})
        finally:
            event.remove(engine, "before_cursor_execute", record)
        trouble = failing_sources(session)

    assert len(statements) == 1
    assert [h.id for h in health] == [ids["off"], ids["broken"], ids["calm"], ids["fresh"]]
    by_id = {h.id: h for h in health}
    calm_health = by_id[ids["calm"]]
    assert (calm_health.recent_articles, calm_health.note, calm_health.folder) == (
        2, "Calm coverage.", "Press"
    )  # fmt: skip
    broken_health = by_id[ids["broken"]]
    assert broken_health.status is SourceStatus.FAILING and broken_health.recent_articles == 1
    assert broken_health.explanation and "not at this address" in broken_health.explanation
    assert broken_health.commands[0] == f"biowire sources set-url {ids['broken']} NEW_URL"
    assert by_id[ids["fresh"]].status is SourceStatus.NEW
    assert [s.id for s in trouble] == [ids["off"], ids["broken"]]
