"""Hostile files: image bombs refused from their header, large photos decoded small, uploader-chosen names made
harmless, and every stored file served so that a browser neither sniffs nor runs it."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from hazard_registry.hazards.models import Attachment
from hazard_registry.uploads import blob_path, safe_filename
from tests import edge
from tests.flow import Flow
from tests.test_complaints import Desk


def _image(fmt: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(out, format=fmt)
    return out.getvalue()


def test_a_hazard_attachment_declaring_a_billion_pixels_is_refused(client, world):
    f = Flow(client, world)
    hazard = f.report()
    bomb = edge.png_header_only(30000, 30000)
    assert len(bomb) < 2000
    r = f.attach(hazard, content=bomb, name="photo.png")
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "image_too_large"
    assert f.attach(hazard, content=_image("PNG", (64, 48)), name="ok.png").status_code == 201


def test_an_uploaded_name_is_cut_to_a_harmless_last_component(client, world):
    f = Flow(client, world)
    hazard = f.report()
    r = f.attach(hazard, name="../../../../etc/passwd")
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "passwd"
    r = f.attach(hazard, name="..\\..\\a<b>|c:d*.png")
    assert r.json()["filename"] == "a_b_c_d_.png"
    listed = client.get(f"/api/v1/hazards/{hazard['id']}/attachments", headers=f.h("officer")).json()["items"]
    assert [a["filename"] for a in listed] == ["passwd", "a_b_c_d_.png"]

    got = client.get(f"/api/v1/hazards/{hazard['id']}/attachments/{listed[0]['id']}/content", headers=f.h("officer"))
    assert got.status_code == 200
    assert got.headers["content-disposition"] == 'attachment; filename="passwd"'
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"].startswith("default-src 'none'")


def test_safe_filename():
    assert safe_filename("C:\\Users\\张三\\Desktop\\隐患照片.jpg") == "隐患照片.jpg"
    assert safe_filename("..") == "file" and safe_filename("\x00\x01") == "file" and safe_filename(None) == "file"
    long = safe_filename("长" * 300 + ".pdf")
    assert len(long) <= 120 and long.endswith(".pdf")


def test_complaint_photos_are_bounded_in_pixels(client, world, db, settings, monkeypatch):
    monkeypatch.setattr(settings, "complaint_image_max_pixels", 1_000_000)
    d = Desk(client, world)
    rh = {"X-Complaint-Receipt": d.submit()}

    def send(name: str, content: bytes):
        return client.post("/api/v1/complaints/mine/files", files={"file": (name, content, "image/png")}, headers=rh)

    r = send("big.png", _image("PNG", (1600, 1200)))  # 1.9 megapixels, over the budget: refused undecoded
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "image_too_large"

    r = send("big.jpg", _image("JPEG", (1600, 1200)))  # a JPEG is decoded at half scale instead
    assert r.status_code == 200, r.text
    stored = blob_path(settings.effective_attachments_dir, db.scalar(select(Attachment.sha256)))
    with Image.open(stored) as img:
        assert img.size == (800, 600)

    c = d.only()
    files = client.get(f"/api/v1/complaints/{c['id']}/files", headers=d.h("officer")).json()["items"]
    got = client.get(f"/api/v1/complaints/{c['id']}/files/{files[0]['id']}", headers=d.h("officer"))
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"].startswith("default-src 'none'")
