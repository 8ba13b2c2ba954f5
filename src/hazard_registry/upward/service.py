"""Upward reporting (逐级上报): pushing a region's quarterly report to the level above, and receiving reports
from the deployments below.

Sending goes through the notice outbox (channel ``upward``): ``push`` writes the document as the body of a
notice keyed ``u{region}:{period}:{revision}:upward``, and the deliverer posts it to ``HAZARD_UPWARD_URL``
signed as every webhook is (``X-Hazard-Signature: sha256=HMAC(secret, "{timestamp}.{body}")``), retried with
backoff, dead after ``HAZARD_NOTICE_MAX_ATTEMPTS`` and retried from 管理 like any notice. A push whose figures
equal the last revision's answers that revision; a changed one is the next revision, which supersedes.

Receiving checks, in order: the timestamp window, the sender's registration and signature (its secret is
kept sealed with ``HAZARD_UPWARD_KEYS``), a signature never seen before (replay), then the document: its
deployment, a region the downstream may report for, the digest, a period that has ended, the same campaign
cut-off, and a region with no local hazards for the period. The same revision twice is accepted once.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, true
from sqlalchemy.orm import Session, sessionmaker

from hazard_registry.auth.principal import SYSTEM, Actor, Role, on_line, region_contains, region_within
from hazard_registry.clock import today_in_china
from hazard_registry.complaints.crypto import Vault
from hazard_registry.db import add_unique
from hazard_registry.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthorized
from hazard_registry.hazards.models import Hazard
from hazard_registry.notices.deliver import sign
from hazard_registry.notices.models import Channel, Notice, NoticeAction, NoticeStatus, RecipientRole
from hazard_registry.pagination import cut, keyset
from hazard_registry.reference.models import Region
from hazard_registry.statistics.periods import Period, parse_period, period_to_file
from hazard_registry.supervision.timers import load_calendar
from hazard_registry.upward import document
from hazard_registry.upward.models import Downstream, DownstreamRegion, Push, ReceivedReport, SeenSignature
from hazard_registry.upward.schemas import DownstreamChange, DownstreamCreate, ReportV1
from hazard_registry.workdays import CalendarYearUnknown

log = logging.getLogger(__name__)


def _require_admin(actor: Actor) -> None:
    if actor.role not in (Role.admin, Role.system):
        raise Forbidden("upward reporting is managed by administrators", code="role_forbidden")


def _in_scope(actor: Actor, region_code: str) -> None:
    if actor.role is Role.system:
        return
    if not actor.region_code or not region_contains(actor.region_code, region_code):
        raise Forbidden(f"region {region_code} is outside your region {actor.region_code}", code="region_forbidden")


def _region(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise NotFound(f"region {code} not found", code="region_not_found")
    return region


# --- sending ----------------------------------------------------------------------------------------------------


def _quarter(code: str) -> Period:
    period = parse_period(code)
    if period.kind != "quarterly":
        raise InvalidInput(
            "upward reports are quarterly: give a quarter like 2026Q3",
            code="invalid_period",
            errors=[{"field": "period", "message": "expected YYYYQn"}],
        )
    return period


def push(
    session: Session, actor: Actor, region_code: str, period_code: str, *, now: datetime, settings: Any
) -> tuple[Push, bool]:
    """Queue region ``region_code``'s report for the quarter ``period_code`` to the level above: the push and
    whether it is new (False: the figures equal the last revision's, which is answered instead). The quarter
    must have ended in China; the document is written now, as of the quarter's last day."""
    _require_admin(actor)
    if not settings.deployment_id:
        raise Conflict("set HAZARD_DEPLOYMENT_ID (and HAZARD_UPWARD_URL, _SECRET) first", code="upward_not_configured")
    _in_scope(actor, region_code)
    region = _region(session, region_code)
    period = _quarter(period_code)
    if today_in_china(now) <= period.end:
        raise Conflict(
            f"{period.code} ends on {period.end} (China); its figures are final from the next day",
            code="upward_period_not_ended",
        )
    last = session.scalar(
        select(Push)
        .where(Push.region_code == region.code, Push.period == period.code)
        .order_by(Push.revision.desc())
        .limit(1)
    )
    revision = last.revision + 1 if last else 1
    doc = document.build(
        session,
        deployment_id=settings.deployment_id,
        region=region,
        period=period,
        cutoff=settings.campaign_cutoff,
        revision=revision,
        now=now,
    )
    if last is not None and last.digest == doc["digest"]:
        return last, False
    notice = Notice(
        dedup_key=f"u{region.code}:{period.code}:{revision}:{Channel.upward.value}",
        measure_id=None,
        action=NoticeAction.report.value,
        channel=Channel.upward.value,
        recipient_role=RecipientRole.upper_level.value,
        recipient_name=None,
        address=None,
        region_code=region.code,
        subject=f"【逐级上报】{region.name} {period.code} 季度报告（第{revision}版）",
        body=document.canonical(doc).decode(),
        status=NoticeStatus.pending.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    taken = Conflict(f"revision {revision} of {region.code} {period.code} is being pushed", code="conflict")
    add_unique(session, notice, taken)
    row = Push(
        region_code=region.code,
        period=period.code,
        revision=revision,
        digest=doc["digest"],
        generated_at=now,
        notice_id=notice.id,
        pushed_by_id=actor.user_id,
        created_at=now,
    )
    add_unique(session, row, taken)
    return row, True


def pushes(
    session: Session, actor: Actor, *, period: str | None, cursor: str | None, limit: int
) -> tuple[list[tuple[Push, Notice]], str | None]:
    _require_admin(actor)
    stmt = select(Push, Notice).join(Notice, Notice.id == Push.notice_id)
    if actor.role is not Role.system:
        stmt = stmt.where(region_within(Push.region_code, actor.region_code or ""))
    if period:
        stmt = stmt.where(Push.period == period)
    rows = session.execute(keyset(stmt, Push.id, cursor, limit)).tuples().all()
    return cut(rows, limit, key=lambda r: r[0].id)


def auto_push(session_factory: sessionmaker[Session], settings: Any, now: datetime) -> int:
    """The worker's part: ``HAZARD_UPWARD_PUSH_AFTER_WORKING_DAYS`` working days after a quarter ends, push each
    of ``HAZARD_UPWARD_REGIONS`` once (an administrator pushes a correction). Returns how many were queued."""
    days = settings.upward_push_after_working_days
    regions = settings.upward_region_codes
    if days is None or not regions or not settings.deployment_id:
        return 0
    today = today_in_china(now)
    period = period_to_file(now)  # the last quarter that has ended in China (not the one ending today)
    queued = 0
    with session_factory() as session:
        try:
            due = load_calendar(session).add_working_days(period.end, days) if days else period.end
        except CalendarYearUnknown as exc:
            log.warning("upward push of %s waits for the holiday table of %s", period.code, exc.year)
            return 0
        if today < due:
            return 0
        for code in regions:
            done = session.scalar(select(exists().where(Push.region_code == code, Push.period == period.code)))
            if done:
                continue
            try:  # one region that cannot be pushed (a code not in the register) never stops the others
                _, created = push(session, SYSTEM, code, period.code, now=now, settings=settings)
            except DomainError as exc:
                session.rollback()
                log.warning("upward push of %s %s refused: %s", code, period.code, exc.detail)
                continue
            session.commit()
            queued += created
    return queued


# --- the downstream deployments (upper side) --------------------------------------------------------------------


def _downstream_scope(actor: Actor) -> Any:
    if actor.role is Role.system:
        return true()
    return region_within(Downstream.region_code, actor.region_code or "")


def downstream_regions(session: Session, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    rows = session.execute(
        select(DownstreamRegion.downstream_id, DownstreamRegion.region_code)
        .where(DownstreamRegion.downstream_id.in_(ids))
        .order_by(DownstreamRegion.region_code)
    ).all()
    for downstream_id, code in rows:
        out[downstream_id].append(code)
    return out


def _set_regions(session: Session, actor: Actor, downstream: Downstream, codes: list[str]) -> None:
    codes = sorted(set(codes))
    for i, code in enumerate(codes):
        _region(session, code)
        _in_scope(actor, code)
        if not region_contains(downstream.region_code, code):
            raise Forbidden(f"region {code} is outside {downstream.region_code}", code="region_forbidden")
        if any(on_line(code, other) for other in codes[i + 1 :]):
            raise InvalidInput(
                f"region {code} holds or lies within another region given",
                code="invalid_input",
                errors=[{"field": "region_codes", "message": "regions must not nest"}],
            )
    others = session.scalars(
        select(DownstreamRegion.region_code).where(DownstreamRegion.downstream_id != downstream.id)
    ).all()
    for code in codes:
        taken = [o for o in others if on_line(code, o)]
        if taken:
            raise Conflict(f"region {code} overlaps {taken[0]} of another downstream", code="upward_region_taken")
    session.execute(delete(DownstreamRegion).where(DownstreamRegion.downstream_id == downstream.id))
    session.add_all([DownstreamRegion(region_code=c, downstream_id=downstream.id) for c in codes])
    session.flush()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def create_downstream(
    session: Session, actor: Actor, body: DownstreamCreate, vault: Vault, now: datetime
) -> tuple[Downstream, str]:
    """Register a lower deployment for regions within the administrator's; answers its secret (shown once)."""
    _require_admin(actor)
    secret = new_secret()
    row = Downstream(
        deployment_id=body.deployment_id,
        name=body.name,
        region_code=actor.region_code if actor.role is not Role.system else body.region_codes[0],
        secret_enc=vault.seal({"secret": secret}),
        active=True,
        created_at=now,
        created_by_id=actor.user_id,
    )
    exists_ = Conflict(f"deployment {body.deployment_id} is registered already", code="upward_deployment_exists")
    add_unique(session, row, exists_)
    _set_regions(session, actor, row, body.region_codes)
    return row, secret


def get_downstream(session: Session, actor: Actor, downstream_id: int) -> Downstream:
    _require_admin(actor)
    row = session.scalar(select(Downstream).where(Downstream.id == downstream_id, _downstream_scope(actor)))
    if row is None:
        raise NotFound(f"downstream {downstream_id} not found", code="downstream_not_found")
    return row


def change_downstream(session: Session, actor: Actor, downstream_id: int, body: DownstreamChange) -> Downstream:
    row = get_downstream(session, actor, downstream_id)
    if body.name is not None:
        row.name = body.name
    if body.active is not None:
        row.active = body.active
    if body.region_codes is not None:
        _set_regions(session, actor, row, body.region_codes)
    session.flush()
    return row


def rotate_secret(session: Session, actor: Actor, downstream_id: int, vault: Vault) -> tuple[Downstream, str]:
    row = get_downstream(session, actor, downstream_id)
    secret = new_secret()
    row.secret_enc = vault.seal({"secret": secret})
    session.flush()
    return row, secret


def list_downstreams(
    session: Session, actor: Actor, *, cursor: str | None, limit: int
) -> tuple[list[Downstream], str | None]:
    _require_admin(actor)
    stmt = select(Downstream).where(_downstream_scope(actor))
    return cut(session.scalars(keyset(stmt, Downstream.id, cursor, limit)).all(), limit)


# --- receiving (upper side) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    downstream: Downstream
    body: bytes


def verify(
    session: Session, headers: Mapping[str, str], body: bytes, vault: Vault, *, now: datetime, skew: int
) -> Signed:
    """Who sent ``body``, checked: a fresh timestamp, a registered active deployment, its signature, and a
    signature not seen before (recorded in the caller's transaction)."""
    deployment = headers.get("x-hazard-deployment", "")
    timestamp = headers.get("x-hazard-timestamp", "")
    signature = headers.get("x-hazard-signature", "")
    if not (deployment and timestamp and signature):
        raise Unauthorized(
            "send X-Hazard-Deployment, X-Hazard-Timestamp and X-Hazard-Signature", code="upward_bad_signature"
        )
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > skew:
        raise Unauthorized(f"the timestamp is more than {skew} s from now", code="upward_stale_timestamp")
    downstream = session.scalar(select(Downstream).where(Downstream.deployment_id == deployment))
    if downstream is None or not downstream.active:
        raise Unauthorized(f"deployment {deployment[:64]!r} is not registered here", code="upward_unknown_deployment")
    expected = sign(vault.open(downstream.secret_enc)["secret"], timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise Unauthorized("the signature does not match the body", code="upward_bad_signature")
    session.execute(delete(SeenSignature).where(SeenSignature.seen_at < now - timedelta(seconds=2 * skew)))
    replayed = Conflict("this request was received already (same signature)", code="upward_replayed")
    add_unique(session, SeenSignature(signature=signature, seen_at=now), replayed)
    return Signed(downstream, body)


def receive(
    session: Session, signed: Signed, report: ReportV1, raw: dict[str, Any], *, now: datetime, cutoff: Any
) -> tuple[ReceivedReport, bool]:
    """Store a verified report: the row and whether this revision had been received already."""
    downstream = signed.downstream
    if report.deployment_id != downstream.deployment_id:
        raise Forbidden("the document names another deployment than the signature's", code="upward_deployment_mismatch")
    code = report.region.code
    allowed = session.scalars(
        select(DownstreamRegion.region_code).where(DownstreamRegion.downstream_id == downstream.id)
    ).all()
    if not any(region_contains(a, code) for a in allowed) or session.get(Region, code) is None:
        raise Forbidden(
            f"{downstream.deployment_id} may not report for region {code}", code="upward_region_not_allowed"
        )
    if document.digest(raw) != report.digest:
        raise InvalidInput("the digest does not match the document", code="upward_digest_mismatch")
    period = _quarter(report.period.code)
    if (report.period.start, report.period.end, report.as_of) != (period.start, period.end, period.end):
        raise InvalidInput(
            f"{period.code} runs {period.start}..{period.end} and is reported as of {period.end}",
            errors=[{"field": "period", "message": "bounds or as_of do not match the code"}],
        )
    if today_in_china(now) <= period.end or today_in_china(report.generated_at) <= period.end:
        raise InvalidInput(f"{period.code} has not ended (China)", code="upward_period_not_ended")
    if report.cutoff != cutoff:
        raise InvalidInput(
            f"the stock is counted against {cutoff} here, not {report.cutoff}",
            code="upward_cutoff_mismatch",
            errors=[{"field": "cutoff", "message": f"expected {cutoff}"}],
        )
    local = session.scalar(
        select(
            exists().where(
                region_within(Hazard.region_code, code),
                Hazard.found_at <= period.end,
                Hazard.state != "rejected",
            )
        )
    )
    if local:
        raise Conflict(
            f"this register holds hazards of {code} found by {period.end}: the region is local for {period.code}",
            code="upward_region_has_local_hazards",
        )
    same = session.scalar(
        select(ReceivedReport).where(
            ReceivedReport.downstream_id == downstream.id,
            ReceivedReport.region_code == code,
            ReceivedReport.period == period.code,
            ReceivedReport.revision == report.revision,
        )
    )
    if same is not None:
        if same.digest != report.digest:
            raise Conflict(
                f"revision {report.revision} was received with other figures; send revision+1",
                code="upward_revision_conflict",
            )
        return same, True
    row = ReceivedReport(
        downstream_id=downstream.id,
        deployment_id=downstream.deployment_id,
        region_code=code,
        period=period.code,
        revision=report.revision,
        as_of=report.as_of,
        generated_at=report.generated_at,
        digest=report.digest,
        document=raw,
        received_at=now,
    )
    add_unique(session, row, Conflict("this revision is being received", code="upward_revision_conflict"))
    return row, False


def counted_ids(session: Session, rows: list[ReceivedReport]) -> set[int]:
    """Which of ``rows`` are the highest revision of their (downstream, region, period): one statement."""
    if not rows:
        return set()
    r = ReceivedReport
    highest = {
        (d, code, p): rev
        for d, code, p, rev in session.execute(
            select(r.downstream_id, r.region_code, r.period, func.max(r.revision))
            .where(r.period.in_({x.period for x in rows}), r.region_code.in_({x.region_code for x in rows}))
            .group_by(r.downstream_id, r.region_code, r.period)
        ).all()
    }
    return {x.id for x in rows if highest.get((x.downstream_id, x.region_code, x.period)) == x.revision}


def received_reports(
    session: Session, actor: Actor, *, period: str | None, cursor: str | None, limit: int
) -> tuple[list[ReceivedReport], str | None]:
    """Reports received for regions within the caller's (administrators and regulators), newest first."""
    if actor.role not in (Role.admin, Role.regulator, Role.system):
        raise Forbidden("received reports are for regulators and administrators", code="role_forbidden")
    stmt = select(ReceivedReport)
    if actor.role is not Role.system:
        stmt = stmt.where(region_within(ReceivedReport.region_code, actor.region_code or ""))
    if period:
        stmt = stmt.where(ReceivedReport.period == period)
    return cut(session.scalars(keyset(stmt, ReceivedReport.id, cursor, limit)).all(), limit)
