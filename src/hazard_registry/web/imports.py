"""管理 › 批量导入: the enterprise register and user accounts from a spreadsheet — download the template,
upload, read the dry run's report, then confirm. The page calls the API's driver with the same kinds
(``imports.enterprises``, ``imports.users``) and limits; the rules are theirs.

Between the dry run and the confirmation the file waits in ``data_dir/imports``, named by the administrator,
the kind and its SHA-256: the confirmation names only the hash, so it imports exactly the file that was
checked, and only its uploader can confirm it. The file is removed once imported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from hazard_registry import uploads
from hazard_registry.auth.principal import Actor
from hazard_registry.config import Settings
from hazard_registry.db import DbSession
from hazard_registry.errors import DomainError, InvalidInput
from hazard_registry.i18n import error_text
from hazard_registry.imports import enterprises, users
from hazard_registry.imports.router import read_upload, run_file, template_response
from hazard_registry.imports.schemas import RegisterImport
from hazard_registry.web.admin import admin_actor
from hazard_registry.web.pages import PageActor, page_router, render

router = page_router(prefix="/admin/imports")

KINDS: dict[str, Any] = {"enterprises": enterprises, "users": users}  # each: TABLE, EXAMPLE
RUNS: dict[str, Any] = {"enterprises": enterprises.ENTERPRISES, "users": users.USERS}
NAMES = {"enterprises": "企业名录", "users": "用户账号"}
OUTCOMES = {"created": "新增", "updated": "更新", "unchanged": "无变化"}
_SHA = re.compile(r"^[0-9a-f]{64}$")


def _kind(name: str) -> Any:
    if name not in KINDS:
        raise InvalidInput(f"unknown import {name}", code="invalid_input")
    return KINDS[name]


def _waiting(settings: Settings, actor: Actor, name: str, sha: str) -> Path:
    folder = Path(settings.data_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{actor.user_id}-{name}-{sha}"


@router.get("")
def index(request: Request, actor: PageActor) -> HTMLResponse:
    admin_actor(actor)
    return render(request, "admin/imports.html", {"names": NAMES})


@router.get("/{name}/template.{fmt}")
def download_template(name: str, fmt: str, actor: PageActor) -> Response:
    admin_actor(actor)
    module = _kind(name)
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput("the template is csv or xlsx", code="invalid_input")
    return template_response(name, module.TABLE, module.EXAMPLE, fmt)


def _result(
    request: Request, name: str, report: RegisterImport | None, failure: str | None, filename: str = ""
) -> HTMLResponse:
    context = {
        "names": NAMES,
        "name": name,
        "title": NAMES[name],
        "report": report,
        "failure": failure,
        "filename": filename,
        "outcomes": OUTCOMES,
        "headings": KINDS[name].TABLE.fields,
    }
    return render(request, "admin/import_result.html", context, status_code=422 if failure and not report else 200)


def _run(request: Request, session: Any, actor: Actor, name: str, data: bytes, filename: str, dry_run: bool) -> Any:
    return run_file(RUNS[name], request.app.state.settings, actor, session, filename, data, None, dry_run)


@router.post("/{name}")
def check(
    request: Request,
    name: str,
    actor: PageActor,
    session: DbSession,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """The dry run: every row checked, nothing written; the file waits for the confirmation."""
    admin_actor(actor)
    _kind(name)
    settings: Settings = request.app.state.settings
    filename = uploads.safe_filename(file.filename, "import")
    try:
        data = read_upload(settings, file)
        report = _run(request, session, actor, name, data, filename, dry_run=True)
    except DomainError as exc:
        session.rollback()
        return _result(request, name, None, f"{error_text(exc.code)}（{exc.detail}）", filename)
    session.rollback()
    if not report.bad:
        _waiting(settings, actor, name, report.sha256).write_bytes(data)
    return _result(request, name, report, None, filename)


@router.post("/{name}/commit")
def commit(
    request: Request,
    name: str,
    actor: PageActor,
    session: DbSession,
    sha256: Annotated[str, Form()],
    filename: Annotated[str, Form(max_length=255)] = "import",
) -> HTMLResponse:
    """Import the file the dry run checked (named by its hash), all rows or none."""
    admin_actor(actor)
    _kind(name)
    settings: Settings = request.app.state.settings
    path = _waiting(settings, actor, name, sha256) if _SHA.match(sha256) else None
    if path is None or not path.exists():
        return _result(request, name, None, "请重新上传文件并检查 (upload and check the file again)", filename)
    filename = uploads.safe_filename(filename, "import")
    try:
        report = _run(request, session, actor, name, path.read_bytes(), filename, dry_run=False)
    except DomainError as exc:
        session.rollback()
        saved = exc.extra.get("report")
        report = RegisterImport.model_validate(saved) if saved else None
        return _result(request, name, report, f"{error_text(exc.code)}（{exc.detail}）", filename)
    session.commit()
    path.unlink(missing_ok=True)
    response = _result(request, name, report, None, filename)
    response.headers["Cache-Control"] = "no-store"  # one-time passwords
    return response
