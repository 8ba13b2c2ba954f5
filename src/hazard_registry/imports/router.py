"""Bulk imports of the enterprise register and of user accounts (administrators, within their region), and
the templates of every import. The hazard ledger's import (``ledgers/router.py``) shares the upload, the
mapping and the driver."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile

from hazard_registry import clock, uploads
from hazard_registry.auth.deps import AdminActor, CurrentActor
from hazard_registry.auth.principal import Actor
from hazard_registry.config import AppSettings, Settings
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.errors import InvalidInput, PayloadTooLarge
from hazard_registry.imports import driver, enterprises, users
from hazard_registry.imports.schemas import RegisterImport
from hazard_registry.imports.templates import template
from hazard_registry.ledgers.export import CSV_TYPE, XLSX_TYPE

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], route_class=SessionRoute)

Format = Literal["csv", "xlsx"]
Upload = Annotated[UploadFile, File(description="XLSX or CSV, headings in the first row (Chinese or English)")]
DryRun = Annotated[bool, Form(description="Check every row and report, writing nothing")]
TEMPLATE = {200: {"content": {CSV_TYPE: {}, XLSX_TYPE: {}}, "description": "The blank template"}}
TITLES = {"enterprises": "企业名录导入模板", "users": "用户导入模板", "ledger": "重大事故隐患台账导入模板"}


def mapping_form(fields: dict[str, str]) -> Any:
    help_text = (
        'JSON object: a heading of the file → a field, e.g. {"企业信用代码": "uscc"}. Headings default to '
        + json.dumps(fields, ensure_ascii=False)
        + " (the English field names are accepted as headings too)"
    )
    return Annotated[str | None, Form(max_length=4000, description=help_text)]


EnterpriseMapping = mapping_form(enterprises.TABLE.fields)
UserMapping = mapping_form(users.TABLE.fields)


def read_upload(settings: Settings, file: UploadFile) -> bytes:
    data = file.file.read(settings.attachment_max_bytes + 1)
    if len(data) > settings.attachment_max_bytes:
        raise PayloadTooLarge(f"files are limited to {settings.attachment_max_bytes} bytes")
    return data


def parse_mapping(raw: str | None) -> dict[str, str] | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidInput(
            "mapping must be a JSON object of heading → field",
            code="invalid_mapping",
            errors=[{"field": "mapping", "message": "expected a JSON object of strings"}],
        )
    return value


def run_upload(
    kind: Any, settings: Settings, actor: Actor, session: Any, file: UploadFile, mapping: str | None, dry_run: bool
) -> Any:
    """Read the upload within the limits and run ``kind``'s import on it (the caller commits)."""
    data = read_upload(settings, file)
    name = uploads.safe_filename(file.filename, "import")
    return run_file(kind, settings, actor, session, name, data, parse_mapping(mapping), dry_run)


def run_file(
    kind: Any,
    settings: Settings,
    actor: Actor,
    session: Any,
    filename: str,
    data: bytes,
    mapping: dict[str, str] | None,
    dry_run: bool,
) -> Any:
    """``kind``'s import of a file already read, within the configured row and size limits."""
    limits = {"max_rows": settings.import_max_rows, "max_unzipped": settings.import_max_unzipped_bytes}
    return driver.run(
        session, actor, kind, filename=filename, data=data, mapping=mapping, dry_run=dry_run, now=clock.now(), **limits
    )


def template_response(name: str, table: Any, example: Any, fmt: str) -> Response:
    body, media, headers = template(table, fmt, TITLES[name], example)
    return Response(body, media_type=media, headers=headers)


def add_template_route(target: APIRouter, path: str, name: str, module: Any, operation_id: str, what: str) -> None:
    """``GET path?format=xlsx|csv``: the blank template of an import (``module``'s TABLE and EXAMPLE)."""

    def download(actor: CurrentActor, format: Format = "xlsx") -> Response:
        return template_response(name, module.TABLE, module.EXAMPLE, format)

    summary = f"The {what} import template (Chinese headings)"
    target.add_api_route(
        path, download, methods=["GET"], operation_id=operation_id, summary=summary, responses=TEMPLATE
    )


add_template_route(
    router, "/enterprises/template", "enterprises", enterprises, "enterprise_import_template", "enterprise register's"
)
add_template_route(router, "/users/template", "users", users, "user_import_template", "user accounts'")


@router.post(
    "/enterprises",
    response_model=RegisterImport,
    operation_id="import_enterprises",
    summary="Import the enterprise register (XLSX or CSV); a dry run by default, all rows or none",
)
def import_enterprises(
    settings: AppSettings,
    actor: AdminActor,
    session: DbSession,
    file: Upload,
    mapping: EnterpriseMapping = None,
    dry_run: DryRun = True,
) -> RegisterImport:
    """Key: the 统一社会信用代码. New enterprises are created, changed ones updated, the rest reported unchanged;
    any bad row (every one is listed, with its row, field and reason) and nothing is written: the commit
    answers 422 ``import_rejected`` with the report."""
    report = run_upload(enterprises.ENTERPRISES, settings, actor, session, file, mapping, dry_run)
    session.commit()
    return report


@router.post(
    "/users",
    response_model=RegisterImport,
    operation_id="import_users",
    summary="Import user accounts (XLSX or CSV); a dry run by default, all rows or none",
)
def import_users(
    response: Response,
    settings: AppSettings,
    actor: AdminActor,
    session: DbSession,
    file: Upload,
    mapping: UserMapping = None,
    dry_run: DryRun = True,
) -> RegisterImport:
    """Key: the username. The file holds no password: each created account's one-time password is in the
    committed answer, once (``Cache-Control: no-store``). Accounts are checked as ``create_user`` checks one:
    within the administrator's region, administrators only below its level."""
    response.headers["Cache-Control"] = "no-store"
    report = run_upload(users.USERS, settings, actor, session, file, mapping, dry_run)
    session.commit()
    return report
