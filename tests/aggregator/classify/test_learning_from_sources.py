"""A deployment's own sources teach the next model: articles polled from a local feed give
publisher-category and self-training examples, weighted and recorded with the model; a
model they make worse on the seed set and corrections is kept inactive (unless forced);
editors' corrections win; and the server retrains on its schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update
from typer.testing import CliRunner

from aggregator.classify.corrections import set_topics
from aggregator.classify.registry import active_model, gather_training_set
from aggregator.classify.training import load_seed_examples
from aggregator.classify.types import (
    SIGNAL_EDITOR,
    SIGNAL_PUBLISHER,
    SIGNAL_SEED,
    SIGNAL_SELF,
)
from aggregator.cli.main import app
from aggregator.service import Database, poll_forever, retrain_if_due
from aggregator.settings import Settings
from aggregator.taxonomy import default_taxonomy
from models import Article, ClassifierModel, session_scope
from tests.aggregator.helpers import add_sources
from tests.conftest import run_poll
from tests.fixtures.feeds import Item, recent, rss

RSS_TYPE = "application/rss+xml"

# Invented stories. Those with a publisher's category (mapped to a topic in taxonomy.toml)
# are publisher-category examples; those without, plainly about one topic, are what the
# active model tags with confidence.
CATEGORISED = [
    ("Terminal two opens self-service bag drop with face matching",
     "Travellers at the airport drop their bags and board after one face scan at check-in.",
     "Airports"),
    ("Supermarket chain lets shoppers pay with a palm scan at the till",
     "The retailer's biometric payment terminals link a palm template to a bank card.",
     "Payments"),
    ("Coast guard adds fingerprint checks for crews at the harbour border post",
     "Immigration officers now verify seafarers' fingerprints against the visa database.",
     "Border Control"),
    ("Ministry opens tender for national ID card personalisation",
     "The procurement covers card printing and enrolment kits; bids close next month.",
     "Tenders"),
]  # fmt: skip
UNCATEGORISED = [
    ("Airport rolls out biometric boarding gates for every departing flight",
     "Passengers at the airport board with a face scan instead of a boarding pass at all "
     "gates of the terminal, the airline and the airport operator said."),
    ("Airline extends face boarding to lounges and gates at its hub airport",
     "Travellers enrolled in the airline's app walk through the boarding gate after a face "
     "match; the airport plans the same for bag drop."),
    ("Bank launches palm payments for customers at cafes and shops",
     "Cardholders pay with a palm scan linked to their bank account at payment terminals; "
     "the bank says fraud on biometric payments is lower than on cards."),
    ("Police force buys live facial recognition vans for city centre patrols",
     "Officers will scan crowds against a watchlist of wanted suspects; the police force "
     "said every match is reviewed by an officer before any arrest."),
]  # fmt: skip


def story_items(prefix: str) -> list[Item]:
    items = [
        Item(title, f"https://news.example.org/{prefix}/c{n}", summary=text,
             published=recent(2 + n), categories=(category,))
        for n, (title, text, category) in enumerate(CATEGORISED)
    ]  # fmt: skip
    items += [
        Item(title, f"https://news.example.org/{prefix}/u{n}", summary=text,
             published=recent(10 + n))
        for n, (title, text) in enumerate(UNCATEGORISED)
    ]  # fmt: skip
    return items


def serve(httpserver: HTTPServer, db: Database, items: list[Item]) -> None:
    httpserver.expect_request("/feed").respond_with_data(rss(items), content_type=RSS_TYPE)
    add_sources(db, httpserver.url_for("/feed"))


def mislabelled_items(count: int) -> list[Item]:
    """Seed stories republished under a category that maps to a topic they are not about:
    a publisher whose categories contradict the seed set."""
    taxonomy = default_taxonomy()
    items = []
    for n, example in enumerate(e for e in load_seed_examples() if e.labels):
        if len(items) == count:
            break
        wrong = next(
            t for t in taxonomy[n % len(taxonomy) :] + taxonomy if t.slug not in example.labels
        )
        items.append(
            Item(example.title, f"https://wrong.example.org/{n}", summary=example.text,
                 published=recent(1 + n / 100), categories=(wrong.publisher_categories[0],))
        )  # fmt: skip
    return items


def models(db: Database) -> list[ClassifierModel]:
    with session_scope(db.factory) as session:
        return list(session.scalars(select(ClassifierModel).order_by(ClassifierModel.id)))


def biowire(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def cli_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)


def test_training_learns_from_the_sources_publisher_categories_and_confident_tags(
    httpserver: HTTPServer, settings: Settings, db: Database, cli_database: None
) -> None:
    [shipped] = models(db)
    serve(httpserver, db, story_items("a"))
    run_poll(settings, db)

    output = biowire("train")

    shipped_after, new = models(db)
    assert new.is_active and not shipped_after.is_active
    seed = len(load_seed_examples())
    assert new.training_counts[SIGNAL_SEED] == seed
    assert new.training_counts[SIGNAL_PUBLISHER] == len(CATEGORISED)
    assert 1 <= new.training_counts[SIGNAL_SELF] <= len(UNCATEGORISED)
    assert new.training_counts[SIGNAL_EDITOR] == 0
    signals = new.params["signals"]
    assert signals[SIGNAL_SEED] == {"count": seed, "weight": 1.0}
    assert signals[SIGNAL_PUBLISHER]["weight"] == 0.5
    assert signals[SIGNAL_PUBLISHER]["count"] == len(CATEGORISED)
    assert signals[SIGNAL_SELF]["weight"] == 0.5
    assert signals[SIGNAL_SELF]["model_id"] == shipped.id  # who labelled them
    assert signals[SIGNAL_SELF]["articles_from"] <= signals[SIGNAL_SELF]["articles_to"]
    assert signals[SIGNAL_EDITOR]["weight"] == 2.0
    assert new.params["signal_weights"] == {SIGNAL_SEED: 1.0, SIGNAL_PUBLISHER: 0.5,
                                            SIGNAL_SELF: 0.5, SIGNAL_EDITOR: 2.0}  # fmt: skip
    assert new.metrics["trusted"]["rows"] == seed
    assert new.metrics["activation"]["activated"] is True
    assert f"activated over #{shipped.id}" in " ".join(output.split())


def test_the_guard_keeps_the_old_model_when_the_sources_contradict_the_seed_set(
    httpserver: HTTPServer, settings: Settings, db: Database, cli_database: None
) -> None:
    [shipped] = models(db)
    serve(httpserver, db, mislabelled_items(400))
    run_poll(settings, db)

    output = biowire("train")

    _, kept_out = models(db)
    assert not kept_out.is_active
    with session_scope(db.factory) as session:
        assert active_model(session).id == shipped.id  # type: ignore[union-attr]
    assert kept_out.training_counts[SIGNAL_PUBLISHER] == 400
    note = kept_out.metrics["activation"]["note"]
    assert note.startswith(f"kept #{shipped.id} active: micro-F1 "), note
    assert kept_out.metrics["trusted"]["micro_f1"] < shipped.metrics["trusted"]["micro_f1"]
    assert f"kept #{shipped.id} active" in output
    assert f"#{kept_out.id}: kept #{shipped.id} active: micro-F1" in biowire("model", "list")

    forced_output = biowire("train", "--force")

    *_, forced = models(db)
    assert forced.is_active
    assert forced.metrics["activation"]["note"].startswith(
        f"activated by --force over #{shipped.id}"
    )
    assert "queued" in forced_output  # recent articles retagged for it
    listing = biowire("model", "list")
    assert [line.split()[1] for line in listing.splitlines() if line.strip()[:1] == "*"] == [
        str(forced.id)
    ]


def test_an_editors_correction_wins_over_the_models_confident_tags(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    serve(httpserver, db, story_items("b"))
    run_poll(settings, db)
    with session_scope(db.factory) as session:
        before = gather_training_set(session, default_taxonomy()).examples
        self_taught = {e.title: e.labels for e in before if e.signal == SIGNAL_SELF}
        assert self_taught, "the shipped model is confident of none of the stories"
        title = next(iter(self_taught))
        article = session.scalars(select(Article).where(Article.title == title)).one()
        set_topics(session, article.id, ["research-standards"])
        after = gather_training_set(session, default_taxonomy()).examples

    about_it = [(e.signal, e.labels) for e in after if e.title == title]
    assert about_it == [(SIGNAL_EDITOR, ("research-standards",))]
    assert {e.title for e in after if e.signal == SIGNAL_SELF} == set(self_taught) - {title}


def test_self_training_takes_the_newest_articles_and_no_more_than_the_seed_set(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    from aggregator.classify.types import SelfTrainingRule

    serve(httpserver, db, story_items("c"))
    run_poll(settings, db)
    with session_scope(db.factory) as session:
        everything = gather_training_set(session, default_taxonomy())
        one = gather_training_set(session, default_taxonomy(), SelfTrainingRule(max_examples=1))
        newest_first = session.scalars(
            select(Article.title).order_by(Article.published_at.desc(), Article.id.desc())
        ).all()

    confident = [e.title for e in everything.examples if e.signal == SIGNAL_SELF]
    assert confident == [t for t in newest_first if t in confident]
    [only] = [e.title for e in one.examples if e.signal == SIGNAL_SELF]
    assert only == confident[0]
    assert one.provenance[SIGNAL_SELF]["rule"]["max_examples"] == 1


def test_the_server_retrains_when_the_newest_model_is_old_enough(
    httpserver: HTTPServer, settings: Settings, db: Database
) -> None:
    [shipped] = models(db)
    serve(httpserver, db, story_items("d"))
    run_poll(settings, db)

    assert retrain_if_due(settings.model_copy(update={"retrain_hours": 0}), db) is None
    assert retrain_if_due(settings, db) is None  # the shipped model is minutes old

    with session_scope(db.factory) as session:
        session.execute(
            update(ClassifierModel).values(created_at=datetime.now(UTC) - timedelta(days=8))
        )
    retrained = retrain_if_due(settings, db)

    assert retrained is not None and retrained.activated
    assert retrained.note.startswith(f"activated over #{shipped.id}")
    assert retrained.retagged == len(CATEGORISED) + len(UNCATEGORISED)
    with session_scope(db.factory) as session:
        assert active_model(session).id == retrained.model_id  # type: ignore[union-attr]
        tagged_by = set(session.scalars(select(Article.classified_by_id)))
    assert tagged_by == {retrained.model_id}
    assert retrain_if_due(settings, db) is None  # the new model is this week's


def test_the_servers_poll_loop_retrains_an_old_model_and_retags_for_the_new_one(
    httpserver: HTTPServer,
    settings: Settings,
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [shipped] = models(db)
    serve(httpserver, db, story_items("e"))
    with session_scope(db.factory) as session:
        session.execute(
            update(ClassifierModel).values(created_at=datetime.now(UTC) - timedelta(days=8))
        )

    async def until_retrained() -> None:
        polling = asyncio.create_task(poll_forever(settings, db))
        try:
            for _ in range(600):
                if any(r.getMessage().startswith("scheduled retraining") for r in caplog.records):
                    return
                await asyncio.sleep(0.1)
            raise AssertionError("no scheduled retraining within 60 s")
        finally:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling

    with caplog.at_level(logging.INFO, logger="biowire"):
        asyncio.run(until_retrained())

    retrained = next(r for r in caplog.records if r.getMessage().startswith("scheduled"))
    assert retrained.activated is True  # type: ignore[attr-defined]
    assert retrained.retagged == len(CATEGORISED) + len(UNCATEGORISED)  # type: ignore[attr-defined]
    [_, new] = models(db)
    assert new.is_active and new.params["signals"][SIGNAL_SELF]["model_id"] == shipped.id
    with session_scope(db.factory) as session:
        assert set(session.scalars(select(Article.classified_by_id))) == {new.id}
