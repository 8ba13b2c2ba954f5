"""The ``hazard-registry`` command: serve, worker, migrate, demo, create-user, audit verify, calendar load,
notices deliver, complaint-keys rotate, openapi."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

import uvicorn
from pydantic import ValidationError

import hazard_registry.models  # noqa: F401  every mapper, so foreign keys resolve
from hazard_registry import clock, logs, serving
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.auth.schemas import UserCreate
from hazard_registry.auth.service import create_user
from hazard_registry.complaints.crypto import Vault
from hazard_registry.complaints.service import rotate_keys
from hazard_registry.config import Settings, get_settings
from hazard_registry.db import make_engine, make_sessionmaker
from hazard_registry.demo import load_demo
from hazard_registry.errors import DomainError
from hazard_registry.hazards.audit import verify_chains
from hazard_registry.logs import uvicorn_log_config
from hazard_registry.main import document
from hazard_registry.migrate import upgrade
from hazard_registry.notices.deliver import deliver_due
from hazard_registry.supervision import listeners
from hazard_registry.supervision.service import load_year
from hazard_registry.worker import Worker
from hazard_registry.workflow import audit as audit_chains


def _sessionmaker():
    settings = get_settings()
    return make_sessionmaker(make_engine(settings.effective_database_url), settings)


def cmd_migrate(_args: argparse.Namespace) -> int:
    upgrade(get_settings().effective_database_url)
    print("database is at the newest schema")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    if not args.no_migrate:
        cmd_migrate(args)
    if args.demo:
        with _sessionmaker()() as session:
            print(load_demo(session))
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"控制台 (console): http://{shown}:{args.port}/  → 登录 (sign in): http://{shown}:{args.port}/login")
    print(f"API: http://{shown}:{args.port}/api/v1  (docs: http://{shown}:{args.port}/docs)", flush=True)
    options = serve_options(args, get_settings())
    if args.workers > 1 and args.port and serving.AVAILABLE:  # each worker on a socket of its own (serving.py)
        return serving.Workers(uvicorn.Config("hazard_registry.main:create_app", factory=True, **options)).run()
    uvicorn.run("hazard_registry.main:create_app", factory=True, **options)
    return 0


def serve_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """uvicorn's options for ``serve``: the access log follows HAZARD_ACCESS_LOG unless --no-access-log."""
    return {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "access_log": settings.access_log and not args.no_access_log,
        # X-Forwarded-For is read by the application from HAZARD_TRUSTED_PROXIES only (ratelimit.py): uvicorn's
        # own rewriting would believe any local peer.
        "proxy_headers": False,
        # uvicorn kills a worker that has not answered its supervisor within 5 s and starts another: on a busy
        # box (2 cores, load 19) importing the app takes longer, and --workers 2 never came up.
        "timeout_worker_healthcheck": 30,
        "log_config": uvicorn_log_config(),
    }


def cmd_demo(_args: argparse.Namespace) -> int:
    with _sessionmaker()() as session:
        print(load_demo(session))
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    try:
        data = UserCreate(
            username=args.username,
            password=args.password,
            role=args.role,
            enterprise_uscc=args.enterprise_uscc,
            department_code=args.department,
            region_code=args.region,
            can_close=args.can_close,
            can_reveal_identity=args.can_reveal_identity,
            can_take_complaints=args.can_take_complaints,
        )
        with _sessionmaker()() as session:
            user = create_user(session, SYSTEM, data)
            session.commit()
            print(f"created user {user.username} (id {user.id}, role {user.role})")
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Every life-cycle's chains (hazards, measures, complaints), each against the head its owner records."""
    broken = 0
    with _sessionmaker()() as session:
        found = verify_chains(session, args.hazard) if args.hazard else audit_chains.verify_all(session)
        for b in found:
            broken += 1
            print(f"BROKEN {b.chain} {b.owner_id} event {b.event_id} (seq {b.seq}): {b.reason}")
    if broken:
        print(f"{broken} broken chain(s)")
        return 1
    print("all event chains are intact")
    return 0


def cmd_complaint_keys_rotate(_args: argparse.Namespace) -> int:
    with _sessionmaker()() as session:
        n = rotate_keys(session, Vault(get_settings().effective_complaint_keys))
        session.commit()
    print(f"resealed {n} complaint secret(s) with the first key; older keys may now be removed")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logs.install()
    settings = get_settings()
    if not args.no_migrate:
        cmd_migrate(args)
    worker = Worker(_sessionmaker(), settings, args.interval or settings.sweep_interval_seconds)
    if args.once:
        worker.tick()
        return 0
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()
    return 0


