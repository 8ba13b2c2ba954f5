"""Plain make_* factories. The world: two districts of Shenzhen, their departments, enterprises and users."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc as stdnum_uscc

from hazard_registry import clock
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.auth.schemas import UserCreate
from hazard_registry.auth.service import create_user
from hazard_registry.reference import schemas as rs
from hazard_registry.reference import service as ref
from hazard_registry.reference.models import Standard

PASSWORD = "correct-horse-battery"
NANSHAN, FUTIAN, SHENZHEN, NATIONAL = "440305", "440304", "440300", "000000"


def uscc(body: str) -> str:
    return body + stdnum_uscc.calc_check_digit(body)


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)
    clause_chem: int = 0
    clause_trade: int = 0
    clause_old: int = 0  # a clause of an edition no longer in force
    old_until: date = date(2000, 1, 1)
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, client: TestClient, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def _clause(session: Session, sector: str, *, current: bool) -> tuple[int, date | None]:
    today = clock.today_in_china()
    for std in session.scalars(select(Standard).where(Standard.sector_code == sector).order_by(Standard.id)):
        if not std.clauses:
            continue
        if current and std.in_force_on(today) and std.effective_from <= date(2024, 1, 1):
            return std.clauses[0].id, None
        if not current and std.effective_to is not None and std.effective_to <= today:
            return std.clauses[0].id, std.effective_to
    raise AssertionError(f"no {'current' if current else 'superseded'} standard for {sector}")


def make_world(session: Session) -> World:
    w = World()
    depts = [
        ("T-NS-YJ", "南山区应急管理局", NANSHAN, True, ["hazardous_chemicals", "industry_trade"]),
        ("T-NS-ZJ", "南山区住房和建设局", NANSHAN, False, ["construction"]),
        ("T-FT-YJ", "福田区应急管理局", FUTIAN, True, ["hazardous_chemicals", "industry_trade"]),
        ("T-SZ-YJ", "深圳市应急管理局", SHENZHEN, True, ["hazardous_chemicals", "industry_trade"]),
    ]
    for code, name, region, default, sectors in depts:
        d = ref.create_department(
            session,
            SYSTEM,
            rs.DepartmentCreate(code=code, name=name, region_code=region, is_default_lead=default, sectors=sectors),
        )
        w.ids[code] = d.id
    ents = [
        ("chem", "91440300MA5T00001", "南山测试化工有限公司", NANSHAN, "26"),
        ("metal", "91440300MA5T00002", "南山测试五金有限公司", NANSHAN, "33"),
        ("build", "91440300MA5T00003", "南山测试建筑有限公司", NANSHAN, "47"),
        ("futian", "91440300MA5T00004", "福田测试化工有限公司", FUTIAN, "26"),
    ]
    for key, body, name, region, industry in ents:
        e = ref.create_enterprise(
            session,
            SYSTEM,
            rs.EnterpriseCreate(
                uscc=uscc(body),
                name=name,
                region_code=region,
                industry_code=industry,
                principal_name="张三",
                principal_phone="13800138000",
            ),
        )
        w.ids[key] = e.id
    users: list[tuple[str, str, dict[str, Any]]] = [
        ("ent_chem", "enterprise", {"enterprise_uscc": uscc("91440300MA5T00001")}),
        ("ent_metal", "enterprise", {"enterprise_uscc": uscc("91440300MA5T00002")}),
        ("ent_futian", "enterprise", {"enterprise_uscc": uscc("91440300MA5T00004")}),
        ("officer", "regulator", {"department_code": "T-NS-YJ"}),
        ("officer2", "regulator", {"department_code": "T-NS-YJ"}),
        ("chief", "regulator", {"department_code": "T-NS-YJ", "can_close": True}),
        ("chief2", "regulator", {"department_code": "T-NS-YJ", "can_close": True}),
        ("builder", "regulator", {"department_code": "T-NS-ZJ", "can_close": True}),
        ("futian_officer", "regulator", {"department_code": "T-FT-YJ", "can_close": True}),
        ("city", "regulator", {"department_code": "T-SZ-YJ", "can_close": True}),
        ("admin", "admin", {"region_code": NANSHAN}),
        ("admin_futian", "admin", {"region_code": FUTIAN}),
        ("admin_city", "admin", {"region_code": SHENZHEN}),
        ("national", "admin", {"region_code": NATIONAL}),
    ]
    for username, role, extra in users:
        u = create_user(session, SYSTEM, UserCreate(username=username, password=PASSWORD, role=role, **extra))
        w.ids[username] = u.id
    session.flush()
    w.clause_chem, _ = _clause(session, "hazardous_chemicals", current=True)
    w.clause_trade, _ = _clause(session, "industry_trade", current=True)
    w.clause_old, until = _clause(session, "industry_trade", current=False)
    w.old_until = until or w.old_until
    return w


def hazard_body(world: World, **over: Any) -> dict[str, Any]:
    body = {
        "clause_id": world.clause_chem,
        "title": "硝化釜未设置自动化联锁",
        "description": "两台硝化反应釜温度与进料未联锁，人工操作。",
        "location": "硝化车间",
        "found_at": (clock.today_in_china() - timedelta(days=10)).isoformat(),
    }
    body.update(over)
    return body


PLAN = {
    "measures": "加装温度与进料联锁",
    "responsible_unit": "设备部",
    "responsible_person": "李四",
    "funds": "30万元",
    "safety_measures": "停产改造",
    "contingency_plan": "专项应急预案",
}

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e2217bc40000000049454e44ae426082"
)
