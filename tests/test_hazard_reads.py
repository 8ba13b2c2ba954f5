"""The hazard list's query parameters and the read-only GETs of a hazard, held to what clients already get:
the problem+json of bad parameters (the fields named, in order, with pydantic's message and type), the
filters as parsed, and the bodies of the reads (what FastAPI's response validation produced)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from hazard_registry import clock
from hazard_registry.db import is_postgres
from hazard_registry.hazards import schemas, service
from hazard_registry.pagination import Page
from tests.factories import PNG, SHENZHEN
from tests.flow import Flow, invalid_input
from tests.statements import count_round_trips, count_statements

STATES = "'reported', 'assigned', 'rectifying', 'verification_requested', 'verified', 'closed' or 'rejected'"

# The bodies of these requests as they were answered while each parameter was its own FastAPI ``Query``.
BAD_PARAMETERS = [
    (
        "/api/v1/hazards?state=reported&state=nope&limit=0",
        [
            ("state.1", f"Input should be {STATES}", "enum"),
            ("limit", "Input should be greater than or equal to 1", "greater_than_equal"),
        ],
    ),
    (
        "/api/v1/hazards?region=12&department_id=abc&found_from=2026-13-01&q=&limit=x&overdue=maybe",
        [
            ("region", "String should match pattern '^\\d{6}(\\d{3})?$'", "string_pattern_mismatch"),
            ("department_id", "Input should be a valid integer, unable to parse string as an integer", "int_parsing"),
            ("overdue", "Input should be a valid boolean, unable to interpret input", "bool_parsing"),
            (
                "found_from",
                "Input should be a valid date or datetime, month value is outside expected range of 1-12",
                "date_from_datetime_parsing",
            ),
            ("q", "String should have at least 1 character", "string_too_short"),
            ("limit", "Input should be a valid integer, unable to parse string as an integer", "int_parsing"),
        ],
    ),
    (
        "/api/v1/hazards?source=x&industry_code=12345&officer_id=0&enterprise_id=99999999999&found_to=x&cursor="
        + "a" * 201,
        [
            ("industry_code", "String should have at most 4 characters", "string_too_long"),
            ("enterprise_id", "Input should be less than or equal to 2147483647", "less_than_equal"),
            ("officer_id", "Input should be greater than or equal to 1", "greater_than_equal"),
            ("source", "Input should be 'self_report', 'inspection', 'public_report' or 'other'", "literal_error"),
            ("found_to", "Input should be a valid date or datetime, input is too short", "date_from_datetime_parsing"),
            ("cursor", "String should have at most 200 characters", "string_too_long"),
        ],
    ),
    (
        "/api/v1/hazards?limit=201&sector_code=" + "s" * 33,
        [
            ("sector_code", "String should have at most 32 characters", "string_too_long"),
            ("limit", "Input should be less than or equal to 200", "less_than_equal"),
        ],
    ),
    (
        "/api/v1/ledgers/hazards?state=bogus&region=1",
        [
            ("state.0", f"Input should be {STATES}", "enum"),
            ("region", "String should match pattern '^\\d{6}(\\d{3})?$'", "string_pattern_mismatch"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("url", "errors"), BAD_PARAMETERS, ids=[u.split("?")[0] + str(i) for i, (u, _) in enumerate(BAD_PARAMETERS)]
)
def test_bad_list_parameters_are_named_as_before(client, world, url, errors):
    flow = Flow(client, world)
    r = client.get(url, headers=flow.h("admin"))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    fields = ", ".join(sorted({f for f, _, _ in errors}))
    assert body == invalid_input(fields, [{"field": f, "message": m, "type": t} for f, m, t in errors])


def test_every_filter_is_read_as_before(client, world):
    """Each filter narrows the list as it did (repeated states, booleans, dates, text, ids), and unknown
    parameters are ignored."""
    flow = Flow(client, world)
    hazard = flow.report(title="油罐区防雷接地失效 filters")
    today = clock.today_in_china()
    ent, dept = hazard["enterprise_id"], hazard["department_id"]
    matching = [
        f"state=closed&state=reported&region={SHENZHEN}",
        f"enterprise_id={ent}&department_id={dept}&industry_code={hazard['industry_code']}",
        f"sector_code={hazard['sector_code']}&source={hazard['source']}&overdue=false&overdue_typo=1",
        f"found_from={hazard['found_at']}&found_to={today.isoformat()}&q=filters",
        f"q={hazard['number']}&limit=200",
    ]
    missing = [
        "state=closed",
        "overdue=true&state=reported",
        f"found_from={(today + timedelta(days=1)).isoformat()}",
        f"found_to={(date.fromisoformat(hazard['found_at']) - timedelta(days=1)).isoformat()}",
        "q=no-such-words-anywhere",
        f"enterprise_id={ent + 1000}",
    ]
    for query in matching + missing:
        r = client.get(f"/api/v1/hazards?{query}", headers=flow.h("admin"))
        assert r.status_code == 200, (query, r.text)
        ids = {item["id"] for item in r.json()["items"]}
        assert (hazard["id"] in ids) == (query in matching), query


# Statements per read-only GET of a hazard's parts, in the steady state (the caller known to the worker).
PART_READS = 1


def _parts(client, flow):
    """A hazard in rectification with an attachment and a pending extension; the URLs of its parts."""
    hazard = flow.to_state("rectifying")
    assert flow.attach(hazard).status_code == 201
    later = (date.fromisoformat(hazard["deadline"]) + timedelta(days=15)).isoformat()
    url = f"/api/v1/hazards/{hazard['id']}"
    r = client.post(f"{url}/extensions", headers=flow.h("ent_chem"), json={"requested_deadline": later, "reason": "x"})
    assert r.status_code == 201, r.text
    return hazard, {
        f"{url}/events": Page[schemas.EventOut],
        f"{url}/attachments": Page[schemas.AttachmentOut],
        f"{url}/officers": Page[schemas.OfficerOut],
        f"{url}/extensions": Page[schemas.ExtensionOut],
    }


def test_the_parts_of_a_hazard_read_as_their_models_write_them(client, world, app, db):
    """Each part's body is its page model's JSON, byte for byte (as FastAPI's response validation wrote it), in
    at most ``PART_READS`` statements; someone outside the hazard's scope gets the 404 of a hazard."""
    flow = Flow(client, world)
    hazard, parts = _parts(client, flow)
    flow.h("officer")
    for url, model in parts.items():
        r = client.get(url, headers=flow.h("officer"))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", (url, r.text)
        page = model.model_validate_json(r.content)
        assert page.items and page.next_cursor is None, url
        assert r.content == page.model_dump_json().encode(), url
        assert json.loads(r.content).keys() == {"items", "next_cursor"}
        with count_statements(app) as sql:
            assert client.get(url, headers=flow.h("officer")).content == r.content
        assert len(sql) <= PART_READS, (url, sql.listing())
        if is_postgres(db):  # in autocommit (``reads_only``): the statement's round trip alone
            with count_round_trips(app) as trips:
                assert client.get(url, headers=flow.h("officer")).status_code == 200
            assert trips == ["Sync"], (url, trips)
        out = client.get(url, headers=flow.h("ent_metal"))
        assert out.status_code == 404 and out.json()["code"] == "hazard_not_found", url
    files = client.get(f"/api/v1/hazards/{hazard['id']}/attachments", headers=flow.h("officer")).json()["items"]
    content = f"/api/v1/hazards/{hazard['id']}/attachments/{files[0]['id']}/content"
    with count_statements(app) as sql:
        r = client.get(content, headers=flow.h("officer"))
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"
    assert len(sql) <= PART_READS, sql.listing()
    other = f"/api/v1/hazards/{hazard['id']}/attachments/{files[0]['id'] + 1000}/content"
    other = client.get(other, headers=flow.h("officer"))
    assert other.status_code == 404 and other.json()["code"] == "attachment_not_found"
    outside = client.get(content, headers=flow.h("ent_metal"))
    assert outside.status_code == 404 and outside.json()["code"] == "hazard_not_found"
    fresh = flow.report()  # no file, no extension yet: empty pages, not a 404
    for part in ("attachments", "extensions"):
        r = client.get(f"/api/v1/hazards/{fresh['id']}/{part}", headers=flow.h("officer"))
        assert r.status_code == 200 and r.content == b'{"items":[],"next_cursor":null}', part
    missing = client.get("/api/v1/hazards/2147483647/events", headers=flow.h("admin"))
    assert missing.status_code == 404 and missing.json()["code"] == "hazard_not_found"
    assert [
        e["seq"] for e in client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=flow.h("admin")).json()["items"]
    ] == list(range(1, 6))


