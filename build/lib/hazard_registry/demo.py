"""A realistic demo district (深圳市南山区): departments, enterprises across industries, one user per role,
and hazards in every state — made through the same services as the API, so their histories are real."""

from __future__ import annotations

import base64
import io
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc as stdnum_uscc

from hazard_registry import clock
from hazard_registry.auth.deps import actor_for_user
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import SYSTEM, Actor
from hazard_registry.auth.schemas import UserCreate
from hazard_registry.auth.service import create_user
from hazard_registry.config import get_settings
from hazard_registry.hazards import schemas as hs
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.models import Hazard
from hazard_registry.reference import schemas as rs
from hazard_registry.reference import service as ref
from hazard_registry.reference.models import Industry, Standard

PASSWORD = "demo-pass-2026"  # printed with the usernames; change them before any real use
CITY, DISTRICT = "440300", "440305"

DEPARTMENTS = [
    ("SZ-YJGLJ", "深圳市应急管理局", CITY, True, ["hazardous_chemicals", "fireworks", "industry_trade", "metallurgy"]),
    (
        "NS-YJGLJ",
        "深圳市南山区应急管理局",
        DISTRICT,
        True,
        ["hazardous_chemicals", "fireworks", "industry_trade", "metallurgy"],
    ),
    ("NS-ZJJ", "深圳市南山区住房和建设局", DISTRICT, False, ["construction", "gas"]),
    ("NS-JTJ", "深圳市南山区交通运输局", DISTRICT, False, ["road_transport", "highway", "waterway"]),
    ("NS-SCJGJ", "深圳市南山区市场监督管理局", DISTRICT, False, ["special_equipment"]),
    ("NS-XFJY", "深圳市南山区消防救援大队", DISTRICT, False, ["fire"]),
]

# (body of the credit code without its check character, name, industry division, principal)
ENTERPRISES = [
    ("91440300MA5F0A1B2", "深圳南海精细化工有限公司", "26", "陈建华"),
    ("91440300MA5F0A1C3", "深圳蛇口五金制品有限公司", "33", "李志强"),
    ("91440300MA5F0A1D4", "南山城建工程集团有限公司", "47", "王海涛"),
    ("91440300MA5F0A1E5", "深圳前海燃气有限公司", "45", "刘晓东"),
    ("91440300MA5F0A1F6", "南山运通物流有限公司", "54", "张国庆"),
    ("91440300MA5F0A1G7", "深圳西丽食品有限公司", "14", "赵丽萍"),
    ("91440300MA5F0A1H8", "深圳湾冷链仓储有限公司", "59", "孙立新"),
    ("91440300MA5F0A1J9", "南山金属表面处理有限公司", "33", "周文斌"),
]

# A 1×1 PNG: enough for the demo's evidence photos, and a real image by its content.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _uscc(body: str) -> str:
    return body + stdnum_uscc.calc_check_digit(body)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _clause_for(session: Session, sector: str, on: date, number: str) -> int:
    """The clause ``number`` of the ``sector``'s standard in force on ``on``."""
    for std in session.scalars(select(Standard).where(Standard.sector_code == sector)):
        if std.in_force_on(on):
            for clause in std.clauses:
                if clause.number == number:
                    return clause.id
    raise RuntimeError(f"no clause {number} of a {sector} standard in force on {on}; run the migrations first")


def _credentials() -> str:
    lines = [f"demo users (password for all: {PASSWORD}):"]
    for name, what in [
        ("demo-admin", "admin of 南山区 (安委会办公室): users and reference data"),
        ("demo-officer", "regulator, 南山区应急管理局: assigns and verifies"),
        ("demo-chief", "regulator with closing authority (销号), 南山区应急管理局"),
        ("demo-builder", "regulator, 南山区住房和建设局 (construction and gas)"),
        ("demo-city", "regulator, 深圳市应急管理局 (sees the whole city)"),
        ("demo-chem", "enterprise user of 深圳南海精细化工有限公司"),
        ("demo-metal", "enterprise user of 深圳蛇口五金制品有限公司"),
    ]:
        lines.append(f"  {name:14} {what}")
    return "\n".join(lines)


def load_demo(session: Session, today: date | None = None) -> str:
    """Load the demo once; a second call changes nothing and prints the credentials again."""
    if session.scalar(select(User.id).where(User.username == "demo-admin")) is not None:
        return "demo data already loaded\n" + _credentials()
    today = today or clock.today_in_china()
    for n, (code, name, region, default, sectors) in enumerate(DEPARTMENTS, start=1):
        ref.create_department(
            session,
            SYSTEM,
            rs.DepartmentCreate(
                code=code,
                name=name,
                region_code=region,
                is_default_lead=default,
                sectors=sectors,
                head_name="局长",
                head_phone=f"0755-2666{n:04d}",
                head_email=f"{code.lower()}@example.gov.cn",
            ),
        )
    ents = []
    for body, name, industry, principal in ENTERPRISES:
        ents.append(
            ref.create_enterprise(
                session,
                SYSTEM,
                rs.EnterpriseCreate(
                    uscc=_uscc(body),
                    name=name,
                    region_code=DISTRICT,
                    industry_code=industry,
                    address=f"深圳市南山区{name[2:4]}路{len(ents) + 1}号",
                    principal_name=principal,
                    principal_phone=f"1380013{len(ents):04d}",
                    principal_email=f"principal{len(ents)}@example.com",
                    controller_name=principal,
                    controller_phone=f"1390013{len(ents):04d}",
                ),
            )
        )
    users = {}
    for username, role, extra in [
        ("demo-admin", "admin", {"region_code": DISTRICT}),
        ("demo-officer", "regulator", {"department_code": "NS-YJGLJ"}),
        ("demo-chief", "regulator", {"department_code": "NS-YJGLJ", "can_close": True}),
        ("demo-builder", "regulator", {"department_code": "NS-ZJJ", "can_close": True}),
        ("demo-city", "regulator", {"department_code": "SZ-YJGLJ", "can_close": True}),
        ("demo-chem", "enterprise", {"enterprise_uscc": ents[0].uscc}),
        ("demo-metal", "enterprise", {"enterprise_uscc": ents[1].uscc}),
    ]:
        users[username] = create_user(
            session, SYSTEM, UserCreate(username=username, password=PASSWORD, role=role, **extra)
        )
    session.flush()
    actor = {name: actor_for_user(session, u) for name, u in users.items()}
    _walk_hazards(session, actor, ents, today)
    session.commit()
    return "demo district 深圳市南山区 loaded\n" + _credentials()


