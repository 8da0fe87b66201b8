"""Articles stored by a poll carry the active model's tags, computed where the entries
were parsed; editors' corrections still win."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update
from werkzeug import Response

from aggregator.classify.corrections import set_topics
from aggregator.classify.registry import active_model, load_classifier
from aggregator.classify.tagging import classify_pending
from aggregator.database import upgrade_database
from aggregator.ingest.parse_pool import ParsePool, installed_classifier
from aggregator.service import (
    Database,
    classify_new,
    open_database,
    poll_forever,
    poll_once,
)
from aggregator.settings import Settings
from models import Article, ArticleTopic, session_scope
from tests.aggregator.helpers import add_sources
from tests.conftest import run_poll
from tests.fixtures.feeds import BIOMETRIC_ITEMS, Item, recent, rss

RSS_TYPE = "application/rss+xml"
Tags = dict[int, dict[str, tuple[str, int | None, float, tuple[str, ...]]]]


def all_tags(db: Database) -> Tags:
    found: Tags = {}
    with session_scope(db.factory) as session:
        for tag in session.scalars(select(ArticleTopic)):
            found.setdefault(tag.article_id, {})[tag.topic.slug] = (
                tag.origin, tag.model_id, tag.score, tuple(tag.why)
            )  # fmt: skip
    return found


def unclassified(db: Database) -> list[int]:
    with session_scope(db.factory) as session:
        return list(session.scalars(select(Article.id).where(Article.classified_by_id.is_(None))))


@pytest.fixture
def biometric_feed(httpserver: HTTPServer, db: Database) -> int:
    """A source serving three biometrics stories, registered: its id."""
    httpserver.expect_request("/feed").respond_with_data(
        rss(BIOMETRIC_ITEMS), content_type=RSS_TYPE
    )
    [source_id] = add_sources(db, httpserver.url_for("/feed"))
    return source_id


def active_model_id(db: Database) -> int:
    with session_scope(db.factory) as session:
        model = active_model(session)
        assert model is not None
        return model.id


def test_a_new_sources_articles_are_stored_with_the_models_tags(
    biometric_feed: int, settings: Settings, db: Database
) -> None:
    model_id = active_model_id(db)

    run_poll(settings, db)

    assert unclassified(db) == []
    stored = all_tags(db)
    assert len(stored) == 3  # each of these stories has at least one topic
    for tags in stored.values():
        for origin, tagged_by, score, why in tags.values():
            assert origin == "model" and tagged_by == model_id
            assert 0 < score <= 1 and why
    assert classify_new(db) == 0


def test_tags_from_the_poll_are_the_ones_the_tagging_pass_gives(
    biometric_feed: int, settings: Settings, db: Database
) -> None:
    run_poll(settings, db)
    from_poll = all_tags(db)

    with session_scope(db.factory) as session:
        session.execute(update(Article).values(classified_by_id=None))
        model = active_model(session)
        assert model is not None
        assert classify_pending(session, model, load_classifier(model)) == 3

    assert all_tags(db) == from_poll


def test_the_parse_pool_tags_too(biometric_feed: int, settings: Settings, db: Database) -> None:
    with ParsePool(workers=1) as pool:
        summary = asyncio.run(poll_once(settings, db, everything=True, parse_executor=pool))

    assert summary.new_articles == 3 and summary.errors == 0
    assert unclassified(db) == []
    assert len(all_tags(db)) == 3


def test_an_editors_tags_survive_an_edited_entry(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    story = BIOMETRIC_ITEMS[0]
    edited = Item(story.title + " (updated)", story.link, summary=story.summary + " More gates.",
                  published=story.published)  # fmt: skip
    bodies = iter([rss([story]), rss([edited])])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type=RSS_TYPE)
    )
    add_sources(db, httpserver.url_for("/feed"))
    run_poll(settings, db)
    [article_id] = all_tags(db)
    with session_scope(db.factory) as session:
        set_topics(session, article_id, ["payments-finance"])

    run_poll(settings, db)  # the edit: new title and text, queued for tagging again
    assert unclassified(db) == [article_id]
    classify_new(db)

    editor = {"payments-finance": ("editor", None, 1.0, ())}
    assert all_tags(db) == {article_id: editor}
    with session_scope(db.factory) as session:
        assert session.get_one(Article, article_id).title.endswith("(updated)")


def test_later_polls_tag_a_known_sources_new_entries_as_they_are_stored(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    fresh = Item("Border agency pilots iris scanners at land crossings",
                 "https://news.example.org/iris-border", published=recent(0.5))  # fmt: skip
    bodies = iter([rss(BIOMETRIC_ITEMS), rss([fresh, *BIOMETRIC_ITEMS])])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type=RSS_TYPE)
    )
    add_sources(db, httpserver.url_for("/feed"))
    run_poll(settings, db)
    second = run_poll(settings, db)

    assert second.new_articles == 1
    [new_id] = second.outcomes[0].new_article_ids
    assert unclassified(db) == []  # tagged in the transaction that stored it
    stored = all_tags(db)[new_id]
    assert stored and all(origin == "model" for origin, *_ in stored.values())
    assert classify_new(db) == 0
    # The tags the tagging pass would have given it.
    with session_scope(db.factory) as session:
        session.execute(update(Article).where(Article.id == new_id).values(classified_by_id=None))
    assert classify_new(db) == 1
    assert all_tags(db)[new_id] == stored


def test_with_a_parse_pool_too_a_known_sources_new_entries_are_stored_tagged(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    fresh = Item("Bank adds palm payments at checkout", "https://news.example.org/palm-pay",
                 published=recent(0.5))  # fmt: skip
    bodies = iter([rss(BIOMETRIC_ITEMS), rss([fresh, *BIOMETRIC_ITEMS])])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type=RSS_TYPE)
    )
    add_sources(db, httpserver.url_for("/feed"))
    # Nothing loaded in this process yet (`restore_process_state`): the poll must load it.
    assert installed_classifier(active_model_id(db)) is None
    with ParsePool(workers=1) as pool:
        for _ in range(2):
            summary = asyncio.run(poll_once(settings, db, everything=True, parse_executor=pool))
    assert summary.new_articles == 1
    assert unclassified(db) == []
    assert classify_new(db) == 0


def test_the_servers_polling_trains_a_first_model_before_its_first_poll(
    httpserver: HTTPServer,
    empty_database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upgrade_database(empty_database_url)
    settings = Settings(
        database_url=empty_database_url, allow_private_networks=True, scheduler_tick=1
    )
    database = open_database(settings)
    httpserver.expect_request("/feed").respond_with_data(
        rss(BIOMETRIC_ITEMS), content_type=RSS_TYPE
    )
    add_sources(database, httpserver.url_for("/feed"))

    async def first_cycle() -> None:
        polling = asyncio.create_task(poll_forever(settings, database))
        try:
            for _ in range(300):
                if any(r.getMessage() == "poll cycle" for r in caplog.records):
                    return
                await asyncio.sleep(0.1)
            raise AssertionError("no poll cycle within 30 s")
        finally:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling

    try:
        with caplog.at_level(logging.INFO, logger="biowire"):
            asyncio.run(first_cycle())
        cycle = next(r for r in caplog.records if r.getMessage() == "poll cycle")
        # The articles came tagged out of the poll: the pass after it found nothing to do.
        assert (cycle.new_articles, cycle.tagged) == (3, 0)  # type: ignore[attr-defined]
        assert unclassified(database) == []
    finally:
        database.close()
