"""The seams every console page module uses: ``page_router()``, the ``PageActor`` dependency, ``render()``,
``NAV`` (the menu, filtered by role), CSRF and flash messages, and the errors that become pages.

A page module (``web/<domain>.py``) looks like::

    router = page_router()
    NAV.append(NavItem("督办", "/measures", roles={Role.regulator}, order=40))

    @router.get("/measures")
    def measures(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
        rows = supervision.service.list_measures(session, actor, ...)   # the API's own service
        return render(request, "measures/list.html", {"rows": rows})

and is listed in ``web.PAGE_ROUTERS``. Every unsafe request through a page router needs the CSRF token
(a ``csrf_token`` form field, or the ``X-CSRF-Token`` header htmx sends); templates put the field in with
``{{ csrf_field() }}``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from hazard_registry.auth.deps import cached_actor
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import Actor
from hazard_registry.db import DbSession
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.session import EXPIRED, csrf_matches, flash
from hazard_registry.web.templating import templates

__all__ = ["NAV", "CsrfFailed", "NavItem", "PageActor", "SignInRequired", "page_router", "redirect", "render"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_EXPIRED = "会话已过期，请重新登录"


class SignInRequired(Exception):
    """No (valid) session: the handler redirects to the sign-in page, then back to ``next``."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("sign in first")
        self.expired = expired


class CsrfFailed(Exception):
    """An unsafe request without the session's CSRF token: a 403 page."""


def session_of(request: Request) -> dict[str, Any]:
    return request.scope.setdefault("session", {})


async def csrf_protect(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    if request.scope.get("console_session_state") == EXPIRED:
        raise SignInRequired(expired=True)
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not csrf_matches(session_of(request), sent):
        raise CsrfFailed()


def page_router(**kwargs: Any) -> APIRouter:
    """An APIRouter for pages: HTML responses, left out of the OpenAPI document, CSRF-checked."""
    deps = [Depends(csrf_protect), *kwargs.pop("dependencies", [])]
    return APIRouter(include_in_schema=False, default_response_class=HTMLResponse, dependencies=deps, **kwargs)


def page_actor(request: Request, session: DbSession) -> Actor:
    """The signed-in user as the same ``Actor`` the API builds from a bearer token, through the same cache
    (auth/deps.py: no statement while it holds the user). The session's generation is the token's: a password
    change ends every session, a deactivation clears the cache. The name shown in the top bar is read once
    per session."""
    data = session_of(request)
    uid, gen = data.get("uid"), data.get("gen")
    if not uid:
        raise SignInRequired(expired=request.scope.get("console_session_state") == EXPIRED)
    actor = cached_actor(session, uid, gen) if isinstance(uid, int) and isinstance(gen, int) else None
    if actor is None:
        data.clear()  # deactivated or password changed: every session of the user ends, as tokens do
        raise SignInRequired()
    if "name" not in data:
        data["name"] = session.scalar(select(User.display_name).where(User.id == uid)) or actor.username
    request.state.actor = actor
    request.state.user_name = data["name"]
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render ``name`` inside the base layout; ``actor``, the menu, flashes and the CSRF token come along."""
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)


def redirect(
    url: str, message: str | None = None, kind: str = "success", *, request: Request | None = None
) -> Response:
    """303 to ``url`` (after a POST), with an optional flash message shown on the page it lands on."""
    if message and request is not None:
        flash(session_of(request), message, kind)
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no //host) may be a redirect target after sign-in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login" if target in ("/", "/login") else f"/login?next={quote(target, safe='')}"


def sign_in_redirect(request: Request, exc: SignInRequired) -> Response:
    if exc.expired:
        flash(session_of(request), SESSION_EXPIRED, "warning")
    url = sign_in_url(request) if request.method in SAFE_METHODS else "/login"
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
