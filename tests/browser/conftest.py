"""The browser tests' fixtures: one headless Chromium for the whole run, the real app served
by uvicorn on 127.0.0.1 for each module (on its own copy of one seeded database, so that
one module's corrections are not another's data), and a fresh page for each test whose
problems fail it.

The browser tests run after all the others, in their shuffled order: while Playwright's
synchronous API is started, the main thread counts as running Playwright's event loop, and
`asyncio.run` there (a poll in a test) would refuse to start. So the one browser, started
by the first browser test, lasts to the end of the run without standing in another test's
way.

Screenshots go to `test-output/browser/` in the checkout (ignored by git), emptied at the
start of each run and named at its end: a fixed place beside the code that CI and a
person can both find after the run, where pytest's own temporary folders are deep under
the system's and pruned after a few runs.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aggregator.service import open_database
from aggregator.settings import Settings
from tests.browser.pages import ADMIN_TOKEN, DESKTOP
from tests.browser.seed import SeededSite, seed
from tests.conftest import REPOSITORY_ROOT, serving
from tests.fixtures.browser import PageProblems, launched_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

BROWSER_TESTS = Path(__file__).resolve().parent
SCREENSHOTS = REPOSITORY_ROOT / "test-output" / "browser"
# Local pages answer in milliseconds: a selector that waits longer is missing, and the
# run should say so soon rather than after Playwright's 30 s.
ACTION_TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: pytest-randomly has shuffled the list before this runs.
    items.sort(key=lambda item: item.path.resolve().is_relative_to(BROWSER_TESTS))


@dataclass(frozen=True)
class Site:
    """One module's live app: its address, its settings (the database the tests may read
    after the app has written), and what was seeded there."""

    url: str
    settings: Settings
    seeded: SeededSite

    def article_id(self, key: str) -> int:
        return self.seeded.ids[key]

    def day(self, index: int) -> str:
        return self.seeded.days[index].isoformat()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def seeded_database(
    tmp_path_factory: pytest.TempPathFactory, template_database: Path
) -> tuple[Path, SeededSite]:
    """The stories of `tests.browser.seed` in a copy of the migrated, trained template;
    made once, copied by each module."""
    path = tmp_path_factory.mktemp("browser") / "seeded.db"
    shutil.copyfile(template_database, path)
    database = open_database(_settings(f"sqlite:///{path}"))
    try:
        seeded = seed(database, datetime.now(UTC))
    finally:
        database.close()
    return path, seeded


def _settings(database_url: str) -> Settings:
    # Everything the pages depend on is given here, and no `.env` is read: these settings
    # are made before `clean_environ` has cleared the machine's BIOWIRE_* variables.
    return Settings(
        _env_file=None, database_url=database_url, admin_token=ADMIN_TOKEN, timezone="UTC"
    )


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, seeded_database: tuple[Path, SeededSite]
) -> Iterator[Site]:
    template, seeded = seeded_database
    path = tmp_path_factory.mktemp("site") / "biowire.db"
    shutil.copyfile(template, path)
    settings = _settings(f"sqlite:///{path}")
    with serving(settings) as url:
        yield Site(url, settings, seeded)


@pytest.fixture
def problems() -> PageProblems:
    """What goes wrong in the test's page; `problems.expect(pattern)` lets a provoked one
    pass."""
    return PageProblems()


@pytest.fixture
def page(browser: Browser, site: Site, problems: PageProblems) -> Iterator[Page]:
    """A page in a fresh context (no cookies from another test) on the module's site, its
    paths relative to it. Requests that would leave 127.0.0.1 are refused, so nothing
    reaches the network and a page that needs anything from elsewhere shows it as a
    failed request."""
    # The window most tests see; the layout tests set phone sizes themselves.
    context = browser.new_context(base_url=site.url, viewport=DESKTOP)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    context.route(re.compile(rf"^(?!{re.escape(site.url)}/)"), lambda route: route.abort())
    page = context.new_page()
    problems.watch(page)
    try:
        yield page
    finally:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test whose page reported a problem it did not expect fails, as a failure of the
    test itself (not of its teardown)."""
    outcome = yield
    funcargs = getattr(item, "funcargs", {})
    problems, page = funcargs.get("problems"), funcargs.get("page")
    if isinstance(problems, PageProblems):
        if page is not None and not page.is_closed():
            page.wait_for_load_state()  # a round trip: events already sent are heard first
        unexpected = problems.unexpected()
        if unexpected:
            pytest.fail("the page reported problems:\n  " + "\n  ".join(unexpected))
    return outcome


_screenshots_taken = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def screenshots(pytestconfig: pytest.Config) -> Path:
    """The folder of this run's screenshots, emptied first."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    pytestconfig.stash[_screenshots_taken] = True
    return SCREENSHOTS


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if config.stash.get(_screenshots_taken, False):
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")
