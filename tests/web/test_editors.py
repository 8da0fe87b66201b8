"""Editors on the pages, over real HTTP: signing in with the admin token, the session's
cookie, correcting an article's topics with the page's form, the checks that keep other
sites from sending those forms, and the pages' caching around editors."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from aggregator.service import Database, classify_new
from aggregator.settings import Settings
from models import Article, ArticleTopic, Correction, session_scope
from web.editors import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    local_path,
    new_session_cookie,
    read_session_cookie,
)

TOKEN = "test-token"  # the `settings` fixture's admin token
pytestmark = pytest.mark.usefixtures("articles")


@pytest.fixture
def articles(db: Database) -> list[int]:
    """Two articles published now, so on today's digest, tagged by the model."""
    with session_scope(db.factory) as session:
        rows = [
            Article(
                dedup_key=f"https://news.example.org/{slug}", url=None, title=title, text=text,
                content_hash=slug, published_at=datetime.now(UTC),
            )  # fmt: skip
            for slug, title, text in [
                ("face-boarding", "Airport rolls out face boarding at every gate",
                 "Passengers board with a face scan instead of a boarding pass."),
                ("fingerprint-bank", "Bank adopts fingerprint payment cards",
                 "Customers pay by touching the card's fingerprint sensor."),
            ]
        ]  # fmt: skip
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    classify_new(db)
    return ids


@pytest.fixture
def article_id(articles: list[int]) -> int:
    return articles[0]


@pytest.fixture
def editor(live_app: str) -> Iterator[httpx.Client]:
    """A browser signed in as an editor."""
    with httpx.Client(base_url=live_app, timeout=10) as browser:
        response = sign_in(browser)
        assert response.status_code == 303, response.text
        yield browser


def sign_in(browser: httpx.Client, token: str = TOKEN, next_page: str = "/",
            **headers: str) -> httpx.Response:  # fmt: skip
    return browser.post("/sign-in", data={"token": token, "next": next_page}, headers=headers)


def set_cookie(response: httpx.Response) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie


def form_token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no editor's form"
    return found.group(1)


def correct(browser: httpx.Client, article_id: int, topics: list[str], csrf: str | None,
            next_page: str = "/", **headers: str) -> httpx.Response:  # fmt: skip
    form: dict[str, str | list[str]] = {"topic": topics, "next": next_page}
    if csrf is not None:
        form["csrf"] = csrf
    return browser.post(f"/articles/{article_id}/topics", data=form, headers=headers)


def stored_topics(db: Database, article_id: int) -> list[tuple[str, str]]:
    with session_scope(db.factory) as session:
        tags = session.scalars(select(ArticleTopic).where(ArticleTopic.article_id == article_id))
        return sorted((tag.topic.slug, tag.origin) for tag in tags)


def corrections(db: Database) -> list[tuple[int, list[str], str]]:
    with session_scope(db.factory) as session:
        rows = session.scalars(select(Correction).order_by(Correction.id))
        return [(row.article_id, list(row.topics), row.created_by) for row in rows]


# Signing in.


