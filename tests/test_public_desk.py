"""The public desk as plain HTTP sees it (no script): the form, its no-JS cascade, the receipt once, 查询, 曝光台."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from PIL import Image

from tests.factories import uscc


def photo() -> bytes:
    """A real photo (the desk re-encodes images from their pixels, so they must decode)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = re.compile(r"data-receipt>([A-Z0-9-]+)<")


def token(client: TestClient, path: str = "/jb") -> str:
    r = client.get(path)
    assert r.status_code == 200
    return CSRF.search(r.text).group(1)


def report(client: TestClient, **fields) -> str:
    data = {
        "csrf_token": token(client), "province": "440000", "city": "440300", "region_code": "440305",
        "title": "仓库里堆满了烟花", "description": "居民楼底商的仓库夜里进货，全是烟花爆竹。",
        "address": "南山区测试路8号底商", **fields,
    }  # fmt: skip
    r = client.post("/jb", data=data, files={"photos": ("现场.png", photo(), "image/png")})
    assert r.status_code == 201, r.text
    assert "回执码只显示这一次" in r.text
    return CODE.search(r.text).group(1)


def test_the_form_is_chinese_phone_ready_and_strict(client):
    r = client.get("/jb")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert 'name="viewport"' in r.text and 'accept="image/*"' in r.text and "capture=" in r.text
    assert "匿名" in r.text and "加密保存" in r.text, "a plain statement of how identity is protected"
    assert "http://" not in r.text and "https://" not in r.text, "nothing from another host"
    assert client.get("/report").status_code == 200


def test_without_javascript_the_cascade_reloads_with_what_was_typed(client):
    r = client.get("/jb", params={"province": "440000", "title": "仓库里堆满了烟花"})
    assert '<option value="440300">深圳市</option>' in r.text
    assert 'value="仓库里堆满了烟花"' in r.text
    r = client.get("/jb", params={"province": "440000", "city": "440300"})
    assert '<option value="440305">南山区</option>' in r.text


def test_an_anonymous_report_with_a_photo_gets_its_receipt_once(client, world):
    code = report(client)
    cases = client.get("/api/v1/complaints", headers=world.headers(client, "officer")).json()["items"]
    assert [c["title"] for c in cases] == ["仓库里堆满了烟花"] and cases[0]["anonymous"] is True
    files = client.get(f"/api/v1/complaints/{cases[0]['id']}/files", headers=world.headers(client, "officer"))
    assert len(files.json()["items"]) == 1
    seen = client.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": code}).json()
    assert seen["files"] == 1 and seen["status"] == "received"
    r = client.post("/cx", data={"csrf_token": token(client, "/cx"), "receipt": code})
    assert r.status_code == 200 and "已收到，待受理" in r.text and code in r.text


def test_a_bad_credit_code_or_no_county_is_refused_with_the_typing_kept(client):
    data = {
        "csrf_token": token(client), "province": "440000", "city": "440300", "region_code": "",
        "title": "仓库里堆满了烟花", "description": "夜里进货。", "enterprise_uscc": "91440300MA5T000010",
    }  # fmt: skip
    r = client.post("/jb", data=data)
    assert r.status_code == 422
    assert "统一社会信用代码有误" in r.text and "请选择事发地的区县" in r.text
    assert 'value="仓库里堆满了烟花"' in r.text
    good = uscc("91440300MA5T00001")
    r = client.post("/jb", data={**data, "region_code": "440305", "enterprise_uscc": ""})
    assert r.status_code == 422 and "请填写涉及的单位名称、信用代码或详细地址" in r.text
    r = client.post("/jb", data={**data, "region_code": "440305", "enterprise_uscc": good.lower()})
    assert r.status_code == 201


def test_a_form_without_the_csrf_token_is_refused(client):
    r = client.post("/jb", data={"region_code": "440305", "title": "x", "description": "y"})
    assert r.status_code == 403


def test_a_wrong_receipt_says_so_without_telling_which_part(client):
    r = client.post("/cx", data={"csrf_token": token(client, "/cx"), "receipt": "AAAA-BBBB-CCCC-DDDD"})
    assert r.status_code == 404 and "回执码不正确" in r.text


def test_the_public_regions_lookup_needs_no_login(client):
    provinces = client.get("/api/v1/public/regions").json()["items"]
    assert {"code": "440000", "name": "广东省", "level": "province"} in provinces
    counties = client.get("/api/v1/public/regions", params={"parent": "440300"}).json()["items"]
    assert any(c["name"] == "南山区" for c in counties)
    assert client.get("/api/v1/public/regions", params={"parent": "44"}).status_code == 422
    sectors = client.get("/api/v1/public/sectors").json()["items"]
    assert {"code": "fireworks", "name": "烟花爆竹"} in sectors


def test_a_report_naming_only_a_sector_goes_to_that_sectors_lead_department(client, world):
    report(client, sector_code="construction", title="工地塔吊螺栓松动")
    builder = client.get("/api/v1/complaints", headers=world.headers(client, "builder")).json()["items"]
    assert [c["title"] for c in builder] == ["工地塔吊螺栓松动"], "南山区住房和建设局 leads construction"
