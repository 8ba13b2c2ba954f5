"""Open311 GeoReport v2 over the complaint desk: partner keys, services, and service requests.

- **Partners** (partners.py) are registered by an administrator for regions within their own; a revoked key
  is refused from that moment. Errors raised here are answered in the spec's format only (router.py), so
  ``openapi.OWN_ERROR_FORMAT`` keeps their codes out of the problem+json operations' documentation.
- **Services** are the desk's complaint categories, the campaign sectors (``sectors``): ``service_code`` is
  the sector's code. Every service has the same attributes (``ATTRIBUTES``): where (the region code, which
  the desk routes by), which enterprise, a title, when it was seen, whether the reporter works there.
- **A service request** is a complaint filed through ``complaints.intake.submit`` with the channel
  ``open311``: routed, numbered and sealed exactly as any other. The reporter's name, phone and e-mail and
  the partner's identifiers of them (device_id, account_id) are sealed in ``identity_enc`` and never
  answered by GET; the receipt code is told once, in the POST's ``service_notice``, for the reporter to follow
  the case on the public desk.
- **Reading back**: a partner reads only the requests it filed (not every complaint of its regions: other
  channels' reports, and other partners', are none of its business); anything else is 404, as if absent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import region_contains
from hazard_registry.clock import today_in_china
from hazard_registry.complaints import intake
from hazard_registry.complaints.crypto import Vault
from hazard_registry.complaints.models import Complaint
from hazard_registry.complaints.schemas import ComplaintCreate
from hazard_registry.complaints.workflow import (
    HANDLING_DAYS,
    MAX_EXTENSION_DAYS,
    PUBLIC_STATUS,
    REPLY_DAYS,
    State,
)
from hazard_registry.errors import Forbidden, InvalidInput, NotFound
from hazard_registry.i18n import EN, ZH, label
from hazard_registry.open311 import schemas
from hazard_registry.open311.models import Partner, ServiceRequest
from hazard_registry.open311.partners import key_hash
from hazard_registry.open311.wire import day_end, w3
from hazard_registry.reference.models import Department, Industry, Sector

CHANNEL = "open311"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per key
MAX_SPAN = timedelta(days=90)  # the spec's longest start_date..end_date, and the default window
MAX_RESULTS = 1000  # the spec's default query limit
# Where a point in China can be (WGS84): a lat/long outside this box is a mistake, not a report of ours.
CHINA_LAT, CHINA_LONG = (3.5, 53.6), (73.4, 135.1)

# Status: "closed" once the reporter has the answer, or the report was refused or merged; "open" otherwise
# (a replied complaint may open again on a re-check).
CLOSED = frozenset({State.replied, State.refused, State.merged})
STATUS = {s: ("closed" if s in CLOSED else "open") for s in State}

SERVICE_NOTICE = (
    f"受理后{HANDLING_DAYS}日内办结（可延长一次，至多{MAX_EXTENSION_DAYS}日），办结后{REPLY_DAYS}日内答复举报人。"
    f" Handled within {HANDLING_DAYS} days of acceptance (extendable once by up to {MAX_EXTENSION_DAYS}), "
    f"the reporter answered within {REPLY_DAYS} days of the conclusion."
)


def invalid(field_name: str, message: str, code: str = "invalid_input") -> InvalidInput:
    return InvalidInput(f"{field_name}: {message}", code=code, errors=[{"field": field_name, "message": message}])


# --- who calls ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """The partner behind a valid key, as the request needs it (no ORM row crosses the dependency)."""

    partner_id: int
    name: str
    regions: tuple[str, ...]

    def covers(self, region_code: str) -> bool:
        return any(region_contains(r, region_code) for r in self.regions)


def authenticate(session: Session, api_key: str | None, now: datetime) -> tuple[Caller, bool]:
    """The caller of ``api_key``, and whether its last-used time is due to be written (403 for a missing,
    unknown or revoked key)."""
    if not api_key:
        raise Forbidden("api_key is required: send the key your administrator gave you", code="api_key_missing")
    partner = session.scalar(select(Partner).where(Partner.key_hash == key_hash(api_key)))
    if partner is None:
        raise Forbidden("invalid api_key", code="api_key_invalid")
    if partner.revoked_at is not None:
        raise Forbidden("this api_key was revoked", code="api_key_revoked")
    stale = partner.last_used_at is None or now - partner.last_used_at >= LAST_USED_RESOLUTION
    return Caller(partner.id, partner.name, tuple(partner.regions)), stale


# --- services -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str  # string, number, datetime, text, singlevaluelist, multivaluelist
    required: bool
    description: str
    datatype_description: str | None = None
    values: tuple[tuple[str, str], ...] = ()


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "region_code",
        "string",
        True,
        "隐患所在地的行政区划代码 Region code (GB/T 2260) of where the hazard is",
        "6位县级或9位乡镇代码，如440305 Six digits (county) or nine (township), e.g. 440305",
    ),
    Attribute("enterprise_name", "string", False, "被举报单位名称 Name of the enterprise reported"),
    Attribute(
        "enterprise_uscc",
        "string",
        False,
        "被举报单位统一社会信用代码 Unified social credit code of the enterprise",
        "18位 18 characters",
    ),
    Attribute(
        "title",
        "string",
        False,
        "一句话概括问题（缺省取描述首行） The problem in one line (default: the description's first line)",
    ),
    Attribute(
        "observed_on",
        "datetime",
        False,
        "发现时间 When it was seen",
        "ISO 8601, e.g. 2026-11-20T09:30:00+08:00",
    ),
    Attribute(
        "employee_of_target",
        "singlevaluelist",
        False,
        "举报人是否为被举报单位员工（员工须实名） Does the reporter work there (employees give their real name)",
        values=(("false", "否 No"), ("true", "是 Yes")),
    ),
)
ATTRIBUTE_BY_CODE = {a.code: a for a in ATTRIBUTES}


def list_services(session: Session) -> list[dict[str, Any]]:
    sectors = session.scalars(select(Sector).order_by(Sector.code)).all()
    keywords: dict[str, list[str]] = {}
    for ind in session.scalars(select(Industry).where(Industry.level == "division").order_by(Industry.code)):
        keywords.setdefault(ind.sector_code, []).append(ind.name)
    return [_service(s, keywords.get(s.code, [])) for s in sectors]


def _service(s: Sector, keywords: Sequence[str]) -> dict[str, Any]:
    return {
        "service_code": s.code,
        "service_name": s.name,
        "description": f"举报{s.name}领域的重大事故隐患或安全生产违法行为 "
        f"Report a major accident hazard or a work-safety violation ({s.code.replace('_', ' ')})",
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join([s.name, *keywords]),
        "group": "高危行业 high-risk" if s.high_risk else "其他行业 other",
    }


def get_service(session: Session, service_code: str) -> Sector:
    sector = session.get(Sector, service_code) if len(service_code) <= 32 else None
    if sector is None:
        raise NotFound(f"service_code {service_code!r} is not one of ours", code="service_code_unknown")
    return sector


def service_definition(session: Session, service_code: str) -> dict[str, Any]:
    sector = get_service(session, service_code)
    return {
        "service_code": sector.code,
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description,
                "order": n,
                "description": a.description,
                **({"values": [{"key": k, "name": v} for k, v in a.values]} if a.values else {}),
            }
            for n, a in enumerate(ATTRIBUTES, start=1)
        ],
    }


# --- the POST -----------------------------------------------------------------------------------------------------

ATTRIBUTE_FIELD = re.compile(r"^attribute\[([^\]]{1,64})\](\[\])?$")
# Where ComplaintCreate's fields came from in the partner's form (for errors that name what the partner sent).
FROM_FORM = {
    "title": "attribute[title]",
    "description": "description",
    "region_code": "attribute[region_code]",
    "sector_code": "service_code",
    "enterprise_name": "attribute[enterprise_name]",
    "enterprise_uscc": "attribute[enterprise_uscc]",
    "address": "address_string",
    "observed_on": "attribute[observed_on]",
    "reporter.name": "first_name",
    "reporter.phone": "phone",
    "reporter.email": "email",
    "reporter": "attribute[employee_of_target]",
}


def validation_failure(exc: ValidationError, names: dict[str, str] | None = None) -> InvalidInput:
    errors = []
    for e in exc.errors():
        path = ".".join(str(p) for p in e.get("loc", ()))
        name = (names or {}).get(path, path)
        errors.append({"field": name, "message": e.get("msg", "")})
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return InvalidInput(f"invalid fields: {fields}", errors=errors)


@dataclass
class Form:
    """A POST's fields: ``auth`` (api_key, jurisdiction_id), the plain fields and the ``attribute[…]`` ones."""

    auth: dict[str, str]
    plain: dict[str, str]
    attributes: dict[str, str | list[str]]


