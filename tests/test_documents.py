"""Enforcement documents (文书) as an officer prints them, and their proof of service (送达回证)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap
from datetime import date

import pypdf
import pytest
from docx import Document
from sqlalchemy import delete

from hazard_registry.supervision.models import EscalationRule
from tests.factories import PNG
from tests.test_console import sign_in
from tests.test_supervision_engine import Register

FRIDAY = date(2026, 2, 13)
LETTER_DAY = date(2026, 2, 27)  # the fifth working day after FRIDAY (a 调休 Saturday counts, the festival not)
BASIS = "《安全生产法》第四十一条"
A4 = (595.28, 841.89)


def _squeeze(text: str) -> str:
    """The words without line breaks, spaces or page numbers: what a reader sees, however lines wrap."""
    return re.sub(r"—\s*\d+\s*—", "", re.sub(r"\s+", "", text))


def pdf_text(data: bytes) -> str:
    return _squeeze("".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages))


def docx_paragraphs(data: bytes) -> list[str]:
    doc = Document(io.BytesIO(data))
    cells = [p.text for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs]
    return [_squeeze(p.text) for p in doc.paragraphs if p.text.strip()] + [_squeeze(c) for c in cells if c.strip()]


def font_files(data: bytes) -> list[tuple[str, list[str]]]:
    out = []
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font)["/FontDescriptor"].get_object()
            out.append((str(font["/BaseFont"]), [k for k in descriptor if k.startswith("/FontFile")]))
    return out


def issued_letter(app, world, settings) -> tuple[Register, int, int]:
    """A hazard assigned on FRIDAY whose enterprise never starts: the sweep issues a 函告 by itself."""
    reg = Register(app, world, settings)
    hid = reg.report(FRIDAY)
    reg.assign(hid, FRIDAY, deadline=date(2026, 4, 30))
    reg.sweep(LETTER_DAY)
    [m] = reg.measures(hid)
    assert m.state == "issued" and m.measure == "warning_letter"
    return reg, hid, m.id


def test_a_letter_prints_its_number_target_and_legal_basis_in_order_on_a4_with_the_cjk_face_embedded(
    client, app, world, settings
):
    _reg, _hid, mid = issued_letter(app, world, settings)
    r = client.get(f"/api/v1/measures/{mid}/document?format=pdf", headers=world.headers(client, "officer"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    measure = client.get(f"/api/v1/measures/{mid}", headers=world.headers(client, "officer")).json()
    number = measure["document_number"]
    assert re.fullmatch(r"南山区应急管理局督〔2026〕\d+号", number), "hexagonal brackets, no leading zeros"
    text = pdf_text(r.content)
    addressee = "南山测试化工有限公司（统一社会信用代码："
    assert number in text and addressee in text and BASIS in text
    assert text.index(number) < text.index(addressee) < text.index(BASIS)
    assert "2026年2月27日" in text, "the date written in full (GB/T 9704-2012 7.3.5.1)"
    assert "已交办，整改期限为2026年4月30日" in text, "the facts of the stall"
    reader = pypdf.PdfReader(io.BytesIO(r.content))
    for page in reader.pages:
        assert (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2)) == A4
    fonts = font_files(r.content)
    assert fonts and all(files for _name, files in fonts), f"every font embedded: {fonts}"
    assert any("CJK" in name or "Serif" in name for name, _ in fonts)


def test_the_docx_opens_and_holds_the_same_text_as_the_pdf(client, app, world, settings):
    _reg, _hid, mid = issued_letter(app, world, settings)
    h = world.headers(client, "officer")
    pdf = pdf_text(client.get(f"/api/v1/measures/{mid}/document?format=pdf", headers=h).content)
    r = client.get(f"/api/v1/measures/{mid}/document?format=docx", headers=h)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    paragraphs = docx_paragraphs(r.content)
    assert len(paragraphs) >= 8
    for p in paragraphs:
        assert p in pdf, f"the DOCX says what the PDF says: {p}"
    assert BASIS in "".join(paragraphs)
    doc = Document(io.BytesIO(r.content))
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    margins = (section.top_margin.mm, section.left_margin.mm, section.right_margin.mm, section.bottom_margin.mm)
    assert tuple(round(m) for m in margins) == (37, 28, 26, 35)
    body = doc.paragraphs[0].runs[0]._element
    assert "方正小标宋简体" in body.xml, "the official face is named for WPS/Word"


def test_a_document_outside_the_callers_scope_is_404_and_the_target_can_read_its_own(client, app, world, settings):
    _reg, hid, mid = issued_letter(app, world, settings)
    for who in ("futian_officer", "ent_futian", "admin_futian"):
        r = client.get(f"/api/v1/measures/{mid}/document?format=pdf", headers=world.headers(client, who))
        assert r.status_code == 404 and r.json()["code"] == "measure_not_found", who
        r = client.get(f"/api/v1/hazards/{hid}/document?format=docx", headers=world.headers(client, who))
        assert r.status_code == 404, who
    r = client.get(f"/api/v1/measures/{mid}/document?format=docx", headers=world.headers(client, "ent_chem"))
    assert r.status_code == 200
    assert (
        client.get(f"/api/v1/measures/{mid}/document?format=txt", headers=world.headers(client, "officer")).status_code
        == 422
    )


def test_a_rectification_notice_exists_once_the_hazard_is_assigned(client, app, world, settings):
    reg = Register(app, world, settings)
    hid = reg.report(FRIDAY)
    h = world.headers(client, "officer")
    r = client.get(f"/api/v1/hazards/{hid}/document?format=pdf", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "hazard_not_assigned"
    reg.assign(hid, FRIDAY, deadline=date(2026, 4, 30))
    r = client.get(f"/api/v1/hazards/{hid}/document?format=pdf", headers=h)
    assert r.status_code == 200
    text = pdf_text(r.content)
    number = client.get(f"/api/v1/hazards/{hid}", headers=h).json()["number"]
    seq = int(number.rsplit("-", 1)[1])
    assert f"南山区应急管理局责改〔2026〕{seq}号" in text
    assert (
        text.index("责改〔2026〕")
        < text.index("南山测试化工有限公司（统一社会信用代码")
        < text.index("《中华人民共和国安全生产法》第六十五条")
    )
    assert "于2026年4月30日前整改完毕" in text and number in text
    assert "2026年2月13日" in text, "dated the day it was assigned"
    paragraphs = docx_paragraphs(client.get(f"/api/v1/hazards/{hid}/document?format=docx", headers=h).content)
    assert all(p in text for p in paragraphs)


def test_service_is_recorded_with_witnesses_and_a_scan_and_the_document_leaves_the_unserved_list(
    client, app, world, settings
):
    _reg, hid, mid = issued_letter(app, world, settings)
    chief, officer = world.headers(client, "chief"), world.headers(client, "officer")
    unserved = client.get("/api/v1/documents/unserved", headers=chief).json()
    assert [(i["kind"], i["measure_id"]) for i in unserved["items"]] == [
        ("warning_letter", mid),
        ("rectification_notice", None),
    ]
    url = f"/api/v1/measures/{mid}/services"
    form = {"method": "left_at_premises", "served_at": "2026-03-02T10:30", "served_by": "王五、赵六",
            "received_by": "张三（拒签）", "place": "南山测试化工有限公司门卫室"}  # fmt: skip
    r = client.post(url, headers=chief, data=form)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "witnesses", "留置送达 needs a witness"
    r = client.post(url, headers=officer, data={**form, "witnesses": ["社区网格员陈七"]})
    assert r.status_code == 403, "only the issuing side (closing authority) records service"
    r = client.post(
        url,
        headers=chief,
        data={**form, "witnesses": ["社区网格员陈七"]},
        files={"receipt": ("回证.png", PNG, "image/png")},
    )
    assert r.status_code == 201, r.text
    service = r.json()
    assert service["has_receipt_scan"] and service["witnesses"] == ["社区网格员陈七"]
    assert service["served_at"].startswith("2026-03-02T02:30"), "a time without zone is China time"
    scan = client.get(f"/api/v1/document-services/{service['id']}/receipt", headers=officer)
    assert scan.status_code == 200 and scan.content == PNG
    assert (
        client.get(
            f"/api/v1/document-services/{service['id']}/receipt", headers=world.headers(client, "ent_futian")
        ).status_code
        == 404
    )
    unserved = client.get("/api/v1/documents/unserved", headers=chief).json()
    assert [i["kind"] for i in unserved["items"]] == ["rectification_notice"]
    assert unserved["items"][0]["hazard_id"] == hid
    form_pdf = client.get(f"/api/v1/measures/{mid}/service-receipt?format=pdf", headers=officer)
    text = pdf_text(form_pdf.content)
    assert "送达回证" in text and "留置送达" in text and "社区网格员陈七" in text and "2026年3月2日" in text
    assert len(pypdf.PdfReader(io.BytesIO(form_pdf.content)).pages) == 1, "a one-page form"
    assert (
        "".join(
            docx_paragraphs(client.get(f"/api/v1/measures/{mid}/service-receipt?format=docx", headers=officer).content)
        ).count("送达方式留置送达")
        == 1
    )
    events = client.get(f"/api/v1/measures/{mid}/events", headers=officer).json()
    assert events["items"][-1]["action"] == "serve"


@pytest.fixture
def rule_keys(app):
    """Keys of escalation rules a test adds; removed after the register is wiped (rules are reference data)."""
    keys: list[str] = []
    yield keys
    with app.state.sessionmaker() as s:
        s.execute(delete(EscalationRule).where(EscalationRule.key.in_(keys)))
        s.commit()


def test_unserved_documents_are_a_stall_only_once_a_region_adds_the_rule(rule_keys, client, app, world, settings):
    reg, _hid, mid = issued_letter(app, world, settings)
    before = reg.sweep(date(2026, 3, 20))
    assert all(m.stall != "document_not_served" for m in reg.measures(_hid)), "off by default"
    rule = {"key": "nanshan.unserved.letter", "region_code": "440305", "stall": "document_not_served",
            "threshold": 3, "working_days": True, "measure": "warning_letter", "issuer": "higher_level",
            "needs_confirmation": True}  # fmt: skip
    rule_keys.append(rule["key"])
    r = client.post("/api/v1/escalation-rules", json=rule, headers=world.headers(client, "admin"))
    assert r.status_code == 201, r.text
    assert before.proposed >= 0
    reg.sweep(date(2026, 3, 20))
    unserved = [m for m in reg.measures(_hid) if m.stall == "document_not_served"]
    assert len(unserved) == 1
    [m] = unserved
    assert (m.target_kind, m.target_department_id, m.issuer_region_code) == (
        "department",
        world.ids["T-NS-YJ"],
        "440300",
    )
    assert m.dedup_key == f"m{mid}:document_not_served:warning_letter"
    assert reg.sweep(date(2026, 3, 23)).proposed == 0, "one measure per document"


def test_a_served_document_is_no_stall(rule_keys, client, app, world, settings):
    reg, hid, mid = issued_letter(app, world, settings)
    rule = {"key": "nanshan.unserved.letter", "region_code": "440305", "stall": "document_not_served",
            "threshold": 3, "working_days": True, "measure": "warning_letter", "issuer": "higher_level"}  # fmt: skip
    rule_keys.append(rule["key"])
    assert client.post("/api/v1/escalation-rules", json=rule, headers=world.headers(client, "admin")).status_code == 201
    r = client.post(
        f"/api/v1/measures/{mid}/services",
        headers=world.headers(client, "chief"),
        data={"method": "post", "served_at": "2026-02-28T09:00", "served_by": "王五", "received_by": "张三"},
    )
    assert r.status_code == 201, r.text
    reg.sweep(date(2026, 3, 20))
    assert [m.stall for m in reg.measures(hid) if m.stall == "document_not_served"] == []


def test_a_machine_without_cjk_fonts_still_prints_the_chinese(tmp_path):
    """The embedded subset is the last fallback: with fontconfig seeing no fonts at all, the words are there."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?><fontconfig><cachedir>{tmp_path}</cachedir></fontconfig>')
    script = textwrap.dedent(
        """
        import io, sys
        from datetime import date
        import pypdf
        from hazard_registry.documents.content import Block, OfficialDocument
        from hazard_registry.documents.render import official_pdf
        doc = OfficialDocument(
            "warning_letter", "南山区应急管理局", "南山区应急管理局督〔2026〕3号", "关于督促整改的函",
            "南山测试化工有限公司", [Block("请于2026年3月9日前完成整改。")], date(2026, 2, 27),
        )
        pdf = official_pdf(doc)
        sys.stdout.write("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages))
        """
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = _squeeze(out.stdout)
    assert "南山区应急管理局督〔2026〕3号" in text and "请于2026年3月9日前完成整改" in text


def test_the_console_links_a_hazard_to_its_notice_for_the_session_user(client, app, world, settings):
    reg = Register(app, world, settings)
    hid = reg.report(FRIDAY)
    reg.assign(hid, FRIDAY, deadline=date(2026, 4, 30))
    sign_in(client, "officer")
    page = client.get(f"/hazards/{hid}")
    assert f'href="/documents/hazards/{hid}.pdf"' in page.text and f'href="/documents/hazards/{hid}.docx"' in page.text
    r = client.get(f"/documents/hazards/{hid}.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "责改〔2026〕" in pdf_text(r.content)
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    client.cookies.clear()
    sign_in(client, "futian_officer")
    assert client.get(f"/documents/hazards/{hid}.pdf").status_code == 404
