"""One pagination contract for every list the API serves: ``{"items": [...], "next_cursor": "…" | null}``.

A list is read newest first (or in its natural order) in pages of ``limit``; ``next_cursor`` is opaque to
clients — pass it back as ``cursor`` for the next page, stop when it is null. Underneath it is a keyset
position (the last row's id), so page 10,000 costs what page 1 costs; a cursor this service did not give
out is a 422 ``invalid_cursor``. Service functions return ``(rows, next_cursor)`` so the API and a web
console page the same way; routes wrap them in ``Page``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, bindparam

from hazard_registry.errors import InvalidInput
from hazard_registry.types import MAX_ID

T = TypeVar("T")
R = TypeVar("R")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Send as `cursor` for the next page; null on the last page")


Cursor = Annotated[
    str | None, Query(max_length=200, description="The `next_cursor` of the previous page (opaque); omit for the first")
]


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        last_id = value["id"]
        if not isinstance(last_id, int) or isinstance(last_id, bool) or not 0 <= last_id <= MAX_ID:
            raise TypeError
        return last_id
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "the cursor is not one this service gave out",
            code="invalid_cursor",
            errors=[{"field": "cursor", "message": "invalid cursor"}],
        ) from exc


# The name of the cursor's bind parameter in ``keyset``'s statements: a statement kept across requests runs
# with the next cursor's id as this parameter (``hazards.service.list_hazards``).
KEYSET_AFTER = "keyset_after"


def keyset(stmt: Select[Any], column: Any, cursor: str | None, limit: int, *, newest_first: bool = True) -> Select[Any]:
    """``stmt`` ordered by ``column`` (an id), from after the cursor, one row more than a page (to know if
    another page follows)."""
    if cursor:
        last = bindparam(KEYSET_AFTER, decode_cursor(cursor))
        stmt = stmt.where(column < last if newest_first else column > last)
    return stmt.order_by(column.desc() if newest_first else column).limit(limit + 1)


def cut(rows: Sequence[R], limit: int, key: Callable[[R], int] = lambda r: r.id) -> tuple[list[R], str | None]:
    """A page of ``rows`` read by ``keyset`` and the cursor of the next one (None on the last page)."""
    more = len(rows) > limit
    page = list(rows[:limit])
    return page, encode_cursor(key(page[-1])) if more and page else None


def whole(items: Sequence[T]) -> tuple[list[T], None]:
    """A list that is never long (a hazard's events, the sectors…): one page, no next cursor."""
    return list(items), None
