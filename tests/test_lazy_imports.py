"""Light imports: the web app and the `biowire` command start without the pipeline's heavy
libraries, which load only where the work needs them (a fresh interpreter each, in this
checkout, reporting what it imported)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPOSITORY_ROOT

# Libraries of classifying (scikit-learn and what it stands on) and of polling.
CLASSIFYING = {"sklearn", "scipy", "numpy", "joblib"}
POLLING = {"feedparser", "aiohttp", "httpx"}
# And what the commands that do work need: the database, the settings, the server. (Not
# pydantic itself: typer reads a command's parameters with it, for `biowire poll --help`.)
WORKING = {"sqlalchemy", "alembic", "pydantic_settings", "fastapi", "uvicorn"}

_HELP = """
import sys
from aggregator.cli.main import main
sys.argv = ["biowire", *{args!r}]
try:
    main()
except SystemExit as exit:
    assert exit.code == 0, exit.code
"""


_REPORT = """
print(sys.modules["aggregator"].__file__)
print(*{module.split(".")[0] for module in sys.modules})
"""


def imported_packages(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running `code`, which
    must import Biowire from this checkout."""
    ran = subprocess.run(
        [sys.executable, "-c", "import sys\n" + textwrap.dedent(code) + _REPORT],
        cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    *_, imported_from, packages = ran.stdout.splitlines()
    assert imported_from == str(REPOSITORY_ROOT / "aggregator" / "__init__.py")
    return set(packages.split())


@pytest.mark.parametrize(
    ("code", "forbidden"),
    [
        ("import web.app", CLASSIFYING | POLLING | {"uvicorn"}),
        ("from web.app import create_app\ncreate_app()", CLASSIFYING | POLLING | {"uvicorn"}),
        ("import aggregator.cli.main", CLASSIFYING | POLLING | WORKING),
        (_HELP.format(args=["--help"]), CLASSIFYING | POLLING | WORKING),
        (_HELP.format(args=["poll", "--help"]), CLASSIFYING | POLLING | WORKING),
        (_HELP.format(args=["model", "--help"]), CLASSIFYING | POLLING | WORKING),
    ],
    ids=["web.app", "create_app", "cli.main", "biowire-help", "poll-help", "model-help"],
)
def test_starting_imports_nothing_heavy(code: str, forbidden: set[str]) -> None:
    assert imported_packages(code) & forbidden == set()


def test_the_checks_above_can_see_a_heavy_import() -> None:
    # What the poll command imports when it runs: every library of the pipeline.
    packages = imported_packages("import aggregator.cli.pipeline, aggregator.service")
    assert packages >= CLASSIFYING | POLLING | {"sqlalchemy", "alembic"}