def split_form(pairs: list[tuple[str, str]]) -> Form:
    """A field given twice, or an attribute given both as one value and as a list, is an error."""
    plain: dict[str, str] = {}
    attributes: dict[str, str | list[str]] = {}
    for name, value in pairs:
        m = ATTRIBUTE_FIELD.match(name)
        if m:
            code, many = m.group(1), bool(m.group(2))
            given = attributes.get(code)
            if many and (given is None or isinstance(given, list)):
                attributes.setdefault(code, []).append(value)  # type: ignore[union-attr]
            elif given is None and not many:
                attributes[code] = value
            else:
                raise invalid(name, "given more than once", "field_repeated")
            continue
        if name in plain:
            raise invalid(name, "given more than once", "field_repeated")
        plain[name] = value
    auth = {k: plain.pop(k) for k in ("api_key", "jurisdiction_id") if k in plain}
    return Form(auth, plain, attributes)


def read_form(form: Form) -> schemas.RequestCreate:
    """The fields as a ``RequestCreate``. An empty field is an absent one (the spec's "optional arguments")."""
    body: dict[str, Any] = {k: v for k, v in form.plain.items() if v.strip()}
    cleaned: dict[str, str | list[str]] = {}
    for code, value in form.attributes.items():
        if isinstance(value, list):
            kept = [v for v in value if v.strip()]
            if kept:
                cleaned[code] = kept
        elif value.strip():
            cleaned[code] = value
    body["attribute"] = cleaned
    try:
        return schemas.RequestCreate.model_validate(body)
    except ValidationError as exc:
        names = {f"attribute.{c}": f"attribute[{c}]" for c in cleaned}
        raise validation_failure(exc, names) from None


