"""Switching the append-only guard of the event tables off, as only someone with the database's keys can:
on PostgreSQL a superuser's ``session_replication_role = replica``, on SQLite dropping the triggers (and
putting them back before the transaction ends)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text


@contextmanager
def guard_off(conn: Connection) -> Iterator[Connection]:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield conn
        return
    triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
    for name, _sql in triggers:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield conn
    for _name, sql in triggers:
        conn.execute(text(sql))
