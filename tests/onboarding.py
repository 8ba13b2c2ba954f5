"""Helpers of the bulk-import tests: spreadsheets from rows, and forgetting what an import added to the
reference world (enterprises and accounts are not among the tables wiped after each test). Imported
accounts' usernames begin with ``imp``, imported enterprises' names with ``导入测试``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from sqlalchemy import delete, select

from hazard_registry import cache
from hazard_registry.auth.models import User, UserEvent
from hazard_registry.reference.models import Enterprise

USER_PREFIX = "imp"
ENTERPRISE_PREFIX = "导入测试"


def csv_file(head: Sequence[str], rows: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_file(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(head))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def forget_imported(app: Any) -> None:
    """Remove the imported enterprises and accounts (after the register's own wipe)."""
    with app.state.engine.begin() as conn:
        users = list(conn.scalars(select(User.id).where(User.username.startswith(USER_PREFIX))))
        if users:
            conn.execute(delete(UserEvent).where(UserEvent.user_id.in_(users) | UserEvent.actor_id.in_(users)))
            conn.execute(delete(User).where(User.id.in_(users)))
        conn.execute(delete(Enterprise).where(Enterprise.name.startswith(ENTERPRISE_PREFIX)))
    cache.clear_all()
