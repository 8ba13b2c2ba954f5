"""Per-process caches of what nearly every request reads and almost nothing writes.

A signed-in user's rights, the escalation rules in force and the holiday tables are read by every write (and
the user by every request), but change a few times a year. Each worker keeps what it read for
``Settings.cache_seconds`` (HAZARD_CACHE_SECONDS; 0 turns the caches off). A commit in this process that
touches one of a cache's tables clears that cache at once, so a change made through a worker is seen by that
worker's next request; other workers see it within ``cache_seconds``.

That bound is the contract: a deactivated user or a revoked right lasts at most ``cache_seconds`` on the
other workers, and a new rule or holiday table applies to timers built from then on, as it would to a
request that had started a moment earlier. Timers built meanwhile for a year whose holiday table was
missing are given their due day by the next sweep (``supervision.engine.run_once``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from itertools import chain
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

V = TypeVar("V")

_ttl_seconds: float = 5.0
_caches: list[TtlCache[Any]] = []


def configure(seconds: float) -> None:
    """Set the lifetime of every cache entry (create_app does, from the settings); 0 disables the caches."""
    global _ttl_seconds
    _ttl_seconds = seconds
    clear_all()


def clear_all() -> None:
    for c in _caches:
        c.clear()


class TtlCache(Generic[V]):
    """A dict whose entries live ``cache_seconds``; cleared in this process when a commit touches ``tables``."""

    def __init__(self, name: str, tables: set[str], max_entries: int = 10_000) -> None:
        self.name, self.tables, self.max_entries = name, frozenset(tables), max_entries
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        _caches.append(self)

    def get_or_load(self, key: Hashable, load: Callable[[], V], *, session: Session | None = None) -> V:
        """The cached value, else ``load()``'s (kept). A ``session`` that has itself changed one of the
        tables in its open transaction reads its own writes: loaded, not kept."""
        if _ttl_seconds <= 0 or (session is not None and self.tables & session.info.get(_TOUCHED, set())):
            return load()
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (now + _ttl_seconds, value)
        return value

    def get(self, key: Hashable) -> V | None:
        hit = self._data.get(key)
        if _ttl_seconds <= 0 or hit is None or hit[0] <= time.monotonic():
            return None
        return hit[1]

    def put(self, key: Hashable, value: V) -> None:
        if _ttl_seconds > 0:
            with self._lock:
                if len(self._data) >= self.max_entries:
                    self._data.clear()
                self._data[key] = (time.monotonic() + _ttl_seconds, value)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_TOUCHED = "cache_touched_tables"


def _watched() -> frozenset[str]:
    return frozenset(chain.from_iterable(c.tables for c in _caches))


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _ctx: Any) -> None:
    watched = _watched()
    for obj in chain(session.new, session.dirty, session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in watched:
            session.info.setdefault(_TOUCHED, set()).add(table)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    """INSERT/UPDATE/DELETE statements run through the session (bulk deletes, upserts) count as touching."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in _watched():
        state.session.info.setdefault(_TOUCHED, set()).add(name)


@event.listens_for(Session, "after_commit")
def _clear_touched(session: Session) -> None:
    touched = session.info.pop(_TOUCHED, None)
    if touched:
        for c in _caches:
            if c.tables & touched:
                c.clear()


@event.listens_for(Session, "after_soft_rollback")
def _forget_touched(session: Session, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_TOUCHED, None)
