"""What the browser tests read off a page and do in it, in the terms of the pages' contract:
the digest's `article.item#article-<id>` items, its filter form (`form.filters`), the
sign-in form at `/sign-in?next=`."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlsplit

from tests.fixtures.browser import browser_module

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import Site

ADMIN_TOKEN = "editor-secret-for-the-browser-tests"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def listed(page: Page, site: Site) -> set[str]:
    """The seeded stories the page lists, by key."""
    ids = page.locator("main article.item").evaluate_all("items => items.map(item => item.id)")
    return {site.seeded.key_of(int(id_.removeprefix("article-"))) for id_ in ids}


def query_of(page: Page) -> dict[str, list[str]]:
    """The page's address's query, each name with all its values (blank ones left out)."""
    return parse_qs(urlsplit(page.url).query)


def path_of(page: Page) -> str:
    """The page's address from its path on, without the fragment."""
    parts = urlsplit(page.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def follow(page: Page, link: Locator) -> None:
    """Click `link` in the middle of its box, as a reader's pointer would, and wait for the
    page it leads to. (Playwright otherwise aims at the link's first fragment, which for a
    link that opens with a visually hidden label is that label's 1-pixel box.)"""
    box = link.bounding_box()
    assert box is not None, "the link is not shown"
    with page.expect_navigation():
        link.click(position={"x": box["width"] / 2, "y": box["height"] / 2})


def tick(box: Locator) -> None:
    """Tick a checkbox, first opening the disclosure (`<details>`) that hides it, if any,
    as a reader would."""
    if not box.is_visible():
        closed = box.locator("xpath=ancestor::details[not(@open)]/summary")
        for summary in reversed(closed.all()):  # the outermost first
            summary.click()
    box.check()


def sign_in(page: Page, then: str, token: str = ADMIN_TOKEN) -> None:
    """Sign in as an editor from the sign-in page, asking to come back to `then`."""
    page.goto(f"/sign-in?next={quote(then, safe='')}")
    page.locator("input[name=token]").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def widths(page: Page) -> tuple[int, int]:
    """The page's width and its window's, in CSS pixels: a page wider than its window
    scrolls sideways."""
    scroll, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(scroll), int(window)


# The impacts axe-core ranks highest; "moderate" and "minor" findings are left to review.
SERIOUS_IMPACTS = ("serious", "critical")


def accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands, one line each
    (the engine the `axe-playwright-python` package ships, run in the page: no network)."""
    axe = browser_module("axe_playwright_python.sync_playwright", "axe-playwright-python").Axe
    found = axe().run(page).response["violations"]
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}; at "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in found
        if violation["impact"] in SERIOUS_IMPACTS
    ]