_BODIES: dict[str, type] = {
    "assign": hs.AssignBody,
    "reject": hs.RejectBody,
    "start_rectification": hs.StartRectificationBody,
    "request_verification": hs.RequestVerificationBody,
    "verify": hs.VerifyBody,
    "fail_verification": hs.FailVerificationBody,
    "close": hs.CloseBody,
}


def _walk_hazards(session: Session, actor: dict[str, Actor], ents: list, today: date) -> None:
    settings = get_settings()
    chem, metal = ents[0], ents[1]
    # (enterprise, its user, the cited clause's number, title, description)
    plan_titles = [
        (
            chem,
            "demo-chem",
            "四",
            "硝化反应釜未实现自动化控制",
            "硝化工段两台反应釜仍为人工操作，未设置温度与进料联锁。",
        ),
        (chem, "demo-chem", "十二", "储罐区可燃气体报警器失效", "甲类储罐区6个可燃气体探测器中4个无信号输出。"),
        (
            metal,
            "demo-metal",
            "第十一条（三）",
            "抛光车间干式除尘系统无泄爆装置",
            "铝镁粉尘干式除尘器无泄爆口，风管积尘。",
        ),
        (metal, "demo-metal", "第十三条（二）", "有限空间作业未执行审批", "清理污水池作业前未检测气体、未审批。"),
        (chem, "demo-chem", "一", "主要负责人未经考核合格", "新任主要负责人未取得安全生产知识和管理能力考核合格证。"),
        (metal, "demo-metal", "第三条（二）", "焊工未持证上岗", "车间3名焊工未取得特种作业操作证即上岗作业。"),
        (chem, "demo-chem", "七", "液氨充装未使用万向管道充装系统", "液氨槽车充装仍使用金属软管。"),
        (
            metal,
            "demo-metal",
            "第十一条（四）",
            "铝粉除尘系统正压吹送",
            "抛光线除尘风机位于除尘器前端，含铝粉尘正压输送。",
        ),
    ]
    # The final state each demo hazard is walked to, in order.
    targets = [
        "reported",
        "assigned",
        "rectifying",
        "verification_requested",
        "verified",
        "closed",
        "rejected",
        "rectifying",
    ]
    for i, ((ent, owner, number, title, desc), target) in enumerate(zip(plan_titles, targets, strict=True)):
        found = today - timedelta(days=90 - i * 9)
        sector = session.get(Industry, ent.industry_code).sector_code
        h = hazards.report(
            session,
            actor[owner],
            hs.HazardCreate(
                clause_id=_clause_for(session, sector, found, number),
                title=title,
                description=desc,
                location="厂区" + ("东" if i % 2 else "西") + "侧",
                found_at=found,
            ),
            _at(found),
        )
        step = found

        def act(who: str, body: dict, days: int = 3, h: Hazard = h) -> None:
            nonlocal step
            step = min(step + timedelta(days=days), today)
            body["version"] = h.version
            parsed = _BODIES[body["action"]].model_validate(body)
            hazards.transition(session, actor[who], h.id, parsed, expected_version=h.version, now=_at(step, 11))

        if target == "rejected":
            act("demo-officer", {"action": "reject", "reason": "not_major", "note": "经核查属一般隐患，转企业自行整改"})
            continue
        if target == "reported":
            continue
        deadline = step + timedelta(days=45 if i != 7 else 20)
        act(
            "demo-officer",
            {"action": "assign", "officer_id": actor["demo-officer"].user_id, "deadline": deadline.isoformat()},
        )
        if target == "assigned":
            continue
        act(
            owner,
            {
                "action": "start_rectification",
                "plan": {
                    "measures": "停用相关设备，委托设计单位改造并加装联锁",
                    "responsible_unit": "设备部",
                    "responsible_person": "设备部经理",
                    "funds": "专项资金30万元，物资已采购",
                    "deadline": (deadline - timedelta(days=5)).isoformat(),
                    "safety_measures": "改造期间停产并设置警戒",
                    "contingency_plan": "已修订专项应急预案并演练",
                },
            },
        )
        if target == "rectifying":
            continue
        link, _ = hazards.add_attachment(
            session,
            actor[owner],
            h.id,
            kind="photo_after",
            filename=f"after-{i}.png",
            stream=io.BytesIO(PNG),
            root=settings.effective_attachments_dir,
            max_bytes=settings.attachment_max_bytes,
            allowed_types=settings.attachment_types,
            now=_at(step, 12),
        )
        act(
            owner,
            {
                "action": "request_verification",
                "report": "已完成整改并自查合格",
                "evaluated_by": "expert",
                "evidence_ids": [link.id],
            },
            days=20,
        )
        if target == "verification_requested":
            continue
        act("demo-officer", {"action": "verify", "check_record": "现场核查：整改措施已落实，联锁投用正常"})
        if target == "verified":
            continue
        act("demo-chief", {"action": "close", "note": "同意销号"})
