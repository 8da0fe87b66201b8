"""Use cases shared by the CLI and the server: open the database, poll, classify.

Each function takes the settings and builds what it needs, so the CLI stays a thin shell.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from joblib.externals.loky import get_reusable_executor
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from aggregator import speedups
from aggregator.classify import model_cache
from aggregator.classify.registry import active_model, ensure_model, load_classifier, newest_model
from aggregator.classify.tagging import (
    BATCH_SIZE,
    TagNewArticles,
    classify_pending,
    mark_for_retagging,
    retag_window_start,
    topic_ids,
)
from aggregator.database import require_current_schema, upgrade_database
from aggregator.errors import ClassifierError
from aggregator.ingest.fetch import ClientOptions, FetchLimits, build_client
from aggregator.ingest.hooks import AfterStoreHook
from aggregator.ingest.parse_pool import ParsePool, collect_garbage_less_often
from aggregator.ingest.poll import PollOptions, PollSummary, RefreshOutcome, poll
from aggregator.ingest.schedule import ScheduleBounds
from aggregator.settings import Settings
from aggregator.taxonomy import default_taxonomy, sync_topics
from models import make_engine, make_session_factory, session_scope

if TYPE_CHECKING:
    from aggregator.classify.model import Classifier

log = logging.getLogger("biowire.service")


@dataclass
class Database:
    engine: Engine
    factory: sessionmaker[Session]

    def close(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, migrate: bool = False) -> Database:
    """Connect; with `migrate`, bring the schema to head first, else insist it is there.

    Every use case here starts from the database this opens, so this is where a process
    doing Biowire's work takes its fast-paths switch from the settings (`speedups`).
    """
    speedups.set_enabled(settings.fast_paths)
    if migrate:
        upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        require_current_schema(engine)
        database = Database(engine, make_session_factory(engine))
        with session_scope(database.factory) as session:
            sync_topics(session, default_taxonomy())
    except BaseException:
        engine.dispose()  # no connection is left open behind the error
        raise
    return database


def poll_options(settings: Settings) -> PollOptions:
    return PollOptions(
        limits=FetchLimits(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            total_timeout=settings.total_timeout,
            max_body_bytes=settings.max_body_bytes,
            max_redirects=settings.max_redirects,
        ),
        bounds=ScheduleBounds(
            settings.min_poll_interval, settings.max_poll_interval, settings.max_server_interval
        ),
        concurrency=settings.concurrency,
        per_host_concurrency=settings.per_host_concurrency,
        max_consecutive_failures=settings.max_consecutive_failures,
    )


def client_options(settings: Settings) -> ClientOptions:
    return ClientOptions(
        concurrency=settings.concurrency,
        allow_private_networks=settings.allow_private_networks,
        allowed_networks=tuple(settings.allowed_networks.split(",")),
    )


def parse_pool(database: Database | None = None, fork: bool = False) -> ParsePool:
    """The parse pool a poll run uses; close it (or use it as a context manager) after.
    Given the database, its workers start with the active model loaded; `fork` as in
    `ParsePool`."""
    model = _active_model(database) if database is not None else None
    return ParsePool(model=model, fork=fork)


_heap_frozen = False


def _tune_garbage_collection() -> None:
    """Once a process has started (modules, the model, SQLAlchemy's caches), set what is
    alive aside from the cyclic garbage collector, which would otherwise scan it on every
    full collection, a share of a cold poll's CPU worth saving (BENCHMARKS.md). Done once,
    before the first poll: later polls' objects are collected as ever, the young ones less
    often (see `collect_garbage_less_often`).
    """
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()  # garbage is freed, not frozen
        gc.freeze()
        collect_garbage_less_often()
        _heap_frozen = True


@dataclass(frozen=True)
class PollTagging:
    """How a poll tags what it stores: with the active model, or not at all and why."""

    model_id: int | None = None
    classifier: Classifier | None = None
    topic_ids: dict[str, int] = field(default_factory=dict)
    # Why the poll stores its articles untagged (None: it tags, or there is no model yet
    # and `classify_new` trains the first one after the poll).
    untagged_reason: str | None = None


def after_store_hooks(tagging: PollTagging) -> list[AfterStoreHook]:
    """The work done on a poll's new articles as they are stored, in order."""
    hooks: list[AfterStoreHook] = []
    if tagging.model_id is not None:
        hooks.append(TagNewArticles(tagging.model_id, tagging.topic_ids, tagging.classifier))
    return hooks


async def poll_once(
    settings: Settings,
    database: Database,
    everything: bool = False,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
    parse_executor: Executor | None = None,
    on_untagged: Callable[[str], None] | None = None,
) -> PollSummary:
    """Poll once: what is due (everything with `everything`), tagging new articles with the
    active model as they are stored. `on_outcome` hears of each refresh; `on_untagged`, before
    the poll starts, why it will store its articles untagged, if it will."""
    tagging = _tag_with_active_model(database, parse_executor)
    if tagging.untagged_reason and on_untagged:
        on_untagged(tagging.untagged_reason)
    _tune_garbage_collection()
    client = build_client(client_options(settings))
    try:
        summary = await poll(
            database.factory,
            client,
            poll_options(settings),
            everything=everything,
            parse_executor=parse_executor,
            on_outcome=on_outcome,
            model_id=tagging.model_id,
            hooks=after_store_hooks(tagging),
        )
    finally:
        await client.aclose()
    summary.untagged_reason = tagging.untagged_reason
    return summary


def _active_model(database: Database) -> tuple[int, bytes] | None:
    with session_scope(database.factory) as session:
        model = active_model(session)
        return None if model is None else (model.id, model.blob)


def _tag_with_active_model(database: Database, parse_executor: Executor | None) -> PollTagging:
    """Give the parse workers the active model, so new sources' articles are stored tagged,
    and this process too, whose tagging hook tags known sources' new articles as they are
    stored; without a model, articles are stored untagged and `classify_new` trains one
    and tags them. A model that cannot be loaded leaves the poll untagged, and says so."""
    model = _active_model(database)
    if model is None:
        return PollTagging()
    model_id, blob = model
    # Loaded once a process, and kept while it is the active one.
    classifier = model_cache.load_outcome(model_id, blob)
    if isinstance(classifier, ClassifierError):
        reason = (
            f"the active topic model #{model_id} cannot be loaded ({classifier}), so new "
            "articles are stored untagged; run `biowire train` to train a new one"
        )
        log.warning(reason, extra={"model_id": model_id})
        return PollTagging(untagged_reason=reason)
    if isinstance(parse_executor, ParsePool):
        parse_executor.use_model(model_id, blob)
    with session_scope(database.factory) as session:
        topics = topic_ids(session)
    return PollTagging(model_id, classifier, topics)


def ensure_active_model(database: Database, on_training: Callable[[], None] | None = None) -> bool:
    """Train and activate a model from the seed set if the database has none (a first
    run), so that the parse workers tag a first poll's articles as they parse them rather
    than leaving them all to a pass afterwards. Returns whether one was trained;
    `on_training` is called first if so."""
    with session_scope(database.factory) as session:
        if active_model(session) is not None:
            return False
        if on_training:
            on_training()
        ensure_model(session, default_taxonomy())
    # Training's worker processes would idle on for minutes, and their threads would keep
    # a poll's parse pool from forking its workers (see `ParsePool`).
    get_reusable_executor().shutdown(wait=True)
    return True


def classify_new(database: Database, on_batch: Callable[[int], None] | None = None) -> int:
    """Tag every article the active model has not seen (training one on first use)."""
    with session_scope(database.factory) as session:
        model, classifier = ensure_model(session, default_taxonomy())
        return classify_pending(session, model, classifier, on_batch=on_batch)


@dataclass(frozen=True)
class Retraining:
    """What a scheduled retraining did: the model it trained, whether the guard activated
    it and why, and how many articles were retagged for it."""

    model_id: int
    activated: bool
    note: str
    retagged: int


def retrain_if_due(
    settings: Settings, database: Database, now: datetime | None = None
) -> Retraining | None:
    """Retrain when the newest model, active or not, is `retrain_hours` old (never with 0),
    activate the result if the guard lets it, and then retag the last `retag_days` of
    articles; None if no retraining was due.

    Age is the newest model's, not the active one's: a model the guard kept inactive still
    counts as this period's retraining, else a rejected model would be retrained every
    tick. The examples are read in one transaction and the model stored in another, so no
    transaction is held open while it trains (tens of seconds)."""
    from aggregator.classify.registry import fit_training_set, gather_training_set, store_model

    if settings.retrain_hours <= 0:
        return None
    now = now or datetime.now(UTC)
    taxonomy = default_taxonomy()
    with session_scope(database.factory) as session:
        newest = newest_model(session)
        if newest is None or now - newest.created_at < timedelta(hours=settings.retrain_hours):
            return None  # no model at all: `ensure_active_model` trains the first one
        training_set = gather_training_set(session, taxonomy)
    try:
        classifier, report = fit_training_set(training_set, taxonomy)
    finally:
        # As after the first model's training (`ensure_active_model`): no idle workers.
        get_reusable_executor().shutdown(wait=True)
    with session_scope(database.factory) as session:
        model = store_model(session, classifier, report, training_set)
        model_id, activated = model.id, model.is_active
        note = str(model.metrics["activation"]["note"])
        if activated:
            mark_for_retagging(session, retag_window_start(settings.retag_days))
    retagged = retag_pending(database) if activated else 0
    log.info(
        "scheduled retraining: %s", note,
        extra={"model_id": model_id, "activated": activated, "retagged": retagged},
    )  # fmt: skip
    return Retraining(model_id, activated, note, retagged)


def retag_pending(database: Database) -> int:
    """Tag every article the active model has not seen, one committed batch at a time, so
    that a long retag neither holds one huge transaction nor loses its work if stopped."""
    done = 0
    while True:
        with session_scope(database.factory) as session:
            model = active_model(session)
            if model is None:
                return done
            tagged = classify_pending(session, model, load_classifier(model), limit=BATCH_SIZE)
        if tagged == 0:
            return done
        done += tagged


async def poll_forever(settings: Settings, database: Database) -> None:
    """Poll what is due every `scheduler_tick` seconds until cancelled. A database with no
    model gets one first, so that the first poll's articles are tagged as they are parsed."""
    try:
        await asyncio.to_thread(ensure_active_model, database)
    except Exception:  # polling goes on; `classify_new` tries again after each poll
        log.exception("could not train the first topic model")
    with parse_pool() as pool:
        await _poll_on_schedule(settings, database, pool)


# After a scheduled retraining fails, the wait before the next try: a failure stores no
# model, so without it the schedule would train again on every tick.
RETRAIN_RETRY_SECONDS = 3600.0


async def _poll_on_schedule(settings: Settings, database: Database, pool: Executor) -> None:
    retrain_failed_at: float | None = None
    while True:
        try:
            summary = await poll_once(settings, database, parse_executor=pool)
            tagged = await asyncio.to_thread(classify_new, database) if summary.outcomes else 0
            if summary.outcomes:
                log.info(
                    "poll cycle",
                    extra={"sources": len(summary.outcomes), "new_articles": summary.new_articles,
                           "errors": summary.errors, "tagged": tagged},
                )  # fmt: skip
        except asyncio.CancelledError:
            raise
        except Exception:  # a bad cycle must not stop the schedule
            log.exception("poll cycle failed")
        loop_time = asyncio.get_running_loop().time()
        if retrain_failed_at is None or loop_time - retrain_failed_at >= RETRAIN_RETRY_SECONDS:
            try:
                # Off the event loop: training takes tens of seconds of CPU. The next poll
                # hands the parse workers whichever model is then active.
                await asyncio.to_thread(retrain_if_due, settings, database)
                retrain_failed_at = None
            except asyncio.CancelledError:
                raise
            except Exception:  # the old model goes on tagging; tried again in an hour
                log.exception("scheduled retraining failed")
                retrain_failed_at = loop_time
        await asyncio.sleep(settings.scheduler_tick)
