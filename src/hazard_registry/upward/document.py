"""Writing the quarterly report document (``hazard-registry/quarterly-report/v1``) and its digest.

The figures are ``statistics.service.region_report``'s for the region and quarter, as of the quarter's last
day, with the campaign cut-off of this deployment; for every sector also its per-child and per-month figures,
so the level above can count a regulator's sectors exactly. What this deployment received from below is in
its own figures, so reports chain up level by level.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from hazard_registry.auth.principal import SYSTEM
from hazard_registry.clock import CHINA
from hazard_registry.reference.models import Region
from hazard_registry.statistics import schemas as stats_schemas
from hazard_registry.statistics import service as stats
from hazard_registry.statistics.periods import Period
from hazard_registry.upward.schemas import SCHEMA, FiguresV1

ENVELOPE = ("revision", "generated_at", "digest")  # outside the digest: a re-push of the same figures keeps it


def canonical(value: Any) -> bytes:
    """Keys sorted, no spaces, UTF-8: the bytes the digest is taken over (and the body that is sent)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in document.items() if k not in ENVELOPE})).hexdigest()


def _figures(f: stats_schemas.Figures) -> dict[str, Any]:
    return {name: getattr(f, name) for name in FiguresV1.model_fields}


def _rows(b: stats_schemas.Breakdown) -> list[dict[str, Any]]:
    return [{"key": r.key, "name": r.name, "figures": _figures(r.figures)} for r in b.rows]


def build(
    session: Session,
    *,
    deployment_id: str,
    region: Region,
    period: Period,
    cutoff: date,
    revision: int,
    now: datetime,
) -> dict[str, Any]:
    f = stats.StatFilters(region=region.code)
    report = stats.region_report(session, SYSTEM, f, period, cutoff=cutoff)
    cells: list[dict[str, Any]] = []
    months: list[dict[str, Any]] = []
    for sector in report.by_sector.rows:
        part = stats.region_report(session, SYSTEM, replace(f, sector_code=sector.key), period, cutoff=cutoff)
        cells += [{"sector": sector.key, "key": r.key, "figures": _figures(r.figures)} for r in part.by_region.rows]
        months += [
            {"sector": sector.key, "month": m.month, "found": m.found, "closed": m.closed}
            for m in part.trend.months
            if m.found or m.closed
        ]
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "deployment_id": deployment_id,
        "region": {"code": region.code, "name": region.name},
        "period": {
            "code": period.code,
            "kind": period.kind,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
        "as_of": period.end.isoformat(),
        "cutoff": cutoff.isoformat(),
        "figures": {
            "summary": _figures(report.summary.figures),
            "by_region": _rows(report.by_region),
            "by_sector": _rows(report.by_sector),
            "by_industry": _rows(report.by_industry),
            "by_sector_region": cells,
            "trend": [{"month": m.month, "found": m.found, "closed": m.closed} for m in report.trend.months],
            "trend_by_sector": months,
        },
    }
    document["digest"] = digest(document)
    document["revision"] = revision
    document["generated_at"] = now.astimezone(CHINA).isoformat(timespec="seconds")
    return document
