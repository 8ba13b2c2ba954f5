"""The console's one Jinja2 environment: templates under ``web/templates/`` named ``<domain>/<page>.html``,
autoescaped, with the catalogue's ``label``/``t`` and China-time date filters available everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime
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


def china_time(value: date | datetime | str | None, *, with_time: bool = True) -> str:
    """Every date and time the console prints, as China writes it on a screen: ``2026-11-28`` for a date,
    ``2026-11-28 07:30`` for an instant (moved to China's time first; ``with_time=False`` keeps its date). A
    naive datetime is taken as UTC, as the database hands it back on SQLite."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(clock.CHINA)
        return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    return value.strftime("%Y-%m-%d")


def cn_date(value: date | datetime | str | None) -> str:
    """A business date (an instant's date in China)."""
    return china_time(value, with_time=False)


def cn_datetime(value: datetime | str | None) -> str:
    return china_time(value)


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
        cn=china_time,
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
