"""Feed serialisers (feedgen, a maintained generator for RSS 2.0 and Atom) and the one
response helper every feed goes through, which sets the content type and cache headers."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from aggregator.digest.items import source_names, tags_of
from models import Article

FEED_MAX_AGE = 300  # seconds; pollers of our feeds need nothing fresher than a poll cycle


@dataclass(frozen=True)
class FeedMeta:
    title: str
    description: str
    page_url: str
    feed_url: str


def rss_document(meta: FeedMeta, articles: list[Article]) -> bytes:
    generator = FeedGenerator()
    generator.title(meta.title)
    generator.description(meta.description)
    generator.link(href=meta.page_url, rel="alternate")
    generator.link(href=meta.feed_url, rel="self")
    generator.language("en")
    generator.generator("Biowire")
    generator.ttl(FEED_MAX_AGE // 60)
    # feedgen prepends entries, so add oldest first to keep the document newest first.
    for article in reversed(articles):
        entry = generator.add_entry()
        entry.title(article.title)
        link = article.url or f"{meta.page_url.split('?')[0]}#article-{article.id}"
        entry.link(href=link)
        entry.guid(f"biowire:article:{article.id}", permalink=False)
        entry.pubDate(article.published_at)
        if article.summary_html or article.content_html:
            entry.description(article.summary_html or article.content_html)
        for tag in tags_of(article):
            entry.category(term=tag.name, scheme=f"biowire:topic:{tag.slug}")
        names = source_names(article)
        if names:
            entry.source(title=names[0], url=article.links[0].source.url)
    return generator.rss_str(pretty=True)


def feed_response(body: bytes, media_type: str) -> Response:
    return Response(
        content=body,
        media_type=media_type,
        headers={"Cache-Control": f"public, max-age={FEED_MAX_AGE}"},
    )
