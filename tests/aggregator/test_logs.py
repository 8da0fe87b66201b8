from __future__ import annotations

import io
import logging

import pytest

from aggregator.logs import configure_logging


def test_log_lines_are_key_value_and_go_to_the_current_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure_logging("INFO")  # undone after the test by `restore_process_state`
    # A progress bar swaps sys.stderr for its own stream after logging is set up.
    swapped = io.StringIO()
    monkeypatch.setattr("sys.stderr", swapped)
    logging.getLogger("biowire.poll").info(
        "refreshed source", extra={"source": "https://a.example/feed", "status": 304,
                                   "error": None, "note": "two words"}
    )  # fmt: skip
    line = swapped.getvalue()
    assert " info biowire.poll refreshed source " in line
    assert 'source=https://a.example/feed status=304 note="two words"' in line
    assert "error=" not in line  # empty fields are left out
