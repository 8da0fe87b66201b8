"""What every `biowire` command shares: the consoles, the settings (which set the process's
fast-paths switch) and the database.

Light to import, as every command module is: a command imports what it needs when it
runs, so that `biowire --help` starts at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from aggregator.service import Database
    from aggregator.settings import Settings

console = Console()
err_console = Console(stderr=True)


@dataclass(frozen=True)
class Server:
    """How the serving commands serve the web app: given by the command as installed
    (`web.cli`), since nothing in the aggregator imports the web layer. `serve` takes the
    settings (where to listen among them), whether to poll on schedule too, and how many
    worker processes serve requests."""

    serve: Callable[[Settings, bool, int], None]


def load_settings() -> Settings:
    """The settings, with this process's fast-paths switch set from them: the first thing
    every command does, before any work."""
    from aggregator import speedups
    from aggregator.settings import get_settings

    settings = get_settings()
    speedups.set_enabled(settings.fast_paths)
    return settings


@contextlib.contextmanager
def database(settings: Settings, migrate: bool = False) -> Iterator[Database]:
    """The database, open for the command and closed after it."""
    from aggregator.service import open_database

    db = open_database(settings, migrate=migrate)
    try:
        yield db
    finally:
        db.close()
