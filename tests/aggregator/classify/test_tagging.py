"""Model versions in the database: training signals, activation and rollback, retagging,
and editors' corrections (which always win)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aggregator.classify.corrections import set_topics
from aggregator.classify.registry import (
    activate_model,
    active_model,
    load_classifier,
    train_model,
    training_examples,
)
from aggregator.classify.tagging import classify_pending, mark_for_retagging
from aggregator.classify.training import load_seed_examples
from aggregator.classify.types import SIGNAL_EDITOR, SIGNAL_PUBLISHER, SIGNAL_SEED, SIGNAL_SELF
from aggregator.cli.main import app
from aggregator.service import Database
from aggregator.taxonomy import default_taxonomy
from models import Article, ArticleTopic, ClassifierModel, Correction, session_scope


def add_article(db: Database, title: str, text: str, categories: list[str] | None = None,
                age: timedelta = timedelta(hours=2)) -> int:  # fmt: skip
    with session_scope(db.factory) as session:
        article = Article(
            dedup_key=f"https://news.example.org/{abs(hash(title))}", url=None, title=title,
            text=text, categories=categories or [], content_hash=str(abs(hash(text))),
            published_at=datetime.now(UTC) - age,
        )  # fmt: skip
        session.add(article)
        session.flush()
        return article.id


def tags(db: Database, article_id: int) -> dict[str, tuple[str, int | None]]:
    with session_scope(db.factory) as session:
        rows = session.scalars(select(ArticleTopic).where(ArticleTopic.article_id == article_id))
        return {t.topic.slug: (t.origin, t.model_id) for t in rows}


@pytest.fixture
def articles(db: Database) -> Iterator[tuple[int, int]]:
    tagged = add_article(
        db, "Airport rolls out face boarding at every gate",
        "Passengers at the terminal board with a face scan instead of a boarding pass.",
    )  # fmt: skip
    corrected = add_article(
        db, "Bank lets customers pay with a palm scan",
        "The lender's palm payment reader is live at supermarket tills.",
    )  # fmt: skip
    yield tagged, corrected


def test_the_seed_set_teaches_every_topic_and_what_is_none_of_them() -> None:
    examples = load_seed_examples()
    per_topic = Counter(label for example in examples for label in example.labels)
    assert set(per_topic) == {topic.slug for topic in default_taxonomy()}
    assert min(per_topic.values()) >= 60, per_topic.most_common()[-3:]
    hard_negatives = [example for example in examples if not example.labels]
    assert len(hard_negatives) >= len(examples) // 10
    titles = Counter(example.title.casefold() for example in examples)
    assert [title for title, count in titles.items() if count > 1] == []
    assert all(example.title and example.text for example in examples)


def test_training_signals_carry_their_provenance_and_corrections_win(db: Database) -> None:
    by_category = add_article(db, "Lounge access goes contactless", "A new pass for lounges.",
                              categories=["Airport Biometrics"])  # fmt: skip
    overridden = add_article(db, "Union opposes office cameras", "Staff object to cameras.",
                             categories=["Facial Recognition"])  # fmt: skip
    with session_scope(db.factory) as session:
        set_topics(session, overridden, ["privacy-regulation"])
        examples = training_examples(session, default_taxonomy())
        lounge = session.get_one(Article, by_category)
        lounge_text, lounge_categories = lounge.text, lounge.categories
    seed = len(load_seed_examples())
    assert [e.signal for e in examples[:seed]] == [SIGNAL_SEED] * seed
    # A list, not a set: the corrected article gives its correction only, not its
    # publisher's category as well.
    extra = [(e.title, e.text, e.labels, e.signal) for e in examples[seed:]]
    assert extra == [
        ("Lounge access goes contactless", lounge_text, ("airports-travel",), SIGNAL_PUBLISHER),
        ("Union opposes office cameras", "Staff object to cameras.", ("privacy-regulation",),
         SIGNAL_EDITOR),
    ]  # fmt: skip
    # The publisher's example is that article's own words, under its category's topic.
    assert (lounge_text, lounge_categories) == ("A new pass for lounges.", ["Airport Biometrics"])


def test_a_trained_model_is_a_versioned_record(db: Database) -> None:
    add_article(db, "Lounge access goes contactless", "A new pass.", categories=["airports"])
    with session_scope(db.factory) as session:
        first = active_model(session)
        assert first is not None
        model, report = train_model(session, default_taxonomy())
        assert model.id != first.id and model.is_active and not first.is_active
        assert model.training_counts == {
            SIGNAL_SEED: len(load_seed_examples()), SIGNAL_PUBLISHER: 1, SIGNAL_SELF: 0,
            SIGNAL_EDITOR: 0,
        }  # fmt: skip
        assert set(model.metrics) >= {"micro_f1", "macro_f1", "per_topic_f1", "train_seconds"}
        assert set(model.metrics["per_topic_f1"]) == set(model.thresholds) == set(model.topics)
        assert model.thresholds == report.thresholds
        # The seed set's hard negatives rightly have no topic: cross-validation keeps the
        # "at least one topic" fallback off for the shipped model.
        assert model.params["fallback"] is None
        actives = session.scalars(select(ClassifierModel).where(ClassifierModel.is_active))
        assert [m.id for m in actives] == [model.id]


def test_rollback_retags_recent_articles_but_never_editor_tags(
    db: Database, articles: tuple[int, int], monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    tagged, corrected = articles
    old = add_article(db, "Airport opens new face boarding lanes", "Passengers board faster.",
                      age=timedelta(days=90))  # fmt: skip
    with session_scope(db.factory) as session:
        first = active_model(session)
        assert first is not None
        classify_pending(session, first, load_classifier(first))
        set_topics(session, corrected, ["payments-finance", "devices-sensors"])
        # A second version; a copy of the first is enough to see which one tagged what.
        second = ClassifierModel(topics=first.topics, training_counts=first.training_counts,
                                 metrics=first.metrics, thresholds=first.thresholds,
                                 params=first.params, blob=first.blob)  # fmt: skip
        session.add(second)
        session.flush()
        first_id, second_id = first.id, second.id
        activate_model(session, second_id)
        mark_for_retagging(session, datetime.now(UTC) - timedelta(days=30))
        classify_pending(session, second, load_classifier(second))
    assert tags(db, tagged)["airports-travel"] == ("model", second_id)
    assert tags(db, old)["airports-travel"] == ("model", first_id)  # outside the window
    editor = {"payments-finance": ("editor", None), "devices-sensors": ("editor", None)}
    assert tags(db, corrected) == editor

    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["model", "activate", str(first_id)])
    assert result.exit_code == 0, result.output
    assert tags(db, tagged)["airports-travel"] == ("model", first_id)
    assert tags(db, corrected) == editor
    with session_scope(db.factory) as session:
        assert session.get(Article, tagged).classified_by_id == first_id  # type: ignore[union-attr]
        assert session.get(Article, corrected).classified_by_id == first_id  # type: ignore[union-attr]

    listing = CliRunner().invoke(app, ["model", "list"])
    assert listing.exit_code == 0, listing.output
    active_rows = [line.split() for line in listing.stdout.splitlines() if line.strip()[:1] == "*"]
    assert [row[1] for row in active_rows] == [str(first_id)]


def test_label_from_the_cli_is_a_correction(
    db: Database, articles: tuple[int, int], monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    tagged, _ = articles
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["label", str(tagged), "airports-travel", "border-control"])
    assert result.exit_code == 0, result.output
    assert tags(db, tagged) == {
        "airports-travel": ("editor", None), "border-control": ("editor", None),
    }  # fmt: skip
    with session_scope(db.factory) as session:
        [correction] = session.scalars(select(Correction).where(Correction.article_id == tagged))
        assert correction.topics == ["airports-travel", "border-control"]

    unknown = CliRunner().invoke(app, ["label", str(tagged), "weather"])
    assert unknown.exit_code != 0
    assert "weather" in str(unknown.exception)
