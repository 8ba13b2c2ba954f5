"""Reminders before a deadline, queued in the notice outbox: a rectification deadline, a self-inspection period
ending with none recorded, a 季报/年报 falling due, a complaint's handling deadline.

Each ``ReminderRule`` says how many (working or calendar) days ahead; a region's rules for a kind replace the
levels above for its records, as escalation rules do. A reminder is due for every deadline ``D`` with
``today ≤ D ≤ today + offset``; its key ``r{rule}:{record}:{D}:{role}:{channel}`` makes it once per deadline
(an extension's new deadline is reminded again), however many sweeps run. One INSERT … SELECT per rule and
recipient role; subject and body are written when queued (there is no measure to render them from).
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, and_, cast, func, literal, not_, or_, select, true, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import Actor, Role, ancestors, region_contains
from hazard_registry.complaints.models import Complaint
from hazard_registry.complaints.workflow import HANDLING
from hazard_registry.db import UTCDateTime, add_unique, is_postgres, settings_of
from hazard_registry.errors import Conflict, Forbidden, NotFound
from hazard_registry.hazards.models import Hazard
from hazard_registry.hazards.workflow import DEADLINE_RUNNING
from hazard_registry.notices.models import (
    Channel,
    Notice,
    NoticeAction,
    NoticeStatus,
    RecipientRole,
    ReminderKind,
    ReminderRule,
)
from hazard_registry.notices.outbox import Channels, _blank_to_null
from hazard_registry.reference.models import Department, Enterprise, Industry, Sector
from hazard_registry.statistics.models import Filing
from hazard_registry.statistics.periods import parse_period, quarter_containing
from hazard_registry.supervision.engine import _in_jurisdiction, load_calendar
from hazard_registry.supervision.inspections import period_of
from hazard_registry.supervision.models import SelfInspection
from hazard_registry.workdays import CalendarYearUnknown


def _text(value: Any) -> Any:
    return cast(value, String)  # a date gives 'YYYY-MM-DD' on both databases


def _row(key: Any, role: RecipientRole, name, email, phone, region, subject, body) -> list[Any]:
    """The columns every reminder's SELECT gives before the channel is joined in; ``key`` lacks the channel."""
    return [
        (key + literal(f":{role.value}:")).label("key"),
        literal(role.value, String).label("recipient_role"),
        name.label("recipient_name"),
        _blank_to_null(email).label("address"),
        _blank_to_null(phone).label("phone"),
        region.label("region_code"),
        subject.label("subject"),
        body.label("body"),
    ]


def _queue(session: Session, source: Select[Any], enabled: list[Channel], now: datetime) -> int:
    rows = source.subquery("r")
    ch = union_all(*[select(literal(c.value, String).label("channel")) for c in enabled]).subquery("ch")
    reachable = or_(
        and_(ch.c.channel == Channel.email.value, rows.c.address.is_not(None)),
        and_(ch.c.channel == Channel.webhook.value, or_(rows.c.address.is_not(None), rows.c.phone.is_not(None))),
    )
    stmt = (
        select(
            (rows.c.key + ch.c.channel).label("dedup_key"),
            literal(NoticeAction.remind.value, String).label("action"),
            ch.c.channel,
            rows.c.recipient_role,
            rows.c.recipient_name,
            rows.c.address,
            rows.c.phone,
            rows.c.region_code,
            rows.c.subject,
            rows.c.body,
            literal(NoticeStatus.pending.value, String).label("status"),
            literal(0).label("attempts"),
            literal(now, UTCDateTime).label("next_attempt_at"),
            literal(now, UTCDateTime).label("created_at"),
        )
        .select_from(rows)
        .join(ch, true())
        .where(reachable)
    )
    ins = (pg_insert if is_postgres(session) else sqlite_insert)(Notice)
    cols = [c.name for c in stmt.selected_columns]
    insert = ins.from_select(cols, stmt).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(Notice.id)
    return len(session.execute(insert).all())


# --- one function per kind: the SELECTs of its recipients ------------------------------------------------------


