"""The search index follows the articles: on SQLite the triggers of the FTS5 table, fired
by the ORM's statements and by the poll's bulk inserts and updates (the driver's own
`executemany` too); on PostgreSQL the generated column."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session
from werkzeug import Request, Response

from aggregator.service import Database
from aggregator.settings import Settings
from models import Article, make_engine, session_scope
from models.queries import ArticleFilter, list_articles
from tests.aggregator.helpers import add_sources
from tests.conftest import both_paths, run_poll
from tests.fixtures.feeds import Item, recent, rss
from tests.fixtures.postgres import scratch_database


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> str:
    fixture = "database_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


def found(session: Session, q: str) -> list[str]:
    return [a.title for a in list_articles(session, ArticleFilter(query=q))]


def assert_index_matches_the_articles(session: Session) -> None:
    """On SQLite, FTS5's own check of the index against its content table."""
    if session.get_bind().dialect.name == "sqlite":
        check = "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)"
        session.execute(text(check))


def test_inserts_updates_and_deletes_reach_the_index(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        article = Article(
            dedup_key="https://news.example.org/kiosks", title="Airport kiosks",
            text="Self-service kiosks at check-in.", content_hash="0" * 64,
            published_at=datetime(2026, 3, 2, tzinfo=UTC),
        )  # fmt: skip
        session.add(article)
        session.flush()
        assert found(session, "kiosks") == ["Airport kiosks"]

        # An update of the title or the text: the old words go, the new ones come.
        article.title, article.text = "Station gates", "Turnstiles read faces."
        session.flush()
        assert found(session, "kiosks") == []
        assert found(session, "turnstiles") == ["Station gates"]
        # An update of anything else leaves the index as it was.
        session.execute(update(Article).values(url="https://news.example.org/gates"))
        assert found(session, "turnstiles") == ["Station gates"]
        assert_index_matches_the_articles(session)

        session.execute(delete(Article))
        assert found(session, "turnstiles") == []
        assert_index_matches_the_articles(session)
        session.close()
        transaction.rollback()
    engine.dispose()


@both_paths
def test_a_poll_indexes_new_and_edited_articles(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    first = [
        Item("Airport trials e-gates", "https://example.org/a", guid="a",
             summary="Passengers board with a selfie.", published=recent(3)),
        Item("Regulator fines retailer", "https://example.org/b", guid="b",
             summary="Fingerprint time clocks were unlawful.", published=recent(2)),
    ]  # fmt: skip
    edited = [
        first[0],
        Item("Regulator fines retailer again", "https://example.org/b", guid="b",
             summary="Palm scanners this time.", published=recent(2)),
    ]  # fmt: skip
    bodies = iter([rss(first), rss(edited)])

    def serve(request: Request) -> Response:
        return Response(next(bodies), content_type="application/rss+xml")

    httpserver.expect_request("/feed").respond_with_handler(serve)
    add_sources(db, httpserver.url_for("/feed"))

    assert run_poll(settings, db).new_articles == 2
    with session_scope(db.factory) as session:
        assert found(session, "selfie") == ["Airport trials e-gates"]
        assert found(session, "fingerprint") == ["Regulator fines retailer"]
        assert_index_matches_the_articles(session)

    run_poll(settings, db)
    with session_scope(db.factory) as session:
        assert found(session, "fingerprint") == []
        assert found(session, "palm scanners") == ["Regulator fines retailer again"]
        assert found(session, "e-gates") == ["Airport trials e-gates"]
        assert_index_matches_the_articles(session)
