"""The console offers exactly what the services accept: for every kind of user and every state of a hazard, the
buttons and forms of its page are the actions the services take — no more (a button that ends in a refusal) and
no fewer. The forms of 管理 are shown only to whom the service lets save them."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from hazard_registry import clock
from hazard_registry.auth.deps import actor_for_user
from hazard_registry.auth.models import User
from hazard_registry.errors import DomainError
from hazard_registry.hazards import schemas
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.models import Extension, Hazard, HazardAttachment
from tests.factories import PLAN, PNG, World
from tests.flow import Flow
from tests.test_console import sign_in

TRANSITION = TypeAdapter(schemas.TransitionBody)
USERS = ["ent_chem", "ent_metal", "officer", "chief", "builder", "city", "futian_officer", "admin", "national"]
WORKFLOW_ACTIONS = [
    "assign",
    "reject",
    "start_rectification",
    "request_verification",
    "verify",
    "fail_verification",
    "close",
]


def _hazards(flow: Flow) -> dict[str, dict[str, Any]]:
    """One hazard in every state, evidence ready where it is asked for, and one with an extension pending."""
    out = {s: flow.to_state(s) for s in ("reported", "assigned", "verified", "closed", "rejected")}
    rect = flow.to_state("rectifying")
    assert flow.attach(rect).status_code == 201
    out["rectifying"] = rect
    out["verification_requested"] = flow.to_state("verification_requested")
    pending = flow.to_state("assigned")
    r = flow.client.post(
        f"/api/v1/hazards/{pending['id']}/extensions",
        json={"requested_deadline": (date.fromisoformat(pending["deadline"]) + timedelta(days=20)).isoformat(),
              "reason": "设备到货延迟"},
        headers=flow.h("ent_chem"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    out["assigned, extension pending"] = pending
    return out


def _shown(html: str, hid: int) -> set[str]:
    """The actions the page offers: its action buttons and the forms of its side actions."""
    shown = set(re.findall(rf'href="/hazards/{hid}/act/(\w+)"', html))
    if f'action="/hazards/{hid}/attachments"' in html:
        shown.add("attach")
    if f'action="/hazards/{hid}/extensions"' in html:
        shown.add("request_extension")
    if re.search(rf'action="/hazards/{hid}/extensions/\d+"', html):
        shown.add("decide_extension")
    return shown


def _attempt(app: Any, world: World, username: str, hid: int, action: str, tmp: Path) -> str:
    """Take ``action`` through the service with a well-formed payload, then roll it back: "ok" or the refusal."""
    now = clock.now()
    with app.state.sessionmaker() as s:
        try:
            actor = actor_for_user(s, s.scalar(select(User).where(User.username == username)))
            row = s.get(Hazard, hid)
            assert row is not None
            if action == "attach":
                hazards.add_attachment(
                    s, actor, hid, kind="other", filename="x.png", stream=io.BytesIO(PNG), root=tmp,
                    max_bytes=1 << 20, allowed_types=["image/png"], now=now,
                )  # fmt: skip
            elif action == "request_extension":
                later = (row.deadline or clock.today_in_china()) + timedelta(days=30)
                data = schemas.ExtensionCreate(requested_deadline=later, reason="设备到货延迟")
                hazards.request_extension(s, actor, hid, data, now)
            elif action == "decide_extension":
                ext = s.scalar(select(Extension.id).where(Extension.hazard_id == hid).order_by(Extension.id.desc()))
                if ext is None:
                    return "no extension"
                hazards.decide_extension(s, actor, hid, ext, schemas.ExtensionDecision(decision="refuse"), now)
            else:
                hazards.transition(s, actor, hid, TRANSITION.validate_python(_body(world, s, row, action)),
                                   expected_version=row.version, now=now)  # fmt: skip
            return "ok"
        except DomainError as exc:
            return exc.code
        except ValidationError:
            return "invalid payload"
        finally:
            s.rollback()


def _body(world: World, s: Any, row: Any, action: str) -> dict[str, Any]:
    today = clock.today_in_china()
    bodies: dict[str, dict[str, Any]] = {
        "assign": {"officer_id": world.ids["officer"], "deadline": today + timedelta(days=30)},
        "reject": {"reason": "not_major"},
        "start_rectification": {"plan": {**PLAN, "deadline": row.deadline or today + timedelta(days=30)}},
        "request_verification": {
            "report": "整改完成",
            "evaluated_by": "self",
            "evidence_ids": list(s.scalars(select(HazardAttachment.id).where(HazardAttachment.hazard_id == row.id))),
        },
        "verify": {"check_record": "现场核查合格"},
        "fail_verification": {"reasons": "联锁未投用"},
        "close": {},
    }
    return {"action": action, **bodies[action]}


def test_every_button_the_console_shows_is_an_action_the_service_takes(
    client: TestClient, world: World, app: Any, tmp_path: Path
) -> None:
    flow = Flow(client, world)
    made = _hazards(flow)
    mismatches = []
    for username in USERS:
        sign_in(client, username)
        for state, hazard in made.items():
            hid = hazard["id"]
            page = client.get(f"/hazards/{hid}")
            shown = _shown(page.text, hid) if page.status_code == 200 else set()
            for action in [*WORKFLOW_ACTIONS, "attach", "request_extension", "decide_extension"]:
                outcome = _attempt(app, world, username, hid, action, tmp_path)
                if (action in shown) != (outcome == "ok"):
                    mismatches.append(f"{username} on {state}: {action} shown={action in shown} service={outcome}")
    assert not mismatches, "\n".join(mismatches)


def test_the_assign_form_lists_exactly_the_colleagues_the_gate_accepts(
    client: TestClient, world: World, app: Any
) -> None:
    flow = Flow(client, world)
    hazard = flow.report()
    sign_in(client, "officer")
    form = client.get(f"/hazards/{hazard['id']}/act/assign")
    listed = {int(i) for i in re.findall(r'<option value="(\d+)"', form.text)}
    with app.state.sessionmaker() as s:  # other tests may have added colleagues: ask the table, not a list
        colleagues = set(
            s.scalars(
                select(User.id).where(
                    User.department_id == world.ids["T-NS-YJ"], User.role == "regulator", User.active.is_(True)
                )
            )
        )
    assert listed == colleagues and {world.ids[u] for u in ("officer", "officer2", "chief", "chief2")} <= listed
    assert world.ids["builder"] not in listed and world.ids["futian_officer"] not in listed
    deadline = (clock.today_in_china() + timedelta(days=30)).isoformat()
    refused = flow.act(hazard, "officer", "assign", officer_id=world.ids["builder"], deadline=deadline)
    assert refused.status_code == 409 and refused.json()["code"] == "officer_invalid"


@pytest.mark.parametrize(("username", "form_shown"), [("admin", False), ("admin_city", False), ("national", True)])
def test_the_holiday_form_is_shown_only_to_whom_may_load_it(client: TestClient, world: World, username, form_shown):
    sign_in(client, username)
    page = client.get("/admin/calendar?year=2099")
    assert page.status_code == 200
    assert ('action="/admin/calendar/2099"' in page.text) is form_shown
    if not form_shown:
        assert "国家级管理员" in page.text
