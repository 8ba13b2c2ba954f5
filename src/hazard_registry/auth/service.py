"""Users: created and managed by the administrator of a region (or by the CLI, as the system)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth import schemas
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import Actor, Role, region_within
from hazard_registry.auth.security import hash_password, verify_password
from hazard_registry.db import add_unique
from hazard_registry.errors import Conflict, InvalidInput, NotFound, Unauthorized
from hazard_registry.reference.models import Department, Enterprise
from hazard_registry.reference.service import known_region, require_in_admin_region


def authenticate(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        raise Unauthorized("wrong username or password", code="invalid_credentials")
    return user


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", code="invalid_input", errors=[{"field": field, "message": message}])


def create_user(session: Session, actor: Actor, data: schemas.UserCreate) -> User:
    user = User(
        username=data.username,
        display_name=data.display_name,
        email=data.email,
        role=data.role,
        password_hash=hash_password(data.password),
        can_close=False,
    )
    if data.role == Role.enterprise:
        if not data.enterprise_uscc:
            raise _invalid("enterprise_uscc", "an enterprise user needs its enterprise's credit code")
        ent = session.scalar(select(Enterprise).where(Enterprise.uscc == data.enterprise_uscc.upper()))
        if ent is None:
            raise _invalid("enterprise_uscc", "no such enterprise")
        user.enterprise_id, user.region_code = ent.id, ent.region_code
    elif data.role == Role.regulator:
        if not data.department_code:
            raise _invalid("department_code", "a regulator needs a department")
        dept = session.scalar(select(Department).where(Department.code == data.department_code))
        if dept is None:
            raise _invalid("department_code", "no such department")
        user.department_id, user.region_code = dept.id, dept.region_code
        user.can_close = data.can_close
    else:
        if not data.region_code:
            raise _invalid("region_code", "an administrator needs a region")
        user.region_code = known_region(session, data.region_code).code
    if data.can_close and data.role != Role.regulator:
        raise _invalid("can_close", "only regulators hold closing authority")
    for right in ("can_reveal_identity", "can_take_complaints"):
        if getattr(data, right):
            if data.role == Role.enterprise:
                raise _invalid(right, "enterprise users never handle complaints")
            setattr(user, right, True)
    assert user.region_code is not None
    require_in_admin_region(actor, user.region_code)
    add_unique(session, user, Conflict(f"username {data.username} is taken", code="username_taken"))
    return user


def _scoped(actor: Actor):
    stmt = select(User)
    if actor.role is Role.system:
        return stmt
    return stmt.where(region_within(User.region_code, actor.region_code or "-"))


def list_users(session: Session, actor: Actor, role: str | None, limit: int, after_id: int | None) -> list[User]:
    stmt = _scoped(actor)
    if role:
        stmt = stmt.where(User.role == role)
    if after_id:
        stmt = stmt.where(User.id > after_id)
    return list(session.scalars(stmt.order_by(User.id).limit(limit)))


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.scalar(_scoped(actor).where(User.id == user_id))
    if user is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found")
    return user


def update_user(session: Session, actor: Actor, user_id: int, data: schemas.UserUpdate) -> User:
    user = get_user(session, actor, user_id)
    values = data.model_dump(exclude_unset=True)
    if values.get("can_close") and user.role != Role.regulator:
        raise _invalid("can_close", "only regulators hold closing authority")
    for right in ("can_reveal_identity", "can_take_complaints"):
        if values.get(right) and user.role == Role.enterprise:
            raise _invalid(right, "enterprise users never handle complaints")
    if "password" in values:
        user.password_hash = hash_password(values.pop("password"))
        user.token_generation += 1
    if values.get("active") is False and user.active:
        user.token_generation += 1
    for key, value in values.items():
        setattr(user, key, value)
    session.flush()
    return user
