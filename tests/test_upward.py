"""Upward reporting (逐级上报) between two deployments in one test: a district deployment (its own app and
database) pushes Nanshan's quarterly report through its notice outbox to the province's real HTTP endpoint (the
suite's app served by uvicorn on localhost), and the province's figures then include it.

The district's register is tests/stats_data.py's (figures as of 2026-06-30, quarter 2026Q2: Nanshan found 6,
open 3, overdue 2, closed 3); the province holds Futian's two hazards of it itself (found 2, open 1, overdue 1,
closed 1) and registers the district for Nanshan only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hazard_registry import clock
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.config import Settings
from hazard_registry.main import create_app
from hazard_registry.migrate import upgrade
from hazard_registry.notices.deliver import deliver_due
from hazard_registry.notices.models import Notice
from hazard_registry.upward import service as upward
from hazard_registry.upward.models import Downstream, ReceivedReport
from tests import stats_data
from tests.conftest import _wipe, new_database
from tests.factories import World, make_world
from tests.live import serving
from tests.test_console import sign_in

DISTRICT_ID = "nanshan-district"
NANSHAN_Q2 = {"found": 6, "open": 3, "overdue": 2, "closed": 3}
FUTIAN_Q2 = {"found": 2, "open": 1, "overdue": 1, "closed": 1}


@pytest.fixture(scope="module")
def province_url(app, world) -> Iterator[str]:
    """The suite's app (the province) behind a real uvicorn on localhost."""
    with serving(app, "province-uvicorn") as url:
        yield url


@pytest.fixture(scope="module")
def district_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second database: an SQLite file, or a second PostgreSQL database beside the suite's."""
    with new_database(tmp_path_factory, "district") as url:
        yield url


@pytest.fixture(scope="module")
def district_app(district_db: str, tmp_path_factory: pytest.TempPathFactory):
    upgrade(district_db)
    settings = Settings(
        database_url=district_db,
        data_dir=Path(tmp_path_factory.mktemp("district-data")),
        jwt_secret="district-secret-" + "y" * 32,
        serve_sweep="off",
        deployment_id=DISTRICT_ID,
    )
    application = create_app(settings)
    with application.state.sessionmaker() as session:
        application.state.world = make_world(session)
        session.commit()
    yield application
    application.state.engine.dispose()


@pytest.fixture
def district(district_app, db) -> Iterator[District]:
    with district_app.state.sessionmaker() as session:
        stats_data.load(session, district_app.state.world)
    with TestClient(district_app, raise_server_exceptions=False) as c:
        yield District(district_app, c)
    _wipe(district_app)


class District:
    def __init__(self, app, client: TestClient) -> None:
        self.app, self.client, self.world = app, client, app.state.world
        self.settings: Settings = app.state.settings

    def h(self, user: str = "admin") -> dict[str, str]:
        return self.world.headers(self.client, user)

    def push(self, period: str = "2026Q2", region: str = "440305", user: str = "admin") -> httpx.Response:
        return self.client.post(
            "/api/v1/upward/pushes", json={"region_code": region, "period": period}, headers=self.h(user)
        )

    def deliver(self, url: str, secret: str, now: datetime | None = None, **over) -> None:
        settings = self.settings.model_copy(
            update={"upward_url": f"{url}/api/v1/upward/reports", "upward_secret": secret, **over}
        )
        deliver_due(self.app.state.sessionmaker, settings, now or clock.now())

    def notice(self, notice_id: int) -> Notice:
        with self.app.state.sessionmaker() as s:
            return s.get_one(Notice, notice_id)

    def last_body(self) -> bytes:
        with self.app.state.sessionmaker() as s:
            return s.scalars(select(Notice.body).order_by(Notice.id.desc()).limit(1)).one().encode()


@pytest.fixture
def futian(db, world, monkeypatch):
    """The province's own hazards: Futian's of the fixed register."""
    rows = {k: v for k, v in stats_data.ROWS.items() if v[0] == "futian"}
    monkeypatch.setattr(stats_data, "ROWS", rows)
    return stats_data.load(db, world)