def cmd_calendar_load(args: argparse.Namespace) -> int:
    """Load a year's holiday table from a JSON file: {"holidays": [...], "workdays": [...], "source": "..."}."""

    try:
        data = json.loads(args.file.read())
        holidays = [date.fromisoformat(d) for d in data["holidays"]]
        workdays = [date.fromisoformat(d) for d in data.get("workdays", [])]
        with _sessionmaker()() as session:
            updated = load_year(session, SYSTEM, args.year, holidays, workdays, data.get("source"))
            session.commit()
    except (ValueError, KeyError, TypeError) as exc:
        print(f"calendar load: {exc}", file=sys.stderr)
        return 2
    print(f"{args.year}: {len(holidays)} holidays, {len(workdays)} make-up working days; {updated} timers updated")
    return 0


def cmd_notices_deliver(args: argparse.Namespace) -> int:
    factory = _sessionmaker()
    while True:
        r = deliver_due(factory, get_settings(), clock.now())
        if r.sent or r.retried or r.dead or not args.every:
            print(f"notices: {r.sent} sent, {r.retried} to retry, {r.dead} dead", flush=True)
        if not args.every:
            return 0
        time.sleep(args.every)


def cmd_openapi(_args: argparse.Namespace) -> int:
    print(json.dumps(document(), ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hazard-registry", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="migrate, then serve the API on 127.0.0.1:8000")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--demo", action="store_true", help="load the demo district first (once)")
    p.add_argument("--no-migrate", action="store_true")
    p.add_argument("--no-access-log", action="store_true", help="no line per request (also HAZARD_ACCESS_LOG=false)")
    p.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="bring the database to the newest schema").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load a demo district and print its users").set_defaults(func=cmd_demo)

    p = sub.add_parser("create-user", help="create a user")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--role", required=True, choices=["enterprise", "regulator", "admin"])
    p.add_argument("--enterprise-uscc")
    p.add_argument("--department", help="department code (regulators)")
    p.add_argument("--region", help="region code (administrators)")
    p.add_argument("--can-close", action="store_true", help="closing authority (销号)")
    p.add_argument("--can-reveal-identity", action="store_true", help="may approve revealing a complainant")
    p.add_argument("--can-take-complaints", action="store_true", help="may enter hotline/letter/visit complaints")
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("audit", help="audit tools")
    audit = p.add_subparsers(dest="audit_command", required=True)
    v = audit.add_parser("verify", help="check every event chain: hazards, measures, complaints")
    v.add_argument("--hazard", type=int, help="only this hazard")
    v.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("complaint-keys", help="complaint identity keys")
    keys = p.add_subparsers(dest="keys_command", required=True)
    keys.add_parser("rotate", help="re-seal every identity with the first of HAZARD_COMPLAINT_KEYS").set_defaults(
        func=cmd_complaint_keys_rotate
    )

    p = sub.add_parser("worker", help="run the escalation sweep every --interval seconds until SIGTERM")
    p.add_argument("--interval", type=float, default=None, help="seconds (default HAZARD_SWEEP_INTERVAL_SECONDS)")
    p.add_argument("--once", action="store_true", help="one sweep, then exit")
    p.add_argument("--no-migrate", action="store_true")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("calendar", help="holiday tables")
    cal = p.add_subparsers(dest="calendar_command", required=True)
    load = cal.add_parser("load", help="load a year the chinese-calendar package does not know (JSON file)")
    load.add_argument("year", type=int)
    load.add_argument("file", type=argparse.FileType("r", encoding="utf-8"))
    load.set_defaults(func=cmd_calendar_load)

    p = sub.add_parser("notices", help="the notice outbox")
    notices = p.add_subparsers(dest="notices_command", required=True)
    d = notices.add_parser("deliver", help="send the notices that are due (by webhook and e-mail)")
    d.add_argument("--every", type=float, metavar="SECONDS", help="keep running, once every SECONDS")
    d.set_defaults(func=cmd_notices_deliver)

    sub.add_parser("openapi", help="print the OpenAPI document").set_defaults(func=cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    listeners.install()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
