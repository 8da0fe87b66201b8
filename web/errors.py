"""One error body for the whole JSON API: {"error": {"code", "message", ...details}}.

Domain errors are raised as `ApiError` in handlers and mapped to HTTP here, once, as are
the framework's own (404 of an unknown path, 405 of a method a path does not take, 422 of
a request that fails validation) and, last, anything unexpected (500). The pages answer
with the error page instead; the JSON API and the feeds with the JSON body (a feed reader
shows no page, and a feed's URL is not one a person browses).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from aggregator.errors import SchemaOutOfDate

log = logging.getLogger("biowire.web")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


_TOO_BIG = "Input should be less than or equal to 200"


class ErrorDetail(BaseModel):
    """What went wrong: a stable `code` to branch on, a `message` for people, and the
    details an error of that code carries (`valid_topics` of `unknown_topic`...)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"code": "not_found", "message": "no article with id 42"},
                {
                    "code": "invalid_request",
                    "message": f"invalid request: limit: {_TOO_BIG}",
                    "problems": [{"field": "limit", "message": _TOO_BIG}],
                },
            ]
        },
    )

    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong, for a person.")


class ErrorBody(BaseModel):
    """The body of every error the JSON API and the feeds answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": {"code": "not_found", "message": "no article with id 42"}}]
        }
    )

    error: ErrorDetail


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


# Paths that answer JSON errors although they are not under /api/: the feeds (a reader
# shows no page) and the other machine-read documents.
_MACHINE_SUFFIXES = (".rss", ".atom", ".xml", ".json")
_MACHINE_PATHS = ("/healthz",)


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not (
        path.startswith(("/api/", "/feed."))
        or path == "/api"
        or path.endswith(_MACHINE_SUFFIXES)
        or path in _MACHINE_PATHS
    )


def _render(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> Response:
    if _wants_html(request):
        templates = request.app.state.templates
        return templates.TemplateResponse(
            request, "error.html", {"status": status, "message": message, "details": details},
            status_code=status, headers=headers,
        )  # fmt: skip
    return JSONResponse(error_body(code, message, **details), status_code=status, headers=headers)


def _validation_problems(error: RequestValidationError) -> list[dict[str, str]]:
    """Each problem as the field it concerns (`limit`, `topics.0`) and what is wrong with it.
    Where the field was sent (query, path, body) is left out: its name says enough."""
    problems = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())]
        if location and location[0] in ("query", "path", "body", "header", "cookie"):
            location = location[1:]
        problems.append({"field": ".".join(location), "message": str(item.get("msg", "invalid"))})
    return problems


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        return _render(request, error.status, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = _validation_problems(error)
        message = "invalid request: " + "; ".join(
            f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems
        )
        return _render(request, 422, "invalid_request", message, {"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # The exception's headers go out with it: a 405's `Allow` (RFC 9110, 15.5.6).
        code = _HTTP_CODES.get(error.status_code, "http_error")
        return _render(
            request, error.status_code, code, str(error.detail), {}, headers=error.headers
        )

    @app.exception_handler(SchemaOutOfDate)
    async def schema_out_of_date(request: Request, error: SchemaOutOfDate) -> Response:
        return _render(request, 503, "schema_out_of_date", str(error), {})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        """Anything no handler above knows: a bug or a broken database. The client gets the
        usual shape and no internals; the log gets the traceback. (Starlette raises the
        error again after this answer, for the server to see, so uvicorn logs it too.)"""
        log.error(
            "unexpected error answering %s %s", request.method, request.url.path, exc_info=error
        )
        message = HTTPStatus.INTERNAL_SERVER_ERROR.phrase.lower()
        return _render(request, 500, "internal_error", message, {})


__all__ = ["ApiError", "ErrorBody", "HTMLResponse", "error_body", "install_error_handlers"]
