"""What crosses a region's line (issue #11, item 10): complaint transfers, the credit-code oracle of user
creation, and department heads' phones and e-mails."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from hazard_registry.reference.models import Department
from tests.factories import uscc
from tests.test_complaints import Desk


def test_a_complaint_is_transferred_only_along_its_region_line(client, world):
    d = Desk(client, world)
    d.submit()
    c = d.only()
    r = d.act(c, "transfer", department_id=world.ids["T-FT-YJ"])  # 福田: another district
    assert r.status_code == 409 and r.json()["code"] == "department_invalid", r.text
    assert client.get("/api/v1/complaints", headers=d.h("futian_officer")).json()["items"] == []
    c = d.ok(c, "transfer", department_id=world.ids["T-SZ-YJ"])  # 深圳市: the level above
    assert client.get(f"/api/v1/complaints/{c['id']}", headers=d.h("city")).status_code == 200


def test_user_creation_tells_no_one_whether_another_region_has_a_credit_code(client, world):
    h = world.headers(client, "admin")

    def create(code: str):
        body = {
            "username": f"e-{uuid.uuid4().hex[:8]}",
            "password": "Xk9-harbour-lantern",
            "role": "enterprise",
            "enterprise_uscc": code,
        }
        return client.post("/api/v1/users", headers=h, json=body)

    foreign = create(uscc("91440300MA5T00004"))  # 福田测试化工: exists, in another district
    unknown = create(uscc("91440300MA5T09998"))  # exists nowhere
    assert foreign.status_code == unknown.status_code == 422
    assert foreign.json() == unknown.json()
    assert "440304" not in foreign.text


def test_department_heads_contacts_are_read_only_along_the_region_line(client, world, app):
    futian = world.ids["T-FT-YJ"]
    with app.state.engine.begin() as conn:
        conn.execute(
            update(Department)
            .where(Department.id == futian)
            .values(head_name="王五", head_phone="13700000001", head_email="head@ft.example.gov.cn")
        )
    try:
        for who, sees in [
            ("futian_officer", True),
            ("admin_futian", True),
            ("city", True),  # the level above
            ("ent_futian", True),  # an enterprise of the district: its supervisor
            ("officer", False),  # 南山: another district
            ("admin", False),
            ("ent_chem", False),
        ]:
            h = world.headers(client, who)
            one = client.get(f"/api/v1/departments/{futian}", headers=h).json()
            listed = next(x for x in client.get("/api/v1/departments", headers=h).json()["items"] if x["id"] == futian)
            for dept in (one, listed):
                assert dept["head_name"] == "王五", "the name of the office stays public"
                assert (dept["head_phone"] == "13700000001") is sees, (who, dept)
                assert (dept["head_email"] == "head@ft.example.gov.cn") is sees, (who, dept)
    finally:
        with app.state.engine.begin() as conn:
            conn.execute(
                update(Department)
                .where(Department.id == futian)
                .values(head_name=None, head_phone=None, head_email=None)
            )
