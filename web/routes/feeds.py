"""Every view as a feed: `/feed.rss`, `/feed.atom` and `/feed.json` take the page's
filters; `/topics/{slug}.rss|.atom|.json` are the one-topic shortcuts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from aggregator.digest.view import PageFound, ViewFilters, load_page
from web import openapi
from web.caching import view_response
from web.deps import ReadSessionDep
from web.feeds import FORMATS, FeedMeta
from web.params import TopicSlug
from web.routes.common import (
    public_url,
    require_page,
    require_topic,
    require_view,
    view_filters,
    view_url,
)

router = APIRouter(tags=["feeds"])
FEED_ITEMS = 50
FiltersDep = Annotated[ViewFilters, Depends(view_filters)]


async def _feed(request: Request, session: Session, filters: ViewFilters, kind: str) -> Response:
    feed_format = FORMATS[kind]

    def find() -> PageFound:
        return require_page(session, require_view(request, session, filters), FEED_ITEMS)

    def render(page: PageFound) -> bytes:
        view = require_view(request, session, filters)
        described = view.describe(request.app.state.settings.zone)
        meta = FeedMeta(
            title=f"Biowire: {described}",
            description=f"Biometrics and digital identity news: {described}, newest first.",
            page_url=public_url(request, view_url(request, "digest", filters)),
            feed_url=public_url(request, str(request.url)),
            updated=page.last_modified,
        )
        return feed_format.render(meta, load_page(session, page))

    return await view_response(
        request, variant=kind, media_type=feed_format.media_type, find=find,
        render=render,
    )  # fmt: skip


@router.get("/feed.rss", name="feed_rss", response_class=Response,
            responses={**openapi.RSS_FEED, **openapi.NOT_FOUND, **openapi.INVALID})  # fmt: skip
async def feed_rss(request: Request, session: ReadSessionDep, filters: FiltersDep) -> Response:
    return await _feed(request, session, filters, "rss")


@router.get("/feed.atom", name="feed_atom", response_class=Response,
            responses={**openapi.ATOM_FEED, **openapi.NOT_FOUND, **openapi.INVALID})  # fmt: skip
async def feed_atom(request: Request, session: ReadSessionDep, filters: FiltersDep) -> Response:
    return await _feed(request, session, filters, "atom")


@router.get("/feed.json", name="feed_json", response_class=Response,
            responses={**openapi.JSON_FEED, **openapi.NOT_FOUND, **openapi.INVALID})  # fmt: skip
async def feed_json(request: Request, session: ReadSessionDep, filters: FiltersDep) -> Response:
    return await _feed(request, session, filters, "json")


async def _topic_feed(request: Request, session: Session, slug: str, kind: str) -> Response:
    require_topic(request, session, slug)
    return await _feed(request, session, ViewFilters(topics=(slug,)), kind)


@router.get(
    "/topics/{slug}.rss", name="topic_rss", response_class=Response,
    responses={**openapi.RSS_FEED, **openapi.UNKNOWN_TOPIC, **openapi.INVALID},
)  # fmt: skip
async def topic_rss(slug: TopicSlug, request: Request, session: ReadSessionDep) -> Response:
    return await _topic_feed(request, session, slug, "rss")


@router.get(
    "/topics/{slug}.atom", name="topic_atom", response_class=Response,
    responses={**openapi.ATOM_FEED, **openapi.UNKNOWN_TOPIC, **openapi.INVALID},
)  # fmt: skip
async def topic_atom(slug: TopicSlug, request: Request, session: ReadSessionDep) -> Response:
    return await _topic_feed(request, session, slug, "atom")


@router.get(
    "/topics/{slug}.json", name="topic_json", response_class=Response,
    responses={**openapi.JSON_FEED, **openapi.UNKNOWN_TOPIC, **openapi.INVALID},
)  # fmt: skip
async def topic_json(slug: TopicSlug, request: Request, session: ReadSessionDep) -> Response:
    return await _topic_feed(request, session, slug, "json")
