"""Routes of the complaint desk: the public side (no account; the receipt is the key) and the handlers' side."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Body, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from hazard_registry import clock, uploads
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.complaints import schemas, service
from hazard_registry.complaints.crypto import Vault, normalize_receipt, receipt_hash
from hazard_registry.complaints.models import Complaint
from hazard_registry.complaints.workflow import State
from hazard_registry.config import AppSettings
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.errors import NotFound, TooManyRequests, problem
from hazard_registry.pagination import Cursor, Page
from hazard_registry.ratelimit import Limiter, request_address
from hazard_registry.types import IdPath, IfMatch, expected_version

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"], route_class=SessionRoute)

ReceiptHeader = Annotated[
    str | None,
    Header(alias="X-Complaint-Receipt", max_length=64, description="The receipt code given when reporting"),
]


def vault(request: Request) -> Vault:
    return request.app.state.complaint_vault


def limiter(request: Request) -> Limiter:
    return request.app.state.limiter


VaultDep = Annotated[Vault, Depends(vault)]


def install(app) -> None:
    """The desk's shared state, and the slow answer to a wrong receipt (awaited, so no worker thread waits)."""
    settings = app.state.settings
    app.state.complaint_vault = Vault(settings.effective_complaint_keys)

    @app.exception_handler(service.BadReceipt)
    async def _bad_receipt(request: Request, exc: service.BadReceipt) -> JSONResponse:
        await asyncio.sleep(settings.complaint_bad_receipt_delay_ms / 1000)
        return problem(
            exc.status, exc.code, exc.title, exc.detail, accept_language=request.headers.get("accept-language")
        )


def reporter_complaint(
    request: Request, settings: AppSettings, session: DbSession, receipt: ReceiptHeader = None
) -> Complaint:
    """The complaint of the receipt. A wrong receipt counts against the caller's address and is answered
    slowly, the same way whether it is malformed or merely unknown; a right one counts against itself.

    The lockout of an address that sent too many wrong codes refuses wrong codes only (429 instead of the
    slow 404): a reporter with the right code behind the same address (a factory's NAT — perhaps the very
    enterprise reported, trying codes to lock its employees out) still gets in. Guessing is not what the
    lockout stops (16 characters of 29 are out of reach); it makes bulk guessing slow and visible."""
    limits = limiter(request)
    address = request_address(request)
    wait = limits.blocked("bad_receipt", address, settings.complaint_rate_bad_receipt)
    if receipt and normalize_receipt(receipt):
        # Counted before the lookup, in the limiter's own transaction: none of this request's is open yet.
        limits.hit("receipt", receipt_hash(receipt), settings.complaint_rate_receipt)
    try:
        c = service.by_receipt(session, receipt)
    except service.BadReceipt:
        session.rollback()  # the limiter may write to this database: hold no lock while it does
        _count_bad(limits, address, settings.complaint_rate_bad_receipt)
        if wait:
            raise TooManyRequests(
                "too many wrong receipt codes from your address; wait and retry", retry_after=wait
            ) from None
        raise
    return c


def _count_bad(limits: Limiter, address: str, spec: str) -> None:
    # Only counted here; the next attempt is refused by ``blocked``, this one still gets the slow 404.
    with contextlib.suppress(TooManyRequests):
        limits.hit("bad_receipt", address, spec)


ReporterComplaint = Annotated[Complaint, Depends(reporter_complaint)]


def _submit_limit(request: Request, settings: AppSettings) -> None:
    limiter(request).hit(
        "submit",
        request_address(request),
        settings.complaint_rate_submit,
        detail="too many complaints from your address; wait and retry, or call 12350",
    )


# --- public --------------------------------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=schemas.Receipt,
    operation_id="submit_complaint",
    summary="Report a hazard or violation (举报), anonymously or named; no account needed",
    dependencies=[Depends(_submit_limit)],
)
def submit_complaint(data: schemas.ComplaintCreate, session: DbSession, v: VaultDep) -> schemas.Receipt:
    _c, code = service.submit(session, data, channel="web", vault=v, now=clock.now())
    session.commit()
    return schemas.Receipt(
        receipt_code=code,
        status="received",
        message="请妥善保存回执码：凭此码查询进展、回答提问、补充证据。本码只显示一次。",
    )


@router.get("/mine", response_model=schemas.ReporterView, operation_id="follow_complaint")
def follow_complaint(c: ReporterComplaint, session: DbSession, v: VaultDep) -> schemas.ReporterView:
    return service.reporter_view(session, c, v)


