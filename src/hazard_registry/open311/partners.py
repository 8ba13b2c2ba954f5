"""Partner platforms of the Open311 interface, managed by administrators (``/api/v1/open311/partners`` and
管理 → Open311 接入): registered for regions within the administrator's own, the key shown once and kept as its
SHA-256, revocable at once. These are ordinary API errors (problem+json); the interface's own are service.py's.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.deps import require_role
from hazard_registry.auth.principal import Actor, Role, region_contains, region_within
from hazard_registry.errors import Forbidden, InvalidInput, NotFound
from hazard_registry.open311 import schemas
from hazard_registry.open311.models import Partner, PartnerRegion
from hazard_registry.pagination import cut, keyset
from hazard_registry.reference.models import Region

KEY_PREFIX = "o311_"


def invalid(field_name: str, message: str, code: str = "invalid_input") -> InvalidInput:
    return InvalidInput(f"{field_name}: {message}", code=code, errors=[{"field": field_name, "message": message}])


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """SHA-256 of the key: 256 random bits need no pepper or slow hash, and the hash cannot be used as a key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _admin(actor: Actor) -> str:
    require_role(actor, Role.admin)
    if not actor.region_code:
        raise Forbidden("an administrator without a region manages no partner", code="role_forbidden")
    return actor.region_code


def create_partner(session: Session, actor: Actor, data: schemas.PartnerCreate, now: datetime) -> tuple[Partner, str]:
    """Register a partner platform for regions within the administrator's own; returns it with its key, which
    exists nowhere else after this."""
    own = _admin(actor)
    regions = sorted(set(data.regions))
    for code in regions:
        if session.get(Region, code) is None:
            raise invalid("regions", f"unknown region {code}", "region_invalid")
        if not region_contains(own, code):
            raise invalid("regions", f"{code} is outside your region {own}", "region_invalid")
    key = new_key()
    partner = Partner(
        name=data.name,
        key_hash=key_hash(key),
        key_prefix=key[: len(KEY_PREFIX) + 6],
        owner_region=own,
        created_by_id=actor.user_id,
        created_at=now,
        region_links=[PartnerRegion(region_code=c) for c in regions],
    )
    session.add(partner)
    session.flush()
    return partner, key


def list_partners(
    session: Session, actor: Actor, cursor: str | None = None, limit: int = 100
) -> tuple[list[Partner], str | None]:
    own = _admin(actor)
    stmt = select(Partner).where(region_within(Partner.owner_region, own))
    return cut(session.scalars(keyset(stmt, Partner.id, cursor, limit)).all(), limit)


def get_partner(session: Session, actor: Actor, partner_id: int) -> Partner:
    own = _admin(actor)
    partner = session.get(Partner, partner_id)
    if partner is None or not region_contains(own, partner.owner_region):
        raise NotFound(f"partner {partner_id} not found", code="partner_not_found")
    return partner


def revoke_partner(session: Session, actor: Actor, partner_id: int, now: datetime) -> Partner:
    """Refuse the partner's key from now on (revoking twice keeps the first time). Its requests stay."""
    partner = get_partner(session, actor, partner_id)
    if partner.revoked_at is None:
        partner.revoked_at = now
        partner.revoked_by_id = actor.user_id
        session.flush()
    return partner
