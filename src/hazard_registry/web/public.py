"""The public desk (no login, phone first): 举报 at /jb, the receipt shown once, 查询 at /cx (status, answer,
evidence, re-check, reward claim) and the 曝光台 at /bgt, over the same services as the complaints API.

Every page works without JavaScript: the region cascade reloads the form with GET (the fields typed so far
ride along), forms are plain POSTs (multipart where photos go). With JavaScript the cascade fills from the
public, rate-limited regions lookup (``GET /api/v1/public/regions``) and the credit code is checked as typed.
The receipt never appears in a URL: 查询 forms carry it as a hidden field of a POST.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from stdnum.cn import uscc as stdnum_uscc

from hazard_registry import clock
from hazard_registry.complaints import schemas as cs
from hazard_registry.complaints import service as complaints
from hazard_registry.complaints.models import Complaint
from hazard_registry.complaints.router import reporter_complaint
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.errors import DomainError
from hazard_registry.pagination import Page
from hazard_registry.ratelimit import Limiter, request_address
from hazard_registry.reference.models import Region, Sector
from hazard_registry.supervision import service as supervision
from hazard_registry.web.pages import page_router, render

router = page_router()
api = APIRouter(prefix="/api/v1/public", tags=["public"], route_class=SessionRoute)

LOOKUP_RATE = "120/60"  # regions lookups per address and minute
TEXT_FIELDS = ("title", "description", "address", "enterprise_name", "enterprise_uscc", "observed_on",
               "sector_code", "name", "phone", "email")  # fmt: skip
STATUS_NAMES = {
    "received": "已收到，待受理",
    "in_progress": "正在办理",
    "answered": "已答复",
    "refused": "不予受理",
    "closed": "已办结",
}
MESSAGE_KINDS = {
    "question": "办理人员提问",
    "answer": "我的回答",
    "result": "办理结果",
    "refusal": "不予受理说明",
    "reward": "举报奖励",
    "recheck": "我的复核申请",
}


def _address(request: Request) -> str:
    """The citizen's address as the limits count it (trusted proxies only: ratelimit.request_address)."""
    return request_address(request)


def _limiter(request: Request) -> Limiter:
    return request.app.state.limiter


# --- the public lookup the form needs ---------------------------------------------------------------------------


class PublicRegion(BaseModel):
    code: str
    name: str
    level: str


def _children(session: Session, parent: str | None) -> list[Region]:
    stmt = select(Region).where(Region.level.in_(("province", "prefecture", "county")))
    stmt = stmt.where(Region.parent_code == parent) if parent else stmt.where(Region.level == "province")
    return list(session.scalars(stmt.order_by(Region.code)))


@api.get("/regions", response_model=Page[PublicRegion], operation_id="public_regions")
def public_regions(
    request: Request,
    session: DbSession,
    parent: Annotated[str | None, Query(pattern=r"^\d{6}$", description="Omit for the provinces")] = None,
) -> Page[PublicRegion]:
    """Provinces, or the cities of a province, or the counties of a city: the 举报 form's cascade. No login;
    limited per address."""
    _limiter(request).hit("lookup", _address(request), LOOKUP_RATE, detail="too many lookups; wait and retry")
    return Page[PublicRegion](
        items=[PublicRegion(code=r.code, name=r.name, level=r.level) for r in _children(session, parent)]
    )


class PublicSector(BaseModel):
    code: str
    name: str


def _sectors(session: Session) -> list[Sector]:
    return list(session.scalars(select(Sector).order_by(Sector.code)))


@api.get("/sectors", response_model=Page[PublicSector], operation_id="public_sectors")
def public_sectors(request: Request, session: DbSession) -> Page[PublicSector]:
    """The campaign sectors (行业领域) a report may name when it names no registered enterprise."""
    _limiter(request).hit("lookup", _address(request), LOOKUP_RATE, detail="too many lookups; wait and retry")
    return Page[PublicSector](items=[PublicSector(code=s.code, name=s.name) for s in _sectors(session)])


# --- 举报 ---------------------------------------------------------------------------------------------------------


