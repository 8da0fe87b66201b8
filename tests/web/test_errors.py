"""Bad requests and failures over real HTTP: every error in the one shape (the error page
for the pages), never a bare 500, and a 405 that says which methods a path takes."""

from __future__ import annotations

import logging
import sqlite3

import httpx
import pytest

from aggregator.settings import Settings

PAST_64_BITS = "99999999999999999999999"


def assert_error_body(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, object] = body["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
    return error


def assert_error_page(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert 'class="error"' in response.text and fragment in response.text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/articles/{PAST_64_BITS}", "article_id"),
        ("/api/articles/0", "article_id"),
        ("/api/topics/sanctions-trade?before=157079415599512476975104", "before"),
        (f"/api/topics/{'x' * 101}", "slug"),
        (f"/topics/{'x' * 101}.rss", "slug"),
    ],
    ids=["id-past-64-bits", "id-zero", "cursor-past-64-bits", "slug-too-long",
         "feed-slug-too-long"],
)  # fmt: skip
def test_out_of_range_parameters_are_422_in_the_json_shape(
    client: httpx.Client, path: str, field: str
) -> None:
    error = assert_error_body(client.get(path), 422, "invalid_request")
    assert field in str(error["message"])
    assert isinstance(error["problems"], list)
    assert [problem["field"] for problem in error["problems"]] == [field]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"source": PAST_64_BITS}, "source"),
        ({"date": "0"}, "YYYY-MM-DD"),
        ({"q": "face\x00scan"}, "q: String should match pattern"),
    ],
    ids=["source-past-64-bits", "date-as-a-number", "nul-in-search"],
)
def test_out_of_range_parameters_of_a_page_are_422_on_the_error_page(
    client: httpx.Client, query: dict[str, str], fragment: str
) -> None:
    assert_error_page(client.get("/", params=query), 422, fragment)


def test_the_digest_forms_blank_filters_mean_no_filter(client: httpx.Client) -> None:
    # What the filter form sends with "All topics" and "All sources" chosen.
    page = client.get("/", params={"date": "2026-03-02", "topic": "", "source": "", "q": ""})
    assert page.status_code == 200 and "Nothing published" in page.text


def test_the_last_day_a_date_can_hold_has_a_digest(client: httpx.Client) -> None:
    assert client.get("/", params={"date": "9999-12-31"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/api/topics", "GET"),
        ("DELETE", "/api/articles/1", "GET"),
        ("GET", "/api/articles/1/topics", "PUT"),
        ("POST", "/feed.rss", "GET"),
    ],
    ids=["api-collection", "api-item", "write-only", "feed"],
)
def test_a_method_a_path_does_not_take_is_405_with_allow(
    client: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    assert_error_body(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


def test_a_page_answers_405_on_the_error_page_with_allow(client: httpx.Client) -> None:
    response = client.delete("/")
    assert_error_page(response, 405, "Method Not Allowed")
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize(
    "path", ["/api/no-such-thing", "/no-such-feed.rss", "/feed.nope.json"], ids=str
)
def test_an_unknown_machine_path_is_404_in_the_json_shape(client: httpx.Client, path: str) -> None:
    assert_error_body(client.get(path), 404, "not_found")


def test_an_unknown_page_is_404_on_the_error_page(client: httpx.Client) -> None:
    assert_error_page(client.get("/no-such-page"), 404, "Not Found")


def test_a_broken_database_is_500_in_the_shape_and_logged(
    live_app: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """What no handler knows about (here a table gone from under the running app) is
    answered 500 in the shape, without the internals, and logged with its traceback.
    (A connection each: uvicorn closes one whose request raised.)"""
    path = settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE topics RENAME TO topics_gone")
    with caplog.at_level(logging.ERROR, logger="biowire.web"):
        response = httpx.get(f"{live_app}/api/topics")
        page = httpx.get(f"{live_app}/")
    error = assert_error_body(response, 500, "internal_error")
    assert error == {"code": "internal_error", "message": "internal server error"}
    assert "topics" not in response.text
    assert_error_page(page, 500, "internal server error")
    logged = [r for r in caplog.records if r.name == "biowire.web"]
    assert [r.getMessage() for r in logged] == [
        "unexpected error answering GET /api/topics",
        "unexpected error answering GET /",
    ]
    assert all(r.exc_info and "topics" in str(r.exc_info[1]) for r in logged)
