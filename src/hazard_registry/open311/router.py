"""Routes of the Open311 GeoReport v2 interface (``/open311/v2/…``) and the administrators' partner keys
(``/api/v1/open311/partners``).

The interface's paths answer in the spec's formats only: ``.xml`` or ``.json`` as the path says, errors in
the spec's ``errors`` shape (wire.py), never problem+json — ``Open311Route`` renders every error raised on
them (typed errors, validation, the database out of reach). A NUL in their query or form is refused here as
any other bad value (the app's RejectNul middleware leaves these paths to them). The partner-key routes are
the ordinary API: bearer token, problem+json, ``{items, next_cursor}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hazard_registry import clock
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.complaints.router import VaultDep
from hazard_registry.config import AppSettings, Settings
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.errors import (
    DatabaseUnavailable,
    DomainError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    VersionConflict,
    database_problem,
)
from hazard_registry.i18n import negotiate
from hazard_registry.open311 import partners as registry
from hazard_registry.open311 import schemas, service, wire
from hazard_registry.open311.models import Partner
from hazard_registry.open311.wire import Format
from hazard_registry.openapi import RETRY_AFTER
from hazard_registry.pagination import Cursor
from hazard_registry.ratelimit import Limiter, request_address
from hazard_registry.types import IdPath

log = logging.getLogger("hazard_registry")  # the logger the redaction filter sits on (logs.py)

MAX_FORM_BYTES = 64 * 1024  # a report is text: 4,000 characters of description and a few short fields
MAX_FORM_FIELDS = 100
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-27 00:00"  # when the discovery document or the service definitions last changed


def _status(exc: DomainError) -> int:
    if exc.status in (403, 404, 429, 503):
        return exc.status
    if exc.status == 401:
        return 403  # the spec: "403 - Missing or Invalid API Key"
    return 400  # the spec: "basically 400 for any other error where the request can not be fulfilled"


def _describe(request: Request, code: str, title: str, detail: str) -> str:
    return negotiate(code, title, detail, request.headers.get("accept-language"))["detail"]


def error_response(request: Request, exc: Exception) -> Response:
    """Any error on an Open311 path, in the spec's format (the one the path asks for; XML when it asks none)."""
    fmt = wire.format_of_path(request.url.path)
    headers: dict[str, str] = {}
    if isinstance(exc, RequestValidationError):
        items = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("path", "query", "body"))
            items.append(
                ("invalid_input", _describe(request, "invalid_input", "Invalid input", f"{where}: {e.get('msg')}"))
            )
        return wire.errors(fmt, 400, items)
    if isinstance(exc, StaleDataError):
        exc = VersionConflict("the record was changed meanwhile; retry")
    if isinstance(exc, DBAPIError) and (busy := database_problem(exc)) is not None:
        # Busy (SQLite's one writer) or out of reach: the same 503 and Retry-After as the API's, in this format.
        code = json.loads(bytes(busy.body))["code"]
        detail = "the database is busy or cannot be reached; retry shortly"
        kept = {k: v for k, v in busy.headers.items() if k.lower() in ("retry-after", "connection")}
        return wire.errors(fmt, 503, [(code, _describe(request, code, code, detail))], kept)
    if isinstance(exc, StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        return wire.errors(fmt, exc.status_code, [(code, _describe(request, code, code, str(exc.detail)))])
    if not isinstance(exc, DomainError):
        log.exception("unhandled error on an Open311 path", exc_info=exc)
        detail = "an unexpected error occurred; it has been logged"
        return wire.errors(
            fmt, 500, [("internal_error", _describe(request, "internal_error", "Internal error", detail))]
        )
    if isinstance(exc, TooManyRequests | DatabaseUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    fields = exc.extra.get("errors") or []
    if exc.code == "invalid_input" and fields:
        items = [
            (exc.code, _describe(request, exc.code, exc.title, f"{f.get('field')}: {f.get('message')}")) for f in fields
        ]
    else:
        items = [(exc.code, _describe(request, exc.code, exc.title, exc.detail))]
    return wire.errors(fmt, _status(exc), items, headers or None)


class Open311Route(SessionRoute):
    """A route whose errors are answered in the GeoReport v2 error format (closing its session as every API
    route does)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every error of these paths is the spec's kind of answer
                return error_response(request, exc)

        return route


FORMATS = {
    "application/json": {"schema": {"description": "The spec's JSON (Spark convention of its XML)"}},
    "text/xml": {"schema": {"type": "string", "description": "The spec's XML, UTF-8, no namespace"}},
}
SPEC_ERRORS = {
    "description": "GeoReport v2 errors — XML <errors><error><code/><description/></error></errors> or a JSON "
    "array of {code, description} (not problem+json). `code` is a stable string such as api_key_invalid",
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "description"],
                    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
                },
            }
        },
        "text/xml": {"schema": {"type": "string"}},
    },
}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    texts = {
        400: "请求无效 Invalid request",
        403: "缺少、无效或已吊销的 api_key，或不属于该 key 的地区 "
        "Missing, invalid or revoked api_key, or a region not the key's",
        404: "不存在 Not found",
        429: "请求过于频繁 Too many requests (Retry-After)",
        503: "数据库繁忙或不可达 Database busy or unreachable (Retry-After)",
    }
    out: dict[int | str, dict[str, Any]] = {200: {"description": "OK", "content": FORMATS}}
    for s in (400, *statuses, 503):
        out[s] = {**SPEC_ERRORS, "description": texts[s] + " — " + SPEC_ERRORS["description"]}
        if s in (429, 503):
            out[s]["headers"] = {"Retry-After": RETRY_AFTER}
    return out


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)
partners = APIRouter(prefix="/api/v1/open311/partners", tags=["open311"], route_class=SessionRoute)

Fmt = Annotated[Format, Path(description="xml (the spec's required format) or json")]
ApiKey = Annotated[str | None, Query(max_length=200, description="The partner's key")]
Jurisdiction = Annotated[str | None, Query(max_length=200, description="Ignored unless HAZARD_OPEN311_JURISDICTION_ID")]


def check_jurisdiction(settings: Settings, value: str | None) -> None:
    """One jurisdiction per endpoint: the parameter may be left out; when configured, a different one is 404."""
    if value and settings.open311_jurisdiction_id and value != settings.open311_jurisdiction_id:
        raise NotFound(f"jurisdiction_id {value!r} is not served here", code="jurisdiction_unknown")


def _limiter(request: Request) -> Limiter:
    return request.app.state.limiter


def _caller(request: Request, settings: Settings, api_key: str | None) -> service.Caller:
    """The partner of ``api_key``, read in a short transaction of its own; wrong keys count against the
    client's address (past the limit, 429 instead of 403), right ones against the key."""
    limits, address, now = _limiter(request), request_address(request), clock.now()
    wait = limits.blocked("open311_bad_key", address, settings.open311_rate_bad_key)
    try:
        with request.app.state.sessionmaker(bind=request.app.state.read_engine) as s:
            caller, stale = service.authenticate(s, api_key, now)
    except Forbidden:
        with contextlib.suppress(TooManyRequests):
            limits.hit("open311_bad_key", address, settings.open311_rate_bad_key)
        if wait:
            raise TooManyRequests(
                "too many wrong api_keys from your address; wait and retry", retry_after=wait
            ) from None
        raise
    if stale:  # before the request's own transaction begins, so it waits for no one on SQLite
        with request.app.state.engine.begin() as conn:
            conn.execute(update(Partner).where(Partner.id == caller.partner_id).values(last_used_at=now))
    limits.hit(
        "open311_key", str(caller.partner_id), settings.open311_rate_key, detail="too many requests for this api_key"
    )
    return caller


def query_caller(request: Request, settings: AppSettings, api_key: ApiKey = None, jurisdiction_id: Jurisdiction = None):
    check_jurisdiction(settings, jurisdiction_id)
    return _caller(request, settings, api_key)


async def form_fields(request: Request) -> list[tuple[str, str]]:
    """The POST's url-encoded form (the spec's only request format), at most 64 KiB and 100 fields."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise DomainError("send the request as application/x-www-form-urlencoded", code="form_required")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge(f"the form is limited to {MAX_FORM_BYTES} bytes", limit=MAX_FORM_BYTES)
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError:
        raise DomainError("the form is not UTF-8", code="form_required") from None
    except ValueError:
        raise DomainError(f"the form has more than {MAX_FORM_FIELDS} fields", code="form_required") from None


Form = Annotated[list[tuple[str, str]], Depends(form_fields)]
QueryCaller = Annotated[service.Caller, Depends(query_caller)]

REQUEST_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code", "attribute[region_code]", "description"],
                    "properties": {
                        "api_key": {"type": "string"},
                        "jurisdiction_id": {"type": "string"},
                        "service_code": {"type": "string", "description": "From services.{format}"},
                        "lat": {"type": "number", "minimum": -90, "maximum": 90},
                        "long": {"type": "number", "minimum": -180, "maximum": 180},
                        "address_string": {"type": "string", "maxLength": 300},
                        "address_id": {"type": "string", "maxLength": 64},
                        "email": {"type": "string"},
                        "device_id": {"type": "string", "maxLength": 200},
                        "account_id": {"type": "string", "maxLength": 200},
                        "first_name": {"type": "string", "maxLength": 64},
                        "last_name": {"type": "string", "maxLength": 64},
                        "phone": {"type": "string"},
                        "description": {"type": "string", "maxLength": 4000},
                        "media_url": {"type": "string", "maxLength": 1000},
                        "attribute[region_code]": {"type": "string", "pattern": r"^\d{6}(\d{3})?$"},
                    },
                    "additionalProperties": {"type": "string", "description": "attribute[code]=value"},
                }
            }
        },
    }
}


# --- the GeoReport v2 interface -----------------------------------------------------------------------------------


@router.get(
    "/discovery.{fmt}",
    operation_id="open311_discovery",
    summary="Open311 service discovery (发现文档)",
    responses=_responses(),
)
def discovery(fmt: Fmt, request: Request, settings: AppSettings) -> Response:
    document = {
        "changeset": CHANGESET,
        "contact": settings.open311_contact,
        "key_service": settings.open311_key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": str(request.base_url).rstrip("/") + router.prefix,
                "changeset": CHANGESET,
                "type": settings.open311_endpoint_type,
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return wire.render(fmt, "discovery", document)


@router.get(
    "/services.{fmt}",
    operation_id="open311_services",
    summary="GeoReport v2 GET Service List: the complaint categories (sectors)",
    responses=_responses(404),
)
def services(fmt: Fmt, session: DbSession, settings: AppSettings, jurisdiction_id: Jurisdiction = None) -> Response:
    check_jurisdiction(settings, jurisdiction_id)
    return wire.render(fmt, "services", service.list_services(session))


@router.get(
    "/services/{service_code}.{fmt}",
    operation_id="open311_service_definition",
    summary="GeoReport v2 GET Service Definition: the attributes every service takes",
    responses=_responses(404),
)
def service_definition(
    service_code: Annotated[str, Path(max_length=64)],
    fmt: Fmt,
    session: DbSession,
    settings: AppSettings,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    check_jurisdiction(settings, jurisdiction_id)
    return wire.render(fmt, "service_definition", service.service_definition(session, service_code))


@router.post(
    "/requests.{fmt}",
    operation_id="open311_post_request",
    summary="GeoReport v2 POST Service Request: file a complaint (api_key required)",
    description="A url-encoded form as the spec defines it. The reporter's name, phone, e-mail, device_id and "
    "account_id are sealed like any reporter's identity and never answered by GET. `service_notice` carries "
    "the receipt code, once.",
    responses=_responses(403, 404, 429),
    openapi_extra=REQUEST_FORM,
)
def post_request(
    fmt: Fmt, request: Request, fields: Form, settings: AppSettings, session: DbSession, v: VaultDep
) -> Response:
    form = service.split_form(fields)
    check_jurisdiction(settings, form.auth.get("jurisdiction_id") or request.query_params.get("jurisdiction_id"))
    caller = _caller(request, settings, form.auth.get("api_key") or request.query_params.get("api_key"))
    data = service.read_form(form)  # after the key: a caller without one learns nothing of the form's faults
    complaint, receipt = service.submit(session, caller, data, vault=v, now=clock.now())
    session.commit()
    return wire.render(fmt, "service_requests", [service.created(complaint, receipt)])


def _list(value: str | None, name: str, convert: Callable[[str], Any] = str) -> tuple[Any, ...]:
    if not value:
        return ()
    items = [v.strip() for v in value.split(",") if v.strip()]
    if len(items) > service.MAX_RESULTS:
        raise service.invalid(name, f"at most {service.MAX_RESULTS} values")
    try:
        return tuple(convert(v) for v in items)
    except ValueError:
        raise service.invalid(name, "not a comma-separated list of valid values") from None


def _request_id(value: str) -> int:
    n = int(value)
    if not 1 <= n <= 2**31 - 1:
        raise ValueError(value)
    return n


def _open_or_closed(value: str) -> str:
    if value not in ("open", "closed"):
        raise ValueError(value)
    return value


def _w3(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise service.invalid(name, "a w3 datetime such as 2010-01-01T00:00:00Z") from None
    if at.tzinfo is None:
        raise service.invalid(name, "must include a time zone (Z or +08:00)")
    return at


@router.get(
    "/requests.{fmt}",
    operation_id="open311_get_requests",
    summary="GeoReport v2 GET Service Requests: the requests this api_key filed",
    description="Requires api_key (a deviation from the spec: complaints are confidential). A partner reads only "
    "the requests it filed. Newest first, at most 1000, within 90 days.",
    responses=_responses(403, 404, 429),
)
def get_requests(
    fmt: Fmt,
    caller: QueryCaller,
    session: DbSession,
    service_request_id: Annotated[str | None, Query(max_length=12000, description="Comma-separated")] = None,
    service_code: Annotated[str | None, Query(max_length=2000, description="Comma-separated")] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20, description="open, closed, or both")] = None,
) -> Response:
    q = service.Query(
        ids=_list(service_request_id, "service_request_id", _request_id),
        service_codes=_list(service_code, "service_code"),
        statuses=_list(status, "status", _open_or_closed),
        start=_w3(start_date, "start_date"),
        end=_w3(end_date, "end_date"),
    )
    return wire.render(fmt, "service_requests", service.find_requests(session, caller, q, clock.now()))


@router.get(
    "/requests/{service_request_id}.{fmt}",
    operation_id="open311_get_request",
    summary="GeoReport v2 GET Service Request: one request this api_key filed",
    responses=_responses(403, 404, 429),
)
def get_request(service_request_id: IdPath, fmt: Fmt, caller: QueryCaller, session: DbSession) -> Response:
    return wire.render(fmt, "service_requests", service.get_request(session, caller, service_request_id))


@router.get(
    "/tokens/{token}.{fmt}",
    operation_id="open311_token",
    summary="GeoReport v2 GET service_request_id from a token (services are realtime: none is issued)",
    responses=_responses(404),
)
def token(
    token: Annotated[str, Path(max_length=64)], fmt: Fmt, settings: AppSettings, jurisdiction_id: Jurisdiction = None
) -> Response:
    check_jurisdiction(settings, jurisdiction_id)
    raise service.unknown_token(token)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def unknown(rest: str) -> Response:
    raise NotFound(f"no GeoReport v2 resource at {rest!r}", code="not_found")


# --- partner keys (administrators) --------------------------------------------------------------------------------


def _out(p: Partner) -> schemas.PartnerOut:
    return schemas.PartnerOut.model_validate(p)


@partners.post("", status_code=201, response_model=schemas.PartnerCreated, operation_id="create_open311_partner")
def create_partner(data: schemas.PartnerCreate, actor: CurrentActor, session: DbSession) -> schemas.PartnerCreated:
    partner, key = registry.create_partner(session, actor, data, clock.now())
    session.commit()
    return schemas.PartnerCreated(**_out(partner).model_dump(), api_key=key)


@partners.get("", response_model=schemas.PartnerPage, operation_id="list_open311_partners")
def list_partners(
    actor: CurrentActor,
    session: DbSession,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> schemas.PartnerPage:
    rows, next_cursor = registry.list_partners(session, actor, cursor, limit)
    return schemas.PartnerPage(items=[_out(p) for p in rows], next_cursor=next_cursor)


@partners.get("/{partner_id}", response_model=schemas.PartnerOut, operation_id="get_open311_partner")
def get_partner(partner_id: IdPath, actor: CurrentActor, session: DbSession) -> schemas.PartnerOut:
    return _out(registry.get_partner(session, actor, partner_id))


@partners.post("/{partner_id}/revocation", response_model=schemas.PartnerOut, operation_id="revoke_open311_partner")
def revoke_partner(partner_id: IdPath, actor: CurrentActor, session: DbSession) -> schemas.PartnerOut:
    partner = registry.revoke_partner(session, actor, partner_id, clock.now())
    session.commit()
    return _out(partner)