def _cascade(session: Session, values: dict[str, str]) -> dict[str, Any]:
    """The three selects as far as the visitor has chosen; a county code implies its city and province."""
    county = values.get("region_code") or ""
    city = values.get("city") or (county[:4] + "00" if len(county) == 6 else "")
    province = values.get("province") or (city[:2] + "0000" if city else "")
    provinces = _children(session, None)
    cities = _children(session, province) if province else []
    counties = _children(session, city) if city and any(c.code == city for c in cities) else []
    return {"provinces": provinces, "cities": cities, "counties": counties,
            "province": province, "city": city, "county": county}  # fmt: skip


def _form_page(request: Request, session: Session, values: dict[str, str], errors: dict[str, str], status: int = 200):
    return render(
        request,
        "public/report.html",
        {"v": values, "errors": errors, "sectors": _sectors(session), **_cascade(session, values)},
        status_code=status,
    )


@router.get("/jb")
@router.get("/report")
def report_form(request: Request, session: DbSession) -> HTMLResponse:
    values = {k: v for k, v in request.query_params.items() if k in (*TEXT_FIELDS, "province", "city", "region_code")}
    return _form_page(request, session, values, {})


def _errors_of(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in exc.errors():
        field = ".".join(str(p) for p in e["loc"] if p != "reporter") or "form"
        out.setdefault(field, "请检查此项")
    return out


@router.post("/jb")
@router.post("/report")
async def report_submit(request: Request, session: DbSession) -> HTMLResponse:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in (*TEXT_FIELDS, "province", "city", "region_code")}
    photos = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    errors: dict[str, str] = {}
    if not values["region_code"]:
        errors["region_code"] = "请选择事发地的区县"
    uscc = values["enterprise_uscc"].upper()
    if uscc and not stdnum_uscc.is_valid(uscc):
        errors["enterprise_uscc"] = "统一社会信用代码有误（18位，最后一位为校验码）"
    settings = request.app.state.settings
    if len(photos) > settings.complaint_files_per_complaint:
        errors["photos"] = f"最多上传{settings.complaint_files_per_complaint}张照片"
    reporter = {k: values[k] for k in ("name", "phone", "email") if values[k]}
    data = {
        "title": values["title"],
        "description": values["description"],
        "region_code": values["region_code"] or "000000",
        "enterprise_name": values["enterprise_name"] or None,
        "enterprise_uscc": uscc or None,
        "sector_code": values["sector_code"] or None,
        "address": values["address"] or None,
        "observed_on": values["observed_on"] or None,
        "reporter": reporter or None,
    }
    try:
        body = cs.ComplaintCreate.model_validate(data)
    except ValidationError as exc:
        errors = {**_errors_of(exc), **errors}
        body = None
    if body is not None and not errors and not session.get(Region, body.region_code):
        errors["region_code"] = "请选择事发地的区县"
    if errors or body is None:
        return _form_page(request, session, values, errors, status=422)
    _limiter(request).hit(
        "submit", _address(request), settings.complaint_rate_submit,
        detail="too many complaints from your address; wait and retry, or call 12350",
    )  # fmt: skip
    try:
        vault = request.app.state.complaint_vault
        c, code = complaints.submit(session, body, channel="web", vault=vault, now=clock.now())
    except DomainError as exc:
        session.rollback()
        return _form_page(request, session, values, _submit_errors(exc), status=exc.status)
    try:
        for photo in photos:
            _store(request, session, c, photo)
    except DomainError as exc:
        session.rollback()
        return _form_page(request, session, values, {"photos": _photo_error(exc)}, status=exc.status)
    session.commit()
    # Shown once: the code is not kept anywhere but in the reporter's hands (PageHeaders: no-store).
    return render(request, "public/receipt.html", {"code": code, "photos": len(photos)}, status_code=201)


SUBMIT_ERRORS = {
    "target_required": ("address", "请填写涉及的单位名称、信用代码或详细地址，以便核查"),
}


def _submit_errors(exc: DomainError) -> dict[str, str]:
    if exc.code in SUBMIT_ERRORS:
        field, text = SUBMIT_ERRORS[exc.code]
        return {field: text}
    fields = [e.get("field", "") for e in exc.extra.get("errors", [])] or ["form"]
    return {f.split(".")[-1]: "请检查此项" for f in fields}


def _photo_error(exc: DomainError) -> str:
    if exc.status == 413:
        return "照片太大，请压缩后再传"
    if exc.status == 415:
        return "只能上传照片（JPEG、PNG、WebP、HEIC）或PDF"
    return "照片无法保存，请换一张"


