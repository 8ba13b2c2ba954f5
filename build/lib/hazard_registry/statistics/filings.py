"""Enterprise statistics filings (季报, 年报): pre-filled from the register, confirmed by the principal.

A quarter's table is due on the 15th of the month after it; the annual one on 31 January. The row carries
``due_on`` so that lateness is one indexed query (``due_on < today AND filed_at IS NULL``), which the
escalation engine can sweep like any other stall.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Date, Select, String, and_, case, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role, enterprise_scope
from hazard_registry.clock import today_in_china
from hazard_registry.db import UTCDateTime, is_postgres
from hazard_registry.errors import Conflict, Forbidden
from hazard_registry.hazards.models import Hazard
from hazard_registry.reference.models import Enterprise, Industry
from hazard_registry.statistics import schemas
from hazard_registry.statistics.models import Filing
from hazard_registry.statistics.periods import Period, parse_period
from hazard_registry.statistics.service import StatFilters, as_of_flags, count_if, day_end_utc, scoped_where


def figures_for(session: Session, actor: Actor, enterprise_id: int, p: Period, cutoff: date) -> schemas.FilingFigures:
    """One statement over the enterprise's hazards: found and closed within the period, open at its end."""
    flags = as_of_flags(p.end, cutoff)
    closed_in = and_(flags["closed"], Hazard.closed_at >= day_end_utc(p.start - timedelta(days=1)))
    row = session.execute(
        select(
            func.coalesce(func.sum(count_if(Hazard.found_at >= p.start)), 0),
            func.coalesce(func.sum(count_if(closed_in)), 0),
            func.coalesce(func.sum(count_if(flags["open"])), 0),
            func.coalesce(func.sum(count_if(flags["overdue"])), 0),
            func.coalesce(func.sum(count_if(flags["stock_open"])), 0),
        ).where(*scoped_where(actor, StatFilters(enterprise_id=enterprise_id), p.end))
    ).one()
    found, closed, open_, overdue, stock_open = (int(x) for x in row)
    return schemas.FilingFigures(
        found_in_period=found,
        closed_in_period=closed,
        open_at_end=open_,
        overdue_at_end=overdue,
        stock_open_at_end=stock_open,
    )


def _own_enterprise(actor: Actor) -> int:
    if actor.role is not Role.enterprise or actor.enterprise_id is None:
        raise Forbidden("only an enterprise files its statistics", code="role_forbidden")
    return actor.enterprise_id


def prefill(session: Session, actor: Actor, period: str, cutoff: date) -> schemas.FilingOut:
    """The enterprise's table for ``period`` as the register has it; the stored one if already filed."""
    enterprise_id = _own_enterprise(actor)
    p = parse_period(period)
    existing = session.scalar(select(Filing).where(Filing.enterprise_id == enterprise_id, Filing.period == p.code))
    if existing is not None and existing.filed_at is not None:
        return schemas.FilingOut.model_validate(existing)
    return schemas.FilingOut(
        enterprise_id=enterprise_id,
        period=p.code,
        kind=p.kind,
        period_start=p.start,
        period_end=p.end,
        due_on=p.due_on,
        figures=figures_for(session, actor, enterprise_id, p, cutoff).model_dump(),
    )


def file(session: Session, actor: Actor, data: schemas.FilingCreate, *, now: datetime, cutoff: date) -> Filing:
    """Record the principal's confirmation of the pre-filled table: who confirmed, which user recorded it, when.

    Invariants: only the enterprise itself files; a period ends before it can be filed; a filed table is final.
    """
    enterprise_id = _own_enterprise(actor)
    p = parse_period(data.period)
    if today_in_china(now) <= p.end:
        raise Conflict(
            f"{p.code} has not ended yet; it can be filed from {p.end + timedelta(days=1)}",
            code="period_not_ended",
        )
    filing = session.scalar(
        select(Filing).where(Filing.enterprise_id == enterprise_id, Filing.period == p.code).with_for_update()
    )
    if filing is not None and filing.filed_at is not None:
        raise Conflict(f"{p.code} was already filed on {filing.filed_at.isoformat()}", code="already_filed")
    if filing is None:
        filing = Filing(
            enterprise_id=enterprise_id,
            period=p.code,
            kind=p.kind,
            period_start=p.start,
            period_end=p.end,
            due_on=p.due_on,
            created_at=now,
        )
        session.add(filing)
    filing.figures = figures_for(session, actor, enterprise_id, p, cutoff).model_dump()
    filing.confirmed_by_name = data.confirmed_by_name
    filing.recorded_by_id = actor.user_id
    filing.filed_at = now
    filing.note = data.note
    session.flush()
    return filing


