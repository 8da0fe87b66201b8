"""What the JSON API answers, as models for the OpenAPI document (with examples).

They describe the bodies `web.presenters` and the routes build; routes declare them with
`responses={200: {"model": ...}}` and `response_model=None`, so a body is sent as built,
never filtered through a model, and the contract test (tests/web/test_openapi_contract.py)
holds the two together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_ARTICLE_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "title": "Airport rolls out face boarding at every gate",
    "url": "https://news.example.org/face-boarding",
    "source": "Trade press",
    "sources": ["Trade press"],
    "published": "2026-03-02T08:15:00Z",
    "summary": "Passengers at the terminal board with a face scan instead of a boarding pass.",
    "topics": [
        {
            "slug": "airports-travel",
            "name": "Airports & travel",
            "score": 0.91,
            "origin": "model",
            "why": ["boarding", "airport", "face"],
        }
    ],
}


class ArticleTopic(BaseModel):
    slug: str
    name: str
    score: float = Field(ge=0, le=1, description="Calibrated score of the model; 1 for editors.")
    origin: str = Field(description="`model` (the classifier) or `editor` (set by hand).")
    why: list[str] = Field(description="The words that made the classifier choose the topic.")


class Article(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ARTICLE_EXAMPLE]})

    id: int
    title: str
    url: str | None = Field(description="The article on its publisher's site.")
    source: str | None = Field(description="The first source that carried it.")
    sources: list[str] = Field(description="Every source that carried it, first seen first.")
    published: datetime | None
    summary: str = Field(description="The start of its text.")
    highlight: str | None = Field(
        None, description="With `q`: a snippet of its text, the matched words in <mark> (HTML)."
    )
    topics: list[ArticleTopic] = Field(description="Its topics, best first.")


class TopicSummary(BaseModel):
    slug: str
    name: str
    definition: str
    count: int = Field(ge=0, description="Articles tagged with the topic.")
    url: str = Field(description="The topic's articles (JSON).")
    rss: str = Field(description="The topic's RSS feed.")
    atom: str = Field(description="The topic's Atom feed.")
    json_feed: str = Field(description="The topic's JSON Feed.")


class TopicList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "topics": [
                        {
                            "slug": "digital-id",
                            "name": "Digital ID",
                            "definition": "National and mobile digital identity schemes.",
                            "count": 12,
                            "url": "https://biowire.example.org/api/topics/digital-id",
                            "rss": "https://biowire.example.org/topics/digital-id.rss",
                            "atom": "https://biowire.example.org/topics/digital-id.atom",
                            "json_feed": "https://biowire.example.org/topics/digital-id.json",
                        }
                    ]
                }
            ]
        }
    )

    topics: list[TopicSummary]


class TopicRef(BaseModel):
    slug: str
    name: str


class ArticlePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "articles": [_ARTICLE_EXAMPLE],
                    "next_before": 1,
                    "next_url": "https://biowire.example.org/api/articles?topic=digital-id&before=1",
                }
            ]
        }
    )

    articles: list[Article] = Field(description="Newest first; with `q`, best match first.")
    next_before: int | None = Field(description="`before` of the next page; null on the last page.")
    next_url: str | None = Field(description="The next page's address; null on the last page.")
    notice: str | None = Field(
        None,
        description="Why there are no articles when the request is why (a search with "
        "nothing to look for, such as only `-word`).",
    )


class TopicPage(ArticlePage):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "topic": {"slug": "airports-travel", "name": "Airports & travel"},
                    "articles": [_ARTICLE_EXAMPLE],
                    "next_before": 1,
                    "next_url": "https://biowire.example.org/api/topics/airports-travel?before=1",
                }
            ]
        }
    )

    topic: TopicRef


class Source(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "title": "Trade press",
                    "url": "https://press.example.org/feed",
                    "site_url": "https://press.example.org/",
                    "enabled": True,
                    "disabled_reason": None,
                    "last_polled_at": "2026-03-02T08:10:00Z",
                    "last_status": 200,
                    "last_error": None,
                    "consecutive_failures": 0,
                    "next_poll_at": "2026-03-02T08:40:00Z",
                    "articles_30_days": 41,
                }  # fmt: skip
            ]
        }
    )

    id: int
    title: str | None
    url: str
    site_url: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why polling stopped, when it has.")
    last_polled_at: datetime | None
    last_status: int | None = Field(description="The HTTP status of the last poll.")
    last_error: str | None = Field(description="What went wrong at the last poll, if it did.")
    consecutive_failures: int = Field(ge=0)
    next_poll_at: datetime | None
    articles_30_days: int = Field(ge=0, description="Its articles published in 30 days.")


class SourceList(BaseModel):
    sources: list[Source]


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0", "pid": 4242}]}
    )

    status: str
    version: str
    pid: int = Field(description="The process that answered: one of the server's workers.")
