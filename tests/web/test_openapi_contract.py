"""The app keeps the promises of its OpenAPI document: Schemathesis reads /openapi.json
from the live app, on a database a real poll filled, and sends every operation requests
made from it (its examples, the boundaries of each parameter, then random ones, valid and
not), running every check it has on each answer: no 5xx, only the status codes, content
types, headers and bodies the document declares, valid data accepted, invalid data
rejected, 405 with `Allow` for the methods an operation does not take, and writes refused
without the admin token.

The document is the app's own, made once when the module is imported (Schemathesis makes
a test of each operation from it); a test holds that the live app serves that document.

One exception, by design: a cursor (`before`) that is a valid id of no article answers
422, which the document cannot foretell (it says which ids are valid, not which exist).
"""

from __future__ import annotations

from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from pytest_httpserver import HTTPServer
from schemathesis import Case
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from sqlalchemy import select

from aggregator.ingest.sources import add_source
from aggregator.service import Database, classify_new
from aggregator.settings import Settings
from models import Article, session_scope
from tests.conftest import run_poll
from tests.fixtures.feeds import BIOMETRIC_ITEMS, rss
from web.app import create_app

# The admin token of the `settings` fixture, for the write operations.
AUTH = {"AdminToken": {"bearer": "test-token"}}
CONFIG = {
    "seed": 20260301,
    "auth": {"openapi": AUTH},
    "generation": {"deterministic": True},
}


@pytest.fixture
def known_ids(httpserver: HTTPServer, settings: Settings, db: Database) -> set[int]:
    """The ids of the articles a poll of one feed stored (and tagged)."""
    httpserver.expect_request("/feed").respond_with_data(
        rss(BIOMETRIC_ITEMS, title="Trade press"), content_type="application/rss+xml"
    )
    with session_scope(db.factory) as session:
        add_source(session, httpserver.url_for("/feed"))
    run_poll(settings, db)
    classify_new(db)
    with session_scope(db.factory) as session:
        ids = set(session.scalars(select(Article.id)))
    assert ids
    return ids


# No database is opened to make it (the topics are the taxonomy's, which the database mirrors).
DOCUMENT = create_app(Settings(database_url="sqlite://")).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=SchemathesisConfig.from_dict(CONFIG))


def test_the_live_app_serves_the_document_tested(client: httpx.Client) -> None:
    assert client.get("/openapi.json").json() == DOCUMENT


def _unknown_cursor(case: Case, response: Any, known_ids: set[int]) -> bool:
    """Whether the answer is the 422 of a valid `before` that is the id of no article, or
    of none among a search's matches (so no place to continue from)."""
    before = str((case.query or {}).get("before", ""))
    if response.status_code != 422 or not before.isdigit():
        return False
    if int(before) not in known_ids:
        return True
    try:
        message = str(response.json().get("error", {}).get("message", ""))
    except ValueError:  # a page's: the error page says it
        message = response.text
    return "before: article" in message and "not among the search" in message


@schema.parametrize()
@hypothesis.settings(
    max_examples=75,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_answer_keeps_the_documents_promises(
    case: Case, live_app: str, known_ids: set[int]
) -> None:
    response = case.call(base_url=live_app)
    unknown_cursor = _unknown_cursor(case, response, known_ids)
    case.validate_response(
        response,
        excluded_checks=[positive_data_acceptance] if unknown_cursor else [],
        transport_kwargs={"base_url": live_app},
    )
