"""FastAPI dependencies that authenticate the caller and check its role.

A request's caller costs at most one statement (the user, its department and the department's sectors in
one joined SELECT), and none while the worker's actor cache holds it (``cache.py``: a few seconds, cleared
by any commit of this process that touches users or departments). The token's generation is part of the
key, so a token issued before a password change or a deactivation never finds the new entry.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.models import User
from hazard_registry.auth.principal import Actor, Role
from hazard_registry.auth.security import decode_token
from hazard_registry.cache import TtlCache
from hazard_registry.db import end_unit
from hazard_registry.errors import Forbidden, Unauthorized
from hazard_registry.reference.models import Department, DepartmentSector

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

# (user id, token generation) → the Actor, or None for a user who may no longer act.
ACTORS: TtlCache[Actor | None] = TtlCache("actors", {"users", "departments", "department_sectors"})


def _actor(user: Any, dept_region: str | None, sectors: frozenset[str]) -> Actor:
    """``user``: a User, or a row with its columns. A regulator acts in its department's region and sectors."""
    region = user.region_code
    if user.role == Role.regulator and user.department_id and dept_region is not None:
        region = dept_region
    else:
        sectors = frozenset()
    return Actor(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        enterprise_id=user.enterprise_id,
        department_id=user.department_id,
        region_code=region,
        sectors=sectors,
        can_close=user.can_close,
        can_reveal_identity=user.can_reveal_identity,
        can_take_complaints=user.can_take_complaints,
    )


def actor_for_user(session: Session, user: User) -> Actor:
    dept = session.get(Department, user.department_id) if user.department_id else None
    return _actor(user, dept.region_code if dept else None, frozenset(dept.sectors) if dept else frozenset())


def load_actor(session: Session, user_id: int, generation: int) -> Actor | None:
    """The actor of a valid token, in one statement; None when the user is gone, inactive or the token stale."""
    u = User
    rows = session.execute(
        select(
            u.id,
            u.username,
            u.role,
            u.enterprise_id,
            u.department_id,
            u.region_code,
            u.can_close,
            u.can_reveal_identity,
            u.can_take_complaints,
            u.active,
            u.token_generation,
            Department.region_code.label("dept_region"),
            DepartmentSector.sector_code,
        )
        .outerjoin(Department, Department.id == u.department_id)
        .outerjoin(DepartmentSector, DepartmentSector.department_id == Department.id)
        .where(u.id == user_id)
    ).all()
    if not rows or not rows[0].active or rows[0].token_generation != generation:
        return None
    sectors = frozenset(r.sector_code for r in rows if r.sector_code is not None)
    return _actor(rows[0], rows[0].dept_region, sectors)


def cached_actor(session: Session, user_id: int, generation: int) -> Actor | None:
    """The actor of ``(user_id, generation)`` from the worker's cache, else ``load_actor`` (one statement); the
    bearer token's check and the console session's."""
    return ACTORS.get_or_load((user_id, generation), lambda: load_actor(session, user_id, generation))


def _read_actor(state: Any, user_id: int, generation: int) -> Actor | None:
    """A miss: the caller read in a session of its own, on the read-only engine (one round trip on
    PostgreSQL), before the request's own session has begun."""
    session = state.sessionmaker(bind=state.autocommit_engine)
    try:
        return cached_actor(session, user_id, generation)
    finally:
        end_unit(session)


async def current_actor(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Actor:
    """Async, and without the request's session as a dependency (one sub-dependency fewer to solve per
    request): a cached caller costs no thread hop; a miss reads the database in the threadpool."""
    if not token:
        raise Unauthorized("log in first: send 'Authorization: Bearer <token>'")
    state = request.app.state
    user_id, generation = decode_token(token, state.settings.effective_jwt_secret)
    actor = ACTORS.get((user_id, generation))
    if actor is None:
        actor = await run_in_threadpool(_read_actor, state, user_id, generation)
    if actor is None:
        raise Unauthorized("the bearer token is no longer valid", code="invalid_token")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}", code="role_forbidden")


async def admin_actor(actor: CurrentActor) -> Actor:
    require_role(actor, Role.admin)
    return actor


AdminActor = Annotated[Actor, Depends(admin_actor)]
