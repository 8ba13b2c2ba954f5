"""User accounts in bulk: one row per username, created or brought up to date.

Every account is checked exactly as ``POST /api/v1/users`` checks one (``auth.service.new_user``): the unit
its role needs (an enterprise of the administrator's region by credit code, a department by code, a region),
the rights its role may hold, and the administrator's region and level — a county administrator never makes a
provincial or national account, nor a peer administrator. The references are read once for the whole file.

The file holds no password. A created account gets a random one-time password, shown once in the committed
import's answer (to be handed over and changed at first sign-in) and stored only as its hash (a lighter
argon2id: it is a random secret, see ``hash_one_time_password``); a dry run makes none. An existing account
(in the administrator's region) keeps its role and unit — a row that would move it is refused — and has its
name, e-mail and rights brought to the row through ``auth.service.update_user``, so each right granted or
withdrawn is a user event as it is from the API. Atomic: any bad row and nothing is written.
"""

from __future__ import annotations

import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pwdlib.hashers.argon2 import Argon2Hasher
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hazard_registry.auth import service as accounts
from hazard_registry.auth.models import User, UserEvent
from hazard_registry.auth.passwords import weakness
from hazard_registry.auth.principal import Actor, Role, region_contains
from hazard_registry.auth.schemas import UserFields, UserUpdate
from hazard_registry.errors import DomainError
from hazard_registry.i18n import labels
from hazard_registry.imports import driver
from hazard_registry.imports.driver import (
    AdminKind,
    Batch,
    chunks,
    field_of,
    first_rows,
    insert_all,
    reason_of,
    rows_by,
    tally,
)
from hazard_registry.imports.schemas import RegisterImport, RowResult
from hazard_registry.imports.tables import Column, Table, choice, text, to_bool
from hazard_registry.reference.models import Region

TABLE = Table(
    columns=(
        Column("username", "用户名", required=True, aliases=("账号",), note="字母、数字和 _ . @ -，3至64位"),
        Column("display_name", "姓名", aliases=("显示名称",)),
        Column("role", "角色", required=True, note="企业用户/监管人员/管理员"),
        Column("department_code", "部门代码", note="监管人员必填"),
        Column("enterprise_uscc", "企业统一社会信用代码", aliases=("统一社会信用代码",), note="企业用户必填"),
        Column("region_code", "行政区划代码", note="管理员必填；其他角色可空（按单位）"),
        Column("email", "电子邮箱", aliases=("邮箱",)),
        Column("can_close", "销号权限", note="是/否，仅监管人员"),
        Column("can_take_complaints", "受理举报权限", note="是/否"),
        Column("can_reveal_identity", "身份披露审批权限", note="是/否；须由账号创建人以外的管理员授予"),
    )
)
EXAMPLE = ["zhang.san", "张三", "监管人员", "T-NS-YJ", "", "", "zhangsan@example.gov.cn", "否", "否", "否"]
ROLES = {v: k for k, v in labels("role").items() if k != "system"} | {"企业": "enterprise", "监管": "regulator"}
RIGHTS = ("can_close", "can_take_complaints", "can_reveal_identity")
EDITABLE = ("display_name", "email", *RIGHTS)  # what a row may change on an existing account
# Easy to read out and type: no 0/O, 1/l/I.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
PASSWORD_LENGTH = 14
DRY_RUN_HASH = "!"  # never a valid hash; a dry run's accounts are rolled back anyway
# What an import sets on a new account (the rest are the columns' defaults).
COLUMNS = ("username", "display_name", "email", "role", "password_hash", "enterprise_id", "department_id",
           "region_code", "can_close", "can_reveal_identity", "can_take_complaints", "created_by_id")  # fmt: skip
# A one-time password is a random secret of 14 characters from 55 (about 81 bits): what the slow default
# work factor protects — a human's guessable password — it does not have, and at 0.1-0.6 s a hash it would
# make 500 accounts take minutes. A lighter argon2id still makes guessing it hopeless; the hash string carries
# its parameters, so the login verifies it like any other, and the holder's own password gets the default.
_ONE_TIME = Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1)


def hash_one_time_password(password: str) -> str:
    return _ONE_TIME.hash(password)


def one_time_password(username: str) -> str:
    while True:
        candidate = "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))
        if weakness(candidate, username) is None:
            return candidate


