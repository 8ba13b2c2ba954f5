"""Idempotency-Key for creating POSTs: a client that retries on a bad network gets the first result back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import select
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


def _replay(row: IdempotencyKey, request_hash: str) -> JSONResponse:
    if row.request_hash != request_hash:
        raise InvalidInput("this Idempotency-Key was used for a different request", code="idempotency_key_reused")
    return JSONResponse(row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})


def run_once(
    session: Session,
    actor: Actor,
    key: str | None,
    request_hash: str,
    create: Callable[[], tuple[int, dict[str, Any]]],
) -> JSONResponse:
    """Run ``create`` and commit, unless ``key`` was seen before: then answer what the first call answered.

    The key row is written in the same transaction as what ``create`` made, so either both exist or
    neither does; two racing first calls collide on the unique key and the loser replays the winner.
    """
    principal = actor.label
    if key is not None:
        found = session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.principal == principal, IdempotencyKey.key == key)
        )
        if found is not None:
            return _replay(found, request_hash)
    status, body = create()
    if key is not None:
        session.add(
            IdempotencyKey(principal=principal, key=key, request_hash=request_hash, status_code=status, response=body)
        )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if key is None:
            raise
        found = session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.principal == principal, IdempotencyKey.key == key)
        )
        if found is None:
            raise
        return _replay(found, request_hash)
    return JSONResponse(body, status_code=status)