def register(client: TestClient, world: World, regions=("440305",), user: str = "admin_city") -> dict:
    r = client.post(
        "/api/v1/upward/downstreams",
        json={"deployment_id": DISTRICT_ID, "name": "南山区隐患库", "region_codes": list(regions)},
        headers=world.headers(client, user),
    )
    assert r.status_code == 201, r.text
    return r.json()


def province_report(client: TestClient, world: World, user: str = "admin_city", period: str = "2026Q2") -> dict:
    r = client.get(
        "/api/v1/statistics/region-report",
        params={"region": "440300", "period": period},
        headers=world.headers(client, user),
    )
    assert r.status_code == 200, r.text
    return r.json()


def figures(f: dict) -> dict:
    return {k: f[k] for k in ("found", "open", "overdue", "closed")}


def signed_post(url: str, body: bytes, secret: str, *, timestamp: int | None = None, deployment=DISTRICT_ID):
    ts = str(timestamp if timestamp is not None else int(clock.now().timestamp()))
    sig = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Hazard-Deployment": deployment,
        "X-Hazard-Timestamp": ts,
        "X-Hazard-Signature": sig,
    }
    return httpx.post(f"{url}/api/v1/upward/reports", content=body, headers=headers, timeout=30)


# --- the whole way ----------------------------------------------------------------------------------------------


def test_a_district_pushes_through_its_outbox_and_the_province_counts_it(
    client, world, district, futian, province_url, db
):
    before = province_report(client, world)
    assert figures(before["summary"]["figures"]) == FUTIAN_Q2
    assert [s["source"] for s in before["sources"]] == ["local"]

    secret = register(client, world)["secret"]
    r = district.push()
    assert r.status_code == 201, r.text
    push = r.json()
    assert (push["revision"], push["status"]) == (1, "pending")
    doc = json.loads(district.last_body())
    assert doc["schema"] == "hazard-registry/quarterly-report/v1"
    assert (doc["deployment_id"], doc["region"]["code"], doc["period"]["code"]) == (DISTRICT_ID, "440305", "2026Q2")
    assert doc["as_of"] == "2026-06-30" and doc["generated_at"].endswith("+08:00")
    assert figures(doc["figures"]["summary"]) == NANSHAN_Q2  # exactly the district's region report
    own = district.client.get(
        "/api/v1/statistics/region-report", params={"region": "440305", "period": "2026Q2"}, headers=district.h()
    ).json()
    assert doc["figures"]["summary"] == own["summary"]["figures"]

    district.deliver(province_url, secret)
    assert district.notice(push["notice_id"]).status == "sent"

    after = province_report(client, world)
    assert figures(after["summary"]["figures"]) == {k: NANSHAN_Q2[k] + FUTIAN_Q2[k] for k in NANSHAN_Q2}
    rows = {row["key"]: row for row in after["by_region"]["rows"]}
    assert figures(rows["440305"]["figures"]) == NANSHAN_Q2
    assert rows["440305"]["name"] == "南山区"
    assert rows["440305"]["figures"]["days_to_close_median"] == 30.0  # one source: kept as sent
    assert figures(rows["440304"]["figures"]) == FUTIAN_Q2
    sources = {s["key"]: s for s in after["sources"]}
    assert sources["440304"]["source"] == "local" and sources["440304"]["received"] == []
    got = sources["440305"]
    assert got["source"] == "received"
    assert (got["received"][0]["deployment_id"], got["received"][0]["revision"]) == (DISTRICT_ID, 1)
    found = sum(m["found"] for m in after["trend"]["months"])
    assert found == sum(m["found"] for m in before["trend"]["months"]) + sum(m["found"] for m in own["trend"]["months"])

    # A regulator of the city sees the sectors it leads (both of Nanshan's here); an enterprise nothing.
    city = province_report(client, world, "city")
    assert figures(city["summary"]["figures"]) == figures(after["summary"]["figures"])
    builder = client.get(
        "/api/v1/statistics/region-report",
        params={"region": "440300", "period": "2026Q2"},
        headers=world.headers(client, "builder"),
    ).json()
    assert builder["summary"]["figures"]["found"] == 0  # construction: none of Nanshan's hazards


