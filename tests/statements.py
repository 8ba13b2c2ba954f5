"""Count the SQL statements the app sends, per request: a budget a test can hold the code to.

``count_statements(app)`` listens to ``before_cursor_execute`` on the app's engine (the read engine is the
same engine with other execution options, so one listener sees both) and records every statement sent to
the database, BEGIN/COMMIT and savepoints excluded: those are what a driver does, not what the code asks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

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
    engine = app.state.engine

    def _record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.lstrip().upper().startswith(_SKIP):
            seen.sql.append(statement)

    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _record)
