"""A model that cannot be loaded is a clear error, not a failed poll: the poll stores its
articles untagged, says so (on the CLI's progress line and in the log) and names the fix."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from aggregator.cli.main import app
from aggregator.ingest.parse_pool import uninstall_model
from aggregator.service import Database
from aggregator.settings import Settings
from models import Article, ArticleTopic, ClassifierModel, session_scope
from tests.aggregator.helpers import add_sources
from tests.conftest import run_poll
from tests.fixtures.feeds import BIOMETRIC_ITEMS, rss


class _PickledObject:
    """What a model row written by an older version (or tampered with) may hold."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("a model row ran code",))


UNREADABLE_BLOBS = {
    "garbage": b"this is not a model",
    "pickle": pickle.dumps(_PickledObject()),
    "empty": b"",
}


@pytest.fixture
def warnings_logged() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.WARNING)
    logger = logging.getLogger("biowire")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def _spoil_the_active_model(db: Database, blob: bytes) -> None:
    uninstall_model()  # this process may hold the real one from an earlier test
    with session_scope(db.factory) as session:
        session.execute(update(ClassifierModel).values(blob=blob))


def _counts(db: Database) -> tuple[int, int, int]:
    with session_scope(db.factory) as session:
        articles = session.scalar(select(func.count()).select_from(Article)) or 0
        tags = session.scalar(select(func.count()).select_from(ArticleTopic)) or 0
        models = session.scalar(select(func.count()).select_from(ClassifierModel)) or 0
    return articles, tags, models


@pytest.mark.parametrize("blob", list(UNREADABLE_BLOBS.values()), ids=list(UNREADABLE_BLOBS))
def test_a_poll_with_an_unreadable_model_stores_its_articles_untagged_and_says_why(
    httpserver: HTTPServer,
    settings: Settings,
    db: Database,
    warnings_logged: list[logging.LogRecord],
    capsys: pytest.CaptureFixture[str],
    blob: bytes,
) -> None:
    httpserver.expect_request("/feed").respond_with_data(rss(BIOMETRIC_ITEMS))
    add_sources(db, httpserver.url_for("/feed"))
    _spoil_the_active_model(db, blob)

    summary = run_poll(settings, db)

    assert summary.errors == 0 and summary.new_articles == len(BIOMETRIC_ITEMS)
    assert summary.untagged_reason is not None and "biowire train" in summary.untagged_reason
    assert _counts(db) == (len(BIOMETRIC_ITEMS), 0, 1)
    assert any("biowire train" in record.getMessage() for record in warnings_logged)
    assert "a model row ran code" not in capsys.readouterr().out


def test_the_poll_command_names_the_fix_on_its_progress_line(
    httpserver: HTTPServer, settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/feed").respond_with_data(rss(BIOMETRIC_ITEMS))
    add_sources(db, httpserver.url_for("/feed"))
    _spoil_the_active_model(db, UNREADABLE_BLOBS["garbage"])
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BIOWIRE_ALLOW_PRIVATE_NETWORKS", "1")

    result = CliRunner().invoke(app, ["poll", "--all", "--no-classify"])

    assert result.exit_code == 0, result.output
    assert "untagged" in result.output and "biowire train" in result.output
    assert f"{len(BIOMETRIC_ITEMS)} new articles" in result.output
