"""Reference data: the shipped catalogues and the administrator's edits to them."""

from __future__ import annotations

import uuid

from tests.factories import uscc


def _enterprise(**over):
    body = {
        "uscc": uscc("91440300MA5T" + uuid.uuid4().hex[:5].upper().translate(str.maketrans("IOZSV", "12345"))),
        "name": "南山测试新材料有限公司",
        "region_code": "440305",
        "industry_code": "26",
        "principal_name": "王五",
        "principal_phone": "13900139000",
    }
    body.update(over)
    return body


def test_regions_cover_the_country_with_parent_links(client, world):
    h = world.headers(client, "ent_chem")
    provinces = client.get("/api/v1/regions?level=province", headers=h).json()["items"]
    assert len(provinces) >= 31 and {"110000", "440000", "650000"} <= {p["code"] for p in provinces}
    nanshan = client.get("/api/v1/regions/440305", headers=h).json()
    assert nanshan["name"] == "南山区" and nanshan["parent_code"] == "440300"
    districts = {r["code"] for r in client.get("/api/v1/regions?parent=440300", headers=h).json()["items"]}
    assert {"440303", "440304", "440305"} <= districts
    assert client.get("/api/v1/regions/999999", headers=h).status_code == 404
    assert client.get("/api/v1/regions?parent=44", headers=h).status_code == 422


def test_industries_are_gbt4754_divisions_with_their_sector(client, world):
    h = world.headers(client, "officer")
    rows = client.get("/api/v1/industries", headers=h).json()["items"]
    divisions = {r["code"]: r for r in rows if r["level"] == "division"}
    assert len(divisions) == 97 and len({r["section"] for r in rows}) == 20
    assert divisions["26"]["sector_code"] == "hazardous_chemicals" and divisions["06"]["sector_code"] == "coal_mining"
    assert divisions["47"]["section"] == "E" and divisions["47"]["sector_code"] == "construction"
    chem = client.get("/api/v1/industries?sector_code=hazardous_chemicals", headers=h).json()["items"]
    assert chem and all(r["sector_code"] == "hazardous_chemicals" for r in chem)


def test_standards_are_versioned_and_filtered_by_date(client, world):
    h = world.headers(client, "officer")
    trade = client.get("/api/v1/standards?sector_code=industry_trade", headers=h).json()["items"]
    editions = {s["document_number"]: s for s in trade}
    assert {"应急管理部令第10号", "安监总管四〔2017〕129号"} <= set(editions)
    assert editions["应急管理部令第10号"]["effective_from"] == "2023-05-15"
    assert editions["应急管理部令第10号"]["clauses"], "each edition carries its clauses"
    in_2020 = client.get("/api/v1/standards?sector_code=industry_trade&in_force_on=2020-06-01", headers=h).json()[
        "items"
    ]
    assert [s["document_number"] for s in in_2020] == ["安监总管四〔2017〕129号"]
    now = client.get("/api/v1/standards?sector_code=industry_trade&in_force_on=2026-06-01", headers=h).json()["items"]
    assert [s["document_number"] for s in now] == ["应急管理部令第10号"]
    every = client.get("/api/v1/standards", headers=h).json()["items"]
    numbers = {s["document_number"] for s in every}
    for required in (
        "安监总管三〔2017〕121号",
        "应急管理部令第4号",
        "矿安〔2022〕88号",
        "建城规〔2023〕4号",
        "GB 35181-2025",
        "GB 45067-2024",
        "交办公路〔2023〕59号",
    ):
        assert required in numbers, required
    assert client.get("/api/v1/standards?in_force_on=2026-13-01", headers=h).status_code == 422


