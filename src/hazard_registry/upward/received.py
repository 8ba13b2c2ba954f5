"""Received reports in the upper deployment's figures (逐级上报 → 统计).

A region is either local or received for a period: a report is refused for a region that holds local hazards
found by the period's end (``upward.service.receive``), so adding a received report's figures to the local
ones never counts a hazard twice. A hazard entered locally later in a received region is counted as well and
its child region then shows ``mixed``.

The counted report of a (downstream, region, period) is its highest revision. A report counts for an actor
who may see its whole region: an administrator or the system, or a regulator for the sectors it leads (the
document carries every figure per sector, so a regulator's share is exact). Figures filtered by industry or
enterprise have no received share (the document is not split that way). Medians and 90th percentiles cannot
be added: a row that sums more than one source shows none.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import NATIONAL, Actor, Role, region_contains, region_range, region_within
from hazard_registry.statistics import schemas
from hazard_registry.statistics.periods import Period
from hazard_registry.upward.models import ReceivedReport

ADDITIVE = ("found", "open", "overdue", "closed", "stock", "stock_open", "increment", "increment_open")


@dataclass
class Share:
    """What the received reports add to one report: figures as of the period's end per child region and per
    sector, per (sector, month) the trend, and the reports they came from per child."""

    children: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sectors: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    trend: list[tuple[str, str, int, int]] = field(default_factory=list)
    sources: dict[str, list[schemas.ReceivedRef]] = field(default_factory=lambda: defaultdict(list))
    names: dict[str, str] = field(default_factory=dict)  # child and sector names as the documents give them
    industries: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


def child_of(region: str | None, code: str) -> str:
    """The child region of ``region`` that holds ``code``, exactly as ``statistics.service.child_key`` says in SQL."""
    if region is None:
        return code[:2] + "0000"
    prefix, _ = region_range(region)
    if len(region) == 6 and len(prefix) < 6:
        width = len(prefix) + 2
        return code[:width] + "0" * (6 - width)
    return code[: 9 if len(region) == 6 else 12]


def _sectors(actor: Actor, sector_code: str | None) -> set[str] | None:
    """The sectors whose received figures the actor sees (None: every sector)."""
    allowed: set[str] | None = None
    if actor.role is Role.regulator:
        allowed = set(actor.sectors)
    if sector_code:
        allowed = {sector_code} if allowed is None or sector_code in allowed else set()
    return allowed


def counted(session: Session, region: str | None, periods: list[str]) -> list[ReceivedReport]:
    """The counted (highest) revision of every report received for ``periods`` within ``region``."""
    stmt = select(ReceivedReport).where(ReceivedReport.period.in_(periods))
    if region and region != NATIONAL:
        stmt = stmt.where(region_within(ReceivedReport.region_code, region))
    best: dict[tuple[int, str, str], ReceivedReport] = {}
    for r in session.scalars(stmt.order_by(ReceivedReport.id)):
        key = (r.downstream_id, r.region_code, r.period)
        if key not in best or r.revision > best[key].revision:
            best[key] = r
    return sorted(best.values(), key=lambda r: (r.region_code, r.period))


def ref(r: ReceivedReport) -> schemas.ReceivedRef:
    return schemas.ReceivedRef(
        deployment_id=r.deployment_id,
        region_code=r.region_code,
        period=r.period,
        revision=r.revision,
        generated_at=r.generated_at,
        received_at=r.received_at,
    )


def share(
    session: Session,
    actor: Actor,
    *,
    region: str | None,
    sector_code: str | None,
    industry_code: str | None,
    enterprise_id: int | None,
    period: Period,
    quarters: list[str],
) -> Share:
    """The received share of ``region``'s report for ``period`` (whose quarters are ``quarters``)."""
    out = Share()
    if actor.role is Role.enterprise or industry_code or enterprise_id is not None:
        return out
    if actor.role is not Role.system and not actor.region_code:
        return out
    allowed = _sectors(actor, sector_code)
    for r in counted(session, region, quarters):
        if actor.role is not Role.system and not region_contains(actor.region_code or "", r.region_code):
            continue
        doc = r.document
        figures = doc["figures"]
        wanted = [s for s in figures["by_sector"] if allowed is None or s["key"] in allowed]
        for s in figures["by_sector"]:
            out.names.setdefault(s["key"], s["name"])
        months = [t for t in figures["trend_by_sector"] if allowed is None or t["sector"] in allowed]
        out.trend += [(t["sector"], t["month"], int(t["found"]), int(t["closed"])) for t in months]
        if date.fromisoformat(doc["as_of"]) != period.end:
            continue  # an earlier quarter of a year: its months only
        whole = allowed is None  # every sector: the document's own rows, medians included
        if r.region_code == region:
            if whole:
                children = [(c["key"], c["figures"]) for c in figures["by_region"]]
            else:
                children = [(c["key"], c["figures"]) for c in figures["by_sector_region"] if c["sector"] in allowed]
            for c in figures["by_region"]:
                out.names.setdefault(c["key"], c["name"])
        else:
            child = child_of(region, r.region_code)
            children = [(child, figures["summary"])] if whole else [(child, s["figures"]) for s in wanted]
            if child == r.region_code:
                out.names.setdefault(child, doc["region"]["name"])
        out.children += children
        out.sectors += [(s["key"], s["figures"]) for s in wanted]
        if whole:  # industries are not split by sector: only for those who see every sector
            for row in figures["by_industry"]:
                out.industries[row["key"]].append(row["figures"])
                out.names.setdefault(row["key"], row["name"])
        for child in sorted({c for c, _ in children}):
            out.sources[child].append(ref(r))
    return out


