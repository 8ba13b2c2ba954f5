"""Single sign-on against the real OpenID provider (tests/oidc/conftest.py): an API client's code flow, and every
refusal a user could meet — a replayed answer, an expired ID token, a token for another application, a subject
nobody mapped, a deactivated account — and the claim rule that makes an account with exactly its rights."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import time_machine
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from sqlalchemy import func, select

from hazard_registry import clock
from hazard_registry.auth.models import User
from hazard_registry.auth.oidc import provider_for
from hazard_registry.errors import Unauthorized
from tests.oidc.harness import OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, OTHER_REDIRECT, PASSWORD, SCOPES, to_callback

AUTHORIZE = "/api/v1/auth/oidc/authorize"


def _link(client, world, username: str, subject: str) -> None:
    admin = world.headers(client, "admin")
    r = client.post(f"/api/v1/users/{world.ids[username]}/oidc-links", json={"subject": subject}, headers=admin)
    assert r.status_code == 201, r.text


def _signed_in_as(live_url: str, token: str) -> dict:
    r = httpx.get(f"{live_url}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_an_api_client_gets_our_bearer_token_through_the_provider(sso, live_url, client, world):
    _link(client, world, "officer2", "alice")
    with httpx.Client(base_url=live_url) as http:
        start = http.get(AUTHORIZE)
        assert start.status_code == 302
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] and query["nonce"]
        assert query["state"] and query["client_id"] == ["hazard-registry"]
        r = http.get(to_callback(http, f"{live_url}{AUTHORIZE}", "alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert _signed_in_as(live_url, body["access_token"])["username"] == "officer2"
    links = client.get(f"/api/v1/users/{world.ids['officer2']}/oidc-links", headers=world.headers(client, "admin"))
    assert links.json()["items"][0]["subject"] == "alice" and links.json()["items"][0]["last_sign_in_at"]


def test_a_replayed_answer_and_a_foreign_state_are_refused(sso, live_url, client, world):
    _link(client, world, "officer2", "bob")
    with httpx.Client(base_url=live_url) as http:
        callback = to_callback(http, f"{live_url}{AUTHORIZE}", "bob")
        before = dict(http.cookies)  # the session cookie that still holds the pending sign-in
        assert http.get(callback).status_code == 200
        replay = httpx.get(callback, cookies=before)
        assert replay.status_code == 401 and replay.json()["code"] == "oidc_replayed"
        assert "已使用过" in replay.json()["detail"]

        callback = to_callback(http, f"{live_url}{AUTHORIZE}", "bob")
        forged = callback.replace("state=", "state=x")
        r = http.get(forged)
        assert r.status_code == 401 and r.json()["code"] == "oidc_state_invalid"


def test_an_expired_id_token_is_refused(sso, live_url, client, world):
    _link(client, world, "officer2", "carol")
    with httpx.Client(base_url=live_url) as http:
        callback = to_callback(http, f"{live_url}{AUTHORIZE}", "carol")
        # The provider issued the ID token for its default hour; our clock moves on past it (the session, 2 h
        # of idleness, still holds).
        with time_machine.travel(clock.now() + timedelta(minutes=75), tick=True):
            r = http.get(callback)
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "oidc_token_invalid"
    assert "expired" in r.json()["detail_en"].lower()


def test_an_id_token_for_another_application_is_refused(sso, oidc_provider):
    """A real ID token the provider issued to another client: signature, issuer and expiry hold, the audience
    is not us."""
    nonce = generate_token(16)
    with (
        OAuth2Client(
            OTHER_CLIENT_ID,
            OTHER_CLIENT_SECRET,
            scope=SCOPES,
            redirect_uri=OTHER_REDIRECT,
            code_challenge_method="S256",
        ) as other,
        httpx.Client() as http,
    ):
        meta = httpx.get(f"{oidc_provider.issuer}/.well-known/openid-configuration").json()
        verifier = generate_token(48)
        url, _ = other.create_authorization_url(meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
        r = http.get(url, follow_redirects=True)
        action = r.text.split('action="', 1)[1].split('"', 1)[0]
        r = http.post(str(r.url.join(action)), data={"prompt": "login", "login": "alice", "password": PASSWORD})
        while not r.headers["location"].startswith(OTHER_REDIRECT):
            r = http.get(str(r.url.join(r.headers["location"])))
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        token = other.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
    ours = provider_for(sso)
    with pytest.raises(Unauthorized) as refused:
        ours.validate_id_token(token["id_token"], nonce, clock.now())
    assert refused.value.code == "oidc_token_invalid" and "aud" in refused.value.detail
    theirs = provider_for(sso.model_copy(update={"oidc_client_id": OTHER_CLIENT_ID}))
    assert theirs.validate_id_token(token["id_token"], nonce, clock.now())["sub"] == "alice"


def test_a_subject_nobody_mapped_is_refused_and_gets_no_account(sso, live_url, db):
    users_before = db.scalar(select(func.count()).select_from(User))
    with httpx.Client(base_url=live_url) as http:
        r = http.get(to_callback(http, f"{live_url}{AUTHORIZE}", "stranger"))
    assert r.status_code == 403 and r.json()["code"] == "oidc_subject_unmapped"
    assert "尚未开通" in r.json()["detail"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == users_before


def test_a_deactivated_local_user_is_refused(sso, live_url, client, world):
    admin = world.headers(client, "admin")
    made = client.post(
        "/api/v1/users",
        json={
            "username": "sso_leaver",
            "password": "Leaver-pass-2026!",
            "role": "regulator",
            "department_code": "T-NS-YJ",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    uid = made.json()["id"]
    assert client.post(f"/api/v1/users/{uid}/oidc-links", json={"subject": "dora"}, headers=admin).status_code == 201
    assert client.patch(f"/api/v1/users/{uid}", json={"active": False}, headers=admin).status_code == 200
    with httpx.Client(base_url=live_url) as http:
        r = http.get(to_callback(http, f"{live_url}{AUTHORIZE}", "dora"))
    assert r.status_code == 403 and r.json()["code"] == "account_deactivated"


def test_a_claim_rule_makes_an_account_with_exactly_its_rights(sso, live_url, client, world):
    admin = world.headers(client, "admin")
    rule = {
        "conditions": [
            {"claim": "org_code", "op": "equals", "value": "NS-YJ"},
            {"claim": "groups", "op": "contains", "value": "closers"},
        ],
        "role": "regulator",
        "department_code": "T-NS-YJ",
        "can_close": True,
    }
    r = client.post("/api/v1/auth/oidc/rules", json=rule, headers=admin)
    assert r.status_code == 201, r.text
    rule_id = r.json()["id"]
    with httpx.Client(base_url=live_url) as http:
        r = http.get(to_callback(http, f"{live_url}{AUTHORIZE}", "zhang"))
        assert r.status_code == 200, r.text
        me = _signed_in_as(live_url, r.json()["access_token"])
        assert me["role"] == "regulator" and me["department_id"] == world.ids["T-NS-YJ"]
        assert me["region_code"] == "440305" and me["display_name"] == "张南山"
        assert (me["can_close"], me["can_take_complaints"], me["can_reveal_identity"]) == (True, False, False)
    with httpx.Client(base_url=live_url) as http:  # the same org but not in the group: no rule matches, no account
        r = http.get(to_callback(http, f"{live_url}{AUTHORIZE}", "wang"))
        assert r.status_code == 403 and r.json()["code"] == "oidc_subject_unmapped"
    events = client.get(f"/api/v1/users/{me['id']}/events", headers=admin).json()["items"]
    created = next(e for e in events if e["action"] == "created")
    assert created["data"]["via"] == "oidc_rule" and created["data"]["rule_id"] == rule_id
    assert any(e["action"] == "rights_granted" and e["data"]["rights"] == ["can_close"] for e in events)

    # The rule retired: the account it made is refused at its next sign-in.
    assert client.delete(f"/api/v1/auth/oidc/rules/{rule_id}", headers=admin).status_code == 204
    with httpx.Client(base_url=live_url) as http:
        r = http.get(to_callback(http, f"{live_url}{AUTHORIZE}", "zhang"))
    assert r.status_code == 403 and r.json()["code"] == "oidc_subject_unmapped"


def test_an_account_made_by_rules_follows_the_claims_at_every_sign_in(sso, oidc_provider, live_url, client, world):
    admin = world.headers(client, "admin")
    org = {"claim": "org_code", "op": "equals", "value": "NS-YJ"}
    closers = {"conditions": [org, {"claim": "groups", "op": "contains", "value": "closers"}], "can_close": True}
    desk = {"conditions": [org, {"claim": "groups", "op": "contains", "value": "desk"}], "can_take_complaints": True}
    for rule in (closers, desk):
        body = rule | {"role": "regulator", "department_code": "T-NS-YJ"}
        assert client.post("/api/v1/auth/oidc/rules", json=body, headers=admin).status_code == 201

    def sign_in_as_erin() -> dict:
        with httpx.Client(base_url=live_url) as http:
            r = http.get(to_callback(http, f"{live_url}{AUTHORIZE}", "erin"))
        assert r.status_code == 200, r.text
        return _signed_in_as(live_url, r.json()["access_token"])

    config = json.loads(oidc_provider.config_path.read_text(encoding="utf-8"))
    original = config["accounts"]["erin"]
    try:
        config["accounts"]["erin"] = original | {"groups": ["desk"]}
        oidc_provider.config_path.write_text(json.dumps(config), encoding="utf-8")
        me = sign_in_as_erin()
        assert (me["can_close"], me["can_take_complaints"]) == (False, True)

        config["accounts"]["erin"] = original | {"groups": ["closers"]}  # moved to the closing team
        oidc_provider.config_path.write_text(json.dumps(config), encoding="utf-8")
        again = sign_in_as_erin()
        assert again["id"] == me["id"]
        assert (again["can_close"], again["can_take_complaints"]) == (True, False)
    finally:
        config["accounts"]["erin"] = original
        oidc_provider.config_path.write_text(json.dumps(config), encoding="utf-8")
    events = client.get(f"/api/v1/users/{me['id']}/events", headers=admin).json()["items"]
    applied = [e for e in events if e["action"] == "rule_applied"]
    assert applied and applied[-1]["data"]["changed"] == {"can_close": True, "can_take_complaints": False}
    assert any(e["action"] == "rights_withdrawn" and e["data"]["rights"] == ["can_take_complaints"] for e in events)
