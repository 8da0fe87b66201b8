"""An editor in a browser: signing in with the admin token and back to the page, correcting
an article's topics in the page (the correction shown, kept after a reload, and stored),
signing out; and a reader, or a wrong token, gets no editing controls."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from aggregator.classify.corrections import latest_corrections
from aggregator.service import open_database
from aggregator.taxonomy import default_taxonomy
from models import ArticleTopic, Topic, session_scope
from tests.browser.pages import accessibility_violations, path_of, sign_in, widths
from tests.fixtures.browser import PageProblems

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import Site

TOPIC_NAMES = {topic.slug: topic.name for topic in default_taxonomy()}
# A refusal, page and all, is what a wrong token or a foreign `next` may provoke (not a
# 404: the sign-in page is there).
REFUSED = r"^HTTP 4(?!04)\d\d: |the server responded with a status of 4(?!04)\d\d"


def sign_out_button(page: Page) -> Locator:
    return page.locator("header").get_by_role("button", name="Sign out")


def chips(item: Locator) -> tuple[set[str], set[str]]:
    """An article's topic chips: the names an editor set, and the model's."""
    editor = {text.strip() for text in item.locator(".chip.chip-editor").all_inner_texts()}
    model = {text.strip() for text in item.locator(".chip:not(.chip-editor)").all_inner_texts()}
    return editor, model


def test_an_editor_signs_in_and_comes_back_to_the_page(page: Page, site: Site) -> None:
    back_to = f"/?date={site.day(1)}"
    sign_in(page, back_to)

    assert path_of(page) == back_to
    assert sign_out_button(page).is_visible()
    items = page.locator("main article.item")
    assert items.count() > 0
    assert items.locator("details.edit-topics").count() == items.count()


def test_readers_see_no_editing_controls(page: Page, site: Site) -> None:
    page.goto(f"/?date={site.day(1)}")
    assert page.locator("main article.item").count() > 0
    assert page.locator("details.edit-topics").count() == 0
    assert sign_out_button(page).count() == 0


def test_a_wrong_token_signs_nobody_in(page: Page, site: Site, problems: PageProblems) -> None:
    problems.expect(REFUSED)
    back_to = f"/?date={site.day(1)}"
    sign_in(page, back_to, token="not-the-admin-token")

    assert urlsplit(page.url).path == "/sign-in"  # still asked for the token
    assert page.locator("input[name=token]").count() == 1
    assert sign_out_button(page).count() == 0
    page.goto(back_to)
    assert page.locator("details.edit-topics").count() == 0


@pytest.mark.parametrize(
    "elsewhere", ["https://elsewhere.example/", "//elsewhere.example/"],
    ids=["absolute", "scheme-relative"],
)  # fmt: skip
def test_sign_in_never_sends_the_editor_off_the_site(
    page: Page, site: Site, problems: PageProblems, elsewhere: str
) -> None:
    problems.expect(REFUSED)  # refusing such a `next` is as good as ignoring it
    response = page.goto(f"/sign-in?next={quote(elsewhere, safe='')}")
    assert response is not None
    if response.ok:
        page.locator("input[name=token]").fill(site.settings.admin_token or "")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    # (Leaving would also fail the test as a request refused: see the `page` fixture.)
    assert urlsplit(page.url).netloc == urlsplit(site.url).netloc


def test_an_editor_corrects_topics_in_the_page_and_the_correction_stays(
    page: Page, site: Site
) -> None:
    back_to = f"/?date={site.day(1)}"
    article_id = site.article_id("council-pause")
    chosen = ["government-contracts", "privacy-regulation"]
    sign_in(page, back_to)
    item = page.locator(f"main article.item#article-{article_id}").first
    assert chips(item)[0] == set()  # the model's topics until now

    editing = item.locator("details.edit-topics")
    editing.locator("summary", has_text="Edit topics").click()
    for box in editing.locator("input[name=topic]").all():
        box.set_checked(box.get_attribute("value") in chosen)
    with page.expect_navigation():
        editing.get_by_role("button", name="Save topics").click()

    assert path_of(page) == back_to
    shown = ({TOPIC_NAMES[slug] for slug in chosen}, set())
    assert chips(item) == shown
    page.reload()
    assert chips(item) == shown
    database = open_database(site.settings)
    try:
        with session_scope(database.factory) as session:
            corrected = latest_corrections(session)[article_id]
            tags = session.execute(
                select(Topic.slug, ArticleTopic.origin)
                .join(ArticleTopic.topic)
                .where(ArticleTopic.article_id == article_id)
            ).all()
    finally:
        database.close()
    assert sorted(corrected) == sorted(chosen)
    assert sorted(tags) == [(slug, "editor") for slug in sorted(chosen)]


def test_signing_out_takes_the_editing_controls_away(page: Page, site: Site) -> None:
    back_to = f"/?date={site.day(0)}"
    sign_in(page, back_to)
    assert page.locator("details.edit-topics").count() > 0

    with page.expect_navigation():
        sign_out_button(page).click()
    page.goto(back_to)
    assert sign_out_button(page).count() == 0
    assert page.locator("details.edit-topics").count() == 0


def test_the_editing_controls_fit_a_phone_and_are_accessible(
    page: Page, site: Site, screenshots: Path
) -> None:
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(page, f"/?date={site.day(2)}")
    summaries = page.locator("details.edit-topics > summary")
    assert summaries.count() > 0
    for summary in summaries.all():
        summary.click()  # every editing form open at once: the widest the page gets

    scroll_width, window_width = widths(page)
    path = screenshots / "digest-editor-phone.png"
    page.screenshot(path=path, full_page=True)
    print(f"screenshot: {path}")
    assert scroll_width <= window_width
    assert accessibility_violations(page) == []
