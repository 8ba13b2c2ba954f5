"""Test harness: a real database built by the real migrations, once per run.

HAZARD_TEST_DATABASE_URL points the suite at a PostgreSQL server (a fresh database is created on it and
dropped afterwards); without it the suite runs on a temporary SQLite file. The reference world (departments,
enterprises, users) is made once; what a test writes to the register is wiped after it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hazard_registry import cache, cli, clock
from hazard_registry.config import Settings, get_settings
from hazard_registry.main import create_app
from hazard_registry.migrate import upgrade
from tests.factories import World, make_world
from tests.guards import guard_off

# The single sign-on tests set themselves aside without node/npm, and say so once (tests/oidc/harness.py).
from tests.oidc.harness import pytest_collection_modifyitems, pytest_terminal_summary  # noqa: F401

PG_URL = os.environ.get("HAZARD_TEST_DATABASE_URL")

# HAZARD_TEST_NOW=2026-11-27T23:30:00Z runs the whole suite with the clock started at that instant (it
# ticks on from there): the hours at which China's date and the machine's differ are where date bugs live.
# .ci/run uses it for UTC 23:30 (07:30 Beijing, the next day) and for 00:30 Beijing under TZ=Asia/Shanghai.
_TRAVEL = None


def pytest_configure(config: pytest.Config) -> None:
    global _TRAVEL
    if start := os.environ.get("HAZARD_TEST_NOW"):
        _TRAVEL = time_machine.travel(datetime.fromisoformat(start), tick=True)
        _TRAVEL.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _TRAVEL is not None:
        _TRAVEL.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"clock: {clock.now().isoformat()} (China {clock.today_in_china()}), TZ={os.environ.get('TZ', '-')}"


# What tests write; wiped after each test (reference data and the world stay).
MUTABLE = [
    "oidc_links",
    "oidc_claim_rules",
    "oidc_nonces",
    "upward_signatures",
    "upward_reports",
    "upward_downstream_regions",
    "upward_downstreams",
    "upward_pushes",
    "document_services",
    "notices",
    "self_inspections",
    "supervision_measure_events",
    "supervision_measures",
    "supervision_timers",
    "supervision_document_counters",
    "calendar_days",
    "calendar_years",
    "open311_requests",
    "open311_partner_regions",
    "open311_partners",
    "complaint_rewards",
    "complaint_identity_reveals",
    "complaint_events",
    "complaint_messages",
    "complaint_attachments",
    "complaints",
    "ledger_import_rows",
    "ledger_imports",
    "enterprise_filings",
    "idempotency_keys",
    "hazard_extensions",
    "hazard_attachments",
    "attachments",
    "hazard_events",
    "hazards",
    "hazard_counters",
]


@contextmanager
def new_database(tmp_path_factory: pytest.TempPathFactory, prefix: str) -> Iterator[str]:
    """An empty database: a temporary SQLite file, or a fresh database on the HAZARD_TEST_DATABASE_URL server
    (dropped afterwards). A second deployment in a test (tests/test_upward.py) gets its own this way."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp(prefix) / f'{prefix}.db'}"
        return
    server = make_url(PG_URL)
    name = f"hazard_{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with new_database(tmp_path_factory, "test") as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    upgrade(database_url)
    data = tmp_path_factory.mktemp("data")
    return Settings(
        database_url=database_url,
        data_dir=Path(data),
        jwt_secret="test-secret-" + "x" * 32,
        attachment_max_bytes=256 * 1024,
        complaint_file_max_bytes=256 * 1024,
        complaint_bad_receipt_delay_ms=10,
        serve_sweep="off",  # tests sweep at the moments they choose
    )


@pytest.fixture(scope="session")
def app(settings: Settings):
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="session")
def world(app) -> World:
    with app.state.sessionmaker() as session:
        w = make_world(session)
        session.commit()
        return w


@pytest.fixture
def db(app, world) -> Iterator[Session]:
    # Deferred BEGIN on SQLite: this session lives through the test and must not hold the write lock.
    with app.state.sessionmaker(bind=app.state.read_engine) as session:
        yield session
    _wipe(app)


@pytest.fixture
def client(app, world, db) -> Iterator[TestClient]:
    app.state.limiter.reset()
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def audit_cli(settings, monkeypatch, capsys):
    """``hazard-registry audit verify ARGS`` against the test database: (exit code, what it printed)."""
    monkeypatch.setenv("HAZARD_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str]:
        code = cli.main(["audit", "verify", *args])
        return code, capsys.readouterr().out

    yield run
    get_settings.cache_clear()


def _wipe(app) -> None:
    engine = app.state.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(MUTABLE)} RESTART IDENTITY CASCADE"))
        else:
            with guard_off(conn):  # the event tables are append-only; the wipe is not the service
                for table in MUTABLE:
                    conn.execute(text(f"DELETE FROM {table}"))
    cache.clear_all()  # the wipe bypasses the session events that keep the process caches true
