"""Constrained scalar types shared by the API schemas. Row ids are 32-bit integers in both databases, so an
id outside that range is a validation error (422), not a driver overflow (500)."""

from typing import Annotated

from fastapi import Path
from pydantic import Field

MAX_ID = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID, description="The version you read; a stale one is refused")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
