"""A model stored by the previous version, a pickle, still tags after `biowire db upgrade`:
the migration converts it into data, a poll tags with it, and a downgrade puts the pickle
back. On SQLite, and on PostgreSQL when one answers (as in `tests/models/test_postgres.py`).

The model is a real blob of Biowire 0.1.0, with that version's predictions beside it (see
`tests/fixtures/legacy/README.md`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import shlex
import sys
import types
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from aggregator import speedups
from aggregator.classify.model import Classifier
from aggregator.classify.types import Document
from aggregator.cli.main import app
from aggregator.database import alembic_config, downgrade_database, upgrade_database
from aggregator.errors import ClassifierError
from aggregator.service import classify_new, open_database
from aggregator.settings import Settings
from models import Article, ArticleTopic, ClassifierModel, make_engine, session_scope
from tests.aggregator.helpers import add_sources
from tests.conftest import run_poll
from tests.fixtures.feeds import BIOMETRIC_ITEMS, rss

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
PICKLED = (LEGACY / "model-pickled-v0.pickle").read_bytes()
EXPECTED = json.loads((LEGACY / "model-pickled-v0-predictions.json").read_text())
PREVIOUS = "20261128_2307_initial"
REVISION = "20261207_1600_models_as_data"
POSTGRES_ADMIN_URL = os.environ.get(
    "BIOWIRE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# The table as the previous revision made it, for rows written the way that version did.
_MODELS = sa.table(
    "classifier_models",
    sa.column("id", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("is_active", sa.Boolean()),
    sa.column("topics", sa.JSON()),
    sa.column("training_counts", sa.JSON()),
    sa.column("metrics", sa.JSON()),
    sa.column("thresholds", sa.JSON()),
    sa.column("params", sa.JSON()),
    sa.column("blob", sa.LargeBinary()),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a PostgreSQL database made for the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'legacy.db'}"
        return
    admin = sa.create_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # no driver or no server: nothing to test against
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {error}")
    name = f"biowire_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def insert_model(url: str, blob: bytes, active: bool = True) -> int:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            row = {
                "created_at": datetime.now(UTC), "is_active": active,
                "topics": EXPECTED["topics"], "training_counts": {"seed": 150},
                "metrics": {}, "thresholds": EXPECTED["thresholds"], "params": {},
                "blob": blob,
            }  # fmt: skip
            return int(
                connection.execute(
                    sa.insert(_MODELS).values(row).returning(_MODELS.c.id)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def stored_models(url: str) -> dict[int, dict[str, Any]]:
    """Every model row's blobs (and `legacy_blob` where the column exists), by id."""
    engine = make_engine(url)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("classifier_models")}
        wanted = [c for c in ("blob", "legacy_blob") if c in columns]
        query = sa.text(f"SELECT id, {', '.join(wanted)} FROM classifier_models ORDER BY id")
        with engine.connect() as connection:
            return {
                row.id: {name: _bytes(getattr(row, name)) for name in wanted}
                for row in connection.execute(query)
            }
    finally:
        engine.dispose()


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


@pytest.fixture
def legacy_database(database_url: str) -> tuple[str, int]:
    """A database at the previous revision whose active model is the previous version's
    pickle: its URL and the model's id."""
    upgrade_database(database_url, PREVIOUS)
    return database_url, insert_model(database_url, PICKLED)


