"""The same pipeline on PostgreSQL: migrate, poll real HTTP feeds, tag, query, serve.

Runs against the server at BIOWIRE_TEST_POSTGRES_URL (default: the local one, trust auth)
in a database made for the run and dropped after it; skips when no server answers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from aggregator.classify.corrections import set_topics
from aggregator.database import downgrade_database, upgrade_database
from aggregator.demo import SampleServer
from aggregator.ingest.sources import add_source
from aggregator.service import Database, classify_new
from aggregator.settings import Settings
from models import Article, ArticleSource, session_scope
from models.queries import ArticleFilter, list_articles, topics_with_counts
from tests.conftest import run_poll

ADMIN_URL = os.environ.get(
    "BIOWIRE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(
        ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    try:
        import psycopg  # noqa: F401

        admin = _admin_engine()
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # no driver or no server: nothing to test against
        pytest.skip(f"no PostgreSQL at {ADMIN_URL}: {error}")
    name = f"biowire_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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


def test_migrations_go_down_and_up_again(postgres_url: str) -> None:
    downgrade_database(postgres_url, "base")
    upgrade_database(postgres_url)