def _rectification(rule: ReminderRule, rules: list[ReminderRule], today: date, horizon: date) -> list[Select[Any]]:
    h, e, u = Hazard, Enterprise, User
    key = literal(f"r{rule.id}:h") + _text(h.id) + literal(":") + _text(h.deadline)
    window = and_(
        h.state.in_([s.value for s in DEADLINE_RUNNING]),
        h.deadline.between(today, horizon),
        _in_jurisdiction(h.region_code, rule, rules),
    )
    subject = literal("【整改期限提醒】") + h.number + literal(" 整改期限 ") + _text(h.deadline)
    what = e.name + literal("的重大事故隐患“") + h.title + literal("”（编号 ") + h.number
    what = what + literal("）整改期限为 ") + _text(h.deadline)
    officer_name = func.coalesce(u.display_name, u.username)
    principal = (
        select(
            *_row(
                key, RecipientRole.enterprise_principal, e.principal_name, e.principal_email, e.principal_phone,
                h.region_code, subject,
                e.principal_name + literal("（主要负责人）：\n\n") + what
                + literal("，请按期完成整改并申请验收；确有困难的，请在期限前申请延期。\n"),
            )
        )
        .select_from(h)
        .join(e, e.id == h.enterprise_id)
        .where(window)
    )  # fmt: skip
    officer = (
        select(
            *_row(
                key, RecipientRole.officer, officer_name, u.email, literal(None, String), h.region_code, subject,
                officer_name + literal("（承办人员）：\n\n") + what + literal("。（抄送，供知悉）\n"),
            )
        )
        .select_from(h)
        .join(e, e.id == h.enterprise_id)
        .join(u, u.id == h.officer_id)
        .where(window, u.active.is_(True))
    )  # fmt: skip
    return [principal, officer]


def _self_inspection(rule: ReminderRule, rules: list[ReminderRule], today: date, horizon: date) -> list[Select[Any]]:
    """Enterprises whose current period (quarter; month in high-risk industries) ends within the offset with
    no principal-led self-inspection recorded in it yet."""
    e, i, sec, si = Enterprise, Industry, Sector, SelfInspection
    high_risk = or_(e.high_risk.is_(True), sec.high_risk.is_(True))
    out = []
    for monthly in (False, True):
        if monthly:
            start = today.replace(day=1)
            end = start.replace(day=monthrange(start.year, start.month)[1])
        else:
            q = quarter_containing(today)
            start, end = q.start, q.end
        if end > horizon:
            continue
        code = period_of(start, monthly)
        key = literal(f"r{rule.id}:e") + _text(e.id) + literal(f":{code}:{end.isoformat()}")
        out.append(
            select(
                *_row(
                    key, RecipientRole.enterprise_principal, e.principal_name, e.principal_email, e.principal_phone,
                    e.region_code, literal(f"【自查提醒】{code} 重大事故隐患自查 {end.isoformat()}前"),
                    e.principal_name + literal("（主要负责人）：\n\n") + e.name
                    + literal(f"本期（{code}）尚未记录由主要负责人带队的重大事故隐患排查，")
                    + literal(f"请于 {end.isoformat()} 前完成并在系统中记录。\n"),
                )
            )
            .select_from(e)
            .join(i, i.code == e.industry_code)
            .join(sec, sec.code == i.sector_code)
            .where(
                high_risk if monthly else not_(high_risk),
                _in_jurisdiction(e.region_code, rule, rules),
                ~select(si.id)
                .where(si.enterprise_id == e.id, si.inspected_on.between(start, end), si.led_by_principal.is_(True))
                .exists(),
            )
        )  # fmt: skip
    return out


def _filing(rule: ReminderRule, rules: list[ReminderRule], today: date, horizon: date) -> list[Select[Any]]:
    """Enterprises that have not filed the quarter (or year) whose statistics fall due within the offset."""
    e, f = Enterprise, Filing
    last_quarter = quarter_containing(quarter_containing(today).start - timedelta(days=1))
    periods = [p for p in (last_quarter, parse_period(str(today.year - 1))) if today <= p.due_on <= horizon]
    out = []
    for p in periods:
        kind = "年度" if p.kind == "annual" else "季度"
        key = literal(f"r{rule.id}:e") + _text(e.id) + literal(f":{p.code}:{p.due_on.isoformat()}")
        out.append(
            select(
                *_row(
                    key, RecipientRole.enterprise_principal, e.principal_name, e.principal_email, e.principal_phone,
                    e.region_code,
                    literal(f"【报表提醒】{p.code} {kind}重大事故隐患统计报表 {p.due_on.isoformat()}前报送"),
                    e.principal_name + literal("（主要负责人）：\n\n") + e.name
                    + literal(f"{p.code}{kind}重大事故隐患统计报表应于 {p.due_on.isoformat()} 前")
                    + literal("经主要负责人签字后报送。\n"),
                )
            )
            .where(
                e.created_at < literal(clock.day_end_utc(p.end), UTCDateTime),
                _in_jurisdiction(e.region_code, rule, rules),
                ~select(f.id)
                .where(f.enterprise_id == e.id, f.period == p.code, f.filed_at.is_not(None))
                .exists(),
            )
        )  # fmt: skip
    return out


