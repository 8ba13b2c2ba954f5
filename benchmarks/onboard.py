"""Time onboarding a district (#14): 5,000 enterprises and 500 accounts from XLSX, dry run and commit.

    python -m benchmarks.onboard [--url postgresql+psycopg://…/postgres] [--enterprises 5000] [--users 500]

Without ``--url`` a fresh SQLite file; with one, a fresh database created on that server (and dropped). The
files are generated (valid credit codes, Shenzhen's counties, every GB/T 4754 division), the migrations run,
and the import driver is called as the API calls it, by a prefecture administrator. For each step: the
seconds, and the SQL statements sent (counted on the engine) — set-based means a handful of statements per
500 rows (bulk reads of existing keys, batched INSERTs), not one SELECT per row. Steps:

1. enterprises: dry run, commit, the same file again (all unchanged), a file with 50 rows changed;
2. users (400 enterprise users, 90 officers, 10 county administrators): dry run, commit (a one-time password
   hashed per account, argon2, on every core), the same file again.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from stdnum.cn import uscc as stdnum_uscc

from hazard_registry import clock
from hazard_registry.auth.deps import actor_for_user
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.auth.schemas import UserCreate
from hazard_registry.auth.service import create_user
from hazard_registry.imports import driver, enterprises, users
from hazard_registry.migrate import upgrade
from hazard_registry.reference import schemas as rs
from hazard_registry.reference import service as ref
from hazard_registry.reference.models import Industry, Region

CITY = "440300"


def xlsx(head: list[str], rows: list[list[Any]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(head)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def credit_code(n: int) -> str:
    body = f"914403{n:011d}"
    return body + stdnum_uscc.calc_check_digit(body)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url")
    p.add_argument("--enterprises", type=int, default=5000)
    p.add_argument("--users", type=int, default=500)
    args = p.parse_args()
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if args.url:
        server = make_url(args.url)
        name = f"onboard_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'onboard.db'}"
    try:
        run(url, args.enterprises, args.users)
    finally:
        drop()


def run(url: str, n_ent: int, n_users: int) -> None:
    t0 = time.perf_counter()
    upgrade(url)
    engine = create_engine(url)
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    make = sessionmaker(engine)
    with make() as s:
        counties = list(s.scalars(select(Region.code).where(Region.parent_code == CITY).order_by(Region.code)))
        divisions = list(s.scalars(select(Industry.code).where(Industry.level == "division").order_by(Industry.code)))
        for c in counties:
            ref.create_department(
                s,
                SYSTEM,
                rs.DepartmentCreate(code=f"B-{c}", name=f"{c}应急管理局", region_code=c, is_default_lead=True),
            )
        create_user(s, SYSTEM, UserCreate(username="bench-city", password="bench-pass-2026", role="admin",
                                          region_code=CITY))  # fmt: skip
        s.commit()
    setup = time.perf_counter() - t0
    print(f"# onboard: {engine.dialect.name}, {n_ent} enterprises, {n_users} users (setup {setup:.1f} s)")

    ent_rows = [
        [credit_code(i), f"基准测试企业{i:05d}有限公司", counties[i % len(counties)], divisions[i % len(divisions)],
         "是" if i % 7 == 0 else "", f"负责人{i}", f"1380000{i:04d}", f"控制人{i}", f"1390000{i:04d}"]
        for i in range(n_ent)
    ]  # fmt: skip
    ent_head = ["统一社会信用代码", "企业名称", "行政区划代码", "行业代码", "是否高危", "主要负责人", "主要负责人电话",
                "实际控制人", "实际控制人电话"]  # fmt: skip
    ent_file = xlsx(ent_head, ent_rows)
    changed = [list(r) for r in ent_rows]
    for r in changed[:50]:
        r[6] = "0755-88880000"
    changed_file = xlsx(ent_head, changed)

    n_ent_users = min(n_users * 4 // 5, n_ent)
    n_admins = min(10, len(counties))
    user_rows = [[f"bench.ent{i}", f"企业用户{i}", "企业用户", credit_code(i), "", ""] for i in range(n_ent_users)]
    user_rows += [[f"bench.admin{i}", f"管理员{i}", "管理员", "", "", counties[i]] for i in range(n_admins)]
    user_rows += [
        [f"bench.reg{i}", f"监管{i}", "监管人员", "", f"B-{counties[i % len(counties)]}", ""]
        for i in range(n_users - len(user_rows))
    ]
    user_file = xlsx(["用户名", "姓名", "角色", "企业统一社会信用代码", "部门代码", "行政区划代码"], user_rows)

    print("| step | rows | seconds | statements | outcome |")
    print("|---|---|---|---|---|")

    def step(label: str, kind: Any, data: bytes, dry_run: bool) -> None:
        with make() as s:
            actor = actor_for_user(s, s.scalar(select(User).where(User.username == "bench-city")))
            statements[0] = 0
            t = time.perf_counter()
            report = driver.run(
                s, actor, kind, filename="bench.xlsx", data=data, mapping=None, dry_run=dry_run, now=clock.now(),
                max_rows=20000,
            )  # fmt: skip
            s.commit()
            took = time.perf_counter() - t
        outcome = (
            f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, bad {len(report.bad)}"
        )
        print(f"| {label} | {report.rows_total} | {took:.2f} | {statements[0]} | {outcome} |")

    step("enterprises, dry run", enterprises.ENTERPRISES, ent_file, True)
    step("enterprises, commit", enterprises.ENTERPRISES, ent_file, False)
    step("enterprises, same file again", enterprises.ENTERPRISES, ent_file, False)
    step("enterprises, 50 rows changed", enterprises.ENTERPRISES, changed_file, False)
    step("users, dry run", users.USERS, user_file, True)
    step("users, commit", users.USERS, user_file, False)
    step("users, same file again", users.USERS, user_file, False)
    engine.dispose()


if __name__ == "__main__":
    main()