@router.post("/mine/messages", response_model=schemas.ReporterView, operation_id="answer_complaint")
def answer_complaint(
    data: schemas.ReporterMessage, c: ReporterComplaint, session: DbSession, v: VaultDep
) -> schemas.ReporterView:
    service.reporter_message(session, c, data.body, clock.now())
    session.commit()
    return service.reporter_view(session, c, v)


@router.post("/mine/files", response_model=schemas.ReporterView, operation_id="add_complaint_evidence")
def add_evidence(
    s: AppSettings, c: ReporterComplaint, session: DbSession, v: VaultDep, file: Annotated[UploadFile, File()]
) -> schemas.ReporterView:
    service.store_file(
        session,
        c,
        filename=file.filename or "file",
        stream=file.file,
        root=s.effective_attachments_dir,
        max_bytes=s.complaint_file_max_bytes,
        max_files=s.complaint_files_per_complaint,
        max_pixels=s.complaint_image_max_pixels,
        from_reporter=True,
        now=clock.now(),
    )
    session.commit()
    return service.reporter_view(session, c, v)


@router.post("/mine/recheck", response_model=schemas.ReporterView, operation_id="request_complaint_recheck")
def request_recheck(
    data: schemas.RecheckRequest, c: ReporterComplaint, session: DbSession, v: VaultDep
) -> schemas.ReporterView:
    service.reporter_recheck(session, c, data.reason, clock.now())
    session.commit()
    return service.reporter_view(session, c, v)


@router.post("/mine/reward-claim", response_model=schemas.ReporterView, operation_id="claim_complaint_reward")
def claim_reward(
    data: schemas.RewardClaim, c: ReporterComplaint, session: DbSession, v: VaultDep
) -> schemas.ReporterView:
    service.claim_reward(session, c, data, v, clock.now())
    session.commit()
    return service.reporter_view(session, c, v)


# --- intake staff and handlers -------------------------------------------------------------------------------


@router.post(
    "/intake",
    status_code=201,
    response_model=schemas.Receipt,
    operation_id="enter_complaint",
    summary="Enter a hotline (12350), letter or visit complaint on the caller's behalf",
)
def enter_complaint(
    data: schemas.IntakeCreate, actor: CurrentActor, session: DbSession, v: VaultDep
) -> schemas.Receipt:
    payload = schemas.ComplaintCreate(**data.model_dump(exclude={"channel"}))
    _c, code = service.submit(session, payload, channel=data.channel, vault=v, now=clock.now(), entered_by=actor)
    session.commit()
    return schemas.Receipt(receipt_code=code, status="received", message="Read the code to the caller once.")