def test_a_list_page_shows_each_row_as_its_read_does(client, world):
    """Every row of a page, with its overdue flag and the caller's actions, is what reading that hazard alone
    shows (less its enterprise and clause), for callers whose actions depend on the row (its reporter, its
    verifier) and not only on its state; and the page is ``HazardPage``'s JSON, byte for byte."""
    flow = Flow(client, world)
    for state in ("reported", "assigned", "rectifying", "verification_requested", "verified", "closed", "rejected"):
        flow.to_state(state)
    own = flow.report("officer", enterprise_id=world.ids["chem"])  # the officer may not verify what he reported
    own = flow.ok(own, "officer2", "assign", **flow.body_for("assign", own))
    for action in ("start_rectification", "request_verification"):
        own = flow.ok(own, "ent_chem", action, **flow.body_for(action, own))
    twice = flow.to_state("verification_requested")  # the chief verified it: only the other chief may close it
    flow.ok(twice, "chief", "verify", **flow.body_for("verify", twice))
    for user in ("officer", "officer2", "chief", "chief2", "ent_chem", "admin"):
        r = client.get("/api/v1/hazards?limit=200", headers=flow.h(user))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.content == schemas.HazardPage.model_validate_json(r.content).model_dump_json().encode()
        items = r.json()["items"]
        assert len(items) >= 9 and (user == "admin" or len({tuple(i["allowed_actions"]) for i in items}) > 1), user
        for item in items:
            read = client.get(f"/api/v1/hazards/{item['id']}", headers=flow.h(user)).json()
            del read["enterprise"], read["clause"]
            assert item == read, (user, item["state"])


