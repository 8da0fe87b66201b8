"""Editors' corrections over real HTTP: PUT /api/articles/{id}/topics and what the page shows."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from aggregator.classify.registry import training_examples
from aggregator.service import Database, classify_new
from aggregator.settings import Settings
from aggregator.taxonomy import default_taxonomy
from models import Article, Correction, session_scope

AUTH = {"Authorization": "Bearer test-token"}
pytestmark = pytest.mark.usefixtures("article_id")  # every test sees one tagged article


@pytest.fixture
def article_id(db: Database) -> int:
    with session_scope(db.factory) as session:
        article = Article(
            dedup_key="https://news.example.org/face-boarding", url=None,
            title="Airport rolls out face boarding at every gate",
            text="Passengers at the terminal board with a face scan instead of a boarding pass.",
            content_hash="x", published_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(article)
        session.flush()
        article_id = article.id
    classify_new(db)
    return article_id


def test_model_tags_carry_their_reasons(client: httpx.Client, article_id: int) -> None:
    topics = client.get(f"/api/articles/{article_id}").json()["topics"]
    airport = next(t for t in topics if t["slug"] == "airports-travel")
    assert airport["origin"] == "model" and 0 < airport["score"] <= 1
    assert airport["why"] and all(isinstance(term, str) for term in airport["why"])
    page = client.get("/").text
    assert "because: " + ", ".join(airport["why"]) in page


def test_a_correction_replaces_the_tags_and_is_kept_for_training(
    client: httpx.Client, article_id: int, db: Database
) -> None:
    response = client.put(
        f"/api/articles/{article_id}/topics", json={"topics": ["border-control"]}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    topics = response.json()["topics"]
    assert [(t["slug"], t["origin"]) for t in topics] == [("border-control", "editor")]
    assert client.get(f"/api/articles/{article_id}").json()["topics"] == topics
    assert "set by an editor" in client.get("/").text
    with session_scope(db.factory) as session:
        examples = training_examples(session, default_taxonomy())
    assert examples[-1].labels == ("border-control",) and examples[-1].signal == "editor"
    # A later tagging run leaves the editor's tags alone.
    classify_new(db)
    assert client.get(f"/api/articles/{article_id}").json()["topics"] == topics


def test_a_correction_is_committed_before_it_is_answered(
    client: httpx.Client, article_id: int, db: Database
) -> None:
    """An editor who reads after a write sees it, and a commit that fails is an error, not
    a 200 for a change that was lost. Commits of the app's sessions (on its threads, not
    this one) are made slow here, so that an answer sent before the commit is read first."""

    def slow_commit(session: Session) -> None:
        if threading.current_thread() is not threading.main_thread():
            time.sleep(0.5)

    event.listen(Session, "before_commit", slow_commit)
    try:
        response = client.put(
            f"/api/articles/{article_id}/topics", json={"topics": ["border-control"]}, headers=AUTH
        )
        with session_scope(db.factory) as session:
            stored = session.scalars(select(Correction.topics)).all()
    finally:
        event.remove(Session, "before_commit", slow_commit)
    assert response.status_code == 200, response.text
    assert stored == [["border-control"]]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer wrong-token"}, 403, "forbidden"),
        ({"Authorization": "Basic dGVzdC10b2tlbg=="}, 401, "unauthorized"),
    ],
    ids=["missing", "wrong-token", "wrong-scheme"],
)
def test_writes_need_the_admin_token(
    client: httpx.Client, article_id: int, headers: dict[str, str], status: int, code: str
) -> None:
    before = client.get(f"/api/articles/{article_id}").json()["topics"]
    response = client.put(
        f"/api/articles/{article_id}/topics", json={"topics": ["border-control"]}, headers=headers
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert client.get(f"/api/articles/{article_id}").json()["topics"] == before


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"topics": ["border-control", "weather", "sport"]}, 422, "weather, sport"),
        ({"topics": "border-control"}, 422, "topics"),
        ({"labels": ["border-control"]}, 422, "topics"),
    ],
    ids=["unknown-slugs", "not-a-list", "missing-field"],
)
def test_bad_corrections_are_refused_with_a_reason(
    client: httpx.Client, article_id: int, body: dict[str, object], status: int, needle: str
) -> None:
    response = client.put(f"/api/articles/{article_id}/topics", json=body, headers=AUTH)
    assert response.status_code == status
    assert needle in response.json()["error"]["message"]


def test_unknown_article_is_404(client: httpx.Client) -> None:
    response = client.put("/api/articles/999999/topics", json={"topics": []}, headers=AUTH)
    assert response.status_code == 404


class TestWithoutAToken:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(database_url=database_url, admin_token=None)

    def test_writes_are_disabled_with_a_clear_message(
        self, client: httpx.Client, article_id: int
    ) -> None:
        response = client.put(
            f"/api/articles/{article_id}/topics", json={"topics": []}, headers=AUTH
        )
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "writes_disabled" and "BIOWIRE_ADMIN_TOKEN" in error["message"]
