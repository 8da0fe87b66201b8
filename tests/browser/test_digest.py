"""The digest in a browser: it loads without errors, its topic boxes and search narrow the
list and show in the address, its day links keep the filters, and a headline or summary
made of markup stays words on the page."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest

from tests.browser.pages import follow, listed, query_of, tick
from tests.browser.seed import FEEDS, HOSTILE_TEXT, HOSTILE_TITLE, STORY
from tests.fixtures.browser import PageProblems

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import Site


def submit(page: Page, form: Locator) -> None:
    """Send the filter form by its one submit button, as a reader does."""
    with page.expect_navigation():
        form.locator("button[type=submit], input[type=submit]").click()


def test_the_digest_loads_with_todays_stories(page: Page, site: Site) -> None:
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert page.get_by_role("main").count() == 1
    assert page.locator("header nav").count() >= 1
    assert listed(page, site) == site.seeded.expected(2)
    titles = page.locator("main article.item h3 a").all_inner_texts()
    assert len(titles) >= len(site.seeded.expected(2)) and all(t.strip() for t in titles)


@pytest.mark.parametrize(
    ("topics", "q"),
    [
        ((), "ferry"),
        (("digital-id", "payments-finance"), None),
        (("liveness-fraud",), "attack"),
    ],
    ids=["search", "two-topics", "topic-and-search"],
)
def test_filters_narrow_the_list_and_show_in_the_address(
    page: Page, site: Site, topics: tuple[str, ...], q: str | None
) -> None:
    page.goto(f"/?date={site.day(2)}")
    # Several topics are ticked in a search form; other topics' boxes stay as they are.
    form = page.get_by_role("search") if topics else page.locator("form.filters")
    for slug in topics:
        tick(form.locator(f"input[name=topic][value={slug}]"))
    if q:
        form.locator("input[name=q]").fill(q)
    submit(page, form)

    query = query_of(page)
    assert sorted(query.get("topic", [])) == sorted(topics)
    assert query.get("q") == ([q] if q else None)
    assert listed(page, site) == site.seeded.expected(2, topics, q)
    # The form shows the filters the list obeys.
    for slug in topics:
        assert page.locator(f"form.filters input[name=topic][value={slug}]").is_checked()
    assert page.locator("form.filters input[name=q]").input_value() == (q or "")


@pytest.mark.parametrize(
    ("topics", "q"),
    [
        (("border-control",), None),
        (("liveness-fraud",), "attack"),
        (("border-control", "privacy-regulation"), None),
    ],
    ids=["one-topic", "topic-and-search", "two-topics"],
)
def test_previous_and_next_day_keep_the_filters(
    page: Page, site: Site, topics: tuple[str, ...], q: str | None
) -> None:
    filters = [("topic", slug) for slug in topics] + ([("q", q)] if q else [])
    page.goto(f"/?{urlencode([('date', site.day(1)), *filters])}")
    assert listed(page, site) == site.seeded.expected(1, topics, q)

    def day_shown() -> int:
        """Which seeded day the page shows, once it is sure the filters came along."""
        query = query_of(page)
        assert sorted(query.get("topic", [])) == sorted(topics)
        assert query.get("q") == ([q] if q else None)
        [shown] = query["date"]
        day = [d.isoformat() for d in site.seeded.days].index(shown)
        assert listed(page, site) == site.seeded.expected(day, topics, q)
        return day

    # Back to the only earlier day, then forward to today: a day with nothing that
    # matches may be passed over, never a day that has something.
    follow(page, page.locator("a[rel=prev]").first)
    assert day_shown() == 0
    visited = []
    while not visited or visited[-1] < 2:
        follow(page, page.locator("a[rel=next]").first)
        visited.append(day_shown())
        assert visited == sorted(set(visited)) and visited[0] > 0, visited
    if site.seeded.expected(1, topics, q):
        assert visited == [1, 2]


def test_a_headline_of_markup_shows_as_text_and_runs_nothing(
    page: Page, site: Site, problems: PageProblems
) -> None:
    page.goto(f"/?date={site.day(2)}")  # waits for the load event: images have failed

    item = page.locator(f"#article-{site.article_id('hostile')}")
    assert item.locator("h3 a").inner_text() == HOSTILE_TITLE
    assert HOSTILE_TEXT in item.inner_text()
    assert item.locator("img, script").count() == 0
    assert page.locator("img[onerror], img[src=x]").count() == 0
    assert not page.evaluate("[...document.scripts].some(s => s.text.includes('alert'))")
    assert problems.dialogs == []


def test_a_story_two_feeds_carried_names_both(page: Page, site: Site) -> None:
    page.goto(f"/?date={site.day(1)}")
    story = STORY["rail-check-in"]
    item = page.locator(f"#article-{site.article_id(story.key)}").first
    carried_by = [feed.title for feed in FEEDS if feed.key in story.feeds]
    assert len(carried_by) == 2
    for title in carried_by:
        assert title in item.inner_text()
