"""The poll's writer thread, against a real SQLite database: group commits (counted as
SQLAlchemy sees them), each kind of source update as one statement, a faulty write failing
alone, and the after-store hooks run on a group's new articles."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from aggregator.ingest.hooks import AfterStoreHook, StoredArticles
from aggregator.ingest.parse import parse_feed
from aggregator.ingest.results import Changed, Failed, RefreshResult, SourceSnapshot, Unchanged
from aggregator.ingest.schedule import PollPolicy, decide
from aggregator.ingest.storage import RefreshWrite, StoreResult
from aggregator.ingest.writer import Writer
from aggregator.service import Database
from models import Article, ArticleSource, Source, session_scope
from tests.aggregator.helpers import add_sources, source_state
from tests.fixtures.feeds import Item, recent, rss

NOW = datetime.now(UTC)


def _write(source_id: int, result: RefreshResult) -> RefreshWrite:
    source = SourceSnapshot(source_id, f"https://feed{source_id}.example/")
    return RefreshWrite(source, result, decide(result, source, PollPolicy(), NOW))


def _unchanged(source_id: int) -> RefreshWrite:
    return _write(source_id, Unchanged(304, f'"v{source_id}"', None))


def _changed(source_id: int, *titles: str) -> RefreshWrite:
    items = [
        Item(title, f"https://news.example/{source_id}/{n}", published=recent(n + 1))
        for n, title in enumerate(titles)
    ]
    feed = parse_feed(f"https://feed{source_id}.example/", rss(items))
    return _write(source_id, Changed(200, feed, None, None, f"hash-{source_id}"))


@pytest.fixture
def commits(db: Database) -> Iterator[list[int]]:
    """The number of transactions committed so far, one entry a commit."""
    seen: list[int] = []

    def count(_session: Session) -> None:
        seen.append(1)

    event.listen(db.factory, "after_commit", count)
    yield seen
    event.remove(db.factory, "after_commit", count)


async def _submit_all(
    db: Database,
    writes: Sequence[RefreshWrite],
    hooks: Sequence[AfterStoreHook] = (),
    linger: float = 0.2,
) -> list[StoreResult | None | BaseException]:
    writer = Writer(db.factory, asyncio.get_running_loop(), hooks, linger_seconds=linger)
    try:
        futures = [writer.submit(write) for write in writes]
        return await asyncio.gather(*futures, return_exceptions=True)
    finally:
        await asyncio.to_thread(writer.close)


def test_writes_submitted_together_commit_as_one_group(db: Database, commits: list[int]) -> None:
    ids = add_sources(db, *(f"https://s{n}.example/feed" for n in range(5)))
    commits.clear()
    results = asyncio.run(_submit_all(db, [_unchanged(id_) for id_ in ids]))
    assert results == [None] * 5
    assert len(commits) == 1
    assert [source_state(db, id_).etag for id_ in ids] == [f'"v{id_}"' for id_ in ids]


def test_each_kind_of_source_update_is_one_statement_a_group(db: Database) -> None:
    ids = add_sources(db, *(f"https://k{n}.example/feed" for n in range(6)))
    writes = [_unchanged(id_) for id_ in ids[:3]] + [
        _write(id_, Failed("HTTP 503 Service Unavailable", 503)) for id_ in ids[3:]
    ]
    updates: list[tuple[str, bool]] = []

    def record(_conn, _cursor, statement: str, _params, _context, executemany: bool) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE sources"):
            updates.append((statement, executemany))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert asyncio.run(_submit_all(db, writes)) == [None] * 6
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(updates) == 2 and all(many for _, many in updates)
    assert [source_state(db, id_).consecutive_failures for id_ in ids] == [0, 0, 0, 1, 1, 1]
    assert source_state(db, ids[4]).last_error == "HTTP 503 Service Unavailable"


def test_a_faulty_write_fails_alone_and_its_group_still_commits(
    db: Database, commits: list[int]
) -> None:
    first, second = add_sources(db, "https://a.example/feed", "https://b.example/feed")
    commits.clear()
    # A source that does not exist: its article's link breaks a foreign key, so the group
    # fails and is replayed a write at a time.
    missing = 10_000
    writes = [_changed(first, "First story"), _changed(missing, "Orphan"), _unchanged(second)]
    results = asyncio.run(_submit_all(db, writes))
    assert isinstance(results[0], StoreResult) and results[0].new == 1
    assert isinstance(results[1], Exception)
    assert results[2] is None
    assert len(commits) == 2  # the two good writes, each alone after the group failed
    with session_scope(db.factory) as session:
        titles = session.scalars(select(Article.title).order_by(Article.id)).all()
    assert titles == ["First story"]
    assert source_state(db, second).etag == f'"v{second}"'


def test_hooks_see_each_groups_new_articles_in_order(db: Database) -> None:
    first, second = add_sources(db, "https://h1.example/feed", "https://h2.example/feed")
    seen: list[tuple[str, list[str]]] = []

    def hook(name: str) -> AfterStoreHook:
        def run(session: Session, articles: StoredArticles) -> None:
            titles = [session.get_one(Article, id_).title for id_ in articles.ids]
            assert titles == [document.title for document in articles.documents]
            seen.append((name, titles))

        return run

    writes = [_changed(first, "One", "Two"), _unchanged(second), _changed(second, "Three")]
    asyncio.run(_submit_all(db, writes, hooks=[hook("first"), hook("second")]))
    assert [name for name, _ in seen] == ["first", "second"]
    assert all(sorted(titles) == ["One", "Three", "Two"] for _, titles in seen)


def test_a_failing_hook_costs_the_group_nothing_but_its_own_writes(db: Database) -> None:
    first, second = add_sources(db, "https://f1.example/feed", "https://f2.example/feed")

    def half_done_then_failed(session: Session, articles: StoredArticles) -> None:
        session.get_one(Source, second).title = "written by the hook, then rolled back"
        session.flush()
        raise RuntimeError("the hook failed")

    after: list[int] = []

    def later_hook(_session: Session, articles: StoredArticles) -> None:
        after.extend(articles.ids)

    results = asyncio.run(
        _submit_all(db, [_changed(first, "Kept")], hooks=[half_done_then_failed, later_hook])
    )
    assert isinstance(results[0], StoreResult) and results[0].new == 1
    assert after == results[0].new_article_ids  # the next hook still ran
    assert source_state(db, second).title != "written by the hook, then rolled back"
    with session_scope(db.factory) as session:
        linked = session.scalar(
            select(func.count()).select_from(ArticleSource).where(ArticleSource.source_id == first)
        )
    assert linked == 1


def test_a_closed_writer_has_answered_every_write(db: Database) -> None:
    [source_id] = add_sources(db, "https://c.example/feed")

    async def submit_then_close() -> asyncio.Future[StoreResult | None]:
        writer = Writer(db.factory, asyncio.get_running_loop())
        future = writer.submit(_unchanged(source_id))
        writer.close()  # waits for the thread: the write is committed by now
        await asyncio.sleep(0)  # the answer arrives through the loop
        return future

    future = asyncio.run(submit_then_close())
    assert future.done() and future.exception() is None
    assert source_state(db, source_id).etag == f'"v{source_id}"'


@pytest.mark.parametrize("linger", [0.0, 0.05])
def test_writes_are_answered_whatever_the_linger(db: Database, linger: float) -> None:
    [source_id] = add_sources(db, "https://d.example/feed")

    async def one() -> None:
        writer = Writer(db.factory, asyncio.get_running_loop(), linger_seconds=linger)
        try:
            await asyncio.wait_for(writer.submit(_unchanged(source_id)), timeout=10)
        finally:
            writer.close()

    asyncio.run(one())
    assert source_state(db, source_id).etag == f'"v{source_id}"'
