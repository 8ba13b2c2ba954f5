"""Sign in and sign out: the same accounts and argon2 hashes as the API's token endpoint (auth.service), and
single sign-on through the OpenID provider when one is configured (auth.oidc, auth.sso): 使用统一身份认证登录
→ /login/oidc → the provider → /login/oidc/callback → the same session as a password sign-in. Signing out of
a session that came through the provider ends the provider's session too (its end_session_endpoint)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hazard_registry import clock
from hazard_registry.auth import service, sso
from hazard_registry.auth.oidc import provider_for
from hazard_registry.db import DbSession
from hazard_registry.errors import DomainError, Forbidden, Unauthorized
from hazard_registry.i18n import error_text
from hazard_registry.web.pages import page_router, redirect, render, safe_next, session_of
from hazard_registry.web.session import csrf_token, flash

router = page_router()

PENDING_KEY = "oidc"  # the pending sign-in through the provider: state, nonce, PKCE verifier, where to go next
ID_TOKEN_KEY = "oidc_id_token"  # kept for the provider's logout (id_token_hint); marks a single sign-on session


def _page(request: Request, next: str | None, username: str = "", error: str | None = None) -> dict[str, Any]:
    settings = request.app.state.settings
    sso_name = settings.oidc_display_name if settings.oidc_enabled else None
    return {"next": safe_next(next), "username": username, "error": error, "sso_name": sso_name}


def _signed_in(request: Request, user_id: int, generation: int, name: str, **extra: str) -> None:
    data = session_of(request)
    data.clear()  # a fresh session (and CSRF token) at sign-in: nothing from before carries over
    data.update(uid=user_id, gen=generation, **extra)
    csrf_token(data)
    flash(data, f"欢迎，{name}")


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "auth/login.html", _page(request, next))


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    disabled = request.app.state.settings.password_login_disabled_for
    try:
        user = service.authenticate(session, username.strip(), password, disabled)
    except (Unauthorized, Forbidden) as exc:
        context = _page(request, next, username, error_text(exc.code))
        return render(request, "auth/login.html", context, status_code=exc.status)
    _signed_in(request, user.id, user.token_generation, user.display_name or user.username)
    return redirect(safe_next(next))


@router.get("/login/oidc")
def oidc_start(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    try:
        url, pending = provider_for(request.app.state.settings).begin(str(request.url_for("oidc_page_callback")))
    except DomainError as exc:
        return render(request, "auth/login.html", _page(request, next, error=error_text(exc.code)), exc.status)
    session_of(request)[PENDING_KEY] = pending | {"next": safe_next(next)}
    return RedirectResponse(url, status_code=303)


@router.get("/login/oidc/callback")
def oidc_page_callback(
    request: Request,
    session: DbSession,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    pending = session_of(request).pop(PENDING_KEY, None)
    try:
        provider = provider_for(request.app.state.settings)
        user, id_token = sso.sign_in(session, provider, pending, code=code, state=state, error=error, now=clock.now())
        session.commit()
    except DomainError as exc:
        session.rollback()
        return render(request, "auth/login.html", _page(request, None, error=error_text(exc.code)), exc.status)
    assert pending is not None
    extra = {ID_TOKEN_KEY: id_token}
    _signed_in(request, user.id, user.token_generation, user.display_name or user.username, **extra)
    return redirect(safe_next(pending.get("next")))


@router.post("/logout")
def logout(request: Request) -> Response:
    data = session_of(request)
    id_token = data.get(ID_TOKEN_KEY)
    data.clear()
    flash(data, "您已安全退出")
    settings = request.app.state.settings
    if id_token and settings.oidc_enabled:
        url = provider_for(settings).logout_url(id_token, str(request.url_for("login_form")))
        if url:
            return RedirectResponse(url, status_code=303)
    return redirect("/login")
