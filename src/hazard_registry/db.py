"""Declarative base, engine and session factory.

Services never commit: the route (or the CLI command, or the worker) commits once, so a change and its
audit event land together or not at all.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import select
import weakref
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
import asyncpg
from anyio import to_thread
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util.concurrency import greenlet_spawn
from starlette.responses import Response, StreamingResponse

from hazard_registry import clock
from hazard_registry.config import get_settings
from hazard_registry.errors import VersionConflict

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (identical on SQLite and PostgreSQL, so hashes over it agree), returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return clock.now()


def make_engine(url: str, pool_size: int = 16, max_overflow: int = 4, pool_timeout: float = 30.0) -> Engine:
    """The engine of ``url``; on PostgreSQL with its autocommit twin (``autocommit``). A request that finds all
    of a pool's connections in use waits ``pool_timeout`` seconds for one, then is answered 503 (``errors``)."""
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            pool = {}  # one connection per thread, kept (SingletonThreadPool): nothing to size
        # hide_parameters: an error's message never quotes the values bound (hashes, e-mails, complaint text).
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True, **pool
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # SQLAlchemy emits BEGIN itself (below): pysqlite's own deferred BEGIN lets two transactions
            # read, then fails the second at its first write with "database is locked", whatever the
            # busy timeout. BEGIN IMMEDIATE takes the write lock up front and waits for it instead.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # A long-lived read-only session (a report, a test's fixture) may ask for a deferred BEGIN.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("sqlite_deferred") else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, **pool, hide_parameters=True)
    event.listen(engine, "checkout", _closed_by_server)
    twin = create_engine(url, **pool, hide_parameters=True, isolation_level="AUTOCOMMIT")
    event.listen(twin, "checkout", _closed_by_server)
    event.listen(engine, "engine_disposed", lambda _engine: twin.dispose())  # one dispose() closes both pools
    _AUTOCOMMIT[engine] = twin
    return engine


# PostgreSQL engines made by ``make_engine`` and their autocommit twins (``autocommit``).
_AUTOCOMMIT: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def autocommit(engine: Engine) -> Engine:
    """The engine for statements that are each their own transaction, taken while a request's session may hold
    a connection: the read-only routes (``autocommit_reader``), the caller's cache refill (``auth.deps``), the
    county counter's bump (``hazards.service._next_number``) and the rate limiter's counts (``ratelimit``).

    On PostgreSQL, for an engine from ``make_engine``, a twin with a pool of its own (the same size) whose
    connections are in autocommit from the moment they connect. So a request holds at most one connection of
    each pool, and none is switched to autocommit at checkout and back at checkin, as
    ``execution_options(isolation_level="AUTOCOMMIT")`` on the shared pool did (another PostgreSQL engine still
    gets that): under the benchmark's load a report cost 0.1 CPU ms less in the worker and 0.1 less in
    PostgreSQL, of 2.5 and 1.2 (benchmarks/RESULTS.md "twin"). On SQLite, the engine itself: its ``begin()``
    is BEGIN IMMEDIATE, one writer at a time."""
    if engine.dialect.name != "postgresql":
        return engine
    twin = _AUTOCOMMIT.get(engine)
    return twin if twin is not None else engine.execution_options(isolation_level="AUTOCOMMIT")


def pools(engine: Engine) -> tuple[Engine, ...]:
    """``engine`` and its autocommit twin if it has one: each engine with a pool (and events) of its own."""
    twin = _AUTOCOMMIT.get(engine)
    return (engine,) if twin is None else (engine, twin)


