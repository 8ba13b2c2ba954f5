"""Who is late with the self-inspection duty: the list regulators read (the console's 自查 page reads the same)."""

from __future__ import annotations

from datetime import date

from tests.test_supervision_more import inspect, registered_this_year  # noqa: F401  (fixture)


def test_regulators_see_who_missed_the_duty_in_the_last_quarter(client, world, registered_this_year):  # noqa: F811
    # Q1 2026: 南山化工 (high-risk) inspected in two months of three, 五金 once, 建筑 never.
    for user, month in [("ent_chem", 1), ("ent_chem", 2), ("ent_metal", 2)]:
        assert inspect(client, world, user, date(2026, month, 10)).status_code == 201

    def duty(user: str, **params):
        params = {"as_of": "2026-04-20"} | params
        return client.get("/api/v1/self-inspections/duty", headers=world.headers(client, user), params=params)

    everyone = duty("admin").json()
    assert everyone["quarter"] == "2026Q1"
    met = {row["enterprise"]: row["met"] for row in everyone["items"]}
    assert met == {"南山测试化工有限公司": False, "南山测试五金有限公司": True, "南山测试建筑有限公司": False}
    late = duty("admin", missed_only="true").json()["items"]
    assert [r["enterprise"] for r in late] == ["南山测试化工有限公司", "南山测试建筑有限公司"]
    chem = late[0]
    assert chem["high_risk"] and chem["last_inspected_on"] == "2026-02-10"
    assert [r["enterprise"] for r in duty("officer", missed_only="true").json()["items"]] == ["南山测试化工有限公司"], (
        "a regulator sees the sectors its department leads"
    )
    assert duty("ent_chem").status_code == 403
