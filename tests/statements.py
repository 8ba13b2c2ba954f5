"""Count the SQL statements the app sends, per request: a budget a test can hold the code to.

``count_statements(app)`` listens to ``before_cursor_execute`` on the app's engines (the read engine is the
same engine with other execution options, so one listener sees both; on PostgreSQL the autocommit twin has a
pool and events of its own, ``db.pools``) and records every statement sent to the database, BEGIN/COMMIT and
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

from hazard_registry.db import pools

_SKIP = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


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
    engines = pools(app.state.engine)

    def _record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.lstrip().upper().startswith(_SKIP):
            seen.sql.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", _record)


@contextmanager
def count_round_trips(app: Any) -> Iterator[list[str]]:
    """On PostgreSQL, the round trips the app's connections make: each simple query (BEGIN, COMMIT, ROLLBACK)
    and each extended-protocol statement (up to its Sync) waits for the server once. Read from libpq's own
    protocol trace of every connection checked out meanwhile, so BEGIN and ROLLBACK count, which
    ``before_cursor_execute`` never sees."""
    seen: list[str] = []
    engines = pools(app.state.engine)
    with tempfile.TemporaryFile(mode="w+") as trace:

        def _checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            dbapi_conn.pgconn.trace(trace.fileno())

        def _checkin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.pgconn.untrace()

        for engine in engines:
            event.listen(engine, "checkout", _checkout)
            event.listen(engine, "checkin", _checkin)
        try:
            yield seen
        finally:
            for engine in engines:
                event.remove(engine, "checkout", _checkout)
                event.remove(engine, "checkin", _checkin)
            trace.seek(0)
            for line in trace.read().splitlines():
                parts = line.split("\t")
                if len(parts) > 3 and parts[1] == "F" and parts[3] in ("Query", "Sync"):
                    seen.append(parts[3] + (parts[4] if parts[3] == "Query" else ""))


@contextmanager
def transaction_ends(app: Any) -> Iterator[Counter[str]]:
    """Every BEGIN, COMMIT and ROLLBACK of the app's engine meanwhile, counted by kind: the round trips
    ``count_statements`` leaves out, and how the transactions ended (a ROLLBACK also makes psycopg forget the
    connection's prepared statements). The autocommit twin's (PostgreSQL, ``db.pools``) are left out: its
    statements are each their own transaction, with no BEGIN or COMMIT sent."""
    seen: Counter[str] = Counter()
    engine = app.state.engine

    def counter(kind: str) -> Any:
        return lambda *_args: seen.update([kind])

    listeners = {kind: counter(kind) for kind in ("begin", "commit", "rollback")}
    for kind, listener in listeners.items():
        event.listen(engine, kind, listener)
    try:
        yield seen
    finally:
        for kind, listener in listeners.items():
            event.remove(engine, kind, listener)
