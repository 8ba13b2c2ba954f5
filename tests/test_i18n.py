"""The one Chinese catalogue: every error code raised in src/ has a Chinese message, and the API's
problem+json follows Accept-Language."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient

import hazard_registry
import hazard_registry.models
from hazard_registry import i18n
from hazard_registry.errors import _HTTP_CODES, DomainError
from hazard_registry.web import nav  # noqa: F401

SRC = Path(hazard_registry.__file__).parent


def _codes_in_source() -> dict[str, str]:
    """Every literal error code in src/: ``code="…"`` keywords, ``code = …`` on error classes, the code of
    ``problem(status, "code", …)`` and of a workflow gate ``_require(ok, "code", detail)``."""
    found: dict[str, str] = {}
    for path in SRC.rglob("*.py"):
        where = str(path.relative_to(SRC))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                        found.setdefault(kw.value.value, where)
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in ("problem", "_require") and len(node.args) >= 3:
                    arg = node.args[1]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.setdefault(arg.value, where)
            if isinstance(node, ast.ClassDef):
                for st in node.body:
                    if not isinstance(st, ast.Assign):
                        continue
                    for target in st.targets:
                        pairs = []
                        if isinstance(target, ast.Name):
                            pairs = [(target, st.value)]
                        elif isinstance(target, ast.Tuple) and isinstance(st.value, ast.Tuple):
                            pairs = list(zip(target.elts, st.value.elts, strict=False))
                        for t, v in pairs:
                            if isinstance(t, ast.Name) and t.id == "code" and isinstance(v, ast.Constant):
                                found.setdefault(str(v.value), where)
    return found


def _error_classes(cls: type = DomainError) -> list[type]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_error_classes(sub))
    return out


def test_every_error_code_raised_in_src_has_a_chinese_message() -> None:
    codes = _codes_in_source()
    assert len(codes) > 50, "the scan found too few codes: has the way errors are raised changed?"
    codes.update({c.code: c.__module__ for c in _error_classes()})
    codes.update({c: "errors._HTTP_CODES" for c in _HTTP_CODES.values()})
    codes["http_error"] = "errors.py"
    missing = {c: where for c, where in codes.items() if c not in i18n.ERRORS}
    assert not missing, f"error codes without a Chinese message in hazard_registry/i18n.py: {missing}"
    for code, (zh, en) in i18n.ERRORS.items():
        assert zh and en and any("\u4e00" <= ch <= "\u9fff" for ch in zh), code


def test_every_state_and_action_has_a_chinese_label() -> None:
    from hazard_registry.auth.principal import Role
    from hazard_registry.complaints import workflow as cw
    from hazard_registry.hazards import workflow as hw
    from hazard_registry.supervision import models as sm

    for kind, enum in [
        ("hazard_state", hw.State),
        ("hazard_action", hw.Action),
        ("role", Role),
        ("complaint_state", cw.State),
        ("complaint_action", cw.Action),
        ("measure_kind", sm.Measure),
        ("measure_state", sm.MeasureState),
        ("stall", sm.Stall),
    ]:
        missing = [m.value for m in enum if m.value not in i18n.LABELS[kind]]
        assert not missing, f"{kind}: no Chinese label for {missing}"


def test_problem_json_is_chinese_first_and_keeps_the_english(client: TestClient, world) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "officer", "password": "wrong"})
    body = r.json()
    assert body["code"] == "invalid_credentials"
    assert body["title"] == "用户名或密码错误"
    assert body["detail"].startswith("用户名或密码错误") and body["detail_en"] == "wrong username or password"

    zh = client.get("/api/v1/hazards/999999", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert zh.json()["title"] == "请先登录" and zh.json()["title_en"] == "Not authenticated"

    en = client.get("/api/v1/hazards/999999", headers={"Accept-Language": "en-US,en;q=0.9,zh-CN;q=0.5"})
    assert en.json()["title"] == "Not authenticated" and en.json()["title_zh"] == "请先登录"


def test_accept_language_preference() -> None:
    assert i18n.prefers_chinese(None)
    assert i18n.prefers_chinese("zh-CN")
    assert i18n.prefers_chinese("*")
    assert i18n.prefers_chinese("en;q=0.5, zh-CN")
    assert not i18n.prefers_chinese("en-GB")
    assert not i18n.prefers_chinese("en, zh;q=0.8")
