"""`biowire` commands for the classifier: train, model list/activate, label, evaluate.

Registered on the main app by `aggregator.cli.main`. Each imports the classifier (and with
it scikit-learn) when it runs, not when `biowire` starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from aggregator.cli.common import console, database, err_console, load_settings
from aggregator.errors import BiowireError, ClassifierError

if TYPE_CHECKING:
    from rich.progress import Progress

    from aggregator.classify.evaluation import Evaluation
    from aggregator.classify.model import Classifier
    from aggregator.service import Database
    from aggregator.settings import Settings

model_app = typer.Typer(help="Classifier model versions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
    app.command("train")(train)
    app.command("label")(label)
    app.command("evaluate")(evaluate)


def _progress(what: str) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(f"[bold]{what}"), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=err_console)  # fmt: skip


def train(
    force: Annotated[
        bool, typer.Option("--force", help="Activate the new model even if it scores worse.")
    ] = False,
) -> None:
    """Train a model on every signal (seed set, publisher categories, the active model's
    confident tags, editors' corrections); activate it unless it scores worse than the
    active one on the seed set and corrections, and then retag recent articles."""
    from rich.table import Table

    from aggregator.classify.registry import activation_note, train_model
    from aggregator.taxonomy import default_taxonomy
    from models import session_scope

    settings = load_settings()
    with database(settings) as db:
        with _progress("training") as progress, session_scope(db.factory) as session:
            task = progress.add_task("", total=None)

            def advance(what: str, done: int, steps: int) -> None:
                progress.update(task, description=what, completed=done, total=steps)

            model, report = train_model(session, default_taxonomy(), progress=advance,
                                        force=force)  # fmt: skip
            model_id, activated, note = model.id, model.is_active, activation_note(model)
            weights = model.params.get("signal_weights", {})
        counts = ", ".join(
            f"{n} {signal} (weight {weights.get(signal, 1.0):g})"
            for signal, n in report.counts.items()
        )
        trusted = report.trusted or {}
        console.print(f"model #{model_id} trained in {report.seconds:.1f} s on {counts}; "
                      f"cross-validated micro-F1 {report.micro_f1:.3f}, "
                      f"macro-F1 {report.macro_f1:.3f}; on seed+corrections "
                      f"({trusted.get('rows', 0)} rows) micro-F1 "
                      f"{_figure(trusted.get('micro_f1'))}, macro-F1 "
                      f"{_figure(trusted.get('macro_f1'))}")  # fmt: skip
        table = Table("topic", "cv F1", "threshold", box=None)
        for topic, f1 in report.per_topic_f1.items():
            table.add_row(topic, f"{f1:.3f}", f"{report.thresholds[topic]:.3f}")
        console.print(table)
        console.print(f"model #{model_id}: {escape(note)}", soft_wrap=True)
        if activated:
            _retag(settings, db, model_id)
        else:
            console.print(f"model #{model_id} stored inactive; `biowire train --force` or "
                          f"`biowire model activate {model_id}` activates it")  # fmt: skip


@model_app.command("list")
def model_list() -> None:
    """Every trained model version, newest first; * marks the active one. Below the table,
    why each was or was not activated when it was trained."""
    from rich.table import Table
    from sqlalchemy import select

    from aggregator.classify.registry import activation_note
    from models import ClassifierModel, session_scope

    with database(load_settings()) as db, session_scope(db.factory) as session:
        table = Table("", "id", "created", "seed", "publisher", "self", "editor", "cv micro-F1",
                      "cv macro-F1", "train s", box=None)  # fmt: skip
        notes: list[str] = []
        for m in session.scalars(select(ClassifierModel).order_by(ClassifierModel.id.desc())):
            counts, metrics = m.training_counts, m.metrics
            table.add_row(
                "*" if m.is_active else "", str(m.id), m.created_at.strftime("%Y-%m-%d %H:%M"),
                str(counts.get("seed", 0)), str(counts.get("publisher-category", 0)),
                str(counts.get("self-training", 0)), str(counts.get("editor", 0)),
                _figure(metrics.get("micro_f1")), _figure(metrics.get("macro_f1")),
                _figure(metrics.get("train_seconds"), 1),
            )  # fmt: skip
            if note := activation_note(m):
                notes.append(f"#{m.id}: {note}")
        console.print(table)
        for note in notes:
            # Not a table column: a sentence wraps badly in a narrow terminal's table.
            console.print(escape(note), soft_wrap=True)


@model_app.command("activate")
def model_activate(model_id: int) -> None:
    """Make model MODEL_ID the active one (e.g. roll back) and retag recent articles."""
    from aggregator.classify.registry import activate_model
    from models import session_scope

    settings = load_settings()
    with database(settings) as db:
        with session_scope(db.factory) as session:
            activate_model(session, model_id)
        console.print(f"model #{model_id} is now active")
        _retag(settings, db, model_id)


def label(
    article_id: int,
    slugs: Annotated[list[str], typer.Argument(help="Topic slugs; none means no topic.")],
) -> None:
    """Set an article's topics by hand. Kept forever and used by every later training."""
    from aggregator.classify.corrections import set_topics
    from models import session_scope

    with database(load_settings()) as db, session_scope(db.factory) as session:
        try:
            article = set_topics(session, article_id, slugs, editor="cli")
        except LookupError as error:
            raise ClassifierError(str(error)) from error
        console.print(
            f"#{article.id} {escape(article.title[:70])}: {', '.join(slugs) or '(no topic)'}"
        )


def evaluate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL rows")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score the classifier on a labelled JSONL file (trains a fresh model on its train
    rows if it has any, else scores the active model)."""
    from aggregator.classify.evaluation import evaluate_file

    load_settings()  # before any work: it sets the fast-paths switch
    with _progress("training") as progress:
        task = progress.add_task("", total=None, visible=False)

        def advance(what: str, done: int, steps: int) -> None:
            progress.update(task, description=what, completed=done, total=steps, visible=True)

        evaluation = evaluate_file(file, _active_classifier, progress=advance)
    if as_json:
        print(json.dumps(evaluation.to_json(), indent=2))
    else:
        _print_evaluation(evaluation)


def _active_classifier() -> Classifier:
    """The configured database's active model; the shipped one if there is none."""
    from sqlalchemy import make_url

    from aggregator.classify.registry import active_model, load_classifier, shipped_classifier
    from aggregator.service import open_database
    from aggregator.settings import get_settings
    from aggregator.taxonomy import default_taxonomy
    from models import session_scope

    settings = get_settings()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # Connecting would leave an empty database file behind in the working directory.
        err_console.print(f"no database at {url.database}: scoring the shipped model")
        return shipped_classifier(default_taxonomy())
    try:
        db = open_database(settings)
    except BiowireError as error:
        err_console.print(f"no usable database ({escape(str(error))}): scoring the shipped model")
        return shipped_classifier(default_taxonomy())
    try:
        with session_scope(db.factory) as session:
            model = active_model(session)
            if model is not None:
                try:
                    err_console.print(f"scoring the active model #{model.id}")
                    return load_classifier(model)
                except ClassifierError as error:
                    err_console.print(f"{escape(str(error))}: scoring the shipped model instead")
    finally:
        db.close()
    err_console.print("no trained model in the database: scoring the shipped model")
    return shipped_classifier(default_taxonomy())


