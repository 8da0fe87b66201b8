"""The `biowire` command (typer for parsing, rich for tables and progress)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, or_, select

from aggregator import demo as demo_module
from aggregator.cli import classifier as cli_classifier
from aggregator.database import downgrade_database, schema_revisions, upgrade_database
from aggregator.errors import BiowireError
from aggregator.ingest.poll import PollSummary, RefreshOutcome
from aggregator.ingest.sources import (
    export_opml,
    import_feeds,
    load_defaults_if_empty,
    parse_opml,
)
from aggregator.ingest.storage import add_source, count_due_sources, enable_source
from aggregator.logs import configure_logging
from aggregator.service import (
    Database,
    classify_new,
    ensure_active_model,
    open_database,
    parse_pool,
    poll_forever,
    poll_once,
)
from aggregator.settings import Settings, get_settings
from models import Article, Source, make_engine, session_scope

app = typer.Typer(help="Biowire: biometrics and digital-identity news, polled, tagged, served.",
                  no_args_is_help=True, add_completion=False)  # fmt: skip
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sources_app = typer.Typer(help="The feeds Biowire polls.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
cli_classifier.register(app)

console = Console()
err_console = Console(stderr=True)


def main() -> None:
    try:
        app()
    except BiowireError as error:
        err_console.print(f"[bold red]error:[/] {escape(str(error))}")
        sys.exit(1)


@contextlib.contextmanager
def database(settings: Settings, migrate: bool = False) -> Iterator[Database]:
    db = open_database(settings, migrate=migrate)
    try:
        yield db
    finally:
        db.close()


# --- database ------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the latest schema (or to REVISION)."""
    settings = get_settings()
    upgrade_database(settings.database_url, revision)
    console.print(f"database at {_revision(settings)}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (use 'base' to remove every table)."""
    settings = get_settings()
    downgrade_database(settings.database_url, revision)
    console.print(f"database at {_revision(settings)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and the code's."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        current, head = schema_revisions(engine)
    finally:
        engine.dispose()
    console.print(f"database: {current or '(empty)'}   code: {head}")


def _revision(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    try:
        return schema_revisions(engine)[0] or "(empty)"
    finally:
        engine.dispose()


# --- sources -------------------------------------------------------------------------------


@sources_app.command("add")
def sources_add(url: str, title: Annotated[str | None, typer.Option()] = None) -> None:
    """Add the feed at URL."""
    with database(get_settings()) as db, session_scope(db.factory) as session:
        source, created = add_source(session, url, title)
        console.print(
            f"{'added' if created else 'already there'}: #{source.id} {escape(source.url)}"
        )


@sources_app.command("import")
def sources_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Add every feed of an OPML file."""
    feeds = parse_opml(file.read_bytes())
    with database(get_settings()) as db, session_scope(db.factory) as session:
        added = import_feeds(session, feeds)
    console.print(f"{added} new of {len(feeds)} feeds in {file}")


@sources_app.command("export")
def sources_export() -> None:
    """Print every source as OPML."""
    with database(get_settings()) as db, session_scope(db.factory) as session:
        sys.stdout.write(export_opml(session))


@sources_app.command("list")
def sources_list(
    failing: Annotated[
        bool, typer.Option("--failing", help="Only sources whose last poll failed, or disabled.")
    ] = False,
) -> None:
    """Show each source and how its polling stands."""
    query = select(Source).order_by(Source.id)
    if failing:
        query = query.where(or_(Source.consecutive_failures > 0, Source.disabled_at.is_not(None)))
    with database(get_settings()) as db, session_scope(db.factory) as session:
        table = Table("id", "source", "last poll", "status", "new", "failures", "next poll",
                      "error / disabled", box=None)  # fmt: skip
        for s in session.scalars(query):
            # Titles and errors come from feeds and servers: shown as text, never as markup.
            problem = s.disabled_reason and f"[red]disabled:[/] {escape(s.disabled_reason)}"
            table.add_row(
                str(s.id), escape(s.display_name[:40]), _when(s.last_polled_at),
                str(s.last_status or "-"), str(s.last_new_articles), str(s.consecutive_failures),
                "-" if s.disabled_at else _when(s.next_poll_at),
                problem or escape((s.last_error or "")[:80]),
            )  # fmt: skip
        console.print(table)


@sources_app.command("enable")
def sources_enable(source_id: int) -> None:
    """Re-enable a disabled source and poll it at the next run."""
    with database(get_settings()) as db, session_scope(db.factory) as session:
        source = enable_source(session, source_id)
        console.print(f"enabled #{source.id} {escape(source.url)}")


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"  # type: ignore[attr-defined]


# --- pipeline ------------------------------------------------------------------------------


def _poll_with_progress(
    settings: Settings, db: Database, everything: bool, tag: bool = True
) -> PollSummary:
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
    with session_scope(db.factory) as session:
        pending = session.scalar(select(func.count()).select_from(Article)
                                 .where(Article.classified_by_id.is_(None))) or 0  # fmt: skip
    with Progress(TextColumn("[bold]tagging"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console) as progress:  # fmt: skip
        task = progress.add_task("classify", total=pending)
        return classify_new(db, on_batch=lambda n: progress.advance(task, n))


@app.command()
def poll(
    everything: Annotated[bool, typer.Option("--all", help="Ignore the schedule.")] = False,
    classify: Annotated[bool, typer.Option(help="Tag new articles afterwards.")] = True,
) -> None:
    """Poll the sources that are due, once."""
    settings = get_settings()
    configure_logging(settings.log_level)
    with database(settings) as db:
        summary = _poll_with_progress(settings, db, everything, tag=classify)
        tagged = _classify_with_progress(db) if classify else 0
    console.print(
        f"{len(summary.outcomes)} sources polled in {summary.seconds:.1f} s: "
        f"{summary.new_articles} new articles, {summary.errors} errors, {tagged} tagged"
    )


@app.command()
def classify() -> None:
    """Tag every article not yet tagged by the active model."""
    with database(get_settings()) as db:
        tagged = _classify_with_progress(db)
    console.print(f"{tagged} articles tagged")


@app.command()
def serve() -> None:
    """Serve the web app (no polling)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    console.print(f"Biowire: open {settings.public_base_url}/ in your browser")
    with database(settings):
        pass  # refuses to start on an out-of-date schema, with the fix in the message
    _serve(settings, background_poll=False)


@app.command()
def up(
    initial_poll: Annotated[bool, typer.Option(help="Poll everything before serving.")] = True,
) -> None:
    """Migrate, load the default sources if there are none, poll, classify, then serve
    while polling on schedule."""
    settings = get_settings()
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
    _serve(settings, background_poll=True)


@app.command()
def demo(
    database_url: Annotated[str, typer.Option(envvar="BIOWIRE_DEMO_DATABASE_URL",
                                              help="Database of the demo (recreated).")]
    = "sqlite:///./biowire-demo.db",
) -> None:  # fmt: skip
    """Run the whole pipeline on the bundled offline sample and serve it."""
    settings = get_settings().model_copy(
        update={"database_url": database_url, "allow_private_networks": True}
    )
    configure_logging(settings.log_level)
    console.print(f"Biowire demo: open {settings.public_base_url}/ in your browser")
    _reset_sqlite(database_url)
    with demo_module.SampleServer() as samples:
        with database(settings, migrate=True) as db:
            with session_scope(db.factory) as session:
                for url in samples.feed_urls():
                    add_source(session, url)
            summary = _poll_with_progress(settings, db, everything=True)
            console.print(f"{summary.new_articles} sample articles stored")
            _classify_with_progress(db)
        _serve(settings, background_poll=False)


def _reset_sqlite(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(url[len(prefix) :] + suffix).unlink(missing_ok=True)


def _serve(settings: Settings, background_poll: bool) -> None:
    from web.app import create_app  # the CLI is the one place that assembles both halves

    async def run() -> None:
        config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                                log_level="warning")  # fmt: skip
        server = uvicorn.Server(config)
        poller = None
        if background_poll:
            db = open_database(settings)
            poller = asyncio.create_task(poll_forever(settings, db))
        try:
            await server.serve()
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
                db.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
