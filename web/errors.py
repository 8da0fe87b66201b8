"""One error body for the whole JSON API: {"error": {"code", "message", ...details}}.

Domain errors are raised as `ApiError` in handlers and mapped to HTTP here, once.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from aggregator.errors import SchemaOutOfDate


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/api/") and not path.endswith((".rss", ".xml", ".json"))


def _render(request: Request, status: int, code: str, message: str, details: dict[str, Any]
            ) -> Response:  # fmt: skip
    if _wants_html(request):
        templates = request.app.state.templates
        return templates.TemplateResponse(
            request, "error.html", {"status": status, "message": message, "details": details},
            status_code=status,
        )  # fmt: skip
    return JSONResponse(error_body(code, message, **details), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        return _render(request, error.status, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "query")
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
        message = "invalid request: " + "; ".join(problems)
        return _render(request, 422, "invalid_request", message, {})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _render(request, error.status_code, code, str(error.detail), {})

    @app.exception_handler(SchemaOutOfDate)
    async def schema_out_of_date(request: Request, error: SchemaOutOfDate) -> Response:
        return _render(request, 503, "schema_out_of_date", str(error), {})


__all__ = ["ApiError", "HTMLResponse", "error_body", "install_error_handlers"]