def test_the_sign_in_form_asks_for_the_admin_token(client: httpx.Client) -> None:
    page = client.get("/sign-in", params={"next": "/?topic=border-control"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    markup = page.text
    assert re.search(r'<label for="admin-token">Admin token</label>', markup)
    field = re.search(r"<input id=\"admin-token\"[^>]*>", markup)
    assert field and all(
        attribute in field.group(0)
        for attribute in ('type="password"', 'name="token"', 'autocomplete="current-password"')
    )
    assert '<button type="submit">Sign in</button>' in markup
    assert '<input type="hidden" name="next" value="/?topic=border-control">' in markup


def test_the_right_token_signs_in_and_goes_back(client: httpx.Client) -> None:
    response = sign_in(client, next_page="/?topic=border-control")
    assert response.status_code == 303
    assert response.headers["location"] == "/?topic=border-control"
    morsel = set_cookie(response)[SESSION_COOKIE]
    assert morsel["httponly"] and morsel["samesite"].lower() == "strict" and morsel["path"] == "/"
    assert int(morsel["max-age"]) == SESSION_LIFETIME.total_seconds() and morsel["expires"]
    assert not morsel["secure"]  # plain HTTP: a Secure cookie would never come back
    assert TOKEN not in morsel.value
    assert 'class="edit-topics"' in client.get("/").text


@pytest.mark.parametrize(
    ("headers", "public_url"),
    [({"X-Forwarded-Proto": "https"}, None), ({}, "https://biowire.example.org")],
    ids=["https-behind-a-proxy", "https-base-url"],
)
def test_the_cookie_is_secure_where_the_site_is_https(
    database_url: str, headers: dict[str, str], public_url: str | None
) -> None:
    from tests.conftest import serving

    settings = Settings(database_url=database_url, admin_token=TOKEN, base_url=public_url)
    with serving(settings) as url, httpx.Client(base_url=url, timeout=10) as browser:
        response = sign_in(browser, **headers)
    assert response.status_code == 303
    assert set_cookie(response)[SESSION_COOKIE]["secure"]


@pytest.mark.parametrize(
    "token",
    ["wrong-token", "", "test-token-and-more", "TEST-TOKEN", "test-tok", "x" * 5000],
    ids=["wrong", "empty", "longer", "other-case", "prefix", "very-long"],
)
def test_a_wrong_token_is_told_so_and_learns_nothing(client: httpx.Client, token: str) -> None:
    response = sign_in(client, token=token, next_page="/?q=face")
    assert response.status_code == 401
    assert "That token is not right." in response.text
    assert not response.headers.get_list("set-cookie")
    assert 'name="token"' in response.text  # the form again...
    assert 'value="/?q=face"' in response.text  # ...going to the same place
    assert not token or token not in response.text
    field = re.search(r"<input id=\"admin-token\"[^>]*>", response.text)
    assert field and "value=" not in field.group(0)
    # Every wrong token gets the same page, byte for byte.
    assert response.text == sign_in(client, token="another-wrong-one", next_page="/?q=face").text


@pytest.mark.parametrize(
    ("next_page", "kept"),
    [
        ("/?date=2024-05-01&topic=border-control", True),
        ("/sign-in", True),
        ("//evil.example/", False),
        ("https://evil.example/", False),
        ("/\\evil.example", False),
        ("/\t/evil.example", False),
        ("javascript:alert(1)", False),
        ("evil.example", False),
        ("", False),
    ],
    ids=["page", "local", "scheme-relative", "absolute", "backslash", "tab", "javascript",
         "relative", "empty"],
)  # fmt: skip
def test_signing_in_goes_back_only_to_this_site(
    client: httpx.Client, next_page: str, kept: bool
) -> None:
    assert local_path(next_page) == (next_page if kept else "/")
    response = sign_in(client, next_page=next_page)
    assert response.status_code == 303
    assert response.headers["location"] == (next_page if kept else "/")
    # The form's own `next` is checked the same way.
    page = client.get("/sign-in", params={"next": next_page}).text
    form = re.search(r'<form method="post" action="/sign-in">.*?</form>', page, re.S)
    kept_page = html.escape(next_page if kept else "/")
    assert form and f'name="next" value="{kept_page}"' in form.group(0)


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Origin": "null"},
     {"Referer": "https://evil.example/page"}],
    ids=["foreign-origin", "null-origin", "foreign-referer"],
)  # fmt: skip
def test_sign_in_from_another_site_is_refused(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    response = sign_in(client, **headers)
    assert response.status_code == 403 and "not sent from one of this site" in response.text
    assert not response.headers.get_list("set-cookie")


def test_sign_in_from_this_site_is_accepted(client: httpx.Client, live_app: str) -> None:
    assert sign_in(client, Origin=live_app).status_code == 303


def test_a_forged_or_stale_cookie_is_no_session(client: httpx.Client, article_id: int) -> None:
    signed_by_an_old_token = new_session_cookie("the-previous-token")
    for forged in (signed_by_an_old_token, "editor", new_session_cookie(TOKEN) + "x"):
        cookie = {"Cookie": f"{SESSION_COOKIE}={forged}"}
        page = client.get("/", headers=cookie).text
        assert 'class="edit-topics"' not in page and ">Sign in</a>" in page
        assert correct(client, article_id, [], csrf="anything", **cookie).status_code == 401


def test_a_session_ends_with_its_lifetime_and_with_the_token() -> None:
    cookie = new_session_cookie(TOKEN)
    session = read_session_cookie(TOKEN, cookie)
    assert session is not None and session.session_id
    assert read_session_cookie("a-new-token", cookie) is None  # a new token signs all out
    time.sleep(1.1)  # the signature's clock counts whole seconds
    assert read_session_cookie(TOKEN, cookie, lifetime=timedelta(seconds=0)) is None
    assert read_session_cookie(TOKEN, cookie) == session


class TestWithoutAToken:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(database_url=database_url, admin_token=None)

    def test_editing_is_switched_off(self, client: httpx.Client, article_id: int) -> None:
        form = client.get("/sign-in")
        assert form.status_code == 200
        assert "Editing is switched off on this server" in form.text
        assert 'name="token"' not in form.text
        refused = sign_in(client, token="")
        assert refused.status_code == 403 and "switched off" in refused.text
        assert not refused.headers.get_list("set-cookie")
        assert ">Sign in</a>" not in client.get("/").text  # no link to a form that cannot work
        response = correct(client, article_id, ["border-control"], csrf="")
        assert response.status_code == 403 and "switched off" in response.text


# Correcting topics from the page.


def test_a_signed_in_editor_sees_a_form_per_article(
    editor: httpx.Client, articles: list[int], db: Database
) -> None:
    page = editor.get("/").text
    for article_id in articles:
        form = re.search(
            rf'<article class="item" id="article-{article_id}">.*?</article>', page, re.S
        )
        assert form, f"article {article_id} is not on the page"
        markup = form.group(0)
        assert '<details class="edit-topics">' in markup
        assert "<summary>Edit topics</summary>" in markup
        assert f'action="/articles/{article_id}/topics"' in markup
        checked = set(re.findall(r'name="topic" value="([^"]+)" checked', markup))
        offered = re.findall(r'name="topic" value="([^"]+)"', markup)
        assert len(offered) == 13  # every topic of the taxonomy
        assert checked == {slug for slug, _ in stored_topics(db, article_id)}
        assert "Save topics</button>" in markup
    assert "Sign out</button>" in page


def test_a_correction_from_the_form_is_stored_and_shown(
    editor: httpx.Client, client: httpx.Client, article_id: int, articles: list[int],
    db: Database,
) -> None:  # fmt: skip
    other_before = stored_topics(db, articles[1])
    public_before = client.get("/")  # remembered by the app, to be found stale after
    assert "set by an editor" not in public_before.text

    csrf = form_token(editor.get("/").text)
    response = correct(editor, article_id, ["border-control", "payments-finance"], csrf,
                       next_page="/?q=face")  # fmt: skip

    assert response.status_code == 303
    assert response.headers["location"] == f"/?q=face#article-{article_id}"
    assert stored_topics(db, article_id) == [
        ("border-control", "editor"), ("payments-finance", "editor")
    ]  # fmt: skip
    assert corrections(db) == [(article_id, ["border-control", "payments-finance"], "editor")]
    assert stored_topics(db, articles[1]) == other_before
    public_after = client.get("/", headers={"If-None-Match": public_before.headers["etag"]})
    assert public_after.status_code == 200 and "set by an editor" in public_after.text
    api = client.get(f"/api/articles/{article_id}").json()["topics"]
    assert {(t["slug"], t["origin"]) for t in api} == {
        ("border-control", "editor"), ("payments-finance", "editor")
    }  # fmt: skip


def test_no_topic_checked_means_no_topic_applies(
    editor: httpx.Client, article_id: int, db: Database
) -> None:
    csrf = form_token(editor.get("/").text)
    assert correct(editor, article_id, [], csrf).status_code == 303
    assert stored_topics(db, article_id) == []
    assert corrections(db) == [(article_id, [], "editor")]


@pytest.mark.parametrize(
    ("csrf", "headers", "reason"),
    [
        (None, {}, "reload the page"),
        ("", {}, "reload the page"),
        ("0" * 64, {}, "reload the page"),
        ("from-the-page", {"Origin": "https://evil.example"}, "not sent from one of this site"),
        ("from-the-page", {"Referer": "https://evil.example/x"}, "not sent from one of this site"),
    ],
    ids=["missing", "empty", "wrong", "foreign-origin", "foreign-referer"],
)
def test_a_form_without_the_sessions_token_writes_nothing(
    editor: httpx.Client, article_id: int, db: Database, csrf: str | None,
    headers: dict[str, str], reason: str,
) -> None:  # fmt: skip
    before = stored_topics(db, article_id)
    if csrf == "from-the-page":
        csrf = form_token(editor.get("/").text)
    response = correct(editor, article_id, ["border-control"], csrf, **headers)
    assert response.status_code == 403
    assert reason in response.text and 'class="error"' in response.text
    assert stored_topics(db, article_id) == before and corrections(db) == []


def test_another_sessions_token_is_refused(
    editor: httpx.Client, live_app: str, article_id: int, db: Database
) -> None:
    with httpx.Client(base_url=live_app, timeout=10) as other_browser:
        sign_in(other_browser)
        others_token = form_token(other_browser.get("/").text)
    assert others_token != form_token(editor.get("/").text)
    assert correct(editor, article_id, ["border-control"], others_token).status_code == 403
    assert corrections(db) == []


def test_a_reader_cannot_send_the_form(client: httpx.Client, article_id: int, db: Database) -> None:
    response = correct(client, article_id, ["border-control"], csrf="0" * 64)
    assert response.status_code == 401 and "Sign in to edit topics" in response.text
    assert corrections(db) == []


@pytest.mark.parametrize(
    ("target", "topics", "status", "needle"),
    [
        ("article", ["border-control", "weather"], 422, "unknown topics: weather"),
        ("article", ["x"] * 51, 422, "topic"),
        ("missing", ["border-control"], 404, "no article with id"),
    ],
    ids=["unknown-topic", "too-many", "article-gone"],
)
def test_a_bad_correction_gets_a_clear_page_and_writes_nothing(
    editor: httpx.Client, article_id: int, db: Database, target: str, topics: list[str],
    status: int, needle: str,
) -> None:  # fmt: skip
    before = stored_topics(db, article_id)
    csrf = form_token(editor.get("/").text)
    response = correct(editor, article_id if target == "article" else 999999, topics, csrf)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert needle in response.text
    assert stored_topics(db, article_id) == before and corrections(db) == []


# Signing out.


def test_signing_out_ends_the_session(editor: httpx.Client) -> None:
    page = editor.get("/?q=face").text
    response = editor.post("/sign-out", data={"csrf": form_token(page), "next": "/?q=face"})
    assert response.status_code == 303 and response.headers["location"] == "/?q=face"
    morsel = set_cookie(response)[SESSION_COOKIE]
    assert morsel.value in ("", '""') and int(morsel["max-age"]) == 0
    after = editor.get("/").text
    assert 'class="edit-topics"' not in after
    sign_in_link = re.search(r'<a class="account" href="([^"]+)">Sign in</a>', after)
    assert sign_in_link
    link = urlsplit(sign_in_link.group(1).replace("&amp;", "&"))
    assert link.path == "/sign-in" and parse_qs(link.query) == {"next": ["/"]}


def test_sign_out_from_another_site_is_refused(editor: httpx.Client) -> None:
    response = editor.post("/sign-out", data={"csrf": "", "next": "/"})
    assert response.status_code == 403
    assert 'class="edit-topics"' in editor.get("/").text  # still signed in


# Caching around editors.


def test_an_editors_page_is_theirs_alone(editor: httpx.Client, client: httpx.Client) -> None:
    public = client.get("/")
    assert public.headers["vary"] == "Cookie" and "etag" in public.headers
    assert "no-store" not in public.headers["cache-control"]

    # The same address, remembered by the app, and even a copy the editor already holds.
    mine = editor.get("/", headers={"If-None-Match": public.headers["etag"]})
    assert mine.status_code == 200
    assert mine.headers["cache-control"] == "private, no-store" and "etag" not in mine.headers
    assert 'class="edit-topics"' in mine.text

    for again in (client.get("/"), client.get("/", headers={"Cookie": "unrelated=1"})):
        assert 'class="edit-topics"' not in again.text and 'name="csrf"' not in again.text
        assert again.headers["etag"] == public.headers["etag"] and again.text == public.text


# Security headers.


@pytest.mark.parametrize(
    "path", ["/", "/sign-in", "/?topic=nope", "/no-such-page"], ids=str
)  # fmt: skip
def test_every_page_has_the_content_security_policy(client: httpx.Client, path: str) -> None:
    for response in (client.get(path), client.get(path)):  # the second maybe remembered
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        # Nothing the policy would block: no inline script, style or handler.
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", response.text)


def test_the_api_docs_keep_their_scripts(client: httpx.Client) -> None:
    docs = client.get("/docs")
    policy = docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src" not in policy
    api = client.get("/api/topics")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers
