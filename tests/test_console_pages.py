"""The console's 督办, 举报处理, 季报/自查 and 管理 pages over HTTP: every page renders for the roles that use it,
the deny rules are the API's, and forms keep what was typed when the service refuses."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.test_console import csrf_of, sign_in
from tests.test_supervision_engine import Register
from tests.test_supervision_more import rules_restored  # noqa: F401  (fixture)

PAGES = {
    "officer": ["/measures", "/measures/exposures", "/complaints", "/filings", "/self-inspections"],
    "admin": [
        "/measures",
        "/complaints",
        "/complaints/rewards",
        "/complaints/reveals",
        "/filings",
        "/self-inspections",
        "/admin",
        "/admin/users",
        "/admin/departments",
        "/admin/enterprises",
        "/admin/rules",
        "/admin/calendar",
        "/admin/calendar?year=2026",
        "/admin/notices",
    ],
    "ent_chem": ["/measures", "/filings", "/filings?period=2026", "/self-inspections"],
}


@pytest.mark.parametrize("username", sorted(PAGES))
def test_every_page_renders_in_chinese_for_its_users(client: TestClient, world, username: str) -> None:
    sign_in(client, username)
    for url in PAGES[username]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:2000])
        assert '<html lang="zh-CN">' in r.text


def measures_made(app, world, settings) -> list:
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))
    reg.sweep(date(2026, 3, 20))  # not assigned: 函告 issued to the department, 通报 proposed to the city
    return reg.measures(hid)


def test_the_city_issues_a_notice_and_the_department_acknowledges_it(client, app, world, settings) -> None:
    notice = next(m for m in measures_made(app, world, settings) if m.measure == "circulated_notice")
    sign_in(client, "officer")
    page = client.get(f"/measures/{notice.id}")
    assert page.status_code == 200 and "签发</button>" not in page.text, "the department may not issue"
    sign_in(client, "city")
    page = client.get(f"/measures/{notice.id}")
    assert "签发</button>" in page.text and "撤回</button>" in page.text
    form = {"csrf_token": csrf_of(page.text), "action": "issue", "version": str(notice.version)}
    r = client.post(f"/measures/{notice.id}/actions", data=form, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/measures/{notice.id}")
    assert "已签发" in page.text and "督〔2026〕" in page.text
    # The issued measure links its document (文书) and its proof-of-service form, and the link serves a PDF.
    assert f'href="/documents/measures/{notice.id}.pdf"' in page.text
    assert f'href="/documents/measures/{notice.id}/service-receipt.docx"' in page.text
    pdf = client.get(f"/documents/measures/{notice.id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    again = client.post(f"/measures/{notice.id}/actions", data=form)
    # The kernel checks the version before the state: the stale form is refused as a concurrent change.
    stale = ("当前状态下不能进行此操作", "该记录已被他人修改")
    assert again.status_code == 409 and any(m in again.text for m in stale), "issued already: the form is stale"


def test_a_stale_version_is_a_chinese_message_and_the_note_is_kept(client, app, world, settings) -> None:
    notice = next(m for m in measures_made(app, world, settings) if m.measure == "circulated_notice")
    sign_in(client, "city")
    page = client.get(f"/measures/{notice.id}")
    form = {"csrf_token": csrf_of(page.text), "action": "withdraw", "version": str(notice.version + 1)}
    r = client.post(f"/measures/{notice.id}/actions", data=form | {"note": "已当面督促，无须通报"})
    assert r.status_code == 409
    assert "该记录已被他人修改，请刷新后重试" in r.text and "已当面督促，无须通报" in r.text


def test_an_enterprise_never_sees_another_enterprise_s_measure(client, app, world, settings) -> None:
    letter = next(m for m in measures_made(app, world, settings) if m.measure == "warning_letter")
    sign_in(client, "ent_futian")
    assert client.get(f"/measures/{letter.id}").status_code == 404
    assert "页面不存在" in client.get(f"/measures/{letter.id}").text


def test_admin_pages_are_for_administrators_only(client, world) -> None:
    sign_in(client, "officer")
    home = client.get("/")
    assert 'href="/admin"' not in home.text, "no admin menu for a regulator"
    assert client.get("/admin/users").status_code == 403


def post_form(client: TestClient, page_url: str, action: str, data: dict, **kw):
    """Post ``data`` the way the page's form would: with the session's CSRF token and the version the page shows."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text[:1000]
    version = re.search(r'name="version" value="(\d+)"', page.text)
    shown = {"version": version.group(1)} if version else {}
    return client.post(action, data={"csrf_token": csrf_of(page.text), **shown, **data}, **kw)


