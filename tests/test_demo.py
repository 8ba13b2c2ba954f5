"""`hazard-registry demo`: a realistic district a new user can log into and click through."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hazard_registry.config import Settings
from hazard_registry.demo import load_demo
from hazard_registry.hazards.audit import verify_chains
from hazard_registry.hazards.models import Hazard
from hazard_registry.migrate import upgrade

STATES = {"reported", "assigned", "rectifying", "verification_requested", "verified", "closed", "rejected"}


def test_demo_district_has_every_state_and_working_logins(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    from hazard_registry.main import create_app

    app = create_app(Settings(database_url=url, data_dir=tmp_path, jwt_secret="demo-test-" + "z" * 32))
    with app.state.sessionmaker() as session:
        printed = load_demo(session, today=date(2026, 11, 20))
        assert "demo-officer" in printed and "demo-pass-2026" in printed
        states = set(session.scalars(select(Hazard.state).distinct()))
        assert states == STATES
        assert list(verify_chains(session)) == []
        count = session.scalar(select(func.count(Hazard.id)))
        again = load_demo(session)
        assert "already loaded" in again and session.scalar(select(func.count(Hazard.id))) == count

    with TestClient(app) as client:

        def login(name):
            r = client.post("/api/v1/auth/token", data={"username": name, "password": "demo-pass-2026"})
            assert r.status_code == 200, name
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        city = client.get("/api/v1/hazards?limit=200", headers=login("demo-city")).json()["items"]
        chem = client.get("/api/v1/hazards?limit=200", headers=login("demo-chem")).json()["items"]
        assert chem and len({h["enterprise_id"] for h in chem}) == 1 and len(chem) < len(city)
        officer = client.get("/api/v1/hazards?state=reported", headers=login("demo-officer")).json()["items"]
        assert officer and all("assign" in h["allowed_actions"] for h in officer)
        for name in ("demo-admin", "demo-chief", "demo-builder", "demo-metal"):
            login(name)
    app.state.engine.dispose()
