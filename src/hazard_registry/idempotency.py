"""Idempotency-Key for creating POSTs: a client that retries on a bad network gets the first result back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import Row, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor
from hazard_registry.errors import InvalidInput
from hazard_registry.hazards.models import IdempotencyKey

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        description="Any unique string (a UUID); a retry with the same key returns the first result",
    ),
]


def fingerprint(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


# Built once; Core, not the ORM: a keyed request is one lookup and one INSERT more than an unkeyed one, no
# entity loaded, no unit of work at commit.
_T = IdempotencyKey.__table__
_FIND = select(_T.c.request_hash, _T.c.status_code, _T.c.response).where(
    _T.c.principal == bindparam("principal"), _T.c.key == bindparam("key")
)
_KEEP = insert(_T)


def _find(session: Session, principal: str, key: str) -> Row[Any] | None:
    return session.execute(_FIND, {"principal": principal, "key": key}).first()


def _replay(row: Row[Any], request_hash: str) -> JSONResponse:
    if row.request_hash != request_hash:
        raise InvalidInput("this Idempotency-Key was used for a different request", code="idempotency_key_reused")
    return JSONResponse(row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})


def run_once(
    session: Session,
    actor: Actor,
    key: str | None,
    request_hash: str | Callable[[], str],
    create: Callable[[], tuple[int, dict[str, Any]]],
) -> JSONResponse:
    """Run ``create`` and commit, unless ``key`` was seen before: then answer what the first call answered.

    The key row is written in the same transaction as what ``create`` made, so either both exist or
    neither does; two racing first calls collide on the unique key and the loser replays the winner.
    ``request_hash`` may be given as a function: it is computed only when there is a key.
    """
    if key is None:
        status, body = create()
        session.commit()
        return JSONResponse(body, status_code=status)
    principal = actor.label
    if callable(request_hash):
        request_hash = request_hash()
    found = _find(session, principal, key)
    if found is not None:
        return _replay(found, request_hash)
    status, body = create()
    try:
        session.execute(
            _KEEP,
            {"principal": principal, "key": key, "request_hash": request_hash, "status_code": status, "response": body},
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        found = _find(session, principal, key)
        if found is None:
            raise
        return _replay(found, request_hash)
    return JSONResponse(body, status_code=status)
