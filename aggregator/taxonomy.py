"""The topic taxonomy: a data file a user can edit, mirrored into the `topics` table."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Topic


@dataclass(frozen=True)
class TopicDefinition:
    slug: str
    name: str
    definition: str
    publisher_categories: tuple[str, ...] = field(default=())


class TaxonomyError(ValueError):
    """The taxonomy file is missing a field or repeats a slug."""


def load_taxonomy(path: Path | None = None) -> tuple[TopicDefinition, ...]:
    """Read the taxonomy file (the packaged one unless `path` is given)."""
    if path is None:
        raw = resources.files("aggregator").joinpath("data/taxonomy.toml").read_bytes()
    else:
        raw = path.read_bytes()
    document = tomllib.loads(raw.decode("utf-8"))
    topics: list[TopicDefinition] = []
    for position, entry in enumerate(document.get("topic", [])):
        try:
            topics.append(
                TopicDefinition(
                    slug=str(entry["slug"]),
                    name=str(entry["name"]),
                    definition=str(entry.get("definition", "")),
                    publisher_categories=tuple(
                        str(c).strip().lower() for c in entry.get("publisher_categories", [])
                    ),
                )
            )
        except KeyError as exc:
            raise TaxonomyError(f"topic #{position + 1} has no {exc.args[0]!r}") from exc
    slugs = [t.slug for t in topics]
    if len(set(slugs)) != len(slugs):
        raise TaxonomyError("the taxonomy repeats a slug")
    if not topics:
        raise TaxonomyError("the taxonomy defines no topics")
    return tuple(topics)


@lru_cache
def default_taxonomy() -> tuple[TopicDefinition, ...]:
    return load_taxonomy()


def sync_topics(session: Session, taxonomy: tuple[TopicDefinition, ...]) -> dict[str, Topic]:
    """Make the `topics` table match the taxonomy (rows are added or updated, never
    deleted, so old tags keep their meaning); returns the topics by slug."""
    existing = {t.slug: t for t in session.scalars(select(Topic))}
    for position, definition in enumerate(taxonomy):
        topic = existing.get(definition.slug)
        if topic is None:
            topic = Topic(slug=definition.slug)
            session.add(topic)
            existing[definition.slug] = topic
        topic.name = definition.name
        topic.definition = definition.definition
        topic.position = position
    session.flush()
    return existing