def _store(request: Request, session: Session, c: Complaint, upload: UploadFile) -> None:
    s = request.app.state.settings
    complaints.store_file(
        session,
        c,
        filename=upload.filename or "photo",
        stream=upload.file,
        root=s.effective_attachments_dir,
        max_bytes=s.complaint_file_max_bytes,
        max_files=s.complaint_files_per_complaint,
        max_pixels=s.complaint_image_max_pixels,
        from_reporter=True,
        now=clock.now(),
    )


# --- 查询 -------------------------------------------------------------------------------------------------------


@router.get("/cx")
@router.get("/track")
def track_form(request: Request) -> HTMLResponse:
    return render(request, "public/track.html", {})


async def _by_receipt(request: Request, session: Session, receipt: str) -> Complaint | None:
    """The API's receipt check (counted per receipt and per address, the lockout refusing wrong codes only);
    a wrong code is answered slowly, here with None for the page to say so."""
    try:
        return reporter_complaint(request, request.app.state.settings, session, receipt)
    except complaints.BadReceipt:
        await asyncio.sleep(request.app.state.settings.complaint_bad_receipt_delay_ms / 1000)
        return None


def _status_page(request: Request, session: Session, c: Complaint, receipt: str, message: str | None = None,
                 error: str | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
    view = complaints.reporter_view(session, c, request.app.state.complaint_vault)
    return render(
        request,
        "public/status.html",
        {"view": view, "receipt": receipt, "status_name": STATUS_NAMES.get(view.status, view.status),
         "kinds": MESSAGE_KINDS, "message": message, "error": error},
        status_code=status,
    )  # fmt: skip


@router.post("/cx")
@router.post("/track")
async def track(request: Request, session: DbSession) -> HTMLResponse:
    form = await request.form()
    receipt = str(form.get("receipt") or "").strip()
    c = await _by_receipt(request, session, receipt)
    if c is None:
        return render(request, "public/track.html", {"error": "回执码不正确，请核对后重试"}, status_code=404)
    return _status_page(request, session, c, receipt)


@router.post("/cx/{action}")
async def track_action(action: str, request: Request, session: DbSession) -> HTMLResponse:
    """Answer a question, add evidence, ask for a re-check, claim a reward: the receipt API's actions."""
    form = await request.form()
    receipt = str(form.get("receipt") or "").strip()
    c = await _by_receipt(request, session, receipt)
    if c is None:
        return render(request, "public/track.html", {"error": "回执码不正确，请核对后重试"}, status_code=404)
    now = clock.now()
    try:
        if action == "answer":
            complaints.reporter_message(session, c, cs.ReporterMessage(body=str(form.get("body") or "")).body, now)
            done = "回答已提交"
        elif action == "files":
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
            if not files:
                return _status_page(request, session, c, receipt, error="请选择要补充的照片或文件", status=422)
            for f in files:
                _store(request, session, c, f)
            done = f"已补充{len(files)}个文件"
        elif action == "recheck":
            complaints.reporter_recheck(session, c, cs.RecheckRequest(reason=str(form.get("reason") or "")).reason, now)
            done = "复核申请已提交"
        elif action == "reward":
            claim = cs.RewardClaim(
                payee_name=str(form.get("payee_name") or ""),
                bank=str(form.get("bank") or ""),
                account=str(form.get("account") or ""),
            )
            complaints.claim_reward(session, c, claim, request.app.state.complaint_vault, now)
            done = "奖励领取信息已提交"
        else:
            return _status_page(request, session, c, receipt, error="未知的操作", status=404)
    except ValidationError:
        session.rollback()
        return _status_page(request, session, c, receipt, error="请检查填写的内容", status=422)
    except DomainError as exc:
        session.rollback()
        return _status_page(request, session, c, receipt, error=_action_error(exc), status=exc.status)
    session.commit()
    return _status_page(request, session, c, receipt, message=done)


def _action_error(exc: DomainError) -> str:
    if exc.status in (413, 415):
        return _photo_error(exc)
    if exc.status == 409:
        return "当前办理阶段不能进行此操作"
    return "操作未成功，请稍后重试"


# --- 曝光台 -------------------------------------------------------------------------------------------------------


@router.get("/bgt")
@router.get("/exposures")
def exposures(
    request: Request,
    session: DbSession,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> HTMLResponse:
    rows, _ = supervision.public_exposures(session, region, 200, None)
    return render(request, "public/exposures.html", {"rows": rows})
