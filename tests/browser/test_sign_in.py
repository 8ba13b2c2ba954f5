"""Signing in and out of the console in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect


def test_officer_signs_in_sees_the_workbench_and_signs_out(page, sign_in) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, "officer")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.get_by_role("navigation", name="主菜单").get_by_role("link", name="隐患台账")).to_be_visible()
    expect(page.get_by_text("监管人员")).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_text("您已安全退出")).to_be_visible()
    page.goto("/hazards")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fhazards$"))


@pytest.mark.http_errors(401)
def test_wrong_password_keeps_the_username_and_says_why(page) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill("officer")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    expect(page.get_by_label("用户名")).to_have_value("officer")


@pytest.mark.http_errors(403)
def test_a_form_without_its_csrf_token_is_refused(page, sign_in) -> None:
    sign_in(page, "officer")
    # A forged form: the same sign-out, posted without the session's token.
    page.evaluate(
        """() => { const f = document.querySelector('form[action="/logout"]');
                   f.querySelector('input[name=csrf_token]').remove(); f.submit(); }"""
    )
    expect(page.get_by_role("alert")).to_have_text(re.compile("表单已失效"))
    page.goto("/")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()  # still signed in
