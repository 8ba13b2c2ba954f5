"""What filter forms offer (the region cascade below the actor's region, sectors, industries), kept for a
minute per process: reference data changes seldom, and a list page should cost what its API call costs, not
that plus half a dozen lookups. A change shows within ``TTL_SECONDS``. Enterprises are not listed: they are
searched (``web/pickers.py``), twenty at a time, within the caller's scope."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.models import User
from hazard_registry.auth.principal import NATIONAL, Role, region_contains
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


def sectors(session: Session) -> list[tuple[str, str]]:
    return _cached(
        ("sectors",), lambda: [(s.code, s.name) for s in session.scalars(select(Sector).order_by(Sector.code))]
    )


def industries(session: Session) -> list[tuple[str, str]]:
    stmt = select(Industry).where(Industry.level == "division").order_by(Industry.code)
    return _cached(("industries",), lambda: [(i.code, i.name) for i in session.scalars(stmt)])


def colleagues(session: Session, department_id: int) -> list[tuple[int, str]]:
    """The active regulators of a department, by name: a regulator's 经办人 filter offers its own bureau's
    officers (the hazards it sees are its department's; the filter only narrows them)."""
    stmt = (
        select(User.id, User.display_name, User.username)
        .where(User.department_id == department_id, User.role == Role.regulator, User.active.is_(True))
        .order_by(User.username)
    )
    return _cached(("colleagues", department_id), lambda: [(i, d or u) for i, d, u in session.execute(stmt)])


# --- the region cascade ---------------------------------------------------------------------------------------

LEVEL_TITLES = {"province": "省份", "prefecture": "市（州、盟）", "county": "区县", "township": "乡镇（街道）"}
REGION_CODE_LENGTHS = (6, 9)


def children(session: Session, code: str | None) -> list[tuple[str, str, str]]:
    """(code, name, level) of the regions right below ``code`` (the provinces below the national code)."""
    parent = None if not code or code == NATIONAL else code

    def make() -> list[tuple[str, str, str]]:
        stmt = select(Region.code, Region.name, Region.level)
        if parent is None:
            stmt = stmt.where(Region.parent_code.is_(None), Region.level == "province")
        else:
            stmt = stmt.where(Region.parent_code == parent)
        return [(r.code, r.name, r.level) for r in session.execute(stmt.order_by(Region.code).limit(2000))]

    return _cached(("children", parent), make)


@dataclass(frozen=True)
class Level:
    title: str
    options: list[tuple[str, str]]
    selected: str


@dataclass(frozen=True)
class Cascade:
    """Province → city → county selects below ``root``, as far as ``chosen``; every select carries the same field
    ``name``, and the deepest one chosen is the value (``chosen_region``)."""

    name: str
    id: str
    root: str
    chosen: str
    levels: list[Level]


def chosen_region(values: Iterable[str], root: str) -> str:
    """The region a cascade's selects name, from their values top down: each must lie within the one above it
    (a lower select still showing a region of the province chosen before is ignored), and a select left at
    "all" ends the chain. ``""`` when none is chosen; never a region outside ``root``."""
    chosen = ""
    for value in values:
        value = value.strip()
        if not (value.isdigit() and len(value) in REGION_CODE_LENGTHS) or value == root:
            break
        if value == chosen:
            continue
        if not region_contains(chosen or root, value):
            break
        chosen = value
    return chosen


def cascade(session: Session, root: str | None, chosen: str, *, name: str, id: str, depth: int = 3) -> Cascade:
    """The cascade below ``root`` with ``chosen`` selected: one select per level down to the first level where
    nothing is chosen (its options shown, "all" selected), at most ``depth`` levels. Cached lookups only."""
    levels: list[Level] = []
    parent = root or ""
    if root:
        for _ in range(depth):
            options = [o for o in children(session, parent) if o[0] != parent]
            if not options:
                break
            selected = next((c for c, _n, _l in options if chosen and region_contains(c, chosen)), "")
            title = LEVEL_TITLES.get(options[0][2], "下级地区")
            levels.append(Level(title, [(c, n) for c, n, _l in options], selected))
            if not selected:
                break
            parent = selected
    return Cascade(name=name, id=id, root=root or "", chosen=chosen, levels=levels)


def region_path(session: Session, code: str | None) -> str:
    """A region's full name, province first (广东省深圳市南山区), from the cached levels above it."""
    if not code:
        return ""

    def make() -> str:
        names: list[str] = []
        here: str | None = code
        for _ in range(5):
            row = session.execute(select(Region.name, Region.parent_code).where(Region.code == here)).first()
            if row is None:
                break
            names.append(row.name)
            here = row.parent_code
            if not here:
                break
        return "".join(reversed(names)) or code

    return _cached(("region_path", code), make)


def names_of(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return dict(pairs)
