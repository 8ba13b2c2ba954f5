"""Every main page, for every role that has it, loads at 1366×768 with no JavaScript error, no failed
request and nothing fetched from another host (the page fixture fails the test otherwise), with a screenshot
of each."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.flow import Flow

PAGES = {
    "ent_chem": ["/", "/hazards", "/hazards/new", "{hazard}"],
    "officer": ["/", "/hazards", "/hazards/new", "/campaign", "{hazard}", "{hazard}/act/verify"],
    "chief": ["/", "/campaign", "{hazard}"],
    "admin": ["/", "/hazards", "/campaign", "{hazard}"],
}


@pytest.mark.parametrize("username", list(PAGES))
def test_every_main_page_loads_cleanly(page: Page, sign_in, screenshot, client, world, username: str) -> None:
    hazard = Flow(client, world).to_state("verification_requested")
    sign_in(page, username)
    for path in PAGES[username]:
        url = path.format(hazard=f"/hazards/{hazard['id']}")
        page.goto(url)
        expect(page.locator("h1")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        for chart in page.locator("[data-chart]").all():
            expect(chart).to_have_attribute("data-rendered", "true")
        screenshot(page, url.strip("/").replace("/", "_") or "home")
