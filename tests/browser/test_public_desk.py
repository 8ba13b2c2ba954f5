"""The public desk on a phone (375×812) in a real Chromium: a citizen reports anonymously with a photo, keeps
the receipt, answers the handler's question and claims the reward; the 曝光台; and a report with JavaScript off."""

from __future__ import annotations

import re
from datetime import date, timedelta

from PIL import Image
from playwright.sync_api import expect

from hazard_registry import clock
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.supervision import service as sup
from tests.factories import uscc
from tests.test_supervision_engine import Register, at

PHONE = {"width": 375, "height": 812}
CHEM_USCC = uscc("91440300MA5T00001")


def photo_file(tmp_path) -> str:
    path = tmp_path / "现场.jpg"
    Image.new("RGB", (120, 90), (180, 60, 30)).save(path, "JPEG")
    return str(path)


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling at 375 px"


def fill_report(page, tmp_path) -> None:
    page.get_by_label("一句话说明问题").fill("化工厂夜里偷偷进料")
    page.get_by_label("详细情况").fill("晚上十点后硝化车间仍在进料，温度联锁被短接。")
    page.get_by_label("详细地址（选填）").fill("南山区测试路1号")
    page.get_by_label("拍照或选择照片").set_input_files(photo_file(tmp_path))


def test_a_citizen_reports_with_a_photo_keeps_the_receipt_answers_and_claims_a_reward(page, client, world, tmp_path):
    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/jb")
    expect(page.get_by_role("heading", name="我要举报")).to_be_visible()
    expect(page.get_by_role("button", name="选择城市")).to_be_hidden()  # the script fills the cascade in place
    page.get_by_label("省份").select_option(label="广东省")
    expect(page.get_by_label("城市").locator("option", has_text="深圳市")).to_have_count(1)
    page.get_by_label("城市").select_option(label="深圳市")
    expect(page.get_by_label("区县").locator("option", has_text="南山区")).to_have_count(1)
    page.get_by_label("区县").select_option(label="南山区")
    fill_report(page, tmp_path)
    code_box = page.get_by_label("统一社会信用代码")
    code_box.fill(CHEM_USCC[:-1] + ("0" if CHEM_USCC[-1] != "0" else "1"))
    expect(page.get_by_text("代码有误")).to_be_visible()
    code_box.fill(CHEM_USCC)
    expect(page.get_by_text("代码校验通过")).to_be_visible()
    fits_the_phone(page)
    page.get_by_role("button", name="提交举报").click()

    expect(page.get_by_role("heading", name="举报已收到")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("回执码只显示这一次")
    receipt = page.locator("#receipt-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", receipt)
    page.get_by_role("button", name="复制回执码").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("已复制"))
    assert page.evaluate("navigator.clipboard.readText()") == receipt
    fits_the_phone(page)

    officer, chief = world.headers(client, "officer"), world.headers(client, "chief")
    [c] = client.get("/api/v1/complaints", headers=officer).json()["items"]
    assert c["anonymous"] is True and c["enterprise_id"] == world.ids["chem"]
    c = client.post(f"/api/v1/complaints/{c['id']}/transitions", headers=officer,
                    json={"action": "accept", "version": c["version"]}).json()  # fmt: skip
    r = client.post(f"/api/v1/complaints/{c['id']}/messages", headers=officer,
                    json={"kind": "question", "body": "请问进料大约几点开始？"})  # fmt: skip
    assert r.status_code == 201

    page.goto("/cx")
    page.get_by_label("回执码").fill(receipt)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("正在办理")).to_be_visible()
    expect(page.get_by_text("请问进料大约几点开始？")).to_be_visible()
    expect(page.get_by_text("1 个文件")).to_be_visible()  # the photo
    page.get_by_label("回答或补充说明").fill("晚上十点左右")
    page.get_by_role("button", name="提交回答").click()
    expect(page.get_by_role("status")).to_have_text("回答已提交")
    expect(page.get_by_text("晚上十点左右")).to_be_visible()
    fits_the_phone(page)

    hazard = {
        "enterprise_id": world.ids["chem"], "clause_id": world.clause_chem, "title": "硝化工艺联锁被短接",
        "description": "现场核查：温度与进料联锁被短接。", "found_at": clock.today_in_china().isoformat(),
    }  # fmt: skip
    c = client.get(f"/api/v1/complaints/{c['id']}", headers=officer).json()
    for action, body in (("conclude", {"outcome": "substantiated", "finding": "查实", "hazard": hazard}),
                         ("reply", {"reply": "经核查情况属实，已立案并责令整改。"})):  # fmt: skip
        r = client.post(f"/api/v1/complaints/{c['id']}/transitions", headers=officer,
                        json={"action": action, "version": c["version"], **body})  # fmt: skip
        assert r.status_code == 200, r.text
        c = r.json()
    assert client.post(f"/api/v1/complaints/{c['id']}/reward", headers=officer,
                       json={"basis": "fine", "fine_yuan": "100000"}).status_code == 201  # fmt: skip
    assert client.post(f"/api/v1/complaints/{c['id']}/reward/approval", headers=chief).status_code == 200

    page.goto("/cx")
    page.get_by_label("回执码").fill(receipt)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("经核查情况属实")).to_be_visible()
    expect(page.get_by_text("奖励金额：15000.00 元")).to_be_visible()
    page.get_by_label("收款人姓名").fill("王五")
    page.get_by_label("开户银行").fill("中国银行深圳分行")
    page.get_by_label("银行账号").fill("6217000000000001")
    page.get_by_role("button", name="领取奖励").click()
    expect(page.get_by_role("status")).to_have_text("奖励领取信息已提交")
    expect(page.get_by_text("已提交领取信息，待发放")).to_be_visible()
    queue = client.get("/api/v1/complaints/rewards/to-pay", headers=world.headers(client, "admin")).json()
    assert queue["items"][0]["payee"]["payee_name"] == "王五"


