"""The fast-paths switch: one for the process, set from the settings where work starts
(the parse workers' share is in tests/aggregator/ingest/test_feedparser_speedups.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aggregator import speedups
from aggregator.cli.main import app
from aggregator.service import open_database
from aggregator.settings import Settings
from models import sqlite_driver


@pytest.mark.parametrize("flag", [False, True], ids=["off", "on"])
def test_the_switch_flips_the_sqlite_drivers_own(flag: bool) -> None:
    speedups.set_enabled(not flag)
    speedups.set_enabled(flag)
    assert (speedups.enabled(), sqlite_driver.enabled()) == (flag, flag)


@pytest.mark.parametrize("flag", [False, True], ids=["off", "on"])
def test_opening_the_database_sets_the_switch_from_the_settings(
    database_url: str, flag: bool
) -> None:
    speedups.set_enabled(not flag)
    open_database(Settings(database_url=database_url, fast_paths=flag)).close()
    assert (speedups.enabled(), sqlite_driver.enabled()) == (flag, flag)


@pytest.mark.parametrize(("value", "flag"), [("0", False), ("1", True)], ids=["off", "on"])
def test_a_command_sets_the_switch_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, value: str, flag: bool
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    monkeypatch.setenv("BIOWIRE_FAST_PATHS", value)
    speedups.set_enabled(not flag)
    # A command that opens no database through the service: the command itself sets it.
    result = CliRunner().invoke(app, ["db", "current"])
    assert result.exit_code == 0, result.output
    assert (speedups.enabled(), sqlite_driver.enabled()) == (flag, flag)
