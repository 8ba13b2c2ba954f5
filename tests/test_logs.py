"""Logs carry no password hashes, identities or complaint text, nor reporters' addresses (issue #11, item 4).

An integrity error is provoked for real: a constraint the database enforces (a trigger on SQLite, a CHECK
on PostgreSQL) refuses one marked value, so the failing statement is the application's own."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.factories import PASSWORD
from tests.live import free_port
from tests.test_complaints import complaint_body

BOOM_MAIL = "boom.secret@example.com"
BOOM_TITLE = "举报标记-不应出现在日志"
BOOM_TEXT = "仓库后门常年堆放液氯钢瓶，举报人住在隔壁三号楼"


@contextmanager
def refusing(app) -> Iterator[None]:
    """The database refuses a user with BOOM_MAIL and a complaint titled BOOM_TITLE (an IntegrityError)."""
    engine = app.state.engine
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if pg:
            conn.execute(text("ALTER TABLE users DROP CONSTRAINT IF EXISTS ck_boom"))
            conn.execute(text("ALTER TABLE complaints DROP CONSTRAINT IF EXISTS ck_boom2"))
            conn.execute(text(f"ALTER TABLE users ADD CONSTRAINT ck_boom CHECK (email <> '{BOOM_MAIL}') NOT VALID"))
            conn.execute(
                text(f"ALTER TABLE complaints ADD CONSTRAINT ck_boom2 CHECK (title <> '{BOOM_TITLE}') NOT VALID")
            )
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS boom"))
            conn.execute(text("DROP TRIGGER IF EXISTS boom2"))
            conn.execute(
                text(
                    "CREATE TRIGGER boom BEFORE UPDATE ON users WHEN NEW.email = "
                    f"'{BOOM_MAIL}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER boom2 BEFORE INSERT ON complaints WHEN NEW.title = "
                    f"'{BOOM_TITLE}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if pg:
                conn.execute(text("ALTER TABLE users DROP CONSTRAINT ck_boom"))
                conn.execute(text("ALTER TABLE complaints DROP CONSTRAINT ck_boom2"))
            else:
                conn.execute(text("DROP TRIGGER IF EXISTS boom"))
                conn.execute(text("DROP TRIGGER IF EXISTS boom2"))


def _provoke(http, admin_headers: dict[str, str]) -> None:
    name = f"leak-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "password": "Xk9-harbour-lantern", "role": "regulator", "department_code": "T-NS-YJ"}
    r = http.post("/api/v1/users", headers=admin_headers, json=body)
    assert r.status_code == 201, r.text
    r = http.patch(
        f"/api/v1/users/{r.json()['id']}",
        headers=admin_headers,
        json={"email": BOOM_MAIL, "password": "Another-lantern-77"},
    )
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json", r.text
    r = http.post("/api/v1/complaints", json=complaint_body(title=BOOM_TITLE, description=BOOM_TEXT))
    assert r.status_code == 500, r.text


def _assert_clean(log: str) -> None:
    assert "IntegrityError" in log or "refused" in log or "violates" in log, "the error itself is logged"
    for secret in ("$argon2", BOOM_MAIL, BOOM_TEXT, "Another-lantern-77"):
        assert secret not in log, f"{secret!r} leaked into the log"


def test_an_integrity_error_logs_no_hash_identity_or_complaint_text(client, app, world, caplog):
    with refusing(app), caplog.at_level(logging.DEBUG):
        _provoke(client, world.headers(client, "admin"))
    _assert_clean(caplog.text)


def test_a_served_process_logs_neither_secrets_nor_reporters_addresses(tmp_path: Path, app, settings, world, db):
    port = free_port()
    env = {
        **os.environ,
        "HAZARD_DATA_DIR": str(tmp_path),
        "HAZARD_DATABASE_URL": settings.effective_database_url,
        "HAZARD_SERVE_SWEEP": "off",
        "HAZARD_JWT_SECRET": settings.jwt_secret,
    }
    log_path = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "hazard_registry.cli", "serve", "--no-migrate", "--port", str(port)]
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        # A fresh connection per request: uvicorn drops the connection of a request that raised.
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=base, timeout=30, limits=fresh) as http, refusing(app):
            token = http.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}).json()
            _provoke(http, {"Authorization": f"Bearer {token['access_token']}"})
            receipt = http.post("/api/v1/complaints", json=complaint_body()).json()["receipt_code"]
            assert http.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": receipt}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    _assert_clean(log)
    access = [line for line in log.splitlines() if '"GET /healthz' in line or "/api/v1/complaints" in line]
    assert any("127.0.0.1" in line for line in access if "/healthz" in line), "the access log is on"
    public = [line for line in access if "/api/v1/complaints" in line]
    assert public and not any("127.0.0.1" in line for line in public), public