def _attributes(data: schemas.RequestCreate) -> dict[str, str]:
    """The attributes checked against the service definition: known codes, one value each (no attribute of
    ours is a multivaluelist), a listed value for a list, every required one present."""
    values: dict[str, str] = {}
    for code, value in data.attribute.items():
        a = ATTRIBUTE_BY_CODE.get(code)
        if a is None:
            raise invalid(f"attribute[{code}]", "not an attribute of this service", "attribute_unknown")
        if isinstance(value, list):
            raise invalid(f"attribute[{code}]", f"takes one value ({a.datatype})", "attribute_invalid")
        if a.values and value not in {k for k, _ in a.values}:
            raise invalid(f"attribute[{code}]", f"one of {[k for k, _ in a.values]}", "attribute_invalid")
        values[code] = value
    for a in ATTRIBUTES:
        if a.required and a.code not in values:
            raise invalid(f"attribute[{a.code}]", "required by the service definition", "attribute_required")
    return values


def _location(data: schemas.RequestCreate) -> str:
    """Where, as the desk reads it (the complaint's ``address``): the address given, else the point, else the
    address id. One of the three is the spec's "full location parameter"."""
    if (data.lat is None) != (data.long is None):
        raise invalid("lat" if data.lat is None else "long", "lat and long are sent together", "location_invalid")
    in_china = (
        data.lat is None
        or data.long is None
        or (CHINA_LAT[0] <= data.lat <= CHINA_LAT[1] and CHINA_LONG[0] <= data.long <= CHINA_LONG[1])
    )
    if not in_china:
        raise invalid("lat", f"({data.lat}, {data.long}) is not in China (WGS84)", "location_invalid")
    if data.address_string:
        return data.address_string
    if data.lat is not None:
        return f"经纬度 WGS84 {data.lat:.6f}, {data.long:.6f}"
    if data.address_id:
        return f"地址编码 address id {data.address_id}"
    raise invalid("lat", "send lat and long, address_string or address_id", "location_required")


