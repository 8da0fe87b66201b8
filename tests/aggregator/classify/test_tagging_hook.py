"""The after-store hook that tags a poll's new articles, on a real database: the parse
worker's tags written as they are, the rest classified there and then, and a failure that
leaves every article to the tagging pass after the poll."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from aggregator.classify.registry import active_model, load_classifier
from aggregator.classify.tagging import TagNewArticles, topic_ids
from aggregator.classify.types import TopicScore
from aggregator.ingest.parse import parse_feed
from aggregator.ingest.results import Changed, SourceSnapshot
from aggregator.ingest.schedule import PollPolicy, decide
from aggregator.ingest.storage import RefreshWrite
from aggregator.ingest.writer import apply_writes
from aggregator.service import Database
from models import Article, ArticleTopic, session_scope
from tests.aggregator.helpers import add_sources
from tests.fixtures.feeds import BIOMETRIC_ITEMS, rss

NOW = datetime.now(UTC)


def _write(source_id: int, worker_tags: list[list[TopicScore]] | None, model_id: int):  # type: ignore[no-untyped-def]
    feed = parse_feed("https://feeds.example/feed", rss(BIOMETRIC_ITEMS))
    source = SourceSnapshot(source_id, "https://feeds.example/feed")
    result = Changed(200, feed, None, None, "hash", tags=worker_tags,
                     tagged_by=model_id if worker_tags is not None else None)  # fmt: skip
    return RefreshWrite(source, result, decide(result, source, PollPolicy(), NOW))


def _state(db: Database) -> list[tuple[int | None, list[tuple[str, float]]]]:
    with session_scope(db.factory) as session:
        articles = session.scalars(select(Article).order_by(Article.id)).all()
        return [
            (a.classified_by_id, sorted((t.topic.slug, t.score) for t in a.tags)) for a in articles
        ]


@pytest.mark.parametrize("from_the_worker", [True, False], ids=["worker-tagged", "untagged"])
def test_new_articles_are_stored_tagged_and_marked(db: Database, from_the_worker: bool) -> None:
    [source_id] = add_sources(db, "https://feeds.example/feed")
    worker_tags = [[TopicScore("border-control", 0.75, ("gates",))]] * len(BIOMETRIC_ITEMS)
    with session_scope(db.factory) as session:
        model = active_model(session)
        assert model is not None
        hook = TagNewArticles(model.id, topic_ids(session), load_classifier(model))
        write = _write(source_id, worker_tags if from_the_worker else None, model.id)
        apply_writes(session, [write], [hook])
        model_id = model.id

    stored = _state(db)
    assert len(stored) == len(BIOMETRIC_ITEMS)
    assert all(classified_by == model_id and tags for classified_by, tags in stored)
    if from_the_worker:  # written as the worker computed them, not classified again
        assert all(tags == [("border-control", 0.75)] for _, tags in stored)


def test_a_tagging_failure_leaves_the_articles_to_the_pass_after_the_poll(db: Database) -> None:
    [source_id] = add_sources(db, "https://feeds.example/feed")
    worker_tags = [[TopicScore("border-control", 0.75)]] * len(BIOMETRIC_ITEMS)
    with session_scope(db.factory) as session:
        model = active_model(session)
        assert model is not None
        # A topic id no row has: writing the tags breaks a foreign key.
        hook = TagNewArticles(model.id, {"border-control": 10_000})
        apply_writes(session, [_write(source_id, worker_tags, model.id)], [hook])

    stored = _state(db)
    assert len(stored) == len(BIOMETRIC_ITEMS)  # the articles stand
    assert stored == [(None, [])] * len(BIOMETRIC_ITEMS)  # untagged, and queued for tagging
    with session_scope(db.factory) as session:
        assert session.scalar(select(ArticleTopic.article_id).limit(1)) is None