def biowire(url: str, *args: str) -> None:
    """Run a `biowire` command against the database at `url`."""
    result = CliRunner().invoke(app, list(args), env={"BIOWIRE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output


def predictions(classifier: Classifier) -> list[list[list[Any]]]:
    """The classifier's tags for the fixture's documents, as the fixture writes them."""
    documents = [Document(p["title"], p["text"]) for p in EXPECTED["predictions"]]
    return [
        [[tag.slug, tag.score, list(tag.why)] for tag in tags]
        for tags in classifier.predict(documents)
    ]


@pytest.mark.parametrize("fast_paths", [True, False], ids=["fast-paths", "as-shipped"])
def test_the_upgrade_converts_a_pickled_model_that_then_tags_as_before(
    legacy_database: tuple[str, int], fast_paths: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, model_id = legacy_database
    monkeypatch.setattr(speedups, "_enabled", fast_paths)

    biowire(url, "db", "upgrade")

    [(stored_id, stored)] = stored_models(url).items()
    assert stored_id == model_id
    assert stored["legacy_blob"] == PICKLED
    assert stored["blob"] is not None and stored["blob"].startswith(b"PK")
    converted = Classifier.from_bytes(stored["blob"])
    assert converted.topics == EXPECTED["topics"]
    assert converted.thresholds == EXPECTED["thresholds"]
    assert sum(map(len, predictions(converted))) >= len(EXPECTED["predictions"])
    assert predictions(converted) == [p["tags"] for p in EXPECTED["predictions"]]


def test_a_poll_after_the_upgrade_tags_with_the_converted_model(
    legacy_database: tuple[str, int], httpserver: HTTPServer
) -> None:
    url, model_id = legacy_database
    biowire(url, "db", "upgrade")
    settings = Settings(database_url=url, allow_private_networks=True)
    db = open_database(settings)
    try:
        httpserver.expect_request("/feed").respond_with_data(
            rss(BIOMETRIC_ITEMS), content_type="application/rss+xml"
        )
        add_sources(db, httpserver.url_for("/feed"))

        summary = run_poll(settings, db)

        assert (summary.new_articles, summary.errors) == (3, 0)
        assert classify_new(db) == 0  # every article came tagged out of the poll
        converted = Classifier.from_bytes(stored_models(url)[model_id]["blob"] or b"")
        with session_scope(db.factory) as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(ClassifierModel)) == 1
            articles = list(session.scalars(sa.select(Article).order_by(Article.id)))
            assert {a.classified_by_id for a in articles} == {model_id}
            expected = converted.predict([Document(a.title, a.text) for a in articles])
            for article, tags in zip(articles, expected, strict=True):
                stored = session.scalars(
                    sa.select(ArticleTopic).where(ArticleTopic.article_id == article.id)
                ).all()
                assert {(t.topic.slug, t.score, tuple(t.why), t.model_id) for t in stored} == {
                    (tag.slug, tag.score, tag.why, model_id) for tag in tags
                }
            assert session.scalar(sa.select(sa.func.count()).select_from(ArticleTopic)) > 0
    finally:
        db.close()


def test_the_downgrade_restores_the_pickles_and_drops_what_the_old_version_cannot_read(
    legacy_database: tuple[str, int], httpserver: HTTPServer
) -> None:
    url, model_id = legacy_database
    biowire(url, "db", "upgrade")
    # A model stored since the upgrade, in the new format only.
    newer_id = insert_model(url, stored_models(url)[model_id]["blob"] or b"", active=False)
    settings = Settings(database_url=url, allow_private_networks=True)
    db = open_database(settings)
    try:
        httpserver.expect_request("/feed").respond_with_data(
            rss(BIOMETRIC_ITEMS), content_type="application/rss+xml"
        )
        add_sources(db, httpserver.url_for("/feed"))
        run_poll(settings, db)
    finally:
        db.close()

    biowire(url, "db", "downgrade", PREVIOUS)

    assert stored_models(url) == {model_id: {"blob": PICKLED}}
    assert newer_id != model_id
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            # The pickle's tags keep their model: the column went without copying the table.
            tagged_by = connection.execute(sa.text("SELECT DISTINCT model_id FROM article_topics"))
            assert [row.model_id for row in tagged_by] == [model_id]
            classified_by = connection.execute(sa.text("SELECT classified_by_id FROM articles"))
            assert {row.classified_by_id for row in classified_by} == {model_id}
    finally:
        engine.dispose()
    upgrade_database(url)  # and up again
    assert stored_models(url)[model_id]["legacy_blob"] == PICKLED


class _Exploit:
    """Unpickled, it would run a shell command that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


UNCONVERTIBLE = [
    ("runs-a-command", lambda marker: pickle.dumps(_Exploit(marker)), "names posix.system"),
    ("not-a-pickle", lambda marker: b"\x80\x05 not a pickle", "not a readable pickle"),
    ("no-features", lambda marker: pickle.dumps({"topics": ["a"]}), "lacks part of a model"),
]


@pytest.mark.parametrize(
    ("make", "reason"), [c[1:] for c in UNCONVERTIBLE], ids=[c[0] for c in UNCONVERTIBLE]
)
def test_a_model_that_cannot_be_converted_is_left_as_it_was_and_logged(
    legacy_database: tuple[str, int],
    tmp_path: Path,
    make: Any,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, converted_id = legacy_database
    marker = tmp_path / "ran"
    blob = make(marker)
    model_id = insert_model(url, blob, active=False)

    with caplog.at_level(logging.WARNING, logger="biowire"):
        upgrade_database(url)

    assert not marker.exists()
    stored = stored_models(url)
    assert stored[model_id] == {"blob": blob, "legacy_blob": None}
    assert stored[converted_id]["legacy_blob"] == PICKLED
    [warning] = [r.getMessage() for r in caplog.records if r.name == "biowire.migrations"]
    assert warning.startswith(f"model {model_id} is left as it was (it cannot be converted: ")
    assert reason in warning and "run `biowire train`" in warning
    with pytest.raises(ClassifierError, match=f"^model {model_id} cannot be loaded .*train`$"):
        Classifier.from_bytes(blob, f"model {model_id}")
    # The previous version can still try it: a downgrade keeps it.
    downgrade_database(url, PREVIOUS)
    assert stored_models(url) == {converted_id: {"blob": PICKLED}, model_id: {"blob": blob}}


def _fixture_pickled_again(protocol: int, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The fixture's model pickled again with `protocol`, under the class paths it names:
    as a version that pickled with another protocol would have stored it. (The fixture
    is ours, so this reads it with a plain unpickler.)"""
    legacy = types.ModuleType("aggregator.features")
    legacy.Features = type("Features", (), {"__module__": "aggregator.features"})  # type: ignore[attr-defined]
    legacy.Tfidf = type("Tfidf", (), {"__module__": "aggregator.features"})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aggregator.features", legacy)

    class Legacy(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if module == "aggregator.features":
                return getattr(legacy, name)
            return super().find_class(module, name)

    state = Legacy(io.BytesIO(PICKLED)).load()
    return pickle.dumps(state, protocol=protocol)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_model_pickled_with_any_protocol_converts(
    protocol: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = _fixture_pickled_again(protocol, monkeypatch)
    migration = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(REVISION)
    assert migration is not None

    converted = Classifier.from_bytes(migration.module.convert(blob))

    assert predictions(converted) == [p["tags"] for p in EXPECTED["predictions"]]
