"""What a console form does with the answer of a service: commit once on success; on a domain error roll back
and say why in Chinese, so the page can be shown again with everything the user typed.

The rule itself stays in the service: a form handler only turns fields into the service's arguments (through
the API's own pydantic schemas where it has one) and an error into words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from hazard_registry.errors import DomainError
from hazard_registry.i18n import error_text

T = TypeVar("T")


@dataclass
class Failure:
    """Why a form was refused: the catalogue's sentence for the error code, and the fields at fault."""

    code: str
    message: str
    status: int = 422
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


def failure_of(exc: DomainError) -> Failure:
    fields = [str(e.get("field", "")) for e in exc.extra.get("errors", []) if isinstance(e, dict)]
    return Failure(exc.code, error_text(exc.code), exc.status, [f for f in fields if f])


def attempt(session: Session, do: Callable[[], T]) -> tuple[T | None, Failure | None]:
    """Run ``do`` (one service call) and commit; a DomainError rolls back and comes back as a Failure."""
    try:
        result = do()
        session.commit()
        return result, None
    except DomainError as exc:
        session.rollback()
        return None, failure_of(exc)


def parse(schema: Any, data: dict[str, Any]) -> tuple[Any, Failure | None]:
    """Validate form fields with the API's schema; a mistake is the same ``invalid_input`` the API answers."""
    try:
        return TypeAdapter(schema).validate_python(data), None
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"] if not isinstance(p, int)) for e in exc.errors()})
        return None, Failure("invalid_input", error_text("invalid_input"), 422, [f for f in fields if f])


def blank_to_none(data: dict[str, Any]) -> dict[str, Any]:
    """An empty form field means 'not given' (None), as an absent JSON key does in the API."""
    return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}


async def form_data(request: Request) -> dict[str, Any]:
    """Every text field of the posted form (the CSRF check has read it already; Starlette keeps it)."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}


FormData = Annotated[dict[str, Any], Depends(form_data)]


async def form_lists(request: Request) -> dict[str, list[str]]:
    """The fields that may repeat (a group of checkboxes), each as the list of its values."""
    form = await request.form()
    return {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}


FormLists = Annotated[dict[str, list[str]], Depends(form_lists)]
