"""Operating the poller from the command line: poll, see each source's state, re-enable,
give a source a new address, remove one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aggregator.classify.registry import active_model
from aggregator.cli.main import app
from aggregator.ingest.storage import SourceError
from aggregator.service import Database, open_database
from aggregator.settings import Settings
from models import (
    Article,
    ArticleSource,
    ArticleTopic,
    Source,
    TopicDailyCount,
    session_scope,
)
from tests.aggregator.helpers import add_sources, source_state
from tests.fixtures.feeds import BIOMETRIC_ITEMS, Item, earlier_today, rss
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


# Giving a source a new address, and removing one.

SHARED = Item(
    "Border agency extends e-gates to land crossings",
    "https://news.example.org/land-crossings",
    published=earlier_today(4),
)


def _links(db: Database) -> dict[str, set[int]]:
    """Each article's URL, and the sources that carry it."""
    with session_scope(db.factory) as session:
        carried: dict[str, set[int]] = {}
        for url, source_id in session.execute(
            select(Article.url, ArticleSource.source_id).outerjoin(ArticleSource)
        ):
            carried.setdefault(url, set()).update({source_id} - {None})
        return carried


def _counts_match_tags(db: Database) -> bool:
    """The kept per-day topic counts still equal a count of the tags themselves."""
    kept_per_topic = select(TopicDailyCount.topic_id, func.sum(TopicDailyCount.articles))
    tags_per_topic = select(ArticleTopic.topic_id, func.count())
    with session_scope(db.factory) as session:
        kept = dict(session.execute(kept_per_topic.group_by(TopicDailyCount.topic_id)).all())
        tagged = dict(session.execute(tags_per_topic.group_by(ArticleTopic.topic_id)).all())
    return {topic: n for topic, n in kept.items() if n} == tagged


@pytest.fixture
def two_feeds(
    monkeypatch: pytest.MonkeyPatch, database_url: str, db: Database, server: LoopbackServer
) -> tuple[int, int]:
    """Two polled sources: the first carries three stories of its own and one that the
    second carries too."""
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    monkeypatch.setenv("BIOWIRE_ALLOW_PRIVATE_NETWORKS", "1")
    server.routes["/first"] = serve(rss([*BIOMETRIC_ITEMS, SHARED]))
    server.routes["/second"] = serve(rss([SHARED], title="Second"))
    first, second = add_sources(db, server.url("/first"), server.url("/second"))
    polled = CliRunner().invoke(app, ["poll", "--all"])
    assert polled.exit_code == 0, polled.output
    return first, second


def test_set_url_moves_a_failing_source_and_polls_it_afresh(
    monkeypatch: pytest.MonkeyPatch, database_url: str, db: Database, server: LoopbackServer
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    monkeypatch.setenv("BIOWIRE_ALLOW_PRIVATE_NETWORKS", "1")
    [gone] = add_sources(db, server.url("/gone"))
    runner = CliRunner()
    assert runner.invoke(app, ["poll", "--all", "--no-classify"]).exit_code == 0
    assert source_state(db, gone).disabled_at is not None  # 410: disabled at once

    moved = runner.invoke(app, ["sources", "set-url", str(gone), server.url("/feed") + "#top"])
    assert moved.exit_code == 0, moved.output
    said = " ".join(moved.output.split())
    old, new = server.url("/gone"), server.url("/feed")
    assert said == f"#{gone} moved from {old} to {new}: polled at the next run"
    state = source_state(db, gone)
    assert state.url == server.url("/feed")  # checked and made canonical as `add` does
    assert (state.disabled_at, state.disabled_reason, state.last_error) == (None, None, None)
    assert (state.consecutive_failures, state.last_polled_at, state.next_poll_at) == (0, None, None)

    polled = runner.invoke(app, ["poll", "--no-classify"])  # due: no --all needed
    assert polled.exit_code == 0, polled.output
    assert "3 new articles, 0 errors" in polled.output
    assert source_state(db, gone).last_status == 200


@pytest.mark.parametrize(
    ("new_url", "problem"),
    [("ftp://feeds.example/feed", "not an http(s) URL"), ("/feed", "already polls")],
    ids=["not-http", "another-sources-address"],
)
def test_set_url_refuses_an_address_it_cannot_use_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, database_url: str, db: Database, server: LoopbackServer,
    new_url: str, problem: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    taken, moving = add_sources(db, server.url("/feed"), server.url("/gone"))
    address = server.url(new_url) if new_url.startswith("/") else new_url
    refused = CliRunner().invoke(app, ["sources", "set-url", str(moving), address])
    assert refused.exit_code == 1
    assert isinstance(refused.exception, SourceError) and problem in str(refused.exception)
    assert source_state(db, moving).url == server.url("/gone")


def test_remove_deletes_the_articles_no_other_source_carried(
    db: Database, two_feeds: tuple[int, int]
) -> None:
    first, second = two_feeds
    runner = CliRunner()
    declined = runner.invoke(app, ["sources", "remove", str(first)], input="n\n")
    assert declined.exit_code == 1 and "nothing removed" in declined.output
    # Said before asking: what would go and what would stay.
    assert "carried 4 articles: 3 that no other source carried would be deleted, 1 that " \
           "another source carried too stay" in " ".join(declined.output.split())  # fmt: skip
    assert len(_links(db)) == 4

    removed = runner.invoke(app, ["sources", "remove", str(first)], input="y\n")
    assert removed.exit_code == 0, removed.output
    assert "3 articles deleted, 1 kept" in removed.output
    assert _links(db) == {SHARED.link: {second}}
    with session_scope(db.factory) as session:
        assert session.get(Source, first) is None
    assert _counts_match_tags(db)


def test_remove_can_keep_every_article(db: Database, two_feeds: tuple[int, int]) -> None:
    first, second = two_feeds
    kept = CliRunner().invoke(app, ["sources", "remove", str(first), "--keep-articles", "--yes"])
    assert kept.exit_code == 0, kept.output
    assert "0 articles deleted, 4 kept" in kept.output
    links = _links(db)
    assert len(links) == 4 and links[SHARED.link] == {second}
    assert [carried for url, carried in links.items() if url != SHARED.link] == [set()] * 3


def test_remove_of_no_such_source_is_an_error(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    missing = CliRunner().invoke(app, ["sources", "remove", "999", "--yes"])
    assert missing.exit_code == 1 and "no source with id 999" in str(missing.exception)