class UserKind(AdminKind):
    table = TABLE
    what = "a file of user accounts"

    def parse(self, cells: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {f: text(cells.get(f)) for f in cells if f not in RIGHTS and f != "role"}
        values["role"] = choice(cells.get("role"), "role", ROLES, "角色")
        for right in RIGHTS:
            values[right] = to_bool(cells.get(right), right)
        try:
            body = UserFields.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            raise driver.invalid(TABLE, exc) from None
        out = body.model_dump()
        out["_present"] = [f for f in EDITABLE if f in cells]
        return out

    def apply(self, session: Session, actor: Actor, batch: Batch, now: datetime) -> RegisterImport:
        rows = first_rows(batch, "username", "用户名")
        refs = accounts.UserRefs(
            enterprises=accounts.enterprises_in_scope(
                session, actor, [p["enterprise_uscc"] for _, p in rows if p["enterprise_uscc"]]
            ),
            departments=accounts.departments_by_code(
                session, [p["department_code"] for _, p in rows if p["department_code"]]
            ),
        )
        for chunk in chunks({p["region_code"] for _, p in rows if p["region_code"]}):
            refs.regions |= set(session.scalars(select(Region.code).where(Region.code.in_(chunk))))
        existing: dict[str, User] = rows_by(session, User.username, (p["username"] for _, p in rows))
        report = batch.register_report()
        created: list[tuple[int, User]] = []
        for n, p in rows:
            data = UserFields.model_validate({k: v for k, v in p.items() if not k.startswith("_")})
            try:
                user = accounts.new_user(actor, data, refs, DRY_RUN_HASH)
                if p["region_code"] and user.role != Role.admin and p["region_code"] != user.region_code:
                    batch.refuse(
                        n,
                        "region_code",
                        f"行政区划代码与所属单位的地区{user.region_code}不一致 (not the unit's region)",
                    )
                    continue
            except DomainError as exc:
                batch.refuse(n, field_of(exc), reason_of(exc))
                continue
            old = existing.get(data.username)
            if old is None:
                created.append((n, user))
                continue
            result = self._update(session, actor, n, old, user, p, batch)
            if result is not None:
                report.rows.append(result)
        if created and not batch.dry_run and not batch.bad:
            passwords = [one_time_password(u.username) for _, u in created]
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # argon2 releases the GIL
                hashes = list(pool.map(hash_one_time_password, passwords))
            for (n, user), password, hashed in zip(created, passwords, hashes, strict=True):
                user.password_hash = hashed
                report.rows.append(RowResult(row=n, key=user.username, outcome="created", one_time_password=password))
        else:
            report.rows += [RowResult(row=n, key=u.username, outcome="created") for n, u in created]
        session.flush()  # the updates
        ids = insert_all(session, User.username, [{c: getattr(u, c) for c in COLUMNS} for _, u in created])
        events = []
        for _, user in created:
            user.id = ids[user.username]
            events += accounts.created_events(actor, user)
        if events:
            session.execute(insert(UserEvent), events)
        for r in report.rows:
            if r.outcome == "created":
                r.id = ids[r.key]
        report.rows.sort(key=lambda r: r.row)
        report.bad = batch.bad
        return report

    def _update(
        self, session: Session, actor: Actor, n: int, old: User, new: User, p: dict[str, Any], batch: Batch
    ) -> RowResult | None:
        """The row of an existing account: refused unless it is in the caller's region with the same role and
        unit; else its name, e-mail and rights as the row gives them (columns the file lacks are kept)."""
        if actor.role is not Role.system and not (
            old.region_code and actor.region_code and region_contains(actor.region_code, old.region_code)
        ):
            batch.refuse(n, "username", "用户名已被占用 (the username is taken)")
            return None
        unit = ("role", "enterprise_id", "department_id", "region_code")
        moved = [f for f in unit if getattr(old, f) != getattr(new, f)]
        if moved:
            batch.refuse(
                n,
                moved[0],
                "导入不能改变已有账号的角色或所属单位 (an import does not move an account to another role or unit: "
                + ", ".join(moved)
                + ")",
            )
            return None
        changes = {f: p[f] for f in p["_present"] if getattr(old, f) != p[f]}
        if not changes:
            return RowResult(row=n, key=old.username, outcome="unchanged", id=old.id)
        try:
            with session.begin_nested():
                accounts.update_user(session, actor, old.id, UserUpdate.model_validate(changes))
        except DomainError as exc:
            batch.refuse(n, field_of(exc), reason_of(exc))
            return None
        return RowResult(row=n, key=old.username, outcome="updated", id=old.id, changed=sorted(changes))

    def finish(self, report: RegisterImport, committed: bool) -> None:
        tally(report, committed)


USERS = UserKind()
