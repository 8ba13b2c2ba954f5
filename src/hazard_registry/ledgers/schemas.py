from __future__ import annotations

from pydantic import BaseModel, Field

from hazard_registry.imports.schemas import BadRow


class SkippedRow(BaseModel):
    row: int
    reason: str


class ImportedRow(BaseModel):
    row: int
    hazard_id: int | None = Field(None, description="Empty in a dry run")
    number: str | None = None


class ImportReport(BaseModel):
    dry_run: bool
    sha256: str
    import_id: int | None = None
    rows_total: int
    imported: list[ImportedRow] = Field(default_factory=list, description="Rows imported (would be, in a dry run)")
    skipped: list[SkippedRow] = Field(default_factory=list, description="Rows already in the register")
    bad: list[BadRow] = Field(default_factory=list)
