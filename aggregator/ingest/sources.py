"""The list of sources as OPML: importing and exporting it, and the default list shipped in
the package. Adding a source is `storage.add_source`.

An outline may carry a note on what its feed covers, in OPML 2.0's `description`
attribute. Sources have no column for it, so the notes live in the OPML files: the shipped
defaults' notes are written back on export and shown by `biowire sources list` and the
sources page, with the folder each default sits in."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from xml.sax.saxutils import quoteattr

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aggregator.ingest.storage import SourceError, add_source
from aggregator.ingest.urls import canonical_url
from models import Source


@dataclass(frozen=True)
class OutlineFeed:
    url: str
    title: str | None
    site_url: str | None
    note: str | None = None  # what the feed covers: the outline's `description`
    category: str | None = None  # the folder outline it sits in, the nearest one


def parse_opml(document: bytes) -> list[OutlineFeed]:
    """Every outline with an xmlUrl, at any depth, in document order (folders are
    flattened, each feed keeping the name of the folder it sits in)."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise SourceError(f"not a readable OPML file: {exc}") from exc
    feeds: list[OutlineFeed] = []
    # Depth first without recursion: a deeply nested file cannot exhaust the stack.
    stack: list[tuple[ET.Element, str | None]] = [(root, None)]
    while stack:
        element, category = stack.pop()
        if element.tag == "outline":
            url = element.get("xmlUrl") or element.get("xmlurl")
            if url:
                feeds.append(
                    OutlineFeed(
                        url.strip(),
                        element.get("title") or element.get("text"),
                        element.get("htmlUrl"),
                        _text(element.get("description")),
                        category,
                    )
                )
            else:
                category = _text(element.get("title") or element.get("text")) or category
        stack.extend((child, category) for child in reversed(element))
    return feeds


def _text(value: str | None) -> str | None:
    """An attribute's text with its white space collapsed (a note may be wrapped), or None."""
    collapsed = " ".join((value or "").split())
    return collapsed or None


def default_sources() -> list[OutlineFeed]:
    return parse_opml(resources.files("aggregator").joinpath("data/sources.opml").read_bytes())


def default_outlines() -> dict[str, OutlineFeed]:
    """The shipped defaults' outlines (note and folder among them), by canonical feed URL
    (a source's `url`)."""
    outlines: dict[str, OutlineFeed] = {}
    for feed in default_sources():
        url = canonical_url(feed.url)
        if url:
            outlines[url] = feed
    return outlines


def default_notes() -> dict[str, str]:
    """The shipped defaults' notes, by canonical feed URL (a source's `url`)."""
    return {url: feed.note for url, feed in default_outlines().items() if feed.note}


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


def export_opml(session: Session, notes: Mapping[str, str] | None = None) -> str:
    """Every source as an OPML outline, with its note as `description` where one is known:
    from `notes` (by source URL), else from the shipped defaults."""
    if notes is None:
        notes = default_notes()
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
        if note := notes.get(source.url):
            attributes += f" description={quoteattr(note)}"
        lines.append(f"    <outline {attributes}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)
