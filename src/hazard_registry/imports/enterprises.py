"""The enterprise register in bulk (企业名录): one row per 统一社会信用代码, created or brought up to date.

Each row is checked as the API checks one enterprise (``reference.schemas.EnterpriseCreate``: the GB 32100
check character, phones, e-mails, lengths), then against the reference data read once for the whole file:
the region exists and is within the administrator's region (``require_in_admin_region``), the industry is a
GB/T 4754 division, the sector (when given) is the industry's. An enterprise already registered is updated
where the row differs and reported ``unchanged`` where it does not, so a second import of the same file
changes nothing. A column the file lacks keeps what the register holds; an empty cell of a column it has
clears an optional field. Atomic: any bad row and nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc as stdnum_uscc

from hazard_registry.auth.principal import Actor
from hazard_registry.errors import DomainError
from hazard_registry.imports import driver
from hazard_registry.imports.driver import AdminKind, Batch, chunks, first_rows, insert_all, reason_of, rows_by, tally
from hazard_registry.imports.schemas import RegisterImport, RowResult
from hazard_registry.imports.tables import Column, RowError, Table, text, to_bool
from hazard_registry.reference.models import Enterprise, Industry, Region, Sector
from hazard_registry.reference.schemas import EnterpriseCreate
from hazard_registry.reference.service import require_in_admin_region

TABLE = Table(
    columns=(
        Column("uscc", "统一社会信用代码", required=True, aliases=("信用代码",), note="18位，含校验码"),
        Column("name", "企业名称", required=True, aliases=("单位名称",)),
        Column("region_code", "行政区划代码", required=True, aliases=("所在地区代码",), note="本辖区内，6位或9位"),
        Column("industry_code", "行业代码", required=True, aliases=("国民经济行业代码",), note="GB/T 4754 大类，2位"),
        Column("sector_code", "领域代码", aliases=("领域",), note="可空；填写时须与行业所属领域一致"),
        Column("high_risk", "是否高危", aliases=("高危行业",), note="是/否；空则按领域"),
        Column("address", "地址", aliases=("企业地址",)),
        Column("principal_name", "主要负责人", required=True),
        Column("principal_phone", "主要负责人电话", required=True),
        Column("principal_email", "主要负责人邮箱"),
        Column("controller_name", "实际控制人"),
        Column("controller_phone", "实际控制人电话"),
        Column("controller_email", "实际控制人邮箱"),
    )
)
EXAMPLE = [
    "91440300MA5T0EX01" + stdnum_uscc.calc_check_digit("91440300MA5T0EX01"),
    "示例化工有限公司",
    "440305",
    "26",
    "",
    "是",
    "深圳市南山区示例路1号",
    "张三",
    "13800138000",
    "",
    "李四",
    "13900139000",
    "",
]
# The columns an enterprise row sets (the sector is derived from the industry, never stored).
STORED = tuple(c.field for c in TABLE.columns if c.field not in ("uscc", "sector_code"))


class EnterpriseKind(AdminKind):
    table = TABLE
    what = "the enterprise register"

    def parse(self, cells: dict[str, Any]) -> dict[str, Any]:
        values = {f: text(v) for f, v in cells.items() if f not in ("high_risk", "sector_code")}
        code = values.get("industry_code")
        if code and code.isdigit() and len(code) == 1:
            values["industry_code"] = code.zfill(2)  # "06" typed into Excel comes back as 6
        try:
            body = EnterpriseCreate.model_validate(
                {k: v for k, v in values.items() if v is not None}
                | {"high_risk": to_bool(cells.get("high_risk"), "high_risk", None)}
            )
        except ValidationError as exc:
            raise driver.invalid(TABLE, exc) from None
        out = body.model_dump()
        # A column the file has, left empty, clears the field; a column it lacks keeps the register's value.
        out["_present"] = [f for f in STORED if f in cells and (f != "high_risk" or out["high_risk"] is not None)]
        out["sector_code"] = text(cells.get("sector_code"))
        return out

    def apply(self, session: Session, actor: Actor, batch: Batch, now: datetime) -> RegisterImport:
        rows = first_rows(batch, "uscc", "统一社会信用代码")
        regions = _known(session, Region.code, {p["region_code"] for _, p in rows})
        industries: dict[str, Industry] = rows_by(session, Industry.code, (p["industry_code"] for _, p in rows))
        high_risk_sectors = set(session.scalars(select(Sector.code).where(Sector.high_risk.is_(True))))
        existing: dict[str, Enterprise] = rows_by(session, Enterprise.uscc, (p["uscc"] for _, p in rows))
        report = batch.register_report()
        created: list[tuple[int, dict[str, Any]]] = []
        for n, p in rows:
            try:
                self._check(actor, p, regions, industries)
            except RowError as err:
                batch.refuse(n, err.field, err.reason)
                continue
            except DomainError as exc:
                batch.refuse(n, "region_code", reason_of(exc))
                continue
            ent = existing.get(p["uscc"])
            if ent is None:
                high_risk = p["high_risk"]
                if high_risk is None:
                    high_risk = industries[p["industry_code"]].sector_code in high_risk_sectors
                created.append((n, {f: p[f] for f in STORED} | {"uscc": p["uscc"], "high_risk": high_risk}))
                continue
            try:
                require_in_admin_region(actor, ent.region_code)
            except DomainError:
                batch.refuse(n, "uscc", "此统一社会信用代码的企业已在其他辖区登记 (registered in another region)")
                continue
            changed = [f for f in p["_present"] if getattr(ent, f) != p[f]]
            for f in changed:
                setattr(ent, f, p[f])
            outcome = "updated" if changed else "unchanged"
            report.rows.append(RowResult(row=n, key=ent.uscc, outcome=outcome, id=ent.id, changed=changed))
        session.flush()  # one versioned UPDATE per changed enterprise
        ids = insert_all(session, Enterprise.uscc, [values for _, values in created])
        report.rows += [RowResult(row=n, key=v["uscc"], outcome="created", id=ids[v["uscc"]]) for n, v in created]
        report.rows.sort(key=lambda r: r.row)
        report.bad = batch.bad
        return report

    def _check(self, actor: Actor, p: dict[str, Any], regions: set[str], industries: dict[str, Industry]) -> None:
        if p["region_code"] not in regions:
            raise RowError("region_code", f"行政区划代码不存在：{p['region_code']} (unknown region)")
        require_in_admin_region(actor, p["region_code"])
        industry = industries.get(p["industry_code"])
        if industry is None or industry.level != "division":
            raise RowError(
                "industry_code", f"不是国民经济行业大类代码：{p['industry_code']} (not a GB/T 4754 division)"
            )
        if p["sector_code"] and p["sector_code"] != industry.sector_code:
            raise RowError(
                "sector_code",
                f"领域与行业不一致：行业{industry.code}属于{industry.sector_code} "
                f"(industry {industry.code} is in sector {industry.sector_code})",
            )

    def finish(self, report: RegisterImport, committed: bool) -> None:
        tally(report, committed)


def _known(session: Session, column: Any, values: set[str]) -> set[str]:
    out: set[str] = set()
    for chunk in chunks(values):
        out |= set(session.scalars(select(column).where(column.in_(chunk))))
    return out


ENTERPRISES = EnterpriseKind()
