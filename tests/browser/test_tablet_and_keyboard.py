"""The console on a tablet (768 px wide, nothing wider than the screen) and by keyboard alone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD
from tests.flow import Flow


def test_pages_fit_a_tablet_screen(page: Page, sign_in, screenshot, client, world) -> None:
    hazard = Flow(client, world).to_state("rectifying")
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in(page, "officer")
    for path in ["/", "/hazards", f"/hazards/{hazard['id']}", "/campaign"]:
        page.goto(path)
        expect(page.locator("h1")).to_be_visible()
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a tablet screen"
        screenshot(page, "tablet" + path.replace("/", "_"))


def test_sign_in_and_open_the_ledger_by_keyboard(page: Page) -> None:
    page.goto("/login")
    expect(page.get_by_label("用户名")).to_be_focused()  # the page gives the username field the focus
    page.keyboard.type("officer")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    link = page.get_by_role("navigation", name="主菜单").get_by_role("link", name="隐患台账")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="隐患台账")).to_be_visible()