def open_period(session: Session, period: str, now: datetime) -> int:
    """Create the pending row of every enterprise for ``period`` in one statement (existing rows are kept), so
    that a lateness sweep over ``due_on`` sees those who never started. Returns the number of rows created."""
    p = parse_period(period)
    insert = pg_insert if is_postgres(session) else sqlite_insert
    # NOT EXISTS skips rows already there; ON CONFLICT covers a concurrent opener.
    src = select(
        Enterprise.id,
        literal(p.code, String),
        literal(p.kind, String),
        literal(p.start, Date),
        literal(p.end, Date),
        literal(p.due_on, Date),
        literal(now, UTCDateTime()),
    ).where(~select(Filing.id).where(Filing.enterprise_id == Enterprise.id, Filing.period == p.code).exists())
    stmt = (
        insert(Filing)
        .from_select(["enterprise_id", "period", "kind", "period_start", "period_end", "due_on", "created_at"], src)
        .on_conflict_do_nothing(index_elements=["enterprise_id", "period"])
    )
    return len(session.execute(stmt.returning(Filing.id)).all())


def status_list(
    session: Session,
    actor: Actor,
    period: str,
    *,
    today: date,
    only: str | None = None,
    after: int | None = None,
    limit: int = 200,
) -> schemas.FilingStatusList:
    """Every enterprise the caller may see, with whether it filed ``period`` on time, late, or not yet.

    Two statements: the counts per status (GROUP BY over the scoped enterprises) and one keyset page of them.
    """
    if actor.role is Role.enterprise:
        raise Forbidden("regulators list filings; an enterprise reads its own table", code="role_forbidden")
    p = parse_period(period)
    deadline = day_end_utc(p.due_on)
    status = case(
        (and_(Filing.filed_at.is_not(None), Filing.filed_at < deadline), literal("filed")),
        (Filing.filed_at.is_not(None), literal("filed_late")),
        else_=literal("late" if today > p.due_on else "pending"),
    ).label("status")
    base = (
        select(Enterprise.id, Enterprise.name, Enterprise.uscc, Enterprise.region_code, Filing.filed_at, status)
        .join(Industry, Industry.code == Enterprise.industry_code)
        .outerjoin(Filing, and_(Filing.enterprise_id == Enterprise.id, Filing.period == p.code))
        .where(enterprise_scope(actor, Enterprise, Industry))
        .subquery("f")
    )
    counts = dict(session.execute(select(base.c.status, func.count()).group_by(base.c.status)).all())
    page = select(base)
    if only:
        page = page.where(base.c.status == only)
    if after is not None:
        page = page.where(base.c.id > after)
    rows = session.execute(page.order_by(base.c.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return schemas.FilingStatusList(
        period=p.code,
        due_on=p.due_on,
        today=today,
        filed=counts.get("filed", 0) + counts.get("filed_late", 0),
        late=counts.get("late", 0) + counts.get("filed_late", 0),
        pending=counts.get("pending", 0),
        items=[
            schemas.FilingStatusRow(
                enterprise_id=r.id,
                enterprise=r.name,
                uscc=r.uscc,
                region_code=r.region_code,
                status=r.status,
                due_on=p.due_on,
                filed_at=r.filed_at,
            )
            for r in rows
        ],
        next_after=rows[-1].id if more else None,
    )


def late_filings(today: date) -> Select[tuple[Filing]]:
    """Filings past their due day and not filed: the stall an escalation sweep acts on (one index range scan
    of ``ix_enterprise_filings_due_on``). Rows exist once ``open_period`` has run for the period."""
    return select(Filing).where(Filing.due_on < today, Filing.filed_at.is_(None)).order_by(Filing.due_on, Filing.id)