def add(local: schemas.Figures | None, parts: list[dict[str, Any]]) -> schemas.Figures:
    """Local figures plus received ones; the median and the 90th percentile only when there is one source."""
    sources = ([local] if local is not None and local.found else []) + [schemas.Figures(**p) for p in parts]
    if not sources:
        return local or schemas.Figures()
    if len(sources) == 1:
        return sources[0]
    total = {k: sum(getattr(s, k) for s in sources) for k in ADDITIVE}
    found = total["found"]
    return schemas.Figures(**total, clearance_rate=round(total["closed"] / found, 4) if found else None)


def merge_breakdown(
    local: schemas.Breakdown, received: dict[str, list[dict[str, Any]]], names: dict[str, str]
) -> schemas.Breakdown:
    rows = {row.key: row for row in local.rows}
    out = []
    for key in sorted(set(rows) | set(received)):
        row = rows.get(key)
        parts = received.get(key, [])
        if not parts and row is not None:
            out.append(row)
            continue
        name = row.name if row is not None else names.get(key, key)
        out.append(schemas.BreakdownRow(key=key, name=name, figures=add(row.figures if row else None, parts)))
    return local.model_copy(update={"rows": out})


def merge_report(report: schemas.RegionReport, got: Share, region_names: dict[str, str]) -> schemas.RegionReport:
    """``report`` (local figures) with ``got`` added, and where each child region's figures came from."""
    by_child: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_sector: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for child, figures in got.children:
        by_child[child].append(figures)
    for sector, figures in got.sectors:
        by_sector[sector].append(figures)
    names = {**got.names, **region_names}
    by_region = merge_breakdown(report.by_region, by_child, names)
    sectors = merge_breakdown(report.by_sector, by_sector, names)
    industries = merge_breakdown(report.by_industry, got.industries, names)
    summary = report.summary.model_copy(update={"figures": add(report.summary.figures, [f for _, f in got.children])})
    months = {m.month: [m.found, m.closed] for m in report.trend.months}
    for _sector, month, found, closed in got.trend:
        if month in months:
            months[month][0] += found
            months[month][1] += closed
    trend = report.trend.model_copy(
        update={"months": [schemas.TrendMonth(month=m, found=f, closed=c) for m, (f, c) in months.items()]}
    )
    local_keys = {row.key for row in report.by_region.rows}
    sources = []
    for row in by_region.rows:
        refs = got.sources.get(row.key, [])
        kind = "local" if not refs else ("mixed" if row.key in local_keys else "received")
        sources.append(schemas.ChildSource(key=row.key, name=row.name, source=kind, received=refs))
    return report.model_copy(
        update={
            "summary": summary,
            "by_region": by_region,
            "by_sector": sectors,
            "by_industry": industries,
            "trend": trend,
            "sources": sources,
        }
    )
