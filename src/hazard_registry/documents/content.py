"""What a document says, built from the record: one function per kind of document, each returning the same
neutral structure (``OfficialDocument`` or ``ServiceReceipt``) that the PDF and DOCX renderers lay out.

The builders read through the services' scoped getters, so a document exists for a caller exactly when the
record does (404 otherwise); they never write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import Actor
from hazard_registry.errors import WrongState
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.models import Hazard, HazardEvent
from hazard_registry.hazards.workflow import State
from hazard_registry.reference.models import Department, Enterprise, Region, StandardClause
from hazard_registry.supervision import service as supervision
from hazard_registry.supervision.defaults import BASIS
from hazard_registry.supervision.models import Measure, Stall, SupervisionMeasure

# The law a rectification order (责令限期整改) rests on.
RECTIFICATION_BASIS = (
    "《中华人民共和国安全生产法》第六十五条、第一百零二条和《安全生产事故隐患排查治理暂行规定》第二十条"
)

KIND_NAMES = {
    Measure.warning_letter.value: "函告",
    Measure.circulated_notice.value: "通报",
    Measure.summons.value: "约谈通知书",
    Measure.listed_supervision.value: "挂牌督办通知书",
    Measure.public_exposure.value: "曝光决定",
    "rectification_notice": "责令限期整改通知书",
}

# What the measure is about, as a title names it, and what the target must do about it.
SUBJECTS: dict[str, tuple[str, str]] = {
    Stall.not_assigned: ("重大事故隐患交办不及时问题", "完成该重大事故隐患的交办"),
    Stall.not_started: ("重大事故隐患未按期启动整改问题", "制定治理方案并启动整改"),
    Stall.overdue: ("重大事故隐患整改逾期问题", "完成该重大事故隐患整改并申请验收"),
    Stall.verification_failed: ("重大事故隐患整改验收不合格问题", "完成整改并重新申请验收"),
    Stall.not_verified: ("重大事故隐患验收不及时问题", "完成现场核查验收"),
    Stall.not_closed: ("重大事故隐患销号不及时问题", "完成销号"),
    Stall.self_inspection_missed: ("未按规定开展重大事故隐患自查问题", "组织开展由主要负责人带队的重大事故隐患自查"),
    Stall.region_overdue_share: ("重大事故隐患逾期未整改占比过高问题", "督促辖区逾期重大事故隐患整改到位"),
    Stall.region_stock_open: ("存量重大事故隐患清零进度滞后问题", "加快存量重大事故隐患清零"),
    Stall.filing_late: ("未按期报送重大事故隐患统计报表问题", "报送统计报表"),
    Stall.complaint_late: ("举报件办理逾期问题", "办结举报件并答复举报人"),
    "document_not_served": ("执法文书未按期送达问题", "完成文书送达并记录送达回证"),
}


@dataclass
class Block:
    """A paragraph of the body: ``text`` (indented two characters) or a section ``heading`` (一、…)."""

    text: str
    heading: bool = False


@dataclass
class OfficialDocument:
    """An official document laid out after GB/T 9704-2012: header, 文号, title, addressee, body, signature."""

    kind: str
    authority: str  # 发文机关 (also the mark in the header and the signature)
    number: str | None  # 文号, e.g. 南山区应急管理局督〔2026〕10号
    title: str
    addressee: str
    body: list[Block]
    dated: date
    copies_to: list[str] = field(default_factory=list)

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)

    def text(self) -> str:
        """The words in reading order (for tests and search): what both formats must show."""
        parts = [self.authority, self.number or "", self.title, self.addressee + "：", *(b.text for b in self.body)]
        return "\n".join([*parts, self.authority, chinese_date(self.dated)])


@dataclass
class ServiceReceipt:
    """The 送达回证 form: one table, filled as far as the record knows; the rest is for pen and seal."""

    authority: str
    document_title: str
    document_number: str | None
    recipient: str
    rows: list[tuple[str, str]]
    dated: date


def chinese_date(day: date) -> str:
    """GB/T 9704-2012 7.3.5.1: the date in full in Arabic digits, e.g. 2026年5月14日."""
    return f"{day.year}年{day.month}月{day.day}日"


# --- lookups ----------------------------------------------------------------------------------------------------


def _clause_sentence(session: Session, hazard: Hazard) -> str:
    clause = session.get(StandardClause, hazard.clause_id)
    assert clause is not None  # foreign key
    std = clause.standard
    return (
        f"依据《{std.title}》（{std.document_number}）第{clause.number}项“{clause.title}”，该隐患判定为重大事故隐患。"
    )


def _hazard_facts(session: Session, hazard: Hazard, enterprise: Enterprise, who: str) -> str:
    place = f"（{hazard.location}）" if hazard.location else ""
    description = hazard.description.rstrip("。") + "。"
    return (
        f"{chinese_date(hazard.found_at)}，经排查发现，{who}{enterprise.name}存在重大事故隐患"
        f"“{hazard.title}”{place}，隐患编号{hazard.number}：{description}{_clause_sentence(session, hazard)}"
    )


def _enterprise_addressee(e: Enterprise) -> str:
    return f"{e.name}（统一社会信用代码：{e.uscc}）"


def _region_name(session: Session, code: str) -> str:
    region = session.get(Region, code)
    return region.name if region else code


def _authority_name(session: Session, m: SupervisionMeasure) -> str:
    """The issuing authority as the 文号 names it (supervision.service._authority_columns)."""
    if m.issuer_department_id is not None:
        dept = session.get(Department, m.issuer_department_id)
        assert dept is not None
        return dept.name
    return _region_name(session, m.issuer_region_code) + "安委办"


def _contact(session: Session, department_id: int | None, user_id: int | None) -> str:
    dept = session.get(Department, department_id) if department_id else None
    user = session.get(User, user_id) if user_id else None
    name = (dept.head_name if dept else None) or (user.display_name or user.username if user else None)
    phone = dept.head_phone if dept else None
    if not name and not phone:
        return ""
    return "联系人：" + (name or "") + (f"，联系电话：{phone}" if phone else "") + "。"


def _assigned_on(session: Session, hazard: Hazard) -> date:
    at = session.scalar(
        select(HazardEvent.at)
        .where(HazardEvent.hazard_id == hazard.id, HazardEvent.action == "assign")
        .order_by(HazardEvent.seq.desc())
        .limit(1)
    )
    return clock.today_in_china(at) if at else hazard.found_at


# --- measures -----------------------------------------------------------------------------------------------------


def _stall_facts(m: SupervisionMeasure, hazard: Hazard | None, dated: date) -> str:
    if hazard is not None and m.stall == Stall.overdue and hazard.deadline:
        late = (dated - hazard.deadline).days
        return (
            f"该隐患整改期限为{chinese_date(hazard.deadline)}，截至{chinese_date(dated)}已逾期{max(late, 0)}日，"
            "仍未整改完毕。"
        )
    if hazard is not None and m.stall == Stall.not_started and hazard.deadline:
        return f"该隐患已交办，整改期限为{chinese_date(hazard.deadline)}，至今未制定治理方案、启动整改。"
    return m.reason.rstrip("。") + "。"


def _requirement(m: SupervisionMeasure, target: str, due: str) -> str:
    subject, todo = SUBJECTS.get(m.stall, ("有关问题", "完成整改"))
    if m.measure == Measure.warning_letter:
        return f"请接函后立即采取措施，于{due}前{todo}，并将有关情况书面报送我单位。"
    if m.measure == Measure.circulated_notice:
        return f"现对{target}予以通报。请深刻汲取教训，于{due}前{todo}，并将整改情况书面报送我单位。"
    if m.measure == Measure.summons:
        return (
            f"请{target}主要负责人于{due}前到我单位接受约谈，就{subject}作出说明，并携带治理方案及相关材料；"
            f"约谈后{todo}。"
        )
    if m.measure == Measure.listed_supervision:
        return f"决定对上述问题实行挂牌督办。请于{due}前{todo}；整改完成后申请验收，经验收合格销号后予以摘牌。"
    return f"决定对{target}的上述问题予以公开曝光，曝光信息在问题整改销号后撤下。请于{due}前{todo}。"


def _title(m: SupervisionMeasure, authority: str, target: str) -> str:
    subject = SUBJECTS.get(m.stall, ("有关问题", ""))[0]
    if m.measure == Measure.warning_letter:
        return f"{authority}关于督促{target}解决{subject}的函"
    if m.measure == Measure.circulated_notice:
        return f"{authority}关于{target}{subject}的通报"
    if m.measure == Measure.summons:
        return f"{authority}约谈通知书"
    if m.measure == Measure.listed_supervision:
        return f"{authority}重大事故隐患挂牌督办通知书"
    return f"{authority}关于对{target}{subject}予以公开曝光的决定"


def measure_document(session: Session, actor: Actor, measure_id: int) -> OfficialDocument:
    """The document of an issued measure (函告 · 通报 · 约谈通知书 · 挂牌督办通知书 · 曝光决定), for whoever
    may see the measure. A proposal has no 文号 yet and no document (409)."""
    m = supervision.get_visible(session, actor, measure_id)
    return measure_document_for(session, m)


def measure_document_for(session: Session, m: SupervisionMeasure) -> OfficialDocument:
    if m.issued_at is None or m.document_number is None:
        raise WrongState("the measure has not been issued; it has no document yet", code="measure_not_issued")
    dated = clock.today_in_china(m.issued_at)
    authority = _authority_name(session, m)
    hazard = session.get(Hazard, m.hazard_id) if m.hazard_id else None
    enterprise = session.get(Enterprise, m.target_enterprise_id or (hazard.enterprise_id if hazard else 0) or 0)
    if m.target_kind == "enterprise" and enterprise is not None:
        addressee, target, who = _enterprise_addressee(enterprise), enterprise.name, "你单位"
    elif m.target_kind == "department" and m.target_department_id:
        dept = session.get(Department, m.target_department_id)
        assert dept is not None
        addressee = target = dept.name
        who = "你单位牵头监管的"
    else:
        addressee = target = _region_name(session, m.target_region_code) + "人民政府"
        who = "你区"
    body: list[Block] = []
    if hazard is not None and enterprise is not None:
        body.append(Block(_hazard_facts(session, hazard, enterprise, who) + _stall_facts(m, hazard, dated)))
    else:
        body.append(Block("经查，" + _stall_facts(m, None, dated)))
    basis = m.legal_basis or BASIS
    body.append(Block(f"根据{basis}的规定，现{KIND_NAMES[m.measure].removesuffix('决定')}如下："))
    due = chinese_date(m.response_due) if m.response_due else "限期"
    body.append(Block(_requirement(m, target, due)))
    contact = _contact(session, m.issuer_department_id, m.issued_by_id)
    if contact:
        body.append(Block(contact))
    copies = []
    if hazard is not None and m.issuer_department_id is None:
        lead = session.get(Department, hazard.department_id)
        if lead is not None and lead.name != addressee:
            copies.append(lead.name)
    return OfficialDocument(
        kind=m.measure,
        authority=authority,
        number=m.document_number,
        title=_title(m, authority, target),
        addressee=addressee,
        body=body,
        dated=dated,
        copies_to=copies,
    )


# --- the rectification notice of a hazard --------------------------------------------------------------------------

NOTICE_STATES = {
    State.assigned,
    State.rectifying,
    State.verification_requested,
    State.verified,
    State.closed,
}


def rectification_number(authority: str, hazard: Hazard) -> str:
    """The notice's 文号: the lead department, 责改, the year and the hazard's sequence in its county-year
    (``440305-2026-000012`` → 南山区应急管理局责改〔2026〕12号), unique per authority without a counter."""
    _county, year, seq = hazard.number.split("-")
    return f"{authority}责改〔{year}〕{int(seq)}号"


def hazard_document(session: Session, actor: Actor, hazard_id: int) -> OfficialDocument:
    """责令限期整改通知书 for a hazard that has been assigned (an officer and a deadline set)."""
    hazard = hazards.get_visible(session, actor, hazard_id)
    return hazard_document_for(session, hazard)


def hazard_document_for(session: Session, hazard: Hazard) -> OfficialDocument:
    if hazard.state not in NOTICE_STATES or hazard.deadline is None:
        raise WrongState(
            f"the hazard is {hazard.state}; a rectification notice exists once it is assigned",
            code="hazard_not_assigned",
            state=hazard.state,
        )
    dept = session.get(Department, hazard.department_id)
    enterprise = session.get(Enterprise, hazard.enterprise_id)
    assert dept is not None and enterprise is not None
    dated = _assigned_on(session, hazard)
    suspend = (
        "，重大事故隐患排除前或者排除过程中无法保证安全的，应当从危险区域内撤出作业人员，"
        "暂时停产停业或者停止使用相关设施、设备"
    )
    body = [
        Block(_hazard_facts(session, hazard, enterprise, "你单位")),
        Block(f"根据{RECTIFICATION_BASIS}的规定，现责令你单位：", heading=False),
        Block("一、落实整改责任", heading=True),
        Block(
            f"于{chinese_date(hazard.deadline)}前整改完毕{suspend}。由主要负责人组织制定并实施治理方案，"
            "做到整改措施、责任、资金、时限和预案“五落实”。"
        ),
        Block("二、申请验收销号", heading=True),
        Block("整改完成后，将整改情况和证明材料报送我局申请验收；经验收合格后予以销号。逾期未整改的，依法予以处理。"),
        Block(_contact(session, dept.id, hazard.officer_id) or "联系人：承办人员。"),
    ]
    return OfficialDocument(
        kind="rectification_notice",
        authority=dept.name,
        number=rectification_number(dept.name, hazard),
        title=f"{dept.name}责令限期整改通知书",
        addressee=_enterprise_addressee(enterprise),
        body=body,
        dated=dated,
    )


# --- 送达回证 ------------------------------------------------------------------------------------------------------


def service_receipt(
    doc: OfficialDocument, services: list, today: date, *, method_names: dict[str, str]
) -> ServiceReceipt:
    """The form for ``doc``: filled from the first recorded service, blank lines otherwise."""
    first = services[0] if services else None
    served_at = clock.today_in_china(first.served_at) if first else None
    rows = [
        ("送达文书名称及文号", f"{doc.title}　{doc.number or ''}"),
        ("受送达人", doc.addressee),
        ("送达地点", (first.place if first else None) or ""),
        (
            "送达方式",
            method_names.get(first.method, first.method)
            if first
            else "直接送达　邮寄送达　电子送达　留置送达　公告送达",
        ),
        ("送达人", first.served_by if first else ""),
        ("受送达人签名或盖章", (first.received_by or "") if first else ""),
        ("签收日期", chinese_date(served_at) if served_at else "　　年　　月　　日"),
        ("见证人（留置送达）", "、".join(first.witnesses or []) if first else ""),
        ("备注", (first.note or "") if first else ""),
    ]
    return ServiceReceipt(
        authority=doc.authority,
        document_title=doc.title,
        document_number=doc.number,
        recipient=doc.addressee,
        rows=rows,
        dated=served_at or today,
    )
