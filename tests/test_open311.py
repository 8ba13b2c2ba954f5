"""Open311 GeoReport v2, driven as a partner platform's client would drive it: url-encoded forms in, the spec's
XML and JSON out, every answer checked against the spec's own field lists (written below as data, from
http://wiki.open311.org/GeoReport_v2 and its Service Discovery page), and the spec's example request sent
as it stands and then made ours."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # parses only this service's own answers
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from hazard_registry import clock
from hazard_registry.complaints.crypto import Vault
from hazard_registry.complaints.models import Complaint
from hazard_registry.logs import scrub
from hazard_registry.open311.models import Partner
from tests.factories import FUTIAN, NANSHAN, World
from tests.test_console import csrf_of, sign_in

BASE = "/open311/v2"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

# --- the spec's field lists ----------------------------------------------------------------------------------------
# Each response: its root element, the element of each item (None: the root is one object), and per field its type
# and whether it must be present. "May not be returned" in the spec is optional (may be absent or empty); every
# other field of the tables is present, empty where it has no value (as in the spec's own examples).
# Types: string, boolean, integer, number, datetime (w3, with a zone), or a tuple of the allowed values.
W3 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
REQ, OPT = True, False

DISCOVERY = {
    "root": "discovery",
    "item": None,
    "fields": {
        "changeset": ("string", REQ),
        "contact": ("string", REQ),
        "key_service": ("string", REQ),
        "endpoints": (
            {
                "item": "endpoint",
                "fields": {
                    "specification": ("string", REQ),
                    "url": ("string", REQ),
                    "changeset": ("string", REQ),
                    "type": (("production", "test"), REQ),
                    "formats": ({"item": "format", "scalar": "string"}, REQ),
                },
            },
            REQ,
        ),
    },
}
SERVICES = {
    "root": "services",
    "item": "service",
    "fields": {
        "service_code": ("string", REQ),
        "service_name": ("string", REQ),
        "description": ("string", REQ),
        "metadata": ("boolean", REQ),
        "type": (("realtime", "batch", "blackbox"), REQ),
        "keywords": ("string", REQ),
        "group": ("string", REQ),
    },
}
SERVICE_DEFINITION = {
    "root": "service_definition",
    "item": None,
    "fields": {
        "service_code": ("string", REQ),
        "attributes": (
            {
                "item": "attribute",
                "fields": {
                    "variable": ("boolean", REQ),
                    "code": ("string", REQ),
                    "datatype": (("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"), REQ),
                    "required": ("boolean", REQ),
                    "datatype_description": ("string", REQ),
                    "order": ("integer", REQ),
                    "description": ("string", REQ),
                    "values": (
                        {"item": "value", "fields": {"key": ("string", REQ), "name": ("string", REQ)}},
                        OPT,
                    ),
                },
            },
            REQ,
        ),
    },
}
POSTED = {
    "root": "service_requests",
    "item": "request",
    "fields": {
        "service_request_id": ("string", REQ),
        "service_notice": ("string", OPT),
        "account_id": ("string", OPT),
    },
}
REQUESTS = {
    "root": "service_requests",
    "item": "request",
    "fields": {
        "service_request_id": ("string", REQ),
        "status": (("open", "closed"), REQ),
        "status_notes": ("string", OPT),
        "service_name": ("string", REQ),
        "service_code": ("string", REQ),
        "description": ("string", REQ),
        "agency_responsible": ("string", OPT),
        "service_notice": ("string", OPT),
        "requested_datetime": ("datetime", REQ),
        "updated_datetime": ("datetime", REQ),
        "expected_datetime": ("datetime", OPT),
        "address": ("string", REQ),
        "address_id": ("string", REQ),
        "zipcode": ("string", REQ),
        "lat": ("number", REQ),
        "long": ("number", REQ),
        "media_url": ("string", REQ),
    },
}
ERRORS = {
    "root": "errors",
    "item": "error",
    "fields": {"code": ("string", REQ), "description": ("string", REQ)},
}
# The spec's request fields that identify the reporter: never in a GET answer.
IDENTITY = ("first_name", "last_name", "phone", "email", "device_id", "account_id")


def _scalar_ok(kind: Any, value: Any, xml: bool) -> bool:
    if isinstance(kind, tuple):
        return value in kind
    if kind == "string":
        return isinstance(value, str) or (not xml and isinstance(value, int | float) and not isinstance(value, bool))
    if kind == "boolean":
        return value in ("true", "false") if xml else isinstance(value, bool)
    if kind == "integer":
        return bool(re.fullmatch(r"-?\d+", value)) if xml else isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        if xml:
            return bool(re.fullmatch(r"-?\d+(\.\d+)?", value))
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "datetime":
        return isinstance(value, str) and bool(W3.match(value))
    raise AssertionError(kind)


def check_json(spec: dict[str, Any], doc: Any, where: str = "") -> None:
    items = doc if spec.get("item") else [doc]
    if spec.get("item"):
        assert isinstance(doc, list), f"{where}: a list is a JSON array"
    for n, item in enumerate(items):
        if "scalar" in spec:
            assert _scalar_ok(spec["scalar"], item, xml=False), f"{where}[{n}] = {item!r}"
            continue
        assert isinstance(item, dict), f"{where}[{n}] is an object"
        for name, (kind, required) in spec["fields"].items():
            if name not in item:
                assert not required, f"{where}[{n}].{name} is missing"
                continue
            value = item[name]
            if isinstance(kind, dict):
                if value is not None:
                    check_json(kind, value, f"{where}.{name}")
                continue
            if value is None or value == "":
                continue  # an empty element
            assert _scalar_ok(kind, value, xml=False), f"{where}[{n}].{name} = {value!r} is not {kind}"
        assert not set(item) - set(spec["fields"]), (
            f"{where}: fields outside the spec {set(item) - set(spec['fields'])}"
        )


def check_xml(spec: dict[str, Any], body: bytes) -> ET.Element:
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body[:60]
    root = ET.fromstring(body)
    assert root.tag == spec["root"]
    _check_element(spec, root, spec["root"])
    return root


def _check_element(spec: dict[str, Any], el: ET.Element, where: str) -> None:
    items = list(el) if spec.get("item") else [el]
    for n, item in enumerate(items):
        if spec.get("item"):
            assert item.tag == spec["item"], f"{where}: <{item.tag}> in a list of <{spec['item']}>"
        if "scalar" in spec:
            assert _scalar_ok(spec["scalar"], item.text or "", xml=True), f"{where}[{n}]"
            continue
        children = {c.tag: c for c in item}
        assert len(children) == len(list(item)), f"{where}[{n}]: an element repeated"
        for name, (kind, required) in spec["fields"].items():
            child = children.get(name)
            if child is None:
                assert not required, f"{where}[{n}] has no <{name}>"
                continue
            if isinstance(kind, dict):
                _check_element(kind, child, f"{where}.{name}")
                continue
            if child.text is None:
                continue
            assert _scalar_ok(kind, child.text, xml=True), f"{where}[{n}].{name} = {child.text!r} is not {kind}"
        assert not set(children) - set(spec["fields"]), f"{where}: elements outside the spec"


def test_the_validator_accepts_the_spec_s_own_examples() -> None:
    """The field lists above read the spec's example answers (abridged) as valid, and refuse a broken one."""
    example = (
        b'<?xml version="1.0" encoding="UTF-8"?><service_requests><request>'
        b"<service_request_id>638344</service_request_id><status>closed</status>"
        b"<status_notes>Duplicate request.</status_notes><service_name>Sidewalk and Curb Issues</service_name>"
        b"<service_code>006</service_code><description></description><agency_responsible></agency_responsible>"
        b"<service_notice></service_notice><requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime>"
        b"<updated_datetime>2010-04-14T06:37:38-08:00</updated_datetime>"
        b"<expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime><address>8TH AVE and JUDAH ST</address>"
        b"<address_id>545483</address_id><zipcode>94122</zipcode><lat>37.762221815</lat><long>-122.4651145</long>"
        b"<media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg</media_url></request></service_requests>"
    )
    check_xml(REQUESTS, example)
    check_json(ERRORS, [{"code": 403, "description": "Invalid api_key received -- can't proceed with create_request."}])
    with pytest.raises(AssertionError):
        check_xml(REQUESTS, example.replace(b"<status>closed</status>", b"<status>pending</status>"))


