"""Logging in, tokens, and the administrator's management of users within its region."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import jwt
import pytest
import time_machine

from hazard_registry import clock
from hazard_registry.auth import security
from hazard_registry.auth.security import decode_token, issue_token
from hazard_registry.errors import Unauthorized
from tests.factories import PASSWORD, uscc


def _login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_login_gives_a_bearer_token_that_identifies_the_user(client, world):
    r = _login(client, "officer")
    assert r.status_code == 200
    token = r.json()["access_token"]
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "officer" and body["role"] == "regulator"
    assert "password_hash" not in body and "password" not in body


def test_wrong_password_and_unknown_user_answer_alike(client, world):
    wrong = _login(client, "officer", "not-the-password")
    unknown = _login(client, "nobody-at-all", "not-the-password")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_credentials"
    assert wrong.json()["detail"] == unknown.json()["detail"], "the answer must not reveal which usernames exist"


def test_requests_without_a_valid_token_are_refused(client, world, settings):
    assert client.get("/api/v1/hazards").status_code == 401
    assert client.get("/api/v1/hazards", headers={"Authorization": "Bearer junk"}).json()["code"] == "invalid_token"
    expired = jwt.encode(
        {
            "sub": str(world.ids["officer"]),
            "gen": 0,
            "role": "regulator",
            "iat": clock.now() - timedelta(days=2),
            "exp": clock.now() - timedelta(days=1),
        },
        settings.effective_jwt_secret,
        algorithm="HS256",
    )
    r = client.get("/api/v1/hazards", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    forged = jwt.encode(
        {"sub": str(world.ids["admin"]), "gen": 0, "role": "admin"}, "another-secret-" + "y" * 32, algorithm="HS256"
    )
    assert client.get("/api/v1/users", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_a_token_verified_before_is_still_refused_once_expired(client, world, settings):
    """A worker keeps the tokens it has verified (auth/security.py), and still checks the expiry at every use."""
    now = clock.now()
    token = issue_token(
        user_id=world.ids["officer"],
        generation=0,
        role="regulator",
        secret=settings.effective_jwt_secret,
        now=now - timedelta(seconds=5),
        ttl=timedelta(minutes=10),
    )
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/hazards?limit=1", headers=h).status_code == 200
    assert (settings.effective_jwt_secret, token) in security._VERIFIED
    with time_machine.travel(now + timedelta(minutes=11), tick=False):
        r = client.get("/api/v1/hazards?limit=1", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    assert (settings.effective_jwt_secret, token) not in security._VERIFIED


def test_a_tampered_token_is_refused_and_never_kept(client, world, settings):
    token = world.headers(client, "officer")["Authorization"].removeprefix("Bearer ")
    assert client.get("/api/v1/hazards?limit=1", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    admin = jwt.utils.base64url_encode(json.dumps({**claims, "sub": str(world.ids["admin"])}).encode()).decode()
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for bad in (f"{header}.{admin}.{signature}", f"{header}.{payload}.{flipped}", token + "x"):
        r = client.get("/api/v1/hazards?limit=1", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and r.json()["code"] == "invalid_token", bad
        assert (settings.effective_jwt_secret, bad) not in security._VERIFIED
    with pytest.raises(Unauthorized):  # the same, verified token under another deployment's secret
        decode_token(token, "another-secret-" + "z" * 32)


def test_admin_creates_users_in_its_region_only(client, world):
    h = world.headers(client, "admin")
    name = _name("ns-officer")
    r = client.post(
        "/api/v1/users",
        headers=h,
        json={
            "username": name,
            "password": "long-enough-pw",
            "role": "regulator",
            "department_code": "T-NS-YJ",
            "can_close": True,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["can_close"] is True and r.json()["region_code"] == "440305"
    assert _login(client, name, "long-enough-pw").status_code == 200

    # 福田 is outside 南山's administrator
    r = client.post(
        "/api/v1/users",
        headers=h,
        json={"username": _name("ft"), "password": "long-enough-pw", "role": "regulator", "department_code": "T-FT-YJ"},
    )
    assert r.status_code == 403 and r.json()["code"] == "region_forbidden"
    r = client.post(
        "/api/v1/users",
        headers=h,
        json={"username": _name("city-admin"), "password": "long-enough-pw", "role": "admin", "region_code": "440300"},
    )
    assert r.status_code == 403, "an administrator cannot create one above itself"

    # duplicates and bad input
    r = client.post(
        "/api/v1/users",
        headers=h,
        json={"username": name, "password": "long-enough-pw", "role": "regulator", "department_code": "T-NS-YJ"},
    )
    assert r.status_code == 409 and r.json()["code"] == "username_taken"
    r = client.post(
        "/api/v1/users",
        headers=h,
        json={
            "username": _name("e"),
            "password": "long-enough-pw",
            "role": "enterprise",
            "enterprise_uscc": uscc("91440300MA5T09999"),
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "enterprise_uscc"
    r = client.post(
        "/api/v1/users", headers=h, json={"username": _name("e"), "password": "short", "role": "enterprise"}
    )
    assert r.status_code == 422 and any(e["field"] == "password" for e in r.json()["errors"])
    r = client.post(
        "/api/v1/users",
        headers=h,
        json={
            "username": _name("e"),
            "password": "long-enough-pw",
            "role": "enterprise",
            "enterprise_uscc": uscc("91440300MA5T00001"),
            "can_close": True,
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "can_close"


def test_only_admins_manage_users(client, world):
    for who in ("officer", "chief", "ent_chem", "city"):
        h = world.headers(client, who)
        assert client.get("/api/v1/users", headers=h).status_code == 403
        r = client.post(
            "/api/v1/users",
            headers=h,
            json={"username": _name("x"), "password": "long-enough-pw", "role": "admin", "region_code": "440305"},
        )
        assert r.status_code == 403 and r.json()["code"] == "role_forbidden"


def test_admin_lists_and_reads_only_users_of_its_region(client, world):
    h = world.headers(client, "admin")
    names = {u["username"] for u in client.get("/api/v1/users?limit=500", headers=h).json()["items"]}
    assert {"officer", "chief", "ent_chem", "builder"} <= names
    assert not names & {"futian_officer", "ent_futian", "admin_futian", "city"}
    r = client.get(f"/api/v1/users/{world.ids['futian_officer']}", headers=h)
    assert r.status_code == 404, "a user outside the region does not exist for this administrator"
    r = client.patch(f"/api/v1/users/{world.ids['futian_officer']}", headers=h, json={"active": False})
    assert r.status_code == 404
    regulators = client.get("/api/v1/users?role=regulator", headers=h).json()["items"]
    assert regulators and all(u["role"] == "regulator" for u in regulators)
    first = client.get("/api/v1/users?limit=2", headers=h).json()
    after = client.get("/api/v1/users", params={"limit": 2, "cursor": first["next_cursor"]}, headers=h).json()
    assert after["items"] and after["items"][0]["id"] > first["items"][-1]["id"], "keyset pages, oldest first"


def test_deactivating_a_user_or_changing_its_password_revokes_its_tokens(client, world):
    h = world.headers(client, "admin")
    name = _name("temp")
    user = client.post(
        "/api/v1/users",
        headers=h,
        json={
            "username": name,
            "password": "long-enough-pw",
            "role": "enterprise",
            "enterprise_uscc": uscc("91440300MA5T00002"),
        },
    ).json()
    token = _login(client, name, "long-enough-pw").json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/hazards", headers=mine).status_code == 200

    assert (
        client.patch(f"/api/v1/users/{user['id']}", headers=h, json={"password": "another-long-pw"}).status_code == 200
    )
    assert client.get("/api/v1/hazards", headers=mine).status_code == 401, "old token dies with the old password"
    token = _login(client, name, "another-long-pw").json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}

    assert client.patch(f"/api/v1/users/{user['id']}", headers=h, json={"active": False}).status_code == 200
    assert client.get("/api/v1/hazards", headers=mine).status_code == 401
    assert _login(client, name, "another-long-pw").status_code == 401, "a deactivated user cannot log in"
