"""One cache of loaded models a process: the registry, the parse workers and the poller's
writer all read it, a model is loaded once per id and blob, and a model that cannot be
loaded is its `ClassifierError`, never another model's classifier."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from aggregator.classify import model_cache
from aggregator.classify.evaluation import read_rows
from aggregator.classify.model import Classifier
from aggregator.classify.registry import (
    active_model,
    classifier_or_error,
    ensure_model,
    load_classifier,
)
from aggregator.classify.training import train
from aggregator.classify.types import Example
from aggregator.errors import ClassifierError
from aggregator.ingest import parse_pool
from aggregator.service import Database
from aggregator.taxonomy import default_taxonomy
from models import ClassifierModel, session_scope
from tests.fixtures.feeds import BIOMETRIC_ITEMS, rss

SMALL = Path(__file__).resolve().parents[2] / "fixtures" / "classifier-small.jsonl"
TOPICS = ["airports-travel", "payments-finance", "research-standards"]
UNLOADABLE = b"not a model"


@pytest.fixture(scope="module")
def blobs() -> tuple[bytes, bytes]:
    """Two models' blobs: one trained on the fixture, one trained without its last topic."""
    rows = [r for r in read_rows(SMALL) if r.split == "train"]
    examples = [Example(r.title, r.text, r.labels) for r in rows]
    first, _ = train(examples, TOPICS)
    second, _ = train(examples, TOPICS[:2])
    return first.to_bytes(), second.to_bytes()


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    model_cache.clear()
    yield
    model_cache.clear()


@pytest.fixture
def biowire_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="biowire"):
        yield caplog


def test_a_model_is_loaded_once_per_id_and_blob(blobs: tuple[bytes, bytes]) -> None:
    first, second = blobs
    loaded = model_cache.load(1, first)
    assert model_cache.load(1, bytes(first)) is loaded  # an equal blob, not the same object
    assert model_cache.held(1) is loaded
    assert parse_pool.installed_classifier(1) is loaded
    # Ids are only unique within one database: another blob under id 1 is another model.
    other = model_cache.load(1, second)
    assert other is not loaded and other.topics == TOPICS[:2]
    assert model_cache.held(1) is other
    assert model_cache.load(2, first) is not loaded
    assert model_cache.held(3) is None and parse_pool.installed_classifier(3) is None


def test_the_least_recently_used_model_is_let_go(blobs: tuple[bytes, bytes]) -> None:
    first, _ = blobs
    for model_id in range(1, model_cache.CAPACITY + 2):
        model_cache.load(model_id, first)
    assert model_cache.held(1) is None
    assert isinstance(model_cache.held(2), Classifier)


def test_a_blob_that_cannot_be_loaded_is_its_error_not_an_earlier_blobs_model(
    blobs: tuple[bytes, bytes],
) -> None:
    first, _ = blobs
    model_cache.load(7, first)
    outcome = model_cache.load_outcome(7, UNLOADABLE)
    assert isinstance(outcome, ClassifierError)
    assert str(outcome) == (
        "model 7 cannot be loaded (it is not a model archive): run `biowire train`"
    )
    assert str(model_cache.held(7)) == str(outcome)
    assert parse_pool.installed_classifier(7) is None
    with pytest.raises(ClassifierError, match="^model 7 cannot be loaded"):
        model_cache.load(7, UNLOADABLE)


@pytest.mark.parametrize("loadable", [True, False], ids=["loadable", "unloadable"])
def test_the_registry_gives_a_classifier_or_a_classifier_error(
    blobs: tuple[bytes, bytes], loadable: bool
) -> None:
    model = ClassifierModel(id=11, blob=blobs[0] if loadable else UNLOADABLE)
    outcome = classifier_or_error(model)
    if loadable:
        assert isinstance(outcome, Classifier)
        assert load_classifier(model) is outcome is parse_pool.installed_classifier(11)
    else:
        assert isinstance(outcome, ClassifierError)
        assert "model 11 cannot be loaded" in str(outcome)
        with pytest.raises(ClassifierError, match="run `biowire train`"):
            load_classifier(model)


def test_a_parse_worker_that_cannot_load_the_model_logs_it_and_tags_nothing(
    blobs: tuple[bytes, bytes], biowire_logs: pytest.LogCaptureFixture
) -> None:
    parse_pool.install_model(5, blobs[0])
    tagged = parse_pool.prepare_feed("https://feeds.example/a", rss(BIOMETRIC_ITEMS), None, 5)
    assert tagged.model_id == 5 and tagged.tags is not None

    parse_pool.install_model(5, UNLOADABLE)

    untagged = parse_pool.prepare_feed("https://feeds.example/a", rss(BIOMETRIC_ITEMS), None, 5)
    assert untagged.tags is None and untagged.model_id is None
    assert len(untagged.feed.entries) == len(BIOMETRIC_ITEMS)
    [warning] = [r for r in biowire_logs.records if r.levelno == logging.WARNING]
    assert warning.name == "biowire.parse_pool"
    assert "model 5 cannot be loaded" in warning.getMessage()
    assert "run `biowire train`" in warning.getMessage()


def test_ensure_model_trains_in_place_of_an_active_model_it_cannot_load(
    db: Database, biowire_logs: pytest.LogCaptureFixture
) -> None:
    with session_scope(db.factory) as session:
        broken = active_model(session)
        assert broken is not None
        session.execute(
            update(ClassifierModel).where(ClassifierModel.id == broken.id).values(blob=UNLOADABLE)
        )
    with session_scope(db.factory) as session:
        model, classifier = ensure_model(session, default_taxonomy())
        assert model.id != broken.id and model.is_active
        assert classifier.topics == [t.slug for t in default_taxonomy()]
        assert session.scalar(select(func.count()).select_from(ClassifierModel)) == 2
    [warning] = [r for r in biowire_logs.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith(f"model {broken.id} cannot be loaded (")
    assert "training a new model now" in warning.getMessage()
