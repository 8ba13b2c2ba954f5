"""Users: created and managed by the administrator of a region (or by the CLI, as the system).

Levels follow the region code (``principal.region_level``): national (``000000``), province, prefecture,
county. An administrator manages the enterprise and regulator users of its region, and administrators
strictly below its own level there; never a peer or a superior, and never its own rights. Every account
created and every right granted or withdrawn, password reset and (de)activation is a ``UserEvent``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth import schemas
from hazard_registry.auth.models import User, UserEvent
from hazard_registry.auth.passwords import weakness
from hazard_registry.auth.principal import Actor, Role, region_level, region_within
from hazard_registry.auth.security import hash_password, verify_password
from hazard_registry.db import add_unique
from hazard_registry.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from hazard_registry.pagination import cut, keyset
from hazard_registry.reference.models import Department, Enterprise, Region
from hazard_registry.reference.service import require_in_admin_region

RIGHTS = ("can_close", "can_reveal_identity", "can_take_complaints")
# Events after which one account's holder knows another's password: made it, or set its password.
CONTROL_EVENTS = ("created", "password_reset")
# The links the two-person rule on identity reveals refuses between requester and approver.
LINK_EVENTS = (*CONTROL_EVENTS, "rights_granted")


def authenticate(session: Session, username: str, password: str, disabled_roles: frozenset[str] = frozenset()) -> User:
    """The user of a right username and password. A role in ``disabled_roles`` (HAZARD_PASSWORD_LOGIN_DISABLED_
    ROLES) signs in through single sign-on only: 403, told only to whoever knows the password."""
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        raise Unauthorized("wrong username or password", code="invalid_credentials")
    if user.role in disabled_roles:
        raise Forbidden(
            f"该角色须使用统一身份认证登录 (password sign-in is switched off for the role {user.role})",
            code="password_login_disabled",
        )
    return user


def _invalid(field: str, message: str, code: str = "invalid_input") -> InvalidInput:
    return InvalidInput(f"{field}: {message}", code=code, errors=[{"field": field, "message": message}])


def check_password(password: str, username: str | None) -> None:
    if why := weakness(password, username):
        raise _invalid("password", why, "password_weak")


def _event(session: Session, user: User, actor: Actor, action: str, **data: Any) -> None:
    session.add(UserEvent(user_id=user.id, actor_id=actor.user_id, action=action, data=data, at=clock.now()))


def require_manages(actor: Actor, role: str, region_code: str) -> None:
    """``actor`` may manage a user of ``role`` in ``region_code``: in its region, and below it if an admin."""
    require_in_admin_region(actor, region_code)
    if actor.role is Role.system or role != Role.admin:
        return
    assert actor.region_code is not None
    if region_level(region_code) <= region_level(actor.region_code):
        raise Forbidden(
            f"管理员只能管理下级管理员 (an administrator manages only administrators below its own level; "
            f"{region_code} is not below {actor.region_code})",
            code="admin_level_forbidden",
        )


def create_user(session: Session, actor: Actor, data: schemas.UserCreate) -> User:
    check_password(data.password, data.username)
    user = new_user(actor, data, refs_of(session, actor, data), hash_password(data.password))
    add_unique(session, user, Conflict(f"username {data.username} is taken", code="username_taken"))
    record_created(session, actor, user)
    session.flush()
    return user


@dataclass
class UserRefs:
    """What accounts refer to, read beforehand (for one account, or for a whole import in a few statements)."""

    enterprises: dict[str, Enterprise] = field(default_factory=dict)  # credit code → enterprise in scope
    departments: dict[str, Department] = field(default_factory=dict)  # code → department
    regions: set[str] = field(default_factory=set)  # known region codes


def enterprises_in_scope(session: Session, actor: Actor, usccs: Iterable[str]) -> dict[str, Enterprise]:
    """The enterprises of these credit codes that ``actor`` may give accounts to: one answer for "unknown" and
    "someone else's" (the credit codes of other regions are not told)."""
    codes = sorted({u.upper() for u in usccs})
    out: dict[str, Enterprise] = {}
    for i in range(0, len(codes), 500):
        stmt = select(Enterprise).where(Enterprise.uscc.in_(codes[i : i + 500]))
        if actor.role is not Role.system:
            stmt = stmt.where(region_within(Enterprise.region_code, actor.region_code or "-"))
        out |= {e.uscc: e for e in session.scalars(stmt)}
    return out


def departments_by_code(session: Session, codes: Iterable[str]) -> dict[str, Department]:
    return {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(sorted(set(codes)))))}


def refs_of(session: Session, actor: Actor, data: schemas.UserFields | schemas.OidcRuleCreate) -> UserRefs:
    """What one account refers to (an import reads a whole file's at once)."""
    refs = UserRefs()
    if data.role == Role.enterprise and data.enterprise_uscc:
        refs.enterprises = enterprises_in_scope(session, actor, [data.enterprise_uscc])
    elif data.role == Role.regulator and data.department_code:
        refs.departments = departments_by_code(session, [data.department_code])
    elif data.role == Role.admin and data.region_code:
        refs.regions = {data.region_code} if session.get(Region, data.region_code) is not None else set()
    return refs


def place(
    session: Session, actor: Actor, data: schemas.UserFields | schemas.OidcRuleCreate
) -> tuple[int | None, int | None, str]:
    """(enterprise id, department id, region) of an account of ``data.role``, once ``actor`` may manage such an
    account there and the rights asked for suit the role. Single sign-on's claim rules ask it."""
    return place_in(actor, data, refs_of(session, actor, data))


def place_in(
    actor: Actor, data: schemas.UserFields | schemas.OidcRuleCreate, refs: UserRefs
) -> tuple[int | None, int | None, str]:
    """``place`` with the references read beforehand: an enterprise user's enterprise (in the caller's region),
    a regulator's department, an administrator's region; the rights the role may hold; the caller's region
    and level (``require_manages``)."""
    enterprise_id = department_id = None
    if data.role == Role.enterprise:
        if not data.enterprise_uscc:
            raise _invalid("enterprise_uscc", "an enterprise user needs its enterprise's credit code")
        ent = refs.enterprises.get(data.enterprise_uscc.upper())
        if ent is None:
            raise _invalid("enterprise_uscc", "本辖区无此统一社会信用代码的企业 (no such enterprise in your region)")
        enterprise_id, region_code = ent.id, ent.region_code
    elif data.role == Role.regulator:
        if not data.department_code:
            raise _invalid("department_code", "a regulator needs a department")
        dept = refs.departments.get(data.department_code)
        if dept is None:
            raise _invalid("department_code", "no such department")
        department_id, region_code = dept.id, dept.region_code
    else:
        if not data.region_code:
            raise _invalid("region_code", "an administrator needs a region")
        if data.region_code not in refs.regions:
            raise _invalid("region_code", f"unknown region {data.region_code}", "region_unknown")
        region_code = data.region_code
    if data.can_close and data.role != Role.regulator:
        raise _invalid("can_close", "only regulators hold closing authority")
    for right in ("can_reveal_identity", "can_take_complaints"):
        if getattr(data, right, False) and data.role == Role.enterprise:
            raise _invalid(right, "enterprise users never handle complaints")
    require_manages(actor, data.role, region_code)
    return enterprise_id, department_id, region_code


def new_user(actor: Actor, data: schemas.UserFields, refs: UserRefs, password_hash: str) -> User:
    """The account ``data`` describes, not yet added: every check of account creation — the role's unit
    (enterprise in the caller's region, department, region), the rights the role may hold, the caller's
    region and level (``require_manages``) and who may grant the right to approve identity reveals."""
    user = User(
        username=data.username,
        display_name=data.display_name,
        email=data.email,
        role=data.role,
        password_hash=password_hash,
        can_close=False,
        created_by_id=actor.user_id,
    )
    user.enterprise_id, user.department_id, user.region_code = place_in(actor, data, refs)
    user.can_close = data.can_close
    for right in ("can_reveal_identity", "can_take_complaints"):
        if getattr(data, right):
            setattr(user, right, True)
    if data.can_reveal_identity and actor.role is not Role.system:
        _refuse_grant_by_creator()  # whoever creates the account knows its password
    return user


def record_created(session: Session, actor: Actor, user: User) -> None:
    session.add_all(UserEvent(**e) for e in created_events(actor, user))


def created_events(actor: Actor, user: User) -> list[dict[str, Any]]:
    """The created account's events (it has its id): created, and the rights it was given."""
    at = clock.now()
    created = {"role": user.role, "region_code": user.region_code}
    events = [{"user_id": user.id, "actor_id": actor.user_id, "action": "created", "data": created, "at": at}]
    granted = [r for r in RIGHTS if getattr(user, r)]
    if granted:
        events.append(
            {
                "user_id": user.id,
                "actor_id": actor.user_id,
                "action": "rights_granted",
                "data": {"rights": granted},
                "at": at,
            }
        )
    return events


def _scoped(actor: Actor):
    stmt = select(User)
    if actor.role is Role.system:
        return stmt
    return stmt.where(region_within(User.region_code, actor.region_code or "-"))


def list_users(
    session: Session, actor: Actor, role: str | None, limit: int, cursor: str | None
) -> tuple[list[User], str | None]:
    """A keyset page of the accounts the administrator manages, oldest first, and the next page's cursor."""
    stmt = _scoped(actor)
    if role:
        stmt = stmt.where(User.role == role)
    return cut(session.scalars(keyset(stmt, User.id, cursor, limit, newest_first=False)).all(), limit)


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.scalar(_scoped(actor).where(User.id == user_id))
    if user is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found")
    return user


def update_user(session: Session, actor: Actor, user_id: int, data: schemas.UserUpdate) -> User:
    """An administrator changes a user it manages; on its own account only its name, e-mail and password."""
    user = get_user(session, actor, user_id)
    values = data.model_dump(exclude_unset=True)
    if user.id == actor.user_id:
        own = sorted(set(values) & {*RIGHTS, "active"})
        if own:
            raise Forbidden(
                f"不能给自己授权 (nobody grants or withdraws their own rights or activation: {', '.join(own)})",
                code="self_grant_forbidden",
            )
    else:
        assert user.region_code is not None
        require_manages(actor, user.role, user.region_code)
    if values.get("can_close") and user.role != Role.regulator:
        raise _invalid("can_close", "only regulators hold closing authority")
    for right in ("can_reveal_identity", "can_take_complaints"):
        if values.get(right) and user.role == Role.enterprise:
            raise _invalid(right, "enterprise users never handle complaints")
    resets = "password" in values and user.id != actor.user_id and actor.role is not Role.system
    if values.get("can_reveal_identity") and (resets or not user.can_reveal_identity):
        _require_separate_granter(session, actor, None if resets else user)
    if "password" in values:
        password = values.pop("password")
        check_password(password, user.username)
        user.password_hash = hash_password(password)
        user.token_generation += 1
        if resets:
            _event(session, user, actor, "password_reset")
            if user.can_reveal_identity:  # whoever set the password may now use the account: not to approve
                values["can_reveal_identity"] = False
    if "active" in values and values["active"] != user.active:
        if not values["active"]:
            user.token_generation += 1
        _event(session, user, actor, "reactivated" if values["active"] else "deactivated")
    granted = [r for r in RIGHTS if values.get(r) is True and not getattr(user, r)]
    withdrawn = [r for r in RIGHTS if values.get(r) is False and getattr(user, r)]
    if granted:
        _event(session, user, actor, "rights_granted", rights=granted)
    if withdrawn:
        _event(session, user, actor, "rights_withdrawn", rights=withdrawn)
    for key, value in values.items():
        setattr(user, key, value)
    session.flush()
    return user


def list_user_events(session: Session, actor: Actor, user_id: int) -> list[UserEvent]:
    user = get_user(session, actor, user_id)
    return list(session.scalars(select(UserEvent).where(UserEvent.user_id == user.id).order_by(UserEvent.id)))


def controls(session: Session, actor_id: int | None, user_id: int) -> bool:
    """Whether ``actor_id`` made the account ``user_id`` or set its password (so may know it)."""
    if actor_id is None:
        return False
    e = UserEvent
    return bool(
        session.scalar(
            select(exists().where(e.user_id == user_id, e.actor_id == actor_id, e.action.in_(CONTROL_EVENTS)))
        )
        or session.scalar(select(exists().where(User.id == user_id, User.created_by_id == actor_id)))
    )


def accounts_linked(session: Session, a: int, b: int) -> bool:
    """Whether two accounts may be one person's: the same account, or one created the other, granted it
    rights or set its password. The two-person rule on identity reveals asks for two unlinked accounts.

    Together with the rule that the right to approve reveals is never granted by the account's maker
    (``_require_separate_granter``), one administrator alone cannot make an asking and an approving account."""
    if a == b:
        return True
    e = UserEvent
    pair = or_(and_(e.user_id == a, e.actor_id == b), and_(e.user_id == b, e.actor_id == a))
    made = or_(and_(User.id == a, User.created_by_id == b), and_(User.id == b, User.created_by_id == a))
    return bool(
        session.scalar(select(exists().where(pair, e.action.in_(LINK_EVENTS))))
        or session.scalar(select(exists().where(made)))
    )


def _require_separate_granter(session: Session, actor: Actor, user: User | None) -> None:
    """The right to approve identity reveals comes from an administrator other than the one who made the
    account or set its password: otherwise that one administrator holds an approving account of its own."""
    if actor.role is Role.system:
        return
    if user is None or controls(session, actor.user_id, user.id):
        _refuse_grant_by_creator()


def _refuse_grant_by_creator() -> None:
    raise Forbidden(
        "揭示举报人身份的审批权须由账号创建人以外的管理员授予 (the right to approve identity reveals is granted "
        "by an administrator other than the one who created the account or set its password)",
        code="reveal_grant_by_creator",
    )
