"""The service's edge, before any route runs: liveness answered at once (``Liveness``), bodies larger than it
ever accepts refused (counted on the bytes received, so a chunked body cannot slip past), and NUL characters
in a query string or a form refused (both ``Inbound``).

JSON bodies are checked by their schemas (``types.Input``); query strings and url-encoded forms (the login
form) are checked here, for every route at once. PostgreSQL cannot store a NUL and no field needs one, so it
is a 422 naming the field, never a driver error.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hazard_registry.errors import problem


class Liveness:
    """``GET /healthz`` answered by the outermost layer: no middleware, no route matching, no serialisation.

    A liveness probe asks whether the process answers, so it must cost next to nothing and must not queue
    behind anything the application does. The route stays declared in ``main.py`` (the OpenAPI document shows
    it, and a request this layer does not take — a query string, another method — reaches it and gets the
    same answer or error as before); ``body`` is what that route returns, byte for byte, with the headers the
    middleware chain would have added (``extra_headers``)."""

    def __init__(self, app: ASGIApp, path: str, body: dict[str, str], extra_headers: dict[str, str]) -> None:
        self.app, self.path = app, path
        self.body = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        self.headers = [
            (b"content-length", str(len(self.body)).encode()),
            (b"content-type", b"application/json"),
            *((k.lower().encode(), v.encode()) for k, v in extra_headers.items()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == self.path
            and scope["method"] == "GET"
            and not scope["query_string"]
        ):
            await send({"type": "http.response.start", "status": 200, "headers": list(self.headers)})
            await send({"type": "http.response.body", "body": self.body})
            return
        await self.app(scope, receive, send)


class BodyTooLarge(StarletteHTTPException):
    """Raised from inside ``receive``: an HTTPException, so FastAPI's body parsing lets it through as itself
    (any other exception there becomes a 400) and the one handler renders it as problem+json."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"requests are limited to {max_bytes} bytes")


def _fields_with_nul(encoded: bytes) -> list[str]:
    pairs = parse_qsl(encoded.decode("utf-8", "replace"), keep_blank_values=True)
    return sorted({k.replace("\x00", "\\u0000") for k, v in pairs if "\x00" in k or "\x00" in v})


class Inbound:
    """What a request brings in, checked once for every route: its body's size and NULs in its query string or
    url-encoded form.

    A body larger than the service ever accepts (``max_bytes``) is refused at once when its Content-Length says
    so, and otherwise (chunked, or a length that lies) as soon as the bytes actually received pass the limit,
    so nothing larger is ever read into memory or spooled to disk. A NUL in the query string or in a
    url-encoded form is a 422 naming the fields that hold it; paths under ``skip_nul_prefixes`` answer in
    another format (Open311's) and refuse a NUL themselves.

    One layer, and one pass over the headers, for what were two (``BodyLimit`` outside ``RejectNul``): every
    request crossed both, each a call, a copy of the headers into a dict and two closures. A request that
    declares no body (neither Content-Length nor Transfer-Encoding: an HTTP/1.1 request without either has
    none, RFC 9112 6.3), as every GET, goes on with its own ``receive`` and ``send``."""

    def __init__(self, app: ASGIApp, max_bytes: int, skip_nul_prefixes: tuple[str, ...] = ()) -> None:
        self.app, self.max_bytes, self.skip_nul = app, max_bytes, skip_nul_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body = form = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return
                has_body = True
            elif name == b"transfer-encoding":
                has_body = True
            elif name == b"content-type":  # the last one counts, as in a dict of the headers
                form = value.split(b";")[0].strip() == b"application/x-www-form-urlencoded"
        check_nul = not (self.skip_nul and scope["path"].startswith(self.skip_nul))
        if check_nul:
            query = scope.get("query_string", b"")
            if (b"%00" in query or b"\x00" in query) and (bad := _fields_with_nul(query)):
                await _nul_problem(bad, "query")(scope, receive, send)
                return
        if not has_body:
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if check_nul and form:
                await self._form(scope, counted_receive, watched_send)
            else:
                await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _form(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        more = True
        while more:  # a form is small, and the size limit bounds it anyway
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if bad := _fields_with_nul(body):
            await _nul_problem(bad, "body")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        resp = problem(413, "payload_too_large", "Payload too large", f"requests are limited to {self.max_bytes} bytes")
        resp.headers["Connection"] = "close"  # the rest of the body is not read
        await resp(scope, receive, send)


def _nul_problem(fields: list[str], where: str):
    message = "must not contain a NUL character (\\u0000)"
    return problem(
        422,
        "invalid_input",
        "Invalid input",
        "invalid fields: " + ", ".join(fields),
        errors=[{"field": f, "message": message, "type": "nul_character", "in": where} for f in fields],
    )
