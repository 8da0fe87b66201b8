"""Shared fixtures: a migrated SQLite database per test (copied from one migrated and
trained template), real HTTP servers on 127.0.0.1, and a live app served by uvicorn; and
around every test, the environment cleared and the process-wide state put back, so that
no test depends on what ran before it (the suite runs in random order: pytest-randomly)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from aggregator import service, speedups
from aggregator.classify import model_cache
from aggregator.classify.registry import train_model
from aggregator.database import upgrade_database
from aggregator.service import Database, open_database, poll_once
from aggregator.settings import Settings, get_settings
from aggregator.taxonomy import default_taxonomy
from models import session_scope

# The checkout these tests belong to.
REPOSITORY_ROOT = Path(__file__).resolve().parents[1]


_PYTHONPATH_BEFORE = pytest.StashKey[str | None]()


def pytest_configure(config: pytest.Config) -> None:
    """Every process the tests start imports this checkout, as the tests themselves do
    (pytest puts it first on `sys.path`): the parse pool's fork server, which Python 3.11
    starts without the parent's `sys.path`, and fresh interpreters. The package may also be
    installed, editable, from another clone, and that copy is not the one under test."""
    here = str(REPOSITORY_ROOT)
    config.stash[_PYTHONPATH_BEFORE] = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [here, *filter(None, [config.stash[_PYTHONPATH_BEFORE]])]
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    before = config.stash.get(_PYTHONPATH_BEFORE, None)
    if before is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = before


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No BIOWIRE_* setting leaks in from the machine running the tests. (The switches of
    `tests.fixtures.required` are read before this runs, when the tests are collected.)"""
    for name in list(os.environ):
        if name.startswith("BIOWIRE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env is read and no database file is left behind


@pytest.fixture(autouse=True)
def restore_process_state(clean_environ: None) -> Iterator[None]:
    """Put back what a test may change for the whole process: the `biowire` logger (a
    command configures it), the garbage collector (a poll freezes the heap and raises the
    young generation's threshold), the model this process tags with (a poll installs it),
    the fast-paths switch, and the cached settings (read from the environment just
    cleared)."""
    logger = logging.getLogger("biowire")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    threshold, heap_was_frozen = gc.get_threshold(), gc.get_freeze_count() > 0
    polls_tuned_gc = service._heap_frozen  # whether the next poll leaves the collector be
    # The models this process holds: a module's fixture may have loaded one for its tests.
    models_held = model_cache.snapshot()
    fast_paths = speedups.enabled()
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    speedups.set_enabled(fast_paths)
    model_cache.restore(models_held)
    # Objects frozen before the test cannot be told from those it froze, so a freeze that
    # was already there stays; one the test made is undone.
    if not heap_was_frozen:
        gc.unfreeze()
    gc.set_threshold(*threshold)
    service._heap_frozen = polls_tuned_gc
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


# Runs a test with the fast paths on and off (`BIOWIRE_FAST_PATHS`): an equivalence test.
both_paths = pytest.mark.parametrize("fast_paths", [True, False], ids=["fast", "as-shipped"])


@pytest.fixture
def fast_paths() -> bool:
    """Whether the test takes Biowire's fast paths, as a process does by default; the
    equivalence tests parametrise it to run both ways (`BIOWIRE_FAST_PATHS`)."""
    return True


@pytest.fixture(autouse=True)
def fast_paths_switch(fast_paths: bool) -> Iterator[None]:
    """Each test starts with the process's switch at `fast_paths`, and leaves it as it was."""
    previous = speedups.enabled()
    speedups.set_enabled(fast_paths)
    yield
    speedups.set_enabled(previous)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated to head with the shipped model trained and active, made once."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    upgrade_database(url)
    db = open_database(Settings(database_url=url))
    with session_scope(db.factory) as session:
        train_model(session, default_taxonomy())
    db.close()
    return path


@pytest.fixture
def database_url(tmp_path: Path, template_database: Path) -> str:
    path = tmp_path / "biowire.db"
    shutil.copyfile(template_database, path)
    return f"sqlite:///{path}"


@pytest.fixture
def empty_database_url(tmp_path: Path) -> str:
    """A database file with no schema at all."""
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def settings(database_url: str, fast_paths: bool) -> Settings:
    return Settings(
        database_url=database_url,
        fast_paths=fast_paths,
        allow_private_networks=True,
        admin_token="test-token",
        total_timeout=5.0,
        read_timeout=2.0,
        connect_timeout=2.0,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    yield database
    database.close()


def run_poll(settings: Settings, db: Database, everything: bool = True):  # type: ignore[no-untyped-def]
    return asyncio.run(poll_once(settings, db, everything=everything))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The real app for `settings`, served by uvicorn on a free port in a thread; yields
    its base URL."""
    import uvicorn

    from web.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_app(settings: Settings) -> Iterator[str]:
    """The real app, served by uvicorn on a free port in a thread; yields its base URL."""
    with serving(settings) as url:
        yield url


@pytest.fixture
def client(live_app: str) -> Iterator[httpx.Client]:
    """An HTTP client of the live app."""
    with httpx.Client(base_url=live_app, timeout=10) as http:
        yield http
