"""The outbox as administrators see it: notices of their region, dead letters among them, and retrying one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role, notice_scope
from hazard_registry.errors import Forbidden, NotFound, WrongState
from hazard_registry.notices.models import Notice, NoticeStatus
from hazard_registry.pagination import cut, keyset


def _require_admin(actor: Actor) -> None:
    if actor.role not in (Role.admin, Role.system):
        raise Forbidden("notices are for administrators", code="role_forbidden")


def list_notices(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    measure_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Notice], str | None]:
    """A keyset page of the notices of the administrator's region, oldest first, and the next page's cursor."""
    _require_admin(actor)
    stmt = select(Notice).where(notice_scope(actor, Notice))
    if status:
        stmt = stmt.where(Notice.status == status)
    if measure_id:
        stmt = stmt.where(Notice.measure_id == measure_id)
    return cut(session.scalars(keyset(stmt, Notice.id, cursor, limit, newest_first=False)).all(), limit)


def get_visible(session: Session, actor: Actor, notice_id: int, *, lock: bool = False) -> Notice:
    _require_admin(actor)
    stmt = select(Notice).where(Notice.id == notice_id, notice_scope(actor, Notice))
    if lock:
        stmt = stmt.with_for_update()
    notice = session.scalar(stmt)
    if notice is None:
        raise NotFound(f"notice {notice_id} not found", code="notice_not_found")
    return notice


def retry(session: Session, actor: Actor, notice_id: int, now: datetime) -> Notice:
    """A dead letter goes back to the queue with a fresh count of attempts (its last error stays, for the
    record, until an attempt succeeds or fails anew)."""
    notice = get_visible(session, actor, notice_id, lock=True)
    if notice.status != NoticeStatus.dead:
        raise WrongState(f"only a dead notice is retried; this one is {notice.status}", state=notice.status)
    notice.status, notice.attempts, notice.next_attempt_at = NoticeStatus.pending.value, 0, now
    session.flush()
    return notice
