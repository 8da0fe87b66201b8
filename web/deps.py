"""Request-scoped dependencies: a session per request, settings, the admin token check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from aggregator.settings import Settings
from models import session_scope
from web.editors import EDITOR, token_matches
from web.errors import ApiError


def get_session(request: Request) -> Iterator[Session]:
    """One session, one transaction per request: committed if the handler succeeds."""
    with session_scope(request.app.state.session_factory) as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """A session for a request that only reads: ended by a rollback, here on the event
    loop (a read-only transaction ends at once and never waits on a lock), which spares
    every read two trips through the thread pool."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# Declares the scheme in the OpenAPI document (Swagger's "Authorize"); the answers to a
# missing or wrong token are ours, in the API's error shape, hence no `auto_error`.
_bearer = HTTPBearer(
    auto_error=False, scheme_name="AdminToken",
    description="`Authorization: Bearer $BIOWIRE_ADMIN_TOKEN`, for every write endpoint.",
)  # fmt: skip


def require_admin(
    settings: Annotated[Settings, Depends(get_app_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """Bearer-token check for every write endpoint (constant-time comparison)."""
    if not settings.admin_token:
        raise ApiError(
            403, "writes_disabled",
            "write endpoints are disabled: set BIOWIRE_ADMIN_TOKEN to enable them",
        )  # fmt: skip
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <BIOWIRE_ADMIN_TOKEN>")
    if not token_matches(token, settings.admin_token):
        raise ApiError(403, "forbidden", "the bearer token is not valid")
    return EDITOR


# "function": the session's transaction ends before the response is sent. FastAPI's
# default ("request") commits after sending, so a client could read before its own write
# landed, and a commit that failed would already have been answered 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
EditorDep = Annotated[str, Depends(require_admin)]
