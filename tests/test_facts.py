"""One definition per fact: overdue (Python and SQL agree), figures as of a past day that later events do not
rewrite, and the lead department decided the same way in Python and in SQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import literal, select

from hazard_registry.hazards import schemas as hs
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.overdue import is_overdue, not_overdue_sql, overdue_sql
from hazard_registry.hazards.workflow import State
from tests.test_supervision_engine import Register, at

DAY = date(2026, 4, 10)


@pytest.mark.parametrize("state", [s.value for s in State])
@pytest.mark.parametrize("deadline", [None, date(2026, 4, 9), DAY, date(2026, 4, 11)])
def test_overdue_in_python_and_in_sql_agree(db, state, deadline):
    py = is_overdue(state, deadline, DAY)
    st, dl = literal(state), literal(deadline, type_=hazards.Hazard.deadline.type)
    sql = db.scalar(select(overdue_sql(DAY, st, dl)))
    neg = db.scalar(select(not_overdue_sql(DAY, st, dl)))
    assert bool(sql) is py and bool(neg) is (not py)
    assert py is (state in ("assigned", "rectifying") and deadline is not None and deadline < DAY)


def _quarter(client, world) -> tuple[dict, dict]:
    h = world.headers(client, "city")
    report = client.get("/api/v1/statistics/region-report", params={"region": "440300", "period": "2026Q1"}, headers=h)
    summary = client.get("/api/v1/statistics/summary", params={"region": "440300", "as_of": "2026-03-31"}, headers=h)
    clearance = client.get(
        "/api/v1/statistics/clearance", params={"region": "440300", "as_of": "2026-03-31"}, headers=h
    )
    assert report.status_code == summary.status_code == clearance.status_code == 200
    return {"report": report.json(), "summary": summary.json()}, clearance.json()


def test_a_quarter_printed_in_may_and_in_december_is_the_same(client, app, world, settings):
    reg = Register(app, world, settings)
    # A: verified before its deadline, closed after the quarter.
    a = reg.report(date(2026, 1, 5))
    reg.assign(a, date(2026, 1, 6), deadline=date(2026, 3, 20))
    reg.rectify(a, date(2026, 1, 7), deadline=date(2026, 3, 20))
    reg.act(a, date(2026, 3, 10), "ent_chem", "request_verification")
    reg.act(a, date(2026, 3, 16), "officer", "verify", check_record="现场核查合格")
    # B: rectifying past its deadline on 31 March; an extension approved in April moves it later.
    b = reg.report(date(2026, 1, 5))
    reg.assign(b, date(2026, 1, 6), deadline=date(2026, 3, 25))
    reg.rectify(b, date(2026, 1, 7), deadline=date(2026, 3, 25))
    # C: assigned and never started, past its deadline on 31 March.
    c = reg.report(date(2026, 2, 2))
    reg.assign(c, date(2026, 2, 3), deadline=date(2026, 3, 10))

    in_may, clearance_in_may = _quarter(client, world)
    fig = in_may["summary"]["figures"]
    assert (fig["found"], fig["open"], fig["overdue"]) == (3, 3, 2), "B (rectifying) and C (assigned) overdue"
    assert {h["id"] for h in clearance_in_may["oldest_overdue"]} == {b, c}

    with app.state.sessionmaker() as s:
        ext = hazards.request_extension(
            s,
            reg.actor(s, "ent_chem"),
            b,
            hs.ExtensionCreate(requested_deadline=date(2026, 6, 30), reason="设备到货延迟"),
            at(date(2026, 4, 2)),
        )
        s.commit()
        hazards.decide_extension(
            s, reg.actor(s, "officer"), b, ext.id, hs.ExtensionDecision(decision="approve"), at(date(2026, 4, 3))
        )
        s.commit()
    reg.act(a, date(2026, 5, 6), "chief", "close")
    reg.rectify(c, date(2026, 5, 6), deadline=date(2026, 3, 10))
    reg.act(c, date(2026, 6, 1), "ent_chem", "request_verification")
    reg.act(c, date(2026, 6, 2), "officer", "verify", check_record="现场核查合格")
    reg.act(c, date(2026, 6, 3), "chief", "close")

    in_december, clearance_in_december = _quarter(client, world)
    assert in_december == in_may
    assert clearance_in_december == clearance_in_may
    now = client.get(
        "/api/v1/statistics/summary",
        params={"region": "440300", "as_of": "2026-06-30"},
        headers=world.headers(client, "city"),
    ).json()["figures"]
    assert (now["closed"], now["open"], now["overdue"]) == (2, 1, 0), "later days see the later events"


def test_lead_department_in_python_and_in_sql_agree_over_the_test_world(db, world):
    from hazard_registry.reference.lead import find_lead_department, lead_department_sql
    from hazard_registry.reference.models import Department, Region, Sector

    # Shenzhen (where the world's departments are), its province, a township code and a region with none.
    regions = [*db.scalars(select(Region.code).where(Region.code.like("4403%"))), "440000", "440305001", "110101"]
    sectors = list(db.scalars(select(Sector.code)))
    assert len(regions) > 5 and len(sectors) > 3
    decided = 0
    for region in regions:
        for sector in sectors:
            py = find_lead_department(db, region, sector)
            sql = db.scalar(select(lead_department_sql(literal(region), literal(sector))))
            assert (py.id if py else None) == sql, (region, sector)
            decided += py is not None
    leading = {d.id for d in db.scalars(select(Department).where(Department.is_default_lead.is_(False)))}
    assert decided and leading, "the world has sector leads as well as default leads"


BIG = "9223372036854775808"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/v1/hazards?department_id={BIG}", "department_id"),
        (f"/api/v1/hazards?enterprise_id={BIG}", "enterprise_id"),
        (f"/api/v1/ledgers/hazards?department_id={BIG}", "department_id"),
        (f"/api/v1/ledgers/hazards?format=xlsx&enterprise_id={BIG}", "enterprise_id"),
        (f"/api/v1/hazards/{BIG}", "hazard_id"),
        (f"/api/v1/measures?hazard_id={BIG}", "hazard_id"),
        (f"/api/v1/notices?measure_id={BIG}", "measure_id"),
        ("/api/v1/hazards?region=44030", "region"),
        ("/api/v1/statistics/summary?region=4403001", "region"),
    ],
)
def test_every_id_and_region_in_a_query_or_path_is_bounded(client, world, path, field):
    r = client.get(path, headers=world.headers(client, "admin"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]


def test_ids_in_a_body_are_bounded(client, world):
    h = world.headers(client, "ent_chem")
    r = client.post("/api/v1/hazards", headers=h, json={"clause_id": int(BIG), "title": "x"})
    assert r.status_code == 422 and "clause_id" in [e["field"] for e in r.json()["errors"]]


def test_the_readme_supervision_table_says_what_the_shipped_rules_do():
    """A rule issued without confirmation is marked "(automatic)" in the README's table, and the overdue ladder's
    working days are called working days."""
    from pathlib import Path

    from hazard_registry.supervision.defaults import DEFAULT_RULES, DEFAULT_RULES_0006, DEFAULT_RULES_0008

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`"): line for line in readme.splitlines() if line.startswith("| `")}
    rules = DEFAULT_RULES + DEFAULT_RULES_0006 + DEFAULT_RULES_0008
    for stall in {r[1] for r in rules}:
        automatic = sum(1 for r in rules if r[1] == stall and not r[6])
        assert rows[stall].count("(automatic") == automatic, rows[stall]
    overdue = [r for r in rules if r[1] == "overdue"]
    working = sorted(r[2] for r in overdue if r[3])
    assert working == [10, 20, 30, 60] and "**working** days" in rows["overdue"]
    assert "## The hazard workflow" in readme and "Idempotency-Key" in readme and "If-Match" in readme


LISTS = [
    "/api/v1/hazards",
    "/api/v1/enterprises",
    "/api/v1/measures",
    "/api/v1/complaints",
    "/api/v1/complaints/identity-reveals",
    "/api/v1/self-inspections",
    "/api/v1/public/exposures",
    "/api/v1/filings?period=2026Q1",
]


@pytest.mark.parametrize("path", LISTS)
def test_every_paged_list_has_one_shape_and_refuses_a_forged_cursor(client, world, path):
    h = world.headers(client, "admin")
    r = client.get(path, headers=h)
    assert r.status_code == 200 and {"items", "next_cursor"} <= set(r.json()), r.text
    sep = "&" if "?" in path else "?"
    for forged in ("%%%", "eyJpZCI6IDk5OTk5OTk5OTk5OTk5OX0"):  # garbage; {"id": 999999999999999}
        r = client.get(f"{path}{sep}cursor={forged}", headers=h)
        assert r.status_code == 422 and r.json()["code"] == "invalid_cursor", (path, r.text)


def test_walking_the_enterprises_page_by_page_sees_each_once(client, world):
    h = world.headers(client, "admin")
    everyone = [e["id"] for e in client.get("/api/v1/enterprises?limit=500", headers=h).json()["items"]]
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/enterprises", params={"limit": 2, "cursor": cursor}, headers=h).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert seen == everyone and len(everyone) > 2


def test_no_list_in_the_api_is_a_bare_array():
    """Every GET answering a collection answers {items, next_cursor}; the two left are owned elsewhere."""
    import json
    from pathlib import Path

    doc = json.loads((Path(__file__).resolve().parents[1] / "openapi" / "openapi.json").read_text())
    bare = sorted(
        op["operationId"]
        for ops in doc["paths"].values()
        for method, op in ops.items()
        if method == "get"
        and op["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("type")
        == "array"
    )
    assert bare == [], bare  # every list answers {items, next_cursor}
