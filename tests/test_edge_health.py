"""A lost database is told honestly: 503 problem+json with Retry-After on every request, /readyz says not ready
while /healthz (liveness) stays cheap and up, and the service recovers by itself when the database is back.

With HAZARD_TEST_DATABASE_URL the test starts a PostgreSQL server of its own and stops it mid-test (the suite's
server is left alone); on SQLite the database file is out of reach, then made reachable."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from hazard_registry.config import Settings
from hazard_registry.db import make_engine
from hazard_registry.hazards.models import Hazard
from hazard_registry.main import create_app
from hazard_registry.migrate import upgrade
from tests.conftest import PG_URL
from tests.factories import hazard_body, make_world
from tests.flow import Flow
from tests.statements import loop_engine_of

SANDBOX = Path(__file__).resolve().parents[1] / "scripts" / "pg-sandbox"


class PostgresToStop:
    def __init__(self) -> None:
        # Not under pytest's private tmp: the server runs as the postgres user when the tests run as root.
        self.dir = Path(tempfile.mkdtemp(prefix="hazard-pg-down-"))
        self.dir.chmod(0o755)
        out = subprocess.run([SANDBOX, "start", self.dir / "c"], check=True, capture_output=True, text=True)
        self.dir = self.dir / "c"
        self.url = out.stdout.strip()
        upgrade(self.url)

    def down(self, app) -> None:
        subprocess.run([SANDBOX, "stop", self.dir], check=True, capture_output=True)

    def remove(self) -> None:
        subprocess.run([SANDBOX, "stop", self.dir], capture_output=True)
        shutil.rmtree(self.dir.parent, ignore_errors=True)

    def up(self) -> None:
        port = make_url(self.url).port
        pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
        opts = f"-p {port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        cmd = [str(pg_ctl), "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "-o", opts, "start"]
        if shutil.which("runuser") and Path("/proc/self").owner() == "root":
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True)


class SqliteOutOfReach:
    def __init__(self, tmp: Path) -> None:
        self.home = tmp / "sqlite"
        self.url = f"sqlite:///{self.home / 'db' / 'registry.db'}"

    def down(self, app) -> None:
        # The directory goes: a new connection cannot open the file ("unable to open database file"). An open
        # SQLite connection would keep the deleted file alive, so the pool's are closed, as a restart would.
        shutil.rmtree(self.home, ignore_errors=True)
        app.state.engine.dispose()

    def remove(self) -> None:
        pass

    def up(self) -> None:
        (self.home / "db").mkdir(parents=True)
        upgrade(self.url)


@pytest.fixture
def database(tmp_path):
    db = PostgresToStop() if PG_URL else SqliteOutOfReach(tmp_path)
    yield db
    db.remove()


def _unavailable(r) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "database_unavailable"
    assert int(r.headers["retry-after"]) > 0


def test_a_lost_database_is_503_with_retry_after_and_readyz_tells(database, tmp_path):
    settings = Settings(database_url=database.url, data_dir=tmp_path, jwt_secret="s" * 40, serve_sweep="off")
    app = create_app(settings)
    login = {"username": "nobody", "password": "wrong-password-1"}
    with TestClient(app, raise_server_exceptions=False) as client:
        if isinstance(database, SqliteOutOfReach):
            _unavailable(client.get("/readyz"))  # not there yet
            database.up()
        assert client.get("/readyz").status_code == 200
        assert client.post("/api/v1/auth/token", data=login).status_code == 401  # the database answered

        database.down(app)
        for _ in range(3):  # pooled connections and fresh ones alike
            _unavailable(client.post("/api/v1/auth/token", data=login))
            _unavailable(client.get("/api/v1/public/exposures"))
        _unavailable(client.get("/readyz"))
        assert client.get("/healthz").status_code == 200  # liveness: the process is fine, do not restart it

        database.up()
        assert client.get("/readyz").status_code == 200
        assert client.post("/api/v1/auth/token", data=login).status_code == 401
    app.state.engine.dispose()


def _served_with_a_world(database, tmp_path, **settings):
    """An app on ``database`` (reachable), and the district the flows need, entered."""
    if isinstance(database, SqliteOutOfReach):
        database.up()
    app = create_app(
        Settings(database_url=database.url, data_dir=tmp_path, jwt_secret="s" * 40, serve_sweep="off", **settings)
    )
    with app.state.sessionmaker() as session:
        world = make_world(session)
        session.commit()
    return app, world


def test_a_database_restart_fails_no_request_and_loses_no_acknowledged_write(database, tmp_path):
    """Pooled connections are not pinged on every checkout: a restart is noticed from their sockets, which the
    server closed (without that check the first request after it is a clean 503, and the pool is renewed).
    Every write answered 201 is in the register afterwards."""
    app, world = _served_with_a_world(database, tmp_path)
    with TestClient(app, raise_server_exceptions=False) as client:
        flow = Flow(client, world)
        acknowledged = [flow.report()["id"] for _ in range(3)]
        assert client.get(f"/api/v1/hazards/{acknowledged[0]}", headers=flow.h("officer")).status_code == 200
        assert app.state.engine.pool.checkedin() >= 1, "connections wait in the pool across the restart"

        if isinstance(database, PostgresToStop):
            database.down(app)  # a fast shutdown: every pooled connection's server side goes away
            database.up()
        else:
            app.state.engine.dispose()  # SQLite has no server: a restart is new connections

        answers = []
        for _ in range(4):
            r = client.post("/api/v1/hazards", json=hazard_body(world), headers=flow.h("ent_chem"))
            answers.append(r.status_code)
            if r.status_code == 201:
                acknowledged.append(r.json()["id"])
            else:
                _unavailable(r)
            read = client.get(f"/api/v1/hazards/{acknowledged[0]}", headers=flow.h("officer"))
            assert read.status_code in (200, 503), read.text
            answers.append(read.status_code)
        assert answers.count(503) == 0, answers
        assert answers[-4:] == [201, 200, 201, 200], answers
    app.state.engine.dispose()

    engine = make_engine(database.url)
    with engine.connect() as conn:
        stored = set(conn.execute(select(Hazard.id)).scalars())
    engine.dispose()
    assert set(acknowledged) <= stored, "an acknowledged report was lost"


def test_the_routes_on_the_event_loop_answer_503_too_and_recover(database, tmp_path):
    """On PostgreSQL the hazard routes run on the event loop through asyncpg (``db.on_loop``), whose refused
    connection is an OSError, not a database error: still 503 ``database_unavailable``, and the pool connects
    afresh once the server is back. (On SQLite they run in threads, and the same holds.)"""
    app, world = _served_with_a_world(database, tmp_path, cache_seconds=300)
    with TestClient(app, raise_server_exceptions=False) as client:
        flow = Flow(client, world)
        hazard = flow.report()
        read = f"/api/v1/hazards/{hazard['id']}"
        assert client.get(read, headers=flow.h("officer")).status_code == 200  # the caller is cached from here
        if PG_URL:
            assert loop_engine_of(client).sync_engine.pool.checkedin() >= 1

        database.down(app)
        for _ in range(2):  # the pooled connection the server closed, then a fresh one refused
            _unavailable(client.get(read, headers=flow.h("officer")))
            _unavailable(client.post("/api/v1/hazards", json=hazard_body(world), headers=flow.h("ent_chem")))

        database.up()  # PostgreSQL's server again, its data kept; on SQLite a new, empty file
        assert client.get(read, headers=flow.h("officer")).status_code == (200 if PG_URL else 404)
        if PG_URL:
            r = client.post("/api/v1/hazards", json=hazard_body(world), headers=flow.h("ent_chem"))
            assert r.status_code == 201, r.text
    app.state.engine.dispose()


def test_a_request_that_finds_every_connection_in_use_is_503_busy_and_the_next_is_served(settings, world, db):
    """All of a worker's connections in use (here its one, held elsewhere): a report waits
    ``database_pool_timeout`` for one, then is answered 503 ``database_busy`` with Retry-After, not 500; once a
    connection is back, the same report goes through."""
    busy = {"database_pool_size": 1, "database_max_overflow": 0, "database_pool_timeout": 0.2}
    app = create_app(settings.model_copy(update=busy))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            flow = Flow(client, world)
            headers = flow.h("ent_chem")  # signed in before the connection is taken
            loop = loop_engine_of(client)  # PostgreSQL: a report runs on the event loop's pool (db.on_loop)
            held = app.state.engine.connect() if loop is None else client.portal.call(_connected, loop)
            try:
                r = client.post("/api/v1/hazards", json=hazard_body(world), headers=headers)
            finally:
                if loop is None:
                    held.close()
                else:
                    client.portal.call(held.close)
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["retry-after"] == "1"
            assert r.json()["code"] == "database_busy" and r.json()["title"] == "系统繁忙，请稍后重试"
            assert client.post("/api/v1/hazards", json=hazard_body(world), headers=headers).status_code == 201
    finally:
        app.state.engine.dispose()  # and its autocommit twin's pool


async def _connected(engine):
    """A connection of an async engine, checked out in the loop its connections belong to."""
    return await engine.connect()
