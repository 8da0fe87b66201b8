"""`biowire db`: the database schema (Alembic), upgraded, downgraded or shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from aggregator.cli.common import console, load_settings

if TYPE_CHECKING:
    from aggregator.settings import Settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = "head") -> None:
    """Migrate the database to the latest schema (or to REVISION)."""
    from aggregator.database import upgrade_database

    settings = load_settings()
    upgrade_database(settings.database_url, revision)
    console.print(f"database at {_revision(settings)}")


@app.command("downgrade")
def downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (use 'base' to remove every table)."""
    from aggregator.database import downgrade_database

    settings = load_settings()
    downgrade_database(settings.database_url, revision)
    console.print(f"database at {_revision(settings)}")


@app.command("current")
def current() -> None:
    """Show the database's schema revision and the code's."""
    from aggregator.database import schema_revisions
    from models import make_engine

    engine = make_engine(load_settings().database_url)
    try:
        revision, head = schema_revisions(engine)
    finally:
        engine.dispose()
    console.print(f"database: {revision or '(empty)'}   code: {head}")


def _revision(settings: Settings) -> str:
    from aggregator.database import schema_revisions
    from models import make_engine

    engine = make_engine(settings.database_url)
    try:
        return schema_revisions(engine)[0] or "(empty)"
    finally:
        engine.dispose()