def test_a_national_admin_edits_the_standards_catalogue(client, world):
    h = world.headers(client, "national")
    edition = uuid.uuid4().hex[:6]
    body = {
        "family": "测试判定标准",
        "title": "测试判定标准",
        "edition": edition,
        "document_number": f"测〔{edition}〕1号",
        "issuer": "测试部",
        "sector_code": "industry_trade",
        "effective_from": "2025-01-01",
        "clauses": [{"number": "一", "title": "第一项"}],
    }
    r = client.post("/api/v1/standards", headers=h, json=body)
    assert r.status_code == 201, r.text
    std = r.json()
    assert client.post("/api/v1/standards", headers=h, json=body).json()["code"] == "standard_exists"
    r = client.post(f"/api/v1/standards/{std['id']}/clauses", headers=h, json={"number": "二", "title": "第二项"})
    assert r.status_code == 201
    r = client.post(f"/api/v1/standards/{std['id']}/clauses", headers=h, json={"number": "二", "title": "again"})
    assert r.status_code == 409 and r.json()["code"] == "clause_exists"
    bad = {**body, "edition": edition + "b", "effective_from": "2025-01-01", "effective_to": "2024-01-01"}
    assert client.post("/api/v1/standards", headers=h, json=bad).status_code == 422
    r = client.post("/api/v1/standards", headers=world.headers(client, "chief"), json={**body, "edition": "x"})
    assert r.status_code == 403
    # The catalogue is national: a county's or a city's administrator may not add to it (issue #11, item 3).
    for who in ("admin", "admin_city"):
        hh = world.headers(client, who)
        r = client.post("/api/v1/standards", headers=hh, json={**body, "edition": edition + who})
        assert r.status_code == 403 and r.json()["code"] == "national_admin_required", r.text
        r = client.post(f"/api/v1/standards/{std['id']}/clauses", headers=hh, json={"number": "三", "title": "x"})
        assert r.status_code == 403 and r.json()["code"] == "national_admin_required", r.text


def test_credit_codes_are_checked(client, world):
    h = world.headers(client, "admin")
    good = _enterprise()
    wrong_check = good["uscc"][:-1] + ("0" if good["uscc"][-1] != "0" else "1")
    for bad in (wrong_check, "91440300MA5T0000", "91440300MA5T0000IO", "not a code at all"):
        r = client.post("/api/v1/enterprises", headers=h, json={**good, "uscc": bad})
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["field"] == "uscc"
    r = client.post("/api/v1/enterprises", headers=h, json=good)
    assert r.status_code == 201, r.text
    assert r.json()["high_risk"] is True, "a chemical enterprise is high-risk by its sector"
    r = client.post("/api/v1/enterprises", headers=h, json=good)
    assert r.status_code == 409 and r.json()["code"] == "enterprise_exists"
    r = client.post("/api/v1/enterprises", headers=h, json=_enterprise(industry_code="99"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "industry_code"


def test_enterprise_registry_is_scoped_and_versioned(client, world):
    admin = world.headers(client, "admin")
    r = client.post("/api/v1/enterprises", headers=world.headers(client, "admin_futian"), json=_enterprise())
    assert r.status_code == 403 and r.json()["code"] == "region_forbidden"
    ent = client.post("/api/v1/enterprises", headers=admin, json=_enterprise(industry_code="33")).json()
    assert ent["high_risk"] is False

    mine = client.get("/api/v1/enterprises", headers=world.headers(client, "ent_chem")).json()["items"]
    assert [e["id"] for e in mine] == [world.ids["chem"]], "an enterprise sees only itself"
    assert (
        client.get(f"/api/v1/enterprises/{world.ids['metal']}", headers=world.headers(client, "ent_chem")).status_code
        == 404
    )
    futian = client.get("/api/v1/enterprises", headers=world.headers(client, "futian_officer")).json()["items"]
    assert world.ids["chem"] not in {e["id"] for e in futian}
    assert (
        client.get(
            f"/api/v1/enterprises/{world.ids['chem']}", headers=world.headers(client, "futian_officer")
        ).status_code
        == 404
    )

    url = f"/api/v1/enterprises/{ent['id']}"
    assert client.patch(url, headers=admin, json={"name": "改名"}).status_code == 428
    r = client.patch(url, headers={**admin, "If-Match": f'"{ent["version"]}"'}, json={"name": "改名有限公司"})
    assert r.status_code == 200 and r.json()["name"] == "改名有限公司"
    r = client.patch(url, headers=admin, json={"name": "再改", "version": ent["version"]})
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"
    r = client.patch(url, headers=world.headers(client, "chief"), json={"name": "x", "version": 2})
    assert r.status_code == 403


def test_departments_lead_sectors(client, world):
    h = world.headers(client, "admin")
    code = "T-" + uuid.uuid4().hex[:6]
    body = {"code": code, "name": "南山区交通运输局", "region_code": "440305", "sectors": ["road_transport"]}
    r = client.post("/api/v1/departments", headers=h, json=body)
    assert r.status_code == 201 and r.json()["sectors"] == ["road_transport"]
    assert client.post("/api/v1/departments", headers=h, json=body).json()["code"] == "department_exists"
    r = client.post("/api/v1/departments", headers=h, json={**body, "code": code + "x", "sectors": ["no_such"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sectors"
    r = client.post("/api/v1/departments", headers=h, json={**body, "code": code + "y", "region_code": "440304"})
    assert r.status_code == 403
    listed = client.get("/api/v1/departments?region=440305&sector_code=road_transport", headers=h).json()["items"]
    assert code in {d["code"] for d in listed}
