"""Abuse limits that hold with several workers and behind a proxy (issue #11, items 8 and 9)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from hazard_registry.db import make_engine
from hazard_registry.ratelimit import DatabaseStorage, Limiter, client_address, parse_networks
from tests.factories import PASSWORD
from tests.live import free_port
from tests.test_complaints import Desk, complaint_body

PROXY = "10.9.9.9"


def _request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 5000), "headers": headers, "method": "GET", "path": "/"})


def test_only_a_trusted_proxy_is_believed_and_the_rightmost_untrusted_address_counts():
    proxies = parse_networks("10.9.9.0/24, 192.168.1.1")
    # Anyone else's header is ignored: rotating it buys nothing.
    assert client_address(_request("198.51.100.7", "1.2.3.4"), proxies) == "198.51.100.7"
    assert client_address(_request("127.0.0.1", "1.2.3.4"), proxies) == "127.0.0.1"
    # Behind our proxies: what the first of them saw, not what the client wrote at the left.
    assert client_address(_request(PROXY, "6.6.6.6, 203.0.113.5, 192.168.1.1"), proxies) == "203.0.113.5"
    assert client_address(_request(PROXY, "203.0.113.5"), proxies) == "203.0.113.5"
    assert client_address(_request(PROXY, None), proxies) == PROXY
    assert client_address(_request(PROXY, "1.2.3.4"), ()) == PROXY


def test_citizens_behind_a_trusted_proxy_have_their_own_buckets(client, app, world, settings):
    before, app.state.trusted_proxies = app.state.trusted_proxies, parse_networks(f"{PROXY}/32")
    try:
        _behind_a_proxy(app, settings)
    finally:
        app.state.trusted_proxies = before


def _behind_a_proxy(app, settings) -> None:
    limit = int(settings.complaint_rate_submit.split("/")[0])
    with TestClient(app, client=(PROXY, 4000), raise_server_exceptions=False) as proxy:
        one = {"X-Forwarded-For": "203.0.113.10"}
        codes = [proxy.post("/api/v1/complaints", json=complaint_body(), headers=one).status_code for _ in range(limit)]
        assert codes == [201] * limit
        r = proxy.post("/api/v1/complaints", json=complaint_body(), headers=one)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        # Another citizen behind the same proxy is not in the first one's bucket…
        r = proxy.post("/api/v1/complaints", json=complaint_body(), headers={"X-Forwarded-For": "203.0.113.11"})
        assert r.status_code == 201
        # …and the first cannot escape by writing another address to the left of what the proxy appended.
        spoof = {"X-Forwarded-For": "9.9.9.9, 203.0.113.10"}
        assert proxy.post("/api/v1/complaints", json=complaint_body(), headers=spoof).status_code == 429


def test_a_lockout_for_wrong_receipts_does_not_lock_out_the_right_one(client, world, settings):
    d = Desk(client, world)
    receipt = d.submit()
    wrong = {"X-Complaint-Receipt": "2345-6789-ABCD-EFGH"}
    with TestClient(client.app, client=("203.0.113.9", 4000), raise_server_exceptions=False) as shared:
        for _ in range(int(settings.complaint_rate_bad_receipt.split("/")[0])):
            assert shared.get("/api/v1/complaints/mine", headers=wrong).status_code == 404
        r = shared.get("/api/v1/complaints/mine", headers=wrong)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        # A reporter behind the same address (a factory's NAT) with the right code still gets in.
        r = shared.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": receipt})
        assert r.status_code == 200, r.text
        assert shared.get("/api/v1/complaints/mine", headers=wrong).status_code == 429


def test_database_counts_are_shared_between_workers(app, settings):
    # Two limiters over two engines to one database: two processes, as far as the counting knows.
    engines = [make_engine(settings.effective_database_url) for _ in range(2)]
    try:
        a, b = (Limiter(DatabaseStorage(e)) for e in engines)
        a.reset()
        spec, passed = "5/3600", 0
        for i in range(12):
            try:
                (a if i % 2 else b).hit("test", "k", spec)
                passed += 1
            except Exception as exc:
                assert getattr(exc, "status", None) == 429
        assert passed == 5
        assert a.blocked("test", "k", spec) and b.blocked("test", "other", spec) is None
        a.reset()
    finally:
        for e in engines:
            e.dispose()


# --- login (item 9) --------------------------------------------------------------------------------------------


def _login(c: TestClient, username: str, password: str) -> httpx.Response:
    return c.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_login_is_throttled_per_account(client, world, settings):
    limit = int(settings.login_rate_account.split("/")[0])
    for _ in range(limit):
        assert _login(client, "officer2", "wrong-password-x").status_code == 401
    r = _login(client, "officer2", PASSWORD)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0, "the right password waits out the lockout"
    assert r.json()["code"] == "too_many_requests"
    assert _login(client, "chief2", PASSWORD).status_code == 200, "other accounts are not affected"


def test_login_is_throttled_per_address(client, world, settings):
    limit = int(settings.login_rate_address.split("/")[0])
    with TestClient(client.app, client=("198.51.100.20", 4000), raise_server_exceptions=False) as c:
        for i in range(limit):
            assert _login(c, f"nobody-{i}", "wrong-password-x").status_code == 401
        assert _login(c, "chief2", PASSWORD).status_code == 429
    assert _login(client, "chief2", PASSWORD).status_code == 200


@pytest.mark.parametrize("password", ["12345678", " " * 8, "password1", "Qwertyuiop", "aaaaaaaaaa", "{username}"])
def test_common_and_trivial_passwords_are_refused(client, world, password):
    h = world.headers(client, "admin")
    name = f"weak-{os.urandom(4).hex()}"
    pw = password.format(username=name)
    body = {"username": name, "password": pw, "role": "regulator", "department_code": "T-NS-YJ"}
    r = client.post("/api/v1/users", headers=h, json=body)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["password"], r.text
    r = client.patch(
        f"/api/v1/users/{world.ids['officer2']}", headers=h, json={"password": pw.replace(name, "officer2")}
    )
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["password"], r.text


# --- four real workers (item 8) --------------------------------------------------------------------------------


def test_four_workers_let_exactly_the_limit_through(tmp_path: Path, settings, db):
    port = free_port()
    env = {
        **os.environ,
        "HAZARD_DATA_DIR": str(tmp_path),
        "HAZARD_DATABASE_URL": settings.effective_database_url,
        "HAZARD_RATE_LIMIT_STORAGE": "database",
        "HAZARD_COMPLAINT_RATE_SUBMIT": "10/3600",
        "HAZARD_SERVE_SWEEP": "off",
        "HAZARD_JWT_SECRET": "x" * 48,
    }
    cmd = [sys.executable, "-m", "hazard_registry.cli", "serve", "--no-migrate", "--workers", "4", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.5)
        time.sleep(3)  # let every worker come up, so the requests spread over all four

        def submit(i: int) -> int:
            # Rotating X-Forwarded-For from a local peer no longer buys a fresh bucket.
            headers = {"X-Forwarded-For": f"198.51.100.{i}"}
            body = complaint_body(title=f"并发举报 {i}")
            return httpx.post(f"{base}/api/v1/complaints", json=body, headers=headers, timeout=60).status_code

        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(submit, range(40)))
        assert codes.count(201) == 10, codes
        assert codes.count(429) == 30, codes
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
