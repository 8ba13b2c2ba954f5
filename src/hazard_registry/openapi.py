"""The OpenAPI document as committed in openapi/openapi.json (a test fails when they drift), with every error
response declared.

Errors are rendered in one place (errors.py), so they are declared in one place too: after FastAPI builds
the document, each operation gets the problem+json responses its shape makes possible — 401/403 when it
needs a token, 404 when it names a resource (a path parameter, a receipt, an id in its body), 409 for a
write, 400/413 for a body, 415 for an upload, 422 for any input, 428 where it takes If-Match, 429 on the
public desk and the login, and 503 (database busy or unreachable) everywhere, with Retry-After where the
service sends it. The ``code`` values listed for each status are read from the source: every typed error
raised with a literal ``code``, every ``workflow.Check`` with its ``refusal`` class, the classes' own codes
and the handlers' fixed ones.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from hazard_registry import errors

PACKAGE = Path(__file__).parent
WRITES = {"post", "put", "patch", "delete"}
# Paths that answer errors in their own specification's format and declare them themselves (open311/router.py).
OWN_ERROR_FORMAT = ("/open311/",)
# Their sources: the codes raised there are answered only in that format, so they are not listed for the others.
OWN_ERROR_SOURCES = ("open311/router.py", "open311/service.py")
AUTHENTICATES = {"login", "oidc_callback", "receive_upward_report"}  # without a token, answer 401 themselves
# … and refuse some who authenticated (password sign-in switched off for the role; an unmapped or deactivated
# single sign-on subject).
REFUSES = {"login", "oidc_callback"}
# Single sign-on answers 404 when it is not configured.
CONFIGURED = {"oidc_authorize", "oidc_callback"}
SIGNED = {"receive_upward_report"}  # a signature instead of a token: 403 when the signer may not send that
TITLES = {
    400: "请求格式错误 Malformed request",
    401: "未登录或令牌无效 Not authenticated",
    403: "无权执行 Forbidden",
    404: "对象不存在或不可见 Not found",
    409: "状态或版本冲突 Conflict",
    413: "内容过大 Payload too large",
    415: "文件类型不被接受 Unsupported media type",
    422: "输入无效 Invalid input (the fields are named in `errors`)",
    428: "缺少版本号 Version required (If-Match or `version`)",
    429: "请求过于频繁 Too many requests",
    503: "数据库繁忙或不可达，请稍后重试 Database busy or unreachable; retry after Retry-After seconds",
}
RETRY_AFTER = {
    "description": "Seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 1},
}
PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; switch on `code`, never on the wording",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "additionalProperties": True,
            },
        },
    },
    "additionalProperties": True,
}


def install(app: FastAPI) -> None:
    build = app.openapi  # FastAPI's own, which caches its result in app.openapi_schema

    def with_errors() -> dict[str, Any]:
        if app.openapi_schema is None:
            declare_errors(build())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = with_errors  # type: ignore[method-assign]


def statuses_of(method: str, op: dict[str, Any]) -> set[int]:
    params = op.get("parameters", [])
    headers = {p["name"].lower() for p in params if p.get("in") == "header"}
    body = op.get("requestBody", {}).get("content", {})
    out = {503}
    if op.get("security"):
        out |= {401, 403}
    if op.get("operationId") in AUTHENTICATES:
        out.add(401)  # wrong credentials
    if op.get("operationId") in REFUSES:
        out.add(403)
    if op.get("operationId") in CONFIGURED:
        out.add(404)
    if op.get("operationId") in SIGNED:
        out.add(403)
    if any(p.get("in") == "path" for p in params) or "x-complaint-receipt" in headers or body:
        out.add(404)  # the resource named, or a record the body refers to (an enterprise, a clause)
    if "x-complaint-receipt" in headers or (method == "post" and not op.get("security")):
        out.add(429)  # the public desk and the login are throttled per address
    if method in WRITES:
        out.add(409)
    if body:
        out |= {400, 413}
    if "multipart/form-data" in body:
        out.add(415)
    if params or body:
        out.add(422)
    if "if-match" in headers:
        out.add(428)
    return out


def declare_errors(schema: dict[str, Any]) -> dict[str, Any]:
    codes = known_codes()
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for key in ("HTTPValidationError", "ValidationError"):
        components.pop(key, None)  # validation errors are problems too (errors.install_handlers)
    for path, path_item in schema.get("paths", {}).items():
        if path.startswith(OWN_ERROR_FORMAT):
            for op in path_item.values():
                op.get("responses", {}).pop("422", None)  # FastAPI's default; these paths answer 400
            continue
        for method, op in path_item.items():
            responses = op.setdefault("responses", {})
            for status in sorted(statuses_of(method, op)):
                responses[str(status)] = _response(status, codes.get(status, []))
    return schema


def _response(status: int, codes: list[str]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": TITLES[status] + (" — code: " + ", ".join(codes) if codes else ""),
        "content": {
            errors.PROBLEM: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                **({"examples": {c: {"value": _example(status, c)} for c in codes[:12]}} if codes else {}),
            }
        },
    }
    if status in (429, 503):
        response["headers"] = {"Retry-After": RETRY_AFTER}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}
    return response


def _example(status: int, code: str) -> dict[str, Any]:
    return {
        "type": f"urn:hazard-registry:problem:{code}",
        "title": TITLES[status].split(" ", 1)[1],
        "status": status,
        "code": code,
        "detail": "…",
    }


@cache
def known_codes() -> dict[int, list[str]]:
    """status → the ``code`` values the service can answer with, read from the source (see the docstring)."""
    classes: dict[str, type[errors.DomainError]] = {}
    stack: list[type[errors.DomainError]] = [errors.DomainError]
    while stack:
        cls = stack.pop()
        classes[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    found: dict[int, set[str]] = defaultdict(set)
    for cls in classes.values():
        found[cls.status].add(cls.code)
    for status, code in errors._HTTP_CODES.items():
        found[status].add(code)
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).as_posix() in OWN_ERROR_SOURCES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in classes:
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                        found[classes[name].status].add(kw.value.value)
            elif name == "Check":  # workflow.Check(holds, code, detail, refusal=SomeError): refused with that error
                refusal = next((kw.value for kw in node.keywords if kw.arg == "refusal"), None)
                code = node.args[1] if len(node.args) >= 2 else None
                if isinstance(refusal, ast.Name) and refusal.id in classes and isinstance(code, ast.Constant):
                    found[classes[refusal.id].status].add(str(code.value))
            elif name == "problem" and len(node.args) >= 2:
                status, code = node.args[0], node.args[1]
                if isinstance(status, ast.Constant) and isinstance(code, ast.Constant):
                    found[int(status.value)].add(str(code.value))
    return {status: sorted(c for c in codes if c != "bad_request" or status == 400) for status, codes in found.items()}
