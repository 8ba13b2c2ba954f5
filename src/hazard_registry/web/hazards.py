"""隐患台账, 隐患详情, the action forms and 上报隐患: pages over hazards.service (the API's own functions).

Forms post to the page that drew them; a refusal (a gate, a stale version, a bad field) draws the form again
with the Chinese message and everything the user typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry import clock, uploads
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import NATIONAL, Actor, Role
from hazard_registry.db import DbSession
from hazard_registry.errors import DomainError, InvalidInput
from hazard_registry.hazards import schemas
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.audit import verify_chains
from hazard_registry.hazards.workflow import PLAN_FIELDS, State
from hazard_registry.i18n import error_text, label
from hazard_registry.ledgers import export
from hazard_registry.reference import service as reference
from hazard_registry.reference.models import Department, Enterprise, Industry, StandardClause
from hazard_registry.supervision import service as supervision
from hazard_registry.supervision.engine import load_calendar
from hazard_registry.types import IdPath
from hazard_registry.web import choices, pickers
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.pages import PageActor, page_router, redirect, render
from hazard_registry.workdays import CalendarYearUnknown

router = page_router(prefix="/hazards")
NAV.append(NavItem("隐患台账", "/hazards", order=10))
NAV.append(NavItem("上报隐患", "/hazards/new", roles=frozenset({Role.enterprise, Role.regulator}), order=20))

TRANSITION = TypeAdapter(schemas.TransitionBody)
PAGE_SIZE = 50


# --- shared helpers ------------------------------------------------------------------------------------------


def _field_errors(exc: ValidationError | DomainError) -> dict[str, str]:
    """field → Chinese message, for the form to show beside each field."""
    if isinstance(exc, DomainError):
        return {str(e.get("field", "")).split(".")[-1]: error_text(exc.code) for e in exc.extra.get("errors", [])}
    out: dict[str, str] = {}
    for e in exc.errors():
        name = str(e["loc"][-1]) if e["loc"] else ""
        if len(e["loc"]) > 1 and e["loc"][0] == "plan":
            name = f"plan_{e['loc'][-1]}"
        out[name] = "此项必填" if e["type"] in ("missing", "string_too_short") else "格式不正确"
    return out


def _refusal(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, ValidationError):
        return "请检查标出的字段"
    return error_text(exc.code)


def _blank_to_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v == "" else v) for k, v in values.items()}


def _workdays_left(session: Session, today: date, deadline: date | None) -> int | None:
    """Working days from today to the deadline (negative when past it); None when the year's calendar is unknown."""
    if deadline is None:
        return None
    try:
        cal = load_calendar(session)
        if deadline >= today:
            return cal.working_days_between(today, deadline)
        return -cal.working_days_between(deadline, today)
    except CalendarYearUnknown:
        return None


# --- the list (台账) ------------------------------------------------------------------------------------------


@dataclass
class ListQuery:
    """The list's filters as the form sends them (blank means "any"); the same names as the API's query."""

    state: list[str] = field(default_factory=list)
    overdue: str = ""
    region: str = ""
    industry_code: str = ""
    sector_code: str = ""
    enterprise_id: str = ""
    officer: str = ""
    found_from: str = ""
    found_to: str = ""
    q: str = ""
    enterprise_q: str = ""  # what was typed in the enterprise search box (not a filter)

    @classmethod
    def parse(cls, request: Request, actor: Actor) -> ListQuery:
        """The region is the deepest level of the cascade chosen (``choices.chosen_region``), within the actor's."""
        p = request.query_params
        single = {k: p.get(k, "").strip() for k in cls.__dataclass_fields__ if k not in ("state", "region")}
        return cls(
            state=[s for s in p.getlist("state") if s in State.__members__],
            region=choices.chosen_region(p.getlist("region"), actor.region_code or NATIONAL),
            **single,
        )

    def filters(self, actor: Actor) -> hazards.HazardFilters:
        def day(value: str, name: str) -> date | None:
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise InvalidInput(f"{name}: not a date", errors=[{"field": name, "message": "date"}]) from None

        def num(value: str, name: str) -> int | None:
            if not value:
                return None
            if not value.isdigit():
                raise InvalidInput(f"{name}: not a number", errors=[{"field": name, "message": "number"}])
            return int(value)

        region = self.region if self.region.isdigit() and len(self.region) in (6, 9) else None
        return hazards.HazardFilters(
            state=self.state,
            region=region,
            industry_code=self.industry_code or None,
            sector_code=self.sector_code or None,
            enterprise_id=num(self.enterprise_id, "enterprise_id"),
            officer_id=actor.user_id if self.officer == "me" else num(self.officer, "officer"),
            overdue={"yes": True, "no": False}.get(self.overdue),
            found_from=day(self.found_from, "found_from"),
            found_to=day(self.found_to, "found_to"),
            q=self.q[:100] or None,
        )

    def query_string(self, **over: str) -> str:
        pairs = [("state", s) for s in self.state]
        pairs += [(k, getattr(self, k)) for k in self.__dataclass_fields__ if k != "state" and getattr(self, k)]
        pairs += list(over.items())
        return urlencode(pairs)


