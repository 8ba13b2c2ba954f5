"""What filter forms offer (regions below the actor's, sectors, industries, enterprises in scope), kept for a
minute per process: reference data changes seldom, and a list page should cost what its API call costs, not
that plus half a dozen lookups. A change shows within ``TTL_SECONDS``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role
from hazard_registry.reference import service as reference
from hazard_registry.reference.models import Industry, Region, Sector

TTL_SECONDS = 60.0
T = TypeVar("T")

_lock = threading.Lock()
_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}


def _cached(key: tuple[Any, ...], make: Callable[[], T]) -> T:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < TTL_SECONDS:
            return hit[1]
    value = make()
    with _lock:
        if len(_cache) > 5000:
            _cache.clear()
        _cache[key] = (now, value)
    return value


def clear() -> None:
    with _lock:
        _cache.clear()


def regions_below(session: Session, code: str | None) -> list[tuple[str, str, int]]:
    """(code, name, depth) for the region and two levels below it, in tree order (two statements)."""
    if not code:
        return []

    def make() -> list[tuple[str, str, int]]:
        here = session.get(Region, code)
        if here is None:
            return []
        children = reference.list_regions(session, code, None, None, 500)
        grand: dict[str, list[Region]] = {}
        if children:
            stmt = select(Region).where(Region.parent_code.in_([c.code for c in children])).order_by(Region.code)
            for r in session.scalars(stmt.limit(5000)):
                grand.setdefault(r.parent_code or "", []).append(r)
        out = [(here.code, here.name, 0)]
        for c in children:
            out.append((c.code, c.name, 1))
            out += [(g.code, g.name, 2) for g in grand.get(c.code, [])]
        return out

    return _cached(("regions", code), make)


def sectors(session: Session) -> list[tuple[str, str]]:
    return _cached(
        ("sectors",), lambda: [(s.code, s.name) for s in session.scalars(select(Sector).order_by(Sector.code))]
    )


def industries(session: Session) -> list[tuple[str, str]]:
    stmt = select(Industry).where(Industry.level == "division").order_by(Industry.code)
    return _cached(("industries",), lambda: [(i.code, i.name) for i in session.scalars(stmt)])


def enterprises(session: Session, actor: Actor, limit: int = 500) -> list[tuple[int, str, str]]:
    """(id, name, uscc) of enterprises the actor may see (the reference service's scope), the first ``limit``."""
    if actor.role is Role.enterprise:
        return []
    key = ("enterprises", actor.role, actor.region_code, tuple(sorted(actor.sectors)), actor.department_id, limit)

    def make() -> list[tuple[int, str, str]]:
        rows, _ = reference.list_enterprises(
            session, actor, region=None, industry_code=None, q=None, cursor=None, limit=limit
        )
        return [(e.id, e.name, e.uscc) for e in rows]

    return _cached(key, make)
