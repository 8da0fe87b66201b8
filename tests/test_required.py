"""The switches of `tests.fixtures.required`, tried for real: the corpus, PostgreSQL and
browser tests run in a fresh pytest with their parts made missing (the corpus looked for
where there is none, PostgreSQL on a port nobody listens on, Chromium at a path with no
file), once without the switches and once with them, as CI sets them."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.processes import run_pytest
from tests.fixtures.required import REQUIRE_BROWSER, REQUIRE_CORPUS, REQUIRE_POSTGRES

# PostgreSQL's tests, the corpus's and some of the browser's.
NEEDING_PARTS = (
    "tests/models/test_postgres.py",
    "tests/aggregator/ingest/test_corpus.py",
    "tests/browser/test_pages.py",
)


@pytest.fixture
def parts_missing(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment that sends those tests to a missing corpus, a closed port and a
    browser that is not there."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        yield {
            "BIOWIRE_TEST_CORPUS": str(tmp_path / "no-corpus-here"),
            "BIOWIRE_TEST_POSTGRES_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
            "BIOWIRE_TEST_CHROMIUM": str(tmp_path / "no-chromium-here"),
        }


@pytest.mark.parametrize(
    ("switches", "returncode", "summary", "says"),
    [
        ((), 0, "skipped",
         ["no PostgreSQL at postgresql+psycopg://", "the shared feed corpus is not at ",
          "no Chromium: BIOWIRE_TEST_CHROMIUM="]),
        ((REQUIRE_POSTGRES, REQUIRE_CORPUS, REQUIRE_BROWSER), 1, "errors",
         [f"{switch}=1 requires it here, so this fails, not skips"
          for switch in (REQUIRE_POSTGRES, REQUIRE_CORPUS, REQUIRE_BROWSER)]),
    ],
    ids=["without-switches-skips", "with-switches-fails"],
)  # fmt: skip
def test_missing_parts_skip_unless_their_switches_require_them(
    parts_missing: dict[str, str],
    switches: tuple[str, ...],
    returncode: int,
    summary: str,
    says: list[str],
) -> None:
    # This process's environment has no BIOWIRE_* variable (`clean_environ`), so the run
    # sees only the switches given here, even under a CI that sets them all.
    env = {**parts_missing, **{switch: "1" for switch in switches}}

    ran = run_pytest("-q", "-rs", *NEEDING_PARTS, env=env, timeout=120)

    output = ran.stdout + ran.stderr
    assert ran.returncode == returncode, output
    # Every test of those files skipped (or, required, failed): none ran without its part.
    last = output.strip().splitlines()[-1]
    assert re.fullmatch(rf"\d+ {summary} in [\d.]+s", last), output
    for message in says:
        assert message in output
