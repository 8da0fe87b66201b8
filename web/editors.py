"""Editors signed in on the pages: their session cookie, the token that guards their forms,
and the checks every form POST passes.

The server keeps no sessions. Signing in with the admin token sets a cookie holding a
random session id and the time it was issued, signed (`itsdangerous.TimestampSigner`,
HMAC-SHA256) with a key derived from the admin token; any worker verifies it alone, and a
new admin token signs every editor out. The cookie is HttpOnly, SameSite=Strict, Secure
when the site is reached over HTTPS, and expires after `SESSION_LIFETIME`.

A form an editor sends carries a token derived from the session id (another HMAC of the
admin token, `form_token`), which a page of another site cannot read; and its `Origin`
(or, without one, its `Referer`) must be this site. The sign-in form, sent before there
is a session, has only the second check: SameSite=Strict does the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, TimestampSigner
from starlette.datastructures import Headers

from aggregator.settings import Settings

SESSION_COOKIE = "biowire_editor"
SESSION_LIFETIME = timedelta(hours=12)
# Who a correction says made it: the admin token names one editor, whichever way it came.
EDITOR = "editor"

# Each use of the admin token as a key has its own label, so that no value signed for one
# use passes for another.
_SESSION_SALT = "biowire.editor-session"
_FORM_TOKEN_LABEL = b"biowire.form-token"


_UNREAD = object()


@dataclass(frozen=True)
class EditorSession:
    """A signed-in editor: the random id their cookie carries."""

    session_id: str


def token_matches(given: str, admin_token: str) -> bool:
    """Whether `given` is the admin token, in time that depends on neither. Both are hashed
    first: `hmac.compare_digest` answers at once when the lengths differ, which would tell
    the token's length."""
    given_digest = hashlib.sha256(given.encode()).digest()
    return hmac.compare_digest(given_digest, hashlib.sha256(admin_token.encode()).digest())


def _signer(admin_token: str) -> TimestampSigner:
    return TimestampSigner(admin_token, salt=_SESSION_SALT, digest_method=hashlib.sha256)


def new_session_cookie(admin_token: str) -> str:
    """The value of a new session's cookie: a random id, the time, their signature."""
    return _signer(admin_token).sign(secrets.token_urlsafe(18)).decode()


def read_session_cookie(
    admin_token: str, value: str, lifetime: timedelta = SESSION_LIFETIME
) -> EditorSession | None:
    """The session `value` holds, if it was signed with this admin token and is not older
    than `lifetime` (nor dated in the future); None otherwise."""
    try:
        session_id = _signer(admin_token).unsign(value, max_age=int(lifetime.total_seconds()))
    except BadSignature:  # a forged, altered, expired or otherwise unreadable cookie
        return None
    return EditorSession(session_id.decode())


def signed_in(request: Request) -> EditorSession | None:
    """The editor this request comes from; None for a reader, and for everyone when no
    admin token is set. Read once per request (the pages ask for every article)."""
    known = getattr(request.state, "editor_session", _UNREAD)
    if known is None or isinstance(known, EditorSession):
        return known
    admin_token = request.app.state.settings.admin_token
    cookie = request.cookies.get(SESSION_COOKIE)
    session = read_session_cookie(admin_token, cookie) if admin_token and cookie else None
    request.state.editor_session = session
    return session


def carries_session_cookie(headers: Headers) -> bool:
    """Whether a request sends an editor's cookie at all, valid or not: the cheap test that
    tells a request which may be an editor's from one that cannot be."""
    return f"{SESSION_COOKIE}=" in headers.get("cookie", "")


def form_token(admin_token: str, session: EditorSession) -> str:
    """The token the session's forms carry; only the server and the editor's own pages
    know it."""
    key = hmac.new(admin_token.encode(), _FORM_TOKEN_LABEL, hashlib.sha256).digest()
    return hmac.new(key, session.session_id.encode(), hashlib.sha256).hexdigest()


def form_token_matches(admin_token: str, session: EditorSession, sent: str) -> bool:
    return hmac.compare_digest(sent.encode(), form_token(admin_token, session).encode())


def is_https(request: Request, settings: Settings) -> bool:
    """Whether readers reach the site over HTTPS: this request did, or the public address
    says so (a proxy in front may speak plain HTTP to the server)."""
    return request.url.scheme == "https" or (settings.base_url or "").startswith("https://")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def comes_from_this_site(request: Request, settings: Settings) -> bool:
    """Whether a form was sent from one of this site's pages, by its `Origin`, or its
    `Referer` when a browser sends no `Origin`. A request with neither (no browser sends
    such a form POST) passes this check, and meets the others."""
    own = {_origin(str(request.base_url))}
    if settings.base_url:
        own.add(_origin(settings.base_url))
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower() in own  # "null" (a sandboxed or privacy-stripped page) fails
    referer = request.headers.get("referer")
    if referer is not None:
        return _origin(referer) in own
    return True


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default`: where a form may send its
    editor back, never to another site (`//evil.example`, `https://…`, `/\\evil`)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(char in target for char in "\\\r\n\t\0"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def start_session(response: Response, request: Request, settings: Settings) -> None:
    """Sign the browser in: sets the session's cookie on `response`."""
    assert settings.admin_token
    lifetime = int(SESSION_LIFETIME.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, new_session_cookie(settings.admin_token),
        max_age=lifetime, expires=lifetime, path="/",
        secure=is_https(request, settings), httponly=True, samesite="strict",
    )  # fmt: skip


def end_session(response: Response, request: Request, settings: Settings) -> None:
    """Sign the browser out: the cookie is replaced by an empty one already expired."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=is_https(request, settings), httponly=True,
        samesite="strict",
    )  # fmt: skip
