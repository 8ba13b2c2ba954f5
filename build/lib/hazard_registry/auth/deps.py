"""FastAPI dependencies that authenticate the caller and check its role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from hazard_registry.auth.models import User
from hazard_registry.auth.principal import Actor, Role
from hazard_registry.auth.security import decode_token
from hazard_registry.db import DbSession
from hazard_registry.errors import Forbidden, Unauthorized
from hazard_registry.reference.models import Department

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def actor_for_user(session: Session, user: User) -> Actor:
    sectors: frozenset[str] = frozenset()
    region = user.region_code
    if user.role == Role.regulator and user.department_id:
        dept = session.get(Department, user.department_id)
        if dept is not None:
            sectors = frozenset(dept.sectors)
            region = dept.region_code
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


def current_actor(request: Request, session: DbSession, token: Annotated[str | None, Depends(oauth2)]) -> Actor:
    if not token:
        raise Unauthorized("log in first: send 'Authorization: Bearer <token>'")
    user_id, generation = decode_token(token, request.app.state.settings.effective_jwt_secret)
    user = session.get(User, user_id)
    if user is None or not user.active or user.token_generation != generation:
        raise Unauthorized("the bearer token is no longer valid", code="invalid_token")
    return actor_for_user(session, user)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}", code="role_forbidden")


def admin_actor(actor: CurrentActor) -> Actor:
    require_role(actor, Role.admin)
    return actor


AdminActor = Annotated[Actor, Depends(admin_actor)]
