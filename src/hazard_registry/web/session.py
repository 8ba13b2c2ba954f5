"""The console's session: a signed cookie (itsdangerous, keyed from the app's secret) holding who signed in,
the CSRF token and pending flash messages. Nothing else is stored server-side.

The cookie carries no Max-Age (the browser drops it when closed); the server refuses a signature older
than ``console_session_minutes`` and then tells the user "会话已过期，请重新登录". Each answered request
re-signs the cookie, so the limit counts idle time. HttpOnly, SameSite=Lax, Secure when the request came
over https (``X-Forwarded-Proto`` is honoured when uvicorn runs with ``--proxy-headers``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "hazard_console"

# What scope["console_session_state"] says about the cookie that came in.
FRESH, VALID, EXPIRED = "fresh", "valid", "expired"


class ConsoleSession:
    """ASGI middleware: ``scope["session"]`` is the console's session dict, on every path but the API's."""

    def __init__(
        self,
        app: ASGIApp,
        secret: str,
        max_age_seconds: int,
        skip_prefixes: tuple[str, ...] = (),
        keep_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.signer = TimestampSigner(secret, salt="hazard-registry.console-session")
        self.max_age = max_age_seconds
        self.skip = skip_prefixes
        self.keep = keep_paths  # inside a skipped prefix but with the session: the API's single sign-on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        skipped = scope["type"] != "http" or scope["path"].startswith(self.skip)
        if skipped and not (scope["type"] == "http" and scope["path"] in self.keep):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        raw = conn.cookies.get(COOKIE)
        data: dict[str, Any] = {}
        state = FRESH
        if raw:
            try:
                data = json.loads(self.signer.unsign(raw, max_age=self.max_age))
                state = VALID
            except SignatureExpired:
                state = EXPIRED
            except (BadSignature, ValueError):
                state = FRESH
        scope["session"] = data
        scope["console_session_state"] = state
        secure = scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                session = scope["session"]
                if session:
                    value = self.signer.sign(json.dumps(session, separators=(",", ":"))).decode()
                    headers.append("Set-Cookie", _cookie(value, secure=secure))
                elif raw:
                    headers.append("Set-Cookie", _cookie("", secure=secure, expire=True))
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _cookie(value: str, *, secure: bool, expire: bool = False) -> str:
    parts = [f"{COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if expire:
        parts.append("Max-Age=0")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, made on first use (an anonymous visitor's session gets one too)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_matches(session: dict[str, Any], sent: str | None) -> bool:
    token = session.get("csrf")
    return bool(token and sent and secrets.compare_digest(token, sent))


def flash(session: dict[str, Any], message: str, kind: str = "success") -> None:
    """A message shown once on the next page rendered (after a redirect)."""
    session.setdefault("flash", []).append([kind, message])


def pop_flashes(session: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, m) for k, m in session.pop("flash", [])]
