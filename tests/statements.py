"""Count the SQL statements the app sends, per request: a budget a test can hold the code to.

``count_statements(app)`` listens to ``before_cursor_execute`` on the app's engines (the read engine is the
same engine with other execution options, so one listener sees both; on PostgreSQL the autocommit twin has a
pool and events of its own, ``db.pools``, and so have the loop engine and its twin while the app's lifespan
runs, ``db.make_loop_engine``) and records every statement sent to the database, BEGIN/COMMIT and
savepoints excluded: those are what a driver does, not what the code asks.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from hazard_registry.db import loop_engine, pools

_SKIP = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def engines(app: Any) -> tuple[Any, ...]:
    """Every engine of the app with a pool (and events) of its own: psycopg's two, and asyncpg's two of each
    event loop whose lifespan runs (the sync facades, where the events are)."""
    found = pools(app.state.engine)
    for loop in list(app.state.loop_engines.values()):
        found += pools(loop.sync_engine)
    return found


def loop_engine_of(client: Any) -> Any:
    """The loop engine of a TestClient's event loop (``db.loop_engine``), None on SQLite."""
    return client.portal.call(_loop_engine, client.app)


async def _loop_engine(app: Any) -> Any:
    return loop_engine(app.state)


@dataclass
class Statements:
    sql: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sql)

    def clear(self) -> None:
        self.sql.clear()

    def listing(self) -> str:
        return "\n".join(f"{i + 1:3}. {' '.join(s.split())[:300]}" for i, s in enumerate(self.sql))


@contextmanager
def count_statements(app: Any) -> Iterator[Statements]:
    seen = Statements()
    listened = engines(app)

    def _record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.lstrip().upper().startswith(_SKIP):
            seen.sql.append(statement)

    for engine in listened:
        event.listen(engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        for engine in listened:
            event.remove(engine, "before_cursor_execute", _record)


@contextmanager
def count_round_trips(app: Any) -> Iterator[list[str]]:
    """On PostgreSQL, the round trips the app's connections make: each simple query (BEGIN, COMMIT, ROLLBACK)
    and each extended-protocol statement (up to its Sync) waits for the server once, listed as ``"Sync"`` or
    ``"Query"`` and its text. Read from what each connection checked out meanwhile sends: libpq's own protocol
    trace (psycopg), or the messages asyncpg writes to its socket (the loop engine's). So BEGIN and ROLLBACK
    count, which ``before_cursor_execute`` never sees."""
    seen: list[str] = []
    with tempfile.TemporaryFile(mode="w+") as trace:

        def _checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            if hasattr(dbapi_conn, "pgconn"):
                dbapi_conn.pgconn.trace(trace.fileno())
                return
            transport = dbapi_conn.driver_connection._transport
            write = transport.write

            def traced(data: Any) -> None:
                seen.extend(_sent(bytes(data)))
                write(data)

            transport.write = traced

        def _checkin(dbapi_conn: Any, _record: Any) -> None:
            if hasattr(dbapi_conn, "pgconn"):
                dbapi_conn.pgconn.untrace()
            elif dbapi_conn.driver_connection._transport is not None:
                vars(dbapi_conn.driver_connection._transport).pop("write", None)

        listened = engines(app)
        for engine in listened:
            event.listen(engine, "checkout", _checkout)
            event.listen(engine, "checkin", _checkin)
        try:
            yield seen
        finally:
            for engine in listened:
                event.remove(engine, "checkout", _checkout)
                event.remove(engine, "checkin", _checkin)
            trace.seek(0)
            for line in trace.read().splitlines():
                parts = line.split("\t")
                if len(parts) > 3 and parts[1] == "F" and parts[3] in ("Query", "Sync"):
                    seen.append(parts[3] + (parts[4] if parts[3] == "Query" else ""))


def _sent(data: bytes) -> Iterator[str]:
    """The Sync and Query messages among the frontend messages in ``data`` (a type byte, then a length that
    counts itself)."""
    at = 0
    while at + 5 <= len(data):
        kind, length = data[at : at + 1], int.from_bytes(data[at + 1 : at + 5], "big")
        if kind == b"S":
            yield "Sync"
        elif kind == b"Q":
            yield "Query" + data[at + 5 : at + 1 + length].rstrip(b"\0").decode()
        at += 1 + length


@contextmanager
def transaction_ends(app: Any) -> Iterator[Counter[str]]:
    """Every BEGIN, COMMIT and ROLLBACK of the app's transactions' engines meanwhile (psycopg's, and asyncpg's
    while the lifespan runs), counted by kind: the round trips
    ``count_statements`` leaves out, and how the transactions ended (a ROLLBACK also makes psycopg forget the
    connection's prepared statements). The autocommit twins' (PostgreSQL, ``db.pools``) are left out: their
    statements are each their own transaction, with no BEGIN or COMMIT sent."""
    seen: Counter[str] = Counter()
    listened = (app.state.engine, *(loop.sync_engine for loop in list(app.state.loop_engines.values())))

    def counter(kind: str) -> Any:
        return lambda *_args: seen.update([kind])

    listeners = {kind: counter(kind) for kind in ("begin", "commit", "rollback")}
    for engine in listened:
        for kind, listener in listeners.items():
            event.listen(engine, kind, listener)
    try:
        yield seen
    finally:
        for engine in listened:
            for kind, listener in listeners.items():
                event.remove(engine, kind, listener)