def _filter_choices(session: Session, actor: Actor, query: ListQuery) -> dict[str, Any]:
    """What the filter form offers: the region cascade below the actor's region, sectors, industries (cached),
    and the enterprise search (a statement only when something is typed or chosen)."""
    return {
        "regions": pickers.region_cascade(session, actor, [query.region], name="region", id="f-region"),
        "sectors": choices.sectors(session),
        "industries": choices.industries(session),
        "colleagues": choices.colleagues(session, actor.department_id) if actor.department_id else [],
        "enterprise": pickers.enterprise_picker(
            session, actor, query.enterprise_q, query.enterprise_id, id="f-enterprise"
        ),
    }


@router.get("")
def hazard_list(request: Request, actor: PageActor, session: DbSession, cursor: str | None = None) -> HTMLResponse:
    today = clock.today_in_china()
    query = ListQuery.parse(request, actor)
    error = None
    names: dict[int, str] = {}
    try:
        rows, next_cursor = hazards.list_hazards_named(
            session, actor, query.filters(actor), cursor=cursor, limit=PAGE_SIZE, today=today
        )
        page = schemas.HazardPage(items=[hazards.to_out(h, actor, today) for h, _ in rows], next_cursor=next_cursor)
        names = {h.enterprise_id: name for h, name in rows}
    except DomainError as exc:
        page, error = schemas.HazardPage(items=[], next_cursor=None), error_text(exc.code)
    context = {
        "page": page,
        "query": query,
        "error": error,
        "names": names,
        "choices": _filter_choices(session, actor, query),
        "states": [s.value for s in State],
    }
    return render(request, "hazards/list.html", context)


@router.get("/export")
def hazard_export(request: Request, actor: PageActor, format: str = "csv") -> StreamingResponse:
    """Exactly the filtered list, through the ledger export the API serves (ledgers/export.py)."""
    filters = ListQuery.parse(request, actor).filters(actor)
    fmt = "xlsx" if format == "xlsx" else "csv"
    body, media, headers = export.hazard_ledger(request.app.state, actor, filters, fmt, clock.today_in_china())
    return StreamingResponse(body, media_type=media, headers=headers)


# --- the detail (详情) ----------------------------------------------------------------------------------------


def _names(session: Session, h: schemas.HazardOut) -> dict[str, str]:
    """Names in place of ids: department, people (one statement each), and the region (with the regions above
    it), industry and sector from the cached reference lists."""
    people = {i for i in (h.officer_id, h.reported_by_id, h.verified_by_id, h.closed_by_id) if i}
    users = {
        uid: display or username
        for uid, display, username in session.execute(
            select(User.id, User.display_name, User.username).where(User.id.in_(people))
        )
    }
    dept = session.scalar(select(Department.name).where(Department.id == h.department_id))
    industries = choices.names_of(choices.industries(session))
    sectors = choices.names_of(choices.sectors(session))
    industry = industries.get(h.industry_code)
    return {
        "department": dept or str(h.department_id),
        "officer": users.get(h.officer_id or 0, ""),
        "reporter": users.get(h.reported_by_id or 0, ""),
        "verifier": users.get(h.verified_by_id or 0, ""),
        "closer": users.get(h.closed_by_id or 0, ""),
        "region": choices.region_path(session, h.region_code),
        "industry": f"{industry}（{h.industry_code}）" if industry else h.industry_code,
        "sector": sectors.get(h.sector_code, h.sector_code),
    }


