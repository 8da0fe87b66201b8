"""The ORM classes: sources, articles and the links between them, topics, tags, models.

An article is stored once. `ArticleSource` links it to every source that carried it, each
link keeping that source's own guid, so the same story from two feeds is one article with
two links, and a re-poll of either feed finds it again by (source, guid).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class Source(Base):
    """A feed that Biowire polls, with everything the scheduler needs to be polite to it."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    site_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Conditional GET state.
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))

    # Outcome of the last poll. The newest poll of all is part of the data's version
    # (`models.queries.data_version`), read from the index on every request.
    last_polled_at: Mapped[datetime | None] = mapped_column(index=True)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_new_articles: Mapped[int] = mapped_column(Integer, default=0)

    # Scheduling. `lease_expires_at` lets several pollers claim work through the database.
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True)
    poll_interval_seconds: Mapped[int | None]
    lease_expires_at: Mapped[datetime | None]

    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)

    links: Mapped[list[ArticleSource]] = relationship(back_populates="source")

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    @property
    def display_name(self) -> str:
        return self.title or self.url


class Article(Base):
    """One story, however many sources carried it."""

    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_published_id", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Canonical URL when the entry has a link, else "sha256:<title+date hash>": the key
    # that makes the same story from two feeds one row.
    dedup_key: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(500))
    summary_html: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When anything a reader sees of it last changed: its text, its date, its tags or the
    # sources that carried it. Every write of those sets it (`touch_articles`); the views'
    # ETags are made from it.
    changed_at: Mapped[datetime | None] = mapped_column(default=utcnow, index=True)
    # The model version that last tagged this article; NULL means "not classified yet".
    classified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifier_models.id", ondelete="SET NULL"), index=True
    )

    links: Mapped[list[ArticleSource]] = relationship(
        back_populates="article", cascade="all, delete-orphan"
    )
    tags: Mapped[list[ArticleTopic]] = relationship(
        back_populates="article", cascade="all, delete-orphan"
    )


class ArticleSource(Base):
    """That `source` carried `article` under its own `guid`."""

    __tablename__ = "article_sources"
    __table_args__ = (UniqueConstraint("source_id", "guid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(String(2048))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    article: Mapped[Article] = relationship(back_populates="links")
    source: Mapped[Source] = relationship(back_populates="links")


class Topic(Base):
    """A topic of the taxonomy; the file in the package is the truth, this row mirrors it."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class ArticleTopic(Base):
    """A topic tag on an article: from the model (with its score and why) or from an editor."""

    __tablename__ = "article_topics"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    score: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(20), default="model")  # "model" | "editor"
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifier_models.id", ondelete="SET NULL")
    )
    why: Mapped[list[str]] = mapped_column(default=list)

    article: Mapped[Article] = relationship(back_populates="tags")
    topic: Mapped[Topic] = relationship()


class TopicDailyCount(Base):
    """How many articles carry a topic on one UTC day. Kept by database triggers on every
    tag written or removed (migration `20261207_1850_view_data`): read, never written, here.
    """

    __tablename__ = "topic_daily_counts"

    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    articles: Mapped[int] = mapped_column(Integer)


class Correction(Base):
    """An editor's ruling on an article's topics. Kept forever; the newest one wins."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    topics: Mapped[list[str]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="editor")


class ClassifierModel(Base):
    """A trained classifier, versioned; exactly one is active at a time."""

    __tablename__ = "classifier_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    topics: Mapped[list[str]] = mapped_column()
    training_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The fitted classifier as data: arrays and JSON (`aggregator.classify.model_format`).
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    # The pickle an older version stored, kept by the migration that converted it into
    # `blob` so that a downgrade can restore it; None for models trained since.
    legacy_blob: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
