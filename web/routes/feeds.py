"""RSS re-exports of the whole stream and of each topic."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from models.queries import ArticleFilter, list_articles
from web import openapi
from web.deps import SessionDep
from web.feeds import FeedMeta, feed_response, rss_document
from web.params import TopicSlug
from web.routes.common import require_topic

router = APIRouter()
FEED_ITEMS = 50
RSS = "application/rss+xml; charset=utf-8"


@router.get("/feed.rss", name="all_rss", response_class=Response, responses=openapi.RSS_FEED)
def all_rss(request: Request, session: SessionDep) -> Response:
    meta = FeedMeta(
        title="Biowire: biometrics and digital identity news",
        description="Every article Biowire has collected, newest first.",
        page_url=str(request.url_for("digest")),
        feed_url=str(request.url_for("all_rss")),
    )
    articles = list_articles(session, ArticleFilter(), limit=FEED_ITEMS)
    return feed_response(rss_document(meta, articles), RSS)


@router.get(
    "/topics/{slug}.rss", name="topic_rss", response_class=Response,
    responses={**openapi.RSS_FEED, **openapi.UNKNOWN_TOPIC, **openapi.INVALID},
)  # fmt: skip
def topic_rss(slug: TopicSlug, request: Request, session: SessionDep) -> Response:
    topic = require_topic(session, slug)
    meta = FeedMeta(
        title=f"Biowire: {topic.name}",
        description=topic.definition or topic.name,
        page_url=str(request.url_for("digest").include_query_params(topic=slug)),
        feed_url=str(request.url_for("topic_rss", slug=slug)),
    )
    articles = list_articles(session, ArticleFilter(topic=slug), limit=FEED_ITEMS)
    return feed_response(rss_document(meta, articles), RSS)
