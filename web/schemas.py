"""The JSON API's bodies as models: they document `/openapi.json` (and so what clients
and the contract test hold the API to); the routes build the same shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TopicTag(BaseModel):
    slug: str = Field(examples=["border-control"])
    name: str = Field(examples=["Border control"])
    score: float = Field(description="The model's confidence; 1.0 when an editor set it.")
    origin: str = Field(description='"model" or "editor"', examples=["model"])
    why: list[str] = Field(description="The words that decided, strongest first.")


class ArticleOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4211,
                    "title": "Airport opens a second hall of e-gates",
                    "url": "https://news.example/e-gates",
                    "source": "Travel Desk",
                    "sources": ["Travel Desk", "Gate Weekly"],
                    "published": "2026-12-07T08:15:00Z",
                    "summary": "Passengers with chipped passports clear the new gates...",
                    "topics": [
                        {
                            "slug": "airports-travel",
                            "name": "Airports & travel",
                            "score": 0.91,
                            "origin": "model",
                            "why": ["e-gates"],
                        }
                    ],
                }  # fmt: skip
            ]
        }
    )

    id: int
    title: str
    url: str | None
    source: str | None = Field(description="The source that carried it first.")
    sources: list[str]
    published: str | None = Field(description="RFC 3339, UTC.")
    summary: str
    highlight: str | None = Field(
        None, description="With `q`: a snippet with the matched words in <mark> (HTML)."
    )
    topics: list[TopicTag]


class ArticlePage(BaseModel):
    articles: list[ArticleOut]
    next_before: int | None = Field(
        description="Pass as `before` for the next page; null on the last page."
    )
    next_url: str | None = Field(description="The next page's address; null on the last.")


class TopicRef(BaseModel):
    slug: str
    name: str


class TopicArticlePage(ArticlePage):
    topic: TopicRef


class TopicOut(BaseModel):
    slug: str
    name: str
    definition: str
    count: int = Field(description="Articles carrying the topic.")
    url: str
    rss: str
    atom: str
    json_feed: str


class TopicList(BaseModel):
    topics: list[TopicOut]


class SourceOut(BaseModel):
    id: int
    title: str | None
    url: str
    site_url: str | None
    enabled: bool
    disabled_reason: str | None
    last_polled_at: datetime | None
    last_status: int | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime | None
    articles_30_days: int


class SourceList(BaseModel):
    sources: list[SourceOut]


class TopicsUpdate(BaseModel):
    topics: list[str] = Field(
        max_length=50,
        description="Topic slugs; an empty list means no topic applies.",
        examples=[["border-control", "airports-travel"]],
    )
