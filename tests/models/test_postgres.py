"""The same pipeline on PostgreSQL: migrate, poll real HTTP feeds, tag, query, serve.

Runs against the server at BIOWIRE_TEST_POSTGRES_URL (default: the local one, trust auth)
in a database made for the run and dropped after it. When no server answers, the tests
skip, or fail where BIOWIRE_TEST_REQUIRE_POSTGRES=1 says one must (CI: `.ci/run`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import create_engine, func, inspect, select

from aggregator.classify.corrections import set_topics
from aggregator.database import downgrade_database, require_current_schema, upgrade_database
from aggregator.demo import SampleServer
from aggregator.errors import SchemaOutOfDate
from aggregator.ingest.sources import add_source
from aggregator.service import Database, classify_new, open_database
from aggregator.settings import Settings
from models import Article, ArticleSource, Base, Source, session_scope
from models.queries import ArticleFilter, list_articles, topics_with_counts
from tests.conftest import run_poll
from tests.fixtures.postgres import scratch_database


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture
def own_postgres_url() -> Iterator[str]:
    """A database of the test's own, for a test that changes the schema: the module's one
    is the pipeline test's, which may run before or after it."""
    with scratch_database() as url:
        yield url


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return Settings(
        database_url=postgres_url, allow_private_networks=True, admin_token="test-token"
    )


@pytest.fixture(scope="module")
def samples() -> Iterator[SampleServer]:
    with SampleServer() as server:
        yield server


def test_pipeline_on_postgresql(
    settings: Settings, db: Database, samples: SampleServer, live_app: str
) -> None:
    with session_scope(db.factory) as session:
        for url in samples.feed_urls():
            add_source(session, url)
    first = run_poll(settings, db)
    assert first.errors == 0 and first.new_articles >= 75
    assert run_poll(settings, db).new_articles == 0  # no duplicates on a second poll
    classify_new(db)

    with session_scope(db.factory) as session:
        articles = session.scalar(select(func.count()).select_from(Article))
        links = session.scalar(select(func.count()).select_from(ArticleSource))
        assert links == articles + 1  # the cross-posted story: one article, two links
        counts = dict((t.slug, n) for t, n in topics_with_counts(session))
        assert all(n > 0 for n in counts.values()), counts
        found = list_articles(session, ArticleFilter(query="E-GATE"), limit=200)
        assert found and all("e-gate" in (a.title + a.text).lower() for a in found)
        first_id = list_articles(session, ArticleFilter(), limit=1)[0].id
        set_topics(session, first_id, ["digital-id"])

    with httpx.Client(base_url=live_app, timeout=10) as client:
        assert client.get("/").status_code == 200
        article = client.get(f"/api/articles/{first_id}").json()
        assert [(t["slug"], t["origin"]) for t in article["topics"]] == [("digital-id", "editor")]
        assert client.get("/topics/border-control.rss").status_code == 200


def test_migrations_go_down_and_up_again(own_postgres_url: str) -> None:
    engine = create_engine(own_postgres_url)
    try:
        downgrade_database(own_postgres_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        with pytest.raises(SchemaOutOfDate, match="has no Biowire schema"):
            require_current_schema(engine)

        upgrade_database(own_postgres_url)
        assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
        require_current_schema(engine)
    finally:
        engine.dispose()

    # And the schema it made holds what the code writes.
    database = open_database(Settings(database_url=own_postgres_url))
    try:
        with session_scope(database.factory) as session:
            add_source(session, "https://news.example.org/feed")
            session.add(Article(
                dedup_key="https://news.example.org/gates", url="https://news.example.org/gates",
                title="Border agency adds face-matching e-gates", text="Twelve new gates.",
                content_hash="0" * 64, published_at=datetime.now(UTC),
            ))  # fmt: skip
        with session_scope(database.factory) as session:
            assert list(session.scalars(select(Source.url))) == ["https://news.example.org/feed"]
            found = list_articles(session, ArticleFilter(query="e-gates"))
            assert [a.title for a in found] == ["Border agency adds face-matching e-gates"]
            assert len(topics_with_counts(session)) == 13  # the taxonomy, synced on opening
    finally:
        database.close()