def test_a_complaint_is_handled_to_a_substantiated_hazard(client, world) -> None:
    from hazard_registry import clock
    from tests.test_complaints import Desk

    d = Desk(client, world)
    receipt = d.submit()
    d.submit(title="化工厂晚上进料，报警器一直响")  # a likely duplicate, later
    first, second = sorted(c["id"] for c in client.get("/api/v1/complaints", headers=d.h("officer")).json()["items"])
    sign_in(client, "officer")
    queue = client.get("/complaints")
    assert f"举报{first}" in queue.text and "待受理" in queue.text
    page = client.get(f"/complaints/{second}")
    assert f"合并到 举报{first}" in page.text, "the duplicate is offered side by side"
    url = f"/complaints/{first}"
    r = post_form(client, url, f"{url}/transitions", {"action": "accept"}, follow_redirects=False)
    assert r.status_code == 303
    conclude = {
        "action": "conclude",
        "outcome": "substantiated",
        "finding": "现场核查属实，联锁被短接。",
        "hazard_enterprise_id": str(world.ids["chem"]),
        "hazard_clause_id": str(world.clause_chem),
        "hazard_title": "硝化釜温度联锁被短接",
        "hazard_description": "现场核查：联锁被短接。",
        "hazard_location": "硝化车间",
        "hazard_found_at": clock.today_in_china().isoformat(),
    }
    missing = post_form(client, url, f"{url}/transitions", conclude | {"hazard_clause_id": ""})
    assert missing.status_code == 422 and "现场核查属实，联锁被短接。" in missing.text, "what was typed is kept"
    r = post_form(client, url, f"{url}/transitions", conclude, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    page = client.get(url)
    assert "已生成隐患" in page.text or "查看登记入账的隐患" in page.text
    hazard_link = page.text.split('href="/hazards/')[1].split('"')[0]
    assert client.get(f"/hazards/{hazard_link}").status_code == 200
    reply = {"action": "reply", "reply": "经查属实，已责令整改。"}
    assert post_form(client, url, f"{url}/transitions", reply, follow_redirects=False).status_code == 303
    r = post_form(client, url, f"{url}/reward", {"basis": "fine", "fine_yuan": "100000"}, follow_redirects=False)
    assert r.status_code == 303
    assert "15000.00 元" in client.get(url).text
    sign_in(client, "chief")
    assert "批准奖励" in client.get(url).text
    r = post_form(client, url, f"{url}/reward/approval", {}, follow_redirects=False)
    assert r.status_code == 303 and "已批准" in client.get(url).text
    claim = {"payee_name": "匿名举报人", "bank": "测试银行", "account": "6222 0000 0000 0000"}
    r = client.post("/api/v1/complaints/mine/reward-claim", json=claim, headers={"X-Complaint-Receipt": receipt})
    assert r.status_code == 200, r.text
    sign_in(client, "admin")
    to_pay = client.get("/complaints/rewards")
    assert "15000.00" in to_pay.text and "测试银行" in to_pay.text
    reward_id = to_pay.text.split('action="/complaints/rewards/')[1].split("/")[0]
    r = post_form(client, "/complaints/rewards", f"/complaints/rewards/{reward_id}/payment",
                  {"payment_reference": "ZZ-2026-001"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and "没有待发放的奖励" in client.get("/complaints/rewards").text
    assert "已发放" in client.get(url).text


def test_hotline_intake_shows_the_receipt_once(client, world, app) -> None:
    from sqlalchemy import update

    from hazard_registry.auth.models import User

    sign_in(client, "officer")
    assert 'href="/complaints/intake"' not in client.get("/").text, "no intake menu without the right"
    with app.state.sessionmaker() as s:
        s.execute(update(User).where(User.username == "officer").values(can_take_complaints=True))
        s.commit()
    try:
        form = {"channel": "hotline_12350", "title": "仓库堆放大量液化气瓶", "description": "来电反映。",
                "region_code": "440305", "address": "南山区测试路9号"}  # fmt: skip
        r = post_form(client, "/complaints/intake", "/complaints/intake", form)
        assert r.status_code == 200 and "回执码只显示这一次" in r.text
        receipt = r.text.split('aria-label="回执码"><strong>')[1].split("<")[0]
        assert client.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": receipt}).status_code == 200
        assert receipt not in client.get("/complaints").text
    finally:
        with app.state.sessionmaker() as s:
            s.execute(update(User).where(User.username == "officer").values(can_take_complaints=False))
            s.commit()


def test_an_enterprise_files_its_quarterly_table_and_the_regulator_sees_it(client, world) -> None:
    sign_in(client, "ent_chem")
    page = client.get("/filings?period=2026Q1")
    assert "本期新发现重大事故隐患" in page.text and "确认并报送" in page.text
    r = post_form(client, "/filings?period=2026Q1", "/filings", {"period": "2026Q1", "confirmed_by_name": "张三"},
                  follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert "主要负责人 张三 确认" in client.get("/filings?period=2026Q1").text
    again = post_form(client, "/filings?period=2026Q1", "/filings", {"period": "2026Q1", "confirmed_by_name": "李四"})
    assert again.status_code == 409 and "本期报表已报送" in again.text
    sign_in(client, "officer")
    status = client.get("/filings?period=2026Q1&status=filed_late")
    assert "南山测试化工有限公司" in status.text and "逾期补报" in status.text


def test_an_admin_creates_a_user_and_deactivates_it(client, world, app) -> None:
    sign_in(client, "admin")
    form = {"username": "ns_new_officer", "display_name": "王五", "password": "long-enough-pw", "role": "regulator",
            "department_code": "T-NS-YJ", "can_close": "on"}  # fmt: skip
    r = post_form(client, "/admin/users", "/admin/users", form, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    page = client.get("/admin/users")
    assert "ns_new_officer" in page.text and "销号" in page.text
    taken = post_form(client, "/admin/users", "/admin/users", form)
    assert taken.status_code == 409 and "用户名已被占用" in taken.text and 'value="王五"' in taken.text
    outside = post_form(
        client, "/admin/users", "/admin/users", form | {"username": "ft_x", "department_code": "T-FT-YJ"}
    )
    assert outside.status_code == 403 and "不在您的管辖地区内" in outside.text
    uid = page.text.split('">ns_new_officer<')[0].rsplit('href="/admin/users/', 1)[1]
    r = post_form(client, f"/admin/users/{uid}", f"/admin/users/{uid}", {"active": "false"}, follow_redirects=False)
    assert r.status_code == 303 and "已停用" in client.get(f"/admin/users/{uid}").text


def test_an_admin_revises_a_rule_into_a_new_version_and_loads_a_holiday_table(
    client,
    world,
    rules_restored,  # noqa: F811
) -> None:
    sign_in(client, "admin")
    rule = {"key": "nanshan.console.overdue", "stall": "overdue", "threshold": "3", "measure": "warning_letter",
            "issuer": "lead_department", "response_days": "10", "working_days": "on"}  # fmt: skip
    r = post_form(client, "/admin/rules", "/admin/rules", rule, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    page = client.get("/admin/rules")
    rid = page.text.split('action="/admin/rules/')[1].split("/")[0]
    revised = {k: rule[k] for k in ("measure", "issuer", "response_days", "working_days")}
    revised |= {"threshold": "5", "active": "on"}
    r = post_form(client, "/admin/rules", f"/admin/rules/{rid}/revisions", revised, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/admin/rules")
    assert "规则 nanshan.console.overdue 已更新为第2版" in page.text
    assert "已被新版本取代" in page.text and "5个工作日" in page.text
    stale = post_form(client, "/admin/rules", f"/admin/rules/{rid}/revisions", revised)
    assert stale.status_code == 409 and "该升级规则已停用" in stale.text

    sign_in(client, "national")  # the holiday table is national reference data (least privilege, #11.3)
    assert "尚未导入" in client.get("/admin/calendar?year=2099").text
    holidays = {"holidays": "2099-01-01\n2099-10-01", "workdays": "2099-10-10", "source": "测试通知"}
    r = post_form(client, "/admin/calendar?year=2099", "/admin/calendar/2099", holidays, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/admin/calendar?year=2099")
    assert "来源：测试通知" in page.text and "2099-10-10" in page.text


def test_an_admin_adds_a_department_and_an_enterprise_and_retries_a_dead_notice(client, world, app, settings) -> None:
    from hazard_registry import clock
    from hazard_registry.notices.models import Notice
    from tests.factories import uscc

    sign_in(client, "admin")
    dept = {"code": "T-NS-SJ", "name": "南山区市场监督管理局", "region_code": "440305"}  # leads nothing: routes stay
    r = post_form(client, "/admin/departments", "/admin/departments", dept, follow_redirects=False)
    assert r.status_code == 303 and "南山区市场监督管理局" in client.get("/admin/departments").text
    ent = {"uscc": uscc("91440300MA5TP0042"), "name": "南山页面测试有限公司", "region_code": "440305",
           "industry_code": "33", "principal_name": "钱七", "principal_phone": "13800000000"}  # fmt: skip
    r = post_form(client, "/admin/enterprises", "/admin/enterprises", ent, follow_redirects=False)
    assert r.status_code == 303 and "南山页面测试有限公司" in client.get("/admin/enterprises?q=页面测试").text
    bad = post_form(client, "/admin/enterprises", "/admin/enterprises", ent | {"uscc": "91440300MA5TP00421"})
    assert bad.status_code == 422 and 'value="南山页面测试有限公司"' in bad.text

    letter = next(m for m in measures_made(app, world, settings) if m.measure == "warning_letter")
    with app.state.sessionmaker() as s:
        s.add(Notice(dedup_key="console-test", measure_id=letter.id, action="issue", channel="webhook",
                     recipient_role="department_head", region_code="440305", status="dead", attempts=3,
                     next_attempt_at=clock.now(), last_error="HTTP 500"))  # fmt: skip
        s.commit()
    page = client.get("/admin/notices")
    assert "HTTP 500" in page.text and "发送失败" in page.text
    nid = page.text.split('action="/admin/notices/')[1].split("/")[0]
    r = post_form(client, "/admin/notices", f"/admin/notices/{nid}/retry", {}, follow_redirects=False)
    assert r.status_code == 303
    assert "HTTP 500" not in client.get("/admin/notices").text, "back in the queue: no longer a dead letter"


def test_identity_is_revealed_only_after_another_officer_approves(client, world, app) -> None:
    from sqlalchemy import update

    from hazard_registry.auth.models import User
    from tests.test_complaints import Desk

    d = Desk(client, world)
    d.submit(reporter={"name": "孙八", "phone": "13900000000"})
    cid = d.only()["id"]
    url = f"/complaints/{cid}"
    sign_in(client, "officer")
    r = post_form(client, url, f"{url}/reveals", {"reason": "需核实举报人所述时间"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(url)
    assert "待审批" in page.text and "批准披露" not in page.text, "not one's own request"
    with app.state.sessionmaker() as s:
        s.execute(update(User).where(User.username == "chief").values(can_reveal_identity=True))
        s.commit()
    try:
        sign_in(client, "chief")
        page = client.get(url)
        rid = page.text.split(f'action="/complaints/{cid}/reveals/')[1].split("/")[0]
        r = post_form(client, url, f"{url}/reveals/{rid}/decision", {"decision": "approve"}, follow_redirects=False)
        assert r.status_code == 303
    finally:
        with app.state.sessionmaker() as s:
            s.execute(update(User).where(User.username == "chief").values(can_reveal_identity=False))
            s.commit()
    sign_in(client, "officer")
    shown = post_form(client, url, f"{url}/reveals/{rid}/identity", {})
    assert shown.status_code == 200 and "孙八" in shown.text and "本次查看已记录在案" in shown.text
    assert "孙八" not in client.get(url).text, "the complaint page never shows the identity"


def test_an_enterprise_records_a_self_inspection(client, world) -> None:
    sign_in(client, "ent_chem")
    form = {"inspected_on": "2026-06-10", "led_by": "张三", "led_by_principal": "on", "scope": "硝化车间、罐区"}
    r = post_form(client, "/self-inspections", "/self-inspections", form, follow_redirects=False)
    assert r.status_code == 303
    assert "硝化车间、罐区" in client.get("/self-inspections").text
    future = post_form(client, "/self-inspections", "/self-inspections", form | {"inspected_on": "2999-01-01"})
    assert future.status_code == 422 and "硝化车间、罐区" in future.text


def test_a_complaint_is_extended_once_and_another_is_transferred_out_of_sight(client, world) -> None:
    from tests.test_complaints import Desk

    d = Desk(client, world)
    d.submit()
    site = {"enterprise_uscc": None, "enterprise_name": "某工地", "address": "南山区工地路2号"}
    d.submit(title="工地塔吊夜间作业无人监护", **site)
    first, second = sorted(c["id"] for c in client.get("/api/v1/complaints", headers=d.h("officer")).json()["items"])
    sign_in(client, "officer")
    url = f"/complaints/{first}"
    assert post_form(client, url, f"{url}/transitions", {"action": "accept"}, follow_redirects=False).status_code == 303
    extend = {"action": "extend", "days": "20", "reason": "需等待检测报告"}
    assert post_form(client, url, f"{url}/transitions", extend, follow_redirects=False).status_code == 303
    assert "已延长20天" in client.get(url).text
    again = post_form(client, url, f"{url}/transitions", extend)
    # The extend form is no longer offered (the workflow's guard); a replayed post is refused with the reason.
    assert again.status_code == 409 and "办理期限已延长过" in again.text

    url = f"/complaints/{second}"
    page = client.get(url)
    assert "南山区住房和建设局" in page.text, "the construction bureau is offered for the transfer"
    move = {"action": "transfer", "department_id": str(world.ids["T-NS-ZJ"])}
    assert post_form(client, url, f"{url}/transitions", move, follow_redirects=False).status_code == 303
    assert client.get(url).status_code == 404, "now the construction bureau's complaint"
    sign_in(client, "builder")
    assert "工地塔吊夜间作业无人监护" in client.get("/complaints").text


def test_a_letter_not_acknowledged_by_its_response_day_is_flagged(client, app, world, settings) -> None:
    letter = next(m for m in measures_made(app, world, settings) if m.measure == "warning_letter")
    assert letter.state == "issued" and letter.response_due.isoformat() < "2026-11-01"
    sign_in(client, "officer")
    row = client.get("/measures").text.split(f'href="/measures/{letter.id}"')[1].split("</tr>")[0]
    assert "逾期未签收" in row
    page = client.get(f"/measures/{letter.id}")
    assert "逾期未签收" in page.text
    url = f"/measures/{letter.id}"
    r = post_form(client, url, f"{url}/actions", {"action": "acknowledge"}, follow_redirects=False)
    assert r.status_code == 303
    assert "逾期未签收" not in client.get(f"/measures/{letter.id}").text, "acknowledged: no longer waiting"
