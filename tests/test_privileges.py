"""Least privilege among administrators (issue #11, item 3): levels by region, no peers, no self-grants,
audited grants, and the two-person rule on identity reveals held between two people, not two accounts."""

from __future__ import annotations

import uuid
from typing import Any

from tests.factories import NANSHAN, PASSWORD
from tests.test_complaints import Desk

PW = "Xk9-harbour-lantern"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _create(client, h, **body: Any):
    return client.post("/api/v1/users", headers=h, json={"password": PW, **body})


def _login(client, username: str, password: str = PW) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_an_administrator_manages_only_users_below_its_level(client, world):
    county, city = world.headers(client, "admin"), world.headers(client, "admin_city")
    # A county's administrator cannot make a peer administrator in its own county…
    r = _create(client, county, username=_name("peer"), role="admin", region_code=NANSHAN)
    assert r.status_code == 403 and r.json()["code"] == "admin_level_forbidden"
    # …the city's can, and the county's cannot then reset that peer's password nor deactivate it.
    peer = _create(client, city, username=_name("ns-admin"), role="admin", region_code=NANSHAN)
    assert peer.status_code == 201, peer.text
    pid = peer.json()["id"]
    for change in ({"password": "Another-lantern-77"}, {"active": False}, {"can_take_complaints": True}):
        r = client.patch(f"/api/v1/users/{pid}", headers=county, json=change)
        assert r.status_code == 403 and r.json()["code"] == "admin_level_forbidden", change
    assert _login(client, peer.json()["username"])  # the old password still works
    # The county's administrator still manages the regulators and enterprise users of its county.
    r = client.patch(f"/api/v1/users/{world.ids['officer2']}", headers=county, json={"display_name": "二号"})
    assert r.status_code == 200
    # Nor may a city administrator touch the national one, or one of its own level.
    assert client.patch(f"/api/v1/users/{world.ids['national']}", headers=city, json={"active": False}).status_code in (
        403,
        404,
    )
    # The city resets the county administrator's password: allowed, and on the record.
    assert (
        client.patch(f"/api/v1/users/{pid}", headers=city, json={"password": "Another-lantern-77"}).status_code == 200
    )
    events = client.get(f"/api/v1/users/{pid}/events", headers=city).json()["items"]
    assert [(e["action"], e["actor_id"]) for e in events] == [
        ("created", world.ids["admin_city"]),
        ("password_reset", world.ids["admin_city"]),
    ]


def test_nobody_grants_rights_to_themselves(client, world):
    h = world.headers(client, "admin")
    me = world.ids["admin"]
    for right in ("can_reveal_identity", "can_take_complaints", "active"):
        r = client.patch(f"/api/v1/users/{me}", headers=h, json={right: True})
        assert r.status_code == 403 and r.json()["code"] == "self_grant_forbidden", right
    assert client.get("/api/v1/users/me", headers=h).json()["can_reveal_identity"] is False
    # Its own name and password it may change.
    assert client.patch(f"/api/v1/users/{me}", headers=h, json={"display_name": "南山安委办"}).status_code == 200


def test_rights_granted_and_withdrawn_are_audited_events(client, world):
    h = world.headers(client, "admin")
    uid = world.ids["officer2"]
    assert client.patch(f"/api/v1/users/{uid}", headers=h, json={"can_take_complaints": True}).status_code == 200
    assert client.patch(f"/api/v1/users/{uid}", headers=h, json={"can_take_complaints": False}).status_code == 200
    events = [
        e
        for e in client.get(f"/api/v1/users/{uid}/events", headers=h).json()["items"]
        if e["action"].startswith("rights")
    ]
    assert [(e["action"], e["data"], e["actor_id"]) for e in events[-2:]] == [
        ("rights_granted", {"rights": ["can_take_complaints"]}, world.ids["admin"]),
        ("rights_withdrawn", {"rights": ["can_take_complaints"]}, world.ids["admin"]),
    ]
    assert client.get(f"/api/v1/users/{uid}/events", headers=world.headers(client, "officer")).status_code == 403


def test_one_administrator_alone_cannot_reveal_a_reporter(client, world):
    """The attack of the issue: the administrator makes a second account, asks with it and approves."""
    d = Desk(client, world)
    county, city = world.headers(client, "admin"), world.headers(client, "admin_city")
    d.submit(reporter={"name": "钱七七", "phone": "13912345670"})
    c = d.only()
    me = world.ids["admin"]
    try:
        # Granting itself the right is refused; the city grants it (a second person).
        assert (
            client.patch(f"/api/v1/users/{me}", headers=county, json={"can_reveal_identity": True}).status_code == 403
        )
        assert client.patch(f"/api/v1/users/{me}", headers=city, json={"can_reveal_identity": True}).status_code == 200
        # An account it makes cannot be given the right by it, at creation or after.
        r = _create(
            client,
            county,
            username=_name("sock"),
            role="regulator",
            department_code="T-NS-YJ",
            can_reveal_identity=True,
        )
        assert r.status_code == 403 and r.json()["code"] == "reveal_grant_by_creator"
        sock = _create(client, county, username=_name("sock"), role="regulator", department_code="T-NS-YJ")
        assert sock.status_code == 201
        r = client.patch(f"/api/v1/users/{sock.json()['id']}", headers=county, json={"can_reveal_identity": True})
        assert r.status_code == 403 and r.json()["code"] == "reveal_grant_by_creator"
        # The second account asks; the administrator who made it may not approve.
        sh = _login(client, sock.json()["username"])
        r = client.post(f"/api/v1/complaints/{c['id']}/identity-reveals", json={"reason": "核实"}, headers=sh)
        assert r.status_code == 201, r.text
        url = f"/api/v1/complaints/{c['id']}/identity-reveals/{r.json()['id']}"
        r = client.post(f"{url}/decision", json={"decision": "approve"}, headers=county)
        assert r.status_code == 403 and r.json()["code"] == "reveal_self_approval"
        assert client.get(f"{url}/identity", headers=sh).status_code == 403
        # Someone unrelated to the asking account may decide.
        national = world.headers(client, "national")
        chief = world.ids["chief"]
        assert client.patch(f"/api/v1/users/{chief}", headers=national, json={"can_reveal_identity": True}).is_success
        r = client.post(f"{url}/decision", json={"decision": "refuse", "note": "理由不足"}, headers=d.h("chief"))
        assert r.status_code == 200 and r.json()["state"] == "refused"
    finally:
        client.patch(f"/api/v1/users/{me}", headers=city, json={"can_reveal_identity": False})
        client.patch(f"/api/v1/users/{world.ids['chief']}", headers=city, json={"can_reveal_identity": False})


def test_a_password_reset_by_an_administrator_withdraws_the_right_to_approve(client, world):
    city = world.headers(client, "admin_city")
    u = _create(client, city, username=_name("approver"), role="regulator", department_code="T-NS-YJ").json()
    national = world.headers(client, "national")
    assert client.patch(f"/api/v1/users/{u['id']}", headers=national, json={"can_reveal_identity": True}).json()[
        "can_reveal_identity"
    ]
    r = client.patch(f"/api/v1/users/{u['id']}", headers=national, json={"password": "Fresh-lantern-2026"})
    assert r.status_code == 200 and r.json()["can_reveal_identity"] is False
    assert PASSWORD  # the world's users keep theirs
