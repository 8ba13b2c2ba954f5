"""Queueing notices: who hears of a measure, by which channel, written set-based in the caller's transaction.

Who, by the measure's target:

- an enterprise: its principal (主要负责人) and its actual controller (实际控制人); copies to the hazard's
  officer and to the head of the issuing department (the hazard's lead department when the level above
  issues);
- a department: its head, and a copy to the hazard's officer.

A recipient gets an e-mail notice when they have an address, and a webhook notice (carrying their phone and
e-mail for the receiver to route) when they have either; a recipient with neither is skipped. Both are queued
whatever the channel settings of the process that changed the measure (an API process often has none): the
deliverer sends the channels it has and leaves the others pending, visible to administrators, never dropped.
Subject and body are rendered at delivery from the measure (``deliver.render``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, literal, or_, select, true, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hazard_registry.auth.models import User
from hazard_registry.db import UTCDateTime, is_postgres
from hazard_registry.hazards.models import Hazard
from hazard_registry.notices.models import Channel, Notice, NoticeAction, NoticeStatus, RecipientRole
from hazard_registry.reference.models import Department, Enterprise
from hazard_registry.supervision.models import SupervisionMeasure


@dataclass(frozen=True)
class Channels:
    """Which channels are on. Made from the settings; tests and callers may pass one of their own."""

    webhook: bool = False
    email: bool = False
    upward: bool = False  # not a channel to people: only the deliverer sends it (upward reports)

    @classmethod
    def every(cls) -> Channels:
        return cls(webhook=True, email=True)

    @classmethod
    def of(cls, settings: Any) -> Channels:
        return cls(
            webhook=bool(settings.notice_webhook_url),
            email=bool(settings.smtp_host),
            upward=bool(getattr(settings, "upward_url", "")),
        )

    def enabled(self) -> list[Channel]:
        """The channels to people that are on (what measures and reminders are queued for)."""
        return [c for c, on in ((Channel.email, self.email), (Channel.webhook, self.webhook)) if on]

    def sendable(self) -> list[Channel]:
        """Every channel a deliverer with these settings sends: those to people and the upward reports."""
        return [*self.enabled(), *([Channel.upward] if self.upward else [])]


# Who hears of a measure (the upper level hears of quarterly reports only: upward/).
MEASURE_RECIPIENTS = tuple(r for r in RecipientRole if r is not RecipientRole.upper_level)


def _blank_to_null(column: Any) -> ColumnElement[Any]:
    return func.nullif(func.trim(column), "")


def _recipients(role: RecipientRole) -> tuple[Select[Any], ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """For one role: the FROM/JOIN/WHERE reaching the recipient from a measure, and their name, e-mail, phone."""
    m, h = SupervisionMeasure, Hazard
    base = select().select_from(m)
    if role in (RecipientRole.enterprise_principal, RecipientRole.enterprise_controller):
        e = Enterprise
        stmt = base.join(e, e.id == m.target_enterprise_id).where(m.target_kind == "enterprise")
        if role is RecipientRole.enterprise_principal:
            return stmt, e.principal_name, e.principal_email, e.principal_phone
        return stmt, e.controller_name, e.controller_email, e.controller_phone
    if role is RecipientRole.officer:
        u = User
        stmt = base.join(h, h.id == m.hazard_id).join(u, u.id == h.officer_id).where(u.active.is_(True))
        return stmt, func.coalesce(u.display_name, u.username), u.email, literal(None, String)
    d = Department
    head_of = case(
        (m.target_kind == "department", m.target_department_id),
        else_=func.coalesce(m.issuer_department_id, h.department_id),
    )
    stmt = base.outerjoin(h, h.id == m.hazard_id).join(d, d.id == head_of).where(m.target_kind != "region")
    return stmt, d.head_name, d.head_email, d.head_phone


def enqueue_for_measures(
    session: Session,
    measure_ids: Select[Any] | Sequence[int],
    action: str,
    now: datetime,
    channels: Channels | None = None,
) -> int:
    """Queue the notices of ``action`` on the measures (a list of ids, or a SELECT of ids), one
    INSERT … SELECT per recipient role, in the caller's transaction. Returns how many were queued.

    Idempotent: each notice has the key ``m{measure}:{action}:{role}:{channel}`` and an existing key is left
    alone, so queueing the same action twice (a retried request, a rerun sweep) queues nothing more.
    ``channels`` defaults to every channel: which are on is the deliverer's business, not the queuer's.
    """
    action = NoticeAction(action).value
    if not isinstance(measure_ids, Select):
        measure_ids = list(measure_ids)
        if not measure_ids:
            return 0
    enabled = (channels or Channels.every()).enabled()
    if not enabled:
        return 0
    m = SupervisionMeasure
    ch = union_all(*[select(literal(c.value, String).label("channel")) for c in enabled]).subquery("ch")
    ins = (pg_insert if is_postgres(session) else sqlite_insert)(Notice)
    queued = 0
    for role in MEASURE_RECIPIENTS:
        stmt, name, email_col, phone_col = _recipients(role)
        email, phone = _blank_to_null(email_col), _blank_to_null(phone_col)
        reachable = or_(
            and_(ch.c.channel == Channel.email.value, email.is_not(None)),
            and_(ch.c.channel == Channel.webhook.value, or_(email.is_not(None), phone.is_not(None))),
        )
        source = (
            stmt.add_columns(
                (literal("m") + cast(m.id, String) + literal(f":{action}:{role.value}:") + ch.c.channel).label(
                    "dedup_key"
                ),
                m.id.label("measure_id"),
                literal(action, String).label("action"),
                ch.c.channel,
                literal(role.value, String).label("recipient_role"),
                name.label("recipient_name"),
                email.label("address"),
                phone.label("phone"),
                m.target_region_code.label("region_code"),
                literal(NoticeStatus.pending.value, String).label("status"),
                literal(0).label("attempts"),
                literal(now, UTCDateTime).label("next_attempt_at"),
                literal(now, UTCDateTime).label("created_at"),
            )
            .join(ch, true())
            .where(m.id.in_(measure_ids), reachable)
        )
        cols = [c.name for c in source.selected_columns]
        insert = (
            ins.from_select(cols, source)
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(Notice.id)  # rowcount is not reliable for INSERT … SELECT on every driver
        )
        queued += len(session.execute(insert).all())
    return queued
