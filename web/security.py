"""Security headers on every answer: what a browser may load into a page and send from it.

Every page is held to a Content-Security-Policy that lets it load scripts, styles and
images from this site only, send forms only here, be framed by no one, and run no inline
script: a headline that slipped past escaping could still run nothing. Every answer says
`X-Content-Type-Options: nosniff` (a feed is never taken for a page) and sends the
address it came from only to this site's own pages (`Referrer-Policy: same-origin`).

The API's documentation pages (FastAPI's Swagger UI and ReDoc) load their scripts and
styles from a CDN and start them with an inline script, which the pages' policy forbids.
They get a policy of their own, which keeps what costs them nothing: no framing, no
`<base>`, no plugins, forms sent only here.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
DOCS_POLICY = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def policy_for(path: str) -> str:
    return DOCS_POLICY if path in DOCS_PATHS else PAGE_POLICY


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP answer, set here once rather
    than by each route (the views' remembered answers included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = policy_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in EVERY_RESPONSE.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)