def test_the_console_marks_received_child_regions(client, world, district, futian, province_url):
    secret = register(client, world)["secret"]
    assert district.push().status_code == 201
    district.deliver(province_url, secret)
    sign_in(client, "city")
    page = client.get("/filings", params={"period": "2026Q2"})
    assert page.status_code == 200
    assert "辖区季报汇总" in page.text and "下级上报" in page.text and DISTRICT_ID in page.text


def test_without_received_reports_the_filing_page_is_unchanged(client, world, futian):
    sign_in(client, "city")
    page = client.get("/filings", params={"period": "2026Q2"})
    assert page.status_code == 200 and "辖区季报汇总" not in page.text


# --- idempotency and revisions -----------------------------------------------------------------------------------


def test_the_same_push_twice_is_accepted_once(client, world, district, futian, province_url, db):
    secret = register(client, world)["secret"]
    first = district.push().json()
    again = district.push()
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["revision"] == first["revision"] == 1

    district.deliver(province_url, secret)
    # The outbox sends again (a lost answer, a lease run out): the province answers 200 and keeps one copy.
    with district.app.state.sessionmaker() as s:
        n = s.get_one(Notice, first["notice_id"])
        n.status, n.next_attempt_at = "pending", clock.now()
        s.commit()
    # (two seconds on: the same second would sign the same bytes alike, and that is refused as a replay)
    district.deliver(province_url, secret, now=clock.now() + timedelta(seconds=2))
    assert district.notice(first["notice_id"]).status == "sent"
    assert db.scalar(select(func.count()).select_from(ReceivedReport)) == 1
    assert figures(province_report(client, world)["summary"]["figures"])["found"] == 8

    earlier = int(clock.now().timestamp()) - 10  # not the second of either delivery: a new signature
    r = signed_post(province_url, district.last_body(), secret, timestamp=earlier)
    assert r.status_code == 200 and r.json()["duplicate"] is True


def test_a_corrected_push_carries_the_next_revision_and_supersedes(client, world, district, futian, province_url, db):
    secret = register(client, world)["secret"]
    assert district.push().status_code == 201
    district.deliver(province_url, secret)
    # A hazard of Nanshan found in June is entered late in the district: the quarter's figures change.
    with district.app.state.sessionmaker() as s:
        late = {"H11": ("chem", datetime(2026, 6, 1).date(), None, None, "reported")}
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(stats_data, "ROWS", late)
            stats_data.load(s, district.world)
    second = district.push()
    assert second.status_code == 201 and second.json()["revision"] == 2
    district.deliver(province_url, secret)

    report = province_report(client, world)
    rows = {row["key"]: row for row in report["by_region"]["rows"]}
    assert rows["440305"]["figures"]["found"] == 7 and rows["440305"]["figures"]["open"] == 4
    assert {s["key"]: s for s in report["sources"]}["440305"]["received"][0]["revision"] == 2
    assert db.scalar(select(func.count()).select_from(ReceivedReport)) == 2  # both kept, the higher counts

    listed = client.get("/api/v1/upward/reports", headers=world.headers(client, "admin_city")).json()["items"]
    assert [(r["revision"], r["counted"]) for r in listed] == [(2, True), (1, False)]


# --- what the province refuses -------------------------------------------------------------------------------------


def test_a_wrong_secret_is_refused_and_the_outbox_keeps_trying_until_fixed(
    client, world, district, futian, province_url
):
    secret = register(client, world)["secret"]
    push = district.push().json()
    district.deliver(province_url, "not-the-secret")
    n = district.notice(push["notice_id"])
    assert (
        n.status == "pending" and n.attempts == 1 and "401" in n.last_error and "upward_bad_signature" in n.last_error
    )
    assert figures(province_report(client, world)["summary"]["figures"]) == FUTIAN_Q2

    district.deliver(province_url, "not-the-secret", now=n.next_attempt_at, notice_max_attempts=2)
    assert district.notice(push["notice_id"]).status == "dead"
    # 管理: the district's administrator retries the dead letter once the secret is set right.
    r = district.client.post(f"/api/v1/notices/{push['notice_id']}/retry", headers=district.h())
    assert r.status_code == 200, r.text
    district.deliver(province_url, secret)
    assert district.notice(push["notice_id"]).status == "sent"
    assert figures(province_report(client, world)["summary"]["figures"])["found"] == 8


