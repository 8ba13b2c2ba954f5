"""Who is acting, and which rows they may see. Role scopes live here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, false, func, literal_column, or_, true
from sqlalchemy.sql.elements import ColumnElement


class Role(StrEnum):
    enterprise = "enterprise"
    regulator = "regulator"
    admin = "admin"
    system = "system"


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: Role
    enterprise_id: int | None = None
    department_id: int | None = None
    region_code: str | None = None
    sectors: frozenset[str] = field(default_factory=frozenset)
    can_close: bool = False
    can_reveal_identity: bool = False
    can_take_complaints: bool = False

    @property
    def label(self) -> str:
        return f"{self.role}:{self.username}"


SYSTEM = Actor(user_id=None, username="system", role=Role.system)

# The whole country: the region of a national-level administrator (the standards catalogue, the holiday
# table). Not a GB/T 2260 code; the migration adds it to ``regions`` as the parent of nothing.
NATIONAL = "000000"


def region_level(code: str) -> int:
    """0 national, 1 province, 2 prefecture, 3 county, 4 township: a smaller number is a higher level."""
    if code == NATIONAL:
        return 0
    if len(code) > 6:
        return 4
    if code[2:] == "0000":
        return 1
    if code[4:] == "00":
        return 2
    return 3


def is_national(actor: Actor) -> bool:
    return actor.role is Role.system or (actor.role is Role.admin and actor.region_code == NATIONAL)


def region_range(code: str) -> tuple[str, str]:
    """The half-open string range [lo, hi) holding a region code and every code below it.

    GB/T 2260 codes are hierarchical by prefix: 440000 (Guangdong) → 4403xx (Shenzhen) → 440305 (Nanshan)
    → 440305001 (a township). A range keeps the comparison index-friendly on every database.
    """
    if code == NATIONAL:
        return "0", ":"  # every code is digits, and ":" follows "9"
    prefix = code
    if len(code) == 6:
        while prefix.endswith("00") and len(prefix) > 2:
            prefix = prefix[:-2]
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def region_within(column: Any, code: str) -> ColumnElement[bool]:
    lo, hi = region_range(code)
    return and_(column >= lo, column < hi)


PREFIX_LENGTHS = (2, 4, 6)  # province, prefecture, county: the levels the hazard indexes carry a prefix for


def region_prefix(column: Any, length: int) -> ColumnElement[str]:
    """The first ``length`` characters of a region code, written exactly as the expression indexes are (the
    numbers inline, not bound, so a prepared statement's generic plan still matches the index)."""
    return func.substr(column, literal_column("1"), literal_column(str(length)))


def region_equal_prefix(column: Any, code: str) -> ColumnElement[bool]:
    """``region_within`` as an equality an index can return in order: the code itself for a township, else its
    province, prefecture or county prefix (a range of codes cannot come out ordered by anything after it)."""
    lo, _hi = region_range(code)
    if len(lo) not in PREFIX_LENGTHS:
        return column == code
    return region_prefix(column, len(lo)) == lo


def region_contains(outer: str, inner: str) -> bool:
    lo, hi = region_range(outer)
    return lo <= inner < hi


def on_line(a: str, b: str) -> bool:
    """Whether two regions are on one line of the hierarchy: one holds the other (or they are the same)."""
    return region_contains(a, b) or region_contains(b, a)


def sees_contacts(actor: Actor, region_code: str) -> bool:
    """Whether ``actor`` may read the phone and e-mail of a department head in ``region_code``: officers and
    administrators of the department's line (above it, or below it); an enterprise, those above it."""
    if actor.role is Role.system:
        return True
    if not actor.region_code:
        return False
    if actor.role is Role.enterprise:
        return region_contains(region_code, actor.region_code)
    return on_line(actor.region_code, region_code)


def ancestors(code: str) -> list[str]:
    """The code itself and every region above it, nearest first (township → county → prefecture → province)."""
    out = [code]
    if len(code) > 6:
        out.append(code[:6])
    six = code[:6]
    if six[4:] != "00":
        out.append(six[:4] + "00")
    if six[2:] != "0000":
        out.append(six[:2] + "0000")
    seen: list[str] = []
    for c in out:
        if c not in seen:
            seen.append(c)
    return seen


def hazard_scope(actor: Actor, hazard: Any, *, within: str | None = None) -> ColumnElement[bool]:
    """The WHERE clause that limits hazards (the ``Hazard`` class or an alias) to what ``actor`` may see.

    ``within``: a region the query also filters on. The scope's region is then the narrower of the two as a
    prefix equality (or nothing, when they do not nest): the same rows, in a form an index returns in order."""
    if actor.role is Role.system:
        return true()
    if actor.role is Role.enterprise:
        return hazard.enterprise_id == actor.enterprise_id if actor.enterprise_id else false()
    if not actor.region_code:
        return false()
    in_region = region_within(hazard.region_code, actor.region_code)
    if within is not None:
        if region_contains(actor.region_code, within):
            in_region = region_equal_prefix(hazard.region_code, within)
        elif region_contains(within, actor.region_code):
            in_region = region_equal_prefix(hazard.region_code, actor.region_code)
        else:
            return false()
    if actor.role is Role.admin:
        return in_region
    led = [hazard.department_id == actor.department_id]
    if actor.sectors:
        led.append(hazard.sector_code.in_(sorted(actor.sectors)))
    return and_(in_region, or_(*led))


def enterprise_scope(actor: Actor, enterprise: Any, industry: Any) -> ColumnElement[bool]:
    """Enterprises ``actor`` may see: its own; those in the region (admins); those of led sectors (regulators)."""
    if actor.role is Role.system:
        return true()
    if actor.role is Role.enterprise:
        return enterprise.id == actor.enterprise_id if actor.enterprise_id else false()
    if not actor.region_code:
        return false()
    in_region = region_within(enterprise.region_code, actor.region_code)
    if actor.role is Role.admin:
        return in_region
    return and_(in_region, industry.sector_code.in_(sorted(actor.sectors)))


def complaint_scope(actor: Actor, complaint: Any) -> ColumnElement[bool]:
    """Complaints ``actor`` may see: those routed to their department (regulators), those of their region
    (administrators). Enterprises see none: a complaint is about them, never for them."""
    if actor.role is Role.system:
        return true()
    if actor.role is Role.regulator and actor.department_id:
        return complaint.department_id == actor.department_id
    if actor.role is Role.admin and actor.region_code:
        return region_within(complaint.region_code, actor.region_code)
    return false()


def notice_scope(actor: Actor, notice: Any) -> ColumnElement[bool]:
    """Notices (the outbox) are the administrators' business: those of their region; the system sees all."""
    if actor.role is Role.system:
        return true()
    if actor.role is Role.admin and actor.region_code:
        return region_within(notice.region_code, actor.region_code)
    return false()
