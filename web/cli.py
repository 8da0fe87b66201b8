"""The `biowire` command as installed: the aggregator's commands (`aggregator.cli`), given
the web server that `serve`, `up` and `demo` serve with. The two halves meet here because
the web layer builds on the aggregator and never the other way round.

Light to import, as `biowire --help` must be: the server is imported when one is started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aggregator.cli import main as commands
from aggregator.cli.common import Server

if TYPE_CHECKING:
    from aggregator.settings import Settings


def _serve(settings: Settings, background_poll: bool, workers: int) -> None:
    from web.server import serve

    serve(settings, background_poll, workers)


def main() -> None:
    commands.main(Server(_serve))


if __name__ == "__main__":
    main()