def test_bad_signature_stale_timestamp_replay_and_unknown_sender(client, world, district, futian, province_url):
    secret = register(client, world)["secret"]
    assert district.push().status_code == 201
    body = district.last_body()

    tampered = body.replace(b'"found":6', b'"found":1', 1)
    ts = int(clock.now().timestamp())
    sig = "sha256=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    r = httpx.post(
        f"{province_url}/api/v1/upward/reports",
        content=tampered,
        headers={"X-Hazard-Deployment": DISTRICT_ID, "X-Hazard-Timestamp": str(ts), "X-Hazard-Signature": sig},
    )
    assert r.status_code == 401 and r.json()["code"] == "upward_bad_signature"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "签名" in r.json()["title"]

    r = signed_post(province_url, body, secret, timestamp=ts - 301)
    assert r.status_code == 401 and r.json()["code"] == "upward_stale_timestamp"
    r = signed_post(province_url, body, secret, deployment="someone-else")
    assert r.status_code == 401 and r.json()["code"] == "upward_unknown_deployment"
    r = httpx.post(f"{province_url}/api/v1/upward/reports", content=body)
    assert r.status_code == 401 and r.json()["code"] == "upward_bad_signature"

    first = signed_post(province_url, body, secret, timestamp=ts)
    assert first.status_code == 201, first.text
    replay = signed_post(province_url, body, secret, timestamp=ts)  # the very same request again
    assert replay.status_code == 409 and replay.json()["code"] == "upward_replayed"


def test_a_region_outside_the_downstreams_is_refused(client, world, district, province_url):
    secret = register(client, world)["secret"]  # Nanshan only
    push = district.push(region="440304", user="admin_city").json()  # Futian
    district.deliver(province_url, secret)
    n = district.notice(push["notice_id"])
    assert n.status == "pending" and "403" in n.last_error and "upward_region_not_allowed" in n.last_error


def test_a_region_with_local_hazards_for_the_period_is_refused(client, world, district, province_url, db):
    stats_data.load(db, world)  # the province holds Nanshan's hazards itself
    secret = register(client, world)["secret"]
    assert district.push().status_code == 201
    r = signed_post(province_url, district.last_body(), secret)
    assert r.status_code == 409 and r.json()["code"] == "upward_region_has_local_hazards"
    assert "本级" in r.json()["title"]


def test_the_document_is_checked_against_its_schema_and_digest(client, world, district, futian, province_url):
    secret = register(client, world)["secret"]
    assert district.push().status_code == 201
    doc = json.loads(district.last_body())
    missing = {k: v for k, v in doc.items() if k != "cutoff"}
    r = signed_post(province_url, json.dumps(missing).encode(), secret)
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    assert r.json()["errors"][0]["field"] == "cutoff"
    unknown = {**doc, "extra": 1}
    r = signed_post(province_url, json.dumps(unknown).encode(), secret)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "extra"
    changed = json.loads(district.last_body())
    changed["figures"]["summary"]["found"] = 1  # signed, but not what the digest was taken over
    r = signed_post(province_url, json.dumps(changed).encode(), secret)
    assert r.status_code == 422 and r.json()["code"] == "upward_digest_mismatch"
    r = signed_post(province_url, json.dumps({**doc, "revision": 1, "deployment_id": "other-one"}).encode(), secret)
    assert r.status_code == 403 and r.json()["code"] == "upward_deployment_mismatch"


# --- the quarter's end, in China ----------------------------------------------------------------------------------