def test_a_kept_list_statement_answers_each_request_with_its_own_values(client, world):
    """``list_hazards`` keeps its statement per shape and runs it with each request's values: every page read
    through a kept statement (asked after others of its shape) is the page a statement built for it alone gives,
    for every filter, a cursor, several states and callers of different scopes."""
    flow = Flow(client, world)
    first = flow.report(title="kept statement alpha")
    flow.to_state("assigned")
    second = flow.report(
        title="kept statement beta", found_at=(date.fromisoformat(first["found_at"]) - timedelta(days=3)).isoformat()
    )
    today = clock.today_in_china().isoformat()
    ent, dept = first["enterprise_id"], first["department_id"]
    pages = client.get("/api/v1/hazards?limit=1", headers=flow.h("admin")).json()
    deeper = client.get(f"/api/v1/hazards?limit=1&cursor={pages['next_cursor']}", headers=flow.h("admin")).json()
    queries = [
        "state=reported",
        "state=assigned",
        "state=reported&state=closed",
        "state=assigned&state=verified",
        f"region={SHENZHEN}&state=reported",
        f"region={SHENZHEN}&state=assigned",
        "q=alpha",
        "q=beta",
        f"q={second['number']}",
        f"q={first['number']}",
        f"enterprise_id={ent}",
        f"enterprise_id={ent + 1000}",
        f"department_id={dept}",
        f"department_id={dept + 1000}",
        f"industry_code={first['industry_code']}",
        "industry_code=0000",
        f"sector_code={first['sector_code']}",
        "sector_code=nothing",
        "source=self_report",
        "source=inspection",
        f"found_from={first['found_at']}",
        f"found_from={second['found_at']}",
        f"found_to={second['found_at']}",
        f"found_to={today}",
        "overdue=false",
        "overdue=true",
        f"limit=1&cursor={pages['next_cursor']}",
        f"limit=1&cursor={deeper['next_cursor']}",
    ]
    callers = ("admin", "officer", "ent_chem")
    service._LIST_STATEMENTS.clear()
    alone = {}
    for who in callers:
        for query in queries:
            service._LIST_STATEMENTS.clear()
            r = client.get(f"/api/v1/hazards?{query}", headers=flow.h(who))
            assert r.status_code == 200, (who, query, r.text)
            alone[who, query] = r.content
    # Each pair is one shape asked with two values that tell the pages apart.
    differ = [
        (a, b) for a, b in zip(queries[::2], queries[1::2], strict=True) if alone["admin", a] != alone["admin", b]
    ]
    assert len(differ) == len(queries) // 2, set(zip(queries[::2], queries[1::2], strict=True)) - set(differ)
    service._LIST_STATEMENTS.clear()
    for who in callers:
        for query in queries:
            assert client.get(f"/api/v1/hazards?{query}", headers=flow.h(who)).content == alone[who, query], (
                who,
                query,
            )
    # Kept statements were run again: a statement per pair, but two for the pairs of one state (inline) and
    # the pair of overdue (whether it is asked true or false).
    assert len(service._LIST_STATEMENTS) <= len(callers) * (len(queries) // 2 + 3)
