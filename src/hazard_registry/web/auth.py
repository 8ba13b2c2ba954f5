"""Sign in and sign out: the same accounts and argon2 hashes as the API's token endpoint (auth.service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from hazard_registry.auth import service
from hazard_registry.db import DbSession
from hazard_registry.errors import Unauthorized
from hazard_registry.i18n import error_text
from hazard_registry.web.pages import page_router, redirect, render, safe_next, session_of
from hazard_registry.web.session import csrf_token, flash

router = page_router()


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "auth/login.html", {"next": safe_next(next), "username": ""})


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        user = service.authenticate(session, username.strip(), password)
    except Unauthorized as exc:
        context = {"next": safe_next(next), "username": username, "error": error_text(exc.code)}
        return render(request, "auth/login.html", context, status_code=401)
    data = session_of(request)
    data.clear()  # a fresh session (and CSRF token) at sign-in: nothing from before carries over
    data.update(uid=user.id, gen=user.token_generation)
    csrf_token(data)
    flash(data, f"欢迎，{user.display_name or user.username}")
    return redirect(safe_next(next))


@router.post("/logout")
def logout(request: Request) -> Response:
    data = session_of(request)
    data.clear()
    flash(data, "您已安全退出")
    return redirect("/login")
