"""Single sign-on: which local user a provider's subject signs in as, and the administrators' part in it.

A validated ID token (``auth/oidc.py``) names a subject (issuer, subject claim). It signs in as

1. the user an administrator linked it to (``link_subject``), whatever its claims; else
2. the user the first matching claim rule made for it — created on the first sign-in, and set again to exactly
   the rule's role, place and rights at every sign-in after (the claims may have changed); else
3. nobody: 403 ``oidc_subject_unmapped``. No account is ever made without a rule an administrator set.

A deactivated user is refused (403 ``account_deactivated``). Every account a rule makes or changes, and every
link made or removed, is a ``UserEvent``. An administrator sets rules and links only for accounts it could
create itself (``service.place`` / ``service.require_manages``: its region, below its level).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hazard_registry.auth import schemas
from hazard_registry.auth.models import OidcClaimRule, OidcLink, OidcNonce, User, UserEvent
from hazard_registry.auth.oidc import Provider
from hazard_registry.auth.principal import Actor, Role, region_within
from hazard_registry.auth.security import hash_password
from hazard_registry.auth.service import get_user, place, require_manages
from hazard_registry.db import add_unique
from hazard_registry.errors import Conflict, Forbidden, NotFound, Unauthorized

NONCES_KEPT = timedelta(days=7)  # longer than HAZARD_CONSOLE_SESSION_MINUTES may sensibly be
RULE_FIELDS = ("role", "enterprise_id", "department_id", "region_code", "can_close", "can_take_complaints")
RULE_RIGHTS = ("can_close", "can_take_complaints")


# --- sign-in ----------------------------------------------------------------------------------------------------


def consume_nonce(session: Session, nonce: str, now: datetime) -> None:
    """Mark the sign-in's nonce used; a second use (a replayed answer) is refused."""
    # Nonces older than any session can be are of no more use: a cookie that old is refused by its signature.
    session.execute(delete(OidcNonce).where(OidcNonce.used_at < now - NONCES_KEPT))
    digest = hashlib.sha256(nonce.encode()).hexdigest()
    replayed = Unauthorized(
        "该登录请求已使用过，请重新登录 (this sign-in answer was already used: replay refused)", code="oidc_replayed"
    )
    add_unique(session, OidcNonce(nonce_hash=digest, used_at=now), replayed)


def _claim_holds(claims: dict[str, Any], cond: dict[str, Any]) -> bool:
    value = claims.get(cond["claim"])
    if cond["op"] == "equals":
        return isinstance(value, str | int | bool) and str(value) == cond["value"]
    if isinstance(value, str):  # a provider may send a single group as a string
        value = [value]
    return isinstance(value, list) and cond["value"] in [str(v) for v in value]


def matching_rule(session: Session, claims: dict[str, Any]) -> OidcClaimRule | None:
    """The oldest active rule whose every condition holds for ``claims``."""
    for rule in session.scalars(select(OidcClaimRule).where(OidcClaimRule.active.is_(True)).order_by(OidcClaimRule.id)):
        if rule.conditions and all(_claim_holds(claims, c) for c in rule.conditions):
            return rule
    return None


def _username(issuer: str, subject: str) -> str:
    return "sso-" + hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:20]


