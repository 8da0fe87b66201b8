"""Migrating the database and checking that its schema is current."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from aggregator.errors import SchemaOutOfDate


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("migrations")))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade_database(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def schema_revisions(engine: Engine) -> tuple[str | None, str | None]:
    """(the database's revision, the code's head revision)."""
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(False)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, script.get_current_head()


def require_current_schema(engine: Engine) -> None:
    current, head = schema_revisions(engine)
    if current != head:
        state = "has no Biowire schema" if current is None else f"is at revision {current}"
        raise SchemaOutOfDate(
            f"the database {state}, but this version of Biowire needs {head}; "
            "run `biowire db upgrade` (or `make run`, which does it) first"
        )
