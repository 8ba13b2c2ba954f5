"""The reporter is protected: identity sealed at rest, hidden from handlers and enterprises, revealed only
through an approved and logged request; images lose their metadata; a flood does not take the desk down."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

from PIL import Image
from sqlalchemy import select, text, update

from hazard_registry import clock
from hazard_registry.auth.models import User
from hazard_registry.complaints import rewards, service
from hazard_registry.complaints.models import Complaint
from hazard_registry.complaints.workflow import Action, Context, fire
from hazard_registry.hazards.models import Attachment
from hazard_registry.uploads import blob_path
from tests.test_complaints import Desk

NAME, PHONE = "赵六六", "13912345678"


def _grant_reveal(db, username: str, value: bool) -> None:
    db.rollback()  # end the test's read snapshot: SQLite cannot upgrade a stale one to a write
    db.execute(update(User).where(User.username == username).values(can_reveal_identity=value))
    db.commit()


def test_identity_sealed_hidden_and_revealed_only_after_approval(client, world, db):
    d = Desk(client, world)
    receipt = d.submit(reporter={"name": NAME, "phone": PHONE, "employee_of_target": True})
    raw = db.execute(text("SELECT * FROM complaints")).mappings().one()
    assert NAME not in str(dict(raw)) and PHONE not in str(dict(raw))
    assert raw["identity_enc"] and raw["anonymous"] in (False, 0)

    c = d.only()
    for username in ("officer", "admin"):
        assert NAME not in client.get(f"/api/v1/complaints/{c['id']}", headers=d.h(username)).text
    assert PHONE not in client.get("/api/v1/complaints", headers=d.h("officer")).text
    assert NAME not in str(d.mine(receipt))  # nor echoed to whoever holds the receipt

    # Enterprises see no complaint; another district's handler finds nothing.
    r = client.get("/api/v1/complaints", headers=d.h("ent_chem"))
    assert r.status_code == 403
    assert client.get(f"/api/v1/complaints/{c['id']}", headers=d.h("ent_chem")).status_code == 403
    assert client.get(f"/api/v1/complaints/{c['id']}", headers=d.h("futian_officer")).status_code == 404
    assert client.get("/api/v1/complaints", headers=d.h("futian_officer")).json()["items"] == []

    r = client.post(
        f"/api/v1/complaints/{c['id']}/identity-reveals", json={"reason": "需当面取证"}, headers=d.h("officer")
    )
    assert r.status_code == 201
    reveal = r.json()
    url = f"/api/v1/complaints/{c['id']}/identity-reveals/{reveal['id']}"
    r = client.get(f"{url}/identity", headers=d.h("officer"))
    assert r.status_code == 403 and r.json()["code"] == "reveal_not_approved"
    r = client.post(f"{url}/decision", json={"decision": "approve"}, headers=d.h("chief"))
    assert r.status_code == 403 and r.json()["code"] == "reveal_right_required"
    _grant_reveal(db, "chief", True)
    _grant_reveal(db, "officer", True)
    try:
        r = client.post(f"{url}/decision", json={"decision": "approve"}, headers=d.h("officer"))
        assert r.status_code == 403 and r.json()["code"] == "reveal_self_approval"
        r = client.post(f"{url}/decision", json={"decision": "approve", "note": "同意"}, headers=d.h("chief"))
        assert r.status_code == 200 and r.json()["state"] == "approved"
    finally:
        _grant_reveal(db, "chief", False)
        _grant_reveal(db, "officer", False)
    assert client.get(f"{url}/identity", headers=d.h("chief")).status_code == 403  # only the requester views
    r = client.get(f"{url}/identity", headers=d.h("officer"))
    assert r.status_code == 200 and r.json()["name"] == NAME and r.json()["phone"] == PHONE

    log = client.get("/api/v1/complaints/identity-reveals", headers=d.h("admin")).json()["items"]
    assert len(log) == 1 and log[0]["views"] == 1 and log[0]["reason"] == "需当面取证"
    assert log[0]["decided_by_id"] == world.ids["chief"]
    assert client.get("/api/v1/complaints/identity-reveals", headers=d.h("admin_futian")).json() == {
        "items": [],
        "next_cursor": None,
    }
    assert client.get("/api/v1/complaints/identity-reveals", headers=d.h("officer")).status_code == 403

    # The hazard the complaint becomes says nothing of the reporter to the enterprise.
    c = client.get(f"/api/v1/complaints/{c['id']}", headers=d.h("officer")).json()
    c = d.ok(c, "accept")
    hazard = {
        "enterprise_id": world.ids["chem"],
        "clause_id": world.clause_chem,
        "title": "联锁被短接",
        "description": "现场核查属实。",
        "found_at": clock.today_in_china().isoformat(),
    }
    c = d.ok(c, "conclude", outcome="substantiated", finding="查实", hazard=hazard)
    seen_by_ent = [
        client.get(f"/api/v1/hazards/{c['hazard_id']}", headers=d.h("ent_chem")),
        client.get(f"/api/v1/hazards/{c['hazard_id']}/events", headers=d.h("ent_chem")),
    ]
    for r in seen_by_ent:
        assert r.status_code == 200
        assert NAME not in r.text and PHONE not in r.text and "complaint" not in r.text


def _jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (22.0, 32.0, 1.0), "E", (113.0, 56.0, 2.0)
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert b"PhoneMaker" in data and Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    return data


def test_image_metadata_is_removed_before_storage(client, world, db, settings):
    d = Desk(client, world)
    receipt = d.submit()
    rh = {"X-Complaint-Receipt": receipt}
    files = {"file": ("IMG_20261120_张三家楼下.jpg", _jpeg_with_gps(), "image/jpeg")}
    r = client.post("/api/v1/complaints/mine/files", files=files, headers=rh)
    assert r.status_code == 200, r.text and r.json()["files"] == 1
    blob = db.scalar(select(Attachment))
    stored = blob_path(settings.effective_attachments_dir, blob.sha256).read_bytes()
    assert b"PhoneMaker" not in stored and b"Model X" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert dict(img.getexif()) == {} and img.size == (32, 24)
    c = d.only()
    listed = client.get(f"/api/v1/complaints/{c['id']}/files", headers=d.h("officer")).json()["items"]
    assert listed[0]["filename"] == "evidence-1.jpg" and listed[0]["media_type"] == "image/jpeg"

    # Types are judged by content: a script called .jpg is refused; an oversized file too.
    files = {"file": ("x.jpg", b"#!/bin/sh\nrm -rf /\n", "image/jpeg")}
    assert client.post("/api/v1/complaints/mine/files", files=files, headers=rh).status_code == 415
    big = b"%PDF-1.4\n" + b"0" * (settings.complaint_file_max_bytes + 1)
    files = {"file": ("a.pdf", big, "application/pdf")}
    assert client.post("/api/v1/complaints/mine/files", files=files, headers=rh).status_code == 413


def test_a_flood_gets_429_while_a_real_receipt_still_works(client, world, settings):
    d = Desk(client, world)
    receipt = d.submit()
    limit = int(settings.complaint_rate_submit.split("/")[0])
    codes = [client.post("/api/v1/complaints", json={"title": "x"}).status_code for _ in range(limit + 5)]
    assert 429 in codes
    r = client.post("/api/v1/complaints", json={"title": "x"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.headers["content-type"] == "application/problem+json"

    # Wrong receipts: malformed and unknown answer alike, then the address is cut off.
    from fastapi.testclient import TestClient

    with TestClient(client.app, client=("203.0.113.9", 4000)) as attacker:
        a = attacker.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": "nonsense"})
        b = attacker.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": "2345-6789-ABCD-EFGH"})
        assert a.status_code == b.status_code == 404 and a.json() == b.json()
        statuses = [
            attacker.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": "2345-6789-ABCD-EFGH"}).status_code
            for _ in range(int(settings.complaint_rate_bad_receipt.split("/")[0]) + 2)
        ]
        assert statuses[-1] == 429
    # The reporter, from elsewhere, is unaffected, and may type the code in lower case with spaces.
    assert d.mine(receipt.lower().replace("-", " "))["status"] == "received"


def test_handling_deadline_boundary_is_the_sixtieth_day(client, world, db):
    Desk(client, world).submit()
    c = db.scalar(select(Complaint))
    accepted = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    fire(Context(session=db, row=c, actor=None, payload={}, now=accepted), Action.accept)
    assert c.handling_due_on == date(2026, 4, 30)
    assert not service.handling_overdue(c, date(2026, 4, 30))  # the 60th day: still in time
    assert service.handling_overdue(c, date(2026, 5, 1))
    db.flush()
    assert [x.id for x in service.due_for_escalation(db, date(2026, 5, 1))] == [c.id]
    assert service.due_for_escalation(db, date(2026, 4, 30)) == []
    fire(Context(session=db, row=c, actor=None, payload={"days": 30, "reason": "r"}, now=accepted), Action.extend)
    assert c.handling_due_on == date(2026, 4, 30) + timedelta(days=30)
    db.rollback()


def test_reward_amounts_follow_the_2018_rules():
    yuan = 100
    assert rewards.for_fine(100_000 * yuan) == 15_000 * yuan
    assert rewards.for_fine(1_000 * yuan) == 3_000 * yuan  # at least 3,000 元
    assert rewards.for_fine(5_000_000 * yuan) == 300_000 * yuan  # at most 300,000 元
    assert rewards.for_fine(3_333_333) == 500_000  # 15 % of 33,333.33 元 is 4,999.9995 元 → 5,000.00 元
    assert rewards.for_concealed_deaths(2, "general") == 60_000 * yuan
    assert rewards.for_concealed_deaths(3, "major") == 150_000 * yuan
    assert rewards.for_concealed_deaths(9, "especially_major") == 300_000 * yuan


def test_key_rotation_reseals_identities_with_the_new_key(client, world, db, app):
    from hazard_registry.complaints.crypto import Vault, generate_key

    Desk(client, world).submit(reporter={"name": NAME})
    old_keys = app.state.settings.effective_complaint_keys
    new = generate_key()
    before = db.scalar(select(Complaint.identity_enc))
    assert service.rotate_keys(db, Vault([new, *old_keys])) == 1
    db.commit()
    after = db.scalar(select(Complaint.identity_enc))
    assert after != before and Vault([new]).open(after)["name"] == NAME
