"""The pages as a reader sees them: no sideways scrolling on a phone, screenshots at phone
and desktop sizes (in `test-output/browser/`), and no serious accessibility faults that
axe-core can find."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.pages import DESKTOP, PHONE, accessibility_violations, widths

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

    from tests.browser.conftest import Site

# Each page a reader reaches, and where: the digest shows today's stories, the hostile
# headline among them.
PAGES = {
    "digest": "/",
    "topic": "/topics/liveness-fraud",
    "sources": "/sources",
    "sign-in": "/sign-in?next=/",
}


def png_size(image: bytes) -> tuple[int, int]:
    """A PNG's width and height, from its header chunk."""
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and image[12:16] == b"IHDR"
    width, height = struct.unpack(">II", image[16:24])
    return width, height


@pytest.mark.parametrize("width", [360, 390])
@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(page: Page, site: Site, name: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(PAGES[name])
    scroll_width, window_width = widths(page)
    assert scroll_width <= window_width


@pytest.mark.parametrize(
    ("device", "size"), [("phone", PHONE), ("desktop", DESKTOP)], ids=["phone", "desktop"]
)
@pytest.mark.parametrize("name", ["digest", "topic", "sources"])
def test_screenshots_at_phone_and_desktop_sizes(
    page: Page, site: Site, screenshots: Path, name: str, device: str, size: ViewportSize
) -> None:
    page.set_viewport_size(size)
    page.goto(PAGES[name])
    path = screenshots / f"{name}-{device}.png"
    page.screenshot(path=path, full_page=True)
    print(f"screenshot: {path}")
    # The whole page, as wide as the window (a wider page would widen the picture).
    width, height = png_size(path.read_bytes())
    assert width == size["width"]
    assert height >= size["height"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_have_no_serious_accessibility_faults(page: Page, site: Site, name: str) -> None:
    page.goto(PAGES[name])
    assert accessibility_violations(page) == []
