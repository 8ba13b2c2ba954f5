"""Abuse limits that hold with several workers and behind a proxy.

Counting goes through the `limits` library (fixed windows). Where the counts live is a setting
(``HAZARD_RATE_LIMIT_STORAGE``): ``memory`` (this process only: right for one embedded process), ``database``
(``DatabaseStorage`` below: one UPSERT per hit in the service's own database, shared by every worker and host
with no new infrastructure), any storage URL `limits` understands (``redis://…``, ``memcached://…``), or
``auto``: the database on PostgreSQL, memory on the embedded SQLite default.

Who the client is: the TCP peer, unless that peer is a trusted proxy (``HAZARD_TRUSTED_PROXIES``, addresses
or networks); then the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy. A
header from anyone else is ignored, so rotating it buys nothing.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, ClassVar

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, Float, Integer, String, case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from starlette.requests import Request

from hazard_registry.db import Base
from hazard_registry.errors import TooManyRequests


class RateCounter(Base):
    """One fixed window of one limit key: hits so far and when the window ends (Unix seconds)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class DatabaseStorage(Storage):
    """A `limits` storage in the service's database: each hit is one INSERT … ON CONFLICT DO UPDATE … RETURNING,
    atomic on PostgreSQL and on SQLite, so every worker of every host counts in the same window."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["hazard-database"]
    PRUNE_EVERY = 1000  # hits of this process between deletions of expired windows

    def __init__(self, engine: Engine, **options: Any) -> None:
        super().__init__(None, **options)
        self.engine = engine
        self._hits = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        t = RateCounter.__table__
        ins = (pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert)(t)
        expired = t.c.expires_at <= now
        stmt = (
            ins.values(key=key, hits=amount, expires_at=now + expiry)
            .on_conflict_do_update(
                index_elements=[t.c.key],
                set_={
                    "hits": case((expired, amount), else_=t.c.hits + amount),
                    "expires_at": case((expired, now + expiry), else_=t.c.expires_at),
                },
            )
            .returning(t.c.hits)
        )
        with self.engine.begin() as conn:
            hits = conn.execute(stmt).scalar_one()
            if next(self._hits) % self.PRUNE_EVERY == 0:
                conn.execute(delete(t).where(t.c.expires_at <= now))
        return int(hits)

    def _row(self, key: str) -> tuple[int, float] | None:
        t = RateCounter.__table__
        with self.engine.begin() as conn:
            row = conn.execute(select(t.c.hits, t.c.expires_at).where(t.c.key == key)).first()
        if row is None or row.expires_at <= time.time():
            return None
        return int(row.hits), float(row.expires_at)

    def get(self, key: str) -> int:
        row = self._row(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row[1] if row else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(delete(RateCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(RateCounter.__table__).where(RateCounter.__table__.c.key == key))


def make_storage(setting: str, engine: Engine) -> Storage:
    if setting == "auto":
        setting = "database" if engine.dialect.name == "postgresql" else "memory"
    if setting == "memory":
        return MemoryStorage()
    if setting == "database":
        return DatabaseStorage(engine)
    return storage_from_string(setting)


@lru_cache(maxsize=64)
def parse_rate(spec: str) -> RateLimitItemPerSecond:
    """``"count/seconds"`` (the settings' notation) as a `limits` item."""
    count, _, seconds = spec.partition("/")
    return RateLimitItemPerSecond(int(count), int(float(seconds)))


class Limiter:
    """Fixed-window limits by (bucket, key), counted in ``storage``."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._limiter = FixedWindowRateLimiter(storage)

    def _wait(self, item: RateLimitItemPerSecond, bucket: str, key: str) -> int:
        reset_at, _ = self._limiter.get_window_stats(item, bucket, key)
        return max(1, math.ceil(reset_at - time.time()))

    def hit(self, bucket: str, key: str, spec: str, *, detail: str = "too many requests; wait and retry") -> None:
        """Count one request of ``key`` in ``bucket``; past the limit raise 429 with the seconds to wait."""
        item = parse_rate(spec)
        if not self._limiter.hit(item, bucket, key):
            raise TooManyRequests(detail, retry_after=self._wait(item, bucket, key))

    def blocked(self, bucket: str, key: str, spec: str) -> int | None:
        """Seconds until ``key`` may try again, if it is at the limit now (without counting a request)."""
        item = parse_rate(spec)
        if self._limiter.test(item, bucket, key):
            return None
        return self._wait(item, bucket, key)

    def clear(self, bucket: str, key: str, spec: str) -> None:
        self._limiter.clear(parse_rate(spec), bucket, key)

    def reset(self) -> None:
        self.storage.reset()


# --- who the client is ---------------------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str | Iterable[str]) -> tuple[Network, ...]:
    items = spec.split(",") if isinstance(spec, str) else spec
    return tuple(ipaddress.ip_network(i.strip(), strict=False) for i in items if i.strip())


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(request: Request, proxies: tuple[Network, ...]) -> str:
    """The client's address: the peer's, or — when the peer is a trusted proxy — the right-most address in
    ``X-Forwarded-For`` that is not a trusted proxy (what the first proxy of ours saw)."""
    peer = request.client.host if request.client else "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    chain = [a.strip() for h in request.headers.getlist("x-forwarded-for") for a in h.split(",") if a.strip()]
    for address in reversed(chain):
        if not _trusted(address, proxies):
            return address
    return chain[0] if chain else peer


def request_address(request: Request) -> str:
    return client_address(request, request.app.state.trusted_proxies)
