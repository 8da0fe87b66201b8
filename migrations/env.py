"""Alembic environment: the URL comes from the caller's config, else from settings."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from models import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from aggregator.settings import get_settings

    return get_settings().database_url


# The full-text index of `models.search`, made by hand in its migration and mapped by no
# model: autogenerate would propose to drop it.
_SEARCH_INDEX = {"search_vector", "ix_articles_search_vector"}


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if reflected and compare_to is None:
        if type_ == "table" and (name or "").startswith("articles_fts"):
            return False
        if type_ in ("column", "index") and name in _SEARCH_INDEX:
            return False
    return True


def _configure(connection: Connection | None = None) -> None:
    context.configure(
        connection=connection,
        url=None if connection is not None else _url(),
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        include_object=_include_object,
        literal_binds=connection is None,
    )


def run_migrations_offline() -> None:
    _configure()
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
