"""What the OpenAPI document says each route can answer, shared by the routes.

A route declares every status it can answer and the content type of each, by merging
these: `responses={**JSON_GET, **NOT_FOUND, **INVALID}`. The declarations:

- `JSON_GET`: 304 and 500, for every JSON GET (conditional GETs answer 304);
- `WRITE`: 401, 403 and 500, for every route that needs the admin token;
- `JSON_BODY`: 400 (a body that is not JSON text) and 422, for every route that reads one;
- `NOT_FOUND`, `UNKNOWN_TOPIC`, `INVALID`: 404, 404 naming the valid topics, 422;
- `HTML_PAGE` (200 and 500 as `text/html`) with `HTML_NOT_FOUND` and `HTML_INVALID`, for
  the pages, which answer errors with the error page;
- `RSS_FEED`, `ATOM_FEED`, `JSON_FEED`: 200 in the feed's content type, 304 and 500; a feed
  answers its errors (`NOT_FOUND`, `INVALID`...) as JSON. Feed routes take
  `response_class=Response`, so that no `application/json` 200 is declared beside them.
- `json_ok(Model)`: a JSON 200 whose body `Model` describes (`web.schemas`), with the
  route's `response_model=None`: the body goes out as built, and the document says its shape.

Every error body is `web.errors.ErrorBody`. `install_openapi` lists the database's topics
as the `enum` of every topic-slug parameter (`web.params.TOPIC_SLUG`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from web.errors import ErrorBody
from web.params import TOPIC_SLUG

Responses = dict[int | str, dict[str, Any]]


def _error(status: int, description: str, **examples: dict[str, Any]) -> Responses:
    content = {"application/json": {"examples": {
        name: {"value": {"error": example}} for name, example in examples.items()
    }}}  # fmt: skip
    return {status: {"model": ErrorBody, "description": description, "content": content}}


def _html(status: int, description: str) -> Responses:
    content = {"text/html": {"schema": {"type": "string"}}}
    return {status: {"description": description, "content": content}}


NOT_MODIFIED: Responses = {
    304: {
        "description": "Not Modified: the copy the client holds (its `If-None-Match` or "
        "`If-Modified-Since`) is current. No body."
    }
}
NOT_FOUND = _error(
    404, "No such thing.",
    not_found={"code": "not_found", "message": "no article with id 42"},
)  # fmt: skip
UNKNOWN_TOPIC = _error(
    404, "No such topic: the error names the valid ones.",
    unknown_topic={"code": "unknown_topic", "message": "no topic 'no-such-topic'",
                   "valid_topics": ["sanctions-trade", "facial-recognition"]},
)  # fmt: skip
INVALID = _error(
    422, "A parameter or the body is not valid; the message says which and why.",
    invalid_request={"code": "invalid_request",
                     "message": "invalid request: limit: Input should be less than or equal to 200",
                     "problems": [{"field": "limit",
                                   "message": "Input should be less than or equal to 200"}]},
)  # fmt: skip
BAD_REQUEST = _error(
    400, "The body could not be read as JSON text (UTF-8).",
    bad_request={"code": "bad_request", "message": "There was an error parsing the body"},
)  # fmt: skip
UNAUTHORIZED = _error(
    401, "No bearer token was sent.",
    unauthorized={"code": "unauthorized",
                  "message": "send Authorization: Bearer <BIOWIRE_ADMIN_TOKEN>"},
)  # fmt: skip
FORBIDDEN = _error(
    403, "The bearer token is not valid, or writes are disabled (no BIOWIRE_ADMIN_TOKEN).",
    forbidden={"code": "forbidden", "message": "the bearer token is not valid"},
    writes_disabled={"code": "writes_disabled", "message": "write endpoints are disabled: "
                     "set BIOWIRE_ADMIN_TOKEN to enable them"},
)  # fmt: skip
SERVER_ERROR = _error(
    500, "Something went wrong on the server (it is logged there).",
    internal_error={"code": "internal_error", "message": "internal server error"},
)  # fmt: skip

JSON_GET: Responses = {**NOT_MODIFIED, **SERVER_ERROR}
WRITE: Responses = {**UNAUTHORIZED, **FORBIDDEN, **SERVER_ERROR}
JSON_BODY: Responses = {**BAD_REQUEST, **INVALID}

HTML_PAGE: Responses = {
    **_html(200, "The page."),
    **_html(500, "The error page: something went wrong on the server."),
}
HTML_NOT_FOUND = _html(404, "The error page: no such thing.")
HTML_INVALID = _html(422, "The error page: a parameter is not valid, and which and why.")


def _feed(media_type: str, description: str, schema: dict[str, Any]) -> Responses:
    ok: Responses = {200: {"description": description, "content": {media_type: {"schema": schema}}}}
    return {**ok, **NOT_MODIFIED, **SERVER_ERROR}


RSS_FEED = _feed("application/rss+xml", "An RSS 2.0 document.", {"type": "string"})
ATOM_FEED = _feed("application/atom+xml", "An Atom 1.0 document.", {"type": "string"})
JSON_FEED = _feed(
    "application/feed+json",
    "A JSON Feed 1.1 document (https://www.jsonfeed.org/version/1.1/).",
    {
        "type": "object",
        "required": ["version", "title", "items"],
        "properties": {
            "version": {"type": "string"},
            "title": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object", "required": ["id"]}},
        },
    },
)


def json_ok(model: type[BaseModel], description: str = "Successful Response") -> Responses:
    return {200: {"model": model, "description": description}}


def install_openapi(app: FastAPI, topic_slugs: Callable[[], tuple[list[str], bool]]) -> None:
    """Serve the app's OpenAPI document with the topics `topic_slugs` gives as the enum of
    every topic-slug parameter, so that the docs offer them and a client knows which an
    editor's correction may name. `topic_slugs` also says whether they are final (the
    database's, once the app has started): only then is the document kept."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        slugs, final = topic_slugs()
        if not final:
            app.openapi_schema = None
        _enumerate_topics(document, slugs)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _enumerate_topics(node: Any, slugs: list[str]) -> None:
    [(mark, _)] = TOPIC_SLUG.items()
    if isinstance(node, dict):
        if node.pop(mark, False):
            node["enum"] = list(slugs)
        for value in node.values():
            _enumerate_topics(value, slugs)
    elif isinstance(node, list):
        for value in node:
            _enumerate_topics(value, slugs)
