"""Request bodies are bounded by the bytes actually received, however they are sent."""

from __future__ import annotations

import json

from tests.factories import hazard_body


def _chunks(data: bytes, size: int = 64 * 1024):
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_chunked_json_past_the_limit_is_413(client, world, app):
    limit = app.state.settings.attachment_max_bytes + 1024 * 1024
    body = json.dumps(hazard_body(world, description="隐" * limit)).encode()
    r = client.post(
        "/api/v1/hazards",
        content=_chunks(body),  # no Content-Length: sent chunked
        headers={**world.headers(client, "ent_chem"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text[:300]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "payload_too_large"


def test_chunked_upload_past_the_limit_is_413(client, world, app):
    limit = app.state.settings.attachment_max_bytes + 1024 * 1024
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"x" * (limit + 10)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = client.post(
        "/api/v1/ledgers/imports",
        content=_chunks(body),
        headers={**world.headers(client, "officer"), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413, r.text[:300]
    assert r.json()["code"] == "payload_too_large"


def test_a_body_within_the_limit_sent_chunked_still_works(client, world):
    body = json.dumps(hazard_body(world)).encode()
    r = client.post(
        "/api/v1/hazards",
        content=_chunks(body, 100),
        headers={**world.headers(client, "ent_chem"), "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
