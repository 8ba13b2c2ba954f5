"""Constrained types shared by the API schemas, and the base of every request body. Row ids are 32-bit
integers in both databases, so an id outside that range is a validation error (422), not a driver overflow
(500)."""

import re
from collections.abc import Iterable, Iterator
from re import _constants as sre_constants  # the parser tells how long a pattern's match can be
from re import _parser as sre_parse
from typing import Annotated, Any, ClassVar, get_args, get_origin

from annotated_types import Ge, Le
from fastapi import Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from hazard_registry.errors import InvalidInput

MAX_ID = 2**31 - 1

# The bounds are plain constraints on the type (not a FieldInfo), so the same alias bounds a body field, a
# query parameter (``department_id: Id | None = None``) and a list item alike: out of range is a 422 naming it.
Id = Annotated[int, Ge(1), Le(MAX_ID)]
# A keyset position ("after this id"): 0 is the start.
AfterId = Annotated[int, Ge(0), Le(MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID, description="The version you read; a stale one is refused")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]

# GB/T 2260: six digits (province, prefecture, county), nine for a township.
REGION_PATTERN = r"^\d{6}(\d{3})?$"
RegionCode = Annotated[str, StringConstraints(pattern=REGION_PATTERN)]
RegionQuery = Annotated[RegionCode | None, Query(description="This region and below")]


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


# --- request bodies ----------------------------------------------------------------------------------------------
#
# Every request body derives from ``Input`` (or ``Patch`` for a partial update). Three rules hold for all of
# them, in one place rather than at each field: unknown fields are refused; no text may hold a NUL character
# (PostgreSQL cannot store one, and no legitimate field needs it); and a schema that names the ORM class it
# writes (``__orm__``) may not accept longer text than the column holds — checked when the class is defined,
# so schema and column cannot drift apart. A ``Patch`` refuses an explicit ``null`` for a field whose column
# cannot be empty (leave the field out to keep its value). All of these are 422s that name the field.


def _text_values(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from _text_values(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _text_values(k)
            yield from _text_values(v)


def reject_nul(value: Any) -> Any:
    if any("\x00" in s for s in _text_values(value)):
        raise ValueError("must not contain a NUL character (\\u0000)")
    return value


def max_length_of(annotation: Any, metadata: Iterable[Any] = ()) -> int | None:
    """The longest text an annotation admits (None when unbounded or not text): its max_length, or the widest
    match of an anchored pattern."""
    found: list[int] = []
    for meta in [*metadata, *_metadata(annotation)]:
        length = getattr(meta, "max_length", None)
        if isinstance(length, int):
            found.append(length)
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str) and pattern.startswith("^") and pattern.endswith("$"):
            widest = sre_parse.parse(pattern).getwidth()[1]
            if widest < sre_constants.MAXREPEAT:
                found.append(widest)
    return min(found) if found else None


def _metadata(annotation: Any) -> Iterator[Any]:
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        yield from meta
        yield from _metadata(base)
    else:
        for arg in get_args(annotation):
            if get_origin(arg) is not list:
                yield from _metadata(arg)


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    if get_origin(annotation) is Annotated:
        return _is_text(get_args(annotation)[0])
    return any(_is_text(a) for a in get_args(annotation) if get_origin(a) is not list)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    __orm__: ClassVar[type | None] = None

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        table = getattr(cls.__orm__, "__table__", None)
        if table is None:
            return
        for name, field in cls.model_fields.items():
            column = table.columns.get(name)
            length = getattr(getattr(column, "type", None), "length", None)
            if length is None or not _is_text(field.annotation):
                continue
            allowed = max_length_of(field.annotation, field.metadata)
            if allowed is None or allowed > length:
                admits = f"{allowed} characters" if allowed else "unbounded text"
                raise TypeError(f"{cls.__name__}.{name} admits {admits}; {table.name}.{name} holds {length}")


class Patch(Input):
    """A partial update: a field left out is kept. ``null`` clears a field only where the column may be empty
    (and for the fields named in ``__nullable__``, such as an optional ``version``)."""

    __nullable__: ClassVar[frozenset[str]] = frozenset({"version"})

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.__nullable__:
            table = getattr(cls.__orm__, "__table__", None)
            column = table.columns.get(info.field_name) if table is not None else None
            if column is None or not column.nullable:
                raise ValueError("may not be null; leave the field out to keep its value")
        return value