def _detail_context(session: Session, actor: Actor, hazard_id: int) -> dict[str, Any]:
    today = clock.today_in_china()
    row = hazards.get_visible(session, actor, hazard_id)
    h = hazards.to_detail(session, row, actor, today)
    extensions = hazards.list_extensions(session, actor, hazard_id)
    pending = next((e for e in extensions if e.state == "pending"), None)
    events = hazards.list_events(session, actor, hazard_id)
    breaks = list(verify_chains(session, hazard_id))
    return {
        "h": h,
        "names": _names(session, h),
        "workdays_left": _workdays_left(session, today, h.deadline) if h.state in ("assigned", "rectifying") else None,
        "overdue_days": (today - h.deadline).days if h.overdue and h.deadline else 0,
        "events": events,
        "chain_ok": not breaks,
        "chain_breaks": breaks,
        "attachments": hazards.list_attachments(session, actor, hazard_id),
        "extensions": extensions,
        "pending_extension": pending,
        "measures": supervision.list_measures(session, actor, hazard_id=hazard_id, limit=100)[0],
        "other_actions": hazards.other_actions(actor, row, extension_pending=pending is not None),
        "plan_fields": [f for f in PLAN_FIELDS if f != "deadline"],
    }


@router.get("/new")
def report_form(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    today = clock.today_in_china()
    values = {"found_at": today.isoformat(), "source": "self_report" if actor.role is Role.enterprise else "inspection"}
    return render(request, "hazards/new.html", _report_context(session, actor, values))


@router.get("/new/clauses")
def clause_options(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    """The clause picker's options (htmx swaps them in when the found date or the search text changes)."""
    p = request.query_params
    found = _date_or_today(p.get("found_at", ""))
    groups = _clause_groups(session, actor, found, p.get("clause_q", "").strip(), p.get("clause_id", ""))
    return render(request, "hazards/_clauses.html", {"groups": groups, "values": {"clause_id": p.get("clause_id", "")}})


def _date_or_today(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return clock.today_in_china()


def _own_sector(session: Session, actor: Actor) -> str | None:
    """An enterprise reports under its own sector's standards; a regulator chooses among all."""
    ent = session.get(Enterprise, actor.enterprise_id) if actor.enterprise_id else None
    industry = session.get(Industry, ent.industry_code) if ent else None
    return industry.sector_code if industry else None


def _clause_groups(
    session: Session, actor: Actor, found: date, q: str, selected: str
) -> list[tuple[Any, list[StandardClause]]]:
    """Clauses of the standard editions in force on ``found`` (what the report's gate accepts), by standard."""
    groups = []
    for std in reference.list_standards(session, None, _own_sector(session, actor), found):
        clauses = [
            c for c in std.clauses if not q or q in c.title or q in c.number or q in std.title or str(c.id) == selected
        ]
        if clauses:
            groups.append((std, clauses))
    return groups


def _report_context(session: Session, actor: Actor, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    found = _date_or_today(str(values.get("found_at", "")))
    picker = pickers.enterprise_picker(  # none for an enterprise: it reports for itself
        session,
        actor,
        str(values.get("enterprise_q", "")),
        str(values.get("enterprise_id", "")),
        id="enterprise_id",
        mode="form",
    )
    sources = ["self_report"] if actor.role is Role.enterprise else ["inspection", "other"]
    return {
        "values": values,
        "groups": _clause_groups(session, actor, found, "", str(values.get("clause_id", ""))),
        "enterprise": picker,
        "sources": sources,
        "errors": {},
        **extra,
    }


@router.post("/new")
async def report(
    request: Request,
    actor: PageActor,
    session: DbSession,
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    form = await request.form()
    keys = ("enterprise_id", "enterprise_q", "clause_id", "title", "description", "location", "found_at", "source")
    values: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in keys}
    values["production_suspended"] = form.get("production_suspended") == "on"
    now = clock.now()
    try:
        data = schemas.HazardCreate.model_validate(
            _blank_to_none(
                {k: v for k, v in values.items() if k != "enterprise_q"}
                | ({"enterprise_id": ""} if actor.role is Role.enterprise else {})
            )
        )
        hazard = hazards.report(session, actor, data, now)
        _attach_all(request, session, actor, hazard.id, photos, "photo_before", now)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        context = _report_context(session, actor, values, error=_refusal(exc), errors=_field_errors(exc))
        return render(request, "hazards/new.html", context, status_code=422)
    session.commit()
    return redirect(f"/hazards/{hazard.id}", f"已上报，隐患编号 {hazard.number}", request=request)


def _attach_all(
    request: Request,
    session: Session,
    actor: Actor,
    hazard_id: int,
    files: list[UploadFile] | None,
    kind: str,
    now: Any,
) -> list[int]:
    settings = request.app.state.settings
    ids = []
    for f in files or []:
        if not f.filename:
            continue  # the browser sends an empty part when no file was chosen
        link, _blob = hazards.add_attachment(
            session,
            actor,
            hazard_id,
            kind=kind,
            filename=f.filename,
            stream=f.file,
            root=settings.effective_attachments_dir,
            max_bytes=settings.attachment_max_bytes,
            allowed_types=settings.attachment_types,
            now=now,
        )
        ids.append(link.id)
    return ids


@router.get("/{hazard_id}")
def hazard_detail(request: Request, hazard_id: IdPath, actor: PageActor, session: DbSession) -> HTMLResponse:
    return render(request, "hazards/detail.html", _detail_context(session, actor, hazard_id))


@router.get("/{hazard_id}/attachments/{link_id}")
def attachment_content(
    request: Request, hazard_id: IdPath, link_id: IdPath, actor: PageActor, session: DbSession
) -> Response:
    link, blob = hazards.get_attachment(session, actor, hazard_id, link_id)
    path = uploads.blob_path(request.app.state.settings.effective_attachments_dir, blob.sha256)
    inline = blob.media_type.startswith("image/") or blob.media_type == "application/pdf"
    return FileResponse(
        path,
        media_type=blob.media_type,
        filename=link.filename,
        content_disposition_type="inline" if inline else "attachment",
    )


@router.post("/{hazard_id}/attachments")
async def attach(
    request: Request,
    hazard_id: IdPath,
    actor: PageActor,
    session: DbSession,
    files: Annotated[list[UploadFile] | None, File()] = None,
    kind: Annotated[str, Form()] = "other",
) -> Response:
    try:
        ids = _attach_all(request, session, actor, hazard_id, files, kind, clock.now())
    except DomainError as exc:
        session.rollback()
        return redirect(f"/hazards/{hazard_id}#attachments", error_text(exc.code), "error", request=request)
    session.commit()
    message = f"已上传 {len(ids)} 个附件" if ids else "请选择要上传的文件"
    return redirect(f"/hazards/{hazard_id}#attachments", message, "success" if ids else "warning", request=request)


# --- workflow actions -----------------------------------------------------------------------------------------

ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "assign": ("officer_id", "deadline", "note"),
    "reject": ("reason", "duplicate_of_id", "note"),
    "start_rectification": ("note",),
    "request_verification": ("report", "evaluated_by", "completed_on", "note"),
    "verify": ("check_record", "note"),
    "fail_verification": ("reasons", "note"),
    "close": ("note",),
}


def _action_context(
    session: Session, actor: Actor, hazard_id: int, action: str, values: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    context = _detail_context(session, actor, hazard_id)
    if action not in ACTION_FIELDS:
        raise InvalidInput(f"unknown action {action}")
    officers = hazards.assignable_officers(session, actor, hazard_id) if action == "assign" else []
    return {**context, "action": action, "values": values, "officers": officers, "errors": {}, **extra}


@router.get("/{hazard_id}/act/{action}")
def action_form(request: Request, hazard_id: IdPath, action: str, actor: PageActor, session: DbSession) -> HTMLResponse:
    values: dict[str, Any] = {}
    context = _action_context(session, actor, hazard_id, action, values)
    h = context["h"]
    if action not in h.allowed_actions:
        return render(request, "errors/error.html", {"status": 409, "code": "wrong_state"}, status_code=409)
    values["version"] = h.version
    if action == "start_rectification" and h.deadline:
        values["plan_deadline"] = h.deadline.isoformat()
    if action == "request_verification":
        values["completed_on"] = clock.today_in_china().isoformat()
        values["evidence_ids"] = [str(link.id) for link, _ in context["attachments"] if link.kind == "photo_after"]
    return render(request, "hazards/action.html", context)


@router.post("/{hazard_id}/act/{action}")
async def take_action(
    request: Request,
    hazard_id: IdPath,
    action: str,
    actor: PageActor,
    session: DbSession,
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in ACTION_FIELDS.get(action, ())}
    values["version"] = str(form.get("version", ""))
    values["production_suspended"] = form.get("production_suspended") == "on"
    values["evidence_ids"] = [str(v) for v in form.getlist("evidence_ids")]
    plan = {f: str(form.get(f"plan_{f}", "")).strip() for f in PLAN_FIELDS}
    values.update({f"plan_{k}": v for k, v in plan.items()})
    now = clock.now()
    body: dict[str, Any] = {"action": action, **_blank_to_none({k: values[k] for k in ACTION_FIELDS.get(action, ())})}
    if values["version"].isdigit():
        body["version"] = int(values["version"])
    if action in ("assign", "start_rectification") and "production_suspended" in form:
        body["production_suspended"] = values["production_suspended"]
    if action == "start_rectification":
        body["plan"] = plan
    try:
        if action == "request_verification":
            new_ids = _attach_all(request, session, actor, hazard_id, files, "photo_after", now)
            if new_ids:
                session.commit()  # the uploads stay even if the request below is refused: nothing is lost
                values["evidence_ids"] += [str(i) for i in new_ids]
            body["evidence_ids"] = [int(i) for i in values["evidence_ids"] if i.isdigit()]
        parsed = TRANSITION.validate_python(body)
        hazards.transition(session, actor, hazard_id, parsed, expected_version=body.get("version"), now=now)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        context = _action_context(
            session, actor, hazard_id, action, values, error=_refusal(exc), errors=_field_errors(exc)
        )
        return render(request, "hazards/action.html", context, status_code=409 if isinstance(exc, DomainError) else 422)
    session.commit()
    return redirect(f"/hazards/{hazard_id}", f"已{label('hazard_action', action)}", request=request)


# --- extensions -----------------------------------------------------------------------------------------------


@router.post("/{hazard_id}/extensions")
def request_extension(
    request: Request,
    hazard_id: IdPath,
    actor: PageActor,
    session: DbSession,
    requested_deadline: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    values = {"requested_deadline": requested_deadline, "reason": reason}
    try:
        data = schemas.ExtensionCreate.model_validate(_blank_to_none(values))
        hazards.request_extension(session, actor, hazard_id, data, clock.now())
    except (ValidationError, DomainError) as exc:
        session.rollback()
        context = _detail_context(session, actor, hazard_id)
        context.update(ext_values=values, ext_error=_refusal(exc), ext_errors=_field_errors(exc))
        return render(request, "hazards/detail.html", context, status_code=422)
    session.commit()
    return redirect(f"/hazards/{hazard_id}", "延期申请已提交", request=request)


@router.post("/{hazard_id}/extensions/{extension_id}")
def decide_extension(
    request: Request,
    hazard_id: IdPath,
    extension_id: IdPath,
    actor: PageActor,
    session: DbSession,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = schemas.ExtensionDecision.model_validate(_blank_to_none({"decision": decision, "note": note}))
        hazards.decide_extension(session, actor, hazard_id, extension_id, data, clock.now())
    except (ValidationError, DomainError) as exc:
        session.rollback()
        context = _detail_context(session, actor, hazard_id)
        context.update(dec_values={"note": note}, dec_error=_refusal(exc))
        return render(request, "hazards/detail.html", context, status_code=409)
    session.commit()
    return redirect(f"/hazards/{hazard_id}", label("extension_decision", decision), request=request)
