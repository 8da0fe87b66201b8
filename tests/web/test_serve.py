"""Serving from the command line: where to listen (options over `BIOWIRE_HOST` and
`BIOWIRE_PORT`), and several worker processes, started as a person would start them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from aggregator.cli.common import Server
from aggregator.cli.main import app
from aggregator.settings import Settings
from tests.conftest import free_port


class Served:
    """A stand-in for the web server: records how the command asked to be served."""

    def __init__(self) -> None:
        self.calls: list[tuple[Settings, bool, int]] = []

    def __call__(self, settings: Settings, background_poll: bool, workers: int) -> None:
        self.calls.append((settings, background_poll, workers))


@pytest.mark.parametrize("command", [["serve"], ["up", "--no-initial-poll"]], ids=["serve", "up"])
@pytest.mark.parametrize(
    ("options", "listening"),
    [
        ([], ("127.0.0.3", 8123)),
        (["--host", "127.0.0.4"], ("127.0.0.4", 8123)),
        (["--port", "9001"], ("127.0.0.3", 9001)),
        (["--host", "::1", "--port", "9002"], ("::1", 9002)),
    ],
    ids=["environment", "host-option", "port-option", "both-options"],
)
def test_options_say_where_to_listen_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    command: list[str],
    options: list[str],
    listening: tuple[str, int],
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    monkeypatch.setenv("BIOWIRE_HOST", "127.0.0.3")
    monkeypatch.setenv("BIOWIRE_PORT", "8123")
    served = Served()
    result = CliRunner().invoke(app, [*command, *options], obj=Server(served))
    assert result.exit_code == 0, result.output
    [(settings, background_poll, workers)] = served.calls
    assert (settings.host, settings.port) == listening
    assert settings.database_url == database_url
    assert (background_poll, workers) == ((True, 1) if command[0] == "up" else (False, 1))


def test_serve_takes_a_number_of_workers(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("BIOWIRE_DATABASE_URL", database_url)
    served = Served()
    result = CliRunner().invoke(app, ["serve", "--workers", "3"], obj=Server(served))
    assert result.exit_code == 0, result.output
    assert [workers for _, _, workers in served.calls] == [3]
    refused = CliRunner().invoke(app, ["serve", "--workers", "0"], obj=Server(served))
    assert refused.exit_code == 2 and len(served.calls) == 1


def test_serve_help_documents_the_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "BIOWIRE_HOST", "BIOWIRE_PORT"):
        assert option in result.output


def test_settings_pass_to_a_new_process_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        database_url="sqlite:////srv/biowire.db", host="0.0.0.0", port=8080,
        admin_token="secret token", allow_private_networks=True, read_timeout=2.5,
        fast_paths=False, retrain_hours=0,
    )  # fmt: skip
    for name, value in settings.environment().items():
        if value is not None:
            monkeypatch.setenv(name, value)
    assert Settings() == settings


def _worker_pids(base_url: str, requests: int) -> set[int]:
    """The pids of the workers that answered `requests` health checks, a connection each
    (a worker keeps a connection it accepted), several at a time."""

    def ask(_: int) -> int:
        pid: int = httpx.get(f"{base_url}/healthz", timeout=10).json()["pid"]
        return pid

    with ThreadPoolExecutor(max_workers=8) as pool:
        return set(pool.map(ask, range(requests)))


def _wait_until_serving(process: subprocess.Popen[str], base_url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_several_workers_serve_and_stop_on_a_signal(
    database_url: str, tmp_path: Path, stop: signal.Signals
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # The port of the environment is not the one to listen on: the option is.
    env = {**os.environ, "BIOWIRE_DATABASE_URL": database_url, "BIOWIRE_PORT": str(free_port())}
    process = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    workers: set[int] = set()
    try:
        _wait_until_serving(process, base_url)
        for _ in range(10):  # which worker accepts a connection is the kernel's choice
            workers |= _worker_pids(base_url, 40)
            if len(workers) == 2:
                break
        assert len(workers) == 2 and process.pid not in workers
        process.send_signal(stop)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert not any(_alive(pid) for pid in workers)
