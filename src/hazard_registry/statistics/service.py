"""Statistics over the register: read-only, set-based, scoped.

Every table is ONE SQL statement over ``hazards`` (a scoped, filtered subquery aggregated with GROUP BY and
CASE), never a loop over hazards in Python. What "as of a day" means, for a hazard not rejected:

- found   — ``found_at <= as_of``;
- closed  — ``closed_at`` falls on or before ``as_of`` in China's calendar;
- open    — found and not closed;
- overdue — open and overdue by the one definition (``hazards.overdue``) applied to the state and deadline
  the hazard had at the end of ``as_of``: a hazard verified before its deadline and closed later was not
  overdue that day, and an extension approved later does not move an earlier day's deadline;
- stock   — found on or before the campaign cut-off (``HAZARD_CAMPAIGN_CUTOFF``), increment after it.

The state and deadline "on the day" come from the recorded history: the last event before the end of the
day holds them (``to_state``, ``deadline_after``). A hazard untouched since that day (``updated_at`` before
its end — every change of state or deadline moves ``updated_at``) still has them on its own row, so only the
hazards changed since pay for the look-up; the figures stay one statement. A hazard with no event before the
day (entered later for an earlier find, or loaded without history) counts with its row as it is.

Hazards rejected by the day (not major, duplicates) are not in that day's figures at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    or_,
    outerjoin,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, hazard_scope, region_range, region_within
from hazard_registry.clock import day_end_utc
from hazard_registry.db import is_postgres
from hazard_registry.hazards.models import Hazard, HazardEvent
from hazard_registry.hazards.overdue import overdue_sql
from hazard_registry.reference.models import Enterprise, Industry, Region, Sector
from hazard_registry.statistics import schemas
from hazard_registry.statistics.periods import Period, quarter_containing
from hazard_registry.upward import received


@dataclass(frozen=True)
class StatFilters:
    region: str | None = None
    industry_code: str | None = None
    sector_code: str | None = None
    enterprise_id: int | None = None


def _days_to_close(pg: bool) -> ColumnElement[Any]:
    # China has kept UTC+8 without daylight saving since 1991, so +8 hours gives the Chinese calendar day.
    if pg:
        return literal_column("(CAST(hazards.closed_at + interval '8 hours' AS DATE) - hazards.found_at)", Integer)
    return cast(func.julianday(func.date(Hazard.closed_at, "+8 hours")) - func.julianday(Hazard.found_at), Integer)


def _month(col: Any, pg: bool, *, shift: bool = False) -> ColumnElement[str]:
    if pg:
        expr = literal_column("(hazards.closed_at + interval '8 hours')") if shift else col
        return func.to_char(expr, "YYYY-MM", type_=String)
    if shift:
        return func.strftime("%Y-%m", col, "+8 hours", type_=String)
    return func.strftime("%Y-%m", col, type_=String)


def child_key(region: str | None) -> ColumnElement[str]:
    """The code of the child region of ``region`` that holds each hazard (or ``region`` itself for hazards
    registered at its own level): provinces under the country, prefectures under a province, counties under a
    prefecture, townships under a county."""
    col = Hazard.region_code
    if region is None:
        return func.substr(col, 1, 2, type_=String).concat("0000")
    prefix, _ = region_range(region)
    if len(region) == 6 and len(prefix) < 6:
        width = len(prefix) + 2
        return func.substr(col, 1, width, type_=String).concat("0" * (6 - width))
    return func.substr(col, 1, 9 if len(region) == 6 else 12, type_=String)


class OnDay:
    """The register as it stood at the end of ``as_of`` (China's day), for one statement.

    ``changed`` is the last event before the end of the day of each hazard changed since (``updated_at`` at
    or after it; an index range, empty for today). Joined to ``hazards`` it gives each hazard's ``state`` and
    ``deadline`` of that day: the event's where there is one, the row's own otherwise. A join, not a
    correlated subquery per hazard: the planner costs it for what it is (a per-row subplan made PostgreSQL
    estimate, and JIT-compile, the whole register's look-ups).
    """

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        end = day_end_utc(as_of)
        e = HazardEvent
        since = select(Hazard.id).where(Hazard.updated_at >= end)
        last = (
            select(e.hazard_id, func.max(e.seq).label("seq"))
            .where(e.hazard_id.in_(since), e.at < end)
            .group_by(e.hazard_id)
            .subquery("last_event")
        )
        self.changed = (
            select(e.hazard_id, e.to_state, e.deadline_after)
            .join(last, and_(e.hazard_id == last.c.hazard_id, e.seq == last.c.seq))
            .subquery("on_day")
        )
        found = self.changed.c.hazard_id.is_not(None)
        self.state: ColumnElement[str] = case((found, self.changed.c.to_state), else_=Hazard.state)
        self.deadline: ColumnElement[date] = case((found, self.changed.c.deadline_after), else_=Hazard.deadline)
        self.overdue: ColumnElement[bool] = overdue_sql(as_of, self.state, self.deadline)

    @property
    def register(self) -> Any:
        """``hazards`` with that day's state and deadline beside each row (use as the statement's FROM)."""
        return outerjoin(Hazard, self.changed, self.changed.c.hazard_id == Hazard.id)


def scoped_where(actor: Actor, f: StatFilters, day: OnDay) -> list[ColumnElement[bool]]:
    # Rejected on the day: a hazard rejected later was an open entry of the register that day.
    not_rejected = or_(Hazard.state != "rejected", day.state != "rejected")
    where = [hazard_scope(actor, Hazard), not_rejected, Hazard.found_at <= day.as_of]
    if f.region:
        where.append(region_within(Hazard.region_code, f.region))
    if f.industry_code:
        where.append(Hazard.industry_code == f.industry_code)
    if f.sector_code:
        where.append(Hazard.sector_code == f.sector_code)
    if f.enterprise_id is not None:
        where.append(Hazard.enterprise_id == f.enterprise_id)
    return where


def as_of_flags(day: OnDay, cutoff: date) -> dict[str, ColumnElement[bool]]:
    closed = and_(Hazard.closed_at.is_not(None), Hazard.closed_at < day_end_utc(day.as_of))
    is_open = not_(closed)
    overdue = and_(is_open, day.overdue)
    stock = Hazard.found_at <= cutoff
    return {
        "closed": closed,
        "open": is_open,
        "overdue": overdue,
        "stock": stock,
        "stock_open": and_(stock, is_open),
        "increment_open": and_(not_(stock), is_open),
    }


def count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return case((cond, 1), else_=0)


def aggregate(
    session: Session,
    actor: Actor,
    f: StatFilters,
    *,
    as_of: date,
    cutoff: date,
    group: ColumnElement[Any] | None = None,
) -> list[dict[str, Any]]:
    """The figures of the scoped, filtered register as of ``as_of``, for each value of ``group`` (or once).

    One statement: a scoped subquery of flags per hazard, aggregated with SUM(CASE…); time-to-close
    percentiles by ``percentile_cont`` on PostgreSQL, by ROW_NUMBER over each group on SQLite.
    """
    pg = is_postgres(session)
    day = OnDay(as_of)
    flags = as_of_flags(day, cutoff)
    days = _days_to_close(pg)
    closed_days = case((flags["closed"], days), else_=None)
    cols: list[Any] = [
        (group if group is not None else literal("all", String)).label("g"),
        *[count_if(c).label(name) for name, c in flags.items()],
        closed_days.label("days"),
    ]
    inner_sel = select(*cols).select_from(day.register).where(*scoped_where(actor, f, day))
    if not pg:
        # Closed hazards first, shortest first: within a group, row n is the n-th shortest time to close.
        inner_sel = inner_sel.add_columns(
            func.row_number().over(partition_by=group, order_by=[closed_days.is_(None), closed_days]).label("rn"),
            func.count(closed_days).over(partition_by=group).label("n"),
        )
    inner = inner_sel.subquery("h")
    sums = [func.coalesce(func.sum(inner.c[name]), 0).label(name) for name in flags]
    out: list[Any] = [inner.c.g, func.count().label("found"), *sums]
    if pg:
        out += [
            func.percentile_cont(0.5).within_group(inner.c.days).label("p50"),
            func.percentile_cont(0.9).within_group(inner.c.days).label("p90"),
        ]
    else:
        for p in (0.5, 0.9):
            lo = cast(1 + p * (inner.c.n - 1), Integer)
            # The value at floor(position) and the next; the outer query only picks them, Python interpolates.
            out.append(func.max(case((inner.c.rn == lo, inner.c.days), else_=None)).label(f"lo{int(p * 100)}"))
            out.append(func.max(case((inner.c.rn == lo + 1, inner.c.days), else_=None)).label(f"hi{int(p * 100)}"))
    rows = session.execute(select(*out).group_by(inner.c.g).order_by(inner.c.g)).mappings().all()
    return [_finish(dict(r), pg) for r in rows]


def _finish(r: dict[str, Any], pg: bool) -> dict[str, Any]:
    for k in ("found", "closed", "open", "overdue", "stock", "stock_open", "increment_open"):
        r[k] = int(r[k])
    n = r["closed"]
    if not pg:
        for p in (0.5, 0.9):
            tag = int(p * 100)
            lo, hi = r.pop(f"lo{tag}"), r.pop(f"hi{tag}")
            if n == 0 or lo is None:
                r[f"p{tag}"] = None
                continue
            pos = 1 + p * (n - 1)
            frac = pos - int(pos)
            r[f"p{tag}"] = lo + frac * ((hi if hi is not None else lo) - lo)
    for k in ("p50", "p90"):
        r[k] = None if r.get(k) is None else round(float(r[k]), 2)
    return r


def _figures(r: dict[str, Any] | None) -> schemas.Figures:
    if r is None:
        return schemas.Figures()
    found = r["found"]
    return schemas.Figures(
        found=found,
        open=r["open"],
        overdue=r["overdue"],
        closed=r["closed"],
        clearance_rate=round(r["closed"] / found, 4) if found else None,
        stock=r["stock"],
        stock_open=r["stock_open"],
        increment=found - r["stock"],
        increment_open=r["increment_open"],
        days_to_close_median=r["p50"],
        days_to_close_p90=r["p90"],
    )


def summary(session: Session, actor: Actor, f: StatFilters, *, as_of: date, cutoff: date) -> schemas.Summary:
    rows = aggregate(session, actor, f, as_of=as_of, cutoff=cutoff)
    return schemas.Summary(as_of=as_of, cutoff=cutoff, region=f.region, figures=_figures(rows[0] if rows else None))


def breakdown(
    session: Session, actor: Actor, f: StatFilters, by: str, *, as_of: date, cutoff: date
) -> schemas.Breakdown:
    """The figures per child region of ``f.region`` (``by='region'``), per industry or per campaign sector."""
    if by == "region":
        group: ColumnElement[Any] = child_key(f.region)
    elif by == "industry":
        group = Hazard.industry_code
    else:
        group = Hazard.sector_code
    rows = aggregate(session, actor, f, as_of=as_of, cutoff=cutoff, group=group)
    keys = [r["g"] for r in rows]
    names = _names(session, by, keys)
    return schemas.Breakdown(
        as_of=as_of,
        cutoff=cutoff,
        region=f.region,
        by=by,
        rows=[schemas.BreakdownRow(key=r["g"], name=names.get(r["g"], r["g"]), figures=_figures(r)) for r in rows],
    )


def _names(session: Session, by: str, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    model: Any = {"region": Region, "industry": Industry, "sector": Sector}[by]
    return dict(session.execute(select(model.code, model.name).where(model.code.in_(keys))).all())


def month_range(as_of: date, months: int) -> tuple[date, list[str]]:
    y, m = as_of.year, as_of.month
    labels = []
    for _ in range(months):
        labels.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    labels.reverse()
    first = date(int(labels[0][:4]), int(labels[0][5:]), 1)
    return first, labels


def trend(session: Session, actor: Actor, f: StatFilters, *, as_of: date, months: int) -> schemas.Trend:
    """Hazards found and closed per calendar month, for the ``months`` months ending with ``as_of``'s."""
    pg = is_postgres(session)
    first, labels = month_range(as_of, months)
    day = OnDay(as_of)
    where = scoped_where(actor, f, day)
    found = (
        select(_month(Hazard.found_at, pg).label("m"), literal(1).label("f"), literal(0).label("c"))
        .select_from(day.register)
        .where(*where, Hazard.found_at >= first)
    )
    closed = (
        select(_month(Hazard.closed_at, pg, shift=True).label("m"), literal(0).label("f"), literal(1).label("c"))
        .select_from(day.register)
        .where(
            *where, Hazard.closed_at >= day_end_utc(first - timedelta(days=1)), Hazard.closed_at < day_end_utc(as_of)
        )
    )
    u = union_all(found, closed).subquery("u")
    rows = session.execute(select(u.c.m, func.sum(u.c.f), func.sum(u.c.c)).group_by(u.c.m)).all()
    got = {m: (int(a), int(b)) for m, a, b in rows}
    return schemas.Trend(
        as_of=as_of,
        region=f.region,
        months=[schemas.TrendMonth(month=m, found=got.get(m, (0, 0))[0], closed=got.get(m, (0, 0))[1]) for m in labels],
    )


def clearance(
    session: Session, actor: Actor, f: StatFilters, *, as_of: date, cutoff: date, oldest: int = 5
) -> schemas.Clearance:
    """Dynamic clearance (动态清零): a region is clear when no open hazard is past its deadline; the stock
    target is met when no hazard found on or before the cut-off is still open."""
    rows = aggregate(session, actor, f, as_of=as_of, cutoff=cutoff)
    total = _figures(rows[0] if rows else None)
    children = breakdown(session, actor, f, "region", as_of=as_of, cutoff=cutoff)
    day = OnDay(as_of)
    flags = as_of_flags(day, cutoff)
    deadline = day.deadline.label("deadline")
    old = session.execute(
        select(
            Hazard.id,
            Hazard.number,
            Hazard.title,
            Hazard.region_code,
            deadline,
            Hazard.found_at,
            Enterprise.name,
        )
        .select_from(day.register)
        .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
        .where(*scoped_where(actor, f, day), flags["overdue"])
        .order_by(deadline, Hazard.id)
        .limit(oldest)
    ).all()
    return schemas.Clearance(
        as_of=as_of,
        cutoff=cutoff,
        region=f.region,
        status=_status(total),
        oldest_overdue=[
            schemas.OverdueHazard(
                id=r[0],
                number=r[1],
                title=r[2],
                region_code=r[3],
                deadline=r[4],
                found_at=r[5],
                enterprise=r[6],
                days_overdue=(as_of - r[4]).days,
            )
            for r in old
        ],
        children=[
            schemas.ClearanceRow(key=row.key, name=row.name, status=_status(row.figures)) for row in children.rows
        ],
    )


def _status(fig: schemas.Figures) -> schemas.ClearanceStatus:
    return schemas.ClearanceStatus(
        clear=fig.overdue == 0,
        overdue=fig.overdue,
        open=fig.open,
        stock_open=fig.stock_open,
        stock_target_met=fig.stock_open == 0,
    )


# --- 治本攻坚: the campaign's three stages ---------------------------------------------------------------------


def _china_day(col: Any, pg: bool) -> ColumnElement[Any]:
    """The China calendar day of a UTC timestamp column (UTC+8, no daylight saving since 1991)."""
    if pg:
        return literal_column("CAST(hazards.closed_at + interval '8 hours' AS DATE)")
    return func.date(col, "+8 hours")


def quarters_ending(as_of: date, count: int) -> list[Period]:
    """The ``count`` quarters ending with the one that holds ``as_of``, oldest first."""
    out = [quarter_containing(as_of)]
    while len(out) < count:
        out.append(quarter_containing(out[-1].start - timedelta(days=1)))
    return list(reversed(out))


def _by_quarter(rows: Any) -> dict[str, list[int]]:
    """Month rows ("YYYY-MM", a, b, …) summed into quarters ("YYYYQn")."""
    out: dict[str, list[int]] = {}
    for month, *values in rows:
        if not month:
            continue
        code = f"{month[:4]}Q{(int(month[5:7]) - 1) // 3 + 1}"
        acc = out.setdefault(code, [0] * len(values))
        for i, v in enumerate(values):
            acc[i] += int(v or 0)
    return out


def campaign(
    session: Session, actor: Actor, f: StatFilters, *, as_of: date, cutoff: date, stock_due: date, quarters: int = 8
) -> schemas.Campaign:
    """The three stages as of ``as_of``, with the same as-of rules as every figure here:

    - stock: found on or before ``cutoff``; how many remain open, in all and per child region;
    - increment: hazards found per quarter against the same quarter a year before (the current quarter up
      to ``as_of``, and the year-before quarter up to the same day a year before);
    - in time: of the hazards whose deadline fell in a quarter (and on or before ``as_of``), the share closed
      on or before their deadline (in China's calendar).
    Three statements over the month, grouped in SQL and summed into quarters here (a few dozen rows).
    """
    pg = is_postgres(session)
    by_region = breakdown(session, actor, f, "region", as_of=as_of, cutoff=cutoff)
    total = summary(session, actor, f, as_of=as_of, cutoff=cutoff).figures
    periods = quarters_ending(as_of, quarters)
    first = periods[0].start.replace(year=periods[0].start.year - 1)
    leap_day = as_of.month == 2 and as_of.day == 29
    year_before = date(as_of.year - 1, 2, 28) if leap_day else as_of.replace(year=as_of.year - 1)
    day = OnDay(as_of)  # state and deadline as recorded on that day, so a later extension moves nothing
    where = scoped_where(actor, f, day)
    month = _month(Hazard.found_at, pg)
    found_rows = session.execute(
        select(month, func.count(), func.sum(count_if(Hazard.found_at <= year_before)))
        .select_from(day.register)
        .where(*where, Hazard.found_at >= first)
        .group_by(month)
    ).all()
    found = _by_quarter(found_rows)
    due_month = _month(day.deadline, pg)
    in_time = and_(
        Hazard.closed_at.is_not(None),
        Hazard.closed_at < day_end_utc(as_of),
        _china_day(Hazard.closed_at, pg) <= day.deadline,
    )
    due_rows = session.execute(
        select(due_month, func.count(), func.sum(count_if(in_time)))
        .select_from(day.register)
        .where(*where, day.deadline.is_not(None), day.deadline >= periods[0].start, day.deadline <= as_of)
        .group_by(due_month)
    ).all()
    due = _by_quarter(due_rows)

    increment = []
    for p in periods:
        now_count = found.get(p.code, [0, 0])[0]
        before_code = f"{p.start.year - 1}Q{p.code[-1]}"
        before = found.get(before_code, [0, 0])
        # The current quarter is compared with the same stretch of the year-before quarter (up to the same day).
        before_count = before[1] if p.end >= as_of else before[0]
        change = round(now_count / before_count - 1, 4) if before_count else None
        increment.append(
            schemas.CampaignIncrement(quarter=p.code, found=now_count, found_year_before=before_count, change=change)
        )
    shares = []
    for p in periods:
        n, ok = due.get(p.code, [0, 0])
        shares.append(
            schemas.CampaignInTime(quarter=p.code, due=n, closed_in_time=ok, share=round(ok / n, 4) if n else None)
        )
    return schemas.Campaign(
        as_of=as_of,
        cutoff=cutoff,
        stock_due=stock_due,
        region=f.region,
        stock=total.stock,
        stock_open=total.stock_open,
        stock_target_met=total.stock_open == 0,
        stock_by_region=[
            schemas.CampaignStockRow(key=r.key, name=r.name, stock=r.figures.stock, stock_open=r.figures.stock_open)
            for r in by_region.rows
        ],
        increment=increment,
        in_time=shares,
    )


# --- a region's report to the level above ------------------------------------------------------------------------


def region_report(
    session: Session, actor: Actor, f: StatFilters, period: Period, *, cutoff: date
) -> schemas.RegionReport:
    """The same figures as the statistics tables, as of the period's last day, with its months' trend; child
    regions whose reports a lower deployment sent up (upward.received) are counted with the local ones, and
    ``sources`` says which child's figures came from where."""
    months = 3 if period.kind == "quarterly" else 12
    as_of = period.end
    local = schemas.RegionReport(
        period=period.code,
        summary=summary(session, actor, f, as_of=as_of, cutoff=cutoff),
        by_region=breakdown(session, actor, f, "region", as_of=as_of, cutoff=cutoff),
        by_sector=breakdown(session, actor, f, "sector", as_of=as_of, cutoff=cutoff),
        by_industry=breakdown(session, actor, f, "industry", as_of=as_of, cutoff=cutoff),
        trend=trend(session, actor, f, as_of=as_of, months=months),
    )
    quarters = [p.code for p in quarters_ending(as_of, 1 if period.kind == "quarterly" else 4)]
    got = received.share(
        session,
        actor,
        region=f.region,
        sector_code=f.sector_code,
        industry_code=f.industry_code,
        enterprise_id=f.enterprise_id,
        period=period,
        quarters=quarters,
    )
    if not got.sources and not got.trend:
        return received.merge_report(local, got, {})
    unnamed = {c for c, _ in got.children} - {r.key for r in local.by_region.rows} - set(got.names)
    return received.merge_report(local, got, _names(session, "region", sorted(unnamed)))