# --- helpers ---------------------------------------------------------------------------------------------------------


def make_partner(client: TestClient, world: World, regions: list[str], admin: str = "admin", name: str = "城市服务"):
    r = client.post(
        "/api/v1/open311/partners", json={"name": name, "regions": regions}, headers=world.headers(client, admin)
    )
    assert r.status_code == 201, r.text
    return r.json()


def spec_example_request(api_key: str) -> dict[str, str]:
    """The spec's example POST Service Request, field for field."""
    return {
        "api_key": api_key,
        "jurisdiction_id": "city.gov",
        "service_code": "001",
        "lat": "37.76524078",
        "long": "-122.4212043",
        "address_string": "1234 5th street",
        "email": "smit333@sfgov.edu",
        "device_id": "tt222111",
        "account_id": "123456",
        "first_name": "john",
        "last_name": "smith",
        "phone": "111111111",
        "description": "A large sinkhole is destroying the street",
        "media_url": "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg",
        "attribute[WHISPAWN]": "123456",
        "attribute[WHISDORN]": "COISL001",
    }


def ours(api_key: str, **over: str) -> dict[str, str]:
    """The example made one of ours: a sector, a point in Nanshan, our attributes, a report in Chinese."""
    form = spec_example_request(api_key)
    for name in ("attribute[WHISPAWN]", "attribute[WHISDORN]"):
        del form[name]
    form.update(
        {
            "service_code": "hazardous_chemicals",
            "lat": "22.533",
            "long": "113.930",
            "address_string": "南山区测试路1号",
            "description": "化工厂夜间偷偷进料，温度联锁被短接，报警器一直响。",
            "attribute[region_code]": NANSHAN,
            "attribute[enterprise_name]": "南山测试化工有限公司",
        }
    )
    form.update(over)
    return {k: v for k, v in form.items() if v is not None}


