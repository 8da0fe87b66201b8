"""The other pages in a browser: a topic's page with its chart, the list of sources, and the
policy every page sends that lets scripts come only from the site itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from aggregator.taxonomy import default_taxonomy
from tests.browser.seed import FEEDS

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import Site

TOPIC_NAMES = {topic.slug: topic.name for topic in default_taxonomy()}


@pytest.mark.parametrize("slug", ["digital-id", "liveness-fraud"])
def test_a_topic_page_shows_its_chart(page: Page, site: Site, slug: str) -> None:
    response = page.goto(f"/topics/{slug}")
    assert response is not None and response.status == 200
    main = page.get_by_role("main")
    assert TOPIC_NAMES[slug] in main.inner_text()
    chart = main.locator("svg[role=img]")
    assert chart.count() >= 1 and chart.first.is_visible()


def test_the_sources_page_lists_every_source(page: Page, site: Site) -> None:
    response = page.goto("/sources")
    assert response is not None and response.status == 200
    listing = page.get_by_role("main").inner_text()
    for feed in FEEDS:
        assert feed.title in listing


@pytest.mark.parametrize(
    "path", ["/", "/topics/digital-id", "/sources", "/sign-in?next=/"],
    ids=["digest", "topic", "sources", "sign-in"],
)  # fmt: skip
def test_pages_run_only_the_sites_own_scripts(page: Page, site: Site, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200
    policy = response.headers.get("content-security-policy", "")
    directives = {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }
    # Without a script-src of its own, default-src decides where scripts may come from.
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts is not None, f"no policy for scripts in {policy!r}"
    assert "'self'" in scripts
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(scripts), policy