@router.get("", response_model=schemas.ComplaintPage, operation_id="list_complaints")
def list_complaints(
    actor: CurrentActor,
    session: DbSession,
    state: Annotated[list[State] | None, Query()] = None,
    overdue: bool | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> schemas.ComplaintPage:
    today = clock.today_in_china()
    rows, next_cursor = service.list_complaints(
        session, actor, state=[s.value for s in state or []], overdue=overdue, cursor=cursor, limit=limit, today=today
    )
    return schemas.ComplaintPage(items=[service.to_out(c, actor, today) for c in rows], next_cursor=next_cursor)


@router.get("/identity-reveals", response_model=Page[schemas.RevealOut], operation_id="list_identity_reveals")
def list_reveals(
    actor: CurrentActor,
    session: DbSession,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> Page[schemas.RevealOut]:
    rows, next_cursor = service.list_reveals(session, actor, limit, cursor)
    return Page[schemas.RevealOut](items=[schemas.RevealOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/rewards/to-pay", response_model=Page[schemas.RewardPayment], operation_id="rewards_to_pay")
def rewards_to_pay(actor: CurrentActor, session: DbSession, v: VaultDep) -> Page[schemas.RewardPayment]:
    return Page[schemas.RewardPayment](
        items=[service.payment_view(r, v) for r in service.rewards_to_pay(session, actor)]
    )


@router.post("/rewards/{reward_id}/payment", response_model=schemas.RewardOut, operation_id="pay_reward")
def pay_reward(reward_id: IdPath, data: schemas.RewardPay, actor: CurrentActor, session: DbSession):
    r = service.pay_reward(session, actor, reward_id, data.payment_reference, clock.now())
    session.commit()
    return service.reward_out(r)


@router.get("/{complaint_id}", response_model=schemas.ComplaintOut, operation_id="get_complaint")
def get_complaint(complaint_id: IdPath, actor: CurrentActor, session: DbSession) -> schemas.ComplaintOut:
    c = service.get_for_handler(session, actor, complaint_id)
    return service.to_out(c, actor, clock.today_in_china())


@router.post("/{complaint_id}/transitions", response_model=schemas.ComplaintOut, operation_id="act_on_complaint")
def act_on_complaint(
    complaint_id: IdPath,
    body: Annotated[schemas.ActionBody, Body()],
    actor: CurrentActor,
    session: DbSession,
    if_match: IfMatch = None,
) -> schemas.ComplaintOut:
    now = clock.now()
    c = service.transition(
        session, actor, complaint_id, body, expected_version=expected_version(if_match, body.version), now=now
    )
    session.commit()
    return service.to_out(c, actor, clock.today_in_china(now))


@router.get(
    "/{complaint_id}/duplicates", response_model=Page[schemas.DuplicateSuggestion], operation_id="dup_complaints"
)
def duplicate_suggestions(complaint_id: IdPath, actor: CurrentActor, session: DbSession):
    return Page[schemas.DuplicateSuggestion](items=service.duplicates(session, actor, complaint_id, clock.now()))


@router.get("/{complaint_id}/messages", response_model=Page[schemas.MessageOut], operation_id="list_complaint_messages")
def list_messages(complaint_id: IdPath, actor: CurrentActor, session: DbSession) -> Page[schemas.MessageOut]:
    return Page[schemas.MessageOut](items=service.list_messages(session, actor, complaint_id))


@router.post(
    "/{complaint_id}/messages", status_code=201, response_model=schemas.MessageOut, operation_id="write_complaint"
)
def write_message(complaint_id: IdPath, data: schemas.MessageCreate, actor: CurrentActor, session: DbSession):
    msg = service.add_message(session, actor, complaint_id, data, clock.now())
    session.commit()
    return msg


@router.get("/{complaint_id}/files", operation_id="list_complaint_files")
def list_files(complaint_id: IdPath, actor: CurrentActor, session: DbSession) -> Page[dict]:
    items = [
        {
            "id": link.id,
            "filename": link.filename,
            "media_type": blob.media_type,
            "size": blob.size,
            "sha256": blob.sha256,
        }
        for link, blob in service.list_files(session, actor, complaint_id)
    ]
    return Page[dict](items=items)


@router.get(
    "/{complaint_id}/files/{file_id}",
    operation_id="download_complaint_file",
    response_class=FileResponse,
    responses=uploads.file_responses(service.FILE_TYPES),
)
def download_file(
    complaint_id: IdPath, file_id: IdPath, settings: AppSettings, actor: CurrentActor, session: DbSession
):
    for link, blob in service.list_files(session, actor, complaint_id):
        if link.id == file_id:
            root = settings.effective_attachments_dir
            return uploads.download(uploads.blob_path(root, blob.sha256), blob.media_type, link.filename)
    raise NotFound(f"file {file_id} not found", code="file_not_found")


@router.post(
    "/{complaint_id}/identity-reveals",
    status_code=201,
    response_model=schemas.RevealOut,
    operation_id="request_identity_reveal",
)
def request_reveal(complaint_id: IdPath, data: schemas.RevealCreate, actor: CurrentActor, session: DbSession):
    r = service.request_reveal(session, actor, complaint_id, data.reason, clock.now())
    session.commit()
    return r


@router.post(
    "/{complaint_id}/identity-reveals/{reveal_id}/decision",
    response_model=schemas.RevealOut,
    operation_id="decide_identity_reveal",
)
def decide_reveal(
    complaint_id: IdPath, reveal_id: IdPath, data: schemas.RevealDecision, actor: CurrentActor, session: DbSession
):
    r = service.decide_reveal(session, actor, complaint_id, reveal_id, data, clock.now())
    session.commit()
    return r


@router.get(
    "/{complaint_id}/identity-reveals/{reveal_id}/identity",
    response_model=schemas.IdentityOut,
    operation_id="view_reporter_identity",
)
def view_identity(complaint_id: IdPath, reveal_id: IdPath, actor: CurrentActor, session: DbSession, v: VaultDep):
    ident = service.view_identity(session, actor, complaint_id, reveal_id, v, clock.now())
    session.commit()  # the viewing is logged before the identity leaves
    return ident


@router.post("/{complaint_id}/reward", status_code=201, response_model=schemas.RewardOut, operation_id="propose_reward")
def propose_reward(complaint_id: IdPath, data: schemas.RewardPropose, actor: CurrentActor, session: DbSession):
    r = service.propose_reward(session, actor, complaint_id, data, clock.now())
    session.commit()
    return service.reward_out(r)


@router.post("/{complaint_id}/reward/approval", response_model=schemas.RewardOut, operation_id="approve_reward")
def approve_reward(complaint_id: IdPath, actor: CurrentActor, session: DbSession):
    r = service.approve_reward(session, actor, complaint_id, clock.now())
    session.commit()
    return service.reward_out(r)