def post(client: TestClient, form: dict[str, str], fmt: str = "json", **kw: Any):
    return client.post(f"{BASE}/requests.{fmt}", content=urlencode(form), headers=FORM, **kw)


def created_id(client: TestClient, api_key: str, **over: str) -> str:
    r = post(client, ours(api_key, **over))
    assert r.status_code == 200, r.text
    return r.json()[0]["service_request_id"]


def error_codes(r) -> list[str]:
    """The codes of a spec-format error answer (JSON array, or XML <errors>), checked against the field list."""
    assert "problem" not in r.headers["content-type"]
    if r.headers["content-type"].startswith("application/json"):
        check_json(ERRORS, r.json())
        return [e["code"] for e in r.json()]
    root = check_xml(ERRORS, r.content)
    return [e.findtext("code") or "" for e in root]


# --- discovery, services, definitions ------------------------------------------------------------------------------


def test_discovery_in_both_formats(client: TestClient) -> None:
    j = client.get(f"{BASE}/discovery.json")
    assert j.status_code == 200 and j.headers["content-type"] == "application/json; charset=utf-8"
    check_json(DISCOVERY, j.json())
    endpoint = j.json()["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and set(endpoint["formats"]) == {"text/xml", "application/json"}
    x = client.get(f"{BASE}/discovery.xml")
    assert x.status_code == 200 and x.headers["content-type"] == "text/xml; charset=utf-8"
    root = check_xml(DISCOVERY, x.content)
    assert [f.text for f in root.iter("format")] == endpoint["formats"]


def test_services_are_the_desk_s_categories(client: TestClient) -> None:
    j = client.get(f"{BASE}/services.json")
    assert j.status_code == 200
    check_json(SERVICES, j.json())
    by_code = {s["service_code"]: s for s in j.json()}
    assert by_code["hazardous_chemicals"]["service_name"] == "危险化学品"
    assert by_code["hazardous_chemicals"]["metadata"] is True and by_code["other"]["type"] == "realtime"
    root = check_xml(SERVICES, client.get(f"{BASE}/services.xml").content)
    assert [s.findtext("service_code") for s in root] == list(by_code)


def test_a_service_definition_lists_its_attributes_and_an_unknown_code_is_404(client: TestClient) -> None:
    j = client.get(f"{BASE}/services/hazardous_chemicals.json")
    assert j.status_code == 200
    check_json(SERVICE_DEFINITION, j.json())
    attrs = {a["code"]: a for a in j.json()["attributes"]}
    assert attrs["region_code"]["required"] is True and attrs["title"]["required"] is False
    assert [v["key"] for v in attrs["employee_of_target"]["values"]] == ["false", "true"]
    assert sorted(a["order"] for a in attrs.values()) == list(range(1, len(attrs) + 1))
    check_xml(SERVICE_DEFINITION, client.get(f"{BASE}/services/hazardous_chemicals.xml").content)
    for fmt in ("json", "xml"):
        r = client.get(f"{BASE}/services/potholes.{fmt}")
        assert r.status_code == 404 and error_codes(r) == ["service_code_unknown"]


def test_unknown_paths_and_formats_answer_in_the_spec_s_error_format(client: TestClient) -> None:
    r = client.get(f"{BASE}/nothing.json")
    assert r.status_code == 404 and error_codes(r) == ["not_found"]
    r = client.get(f"{BASE}/services.html")
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/xml") and error_codes(r)
    r = client.get(f"{BASE}/tokens/12345.xml")
    assert r.status_code == 404 and error_codes(r) == ["token_not_found"]


# --- filing a request ------------------------------------------------------------------------------------------------


def test_the_spec_s_example_request_is_refused_for_what_is_not_ours_and_filed_once_it_is(
    client: TestClient, world: World, app, db
) -> None:
    key = make_partner(client, world, [NANSHAN])["api_key"]
    example = spec_example_request(key)
    r = post(client, example, "xml")
    assert r.status_code == 404 and error_codes(r) == ["service_code_unknown"]
    r = post(client, example | {"service_code": "hazardous_chemicals"})
    assert r.status_code == 400 and error_codes(r) == ["attribute_unknown"]  # WHISPAWN is not ours
    r = post(client, ours(key, lat="37.76524078", long="-122.4212043"))
    assert r.status_code == 400 and error_codes(r) == ["location_invalid"]  # San Francisco is not in China

    r = post(client, ours(key), "xml")
    assert r.status_code == 200, r.text
    root = check_xml(POSTED, r.content)
    request_id = root.findtext("request/service_request_id")
    notice = root.findtext("request/service_notice") or ""
    receipt = re.search(r"[2-9A-Z]{4}(?:-[2-9A-Z]{4}){3}", notice)
    assert receipt, notice
    # The reporter follows the case on the public desk with the receipt the partner passed on.
    mine = client.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": receipt.group(0)})
    assert mine.status_code == 200 and mine.json()["status"] == "received"

    # The desk sees an ordinary complaint, routed and numbered as any other, with a sealed identity.
    c = db.scalar(select(Complaint).where(Complaint.id == int(request_id or 0)))
    assert c is not None and c.channel == "open311" and c.sector_code == "hazardous_chemicals"
    assert c.region_code == NANSHAN and c.anonymous is False and c.address == "南山区测试路1号"
    sealed = Vault(app.state.settings.effective_complaint_keys).open(c.identity_enc)
    assert sealed["name"] == "john smith" and sealed["phone"] == "111111111" and sealed["email"] == "smit333@sfgov.edu"
    assert sealed["device_id"] == "tt222111" and sealed["account_id"] == "123456"
    row = db.execute(text("SELECT * FROM complaints WHERE id = :id"), {"id": c.id}).mappings().one()
    assert not any(isinstance(v, str) and ("smith" in v or "tt222111" in v) for v in row.values())
    officer = client.get(f"/api/v1/complaints/{c.id}", headers=world.headers(client, "officer"))
    assert officer.status_code == 200 and officer.json()["channel"] == "open311"

    # Reading it back, in both formats: the facts, never who reported.
    for fmt in ("json", "xml"):
        got = client.get(f"{BASE}/requests/{request_id}.{fmt}", params={"api_key": key})
        assert got.status_code == 200, got.text
        for value in ("john", "smith", "111111111", "smit333", "tt222111", receipt.group(0)):
            assert value not in got.text, value
    one = client.get(f"{BASE}/requests/{request_id}.json", params={"api_key": key}).json()
    check_json(REQUESTS, one)
    assert one[0]["status"] == "open" and one[0]["service_code"] == "hazardous_chemicals"
    assert one[0]["lat"] == 22.533 and one[0]["agency_responsible"] == "南山区应急管理局"
    assert one[0]["requested_datetime"].endswith("+08:00") and one[0]["expected_datetime"] is None
    check_xml(REQUESTS, client.get(f"{BASE}/requests/{request_id}.xml", params={"api_key": key}).content)


def test_every_input_is_validated_with_a_spec_error(client: TestClient, world: World) -> None:
    key = make_partner(client, world, [NANSHAN])["api_key"]
    cases = [
        (ours(key, description="夜里\x00进料"), "invalid_input"),
        (ours(key, description="长" * 4001), "invalid_input"),
        (ours(key, lat="91", long="113.9"), "invalid_input"),
        (ours(key, lat="nan"), "invalid_input"),
        (ours(key, long=None), "location_invalid"),
        (ours(key, lat=None, long=None, address_string=None), "location_required"),
        (ours(key, description=None), "description_required"),
        (ours(key, **{"attribute[region_code]": None}), "attribute_required"),
        (ours(key, **{"attribute[region_code]": "44030"}), "region_invalid"),
        (ours(key, **{"attribute[employee_of_target]": "maybe"}), "attribute_invalid"),
        (ours(key, **{"attribute[employee_of_target]": "true"}, first_name=None, last_name=None, phone=None,
              email=None), "invalid_input"),
        (ours(key, **{"attribute[observed_on]": "2026-11-20"}), "attribute_invalid"),
        (ours(key, media_url="javascript:alert(1)"), "invalid_input"),
        (ours(key, phone="call me"), "invalid_input"),
        (ours(key, colour="red"), "invalid_input"),
    ]  # fmt: skip
    for form, code in cases:
        r = post(client, form)
        assert r.status_code == 400, (form, r.text)
        assert error_codes(r)[0] == code, (form, r.text)
    r = post(client, ours(key) | {"odd\x01name": "x"}, "xml")  # quoted in the error, the answer stays well-formed
    assert r.status_code == 400 and error_codes(r) == ["invalid_input"]
    twice = urlencode(ours(key)) + "&service_code=other"
    r = client.post(f"{BASE}/requests.json", content=twice, headers=FORM)
    assert r.status_code == 400 and error_codes(r) == ["field_repeated"]
    r = client.post(f"{BASE}/requests.xml", json=ours(key))
    assert r.status_code == 400 and error_codes(r) == ["form_required"]
    r = client.get(f"{BASE}/requests.json", params={"api_key": key, "status": "open\x00"})
    assert r.status_code == 400 and error_codes(r) == ["invalid_input"]
    r = client.get(f"{BASE}/requests.json", params={"api_key": key, "start_date": "2026-01-01T00:00:00Z",
                                                     "end_date": "2026-06-01T00:00:00Z"})  # fmt: skip
    assert r.status_code == 400 and error_codes(r) == ["date_range_invalid"]
    r = client.get(f"{BASE}/requests.json", params={"api_key": key, "start_date": "2026-01-01"})
    assert r.status_code == 400 and error_codes(r) == ["invalid_input"]
    assert client.get(f"{BASE}/requests.json", params={"api_key": key}).json() == []


# --- reading back ----------------------------------------------------------------------------------------------------


def test_get_requests_filters_by_id_service_status_and_dates(client: TestClient, world: World) -> None:
    key = make_partner(client, world, [NANSHAN])["api_key"]
    chem = created_id(client, key)
    trade = created_id(client, key, service_code="industry_trade", description="车间粉尘超标，除尘器长期停用。")
    officer = world.headers(client, "officer")
    c = client.get(f"/api/v1/complaints/{trade}", headers=officer).json()
    refuse = {"action": "refuse", "version": c["version"], "reason": "outside_scope", "reply": "不属于受理范围"}
    r = client.post(f"/api/v1/complaints/{trade}/transitions", headers=officer, json=refuse)
    assert r.status_code == 200, r.text
    c = client.get(f"/api/v1/complaints/{chem}", headers=officer).json()
    r = client.post(
        f"/api/v1/complaints/{chem}/transitions", headers=officer, json={"action": "accept", "version": c["version"]}
    )
    assert r.status_code == 200, r.text
    due = r.json()["handling_due_on"]

    def ids(**params: str) -> list[str]:
        r = client.get(f"{BASE}/requests.json", params={"api_key": key, **params})
        assert r.status_code == 200, r.text
        check_json(REQUESTS, r.json())
        return [x["service_request_id"] for x in r.json()]

    assert ids() == [trade, chem]  # newest first
    assert (
        ids(status="open") == [chem] and ids(status="closed") == [trade] and ids(status="open,closed") == [trade, chem]
    )
    assert ids(service_code="industry_trade") == [trade]
    assert ids(service_request_id=chem, status="closed") == [chem]  # the ids override every other filter
    now = clock.now()
    assert ids(start_date=(now - timedelta(days=1)).isoformat(), end_date=(now + timedelta(minutes=1)).isoformat()) == [
        trade,
        chem,
    ]
    assert ids(end_date=(now - timedelta(days=1)).isoformat()) == []
    got = client.get(f"{BASE}/requests/{chem}.json", params={"api_key": key}).json()[0]
    assert got["expected_datetime"] == f"{due}T23:59:59+08:00" and got["status_notes"].startswith("办理中")
    closed = client.get(f"{BASE}/requests/{trade}.xml", params={"api_key": key})
    root = check_xml(REQUESTS, closed.content)
    assert root.findtext("request/status") == "closed" and (root.findtext("request/status_notes") or "").startswith(
        "不予受理"
    )


# --- who may --------------------------------------------------------------------------------------------------------


def test_keys_regions_and_other_partners_requests_are_refused(client: TestClient, world: World) -> None:
    mine = make_partner(client, world, [NANSHAN])
    other = make_partner(client, world, [NANSHAN], name="热线平台")
    futian = make_partner(client, world, [FUTIAN], admin="admin_futian", name="福田平台")
    request_id = created_id(client, mine["api_key"])

    r = post(client, ours(""))
    assert r.status_code == 403 and error_codes(r) == ["api_key_missing"]
    r = post(client, ours("o311_not-a-key"), "xml")
    assert r.status_code == 403 and error_codes(r) == ["api_key_invalid"]
    r = client.get(f"{BASE}/requests.json")
    assert r.status_code == 403 and error_codes(r) == ["api_key_missing"]
    # A key of another region files nothing here.
    r = post(client, ours(futian["api_key"]))
    assert r.status_code == 403 and error_codes(r) == ["partner_region_forbidden"]
    # Another partner of the same region does not see what this one filed, by id or in its list.
    r = client.get(f"{BASE}/requests/{request_id}.json", params={"api_key": other["api_key"]})
    assert r.status_code == 404 and error_codes(r) == ["request_not_found"]
    r = client.get(f"{BASE}/requests.json", params={"api_key": other["api_key"], "service_request_id": request_id})
    assert r.status_code == 200 and r.json() == []

    # Revoked: refused at once, for filing and for reading.
    r = client.post(f"/api/v1/open311/partners/{mine['id']}/revocation", headers=world.headers(client, "admin"))
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = post(client, ours(mine["api_key"]))
    assert r.status_code == 403 and error_codes(r) == ["api_key_revoked"]
    r = client.get(f"{BASE}/requests/{request_id}.xml", params={"api_key": mine["api_key"]})
    assert r.status_code == 403 and error_codes(r) == ["api_key_revoked"]


def test_a_key_is_rate_limited_and_wrong_keys_lock_out_the_address(client: TestClient, world: World, app) -> None:
    key = make_partner(client, world, [NANSHAN])["api_key"]
    settings = app.state.settings
    saved = settings.open311_rate_key, settings.open311_rate_bad_key
    settings.open311_rate_key, settings.open311_rate_bad_key = "3/60", "2/60"
    try:
        for _ in range(3):
            assert client.get(f"{BASE}/requests.json", params={"api_key": key}).status_code == 200
        r = client.get(f"{BASE}/requests.xml", params={"api_key": key})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and error_codes(r) == ["too_many_requests"]
        for _ in range(2):
            assert client.get(f"{BASE}/requests.json", params={"api_key": "wrong"}).status_code == 403
        r = client.get(f"{BASE}/requests.json", params={"api_key": "wrong"})
        assert r.status_code == 429 and error_codes(r) == ["too_many_requests"]
    finally:
        settings.open311_rate_key, settings.open311_rate_bad_key = saved


def test_a_configured_jurisdiction_refuses_another_and_a_list_value_for_a_single_attribute(
    client: TestClient, world: World, app
) -> None:
    key = make_partner(client, world, [NANSHAN])["api_key"]
    settings = app.state.settings
    saved, settings.open311_jurisdiction_id = settings.open311_jurisdiction_id, "sz.gov.cn"
    try:
        r = client.get(f"{BASE}/services.json", params={"jurisdiction_id": "city.gov"})
        assert r.status_code == 404 and error_codes(r) == ["jurisdiction_unknown"]
        r = post(client, ours(key), "xml")  # the spec's example names city.gov
        assert r.status_code == 404 and error_codes(r) == ["jurisdiction_unknown"]
        assert post(client, ours(key, jurisdiction_id="sz.gov.cn")).status_code == 200
        assert post(client, ours(key, jurisdiction_id=None)).status_code == 200  # one jurisdiction: may be left out
    finally:
        settings.open311_jurisdiction_id = saved
    form = {k: v for k, v in ours(key).items() if k != "attribute[enterprise_name]"}
    body = urlencode(form) + "&attribute[enterprise_name][]=a&attribute[enterprise_name][]=b"
    r = client.post(f"{BASE}/requests.json", content=body, headers=FORM)
    assert r.status_code == 400 and error_codes(r) == ["attribute_invalid"]


# --- the administrators' side ---------------------------------------------------------------------------------------


def test_keys_are_shown_once_hashed_at_rest_scoped_to_the_admin_s_region(client: TestClient, world: World, db) -> None:
    created = make_partner(client, world, [NANSHAN])
    key = created["api_key"]
    assert key.startswith(created["key_prefix"]) and created["last_used_at"] is None
    stored = db.scalar(select(Partner).where(Partner.id == created["id"]))
    assert stored is not None and key not in (stored.key_hash, stored.key_prefix)
    listed = client.get("/api/v1/open311/partners", headers=world.headers(client, "admin")).json()
    assert [p["id"] for p in listed["items"]] == [created["id"]] and "api_key" not in listed["items"][0]
    assert listed["next_cursor"] is None

    created_id(client, key)
    again = client.get(f"/api/v1/open311/partners/{created['id']}", headers=world.headers(client, "admin")).json()
    assert again["last_used_at"] is not None

    futian = world.headers(client, "admin_futian")
    assert client.get(f"/api/v1/open311/partners/{created['id']}", headers=futian).status_code == 404
    assert client.get("/api/v1/open311/partners", headers=futian).json()["items"] == []
    r = client.post("/api/v1/open311/partners", json={"name": "x", "regions": [NANSHAN]}, headers=futian)
    assert r.status_code == 422 and r.json()["code"] == "region_invalid"
    city = client.get("/api/v1/open311/partners", headers=world.headers(client, "admin_city")).json()
    assert [p["id"] for p in city["items"]] == [created["id"]]
    r = client.post(
        "/api/v1/open311/partners", json={"name": "x", "regions": [NANSHAN]}, headers=world.headers(client, "officer")
    )
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_an_admin_registers_a_platform_sees_its_key_once_and_revokes_it(client: TestClient, world: World) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/open311")
    assert page.status_code == 200 and "Open311 接入平台" in page.text
    r = client.post(
        "/admin/open311", data={"csrf_token": csrf_of(page.text), "name": "城市服务App", "regions": NANSHAN}
    )
    assert r.status_code == 201 and "只显示这一次" in r.text
    key = re.search(r'<code id="new-key">([^<]+)</code>', r.text)
    assert key
    again = client.get("/admin/open311")
    assert key.group(1) not in again.text and "城市服务App" in again.text and "从未使用" in again.text
    assert created_id(client, key.group(1))
    partner_id = re.search(r'action="/admin/open311/(\d+)/revocation"', again.text)
    assert partner_id
    r = client.post(f"/admin/open311/{partner_id.group(1)}/revocation", data={"csrf_token": csrf_of(again.text)},
                    follow_redirects=True)  # fmt: skip
    assert r.status_code == 200 and "已吊销" in r.text
    assert post(client, ours(key.group(1))).status_code == 403


# --- documents -------------------------------------------------------------------------------------------------------


def test_the_openapi_document_declares_the_spec_s_error_format_on_open311_paths(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/open311/v2/requests.{fmt}"]["post"]
    assert "application/x-www-form-urlencoded" in op["requestBody"]["content"]
    for status in ("400", "403", "404"):
        content = op["responses"][status]["content"]
        assert "application/problem+json" not in content and content["application/json"]["schema"]["type"] == "array"
    assert "application/problem+json" in doc["paths"]["/api/v1/open311/partners"]["post"]["responses"]["422"]["content"]


def test_a_key_in_a_query_string_is_redacted_from_logs() -> None:
    line = scrub('"GET /open311/v2/requests.json?api_key=o311_abcDEF-123&status=open HTTP/1.1" 200')
    assert "o311_abcDEF-123" not in line and "status=open" in line