def _print_evaluation(e: Evaluation) -> None:
    from rich.table import Table

    if e.ignored_labels:
        console.print(f"labels not in the taxonomy, ignored: {', '.join(e.ignored_labels)}")
    table = Table("label", "precision", "recall", "F1", "support", box=None)
    for name, s in e.per_label.items():
        table.add_row(name, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.support))
    console.print(table)
    trained = (f"trained on {e.n_train} rows in {e.train_seconds:.1f} s"
               if e.train_seconds is not None else "active model, no training")  # fmt: skip
    console.print(f"{e.n_test} test rows: micro-F1 {e.micro_f1:.4f}, macro-F1 {e.macro_f1:.4f}; "
                  f"{trained}; prediction {e.predict_docs_per_second:,.0f} docs/s")  # fmt: skip


def _retag(settings: Settings, db: Database, model_id: int) -> None:
    """Retag the last `retag_days` of articles for the newly active model, one committed
    batch at a time, so a long retag neither holds one huge transaction nor loses its work
    if interrupted. Articles an editor corrected keep their tags."""
    from sqlalchemy import func, select

    from aggregator.classify.registry import load_classifier
    from aggregator.classify.tagging import (
        BATCH_SIZE,
        classify_pending,
        mark_for_retagging,
        retag_window_start,
    )
    from models import Article, ClassifierModel, session_scope

    with session_scope(db.factory) as session:
        queued = mark_for_retagging(session, retag_window_start(settings.retag_days))
    with session_scope(db.factory) as session:
        pending = session.scalar(select(func.count()).select_from(Article)
                                 .where(Article.classified_by_id.is_(None))) or 0  # fmt: skip
    with _progress("retagging") as progress:
        task = progress.add_task("", total=pending)
        while True:
            with session_scope(db.factory) as session:
                model = session.get(ClassifierModel, model_id)
                assert model is not None
                done = classify_pending(session, model, load_classifier(model), limit=BATCH_SIZE)
            if done == 0:
                break
            progress.advance(task, done)
    console.print(f"{queued} articles of the last {settings.retag_days} days queued and "
                  f"{pending} retagged")  # fmt: skip


def _figure(value: object, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"
