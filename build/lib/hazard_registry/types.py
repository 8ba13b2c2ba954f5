"""Constrained scalar types shared by the API schemas. Row ids are 32-bit integers in both databases, so an
id outside that range is a validation error (422), not a driver overflow (500)."""

import re
from typing import Annotated

from fastapi import Header, Path
from pydantic import Field

from hazard_registry.errors import InvalidInput

MAX_ID = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID, description="The version you read; a stale one is refused")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,10})"?\s*$')

IfMatch = Annotated[
    str | None, Header(alias="If-Match", description='The version you read, as its ETag ("3"); or send `version`')
]


def expected_version(if_match: str | None, body_version: int | None) -> int | None:
    """The version a write expects to replace: the If-Match header wins over the body's ``version``."""
    if if_match is None:
        return body_version
    m = _ETAG.match(if_match)
    if not m:
        raise InvalidInput(
            'If-Match must carry the version you read, e.g. "3"',
            code="invalid_if_match",
            errors=[{"field": "If-Match", "message": "expected a version"}],
        )
    return int(m.group(1))
