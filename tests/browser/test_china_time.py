"""Dates and times as China reads them, at the hour when China's date is already tomorrow's (23:30 UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import time_machine
from playwright.sync_api import Page, expect

from hazard_registry import clock
from tests.browser.test_hazard_day import report_hazard


def test_at_half_past_eleven_utc_the_console_prints_chinas_date_and_time(page: Page, sign_in) -> None:
    at = datetime.combine(clock.now().date(), time(23, 30), UTC)
    china_day = (at + timedelta(hours=8)).date().isoformat()  # 07:30 the next morning in Beijing
    with time_machine.travel(at, tick=True):
        report_hazard(page, sign_in, title="凌晨上报的隐患")
        assert page.evaluate("navigator.language") == "zh-CN"
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Shanghai"
        url = page.url
        page.goto("/hazards/new")
        expect(page.get_by_label("发现日期")).to_have_value(china_day)
        page.goto(url)
        facts = page.locator("dl.fields").first
        expect(facts).to_contain_text(f"发现日期{china_day}")
        expect(page.locator("ol.timeline")).to_contain_text(re.compile(rf"{china_day} 07:3\d"))
        page.get_by_role("link", name="← 隐患台账").click()
        row = page.get_by_role("row").filter(has_text="凌晨上报的隐患")
        expect(row).to_contain_text(china_day)