def _observed_on(value: str | None, now: datetime) -> str | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise invalid("attribute[observed_on]", "not an ISO 8601 datetime", "attribute_invalid") from None
    if at.tzinfo is None:
        raise invalid("attribute[observed_on]", "must include a time zone (Z or +08:00)", "attribute_invalid")
    return today_in_china(at).isoformat()


def _reporter_name(first: str | None, last: str | None) -> str | None:
    """Chinese names are family name first with no space (张 + 三 = 张三); others "first last"."""
    if not (first or last):
        return None
    if any(ord(ch) > 0x2E7F for ch in (first or "") + (last or "")):
        return f"{last or ''}{first or ''}"
    return " ".join(p for p in (first, last) if p)


def submit(
    session: Session, caller: Caller, data: schemas.RequestCreate, *, vault: Vault, now: datetime
) -> tuple[Complaint, str]:
    """File the partner's request as a complaint (channel ``open311``) in one of its regions; returns the
    complaint and its receipt code."""
    get_service(session, data.service_code)
    attrs = _attributes(data)
    address = _location(data)
    region_code = attrs["region_code"]
    if not re.fullmatch(r"\d{6}(\d{3})?", region_code):
        raise invalid("attribute[region_code]", "six or nine digits (GB/T 2260)", "region_invalid")
    if not caller.covers(region_code):
        raise Forbidden(
            f"this api_key files complaints only in {', '.join(caller.regions)}, not in {region_code}",
            code="partner_region_forbidden",
        )
    if not data.description:
        raise invalid(
            "description", "say what was seen: the desk cannot act on an empty report", "description_required"
        )
    title = attrs.get("title") or data.description.strip().splitlines()[0][:60]
    name = _reporter_name(data.first_name, data.last_name)
    reporter = {
        "name": name,
        "phone": data.phone,
        "email": data.email,
        "employee_of_target": attrs.get("employee_of_target") == "true",
    }
    named = any(reporter[k] for k in ("name", "phone", "email")) or reporter["employee_of_target"]
    body = {
        "title": title,
        "description": data.description,
        "region_code": region_code,
        "sector_code": data.service_code,
        "enterprise_name": attrs.get("enterprise_name"),
        "enterprise_uscc": attrs.get("enterprise_uscc"),
        "address": address,
        "observed_on": _observed_on(attrs.get("observed_on"), now),
        "reporter": {k: v for k, v in reporter.items() if v is not None} if named else None,
    }
    try:
        create = ComplaintCreate.model_validate(body)
    except ValidationError as exc:
        raise validation_failure(exc, FROM_FORM) from None
    identifiers = {k: v for k, v in (("device_id", data.device_id), ("account_id", data.account_id)) if v}
    complaint, receipt = intake.submit(session, create, channel=CHANNEL, vault=vault, now=now, identifiers=identifiers)
    session.add(
        ServiceRequest(
            complaint_id=complaint.id,
            partner_id=caller.partner_id,
            lat=data.lat,
            long=data.long,
            address_id=data.address_id,
            media_url=data.media_url,
            created_at=now,
        )
    )
    session.flush()
    return complaint, receipt


def created(complaint: Complaint, receipt: str) -> dict[str, Any]:
    """The POST's answer: the request id, and the receipt code for the reporter (told once, kept nowhere)."""
    return {
        "service_request_id": str(complaint.id),
        "service_notice": f"回执码 {receipt}：请转告举报人妥善保存，凭此码在举报平台查询进展、回答提问、补充证据；"
        f"本码只显示一次。 Receipt code {receipt}: give it to the reporter to follow the case on the public desk; "
        "it is shown once. " + SERVICE_NOTICE,
        "account_id": None,
    }


