"""The poll's writer thread, against a real SQLite database: group commits, a faulty write
failing alone, rows of a shared statement run together."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from aggregator.ingest.writer import RowWrite, Writer, apply_write, defer_row
from aggregator.service import Database
from models import Source
from tests.aggregator.helpers import add_sources, source_state

_SOURCES = Source.__table__
_RENAME = (
    update(_SOURCES).where(_SOURCES.c.id == bindparam("p_id")).values(title=bindparam("p_title"))
)


def _retitle(source_id: int, title: str):  # type: ignore[no-untyped-def]
    def write(session: Session, _now: datetime) -> None:
        session.get_one(Source, source_id).title = title

    return write


def _fail(session: Session, _now: datetime) -> None:
    raise RuntimeError("this write is faulty")


async def _submit_all(db: Database, writes: list) -> list:  # type: ignore[type-arg]
    writer = Writer(db.factory, asyncio.get_running_loop(), linger_seconds=0.2)
    try:
        futures = [writer.submit(write) for write in writes]
        return await asyncio.gather(*futures, return_exceptions=True)
    finally:
        writer.close()


def test_a_faulty_write_fails_alone_and_its_group_still_commits(db: Database) -> None:
    first, second = add_sources(db, "https://a.example/feed", "https://b.example/feed")
    # Submitted together, within the linger: one group, replayed a write at a time.
    results = asyncio.run(
        _submit_all(db, [_retitle(first, "First"), _fail, _retitle(second, "Second")])
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RuntimeError)
    assert source_state(db, first).title == "First"
    assert source_state(db, second).title == "Second"


def test_rows_of_a_shared_statement_are_written_together(db: Database) -> None:
    ids = add_sources(db, *(f"https://s{n}.example/feed" for n in range(5)))
    rows = [RowWrite(_RENAME, {"p_id": id_, "p_title": f"Source {id_}"}) for id_ in ids]
    assert asyncio.run(_submit_all(db, rows)) == [None] * 5
    assert [source_state(db, id_).title for id_ in ids] == [f"Source {id_}" for id_ in ids]


def _retitle_later(source_id: int, title: str):  # type: ignore[no-untyped-def]
    def write(session: Session, _now: datetime) -> None:
        defer_row(session, _RENAME, {"p_id": source_id, "p_title": title})

    return write


def test_deferred_rows_are_written_with_their_group(db: Database) -> None:
    ids = add_sources(db, *(f"https://r{n}.example/feed" for n in range(3)))
    writes = [_retitle_later(id_, f"Later {id_}") for id_ in ids]
    assert asyncio.run(_submit_all(db, writes)) == [None] * 3
    assert [source_state(db, id_).title for id_ in ids] == [f"Later {id_}" for id_ in ids]


def test_a_write_whose_deferred_row_fails_fails_alone(db: Database) -> None:
    first, second = add_sources(db, "https://e.example/feed", "https://f.example/feed")

    # The faulty row lacks one of the statement's parameters; the group's executemany fails.
    def faulty(session: Session, _now: datetime) -> None:
        defer_row(session, _RENAME, {"p_id": second})

    untouched = source_state(db, second).title
    results = asyncio.run(_submit_all(db, [_retitle_later(first, "Kept"), faulty]))
    assert results[0] is None and isinstance(results[1], Exception)
    assert source_state(db, first).title == "Kept"
    assert source_state(db, second).title == untouched


def test_a_write_applied_alone_runs_its_deferred_rows(db: Database) -> None:
    [source_id] = add_sources(db, "https://g.example/feed")
    with db.factory.begin() as session:
        apply_write(session, _retitle_later(source_id, "Alone"), datetime.now())
    assert source_state(db, source_id).title == "Alone"


def test_a_closed_writer_has_answered_every_write(db: Database) -> None:
    [source_id] = add_sources(db, "https://c.example/feed")

    async def submit_then_close() -> asyncio.Future[None]:
        writer = Writer(db.factory, asyncio.get_running_loop())
        future = writer.submit(_retitle(source_id, "Closed"))
        writer.close()  # waits for the thread: the write is committed by now
        await asyncio.sleep(0)  # the answer arrives through the loop
        return future

    future = asyncio.run(submit_then_close())
    assert future.done() and future.exception() is None
    assert source_state(db, source_id).title == "Closed"


@pytest.mark.parametrize("linger", [0.0, 0.05])
def test_writes_are_answered_whatever_the_linger(db: Database, linger: float) -> None:
    [source_id] = add_sources(db, "https://d.example/feed")

    async def one() -> None:
        writer = Writer(db.factory, asyncio.get_running_loop(), linger_seconds=linger)
        try:
            await asyncio.wait_for(writer.submit(_retitle(source_id, "Lingered")), timeout=10)
        finally:
            writer.close()

    asyncio.run(one())
    assert source_state(db, source_id).title == "Lingered"


def test_work_before_a_groups_commit_that_fails_costs_the_group_nothing(
    db: Database,
) -> None:
    [first, second] = add_sources(db, "https://a.example/feed", "https://b.example/feed")

    def half_done_then_failed(session: Session) -> None:
        with session.begin_nested():  # as a hook that writes does
            session.get_one(Source, second).title = "written by the hook, then rolled back"
            session.flush()
            raise RuntimeError("the hook failed")

    async def run() -> None:
        writer = Writer(db.factory, asyncio.get_running_loop(), before_commit=half_done_then_failed)
        try:
            await writer.submit(_retitle(first, "stored"))
        finally:
            await asyncio.to_thread(writer.close)

    asyncio.run(run())
    assert source_state(db, first).title == "stored"
    assert source_state(db, second).title != "written by the hook, then rolled back"
