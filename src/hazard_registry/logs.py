"""What the logs may not carry: password hashes, identities (e-mail addresses, the failing rows and statement
parameters a database error quotes — complaint text among them) and the addresses of anonymous reporters.

The first line of defence is at the source: engines are made with ``hide_parameters=True`` (db.make_engine).
``Redact`` is the backstop on every logger that writes errors, and on the handlers ``serve`` configures;
``PublicAccess`` blanks the client address in the access log of the public desk's paths.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

# (what a text must contain for the expression to match, the expression, its replacement): most lines (every
# access-log line) contain none of the triggers and pass without running an expression.
PATTERNS = [
    ("$", re.compile(r"\$argon2(?:id|i|d)\$[^\s'\",)\]]*"), "[hash]"),
    ("$", re.compile(r"\$2[aby]\$\d+\$[./A-Za-z0-9]{53}"), "[hash]"),
    # PostgreSQL quotes the whole failing row, and the key of a duplicate.
    (
        "Failing row",
        re.compile(r"Failing row contains \(.*?\)(?=\.?\s*$|\n|\s*\[)", re.S | re.M),
        "Failing row contains ([redacted])",
    ),
    ("Key (", re.compile(r"Key \((.*?)\)=\(.*?\)", re.S), r"Key (\1)=([redacted])"),
    # SQLAlchemy's statement parameters, when an engine was made without hide_parameters.
    ("[parameters:", re.compile(r"\[parameters: .*?\](?=\n|$|\s*\()", re.S | re.M), "[parameters: redacted]"),
    ("@", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[e-mail]"),
    # An Open311 partner's key, sent in the query string of its GET requests (the access log's path).
    ("api_key=", re.compile(r"(api_key=)[^&\s\"']+"), r"\1[redacted]"),
]

# The public desk: who reports is nobody's business, including the server log's.
PUBLIC_PATHS = ("/api/v1/complaints/mine", "/api/v1/public")
PUBLIC_EXACT = ("/api/v1/complaints",)

# Loggers that write errors with tracebacks (records are filtered where they are made, before any handler).
LOGGERS = (
    "hazard_registry",
    "hazard_registry.errors",
    "hazard_registry.notices.deliver",
    "hazard_registry.worker",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.pool",
    "uvicorn.error",
    "alembic",
)


def scrub(text: str) -> str:
    for trigger, pattern, replacement in PATTERNS:
        if trigger in text:
            text = pattern.sub(replacement, text)
    return text


class Redact(logging.Filter):
    """Rewrites a record's message and traceback with hashes, e-mails, failing rows and parameters removed."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        if isinstance(record.args, tuple) and record.name == "uvicorn.access":  # its formatter reads the args
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is still logged, unformatted
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info:
            record.exc_text = scrub(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        record._redacted = True
        return True


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or path.startswith(PUBLIC_PATHS)


class PublicAccess(logging.Filter):
    """uvicorn's access records carry (client, method, path, version, status): blank the client on public paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and len(args) == 5 and is_public(str(args[2]).split("?", 1)[0]):
            record.args = ("-", *args[1:])
        return True


_REDACT = Redact()
_PUBLIC = PublicAccess()


def install() -> None:
    """Attach the filters to the loggers that write errors and to the access log (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)
    access = logging.getLogger("uvicorn.access")
    if _PUBLIC not in access.filters:
        access.addFilter(_PUBLIC)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with the filters on its handlers and a root handler (so the
    application's loggers are written, redacted, beside uvicorn's)."""
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in LOGGING_CONFIG.items()}
    cfg["filters"] = {"redact": {"()": Redact}, "public": {"()": PublicAccess}}
    cfg["handlers"] = {k: {**v, "filters": ["redact"]} for k, v in LOGGING_CONFIG["handlers"].items()}
    cfg["handlers"]["access"]["filters"] = ["public", "redact"]
    cfg["root"] = {"handlers": ["default"], "level": "WARNING"}
    return cfg
