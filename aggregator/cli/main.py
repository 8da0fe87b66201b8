"""The `biowire` command (typer for parsing, rich for tables and progress): the command
groups assembled, and `main`, which reports Biowire's own errors as one line.

Every command module is light to import and imports what its commands need when they run,
so that `biowire --help` starts at once (a test holds this: tests/test_lazy_imports.py).
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from aggregator.cli import classifier, database, pipeline, sources
from aggregator.cli.common import Server, err_console
from aggregator.errors import BiowireError

app = typer.Typer(help="Biowire: biometrics and digital-identity news, polled, tagged, served.",
                  no_args_is_help=True, add_completion=False)  # fmt: skip
app.add_typer(database.app, name="db")
app.add_typer(sources.app, name="sources")
classifier.register(app)
pipeline.register(app)


def main(server: Server | None = None) -> None:
    """Run the command; `server` is what `serve`, `up` and `demo` serve with (the installed
    command, `web.cli`, gives it)."""
    try:
        app(obj=server)
    except BiowireError as error:
        err_console.print(f"[bold red]error:[/] {escape(str(error))}")
        sys.exit(1)


if __name__ == "__main__":
    main()
