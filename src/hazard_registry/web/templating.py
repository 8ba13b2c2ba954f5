"""The console's one Jinja2 environment: templates under ``web/templates/`` named ``<domain>/<page>.html``,
autoescaped, with the catalogue's ``label``/``t`` and China-time date filters available everywhere."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from hazard_registry import __version__, clock, i18n
from hazard_registry.web.nav import menu_for
from hazard_registry.web.session import csrf_token, pop_flashes

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


def cn_date(value: date | datetime | None) -> str:
    """A business date as China writes it: 2026年11月27日 (a datetime is first moved to China's time)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(clock.CHINA).date()
    return f"{value.year}年{value.month}月{value.day}日"


def cn_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(clock.CHINA)
    return local.strftime("%Y-%m-%d %H:%M")


def static_url(path: str) -> str:
    return f"/static/{path}?v={__version__}"


@pass_context
def csrf_field(ctx: Any) -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(ctx["csrf_token"])


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        label=lambda value, kind: i18n.label(kind, value),
        t=i18n.error_text,
        cn_date=cn_date,
        cn_datetime=cn_datetime,
    )
    env.globals.update(
        label=i18n.label,
        labels=i18n.labels,
        t=i18n.error_text,
        static=static_url,
        csrf_field=csrf_field,
        escape=escape,
    )
    return env


def _console_context(request: Request) -> dict[str, Any]:
    session = request.scope.setdefault("session", {})
    actor = getattr(request.state, "actor", None)
    return {
        "actor": actor,
        "user_name": getattr(request.state, "user_name", None),
        "nav": menu_for(actor),
        "path": request.url.path,
        "flashes": pop_flashes(session),
        "csrf_token": csrf_token(session),
        "today": clock.today_in_china(),
    }


env = _env()
templates = Jinja2Templates(env=env, context_processors=[_console_context])
