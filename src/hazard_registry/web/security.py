"""Headers every console page carries: a strict Content-Security-Policy (no inline script or style, nothing
from another host: the console runs on an intranet), no framing, no MIME sniffing.

One other origin may be a form's destination: the OpenID provider, when single sign-on is configured (退出登录
posts to /logout, which redirects to the provider's end_session_endpoint, and browsers hold a form's redirects
to form-action too)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# On every response outside the API (the console, /healthz, /docs): also answered by edge.Liveness.
ALWAYS = {"X-Content-Type-Options": "nosniff"}


def _csp(scope: Scope) -> str:
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    issuer = urlsplit(getattr(settings, "oidc_issuer", "") or "")
    if issuer.scheme in ("http", "https") and issuer.netloc:
        return CSP.replace("form-action 'self'", f"form-action 'self' {issuer.scheme}://{issuer.netloc}")
    return CSP


class PageHeaders:
    def __init__(self, app: ASGIApp, skip_prefixes: tuple[str, ...] = ()) -> None:
        self.app, self.skip = app, skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip):
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = _csp(scope)
                    headers["X-Frame-Options"] = "DENY"
                    headers["Referrer-Policy"] = "same-origin"
                    headers["Cache-Control"] = "no-store"
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_wrapper)
