"""What an import answers: the one row-error shape, and the report of the register imports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BadRow(BaseModel):
    row: int = Field(description="The row number in the spreadsheet (the heading is row 1)")
    field: str | None = Field(description="The field at fault; null when the whole row is")
    reason: str = Field(description="Why, in Chinese (English in brackets)")


class RowResult(BaseModel):
    row: int
    key: str = Field(description="The row's key: the credit code of an enterprise, the username of a user")
    outcome: Literal["created", "updated", "unchanged"]
    id: int | None = Field(None, description="The record's id; null in a dry run for a record to be created")
    changed: list[str] = Field(default_factory=list, description="The fields an update changes")
    one_time_password: str | None = Field(
        None,
        description="A created user's initial password, shown once in the committed import and never stored "
        "in clear; null in a dry run",
    )


class RegisterImport(BaseModel):
    """Every row checked; nothing is written unless every row is good (one transaction)."""

    dry_run: bool
    committed: bool = Field(description="Whether the rows were written (never in a dry run or with a bad row)")
    sha256: str
    rows_total: int
    created: int = 0
    updated: int = 0
    unchanged: int = Field(0, description="Rows already in the register as written: a second import of a file")
    rows: list[RowResult] = Field(default_factory=list)
    bad: list[BadRow] = Field(default_factory=list)
