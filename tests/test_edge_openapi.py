"""The OpenAPI document declares the errors the service answers with: problem+json, the codes, Retry-After."""

from __future__ import annotations

from hazard_registry.main import document
from hazard_registry.openapi import OWN_ERROR_FORMAT

PROBLEM = "application/problem+json"


def test_every_operation_declares_its_problems():
    doc = document()
    ops = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(ops) > 50
    for path, method, op in ops:
        responses = op["responses"]
        if path.startswith(OWN_ERROR_FORMAT):  # Open311: the spec's own error format, declared by its router
            assert not any(PROBLEM in r.get("content", {}) for r in responses.values()), (path, method)
            assert "Retry-After" in responses["503"]["headers"] and "422" not in responses, (path, method)
            continue
        unavailable = responses["503"]
        assert PROBLEM in unavailable["content"] and "Retry-After" in unavailable["headers"], (path, method)
        if op.get("security"):
            assert {"401", "403"} <= set(responses), (path, method)
        if op.get("parameters") or op.get("requestBody"):
            assert PROBLEM in responses["422"]["content"], (path, method)
        if op.get("requestBody"):
            assert "413" in responses, (path, method)
    assert "HTTPValidationError" not in doc["components"]["schemas"]

    act = doc["paths"]["/api/v1/hazards/{hazard_id}/transitions"]["post"]["responses"]
    assert {"404", "409", "428"} <= set(act)
    assert "version_conflict" in act["409"]["description"] and "wrong_state" in act["409"]["description"]
    submit = doc["paths"]["/api/v1/complaints"]["post"]["responses"]
    assert "Retry-After" in submit["429"]["headers"]
    upload = doc["paths"]["/api/v1/ledgers/imports"]["post"]["responses"]
    assert "xlsx_too_large" in upload["413"]["description"] and "415" in upload
