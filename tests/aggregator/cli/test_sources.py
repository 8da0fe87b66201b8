"""Operating the poller from the command line: poll, see each source's state, re-enable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aggregator.classify.registry import active_model
from aggregator.cli.main import app
from aggregator.service import Database, open_database
from aggregator.settings import Settings
from models import Article, Source, session_scope
from tests.aggregator.helpers import add_sources, source_state
from tests.fixtures.feeds import BIOMETRIC_ITEMS, rss
from tests.fixtures.servers import LoopbackServer, serve, status


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        running.routes["/feed"] = serve(rss(BIOMETRIC_ITEMS))
        running.routes["/gone"] = status(410)
        yield running


def test_poll_then_list_then_enable(
    monkeypatch: pytest.MonkeyPatch, database_url: str, db: Database, server: LoopbackServer
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    monkeypatch.setenv("BIOWIRE_ALLOW_PRIVATE_NETWORKS", "1")
    good, gone = add_sources(db, server.url("/feed"), server.url("/gone"))
    runner = CliRunner()

    polled = runner.invoke(app, ["poll", "--all", "--no-classify"])
    assert polled.exit_code == 0, polled.output
    assert "2 sources polled" in polled.output and "3 new articles, 1 errors" in polled.output
    # One structured line per refresh: source, status, bytes, new articles, duration.
    [line] = [ln for ln in polled.output.splitlines() if "refreshed source" in ln and "/feed" in ln]
    for field in ("status=200", "new_articles=3", "duration_ms=", "bytes="):
        assert field in line

    listed = runner.invoke(app, ["sources", "list"], env={"COLUMNS": "300"})
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line for line in listed.output.splitlines() if line.strip()}
    assert " 200 " in rows[str(good)] and "Test feed" in rows[str(good)]
    assert " 410 " in rows[str(gone)]
    assert "disabled: the server says the feed is gone (HTTP 410)" in rows[str(gone)]
    failing = runner.invoke(app, ["sources", "list", "--failing"], env={"COLUMNS": "300"})
    assert failing.exit_code == 0, failing.output
    ids = {line.split()[0] for line in failing.output.splitlines()[1:] if line.strip()}
    assert ids == {str(gone)}

    enabled = runner.invoke(app, ["sources", "enable", str(gone)])
    assert enabled.exit_code == 0, enabled.output
    state = source_state(db, gone)
    assert state.disabled_at is None and state.consecutive_failures == 0


def test_sources_list_shows_titles_and_errors_as_text_not_markup(
    monkeypatch: pytest.MonkeyPatch, database_url: str, db: Database
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "250")
    [source_id] = add_sources(db, "https://odd.example/feed")
    with session_scope(db.factory) as session:
        source = session.get_one(Source, source_id)
        # Both come from outside: a feed's own title, a server's error text.
        source.title = "Weird [/] feed [bold]news"
        source.last_error = "could not connect [Errno 111] refused"
    listed = CliRunner().invoke(app, ["sources", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Weird [/] feed [bold]news" in listed.output
    assert "could not connect [Errno 111] refused" in listed.output


def test_sources_list_says_what_a_default_source_covers(
    monkeypatch: pytest.MonkeyPatch, database_url: str, db: Database
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    eff, other = "https://www.eff.org/rss/updates.xml", "https://elsewhere.example/feed"
    add_sources(db, eff, other)
    listed = CliRunner().invoke(app, ["sources", "list"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    # The note of the shipped OPML, shortened under the source's name; none for the other.
    assert "Electronic Frontier Foundation…" in listed.output
    assert len([line for line in listed.output.splitlines() if line.strip()]) == 4


def test_a_first_poll_trains_the_model_first_and_tags_as_it_parses(
    monkeypatch: pytest.MonkeyPatch, empty_database_url: str, server: LoopbackServer
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", empty_database_url)
    monkeypatch.setenv("BIOWIRE_ALLOW_PRIVATE_NETWORKS", "1")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["sources", "add", server.url("/feed")]).exit_code == 0

    polled = runner.invoke(app, ["poll", "--all"])
    assert polled.exit_code == 0, polled.output
    assert "training the first topic model on the seed set" in polled.output
    # Tagged by the parse workers during the poll: nothing was left for the pass after it.
    assert "3 new articles, 0 errors, 0 tagged" in polled.output
    db = open_database(Settings(database_url=empty_database_url))
    try:
        with session_scope(db.factory) as session:
            model = active_model(session)
            assert model is not None
            stored = session.scalars(select(Article.classified_by_id)).all()
        assert stored == [model.id] * 3
    finally:
        db.close()
