from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
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