# --- reading back -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The spec's date range: at most 90 days, the last 90 by default."""
    if start is None and end is None:
        return now - MAX_SPAN, now
    if start is None:
        assert end is not None
        return end - MAX_SPAN, end
    if end is None:
        return start, start + MAX_SPAN
    if end < start:
        raise invalid("end_date", "before start_date", "date_range_invalid")
    if end - start > MAX_SPAN:
        raise invalid("end_date", "the range may not span more than 90 days", "date_range_invalid")
    return start, end


def _base(caller: Caller) -> Any:
    return (
        select(Complaint, ServiceRequest, Department.name)
        .join(ServiceRequest, ServiceRequest.complaint_id == Complaint.id)
        .join(Department, Department.id == Complaint.department_id)
        .where(ServiceRequest.partner_id == caller.partner_id)
    )


def find_requests(session: Session, caller: Caller, q: Query, now: datetime) -> list[dict[str, Any]]:
    """The caller's requests: by id (which overrides every other filter, as the spec says), else those
    requested within the window, of the services and statuses asked, newest first, at most 1000."""
    stmt = _base(caller)
    if q.ids:
        stmt = stmt.where(Complaint.id.in_(q.ids))
    else:
        start, end = window(q.start, q.end, now)
        stmt = stmt.where(ServiceRequest.created_at >= start, ServiceRequest.created_at <= end)
        if q.service_codes:
            stmt = stmt.where(Complaint.sector_code.in_(q.service_codes))
        if q.statuses:
            states = [s.value for s, status in STATUS.items() if status in q.statuses]
            stmt = stmt.where(Complaint.state.in_(states))
    stmt = stmt.order_by(ServiceRequest.created_at.desc(), ServiceRequest.complaint_id.desc()).limit(MAX_RESULTS)
    return _views(session, session.execute(stmt).all())


def get_request(session: Session, caller: Caller, request_id: int) -> list[dict[str, Any]]:
    rows = session.execute(_base(caller).where(Complaint.id == request_id)).all()
    if not rows:
        raise NotFound(f"service request {request_id} not found", code="request_not_found")
    return _views(session, rows)


def _views(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    names = dict(session.execute(select(Sector.code, Sector.name)).all()) if rows else {}
    return [view(c, r, agency, names.get(c.sector_code, c.sector_code)) for c, r, agency in rows]


def view(c: Complaint, r: ServiceRequest, agency: str, service_name: str) -> dict[str, Any]:
    """One request as the spec lists it. Nothing of the reporter: no name, contact or identifier."""
    state = State(c.state)
    public = PUBLIC_STATUS[state]
    expected = None
    if state is State.accepted and c.handling_due_on:
        expected = day_end(c.handling_due_on)
    elif state is State.concluded and c.reply_due_on:
        expected = day_end(c.reply_due_on)
    return {
        "service_request_id": str(c.id),
        "status": STATUS[state],
        "status_notes": " ".join(label("complaint_public_status", public, lang) for lang in (ZH, EN)),
        "service_name": service_name,
        "service_code": c.sector_code,
        "description": c.description,
        "agency_responsible": agency,
        "service_notice": SERVICE_NOTICE,
        "requested_datetime": w3(c.created_at),
        "updated_datetime": w3(c.updated_at),
        "expected_datetime": expected,
        "address": c.address,
        "address_id": r.address_id,
        "zipcode": None,
        "lat": r.lat,
        "long": r.long,
        "media_url": r.media_url,
    }


def unknown_token(token_id: str) -> NotFound:
    """Every service answers in real time (the POST returns the service_request_id), so no token is ever
    given out: any token is unknown."""
    return NotFound(f"token {token_id!r} not found: this endpoint's services are realtime", code="token_not_found")