def _complaint(rule: ReminderRule, rules: list[ReminderRule], today: date, horizon: date) -> list[Select[Any]]:
    """The handling department's head, for complaints whose handling deadline falls within the offset. The
    text names the case by number only, never the reporter."""
    c, d = Complaint, Department
    key = literal(f"r{rule.id}:c") + _text(c.id) + literal(":") + _text(c.handling_due_on)
    return [
        select(
            *_row(
                key, RecipientRole.department_head, d.head_name, d.head_email, d.head_phone, c.region_code,
                literal("【举报办理提醒】举报件第") + _text(c.id) + literal("号 办理期限 ") + _text(c.handling_due_on),
                func.coalesce(d.head_name, literal("")) + literal("（部门负责人）：\n\n") + d.name
                + literal("承办的举报件第")
                + _text(c.id) + literal("号办理期限为 ") + _text(c.handling_due_on)
                + literal("，请按期办结并在办结后10日内答复举报人；确需延期的，请在期限前办理延期。\n"),
            )
        )
        .select_from(c)
        .join(d, d.id == c.department_id)
        .where(
            c.state.in_([s.value for s in HANDLING]),
            c.handling_due_on.between(today, horizon),
            _in_jurisdiction(c.region_code, rule, rules),
        )
    ]  # fmt: skip


KINDS = {
    ReminderKind.rectification_deadline: _rectification,
    ReminderKind.self_inspection_due: _self_inspection,
    ReminderKind.filing_due: _filing,
    ReminderKind.complaint_due: _complaint,
}


def queue_reminders(session: Session, now: datetime, channels: Channels | None = None) -> int:
    """Queue every reminder due at ``now`` (in the caller's transaction); returns how many were queued."""
    enabled = (channels or Channels.of(settings_of(session))).enabled()
    if not enabled:
        return 0
    today = clock.today_in_china(now)
    calendar = load_calendar(session)
    rules = list(session.scalars(select(ReminderRule).where(ReminderRule.active.is_(True)).order_by(ReminderRule.id)))
    queued = 0
    for rule in rules:
        same_kind = [r for r in rules if r.kind == rule.kind]
        try:
            horizon = calendar.add_days(today, rule.days_before, working=rule.working_days)
        except CalendarYearUnknown:
            continue  # the holiday table of the days ahead is missing: no guess
        for source in KINDS[ReminderKind(rule.kind)](rule, same_kind, today, horizon):
            queued += _queue(session, source, enabled, now)
    return queued


# --- the rules, as administrators keep them ----------------------------------------------------------------------


def list_rules(session: Session, actor: Actor, region: str | None) -> list[ReminderRule]:
    """The national defaults and the rules of ``region`` and the regions above it."""
    if actor.role is Role.enterprise:
        raise Forbidden("reminder rules are for regulators and administrators", code="role_forbidden")
    stmt = select(ReminderRule).order_by(ReminderRule.kind, ReminderRule.id)
    if region:
        stmt = stmt.where(or_(ReminderRule.region_code.is_(None), ReminderRule.region_code.in_(ancestors(region))))
    return list(session.scalars(stmt))


def _require_admin_of(actor: Actor, region_code: str | None) -> None:
    if actor.role is Role.system:
        return
    if actor.role is not Role.admin or not actor.region_code:
        raise Forbidden("only an administrator sets reminder rules", code="role_forbidden")
    if region_code is None or not region_contains(actor.region_code, region_code):
        raise Forbidden("rules are set for a region within your own", code="region_forbidden")


def create_rule(session: Session, actor: Actor, values: dict[str, Any], now: datetime) -> ReminderRule:
    """A region's own rule for a kind: for that kind it replaces the rules of the levels above."""
    _require_admin_of(actor, values["region_code"])
    rule = ReminderRule(**values, active=True, created_at=now, created_by_id=actor.user_id)
    add_unique(session, rule, Conflict(f"a reminder rule with key {values['key']} exists", code="rule_exists"))
    return rule


def change_rule(session: Session, actor: Actor, rule_id: int, changes: dict[str, Any]) -> ReminderRule:
    """Change the offset or switch a rule off; reminders already queued stay as they are."""
    rule = session.get(ReminderRule, rule_id)
    if rule is None:
        raise NotFound(f"reminder rule {rule_id} not found", code="rule_not_found")
    _require_admin_of(actor, rule.region_code)
    for name, value in changes.items():
        setattr(rule, name, value)
    session.flush()
    return rule
