"""Every action × every kind of caller × own or foreign hazard: the allowed outcome and each denial.

403: the caller sees the hazard but its role may not take the action.
404: the hazard is outside the caller's scope, so for them it does not exist.
409: wrong state, or a gate that does not hold.
"""

from __future__ import annotations

import pytest

from tests.flow import Flow

SOURCE = {
    "assign": "reported",
    "reject": "reported",
    "start_rectification": "assigned",
    "request_verification": "rectifying",
    "verify": "verification_requested",
    "fail_verification": "verification_requested",
    "close": "verified",
}
DEST = {
    "assign": "assigned",
    "reject": "rejected",
    "start_rectification": "rectifying",
    "request_verification": "verification_requested",
    "verify": "verified",
    "fail_verification": "rectifying",
    "close": "closed",
}
ENTERPRISE_ACTIONS = {"start_rectification", "request_verification"}
REGULATOR_ACTIONS = set(SOURCE) - ENTERPRISE_ACTIONS

# caller → (relation to the chem enterprise's hazard, what the caller is)
CALLERS = {
    "ent_chem": "own enterprise",
    "ent_metal": "another enterprise of the same district",
    "ent_futian": "an enterprise of another district",
    "officer": "regulator of the lead department, no closing authority",
    "chief": "regulator of the lead department with closing authority",
    "city": "regulator of the city bureau above, same sector, closing authority",
    "builder": "regulator of the same district, another sector",
    "futian_officer": "regulator of another district, same sector",
    "admin": "administrator of the district",
    "admin_futian": "administrator of another district",
}
OUT_OF_SCOPE = {"ent_metal", "ent_futian", "builder", "futian_officer", "admin_futian"}


def expected(action: str, caller: str) -> int:
    if caller in OUT_OF_SCOPE:
        return 404
    if caller == "ent_chem":
        return 200 if action in ENTERPRISE_ACTIONS else 403
    if caller == "admin":
        return 403
    if action in ENTERPRISE_ACTIONS:
        return 403
    if action == "close" and caller == "officer":
        return 403
    return 200


CASES = [(a, c) for a in SOURCE for c in CALLERS]


@pytest.mark.parametrize(("action", "caller"), CASES, ids=[f"{a}-{c}" for a, c in CASES])
def test_action_by_caller(client, world, action, caller):
    flow = Flow(client, world)
    hazard = flow.to_state(SOURCE[action])
    body = flow.body_for(action, hazard)
    r = flow.act(hazard, caller, action, **body)
    want = expected(action, caller)
    assert r.status_code == want, (caller, action, r.text)
    assert r.headers["content-type"].startswith("application/problem+json" if want != 200 else "application/json")
    after = client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("chief")).json()
    if want == 200:
        assert r.json()["state"] == DEST[action]
        assert after["state"] == DEST[action]
        assert after["version"] == hazard["version"] + 1
    else:
        assert after["state"] == SOURCE[action], "a denied action must change nothing"
        assert after["version"] == hazard["version"]
        assert r.json()["code"] in {"role_forbidden", "closing_authority_required", "hazard_not_found"}


WRONG_STATE = [
    (a, s)
    for a in SOURCE
    for s in ["reported", "assigned", "rectifying", "verification_requested", "verified", "closed", "rejected"]
    if s != SOURCE[a]
]


@pytest.mark.parametrize(("action", "state"), WRONG_STATE, ids=[f"{a}-from-{s}" for a, s in WRONG_STATE])
def test_action_in_wrong_state_is_409(client, world, action, state):
    flow = Flow(client, world)
    hazard = flow.to_state(state)
    caller = "ent_chem" if action in ENTERPRISE_ACTIONS else ("chief2" if action == "close" else "officer")
    body = (
        flow.body_for(action, hazard)
        if action != "request_verification" or state not in {"closed", "rejected"}
        else {"report": "x", "evaluated_by": "self", "evidence_ids": [1]}
    )
    r = flow.act(hazard, caller, action, **body)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "wrong_state"


def test_allowed_actions_follow_role_and_state(client, world):
    flow = Flow(client, world)
    hazard = flow.report()
    assert hazard["allowed_actions"] == []  # the enterprise that reported it has nothing to do yet
    seen = client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer")).json()
    assert seen["allowed_actions"] == ["assign", "reject"]
    assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("admin")).json()["allowed_actions"] == []
    verified = flow.to_state("verified")
    as_officer = client.get(f"/api/v1/hazards/{verified['id']}", headers=flow.h("officer")).json()
    assert as_officer["allowed_actions"] == []  # verified it and holds no closing authority
    as_chief = client.get(f"/api/v1/hazards/{verified['id']}", headers=flow.h("chief")).json()
    assert as_chief["allowed_actions"] == ["close"]
