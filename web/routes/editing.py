"""Editing from the pages: signing in with the admin token, signing out, and correcting an
article's topics with the form each article shows a signed-in editor. The form applies
the same ruling as `PUT /api/articles/{id}/topics`, then sends the editor back to the
article on the page they were reading (POST, then a 303 to a GET).

Sessions, form tokens and the checks behind them are `web.editors`. These routes are for
browsers and stay out of the OpenAPI document: the API's writes take the bearer token.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from aggregator.digest.view import TopicInfo
from aggregator.settings import Settings
from web.deps import SessionDep, SettingsDep
from web.editors import (
    EDITOR,
    EditorSession,
    comes_from_this_site,
    end_session,
    form_token,
    form_token_matches,
    local_path,
    signed_in,
    start_session,
    token_matches,
)
from web.errors import ApiError
from web.params import ArticleId
from web.routes.common import apply_correction

router = APIRouter(include_in_schema=False)

WRONG_TOKEN = "That token is not right."
EDITING_OFF = "Editing is switched off on this server: it has no admin token (BIOWIRE_ADMIN_TOKEN)."
SIGNED_OUT = "Sign in to edit topics: you are not signed in, or your session has ended."
FOREIGN_FORM = "This form was not sent from one of this site's pages."
STALE_FORM = (
    "This form belongs to an earlier sign-in, or to none. Go back, reload the page and try again."
)
NO_STORE = {"Cache-Control": "no-store"}

NextPage = Annotated[str, Form(alias="next")]


@router.get("/sign-in", name="sign_in_form")
def sign_in_form(
    request: Request, next_page: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    return _sign_in_page(request, local_path(next_page))


@router.post("/sign-in", name="sign_in")
def sign_in(
    request: Request, settings: SettingsDep, token: Annotated[str, Form()] = "",
    next_page: NextPage = "/",
) -> Response:  # fmt: skip
    """Every wrong token gets the same answer, in the same time (`token_matches`)."""
    target = local_path(next_page)
    if not settings.admin_token:
        return _sign_in_page(request, target, 403)
    if not comes_from_this_site(request, settings):
        raise ApiError(403, "forbidden", FOREIGN_FORM)
    if not token_matches(token.strip(), settings.admin_token):
        return _sign_in_page(request, target, 401, WRONG_TOKEN)
    response = RedirectResponse(target, status_code=303)
    start_session(response, request, settings)
    return response


@router.post("/sign-out", name="sign_out")
def sign_out(
    request: Request, settings: SettingsDep, csrf: Annotated[str, Form()] = "",
    next_page: NextPage = "/",
) -> Response:  # fmt: skip
    """Signing out someone not signed in does nothing; a signed-in editor's sign-out must
    come from their own page, or another site could sign them out."""
    if signed_in(request) is not None:
        require_editors_form(request, settings, csrf)
    response = RedirectResponse(local_path(next_page), status_code=303)
    end_session(response, request, settings)
    return response


@router.post("/articles/{article_id}/topics", name="edit_topics")
def correct_topics(
    article_id: ArticleId, request: Request, session: SessionDep, settings: SettingsDep,
    topic: Annotated[list[str], Form(max_length=50)] = [],  # noqa: B006 (copied per request)
    csrf: Annotated[str, Form()] = "", next_page: NextPage = "/",
) -> Response:  # fmt: skip
    """An editor's ruling on the article's topics, from the page's form: the checked
    topics replace the article's, and none checked means no topic applies."""
    target = local_path(next_page).partition("#")[0]
    request.state.return_to = target
    require_editors_form(request, settings, csrf)
    apply_correction(session, article_id, topic, EDITOR)
    return RedirectResponse(f"{target}#article-{article_id}", status_code=303)


def require_editors_form(request: Request, settings: Settings, sent_token: str) -> EditorSession:
    """The signed-in editor who sent this form from one of their own pages; an error page
    for anyone else, before anything is written."""
    if not settings.admin_token:
        raise ApiError(403, "editing_disabled", EDITING_OFF)
    editor = signed_in(request)
    if editor is None:
        raise ApiError(401, "unauthorized", SIGNED_OUT)
    if not comes_from_this_site(request, settings):
        raise ApiError(403, "forbidden", FOREIGN_FORM)
    if not form_token_matches(settings.admin_token, editor, sent_token):
        raise ApiError(403, "forbidden", STALE_FORM)
    return editor


def _sign_in_page(
    request: Request, next_page: str, status: int = 200, problem: str | None = None
) -> Response:
    settings: Settings = request.app.state.settings
    context = {"next": next_page, "problem": problem, "enabled": bool(settings.admin_token)}
    return request.app.state.templates.TemplateResponse(
        request, "sign_in.html", context, status_code=status, headers=NO_STORE
    )


# What the templates ask: `editing(request)` and `sign_in_url(request)`.


@dataclass
class EditingView:
    """What a page shows a signed-in editor: the token their forms carry, the address they
    come back to, and the topics to choose from (read once per page, and only if a form
    needs them: the catalogue answers from memory, without a query, most of the time)."""

    request: Request
    csrf: str

    @property
    def here(self) -> str:
        return _here(self.request)

    @cached_property
    def topics(self) -> list[TopicInfo]:
        session = self.request.app.state.session_factory()
        try:
            topics: list[TopicInfo] = self.request.app.state.topics.topics(session)
        finally:
            session.close()
        return topics


def editing(request: Request) -> EditingView | None:
    """The editing state of the page `request` asks for; None for a reader. Asked once per
    article, so answered from the request's state after the first time."""
    known = getattr(request.state, "editing_view", False)
    if known is None or isinstance(known, EditingView):
        return known
    editor = signed_in(request)
    view = None
    if editor is not None:
        view = EditingView(request, form_token(request.app.state.settings.admin_token, editor))
    request.state.editing_view = view
    return view


def sign_in_url(request: Request) -> str | None:
    """The sign-in form's address, coming back here; None where there is no signing in
    (no admin token) or no point (the form itself)."""
    if not request.app.state.settings.admin_token:
        return None
    form = request.url_for("sign_in_form")
    if request.url.path == form.path:
        return None
    return f"{form.path}?{urlencode({'next': _here(request)})}"


def _here(request: Request) -> str:
    """The page a form on it should come back to: its own address when it was fetched, the
    form's own return address when it answers a form."""
    return_to: str | None = getattr(request.state, "return_to", None)
    if return_to is not None:
        return return_to
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