def test_the_exposure_page_lists_what_the_public_may_see(page, app, world, settings):
    reg = Register(app, world, settings)
    start = date(2026, 1, 5)
    hid = reg.report(start)
    reg.assign(hid, start, deadline=start + timedelta(days=30))
    reg.rectify(hid, start + timedelta(days=1), start + timedelta(days=30))
    reg.sweep(start + timedelta(days=150))
    [exposure] = [m for m in reg.measures(hid) if m.measure == "public_exposure"]
    with app.state.sessionmaker() as s:
        m = s.get(type(exposure), exposure.id)
        sup.issue(s, SYSTEM, m, at(start + timedelta(days=151)), m.version)
        s.commit()
        number = s.get(type(exposure), exposure.id).document_number
    page.set_viewport_size(PHONE)
    page.goto("/bgt")
    expect(page.get_by_role("heading", name="曝光台")).to_be_visible()
    item = page.get_by_role("listitem").filter(has_text="南山测试化工有限公司")
    expect(item).to_contain_text("储罐区紧急切断未投用")
    expect(item).to_contain_text(number)
    expect(item).to_contain_text("《安全生产法》第四十一条")
    fits_the_phone(page)


def test_a_report_goes_in_with_javascript_switched_off(browser, live_url, client, world, tmp_path):
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", java_script_enabled=False, base_url=live_url, timezone_id="Asia/Shanghai"
    )
    try:
        page = context.new_page()
        page.goto("/jb")
        page.get_by_label("一句话说明问题").fill("化工厂夜里偷偷进料")
        page.get_by_label("省份").select_option(label="广东省")
        page.get_by_role("button", name="选择城市").click()  # a GET reload: the typing rides along
        expect(page.get_by_label("一句话说明问题")).to_have_value("化工厂夜里偷偷进料")
        page.get_by_label("城市").select_option(label="深圳市")
        page.get_by_role("button", name="选择区县").click()
        page.get_by_label("区县").select_option(label="南山区")
        fill_report(page, tmp_path)
        page.get_by_role("button", name="提交举报").click()
        expect(page.get_by_role("heading", name="举报已收到")).to_be_visible()
        expect(page.get_by_role("button", name="复制回执码")).to_be_hidden()
        receipt = page.locator("#receipt-code").inner_text().strip()
        seen = client.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": receipt}).json()
        assert seen["title"] == "化工厂夜里偷偷进料" and seen["files"] == 1
    finally:
        context.close()
