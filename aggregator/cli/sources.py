"""`biowire sources`: the feeds Biowire polls, added, imported, exported, listed, enabled,
given a new address, removed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from aggregator.cli.common import console, database, load_settings

if TYPE_CHECKING:
    from aggregator.ingest.storage import SourceFootprint

app = typer.Typer(help="The feeds Biowire polls.", no_args_is_help=True)


@app.command("add")
def add(url: str, title: Annotated[str | None, typer.Option()] = None) -> None:
    """Add the feed at URL."""
    from aggregator.ingest.storage import add_source
    from models import session_scope

    with database(load_settings()) as db, session_scope(db.factory) as session:
        source, created = add_source(session, url, title)
        console.print(
            f"{'added' if created else 'already there'}: #{source.id} {escape(source.url)}"
        )


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Add every feed of an OPML file."""
    from aggregator.ingest.sources import import_feeds, parse_opml
    from models import session_scope

    settings = load_settings()
    feeds = parse_opml(file.read_bytes())
    with database(settings) as db, session_scope(db.factory) as session:
        added = import_feeds(session, feeds)
    console.print(f"{added} new of {len(feeds)} feeds in {file}")


@app.command("export")
def export() -> None:
    """Print every source as OPML."""
    from aggregator.ingest.sources import export_opml
    from models import session_scope

    with database(load_settings()) as db, session_scope(db.factory) as session:
        sys.stdout.write(export_opml(session))


@app.command("list")
def list_(
    failing: Annotated[
        bool, typer.Option("--failing", help="Only sources whose last poll failed, or disabled.")
    ] = False,
) -> None:
    """Show each source and how its polling stands."""
    from rich.table import Table
    from sqlalchemy import or_, select

    from aggregator.ingest.sources import default_notes
    from models import Source, session_scope

    query = select(Source).order_by(Source.id)
    if failing:
        query = query.where(or_(Source.consecutive_failures > 0, Source.disabled_at.is_not(None)))
    notes = default_notes()  # what each default source covers, from the shipped OPML
    with database(load_settings()) as db, session_scope(db.factory) as session:
        table = Table("id", "source", "last poll", "status", "new", "failures", "next poll",
                      "error / disabled", box=None)  # fmt: skip
        for s in session.scalars(query):
            # Titles and errors come from feeds and servers: shown as text, never as markup.
            name = escape(s.display_name[:40])
            if note := notes.get(s.url):
                name += f"\n[dim]{escape(_shortened(note, 40))}[/]"
            problem = s.disabled_reason and f"[red]disabled:[/] {escape(s.disabled_reason)}"
            table.add_row(
                str(s.id), name, _when(s.last_polled_at),
                str(s.last_status or "-"), str(s.last_new_articles), str(s.consecutive_failures),
                "-" if s.disabled_at else _when(s.next_poll_at),
                problem or escape((s.last_error or "")[:80]),
            )  # fmt: skip
        console.print(table)


@app.command("enable")
def enable(source_id: int) -> None:
    """Re-enable a disabled source and poll it at the next run."""
    from aggregator.ingest.storage import enable_source
    from models import session_scope

    with database(load_settings()) as db, session_scope(db.factory) as session:
        source = enable_source(session, source_id)
        console.print(f"enabled #{source.id} {escape(source.url)}")


@app.command("set-url")
def set_url(source_id: int, url: str) -> None:
    """Poll the source at a new address (its feed moved): its failures are forgotten and
    it is polled at the next run, re-enabled if it was disabled."""
    from aggregator.ingest.storage import set_source_url
    from models import session_scope

    with database(load_settings()) as db, session_scope(db.factory) as session:
        moved = set_source_url(session, source_id, url)
    console.print(
        f"#{moved.id} moved from {escape(moved.old_url)} to {escape(moved.new_url)}: "
        "polled at the next run"
    )


@app.command("remove")
def remove(
    source_id: int,
    keep_articles: Annotated[
        bool,
        typer.Option("--keep-articles", help="Keep every article of the source, with no source."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Stop polling a source and delete it, with the articles no other source carried
    (articles another source also carried stay, as that source's)."""
    from aggregator.ingest.storage import remove_source, source_footprint
    from models import session_scope

    with database(load_settings()) as db, session_scope(db.factory) as session:
        footprint = source_footprint(session, source_id)
        console.print(_removal_plan(footprint, keep_articles))
        if not yes and not typer.confirm(f"Remove source #{source_id}?"):
            console.print("nothing removed")
            raise typer.Exit(1)
        removed = remove_source(session, source_id, keep_articles)
    console.print(
        f"removed #{removed.id} {escape(removed.name)}: {removed.deleted_articles} articles "
        f"deleted, {removed.kept_articles} kept"
    )


def _removal_plan(footprint: SourceFootprint, keep_articles: bool) -> str:
    said = f"#{footprint.id} {escape(footprint.name)} carried {footprint.articles} articles"
    if keep_articles:
        return f"{said}: all stay ({footprint.only_here} of them with no source)"
    return (
        f"{said}: {footprint.only_here} that no other source carried would be deleted, "
        f"{footprint.shared} that another source carried too stay"
    )


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"  # type: ignore[attr-defined]