def make_loop_engine(
    url: str, pool_size: int = 16, max_overflow: int = 4, pool_timeout: float = 30.0
) -> AsyncEngine | None:
    """The engine the API's ``on_loop`` routes run on, with its autocommit twin: the same PostgreSQL database
    through asyncpg, its connections driven by the event loop. None where there is none: SQLite, or a URL with
    query parameters (libpq's, which psycopg takes and asyncpg takes otherwise), whose routes run in threads.

    Made by the lifespan, in the event loop that serves (an asyncpg connection belongs to the loop it was
    opened in), and disposed by it (``dispose_loop_engine``); a request finds its loop's (``loop_engine``).
    The code is the same sync code as everywhere: a route runs in a greenlet (``greenlet_spawn``) and the
    engine's ``sync_engine`` suspends it at each round trip, instead of a thread waiting on psycopg. Per
    request that is no hop into the threadpool and back, no turns at the interpreter's lock, and asyncpg's
    protocol in C instead of psycopg's Python layer: a report cost 1.5-1.8 CPU ms in the worker instead of
    2.5-3.0, a read 0.8-0.95 instead of 1.3 (benchmarks/RESULTS.md "loop")."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.query:
        return None
    loop_url = parsed.set(drivername="postgresql+asyncpg")
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    engine = create_async_engine(loop_url, **pool, hide_parameters=True)
    twin = create_async_engine(loop_url, **pool, hide_parameters=True, isolation_level="AUTOCOMMIT")
    for each in (engine, twin):
        event.listen(each.sync_engine, "do_connect", _connect_or_unavailable)
        event.listen(each.sync_engine, "checkout", _closed_by_loop)
    _AUTOCOMMIT[engine.sync_engine] = twin.sync_engine
    _LOOP_TWIN[engine] = twin
    return engine


_LOOP_TWIN: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


async def dispose_loop_engine(engine: AsyncEngine | None) -> None:
    """Close both pools of a ``make_loop_engine`` engine, in the loop its connections belong to."""
    if engine is None:
        return
    twin = _LOOP_TWIN.get(engine)
    await engine.dispose()
    if twin is not None:
        await twin.dispose()


def loop_engine(state: Any) -> AsyncEngine | None:
    """The loop engine of the event loop running now: the one its lifespan made (``app.state.loop_engines``, one
    per loop, since an asyncpg connection belongs to the loop that opened it: a server's worker has one loop,
    the tests' clients one each). None outside a loop, or in one whose lifespan made none."""
    engines = getattr(state, "loop_engines", None)
    if not engines:
        return None
    try:
        return engines.get(asyncio.get_running_loop())
    except RuntimeError:
        return None


def on_loop_bind(bind: Any) -> bool:
    """Whether a session's bind (an engine, or one with execution options) is a loop engine's ``sync_engine``:
    its work must run in a greenlet on the event loop, never in a thread."""
    return bool(getattr(getattr(bind, "dialect", None), "is_async", False))


def _connect_or_unavailable(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """asyncpg's own connection errors (refused, reset, timed out, the server starting up or refusing the role)
    are not the DB-API errors SQLAlchemy wraps, and would reach the client as a 500: here they become the
    dialect's OperationalError, so a lost database is 503 ``database_unavailable`` as on psycopg (``errors``)."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise dialect.loaded_dbapi.OperationalError(f"cannot connect: {type(exc).__name__}") from exc


def _closed_by_loop(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """``_closed_by_server`` for asyncpg: the event loop reads a closed socket's end as it comes and asyncpg
    marks its connection closed then, so this is a look at a flag, not a system call."""
    if dbapi_conn.driver_connection.is_closed():
        raise DisconnectionError("the server closed the connection")


def _closed_by_server(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed is replaced before a request gets it, without a round trip.

    An idle connection has nothing to read: when PostgreSQL stops or restarts, or a backend is terminated,
    the server sends its last error and closes the socket, which then polls readable. That check is a system
    call; ``pool_pre_ping`` was a round trip per checkout (a ``SELECT 1``, ~14 % of a report). A raised
    DisconnectionError makes the pool discard the connection and connect afresh. What this cannot see (a
    connection that dies between checkout and its first statement, a network that drops silently) fails its
    statement: SQLAlchemy then invalidates the whole pool and the request is a 503 problem+json with
    Retry-After (``errors.database_problem``), never a 500, and the next request connects anew."""
    if dbapi_conn.closed:
        raise DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_conn.fileno(), select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection (or sent something unasked)")


def make_sessionmaker(engine: Engine, settings: Any = None) -> sessionmaker[Session]:
    """``settings`` rides in every session's ``info``, for the few things deep inside a transaction that
    depend on configuration (which notice channels are on) without threading it through every service.
    Its sessions note whether their transaction wrote (``wrote``): see ``end_unit``."""
    maker = sessionmaker(engine, expire_on_commit=False, autoflush=True, info={"settings": settings})
    event.listen(maker, "after_flush", _flushed)
    event.listen(maker, "do_orm_execute", _executed)
    event.listen(maker, "after_commit", _settled)
    event.listen(maker, "after_rollback", _settled)
    return maker


def _flushed(session: Session, _context: Any) -> None:
    session.info[WROTE] = True


def _executed(state: Any) -> None:
    if not state.is_select:  # an INSERT, UPDATE or DELETE, or text we cannot read: counted as a write
        state.session.info[WROTE] = True


def _settled(session: Session) -> None:
    session.info[WROTE] = False


WROTE = "wrote"


def end_unit(session: Session) -> None:
    """Give the session's connection back at the end of a request that answered normally.

    A transaction that wrote nothing ends with COMMIT, not ROLLBACK: the two are the same to the data, but on
    PostgreSQL psycopg forgets every prepared statement of the connection at a ROLLBACK (an object the
    transaction created may be gone), so reads that ended with one were parsed and planned afresh at every
    request (a hazard's read planned for 0.5 ms to execute for 0.1; its generic plan takes 0.007). One that
    wrote and did not commit is rolled back, as ``close`` always did."""
    if session.in_transaction() and not session.info.get(WROTE):
        session.commit()
    session.close()


def settings_of(session: Session) -> Any:
    """The Settings the session's factory was made with, else those of the environment."""
    settings = session.info.get("settings")
    if settings is None:
        settings = get_settings()
    return settings


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def reader(engine: Engine) -> Engine:
    """The engine for a read-only unit of work: on SQLite a deferred BEGIN, a WAL snapshot that neither waits
    for the writer nor holds it up (a request's own session may hold the write lock meanwhile)."""
    return engine.execution_options(sqlite_deferred=True)


def autocommit_reader(engine: Engine) -> Engine:
    """The engine of the API's read-only routes (``reads_only``): on PostgreSQL in autocommit, so a read is its
    own statement's round trip, without BEGIN before it and ROLLBACK after (under READ COMMITTED each statement
    has its own snapshot anyway: a one-statement read gains nothing from the transaction). On SQLite the
    deferred reader, as for any GET."""
    if engine.dialect.name == "postgresql":
        return autocommit(engine)
    return reader(engine)


def reads_only(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Marks an API endpoint (of a ``SessionRoute``) that only reads, and needs no snapshot shared by its
    statements: its session runs in autocommit on PostgreSQL (``autocommit_reader``). Opt in per route, never
    on a GET that writes (an audit event, a reveal, a counter), which must stay one transaction."""
    endpoint.reads_only = True  # type: ignore[attr-defined]
    return endpoint


async def get_session(request: Request) -> Session:
    """The request's session. Making one does no I/O, so this runs on the event loop. A sync endpoint closes
    it in its own thread as it returns (``SessionRoute``); only a session still holding a
    connection after that (an endpoint that failed, or streams its answer) is closed by ``_release`` in the
    threadpool, after the response is sent; a request that answered ends its transaction with ``end_unit``.

    Not a generator dependency: FastAPI wraps one in an async context manager, a cancel scope and an exit
    stack entry (~15 % of a read's event-loop time); this registers one callback on the request's exit stack
    instead, the stack FastAPI closes a generator dependency's ``finally`` on, at the same moment (and with
    the same exception, if the endpoint raised one).

    Reads (GET/HEAD) begin deferred, so on SQLite they run beside a writer instead of queueing for its lock.
    A GET that writes anyway (counting a reading) still works; if a writer committed in between, SQLite
    answers "locked" and the client gets 503 with Retry-After. A route marked ``reads_only`` reads in
    autocommit on PostgreSQL."""
    state = request.app.state
    route = request.scope.get("route")
    on_loop = getattr(route, "on_loop", False) and loop_engine(state)
    if on_loop:
        bind = on_loop.sync_engine
        if getattr(route, "reads_only", False):
            bind = autocommit(bind)
    elif request.method not in ("GET", "HEAD"):
        bind = state.engine
    elif getattr(route, "reads_only", False):
        bind = state.autocommit_engine
    else:
        bind = state.read_engine
    session = state.sessionmaker(bind=bind)
    # The request-scoped exit stack FastAPI keeps in the scope (a KeyError here fails every test at once).
    request.scope["fastapi_inner_astack"].push_async_exit(functools.partial(_release, session))
    return session


async def _release(session: Session, failed: type[BaseException] | None, *_exc: Any) -> None:
    if session.in_transaction():
        end = session.close if failed is not None else functools.partial(end_unit, session)
        with anyio.CancelScope(shield=True):  # a client gone meanwhile must not leave the connection checked out
            if on_loop_bind(session.get_bind()):
                await greenlet_spawn(end)
            else:
                await run_in_threadpool(end)
    elif session.identity_map or session.new:
        session.close()


def on_loop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a sync API endpoint (of a ``SessionRoute``) whose work is the database and Python alone (no file,
    no network, no password hashing, nothing that blocks but its statements): where the app has a loop engine
    (``make_loop_engine``: PostgreSQL) it runs in a greenlet on the event loop, its session on that engine,
    instead of in the threadpool on psycopg. Elsewhere (SQLite) it runs in a thread as any other. Either way
    at most ``Settings.threads`` endpoints run at once: they share anyio's default limiter."""
    endpoint.on_loop = True  # type: ignore[attr-defined]
    return endpoint


DbSession = Annotated[Session, Depends(get_session)]


def _closing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(**values: Any) -> Any:
        result = endpoint(**values)
        # A finished answer reads nothing more: give the connection back here, in the thread the endpoint
        # already runs in, instead of one more hop to the threadpool after it (a read's ROLLBACK, or the
        # transaction a write's response reopened after its commit). A stream may still read the session.
        if isinstance(result, Response) and not isinstance(result, StreamingResponse):
            for value in values.values():
                if isinstance(value, Session):
                    end_unit(value)
        return result

    return run


class SessionRoute(APIRoute):
    """The API's route class: a sync endpoint closes the request's session in its own thread as it returns a
    finished ``Response``, so a request hops into the threadpool once (the endpoint), not twice; it runs to its
    end even if the request is cancelled meanwhile (``_to_the_end``). An endpoint
    that returns a model (validated by FastAPI afterwards) or a stream keeps its session until the dependency
    closes it. An ``on_loop`` endpoint runs in a greenlet on the event loop instead where its loop has a loop
    engine (``_in_greenlet``). Every API router is made with ``route_class=SessionRoute`` (tests/test_speed.py
    checks)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.reads_only = getattr(endpoint, "reads_only", False)
        self.on_loop = getattr(endpoint, "on_loop", False)
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_greenlet(_closing(endpoint)) if self.on_loop else _in_thread(_closing(endpoint))
        super().__init__(path, endpoint, **kwargs)


def _in_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A sync endpoint as a coroutine that runs it in the threadpool, as FastAPI would, but to its end even when
    the request is cancelled meanwhile (``_to_the_end``)."""

    async def run(**values: Any) -> Any:
        return await _to_the_end(run_in_threadpool(endpoint, **values))

    return _signed_as(run, endpoint)


def _signed_as(run: Callable[..., Any], endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``run`` with ``endpoint``'s signature (annotations resolved), name and docstring: what FastAPI reads."""
    run.__signature__ = inspect.signature(endpoint, eval_str=True)  # type: ignore[attr-defined]
    run.__name__ = endpoint.__name__
    run.__doc__ = endpoint.__doc__
    return run


def _in_greenlet(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """An ``on_loop`` endpoint as a coroutine: in a greenlet when its session is on the loop engine, else in the
    threadpool (where FastAPI would have run it), holding a token of the same limiter either way, and run to its
    end even when the request is cancelled meanwhile (``_to_the_end``)."""

    async def run(**values: Any) -> Any:
        if any(isinstance(v, Session) and on_loop_bind(v.get_bind()) for v in values.values()):
            async with to_thread.current_default_thread_limiter():
                return await _to_the_end(greenlet_spawn(endpoint, **values))
        return await _to_the_end(run_in_threadpool(endpoint, **values))

    return _signed_as(run, endpoint)


async def _to_the_end(work: Any) -> Any:
    """Await ``work`` (an endpoint in a greenlet or a thread) in a task of its own, and when the request is
    cancelled meanwhile (uvicorn cancels what is still in flight when a graceful shutdown times out), wait for
    it all the same before passing the cancellation on. So a transaction never stops between two of its
    statements (the greenlet would take the cancellation at its next round trip), and the request's session is
    not closed by its exit stack (``_release``) while the endpoint still uses it in its thread."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                cancelled = True
                continue
        except Exception:  # the endpoint's own error: raised below, by task.result()
            pass
        break
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


class KeptStatements:
    """Statements kept per shape (a key of what stays inline in their SQL: the caller's scope, the filters asked)
    and run with each request's values as bind parameters, so a statement is built, and SQLAlchemy's cache key
    computed over it, once per shape and not at every request. Bounded: past ``max_entries`` shapes it starts
    over (a bound on a long-lived worker's memory, not an eviction policy)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._kept: dict[Hashable, Any] = {}

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        stmt = self._kept.get(key)
        if stmt is None:
            if len(self._kept) >= self.max_entries:
                self._kept.clear()
            stmt = self._kept[key] = build()
        return stmt

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


def flush_versioned(session: Session, message: str) -> None:
    """Flush; a versioned row someone else changed meanwhile (StaleDataError) is a 409 with ``message``."""

    try:
        session.flush()
    except StaleDataError as exc:
        raise VersionConflict(message) from exc


def add_unique(session: Session, obj: Any, conflict: Exception) -> None:
    """Add ``obj`` and flush it in a savepoint; a unique-constraint clash raises ``conflict`` instead."""

    session.add(obj)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise conflict from exc
