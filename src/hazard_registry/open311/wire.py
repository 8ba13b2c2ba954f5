"""The GeoReport v2 wire format: one document, written as XML or as JSON.

The spec's JSON is a mapping of its XML (the "Spark convention"): a list element (``<services>``) holds one
child per item (``<service>``), and is a JSON array; ``true``/``false`` and numbers are JSON's own; an empty
element is ``null``. Both are UTF-8, XML with its declaration and no namespace. XML is only written here
(``xml.etree``); nothing untrusted is parsed as XML anywhere (POST bodies are url-encoded forms).

Errors have the spec's shape, not problem+json: ``<errors><error><code/><description/></error></errors>``,
a JSON array of ``{code, description}``. ``code`` is the service's stable string code (the spec allows
"more specific and unique error code identifiers" than the HTTP status); the status is 404 for what does not
exist, 403 for a missing, invalid or revoked key or a region or request not the key's, 429 past the key's
rate, 503 when the database is out of reach, 400 for anything else.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from fastapi.responses import Response

from hazard_registry.clock import CHINA

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# A list element and the name of each of its items.
ITEMS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


class Format(StrEnum):
    json = "json"
    xml = "xml"


def w3(at: datetime) -> str:
    """A w3 datetime in China's time (+08:00), to the second."""
    return at.astimezone(CHINA).isoformat(timespec="seconds")


def day_end(day: date) -> str:
    """The last second of a Chinese calendar day: a thing due on the 5th is on time until 23:59:59 Beijing."""
    return datetime.combine(day, time(23, 59, 59), CHINA).isoformat(timespec="seconds")


# What XML 1.0 cannot carry at all. Stored text never holds these (the input is refused), but an error may quote
# what a client sent (a field's name): it is replaced rather than make the answer ill-formed.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return NOT_XML.sub("\ufffd", str(value))


def _element(name: str, value: Any) -> ET.Element:
    el = ET.Element(name)
    if isinstance(value, dict):
        for key, child in value.items():
            el.append(_element(key, child))
    elif isinstance(value, list):
        for child in value:
            el.append(_element(ITEMS[name], child))
    else:
        el.text = _text(value)
    return el


def to_xml(root: str, document: Any) -> bytes:
    return XML_DECLARATION + ET.tostring(_element(root, document), encoding="unicode").encode("utf-8")


def to_json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def render(fmt: Format, root: str, document: Any, status_code: int = 200, headers: dict[str, str] | None = None):
    """``document`` under the root element ``root`` (XML), or ``document`` itself (JSON)."""
    if fmt is Format.json:
        return Response(to_json(document), status_code=status_code, media_type=JSON_TYPE, headers=headers)
    return Response(to_xml(root, document), status_code=status_code, media_type=XML_TYPE, headers=headers)


def errors(fmt: Format, status_code: int, items: list[tuple[str, str]], headers: dict[str, str] | None = None):
    return render(fmt, "errors", [{"code": c, "description": d} for c, d in items], status_code, headers)


def format_of_path(path: str) -> Format:
    """The format a path asks for; XML (the spec's required format) when it names none we serve."""
    return Format.json if path.endswith(".json") else Format.xml
