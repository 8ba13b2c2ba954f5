"""Single sign-on in a real browser, through the real OpenID provider's own sign-in form (tests/oidc)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.oidc.harness import PASSWORD, oidc_provider, sso  # noqa: F401  (the provider and its settings)

pytestmark = pytest.mark.oidc


def _provider_form(page, login: str) -> None:
    page.get_by_placeholder(re.compile("login", re.I)).fill(login)
    page.get_by_placeholder(re.compile("password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign-in", re.I)).click()


def test_an_officer_signs_in_through_the_provider_and_out_of_both(sso, page, client, world, screenshot):  # noqa: F811
    admin = world.headers(client, "admin")
    r = client.post(f"/api/v1/users/{world.ids['officer']}/oidc-links", json={"subject": "browser"}, headers=admin)
    assert r.status_code == 201, r.text

    page.goto("/hazards")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fhazards$"))
    page.get_by_role("link", name="使用统一身份认证登录").click()
    expect(page).to_have_url(re.compile(r"^" + re.escape(sso.oidc_issuer) + "/interaction/"))
    screenshot(page, "provider-form")
    _provider_form(page, "browser")
    expect(page).to_have_url(re.compile(r"/hazards$"))
    expect(page.get_by_text("欢迎，officer")).to_be_visible()
    expect(page.get_by_text("监管人员")).to_be_visible()

    page.get_by_role("button", name="退出登录").click()
    # The provider asks whether to end its session too; then it sends the user back to our sign-in page.
    expect(page).to_have_url(re.compile(r"^" + re.escape(sso.oidc_issuer) + "/session/end"))
    page.get_by_role("button", name=re.compile("yes", re.I)).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("您已安全退出")).to_be_visible()
    # Signed out of the provider too: the next sign-in asks for the provider's form again.
    page.get_by_role("link", name="使用统一身份认证登录").click()
    expect(page.get_by_placeholder(re.compile("login", re.I))).to_be_visible()


@pytest.mark.http_errors(403)
def test_an_unmapped_subject_is_told_why_on_the_sign_in_page(sso, page):  # noqa: F811
    page.goto("/login")
    page.get_by_role("link", name="使用统一身份认证登录").click()
    _provider_form(page, "browser-unmapped")
    expect(page).to_have_url(re.compile(r"/login/oidc/callback"))
    expect(page.get_by_role("alert")).to_have_text("您的统一身份认证账号尚未开通本系统权限，请联系管理员")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))  # no session was made
