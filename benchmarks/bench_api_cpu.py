"""CPU per request of the benchmarked API calls, in process: the ASGI app called directly, no server, no client.

    HAZARD_DATABASE_URL=postgresql+psycopg://… HAZARD_JWT_SECRET=… \\
      python -m benchmarks.bench_api_cpu --data DATA.lua [--n 400] [--kinds health,get,list,insert,transition]

``DATA.lua`` is the file ``../shared/bench/product/setup_product.py`` writes (tokens, ids, the pool of
``reported`` hazards); the database is the one it set up. On a shared machine req/s says more about the
neighbours than about the code; the CPU time of this process (every thread: the event loop and the
threadpool) per request does not, and running two checkouts' copies of this script one after the other against
one database is an A/B of the code. Each kind is warmed up first (caches, prepared statements), then timed
over ``--n`` requests sent ``--concurrency`` at a time from one event loop, as uvicorn would hand them over.
Prints one line per kind: CPU ms/request, wall ms/request, statements/request.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import re
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from hazard_registry.db import loop_engine, pools
from hazard_registry.main import create_app

STATES = ["reported", "assigned", "rectifying", "verification_requested", "verified", "closed"]


def lua_data(path: str) -> dict[str, Any]:
    with open(path) as f:
        s = f.read()
    d: dict[str, Any] = {}
    for k in ("admin_token", "reg_token", "found_at", "deadline"):
        d[k] = re.search(rf'{k} = "([^"]*)"', s).group(1)  # type: ignore[union-attr]
    for k in ("officer_id", "clause_id", "pool_lo", "pool_hi"):
        d[k] = int(re.search(rf"{k} = (\d+)", s).group(1))  # type: ignore[union-attr]
    d["ent_tokens"] = re.findall(r'"(ey[^"]+)"', re.search(r"ent_tokens = \{([^}]*)\}", s).group(1))  # type: ignore[union-attr]
    d["regions"] = re.findall(r'"(\d+)"', re.search(r"regions = \{([^}]*)\}", s).group(1))  # type: ignore[union-attr]
    d["get_ids"] = [int(x) for x in re.search(r"get_ids = \{([^}]*)\}", s).group(1).split(",")]  # type: ignore[union-attr]
    return d


Request = tuple[str, str, dict[str, str], bytes]


def requests(d: dict[str, Any], pool_from: int) -> dict[str, Callable[[], Request]]:
    pool = iter(range(pool_from, d["pool_lo"], -1))

    def bearer(token: str, **extra: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}", **extra}

    def insert() -> Request:
        body = {
            "clause_id": d["clause_id"],
            "title": f"cpu bench {random.randint(1, 999999)}",
            "description": "Observed exposed wiring. ref 0cc175b9c0f1b6a831c399e269772661",
            "location": "workshop 1",
            "found_at": d["found_at"],
        }
        headers = bearer(random.choice(d["ent_tokens"]), **{"content-type": "application/json"})
        return "POST", "/api/v1/hazards", headers, json.dumps(body).encode()

    def transition() -> Request:
        body = {"action": "assign", "officer_id": d["officer_id"], "deadline": d["deadline"]}
        headers = bearer(d["reg_token"], **{"content-type": "application/json", "if-match": '"1"'})
        return "POST", f"/api/v1/hazards/{next(pool)}/transitions", headers, json.dumps(body).encode()

    return {
        "health": lambda: ("GET", "/healthz", {}, b""),
        "get": lambda: ("GET", f"/api/v1/hazards/{random.choice(d['get_ids'])}", bearer(d["admin_token"]), b""),
        "list": lambda: (
            "GET",
            f"/api/v1/hazards?region={random.choice(d['regions'])}&state={random.choice(STATES)}&limit=50",
            bearer(d["admin_token"]),
            b"",
        ),
        "insert": insert,
        "transition": transition,
    }


async def call(app: Any, req: Request) -> int:
    method, target, headers, body = req
    path, _, query = target.partition("?")
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"host", b"bench"), (b"content-length", str(len(body)).encode())] if body else [(b"host", b"bench")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def run_kind(app: Any, make: Callable[[], Request], n: int, concurrency: int, stmts: list[int]) -> dict:
    async def worker(count: int) -> None:
        for _ in range(count):
            status = await call(app, make())
            assert status < 300, status

    for _ in range(2):  # warm-up: caches, prepared statements, pool
        await asyncio.gather(*(worker(max(1, n // (4 * concurrency))) for _ in range(concurrency)))
    gc.collect()
    stmts[0] = 0
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = concurrency * (n // concurrency)
    return {"cpu_ms": 1000 * cpu / done, "wall_ms": 1000 * wall / done, "statements": stmts[0] / done}


async def main_async(args: argparse.Namespace) -> None:
    d = lua_data(args.data) if args.data else {"pool_lo": 0, "pool_hi": 0}
    app = create_app()
    stmts = [0]

    def _count(*_a: Any) -> None:
        stmts[0] += 1

    makers = requests(d, args.pool_from or d["pool_hi"])
    async with app.router.lifespan_context(app):
        loop = loop_engine(app.state)  # made by the lifespan: the hot routes' engine on PostgreSQL
        for engine in pools(app.state.engine) + (pools(loop.sync_engine) if loop else ()):
            event.listen(engine, "before_cursor_execute", _count)
        for kind in args.kinds.split(","):
            r = await run_kind(app, makers[kind], args.n, args.concurrency, stmts)
            print(
                f"{args.label:>8s} {kind:10s} cpu {r['cpu_ms']:6.3f} ms/req  wall {r['wall_ms']:6.3f} ms/req  "
                f"statements {r['statements']:.2f}",
                flush=True,
            )
    app.state.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="the Lua data file of setup_product.py (not needed for health alone)")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--kinds", default="health,get,list,insert,transition")
    ap.add_argument("--pool-from", type=int, default=0, help="the highest unused pool id (default: the pool's top)")
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
