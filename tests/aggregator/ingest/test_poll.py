"""Polling against real HTTP servers on 127.0.0.1 and the real database."""

from __future__ import annotations

from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from werkzeug import Request, Response

from aggregator.ingest.sources import add_source
from aggregator.service import Database
from aggregator.settings import Settings
from models import Article, ArticleSource, Source, session_scope
from tests.conftest import run_poll
from tests.fixtures.feeds import BIOMETRIC_ITEMS, Item, recent, rss

RSS_TYPE = "application/rss+xml"


def _add(db: Database, *urls: str) -> list[int]:
    with session_scope(db.factory) as session:
        return [add_source(session, url)[0].id for url in urls]


def _count(db: Database, model: type) -> int:
    with session_scope(db.factory) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _source(db: Database, source_id: int) -> Source:
    with session_scope(db.factory) as session:
        return session.get_one(Source, source_id)


def test_poll_stores_articles_and_repoll_adds_no_duplicates(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        rss(BIOMETRIC_ITEMS), content_type=RSS_TYPE
    )
    [source_id] = _add(db, httpserver.url_for("/feed"))

    first = run_poll(settings, db)
    assert first.new_articles == 3 and first.errors == 0
    second = run_poll(settings, db)
    assert second.new_articles == 0
    assert _count(db, Article) == 3
    assert _count(db, ArticleSource) == 3
    source = _source(db, source_id)
    assert source.title == "Test feed"
    assert source.last_status == 200 and source.consecutive_failures == 0
    assert source.next_poll_at is not None


def test_not_modified_stores_nothing_and_sends_validators(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    seen_validators: list[str | None] = []

    def handler(request: Request) -> Response:
        seen_validators.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(rss(BIOMETRIC_ITEMS), content_type=RSS_TYPE, headers={"ETag": '"v1"'})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    _add(db, httpserver.url_for("/feed"))
    run_poll(settings, db)
    again = run_poll(settings, db)

    assert seen_validators == [None, '"v1"']
    [outcome] = again.outcomes
    assert outcome.status == 304 and outcome.unchanged and outcome.new_articles == 0
    assert _count(db, Article) == 3


def test_same_story_from_two_sources_is_one_article_linked_to_both(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    story = BIOMETRIC_ITEMS[0]
    tracked = Item(story.title, story.link + "?utm_source=newsletter#comments", guid="other-guid",
                   summary=story.summary, published=story.published)  # fmt: skip
    httpserver.expect_request("/a").respond_with_data(rss([story]), content_type=RSS_TYPE)
    httpserver.expect_request("/b").respond_with_data(rss([tracked]), content_type=RSS_TYPE)
    _add(db, httpserver.url_for("/a"), httpserver.url_for("/b"))

    run_poll(settings, db)

    assert _count(db, Article) == 1
    assert _count(db, ArticleSource) == 2


def test_edited_entry_updates_the_article(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    original = Item("Draft headline", "https://example.org/s", guid="s-1", published=recent(2))
    edited = Item("Final headline", "https://example.org/s", guid="s-1", published=recent(2))
    bodies = iter([rss([original]), rss([edited])])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type=RSS_TYPE)
    )
    _add(db, httpserver.url_for("/feed"))
    run_poll(settings, db)
    run_poll(settings, db)

    with session_scope(db.factory) as session:
        titles = list(session.scalars(select(Article.title)))
    assert titles == ["Final headline"]


def test_failing_sources_record_errors_while_others_land(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    httpserver.expect_request("/good").respond_with_data(
        rss(BIOMETRIC_ITEMS), content_type=RSS_TYPE
    )
    httpserver.expect_request("/broken").respond_with_data(
        b"<<<< {{{{ neither XML nor JSON", content_type=RSS_TYPE
    )
    httpserver.expect_request("/error").respond_with_data("boom", status=500)
    good, broken, error = _add(
        db, httpserver.url_for("/good"), httpserver.url_for("/broken"), httpserver.url_for("/error")
    )

    summary = run_poll(settings, db)

    assert summary.new_articles == 3
    failed = _source(db, error)
    assert failed.last_status == 500
    assert failed.last_error == "HTTP 500 INTERNAL SERVER ERROR"
    assert failed.consecutive_failures == 1 and failed.last_error_at is not None
    unparseable = _source(db, broken)
    assert unparseable.last_error and unparseable.consecutive_failures == 1
    assert _source(db, good).last_error is None
