"""The list of sources as OPML: importing and exporting it, and the default list shipped in
the package. Adding a source is `storage.add_source`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from xml.sax.saxutils import quoteattr

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aggregator.ingest.storage import SourceError, add_source
from models import Source


@dataclass(frozen=True)
class OutlineFeed:
    url: str
    title: str | None
    site_url: str | None


def parse_opml(document: bytes) -> list[OutlineFeed]:
    """Every outline with an xmlUrl, at any depth (folders are flattened)."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise SourceError(f"not a readable OPML file: {exc}") from exc
    feeds: list[OutlineFeed] = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl") or outline.get("xmlurl")
        if url:
            feeds.append(
                OutlineFeed(
                    url.strip(),
                    outline.get("title") or outline.get("text"),
                    outline.get("htmlUrl"),
                )
            )
    return feeds


def default_sources() -> list[OutlineFeed]:
    return parse_opml(resources.files("aggregator").joinpath("data/sources.opml").read_bytes())


def import_feeds(session: Session, feeds: list[OutlineFeed]) -> int:
    added = 0
    for feed in feeds:
        _, created = add_source(session, feed.url, feed.title, feed.site_url)
        added += created
    return added


def load_defaults_if_empty(session: Session) -> int:
    if session.scalar(select(func.count()).select_from(Source)):
        return 0
    return import_feeds(session, default_sources())


def export_opml(session: Session) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        "    <title>Biowire sources</title>",
        f"    <dateCreated>{datetime.now(UTC).strftime('%a, %d %b %Y %H:%M:%S GMT')}</dateCreated>",
        "  </head>",
        "  <body>",
    ]
    for source in session.scalars(select(Source).order_by(Source.id)):
        attributes = (
            f'type="rss" text={quoteattr(source.display_name)} xmlUrl={quoteattr(source.url)}'
        )
        if source.site_url:
            attributes += f" htmlUrl={quoteattr(source.site_url)}"
        lines.append(f"    <outline {attributes}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)
