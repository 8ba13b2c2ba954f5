"""Hostile text: a NUL character anywhere, an explicit null where a column cannot be empty, text longer than its
column. Each is a 422 naming the field, on SQLite and on PostgreSQL (which cannot store a NUL at all)."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from hazard_registry import clock, types
from hazard_registry.reference.models import Department
from tests.factories import NANSHAN, PASSWORD, hazard_body
from tests.test_complaints import complaint_body
from tests.test_ledgers import CHEM, _ledger, _post


def _problem_names(r, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in r.json()["errors"]}, r.json()


def test_nul_in_a_public_complaint_is_422_naming_the_field(client, world):
    _problem_names(client.post("/api/v1/complaints", json=complaint_body(title="油罐\x00泄漏")), "title")
    _problem_names(
        client.post("/api/v1/complaints", json=complaint_body(reporter={"name": "张\x00三"})), "reporter.name"
    )


def test_nul_in_a_login_name_is_422(client, world):
    r = client.post("/api/v1/auth/token", data={"username": "admin\x00", "password": PASSWORD})
    _problem_names(r, "username")


def test_nul_in_a_search_is_422(client, world):
    for path in ("/api/v1/hazards", "/api/v1/enterprises"):
        _problem_names(client.get(path, params={"q": "化工\x00"}, headers=world.headers(client, "officer")), "q")


def test_nul_in_a_hazard_report_is_422(client, world):
    r = client.post(
        "/api/v1/hazards", json=hazard_body(world, location="罐区\x00"), headers=world.headers(client, "ent_chem")
    )
    _problem_names(r, "location")


def test_nul_in_an_imported_row_is_a_bad_row_naming_the_field(client, world, db):
    day = clock.today_in_china().isoformat()
    content = _ledger(world, [[CHEM, "粉尘\x00涉爆", "除尘系统未设泄爆", "", day, world.clause_chem, "否"]])
    r = _post(client, world, "officer", content)
    assert r.status_code == 200, r.text
    assert [(b["row"], b["field"]) for b in r.json()["bad"]] == [(2, "title")]
    r = _post(
        client, world, "officer", _ledger(world, [[CHEM + "\x00", "粉尘", "除尘", "", day, world.clause_chem, "否"]])
    )
    assert r.status_code == 200, r.text
    assert [b["field"] for b in r.json()["bad"]] == ["enterprise_uscc"]


def test_explicit_null_in_a_patch_is_422_unless_the_column_may_be_empty(client, world):
    admin = world.headers(client, "admin")
    uid = world.ids["officer"]
    for field in ("active", "can_close", "password"):
        _problem_names(client.patch(f"/api/v1/users/{uid}", json={field: None}, headers=admin), field)
    r = client.patch(f"/api/v1/users/{uid}", json={"display_name": None}, headers=admin)
    assert r.status_code == 200 and r.json()["display_name"] is None  # a nullable column may be cleared

    dept = world.ids["T-NS-YJ"]
    for field in ("name", "sectors", "is_default_lead"):
        _problem_names(client.patch(f"/api/v1/departments/{dept}", json={field: None}, headers=admin), field)
    r = client.patch(f"/api/v1/departments/{dept}", json={"head_phone": None}, headers=admin)
    assert r.status_code == 200, r.text


def test_a_department_name_longer_than_its_column_is_422(client, world):
    admin = world.headers(client, "admin")
    body = {"code": "T-LONG", "name": "应" * 150, "region_code": NANSHAN}
    _problem_names(client.post("/api/v1/departments", json=body, headers=admin), "name")
    r = client.patch(f"/api/v1/departments/{world.ids['T-NS-YJ']}", json={"name": "应" * 150}, headers=admin)
    _problem_names(r, "name")


def test_no_schema_admits_longer_text_than_its_column():
    class Fits(types.Input):
        __orm__ = Department
        name: Annotated[str, Field(max_length=128)]

    with pytest.raises(TypeError, match=r"departments\.name holds 128"):

        class TooLong(types.Input):
            __orm__ = Department
            name: Annotated[str, Field(max_length=129)]

    with pytest.raises(TypeError, match="unbounded"):

        class Unbounded(types.Input):
            __orm__ = Department
            name: str


def test_an_id_filter_out_of_range_is_422_not_a_driver_overflow(client, world):
    officer = world.headers(client, "officer")
    for path in ("/api/v1/hazards", "/api/v1/ledgers/hazards"):
        r = client.get(path, params={"enterprise_id": -(10**22)}, headers=officer)
        _problem_names(r, "enterprise_id")
        _problem_names(client.get(path, params={"department_id": 10**12}, headers=officer), "department_id")
