"""Sending the outbox, at least once.

A run claims due notices in small batches: one short transaction moves each claimed notice's
``next_attempt_at`` a lease ahead and counts the attempt (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's
single writer elsewhere), so concurrent workers never hold the same notice at once. Each notice is then sent
outside any transaction and its outcome committed on its own: sent; or retried after
``notice_backoff_seconds × 2^(attempts-1)`` (capped); or dead after ``notice_max_attempts``. A worker that
dies between sending and recording leaves the notice to be sent again once the lease runs out, which is why
every request carries the notice's deduplication key.

A run claims only notices of the channels configured in its own settings; the others stay pending for a
deliverer that has them (the outbox queues every channel, whoever issued the measure).

Webhook requests are signed: ``X-Hazard-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`` with
``notice_webhook_secret``, the timestamp (Unix seconds, taken when that request is sent, not when the run
began) in ``X-Hazard-Timestamp`` and the key in ``X-Hazard-Notice-Id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import httpx
from sqlalchemy import Row, func, literal, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from hazard_registry.db import is_postgres
from hazard_registry.hazards.models import Hazard
from hazard_registry.notices.models import Channel, Notice, NoticeAction, NoticeStatus, RecipientRole
from hazard_registry.notices.outbox import Channels
from hazard_registry.reference.models import Department, Enterprise, Region
from hazard_registry.supervision.models import MEASURE_NAMES, Measure, SupervisionMeasure

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
ERROR_MAX = 1000

ROLE_NAMES = {
    RecipientRole.enterprise_principal: "主要负责人",
    RecipientRole.enterprise_controller: "实际控制人",
    RecipientRole.officer: "承办人员",
    RecipientRole.department_head: "部门负责人",
}
ACTION_NAMES = {
    NoticeAction.issue: "",
    NoticeAction.take_down: "撤销",
    NoticeAction.resolve: "办结",
    NoticeAction.withdraw: "撤回",
    NoticeAction.remind: "提醒",
}


@dataclass
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0


@dataclass
class Claimed:
    id: int
    attempts: int
    dedup_key: str
    channel: str
    recipient_name: str | None
    address: str | None
    subject: str
    body: str
    payload: dict[str, Any]


# --- what a notice says -------------------------------------------------------------------------------------


def _measure_rows(session: Session, measure_ids: set[int]) -> dict[int, Row[Any]]:
    m, h, e, reg = SupervisionMeasure, Hazard, Enterprise, Region
    target_dept, issuer_dept = aliased(Department), aliased(Department)
    rows = session.execute(
        select(
            m.id,
            m.measure,
            m.target_kind,
            m.document_number,
            m.reason,
            m.legal_basis,
            m.response_due,
            m.outcome,
            m.withdrawn_reason,
            h.id.label("hazard_id"),
            h.number.label("hazard_number"),
            h.title.label("hazard_title"),
            e.name.label("enterprise_name"),
            target_dept.name.label("department_name"),
            func.coalesce(issuer_dept.name, reg.name + literal("安委办")).label("authority"),
        )
        .outerjoin(h, h.id == m.hazard_id)
        .outerjoin(e, e.id == func.coalesce(m.target_enterprise_id, h.enterprise_id))
        .outerjoin(target_dept, target_dept.id == m.target_department_id)
        .outerjoin(issuer_dept, issuer_dept.id == m.issuer_department_id)
        .outerjoin(reg, reg.code == m.issuer_region_code)
        .where(m.id.in_(measure_ids))
    ).all()
    return {r.id: r for r in rows}


def _is_copy(notice: Notice, target_kind: str) -> bool:
    if notice.recipient_role == RecipientRole.officer:
        return True
    return notice.recipient_role == RecipientRole.department_head and target_kind == "enterprise"


def render(notice: Notice, r: Row[Any]) -> tuple[str, str, dict[str, Any]]:
    """Subject, plain-text body and webhook payload of a notice. Only facts fixed once the action is taken
    go in, so every attempt says the same thing."""
    action = NoticeAction(notice.action)
    name = MEASURE_NAMES[Measure(r.measure)]
    target = r.enterprise_name if r.target_kind == "enterprise" else (r.department_name or r.enterprise_name)
    number = r.document_number or ""
    tag = f"{name}·{ACTION_NAMES[action]}" if ACTION_NAMES[action] else name
    subject = f"【{tag}】{number + ' ' if number else ''}{target}重大事故隐患督办"
    role = ROLE_NAMES[RecipientRole(notice.recipient_role)]
    copy = _is_copy(notice, r.target_kind)
    lines = [f"{notice.recipient_name or ''}（{role}）：" if notice.recipient_name else f"{role}：", ""]
    if action is NoticeAction.issue:
        lines.append(f"{r.authority}对{target}实施{name}。")
    elif action is NoticeAction.withdraw:
        lines.append(f"{r.authority}已撤回对{target}的{name}：{r.withdrawn_reason or ''}。")
    else:
        lines.append(f"{r.authority}对{target}的{name}已{ACTION_NAMES[action]}：{r.outcome or ''}。")
    lines += [
        "",
        f"文号：{number}",
        f"企业：{r.enterprise_name or ''}",
        f"隐患编号：{r.hazard_number or ''}",
        f"隐患：{r.hazard_title or ''}",
        f"督办事由：{r.reason}",
    ]
    if r.legal_basis:
        lines.append(f"依据：{r.legal_basis}")
    if action is NoticeAction.issue and r.response_due:
        lines.append(f"回复期限：{_cn_date(r.response_due)}前书面回复整改落实情况")
    if copy:
        lines += ["", "（抄送，供知悉）"]
    body = "\n".join(lines) + "\n"
    payload = {
        "notice_id": notice.dedup_key,
        "action": action.value,
        "measure": {
            "id": r.id,
            "kind": r.measure,
            "name": name,
            "document_number": r.document_number,
            "reason": r.reason,
            "legal_basis": r.legal_basis,
            "response_due": r.response_due.isoformat() if r.response_due else None,
            "outcome": r.outcome if action in (NoticeAction.resolve, NoticeAction.take_down) else None,
            "withdrawn_reason": r.withdrawn_reason if action is NoticeAction.withdraw else None,
            "authority": r.authority,
        },
        "target": {"kind": r.target_kind, "name": target},
        "hazard": {"id": r.hazard_id, "number": r.hazard_number, "title": r.hazard_title},
        "recipient": {
            "role": notice.recipient_role,
            "name": notice.recipient_name,
            "email": notice.address,
            "phone": notice.phone,
            "copy": copy,
        },
        "subject": subject,
        "body": body,
    }
    return subject, body, payload


def render_reminder(notice: Notice) -> tuple[str, str, dict[str, Any]]:
    """A reminder (notices.reminders) was written when queued; its payload carries what it says."""
    if notice.subject is None or notice.body is None:
        raise ValueError("a reminder without its text")
    payload = {
        "notice_id": notice.dedup_key,
        "action": notice.action,
        "measure": None,
        "recipient": {
            "role": notice.recipient_role,
            "name": notice.recipient_name,
            "email": notice.address,
            "phone": notice.phone,
            "copy": notice.recipient_role == RecipientRole.officer,
        },
        "subject": notice.subject,
        "body": notice.body,
    }
    return notice.subject, notice.body, payload


def render_upward(notice: Notice) -> tuple[str, str, dict[str, Any]]:
    """An upward report was written when queued (upward.service): its body is the signed document itself."""
    if notice.subject is None or notice.body is None:
        raise ValueError("an upward report without its document")
    return notice.subject, notice.body, json.loads(notice.body)


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


# --- claiming and recording ---------------------------------------------------------------------------------


def _claim(
    session_factory: sessionmaker[Session], settings: Any, now: datetime, batch: int
) -> tuple[int, list[Claimed]]:
    """How many due notices were taken (up to ``batch``), and those of them that are ready to send."""
    channels = [c.value for c in Channels.of(settings).sendable()]
    if not channels:
        return 0, []
    with session_factory() as session:
        stmt = (
            select(Notice)
            .where(
                Notice.status == NoticeStatus.pending.value,
                Notice.next_attempt_at <= now,
                Notice.channel.in_(channels),
            )
            .order_by(Notice.next_attempt_at, Notice.id)
            .limit(batch)
        )
        if is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        notices = session.scalars(stmt).all()
        if not notices:
            return 0, []
        facts = _measure_rows(session, {n.measure_id for n in notices if n.measure_id is not None})
        lease = now + timedelta(seconds=settings.notice_lease_seconds)
        claimed = []
        for n in notices:
            try:
                if n.channel == Channel.upward:
                    subject, body, payload = render_upward(n)
                elif n.measure_id is None:
                    subject, body, payload = render_reminder(n)
                else:
                    subject, body, payload = render(n, facts[n.measure_id])
            except Exception as exc:  # one notice that cannot be written never stops the others
                log.exception("notice %s cannot be rendered", n.id)
                n.status, n.last_error = NoticeStatus.dead.value, f"cannot render: {type(exc).__name__}: {exc}"
                continue
            if n.subject is None:  # rendered once and kept: the record of what was sent
                n.subject, n.body = subject, body
            n.attempts += 1
            n.next_attempt_at = lease
            if n.channel != Channel.upward:  # the upward document is sent exactly as it was written
                payload["subject"], payload["body"] = n.subject, n.body
            claimed.append(
                Claimed(
                    id=n.id,
                    attempts=n.attempts,
                    dedup_key=n.dedup_key,
                    channel=n.channel,
                    recipient_name=n.recipient_name,
                    address=n.address,
                    subject=n.subject,
                    body=n.body or body,
                    payload=payload,
                )
            )
        session.commit()
        return len(notices), claimed


def backoff(settings: Any, attempts: int) -> timedelta:
    return min(timedelta(seconds=settings.notice_backoff_seconds * 2 ** (attempts - 1)), MAX_BACKOFF)


def _record(
    session_factory: sessionmaker[Session],
    settings: Any,
    item: Claimed,
    error: str | None,
    now: datetime,
    result: DeliveryResult,
) -> None:
    n = Notice
    pending = n.status == NoticeStatus.pending.value
    if error is None:
        # Sent is sent, whoever holds the lease now: a late worker's success still stops further sends.
        stmt = update(n).where(n.id == item.id, pending).values(status=NoticeStatus.sent.value, sent_at=now)
        outcome = "sent"
    else:
        mine = (n.id == item.id, pending, n.attempts == item.attempts)  # not if the lease ran out and was retaken
        if item.attempts >= settings.notice_max_attempts:
            stmt = update(n).where(*mine).values(status=NoticeStatus.dead.value, last_error=error[:ERROR_MAX])
            outcome = "dead"
            log.warning("notice %s (%s) is dead after %s attempts: %s", item.id, item.dedup_key, item.attempts, error)
        else:
            retry_at = now + backoff(settings, item.attempts)
            stmt = update(n).where(*mine).values(next_attempt_at=retry_at, last_error=error[:ERROR_MAX])
            outcome = "retried"
    with session_factory() as session:
        changed = session.execute(stmt.execution_options(synchronize_session=False)).rowcount
        session.commit()
    if changed:
        setattr(result, outcome, getattr(result, outcome) + 1)


# --- the channels -------------------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The value of ``X-Hazard-Signature`` for a body sent at ``timestamp`` (what a receiver recomputes)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class Sender:
    """Sends over one HTTP client and one SMTP connection per run. A channel whose server cannot be reached
    fails the rest of its notices in this run at once (each is retried later) instead of waiting for every
    connection to time out."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._http: httpx.Client | None = None
        self._smtp: smtplib.SMTP | None = None
        self._down: dict[str, str] = {}

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._http is not None:
            self._http.close()
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()

    def send(self, item: Claimed, now: datetime) -> str | None:
        """None when the notice was accepted, else why not."""
        if item.channel in self._down:
            return self._down[item.channel]
        if item.channel == Channel.webhook:
            if not self.settings.notice_webhook_url:
                return "the webhook is not configured"
            return self._webhook(item, now)
        if item.channel == Channel.upward:
            if not self.settings.upward_url:
                return "upward reporting is not configured"
            return self._upward(item, now)
        if not self.settings.smtp_host:
            return "SMTP is not configured"
        if not item.address:
            return "no e-mail address"
        return self._email(item, now)

    def _webhook(self, item: Claimed, now: datetime) -> str | None:
        s = self.settings
        body = json.dumps(item.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        return self._post(Channel.webhook, s.notice_webhook_url, s.notice_webhook_secret, item, body, now, {})

    def _upward(self, item: Claimed, now: datetime) -> str | None:
        """The report to the level above: the same signature as the webhook, over the document as written, with
        this deployment's id so the receiver knows whose secret to check it with."""
        s = self.settings
        extra = {"X-Hazard-Deployment": s.deployment_id}
        return self._post(Channel.upward, s.upward_url, s.upward_secret, item, item.body.encode(), now, extra)

    def _post(
        self, channel: Channel, url: str, secret: str, item: Claimed, body: bytes, now: datetime, extra: dict[str, str]
    ) -> str | None:
        if self._http is None:
            self._http = httpx.Client(timeout=self.settings.notice_webhook_timeout)
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Hazard-Notice-Id": item.dedup_key,
            "X-Hazard-Timestamp": timestamp,
            "X-Hazard-Signature": sign(secret, timestamp, body),
            **extra,
        }
        try:
            resp = self._http.post(url, content=body, headers=headers)
        except httpx.ConnectError as exc:
            self._down[channel] = f"{channel} unreachable: {exc}"
            return self._down[channel]
        except httpx.HTTPError as exc:
            return f"{channel}: {type(exc).__name__}: {exc}"
        if resp.is_success:
            return None
        return f"{channel} answered HTTP {resp.status_code}: {resp.text[:200]}"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def message(self, item: Claimed, now: datetime) -> EmailMessage:
        sender = self.settings.smtp_from
        domain = sender.rpartition("@")[2] or "hazard-registry.local"
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = Address(display_name=item.recipient_name or "", addr_spec=item.address or "")
        msg["Subject"] = item.subject
        msg["Date"] = format_datetime(now)
        # The same key on every attempt: a mail system that saw it already may drop the repeat.
        msg["Message-ID"] = f"<{item.dedup_key.replace(':', '.')}@{domain}>"
        msg["X-Hazard-Notice-Id"] = item.dedup_key
        msg.set_content(item.body, charset="utf-8")
        return msg

    def _email(self, item: Claimed, now: datetime) -> str | None:
        try:
            msg = self.message(item, now)
        except (ValueError, IndexError, MessageError) as exc:  # an address the e-mail library cannot write
            return f"bad e-mail address {item.address!r}: {exc}"
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except (smtplib.SMTPException, OSError) as exc:
                self._down[Channel.email] = f"SMTP unreachable: {type(exc).__name__}: {exc}"
                return self._down[Channel.email]
        try:
            self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            return f"SMTP refused the recipient: {exc.recipients}"
        except (smtplib.SMTPException, OSError) as exc:
            self._smtp.close()
            self._smtp = None  # reconnect for the next one
            return f"SMTP: {type(exc).__name__}: {exc}"
        return None


def deliver_due(
    session_factory: sessionmaker[Session], settings: Any, now: datetime, batch: int = 50
) -> DeliveryResult:
    """Send every pending notice due by ``now``; each outcome is committed as soon as it is known."""
    result = DeliveryResult()
    started = time.monotonic()
    with Sender(settings) as sender:
        while True:
            taken, claimed = _claim(session_factory, settings, now, batch)
            result.dead += taken - len(claimed)  # those that could not be rendered
            for item in claimed:
                sent_at = now + timedelta(seconds=time.monotonic() - started)  # the run's clock, as it runs on
                try:
                    error = sender.send(item, sent_at)
                except Exception as exc:  # a channel's surprise (a malformed URL…) is this notice's failure
                    log.exception("notice %s could not be sent", item.id)
                    error = f"{type(exc).__name__}: {exc}"
                _record(session_factory, settings, item, error, now, result)
            if taken < batch:
                return result