def test_q4_is_pushed_once_it_has_ended_in_beijing(client, world, district, futian, province_url, db):
    secret = register(client, world)["secret"]
    settings = district.settings.model_copy(update={"upward_push_after_working_days": 0, "upward_regions": "440305"})
    factory = district.app.state.sessionmaker
    with time_machine.travel(datetime(2026, 12, 31, 15, 30, tzinfo=UTC), tick=True):  # 23:30 on 31 Dec, Beijing
        with factory() as s, pytest.raises(Exception) as refused:
            upward.push(s, SYSTEM, "440305", "2026Q4", now=clock.now(), settings=settings)
        assert getattr(refused.value, "code", None) == "upward_period_not_ended"
        assert upward.auto_push(factory, settings, clock.now()) == 1  # the last quarter ended: Q3
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), tick=True):  # 07:30 on 1 Jan 2027
        assert upward.auto_push(factory, settings, clock.now()) == 1
        assert upward.auto_push(factory, settings, clock.now()) == 0  # once
        doc = json.loads(district.last_body())
        assert doc["period"]["code"] == "2026Q4" and doc["as_of"] == "2026-12-31"
        assert doc["generated_at"] == "2027-01-01T07:30:00+08:00"
        district.deliver(province_url, secret)
    with factory() as s:
        assert set(s.scalars(select(Notice.status)).all()) == {"sent"}
    q4 = province_report(client, world, period="2026Q4")
    assert {s["key"]: s["source"] for s in q4["sources"]}["440305"] == "received"


# --- managing the deployments below ---------------------------------------------------------------------------


def test_downstreams_are_an_administrators_within_their_region(client, world, db):
    created = register(client, world)
    assert created["region_codes"] == ["440305"] and len(created["secret"]) >= 32
    stored = db.scalar(select(Downstream.secret_enc))
    assert created["secret"] not in stored  # sealed at rest

    h = world.headers(client, "admin_futian")
    r = client.post(
        "/api/v1/upward/downstreams",
        json={"deployment_id": "shenzhen-x", "name": "x", "region_codes": ["440305"]},
        headers=h,
    )
    assert r.status_code == 403 and r.json()["code"] == "region_forbidden"
    r = client.post(
        "/api/v1/upward/downstreams",
        json={"deployment_id": "shenzhen-x", "name": "x", "region_codes": ["440300"]},
        headers=world.headers(client, "admin_city"),
    )
    assert r.status_code == 409 and r.json()["code"] == "upward_region_taken"
    r = client.get("/api/v1/upward/downstreams", headers=world.headers(client, "officer"))
    assert r.status_code == 403
    listed = client.get("/api/v1/upward/downstreams", headers=world.headers(client, "admin_city")).json()
    assert [d["deployment_id"] for d in listed["items"]] == [DISTRICT_ID] and "secret" not in listed["items"][0]
    assert client.get("/api/v1/upward/downstreams", headers=h).json()["items"] == []

    rotated = client.post(
        f"/api/v1/upward/downstreams/{created['id']}/secret", headers=world.headers(client, "admin_city")
    ).json()
    assert rotated["secret"] != created["secret"]
    off = client.patch(
        f"/api/v1/upward/downstreams/{created['id']}",
        json={"active": False},
        headers=world.headers(client, "admin_city"),
    )
    assert off.status_code == 200 and off.json()["active"] is False


def test_only_an_administrator_of_the_region_pushes_and_only_ended_quarters(district):
    assert district.push(user="officer").status_code == 403
    r = district.push(user="admin_futian")
    assert r.status_code == 403 and r.json()["code"] == "region_forbidden"
    future = f"{clock.today_in_china().year + 1}Q1"
    r = district.push(period=future)
    assert r.status_code == 409 and r.json()["code"] == "upward_period_not_ended"
    r = district.push(period="2026")
    assert r.status_code == 422


def test_pushing_needs_this_deployments_id(client, world):
    r = client.post(
        "/api/v1/upward/pushes",
        json={"region_code": "440305", "period": "2026Q2"},
        headers=world.headers(client, "admin"),
    )
    assert r.status_code == 409 and r.json()["code"] == "upward_not_configured"


def test_upward_settings_need_their_secret_and_id():
    with pytest.raises(ValueError):
        Settings(upward_url="http://x/api/v1/upward/reports", database_url="sqlite://")
