"""Hazard pages over HTTP: the clause picker's editions, extensions, refusals that keep what was typed."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from hazard_registry import clock
from tests.factories import World
from tests.flow import Flow
from tests.test_console import csrf_of, sign_in


def test_clause_picker_offers_only_editions_in_force_on_the_found_date(client: TestClient, world: World) -> None:
    sign_in(client, "ent_metal")  # the superseded edition is of its sector (industry and trade)
    today = clock.today_in_china()
    now = client.get("/hazards/new/clauses", params={"found_at": today.isoformat()})
    before = client.get("/hazards/new/clauses", params={"found_at": (world.old_until - timedelta(days=1)).isoformat()})
    assert f'value="{world.clause_old}"' not in now.text
    assert f'value="{world.clause_old}"' in before.text
    assert f'value="{world.clause_trade}"' in now.text
    assert f'value="{world.clause_chem}"' not in now.text  # another sector's standard


def test_an_incomplete_plan_is_refused_in_chinese_with_the_plan_kept(client: TestClient, world: World) -> None:
    hazard = Flow(client, world).to_state("assigned")
    sign_in(client, "ent_chem")
    form = client.get(f"/hazards/{hazard['id']}/act/start_rectification")
    assert form.status_code == 200
    r = client.post(
        f"/hazards/{hazard['id']}/act/start_rectification",
        data={
            "csrf_token": csrf_of(form.text),
            "version": str(hazard["version"]),
            "plan_measures": "更换阀门",
            "plan_deadline": hazard["deadline"],
        },
    )
    assert r.status_code == 409
    assert "五落实整改方案不完整" in r.text
    assert "更换阀门" in r.text  # nothing typed is lost


def test_enterprise_asks_for_an_extension_and_the_regulator_approves(client: TestClient, world: World) -> None:
    hazard = Flow(client, world).to_state("assigned")
    later = (clock.today_in_china() + timedelta(days=60)).isoformat()
    sign_in(client, "ent_chem")
    page = client.get(f"/hazards/{hazard['id']}")
    assert "申请延期" in page.text and "审批延期" not in page.text
    r = client.post(
        f"/hazards/{hazard['id']}/extensions",
        data={"csrf_token": csrf_of(page.text), "requested_deadline": later, "reason": "设备到货延迟"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})

    sign_in(client, "officer")
    page = client.get(f"/hazards/{hazard['id']}")
    assert "设备到货延迟" in page.text and "同意延期" in page.text
    ext_id = re.search(rf'action="/hazards/{hazard["id"]}/extensions/(\d+)"', page.text).group(1)
    r = client.post(
        f"/hazards/{hazard['id']}/extensions/{ext_id}",
        data={"csrf_token": csrf_of(page.text), "decision": "approve", "note": "同意"},
    )
    assert r.status_code == 200 and "已同意" in r.text
    api = client.get(f"/api/v1/hazards/{hazard['id']}", headers=world.headers(client, "officer")).json()
    assert api["deadline"] == later


def test_the_list_shows_only_what_the_api_shows(client: TestClient, world: World) -> None:
    flow = Flow(client, world)
    mine = flow.report("ent_chem", title="化工企业的隐患")
    flow.report("ent_metal", title="五金企业的隐患")
    sign_in(client, "ent_chem")
    page = client.get("/hazards")
    assert mine["number"] in page.text and "五金企业的隐患" not in page.text
    assert client.get("/hazards", params={"found_from": "not-a-date"}).status_code == 200


def test_a_regulator_filters_the_list_by_a_colleague_of_its_bureau(client: TestClient, world: World) -> None:
    flow = Flow(client, world)
    deadline = (clock.today_in_china() + timedelta(days=30)).isoformat()
    ours = flow.ok(
        flow.report(title="交给同事的隐患"), "officer", "assign", officer_id=world.ids["officer2"], deadline=deadline
    )
    flow.ok(
        flow.report(title="交给自己的隐患"), "officer", "assign", officer_id=world.ids["officer"], deadline=deadline
    )
    sign_in(client, "officer")
    page = client.get("/hazards")
    offered = re.findall(
        r'<option value="(\d+)"[^>]*>', page.text.split('id="f-officer"', 1)[1].split("</select>", 1)[0]
    )
    assert str(world.ids["officer2"]) in offered  # a colleague of the same bureau
    assert str(world.ids["builder"]) not in offered and str(world.ids["futian_officer"]) not in offered  # others'
    narrowed = client.get("/hazards", params={"officer": str(world.ids["officer2"])})
    assert ours["number"] in narrowed.text and "交给自己的隐患" not in narrowed.text
    assert f'<option value="{world.ids["officer2"]}" selected>' in narrowed.text
