"""The console's pickers search instead of listing: the enterprise type-ahead (name or credit code, twenty at a
time, only what the caller may see) and the province → city → county cascade below the caller's region."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete

from hazard_registry.reference.models import Enterprise
from hazard_registry.web import choices
from tests.factories import World, uscc
from tests.flow import Flow
from tests.test_console import csrf_of, sign_in

CHEM = f"南山测试化工有限公司（{uscc('91440300MA5T00001')}）"
METAL = f"南山测试五金有限公司（{uscc('91440300MA5T00002')}）"
FUTIAN_ENT = f"福田测试化工有限公司（{uscc('91440300MA5T00004')}）"


def _options(html: str) -> list[str]:
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', html)


def pick(client: TestClient, q: str, **extra: str) -> list[str]:
    r = client.get("/pick/enterprises", params={"target": "f-enterprise", "enterprise_q": q, **extra})
    assert r.status_code == 200, r.text[:500]
    return _options(r.text)


def test_the_enterprise_search_finds_by_name_or_credit_code_within_scope(client: TestClient, world: World) -> None:
    sign_in(client, "officer")  # 南山区应急管理局: chemicals and industry & trade in Nanshan
    assert pick(client, "南山测试") == [
        METAL,
        CHEM,
    ]
    assert pick(client, uscc("91440300MA5T00001").lower()[:17]) == [CHEM]
    assert pick(client, "测试化工") == [], "a prefix of the name, not any part of it (an index serves a prefix)"
    # another district's enterprise and a sector the department does not lead never appear, by name or by code
    assert pick(client, "福田") == [] and pick(client, uscc("91440300MA5T00004")) == []
    assert pick(client, "南山测试建筑") == []
    sign_in(client, "city")
    assert pick(client, "福田") == [FUTIAN_ENT]


def test_an_enterprise_finds_no_other_enterprise(client: TestClient, world: World) -> None:
    sign_in(client, "ent_chem")
    assert pick(client, "南山") == [] and pick(client, "福田") == []
    assert pick(client, "", enterprise_id=str(world.ids["metal"])) == []


def test_a_chosen_enterprise_outside_the_scope_is_not_named(client: TestClient, world: World) -> None:
    sign_in(client, "officer")
    assert pick(client, "", enterprise_id=str(world.ids["futian"])) == []
    assert pick(client, "", enterprise_id=str(world.ids["chem"])) == [CHEM]


def test_the_search_offers_at_most_twenty(client: TestClient, world: World, app: Any) -> None:
    with app.state.sessionmaker() as s:
        s.add_all(
            Enterprise(uscc=uscc(f"91440300MA5TQ{i:04d}"), name=f"南山批量企业{i:02d}", region_code="440305",
                       industry_code="26", principal_name="张三", principal_phone="13800138000")
            for i in range(25)
        )  # fmt: skip
        s.commit()
    try:
        sign_in(client, "officer")
        found = pick(client, "南山批量")
        assert len(found) == 20 and found[0].startswith("南山批量企业00")
    finally:
        with app.state.sessionmaker() as s:
            s.execute(delete(Enterprise).where(Enterprise.name.startswith("南山批量企业")))
            s.commit()


def test_the_list_searches_enterprises_without_javascript(client: TestClient, world: World) -> None:
    flow = Flow(client, world)
    flow.report("ent_chem", title="化工企业的隐患")
    flow.report("ent_metal", title="五金企业的隐患")
    sign_in(client, "officer")
    page = client.get("/hazards").text
    assert (
        'name="enterprise_q"' in page and len(_options(page.split('id="f-enterprise"')[1].split("</select>")[0])) == 0
    )
    typed = client.get("/hazards", params={"enterprise_q": "南山测试化"}).text  # typed, then 查询
    assert f'<option value="{world.ids["chem"]}">南山测试化工有限公司' in typed
    chosen = client.get("/hazards", params={"enterprise_id": world.ids["chem"]}).text
    assert f'<option value="{world.ids["chem"]}" selected>南山测试化工有限公司' in chosen
    assert "化工企业的隐患" in chosen and "五金企业的隐患" not in chosen


def test_a_regulator_reports_for_an_enterprise_found_by_search(client: TestClient, world: World) -> None:
    sign_in(client, "officer")
    form = client.get("/hazards/new").text
    assert 'name="enterprise_q"' in form and "南山测试化工" not in form, "no list of every enterprise"


def test_chosen_region_takes_the_deepest_consistent_level() -> None:
    assert choices.chosen_region(["440000", "440300", "440305"], "000000") == "440305"
    assert choices.chosen_region(["110000", "440300"], "000000") == "110000", "a city of the province chosen before"
    assert choices.chosen_region(["", "440300"], "000000") == "", "an upper level set to all clears the rest"
    assert choices.chosen_region(["440305"], "440300") == "440305"
    assert choices.chosen_region(["440106"], "440300") == "", "outside the caller's region"
    assert choices.chosen_region(["4403"], "000000") == ""


def test_the_region_filter_is_a_cascade_within_the_callers_region(client: TestClient, world: World) -> None:
    flow = Flow(client, world)
    flow.report("ent_chem", title="南山的隐患")
    flow.report("ent_futian", title="福田的隐患")
    sign_in(client, "national")
    page = client.get("/hazards").text
    cascade = page.split('id="f-region"')[1].split("</fieldset>")[0]
    assert "省份" in cascade and ">广东省<" in cascade and "区县" not in cascade
    deep = client.get("/hazards", params=[("region", "440000"), ("region", "440300"), ("region", "440304")]).text
    cascade = deep.split('id="f-region"')[1].split("</fieldset>")[0]
    assert '<option value="440000" selected>' in cascade and '<option value="440300" selected>' in cascade
    assert '<option value="440304" selected>福田区' in cascade
    assert "福田的隐患" in deep and "南山的隐患" not in deep
    assert "region=440304" in deep.split("导出 CSV")[0].rsplit("href=", 1)[1], "the export is the filtered list"

    sign_in(client, "admin_city")
    page = client.get("/hazards").text
    cascade = page.split('id="f-region"')[1].split("</fieldset>")[0]
    assert "区县" in cascade and ">南山区<" in cascade and "广东省" not in cascade
    assert "南山的隐患" in client.get("/hazards", params={"region": "440305"}).text
    assert "福田的隐患" not in client.get("/hazards", params={"region": "440305"}).text

    sign_in(client, "officer")  # a county: nothing below it to choose
    assert 'id="f-region"' not in client.get("/hazards").text


def test_the_cascade_fragment_follows_the_choice(client: TestClient, world: World) -> None:
    sign_in(client, "national")
    r = client.get("/pick/regions", params=[("target", "f-region"), ("name", "region"), ("region", "440000")])
    assert r.status_code == 200 and ">深圳市<" in r.text and "<html" not in r.text
    changed = client.get(
        "/pick/regions",
        params=[("target", "f-region"), ("name", "region"), ("region", "110000"), ("region", "440300")],
    )
    assert ">东城区<" not in changed.text and '<option value="110000" selected>' in changed.text
    assert client.get("/pick/regions", params={"target": 'x"><script>', "name": "region"}).status_code == 404


def test_an_administrator_places_a_department_with_the_cascade_and_sees_region_names(
    client: TestClient, world: World
) -> None:
    sign_in(client, "admin_city")
    page = client.get("/admin/departments")
    assert 'name="region_code"' in page.text and "南山区" in page.text  # the counties of the city, by name
    form = {"code": "T-NS-CASC", "name": "南山区级联测试局", "csrf_token": csrf_of(page.text)}
    r = client.post(
        "/admin/departments",
        data={**form, "region_code": ["440305", ""]},  # the county chosen, the level below it left blank
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    listed = client.get("/admin/departments").text
    row = listed.split("T-NS-CASC", 1)[1].split("</tr>", 1)[0]
    assert "广东省深圳市南山区" in row  # the region by name, not 440305
    outside = client.post(
        "/admin/departments",
        data={**form, "code": "T-FS-CASC", "csrf_token": csrf_of(listed), "region_code": ["440600"]},  # 佛山市
    )
    assert outside.status_code == 422
