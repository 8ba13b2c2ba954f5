"""Typed domain errors and the one handler that renders every error as application/problem+json (RFC 9457).

Each error carries a stable machine-readable ``code``; clients switch on it, never on the wording. The
wording follows ``Accept-Language`` (Chinese unless English is preferred; the other language is kept beside
it) from the one catalogue, ``hazard_registry.i18n``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hazard_registry.i18n import negotiate

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"


class DomainError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra


class InvalidInput(DomainError):
    status, code, title = 422, "invalid_input", "Invalid input"


class Unauthorized(DomainError):
    status, code, title = 401, "not_authenticated", "Not authenticated"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class GateFailed(Conflict):
    """The action exists for this state and role but its precondition (gate) does not hold."""

    code, title = "gate_failed", "Precondition of the action not met"


class WrongState(Conflict):
    code, title = "wrong_state", "Action not allowed in the current state"


class VersionConflict(Conflict):
    code, title = "version_conflict", "The record was changed by someone else"


class PreconditionRequired(DomainError):
    status, code, title = 428, "version_required", "Version required"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMedia(DomainError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class TooManyRequests(DomainError):
    status, code, title = 429, "too_many_requests", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class UpstreamUnavailable(DomainError):
    """A service we depend on (the OpenID provider) cannot be reached or answers nonsense: retry later."""

    status, code, title = 503, "upstream_unavailable", "Upstream service unavailable"


class DatabaseUnavailable(DomainError):
    """The database cannot be reached (down, restarting, connection lost): the request may be retried."""

    status, code, title = 503, "database_unavailable", "Database unavailable"
    retry_after = 5


def database_problem(exc: DBAPIError) -> JSONResponse | None:
    """503 with Retry-After for a database that is busy or out of reach; None for any other database error,
    which is a fault of ours (500)."""
    if isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower():
        # SQLite's single writer; PostgreSQL waits on row locks instead
        resp = problem(503, "database_busy", "Database busy", "another write is in progress; retry shortly")
        resp.headers["Retry-After"] = "1"
        return resp
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        log.warning("database unavailable: %s", type(exc.orig).__name__)  # the message may quote parameters
        u = DatabaseUnavailable
        resp = problem(u.status, u.code, u.title, "the database cannot be reached; retry shortly")
        resp.headers["Retry-After"] = str(u.retry_after)
        resp.headers["Connection"] = "close"
        return resp
    return None


def problem(
    status: int, code: str, title: str, detail: str, *, accept_language: str | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"urn:hazard-registry:problem:{code}",
        "status": status,
        "code": code,
        **negotiate(code, title, detail, accept_language),
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or (str(loc[0]) if loc else "")


def _lang(request: Request) -> str | None:
    return request.headers.get("accept-language")


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(req: Request, exc: DomainError) -> JSONResponse:
        resp = problem(exc.status, exc.code, exc.title, exc.detail, accept_language=_lang(req), **exc.extra)
        if isinstance(exc, TooManyRequests | DatabaseUnavailable):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(tuple(e.get("loc", ()))), "message": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()
        ]
        fields = ", ".join(sorted({e["field"] for e in errors if e["field"]}))
        return problem(
            422,
            "invalid_input",
            "Invalid input",
            f"invalid fields: {fields}" if fields else "the request is malformed",
            accept_language=_lang(req),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        title = code.replace("_", " ").capitalize()
        resp = problem(exc.status_code, code, title, str(exc.detail), accept_language=_lang(req))
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(StaleDataError)
    async def _stale(req: Request, _exc: StaleDataError) -> JSONResponse:
        # Another writer committed between our read and our versioned UPDATE (SQLite has no row locks).
        detail = "the record was changed meanwhile; reload it"
        return problem(409, VersionConflict.code, VersionConflict.title, detail, accept_language=_lang(req))

    @app.exception_handler(DBAPIError)
    async def _database(req: Request, exc: DBAPIError) -> JSONResponse:
        return database_problem(exc) or await _unexpected(req, exc)

    @app.exception_handler(PoolTimeout)
    async def _pool(req: Request, _exc: PoolTimeout) -> JSONResponse:
        # Every connection of a pool was in use for its whole timeout (``database_pool_timeout``): busy, not broken.
        log.warning("database pool exhausted")
        detail = "every database connection is in use; retry shortly"
        resp = problem(503, "database_busy", "Database busy", detail, accept_language=_lang(req))
        resp.headers["Retry-After"] = "1"
        return resp

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        detail = "an unexpected error occurred; it has been logged"
        return problem(500, "internal_error", "Internal error", detail, accept_language=_lang(req))
