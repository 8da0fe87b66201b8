"""`biowire` commands that run the pipeline: poll, classify, serve, up and demo.

Each imports the pipeline it runs (the poller, the classifier) when it runs, not when
`biowire` starts. Serving is given to them (`common.Server`) by the command as installed,
`web.cli`, so that nothing here imports the web layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aggregator.cli.common import Server, console, database, err_console, load_settings
from aggregator.errors import BiowireError

if TYPE_CHECKING:
    from aggregator.ingest.poll import PollSummary
    from aggregator.service import Database
    from aggregator.settings import Settings


def register(app: typer.Typer) -> None:
    for command in (poll, classify, serve, up, demo):
        app.command()(command)


def poll(
    everything: Annotated[bool, typer.Option("--all", help="Ignore the schedule.")] = False,
    classify: Annotated[bool, typer.Option(help="Tag new articles afterwards.")] = True,
) -> None:
    """Poll the sources that are due, once."""
    from aggregator.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    with database(settings) as db:
        summary = _poll_with_progress(settings, db, everything, tag=classify)
        tagged = _classify_with_progress(db) if classify else 0
    console.print(
        f"{len(summary.outcomes)} sources polled in {summary.seconds:.1f} s: "
        f"{summary.new_articles} new articles, {summary.errors} errors, {tagged} tagged"
    )


def classify() -> None:
    """Tag every article not yet tagged by the active model."""
    with database(load_settings()) as db:
        tagged = _classify_with_progress(db)
    console.print(f"{tagged} articles tagged")


Host = Annotated[
    str | None,
    typer.Option(help="Address to listen on (default: BIOWIRE_HOST, else 127.0.0.1).",
                 show_default=False),
]  # fmt: skip
Port = Annotated[
    int | None,
    typer.Option(min=1, max=65535, help="Port to listen on (default: BIOWIRE_PORT, else 8000).",
                 show_default=False),
]  # fmt: skip
Workers = Annotated[
    int,
    typer.Option(min=1, help="Worker processes serving requests (each its own database "
                 "connections); more than one uses more cores."),
]  # fmt: skip


def serve(
    context: typer.Context, host: Host = None, port: Port = None, workers: Workers = 1
) -> None:
    """Serve the web app (no polling)."""
    from aggregator.logs import configure_logging

    settings = _listening(load_settings(), host, port)
    configure_logging(settings.log_level)
    console.print(f"Biowire: open {settings.public_base_url}/ in your browser")
    with database(settings):
        pass  # refuses to start on an out-of-date schema, with the fix in the message
    _serve(context, settings, background_poll=False, workers=workers)


def up(
    context: typer.Context,
    initial_poll: Annotated[bool, typer.Option(help="Poll everything before serving.")] = True,
    host: Host = None,
    port: Port = None,
) -> None:
    """Migrate, load the default sources if there are none, poll, classify, then serve
    while polling on schedule (in one process, which polls as it serves)."""
    from aggregator.ingest.sources import load_defaults_if_empty
    from aggregator.logs import configure_logging
    from models import session_scope

    settings = _listening(load_settings(), host, port)
    configure_logging(settings.log_level)
    console.print(f"Biowire: open {settings.public_base_url}/ in your browser "
                  "(first poll and tagging run now)")  # fmt: skip
    with database(settings, migrate=True) as db:
        with session_scope(db.factory) as session:
            loaded = load_defaults_if_empty(session)
        if loaded:
            console.print(f"loaded {loaded} default sources")
        if initial_poll:
            summary = _poll_with_progress(settings, db, everything=True)
            console.print(f"{summary.new_articles} new articles, {summary.errors} sources failed"
                          " (see `biowire sources list`)")  # fmt: skip
        _classify_with_progress(db)
    _serve(context, settings, background_poll=True)


def demo(
    context: typer.Context,
    database_url: Annotated[str, typer.Option(envvar="BIOWIRE_DEMO_DATABASE_URL",
                                              help="Database of the demo (recreated).")]
    = "sqlite:///./biowire-demo.db",
) -> None:  # fmt: skip
    """Run the whole pipeline on the bundled offline sample and serve it."""
    from aggregator.demo import SampleServer
    from aggregator.ingest.storage import add_source
    from aggregator.logs import configure_logging
    from models import session_scope

    settings = load_settings().model_copy(
        update={"database_url": database_url, "allow_private_networks": True}
    )
    configure_logging(settings.log_level)
    console.print(f"Biowire demo: open {settings.public_base_url}/ in your browser")
    _reset_sqlite(database_url)
    with SampleServer() as samples:
        with database(settings, migrate=True) as db:
            with session_scope(db.factory) as session:
                for url in samples.feed_urls():
                    add_source(session, url)
            summary = _poll_with_progress(settings, db, everything=True)
            console.print(f"{summary.new_articles} sample articles stored")
            _classify_with_progress(db)
        _serve(context, settings, background_poll=False)


def _poll_with_progress(
    settings: Settings, db: Database, everything: bool, tag: bool = True
) -> PollSummary:
    import asyncio
    from datetime import UTC, datetime

    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from aggregator.ingest.poll import RefreshOutcome
    from aggregator.ingest.storage import count_due_sources
    from aggregator.service import ensure_active_model, parse_pool, poll_once
    from models import session_scope

    with session_scope(db.factory) as session:
        total = count_due_sources(session, datetime.now(UTC), everything)
    columns = (
        TextColumn("[bold]polling"), BarColumn(), MofNCompleteColumn(),
        TextColumn("new {task.fields[new]}"), TextColumn("errors {task.fields[errors]}"),
        TimeElapsedColumn(), TextColumn("[yellow]{task.fields[note]}"),
    )  # fmt: skip
    if tag:
        ensure_active_model(
            db, lambda: err_console.print("training the first topic model on the seed set")
        )
    # The pool first: made before the progress bar starts its thread and before the event
    # loop runs, its workers are forked from this process, ready at once (see `ParsePool`).
    pool = parse_pool(db, fork=True)
    with pool, Progress(*columns, console=err_console) as progress:
        task = progress.add_task("poll", total=total, new=0, errors=0, note="")
        counts = {"new": 0, "errors": 0}

        def on_outcome(outcome: RefreshOutcome) -> None:
            counts["new"] += outcome.new_articles
            counts["errors"] += bool(outcome.error)
            progress.update(task, advance=1, new=counts["new"], errors=counts["errors"])

        def on_untagged(reason: str) -> None:
            progress.update(
                task, note="untagged: the topic model cannot be loaded; run `biowire train`"
            )

        summary = asyncio.run(
            poll_once(settings, db, everything, on_outcome=on_outcome, parse_executor=pool,
                      on_untagged=on_untagged)
        )  # fmt: skip
        progress.update(task, total=len(summary.outcomes), completed=len(summary.outcomes))
    if summary.untagged_reason:
        err_console.print(f"[yellow]warning:[/] {escape(summary.untagged_reason)}")
    return summary


def _classify_with_progress(db: Database) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from sqlalchemy import func, select

    from aggregator.service import classify_new
    from models import Article, session_scope

    with session_scope(db.factory) as session:
        pending = session.scalar(select(func.count()).select_from(Article)
                                 .where(Article.classified_by_id.is_(None))) or 0  # fmt: skip
    with Progress(TextColumn("[bold]tagging"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console) as progress:  # fmt: skip
        task = progress.add_task("classify", total=pending)
        return classify_new(db, on_batch=lambda n: progress.advance(task, n))


def _reset_sqlite(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(url[len(prefix) :] + suffix).unlink(missing_ok=True)


def _listening(settings: Settings, host: str | None, port: int | None) -> Settings:
    """The settings, with where to listen as the command line says, where it says."""
    given = {"host": host, "port": port}
    return settings.model_copy(update={k: v for k, v in given.items() if v is not None})


def _serve(
    context: typer.Context, settings: Settings, background_poll: bool, workers: int = 1
) -> None:
    """Serve the web app with the server the installed command was given (`web.cli`): the
    web layer builds on the aggregator, never the other way round."""
    server = context.find_object(Server)
    if server is None:
        raise BiowireError(
            "this entry point has no web server to serve with: run the installed `biowire`"
        )
    server.serve(settings, background_poll, workers)
