"""The report's answers as a client sees them, pinned before anyone makes its path cheaper.

POST /api/v1/hazards is the busiest write; how its body is read and validated, how the Idempotency-Key is
checked and how the answer is built are all candidates for speed work (benchmarks/RESULTS.md, "rpa"). These
tests hold the shapes such work must keep: the 201's headers and bytes, the 422 problem+json bodies of bad
bodies and a bad key, and the replay of a keyed report.
"""

from __future__ import annotations

from tests.factories import hazard_body
from tests.flow import Flow, invalid_input

DETAIL_KEYS = [
    "id", "number", "state", "version", "grade", "source", "enterprise_id", "industry_code", "sector_code",
    "region_code", "department_id", "clause_id", "title", "description", "location", "found_at",
    "production_suspended", "reported_by_id", "officer_id", "deadline", "overdue", "plan", "completion",
    "verified_by_id", "verified_at", "closed_by_id", "closed_at", "rejection_reason", "duplicate_of_id",
    "recurrence_of_id", "failed_verifications", "created_at", "updated_at", "allowed_actions", "enterprise",
    "clause",
]  # fmt: skip


def test_report_answers_201_with_compact_json_in_the_detail_order(client, world):
    h = Flow(client, world).h("ent_chem")
    r = client.post("/api/v1/hazards", headers=h, json=hazard_body(world))
    assert r.status_code == 201
    assert sorted(r.headers.keys()) == ["content-length", "content-type"]
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    body = r.json()
    assert list(body) == DETAIL_KEYS
    assert r.content.startswith(b'{"id":%d,"number":"440305-' % body["id"])
    assert b'", "' not in r.content and b'": ' not in r.content  # compact separators
    assert "硝化".encode() in r.content  # UTF-8, not \\u escapes
    assert list(body["enterprise"]) == ["id", "name", "uscc"]
    assert list(body["clause"]) == ["id", "number", "title", "standard"]
    assert list(body["clause"]["standard"]) == ["id", "title", "edition", "document_number"]
    assert body["created_at"].endswith("Z") and body["created_at"] == body["updated_at"]


def test_bad_report_bodies_get_these_problem_bodies(client, world):
    h = {**Flow(client, world).h("ent_chem"), "content-type": "application/json"}
    cases = [
        (
            b'{"title": "", "found_at": "not-a-date"}',
            "clause_id, description, found_at, title",
            [
                {"field": "clause_id", "message": "Field required", "type": "missing"},
                {"field": "title", "message": "String should have at least 1 character", "type": "string_too_short"},
                {"field": "description", "message": "Field required", "type": "missing"},
                {
                    "field": "found_at",
                    "message": "Input should be a valid date or datetime, invalid character in year",
                    "type": "date_from_datetime_parsing",
                },
            ],
        ),
        (b"{", "1", [{"field": "1", "message": "JSON decode error", "type": "json_invalid"}]),
        (
            b"[]",
            "body",
            [
                {
                    "field": "body",
                    "message": "Input should be a valid dictionary or object to extract fields from",
                    "type": "model_attributes_type",
                }
            ],
        ),
        (
            b'{"clause_id": 1e400, "title": "a\\u0000b", "description": "d", "found_at": "2026-01-01"}',
            "clause_id, title",
            [
                {"field": "clause_id", "message": "Input should be a finite number", "type": "finite_number"},
                {
                    "field": "title",
                    "message": "Value error, must not contain a NUL character (\\u0000)",
                    "type": "value_error",
                },
            ],
        ),
    ]
    for raw, fields, errors in cases:
        r = client.post("/api/v1/hazards", headers=h, content=raw)
        assert r.status_code == 422, raw
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json() == invalid_input(fields, errors), raw


def test_a_bad_idempotency_key_is_a_problem_and_a_replay_is_the_first_answer(client, world):
    flow = Flow(client, world)
    r = client.post(
        "/api/v1/hazards", headers={**flow.h("ent_chem"), "Idempotency-Key": "short"}, json=hazard_body(world)
    )
    assert r.status_code == 422
    assert r.json() == invalid_input(
        "Idempotency-Key",
        [
            {
                "field": "Idempotency-Key",
                "message": "String should have at least 8 characters",
                "type": "string_too_short",
            }
        ],
    )
    h = {**flow.h("ent_chem"), "Idempotency-Key": "pin-0001-abcdef"}
    first = client.post("/api/v1/hazards", headers=h, json=hazard_body(world))
    again = client.post("/api/v1/hazards", headers=h, json=hazard_body(world))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()  # the stored answer (PostgreSQL's jsonb may order its keys otherwise)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
