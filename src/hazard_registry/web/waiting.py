"""工作台 panels of the other domains: complaints to handle, identity reveals to decide, rewards to pay, the
quarter's 季报. Each asks the domain's own service (and, for complaints, the workflow's allowed actions) what
waits for the signed-in user; nothing here decides a rule of its own.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role
from hazard_registry.complaints import service as complaints
from hazard_registry.complaints.workflow import HANDLING, State
from hazard_registry.i18n import label
from hazard_registry.statistics import filings
from hazard_registry.statistics.models import Filing
from hazard_registry.statistics.periods import last_quarter_ended
from hazard_registry.web.home import HOME_PANELS, Panel, PanelRow
from hazard_registry.web.templating import cn_date

# The states in which a complaint may wait for its handler (received: to triage; the rest: to handle).
_WAITING = [State.received.value, *(s.value for s in HANDLING), State.recheck_requested.value]


def complaints_panel(session: Session, actor: Actor, today: date) -> Panel | None:
    """Complaints in the caller's scope on which the workflow offers the caller an action, soonest due first."""
    if actor.role not in (Role.regulator, Role.admin):
        return None
    rows, _ = complaints.list_complaints(
        session, actor, state=list(dict.fromkeys(_WAITING)), overdue=None, cursor=None, limit=200, today=today
    )
    mine = [(c, complaints.to_out(c, actor, today)) for c in rows]
    mine = [(c, out) for c, out in mine if out.allowed_actions]
    if not mine:
        return None
    mine.sort(key=lambda pair: (pair[0].handling_due_on or date.max, pair[0].id))
    panel_rows = []
    for c, out in mine[:10]:
        due = f"办理期限 {cn_date(c.handling_due_on)}" if c.handling_due_on else "待受理"
        late = out.handling_overdue or out.reply_overdue
        text = f"{label('complaint_state', c.state)} · {c.title[:40]}"
        panel_rows.append(PanelRow(text, f"/complaints/{c.id}", due + ("（已逾期）" if late else ""), urgent=late))
    return Panel("举报待办", len(mine), panel_rows, "/complaints")


def reveals_panel(session: Session, actor: Actor, today: date) -> Panel | None:
    """Identity-reveal requests the caller may decide (the right, and not linked to the requester)."""
    if actor.role is not Role.admin or not actor.can_reveal_identity:
        return None
    rows, _ = complaints.list_reveals(session, actor, 200, None)
    waiting = [r for r in rows if "decide" in complaints.reveal_actions(session, actor, r)]
    if not waiting:
        return None
    panel_rows = [
        PanelRow(f"举报 {r.complaint_id} · 申请查看举报人身份", f"/complaints/{r.complaint_id}") for r in waiting
    ]
    return Panel("身份披露待审批", len(waiting), panel_rows[:10], "/complaints/reveals")


def rewards_panel(session: Session, actor: Actor, today: date) -> Panel | None:
    """Approved rewards whose reporter has claimed them: the paying office's queue."""
    if actor.role is not Role.admin:
        return None
    queue = complaints.rewards_to_pay(session, actor)
    if not queue:
        return None
    rows = [
        PanelRow(f"举报 {r.complaint_id} · 奖励 {complaints.yuan(r.amount_fen)} 元", "/complaints/rewards")
        for r in queue
    ]
    return Panel("奖励待发放", len(queue), rows[:10], "/complaints/rewards")


def filings_panel(session: Session, actor: Actor, today: date) -> Panel | None:
    """The last quarter's 季报: the enterprise's own, if not yet filed; for a regulator, who has not filed."""
    period = last_quarter_ended(today)
    if actor.role is Role.enterprise and actor.enterprise_id is not None:
        filed = session.scalar(
            select(Filing.filed_at).where(Filing.enterprise_id == actor.enterprise_id, Filing.period == period.code)
        )
        if filed is not None:
            return None
        late = today > period.due_on
        note = f"报送期限 {cn_date(period.due_on)}" + ("（已逾期）" if late else "")
        row = PanelRow(f"{period.code} 季报尚未报送", f"/filings?period={period.code}", note, urgent=late)
        return Panel("季报待报", 1, [row], f"/filings?period={period.code}")
    if actor.role is not Role.regulator:
        return None
    status = filings.status_list(session, actor, period.code, today=today, only="late", limit=10)
    if not status.late:
        return None
    href = f"/filings?period={period.code}&status=late"
    rows = [PanelRow(f"{r.enterprise} 未报送 {period.code} 季报", href) for r in status.items]
    return Panel("季报逾期未报", status.late, rows, href)


HOME_PANELS.extend([complaints_panel, reveals_panel, rewards_panel, filings_panel])
