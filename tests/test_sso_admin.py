"""Single sign-on's administration and switches that need no provider: password sign-in switched off per role,
who may set claim rules and links, and single sign-on answering 404 when it is not configured."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from tests.oidc.harness import settings_changed
from tests.test_console import csrf_of, sign_in


@pytest.fixture
def no_password_for_regulators(app):
    with settings_changed(app, password_login_disabled_roles="regulator") as settings:
        yield settings


def test_password_sign_in_switched_off_for_a_role(no_password_for_regulators, client):
    r = client.post("/api/v1/auth/token", data={"username": "officer", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["code"] == "password_login_disabled"
    assert "统一身份认证" in r.json()["detail"]
    # a wrong password tells nothing about the role
    r = client.post("/api/v1/auth/token", data={"username": "officer", "password": "wrong-password"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
    # other roles sign in as before
    assert client.post("/api/v1/auth/token", data={"username": "ent_chem", "password": PASSWORD}).status_code == 200

    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post("/login", data={"username": "officer", "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 403
    assert "您的角色须使用统一身份认证登录" in r.text


def test_without_an_issuer_single_sign_on_is_off(client):
    assert "使用统一身份认证登录" not in client.get("/login").text
    r = client.get("/api/v1/auth/oidc/authorize", follow_redirects=False)
    assert r.status_code == 404 and r.json()["code"] == "oidc_not_configured"
    r = client.get("/login/oidc", follow_redirects=False)
    assert r.status_code == 404 and "未启用统一身份认证" in r.text


RULE = {"conditions": [{"claim": "org_code", "op": "equals", "value": "X"}]}


def test_claim_rules_stay_within_the_administrators_region_and_level(client, world):
    admin = world.headers(client, "admin")  # Nanshan's
    futian_dept = RULE | {"role": "regulator", "department_code": "T-FT-YJ"}
    r = client.post("/api/v1/auth/oidc/rules", json=futian_dept, headers=admin)
    assert r.status_code == 403, r.text
    peer = RULE | {"role": "admin", "region_code": "440305"}
    r = client.post("/api/v1/auth/oidc/rules", json=peer, headers=admin)
    assert r.status_code == 403 and r.json()["code"] == "admin_level_forbidden"
    r = client.post("/api/v1/auth/oidc/rules", json=RULE | {"role": "enterprise", "can_close": True}, headers=admin)
    assert r.status_code == 422
    ok = client.post(
        "/api/v1/auth/oidc/rules", json=RULE | {"role": "regulator", "department_code": "T-NS-YJ"}, headers=admin
    )
    assert ok.status_code == 201, ok.text
    # Futian's administrator neither sees nor retires Nanshan's rule
    futian = world.headers(client, "admin_futian")
    assert client.get("/api/v1/auth/oidc/rules", headers=futian).json()["items"] == []
    assert client.delete(f"/api/v1/auth/oidc/rules/{ok.json()['id']}", headers=futian).status_code == 404
    assert client.get("/api/v1/auth/oidc/rules", headers=world.headers(client, "officer")).status_code == 403


def test_a_subject_links_to_one_user_and_the_link_is_audited(client, world):
    admin = world.headers(client, "admin")
    officer, officer2 = world.ids["officer"], world.ids["officer2"]
    r = client.post(
        f"/api/v1/users/{officer}/oidc-links", json={"subject": "s-1", "issuer": "https://idp"}, headers=admin
    )
    assert r.status_code == 201, r.text
    again = client.post(
        f"/api/v1/users/{officer2}/oidc-links", json={"subject": "s-1", "issuer": "https://idp"}, headers=admin
    )
    assert again.status_code == 409 and again.json()["code"] == "oidc_link_exists"
    # no issuer given and none configured
    r = client.post(f"/api/v1/users/{officer2}/oidc-links", json={"subject": "s-2"}, headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "oidc_not_configured"
    # another region's administrator cannot see the user
    futian = world.headers(client, "admin_futian")
    assert (
        client.post(
            f"/api/v1/users/{officer}/oidc-links", json={"subject": "s-3", "issuer": "https://idp"}, headers=futian
        ).status_code
        == 404
    )
    events = client.get(f"/api/v1/users/{officer}/events", headers=admin).json()["items"]
    assert any(e["action"] == "oidc_linked" and e["data"]["subject"] == "s-1" for e in events)
    link_id = client.get(f"/api/v1/users/{officer}/oidc-links", headers=admin).json()["items"][0]["id"]
    assert client.delete(f"/api/v1/users/{officer}/oidc-links/{link_id}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/users/{officer}/oidc-links", headers=admin).json()["items"] == []


def test_an_administrator_links_a_subject_on_the_users_page(client, world):
    sign_in(client, "admin")
    officer = world.ids["officer"]
    page = client.get(f"/admin/users/{officer}")
    assert "统一身份认证账号" in page.text and "尚未关联" in page.text
    with settings_changed(client.app, oidc_issuer="https://idp.example.gov.cn", oidc_client_id="hazard"):
        r = client.post(
            f"/admin/users/{officer}/oidc-links",
            data={"subject": "zhang-001", "csrf_token": csrf_of(page.text)},
            follow_redirects=True,
        )
    assert r.status_code == 200 and "已关联统一身份认证账号" in r.text
    assert "zhang-001" in r.text and "https://idp.example.gov.cn" in r.text and "管理员关联" in r.text
    # the same subject on another user: refused in Chinese, on the page
    other = client.get(f"/admin/users/{world.ids['officer2']}")
    r = client.post(
        f"/admin/users/{world.ids['officer2']}/oidc-links",
        data={"subject": "zhang-001", "issuer": "https://idp.example.gov.cn", "csrf_token": csrf_of(other.text)},
    )
    assert r.status_code == 409 and "该统一身份认证账号已关联其他用户" in r.text
    link_id = client.get(f"/api/v1/users/{officer}/oidc-links", headers=world.headers(client, "admin")).json()
    link_id = link_id["items"][0]["id"]
    r = client.post(
        f"/admin/users/{officer}/oidc-links/{link_id}/delete",
        data={"csrf_token": csrf_of(client.get(f"/admin/users/{officer}").text)},
        follow_redirects=True,
    )
    assert "已解除关联" in r.text and "zhang-001" not in r.text


def test_an_administrator_sets_and_retires_a_claim_rule_in_the_console(client, world):
    sign_in(client, "admin")
    page = client.get("/admin/sso")
    assert page.status_code == 200 and "尚无规则" in page.text
    form = {
        "equals_claim": "org_code",
        "equals_value": "NS-YJ",
        "contains_claim": "groups",
        "contains_value": "closers",
    }
    form |= {"role": "regulator", "department_code": "T-NS-YJ", "can_close": "on", "csrf_token": csrf_of(page.text)}
    r = client.post("/admin/sso", data=form, follow_redirects=True)
    assert "已新增映射规则" in r.text
    assert "org_code 等于 NS-YJ，且 groups 包含 closers" in r.text and "南山区应急管理局" in r.text
    rule = client.get("/api/v1/auth/oidc/rules", headers=world.headers(client, "admin")).json()["items"][0]
    assert (rule["role"], rule["can_close"], rule["can_take_complaints"]) == ("regulator", True, False)
    # another region's department: refused in Chinese, what was typed kept
    page = client.get("/admin/sso")
    r = client.post("/admin/sso", data=form | {"department_code": "T-FT-YJ", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 403 and "不在您的管辖地区内" in r.text and 'value="T-FT-YJ"' in r.text
    r = client.post(f"/admin/sso/{rule['id']}/retire", data={"csrf_token": csrf_of(page.text)}, follow_redirects=True)
    assert "已停用" in r.text
