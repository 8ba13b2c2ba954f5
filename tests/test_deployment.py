"""Deployment (issue #11, items 16 and 17): database settings in parts, the compose file, a wheel that
migrates, and the lock files the builds install from."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from hazard_registry.config import Settings
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[1]
HARD = "p@ss/w:rd%#?&x"


def test_a_password_with_url_characters_survives_the_database_settings():
    s = Settings(_env_file=None, db_host="db.internal", db_port=5433, db_user="hazard", db_password=HARD, db_name="hr")
    url = make_url(s.effective_database_url)
    assert (url.host, url.port, url.username, url.password, url.database) == ("db.internal", 5433, "hazard", HARD, "hr")
    assert url.drivername == "postgresql+psycopg"


def test_the_parts_reach_a_real_server():
    """On PostgreSQL: a role whose password holds '@', '/' and ':' logs in through the parts."""
    if not PG_URL:
        return  # the URL arithmetic above is the whole story without a server
    server = make_url(PG_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    role = "hazard_parts_test"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{HARD}'"))
        s = Settings(
            _env_file=None,
            db_host=server.host or "localhost",
            db_port=server.port,
            db_user=role,
            db_password=HARD,
            db_name=server.database or "postgres",
        )
        engine = create_engine(s.effective_database_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == role
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def test_compose_builds_once_checks_health_and_passes_the_database_in_parts():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    app, worker = compose["services"]["app"], compose["services"]["worker"]
    assert app["image"] == worker["image"], "one image, built once, reused by the worker"
    assert "build" in app and "build" not in worker
    assert "healthcheck" in app
    assert worker["depends_on"]["app"]["condition"] == "service_healthy"
    for service in (app, worker):
        env = service["environment"]
        assert "HAZARD_DATABASE_URL" not in env, "no password spliced into a URL"
        assert env["HAZARD_DB_PASSWORD"].startswith("${POSTGRES_PASSWORD")
        assert env["HAZARD_KEYS_DIR"] != env["HAZARD_DATA_DIR"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "-r requirements.lock" in dockerfile and " -e " not in dockerfile


def test_the_builds_install_from_hashed_lock_files():
    for name in ("requirements.lock", "requirements-test.lock"):
        lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        pins = [line for line in lines if line and not line.startswith((" ", "#"))]
        assert pins and all("==" in p for p in pins), name
        assert sum("--hash=sha256:" in line for line in lines) >= len(pins), name
    runtime = (ROOT / "requirements.lock").read_text()
    assert "limits==" in runtime and "pytest==" not in runtime
    assert "pytest==" in (ROOT / "requirements-test.lock").read_text()
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements-test.lock" in make


def test_a_wheel_installed_elsewhere_migrates(tmp_path: Path):
    """`pip install .` then `hazard-registry migrate`, away from the checkout: the migrations are in the wheel."""
    wheels = tmp_path / "wheels"
    # Built from a copy: setuptools keeps build/ in the source tree and would reuse what an older build left.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "var", "build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("hazard_registry-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The wheel into the new environment; its dependencies are borrowed from this one's (PYTHONPATH), which
    # holds no hazard_registry package of its own (the checkout is installed editable, through a finder).
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, str(wheel)],
        check=True,
        capture_output=True,
    )
    here = sysconfig.get_paths()["purelib"]
    assert not (Path(here) / "hazard_registry").is_dir()
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}
    env |= {"PYTHONPATH": here, "HAZARD_DATA_DIR": str(work / "data")}
    probe = "import hazard_registry, sys; print(hazard_registry.__file__)"
    where = subprocess.run([venv / "bin" / "python", "-c", probe], cwd=work, env=env, capture_output=True, text=True)
    assert where.stdout.strip().startswith(target), where.stdout + where.stderr
    done = subprocess.run(
        [venv / "bin" / "python", "-m", "hazard_registry.cli", "migrate"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    engine = create_engine(f"sqlite:///{work / 'data' / 'hazard_registry.db'}")
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"hazards", "users", "user_events", "alembic_version"} <= tables
