"""WAL bytes per report and per assign, split by relation (table or index), on PostgreSQL, in process.

    HAZARD_DATABASE_URL=postgresql+psycopg://…/COPY HAZARD_JWT_SECRET=… \\
      python -m benchmarks.wal_per_write --data DATA.lua [--n 1000] [--kinds insert,transition]

The requests are ``bench_api_cpu``'s, sent through the ASGI app. The cluster's WAL position is shared by every
database on it, so the bytes are not a difference of ``pg_current_wal_lsn()``: they are read back with
``pg_walinspect`` (PostgreSQL 15; the script creates the extension in the copy) and only the records that touch
this database's blocks are counted, per relation, with their full-page images. Commit records touch no block
and are not counted. A transition run uses up ``reported`` hazards of the pool: use a fresh copy each time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

import psycopg

from benchmarks.bench_api_cpu import call, lua_data, requests
from hazard_registry.main import create_app

_BY_RELATION = """
SELECT substring(block_ref FROM %(rel)s) AS filenode, sum(record_length), sum(fpi_length), count(*)
FROM pg_get_wal_records_info(%(start)s, %(end)s)
WHERE block_ref ~ %(rel)s
GROUP BY 1
"""


async def measure(app: Any, make: Any, pg: psycopg.Connection, n: int, concurrency: int) -> None:
    async def worker(count: int) -> None:
        for _ in range(count):
            status = await call(app, make())
            assert status < 300, status

    await worker(50)  # warm-up: caches, prepared statements
    start = pg.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    wall = time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    wall = time.perf_counter() - wall
    end = pg.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    done = concurrency * (n // concurrency)
    dboid = pg.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0]  # type: ignore[index]
    rows = pg.execute(_BY_RELATION, {"rel": rf"rel \d+/{dboid}/(\d+)", "start": start, "end": end}).fetchall()
    names = dict(
        pg.execute(
            "SELECT pg_relation_filenode(oid)::text, relname FROM pg_class WHERE pg_relation_filenode(oid) IS NOT NULL"
        ).fetchall()
    )
    total, fpi = sum(float(r[1]) for r in rows), sum(float(r[2]) for r in rows)
    print(f"  {total / done:7.0f} B/req of WAL (full-page images {fpi / done:.0f}), wall {1000 * wall / done:.2f} ms")
    for filenode, size, images, records in sorted(rows, key=lambda r: -float(r[1])):
        name = names.get(filenode, filenode)
        per = float(size) / done, float(images) / done, records / done
        print(f"    {name:48s} {per[0]:6.0f} B  fpi {per[1]:5.0f}  records {per[2]:.2f}")


async def main_async(args: argparse.Namespace) -> None:
    d = lua_data(args.data)
    app = create_app()
    makers = requests(d, args.pool_from or d["pool_hi"])
    dsn = os.environ["HAZARD_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        async with app.router.lifespan_context(app):
            for kind in args.kinds.split(","):
                print(kind, flush=True)
                await measure(app, makers[kind], pg, args.n, args.concurrency)
    app.state.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the Lua data file of setup_product.py")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--kinds", default="insert,transition")
    ap.add_argument("--pool-from", type=int, default=0, help="the highest unused pool id (default: the pool's top)")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
