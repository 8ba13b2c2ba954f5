"""The console over HTTP (no browser): sign-in, session, CSRF, deny rules, pages render in Chinese."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from fastapi.testclient import TestClient

from hazard_registry import clock
from tests.factories import PASSWORD, World


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_anonymous_home_redirects_to_sign_in(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    page = client.get("/login")
    assert '<html lang="zh-CN">' in page.text
    assert "登录" in page.text


def test_sign_in_shows_the_console_and_cookie_is_safe(client: TestClient, world: World) -> None:
    page = client.get("/login")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    sign_in(client, "officer")
    home = client.get("/")
    assert home.status_code == 200
    assert "工作台" in home.text and "退出登录" in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]


def test_wrong_password_is_refused_in_chinese_and_username_kept(client: TestClient, world: World) -> None:
    page = client.get("/login")
    r = client.post(
        "/login", data={"username": "officer", "password": "nope", "csrf_token": csrf_of(page.text), "next": "/"}
    )
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert 'value="officer"' in r.text


def test_post_without_csrf_token_is_refused(client: TestClient, world: World) -> None:
    client.get("/login")
    r = client.post("/login", data={"username": "officer", "password": PASSWORD, "next": "/"})
    assert r.status_code == 403
    assert "表单已失效" in r.text


def test_sign_out_ends_the_session(client: TestClient, world: World) -> None:
    sign_in(client, "officer")
    home = client.get("/")
    r = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_unknown_page_is_a_chinese_404_page_but_the_api_keeps_problem_json(client: TestClient, world: World) -> None:
    sign_in(client, "officer")
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "页面不存在" in r.text
    api = client.get("/api/v1/no-such-thing")
    assert api.headers["content-type"].startswith("application/problem+json")


def test_an_idle_session_expires_with_a_clear_message(client: TestClient, world: World, settings) -> None:
    sign_in(client, "officer")
    assert client.get("/", follow_redirects=False).status_code == 200
    later = clock.now() + timedelta(minutes=settings.console_session_minutes + 1)
    with time_machine.travel(later, tick=True):
        r = client.get("/hazards", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fhazards"
        page = client.get("/login?next=%2Fhazards")
        assert "会话已过期，请重新登录" in page.text


def test_a_session_ends_when_the_password_changes(client: TestClient, world: World, db) -> None:
    sign_in(client, "officer")
    admin = world.headers(client, "admin")
    r = client.patch(f"/api/v1/users/{world.ids['officer']}", json={"password": "another-pass-2026"}, headers=admin)
    assert r.status_code == 200, r.text
    assert client.get("/", follow_redirects=False).status_code == 303
    client.patch(f"/api/v1/users/{world.ids['officer']}", json={"password": PASSWORD}, headers=admin)
    world.tokens.pop("officer", None)  # its API token died with the change too