def _text(claims: dict[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    return value[:limit] if isinstance(value, str) and value.strip() else None


def _apply_rule(session: Session, user: User, rule: OidcClaimRule, issuer: str, subject: str) -> None:
    """Give ``user`` exactly the rule's role, place and rights, recording what changed."""
    before = {f: getattr(user, f) for f in RULE_FIELDS}
    after = {f: getattr(rule, f) for f in RULE_FIELDS}
    if user.can_reveal_identity:  # never given by a rule, so never kept by a rule-made account
        after_reveal = {"can_reveal_identity": False}
        user.can_reveal_identity = False
    else:
        after_reveal = {}
    if before == after and not after_reveal:
        return
    for f, v in after.items():
        setattr(user, f, v)
    changed = {f: after[f] for f in RULE_FIELDS if before[f] != after[f]} | after_reveal
    user.token_generation += 1  # sessions and tokens with the old rights end
    data = {"via": "oidc_rule", "rule_id": rule.id, "issuer": issuer, "subject": subject, "changed": changed}
    session.add(UserEvent(user_id=user.id, actor_id=None, action="rule_applied", data=data))
    granted = [r for r in RULE_RIGHTS if after[r] and not before[r]]
    withdrawn = [r for r in RULE_RIGHTS if before[r] and not after[r]] + list(after_reveal)
    if granted:
        session.add(UserEvent(user_id=user.id, actor_id=None, action="rights_granted", data={"rights": granted}))
    if withdrawn:
        session.add(UserEvent(user_id=user.id, actor_id=None, action="rights_withdrawn", data={"rights": withdrawn}))


def _create_from_rule(session: Session, rule: OidcClaimRule, issuer: str, subject: str, claims: dict[str, Any]) -> User:
    email = _text(claims, "email", 254)
    user = User(
        username=_username(issuer, subject),
        display_name=_text(claims, "name", 64) or _text(claims, "preferred_username", 64),
        email=email if email and "@" in email else None,
        role=rule.role,
        # Nobody knows this password: the account signs in through the provider (an administrator may reset it).
        password_hash=hash_password(secrets.token_urlsafe(32)),
        enterprise_id=rule.enterprise_id,
        department_id=rule.department_id,
        region_code=rule.region_code,
        can_close=rule.can_close,
        can_take_complaints=rule.can_take_complaints,
        can_reveal_identity=False,
        created_by_id=rule.created_by_id,
    )
    add_unique(session, user, Conflict(f"username {user.username} is taken", code="username_taken"))
    data = {"via": "oidc_rule", "rule_id": rule.id, "issuer": issuer, "subject": subject}
    session.add(
        UserEvent(
            user_id=user.id,
            actor_id=None,
            action="created",
            data=data | {"role": rule.role, "region_code": rule.region_code},
        )
    )
    granted = [r for r in RULE_RIGHTS if getattr(rule, r)]
    if granted:
        session.add(UserEvent(user_id=user.id, actor_id=None, action="rights_granted", data={"rights": granted}))
    return user


def user_for_subject(session: Session, issuer: str, subject: str, claims: dict[str, Any], now: datetime) -> User:
    """The local user the validated subject signs in as (see the module's docstring); never an unmapped one."""
    link = session.scalar(select(OidcLink).where(OidcLink.issuer == issuer, OidcLink.subject == subject))
    if link is not None and link.rule_id is None:
        user = session.get(User, link.user_id)
    else:
        rule = matching_rule(session, claims)
        if rule is None:
            raise Forbidden(
                "您的统一身份认证账号尚未开通本系统权限，请联系管理员 (no local account is linked to this subject and "
                "no claim rule matches it)",
                code="oidc_subject_unmapped",
            )
        if link is None:
            user = _create_from_rule(session, rule, issuer, subject, claims)
            link = OidcLink(issuer=issuer, subject=subject, user_id=user.id, rule_id=rule.id, created_at=now)
            session.add(link)
        else:
            user = session.get(User, link.user_id)
            assert user is not None
            link.rule_id = rule.id
            if user.active:
                _apply_rule(session, user, rule, issuer, subject)
    assert user is not None
    if not user.active:
        raise Forbidden("账号已停用 (the local account is deactivated)", code="account_deactivated")
    link.last_sign_in_at = now
    session.flush()
    return user


# --- administrators: links --------------------------------------------------------------------------------------


def _event(session: Session, user: User, actor: Actor, action: str, now: datetime, **data: Any) -> None:
    session.add(UserEvent(user_id=user.id, actor_id=actor.user_id, action=action, data=data, at=now))


def _managed_user(session: Session, actor: Actor, user_id: int) -> User:
    user = get_user(session, actor, user_id)
    if user.id != actor.user_id:  # an administrator links its own provider account to itself
        assert user.region_code is not None
        require_manages(actor, user.role, user.region_code)
    return user


def list_links(session: Session, actor: Actor, user_id: int) -> list[OidcLink]:
    user = get_user(session, actor, user_id)
    return list(session.scalars(select(OidcLink).where(OidcLink.user_id == user.id).order_by(OidcLink.id)))


def link_subject(
    session: Session, actor: Actor, user_id: int, data: schemas.OidcLinkCreate, default_issuer: str, now: datetime
) -> OidcLink:
    """Let the provider's subject sign in as ``user_id`` (an account the administrator manages, or its own)."""
    user = _managed_user(session, actor, user_id)
    issuer = data.issuer or default_issuer
    if not issuer:
        raise NotFound("未启用统一身份认证 (single sign-on is not configured)", code="oidc_not_configured")
    link = OidcLink(issuer=issuer, subject=data.subject, user_id=user.id, created_by_id=actor.user_id, created_at=now)
    add_unique(
        session,
        link,
        Conflict(f"该统一身份认证账号已关联其他用户 ({data.subject} is linked already)", code="oidc_link_exists"),
    )
    _event(session, user, actor, "oidc_linked", now, issuer=issuer, subject=data.subject)
    return link


def unlink_subject(session: Session, actor: Actor, user_id: int, link_id: int, now: datetime) -> None:
    user = _managed_user(session, actor, user_id)
    link = session.scalar(select(OidcLink).where(OidcLink.id == link_id, OidcLink.user_id == user.id))
    if link is None:
        raise NotFound(f"link {link_id} not found", code="oidc_link_not_found")
    _event(session, user, actor, "oidc_unlinked", now, issuer=link.issuer, subject=link.subject)
    session.delete(link)
    session.flush()


# --- administrators: claim rules --------------------------------------------------------------------------------


def _rules(actor: Actor):
    stmt = select(OidcClaimRule)
    if actor.role is not Role.system:
        stmt = stmt.where(region_within(OidcClaimRule.region_code, actor.region_code or "-"))
    return stmt


def list_rules(session: Session, actor: Actor) -> list[OidcClaimRule]:
    """The rules that make accounts in the administrator's region, active ones first by the order they apply."""
    return list(session.scalars(_rules(actor).order_by(OidcClaimRule.active.desc(), OidcClaimRule.id)))


def create_rule(session: Session, actor: Actor, data: schemas.OidcRuleCreate, now: datetime) -> OidcClaimRule:
    """A rule may give only what its administrator could give by hand: an account of its region, below its
    own level (``service.place``)."""
    enterprise_id, department_id, region_code = place(session, actor, data)
    rule = OidcClaimRule(
        conditions=[c.model_dump() for c in data.conditions],
        role=data.role,
        region_code=region_code,
        enterprise_id=enterprise_id,
        department_id=department_id,
        can_close=data.can_close,
        can_take_complaints=data.can_take_complaints,
        active=True,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(rule)
    session.flush()
    return rule


def retire_rule(session: Session, actor: Actor, rule_id: int) -> OidcClaimRule:
    """A retired rule matches nobody from the next sign-in on; the accounts it made keep their link."""
    rule = session.scalar(_rules(actor).where(OidcClaimRule.id == rule_id))
    if rule is None:
        raise NotFound(f"rule {rule_id} not found", code="oidc_rule_not_found")
    require_manages(actor, rule.role, rule.region_code)
    rule.active = False
    session.flush()
    return rule


# --- the whole answer -------------------------------------------------------------------------------------------


def sign_in(
    session: Session,
    provider: Provider,
    pending: dict[str, Any] | None,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
    now: datetime,
) -> tuple[User, str]:
    """The provider's answer to a pending sign-in → (the local user, the ID token kept for logout).

    The state must be the session's; the nonce is used once (a replayed answer is refused before the code goes
    back to the provider); the ID token must hold (``Provider.validate_id_token``); the subject must map."""
    pending = provider.check_state(pending, state)
    if error or not code:
        raise Unauthorized(f"统一身份认证未完成登录 (the provider answered: {error or 'no code'})", code="oidc_failed")
    consume_nonce(session, pending["nonce"], now)
    token = provider.exchange(pending, code)
    claims = provider.validate_id_token(token["id_token"], pending["nonce"], now)
    user = user_for_subject(session, provider.issuer, provider.subject(claims), claims, now)
    return user, token["id_token"]
