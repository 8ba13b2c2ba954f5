from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hazard_registry.db import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))  # where notices reach an officer
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # see auth.principal.Role
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    can_close: Mapped[bool] = mapped_column(Boolean, default=False)
    # Complaint desk: may approve a request to see a reporter's identity; may enter phone/letter/visit complaints.
    can_reveal_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    can_take_complaints: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on deactivation or password change: tokens issued before it stop working.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who made the account (None: the system, e.g. the CLI). The two-person rule on identity reveals reads it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class UserEvent(Base):
    """The audit trail of accounts: creation, rights granted or withdrawn, password resets, deactivation.

    Append-only, written in the transaction of the change. ``actor_id`` is None for the system (the CLI).
    ``data`` holds what changed (names of rights, never a password or its hash).
    """

    __tablename__ = "user_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))  # created | rights_granted | rights_withdrawn | password_reset …
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OidcLink(Base):
    """A provider's subject (``issuer``, ``subject``) that signs in as a local user (auth/sso.py).

    Made by an administrator for an existing account (``rule_id`` None), or by a claim rule on the subject's
    first sign-in (``rule_id`` the rule): such a user's rights follow the rules at every sign-in."""

    __tablename__ = "oidc_links"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("oidc_claim_rules.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OidcClaimRule(Base):
    """An administrator's rule: a subject whose ID token's claims meet every condition (``conditions``: a list
    of {"claim", "op": "equals" | "contains", "value"}) signs in as a user with exactly this role, place and
    these rights. Rules are tried oldest first; the first that matches decides. Retired rules match nothing.
    ``region_code`` is the resulting user's region (the enterprise's, the department's or the admin's)."""

    __tablename__ = "oidc_claim_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    can_close: Mapped[bool] = mapped_column(Boolean, default=False)
    can_take_complaints: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OidcNonce(Base):
    """Every sign-in's nonce, kept once it is used: a sign-in answer replayed (the same state and nonce, an
    old session cookie) finds its nonce here and is refused. The SHA-256 of the nonce, never the nonce."""

    __tablename__ = "oidc_nonces"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
