"""Tamper-evident histories for every life-cycle: one writer, one verifier, a chain per owning row.

Each event's hash covers its content and the hash of the event before it, so an edit, a deletion or a
reordering breaks the chain from that point on. The owning row (a hazard, a measure, a complaint) keeps the
chain's head — ``chain_seq`` and ``chain_head`` — so a removed *last* event is caught too: the chain no
longer ends where its owner says it does. The event tables are append-only in the database as well
(triggers on PostgreSQL and SQLite, migration 0010) and in the ORM (below).

Writing an event never bumps the owner's version: when the owner is changing anyway (a transition) the head
rides in its versioned UPDATE; otherwise (a file, a message) one UPDATE of the two head columns compares
and sets the head, leaving ``version`` alone so the next action of whoever holds the row is not a conflict.
An owner being born with its first event (a reported hazard, ``append(..., born=True)``) is inserted with its
head already in the row, and the event after it: one statement on PostgreSQL (the owner's INSERT in a WITH),
two INSERTs on SQLite; no UPDATE, no ORM flush. An owner an action has just changed (``append(..., moved=True)``,
the kernel's transitions) is written the same way: its changed columns, its head and its next version in one
versioned UPDATE, and the event after it — one statement on PostgreSQL (the UPDATE in a WITH), two on SQLite.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, bindparam, event, inspect, select, update
from sqlalchemy.orm import Session, make_transient, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from hazard_registry.auth.principal import Actor
from hazard_registry.db import flush_versioned
from hazard_registry.errors import VersionConflict

GENESIS = "0" * 64


def canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Chain:
    """How one life-cycle's events are chained.

    ``owner_key`` is the event's column naming the owner; the hashed body holds it, ``seq``, ``action``,
    ``from``/``to`` (``has_states``), the actor (and ``actor_role`` with ``has_role``), ``at``, ``note``,
    ``data`` and ``prev``. ``always_started``: every owner has a first event (a hazard is born with its
    'report'), so an owner with none has lost its history.
    """

    name: str
    owner: type
    event: type
    owner_key: str
    always_started: bool = False
    has_role: bool = False
    has_states: bool = True
    # Columns an event carries beside the hashed body, read from the owner after the change (e.g. the
    # hazard's deadline after each event, which statistics as of a past day read).
    stamp: Callable[[Any], dict[str, Any]] | None = None

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        """Each key of the hashed body and the event attribute it is read from."""
        states = (("from", "from_state"), ("to", "to_state")) if self.has_states else ()
        role = (("actor_role", "actor_role"),) if self.has_role else ()
        return (
            (self.owner_key, self.owner_key), ("seq", "seq"), ("action", "action"), *states,
            ("actor_id", "actor_id"), ("actor_name", "actor_name"), *role, ("at", "at"), ("note", "note"),
            ("data", "data"), ("prev", "prev_hash"),
        )  # fmt: skip

    def hash(self, ev: Any) -> str:
        body: dict[str, Any] = {}
        for label, attr in self.fields:
            value = getattr(ev, attr)
            if attr == "at":
                value = canonical_time(value)
            elif attr == "data":
                value = value or {}
            body[label] = value
        raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()

    def new_event(
        self,
        owner_id: int,
        seq: int,
        prev: str,
        actor: Actor | None,
        action: str,
        *,
        now: datetime,
        from_state: str | None,
        to_state: str | None,
        note: str | None,
        data: dict[str, Any] | None,
        actor_name: str | None = None,
    ) -> Any:
        values: dict[str, Any] = {
            self.owner_key: owner_id,
            "seq": seq,
            "prev_hash": prev,
            "action": action,
            "actor_id": actor.user_id if actor else None,
            "actor_name": actor_name or (actor.username if actor else "reporter"),
            "at": now,
            "note": note,
            "data": data or {},
        }
        if self.has_states:
            values["from_state"], values["to_state"] = from_state, to_state
        if self.has_role:
            values["actor_role"] = str(actor.role) if actor else "reporter"
        ev = self.event(**values)
        ev.hash = self.hash(ev)
        return ev


CHAINS: dict[str, Chain] = {}


def register(chain: Chain) -> Chain:
    """Make ``chain`` known to ``verify_all`` and guard its event class against ORM updates and deletes."""
    CHAINS[chain.name] = chain
    if not event.contains(chain.event, "before_update", _no_update):
        event.listen(chain.event, "before_update", _no_update)
        event.listen(chain.event, "before_delete", _no_delete)
    return chain


def _no_update(_mapper: Any, _conn: Any, target: Any) -> None:
    raise RuntimeError(f"{type(target).__tablename__} is append-only")


def _no_delete(_mapper: Any, _conn: Any, target: Any) -> None:
    raise RuntimeError(f"{type(target).__tablename__} is append-only")


def append(
    session: Session,
    chain: Chain,
    owner: Any,
    actor: Actor | None,
    action: str,
    *,
    now: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    actor_name: str | None = None,
    born: bool = False,
    moved: bool = False,
) -> Any:
    """Add the next event of ``owner``'s chain and move the owner's head (the caller commits both).

    The caller holds the owner's row lock (or created it), so the head cannot move under us; the head's
    compare-and-set and the unique (owner, seq) constraint are the last lines should that ever fail.

    ``born``: ``owner`` is a new, transient object whose id the caller has already drawn (the hazards' id
    sequence on PostgreSQL) and every column of which it has set; it is inserted here with the head of its
    one-event chain (``chain_seq`` 1), then the event (Core: one statement on PostgreSQL, two on SQLite), and
    joins the session as if loaded. The rows are the ones an ORM flush and the head's UPDATE would have left.

    ``moved``: the caller has just changed ``owner`` (persistent, its row locked, its version checked) and wants
    it written now with the event: the changed columns, the head and the next version in one UPDATE that
    compares the version (Core, built once per set of changed columns), then the event — one statement on
    PostgreSQL, two on SQLite; no ORM flush. The owner is then clean, as after a flush; a lost race is a
    ``VersionConflict`` and nothing of it is written. When the change is not only columns of the owner's table,
    or other objects wait in the session, the session is flushed instead (the same rows, the same error).
    """
    if born and (owner.id is None or inspect(owner).transient is False):
        raise ValueError("a born owner is transient and has its id")
    seq, prev = (1, GENESIS) if born else ((owner.chain_seq or 0) + 1, owner.chain_head or GENESIS)
    ev = chain.new_event(
        owner.id,
        seq,
        prev,
        actor,
        action,
        now=now,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data,
        actor_name=actor_name,
    )
    for column, value in (chain.stamp(owner) if chain.stamp else {}).items():
        setattr(ev, column, value)
    if born:
        owner.chain_seq, owner.chain_head = seq, ev.hash
        _insert_born(session, chain, owner, ev)
        return ev
    state = inspect(owner)
    if moved:
        conflict = f"the {chain.name} was changed by someone else meanwhile; reload and retry"
        owner.chain_seq, owner.chain_head = seq, ev.hash
        changed = _moved_columns(session, chain, state)
        if changed is None:  # what only a flush writes: the head rides on the owner's own versioned UPDATE
            session.add(ev)
            flush_versioned(session, conflict)
        else:
            _write_moved(session, chain, owner, ev, changed, conflict)
        return ev
    if state.persistent and session.is_modified(owner, include_collections=False):
        owner.chain_seq, owner.chain_head = seq, ev.hash  # carried by the owner's own versioned UPDATE
    else:
        table = chain.owner.__table__
        done = session.execute(
            table.update()
            .where(table.c.id == owner.id, table.c.chain_seq == seq - 1)
            .values(chain_seq=seq, chain_head=ev.hash)
        )
        if done.rowcount != 1:
            raise VersionConflict(f"the {chain.name} history moved meanwhile; reload and retry")
        set_committed_value(owner, "chain_seq", seq)
        set_committed_value(owner, "chain_head", ev.hash)
    session.add(ev)
    return ev


def _insert_born(session: Session, chain: Chain, owner: Any, ev: Any) -> None:
    """Insert a born owner, its head already set, and its first event; the owner then joins the session as if
    loaded."""
    row: dict[str, Any] = {}
    for prop in inspect(chain.owner).column_attrs:
        if prop.key not in owner.__dict__:
            default = prop.columns[0].default
            if default is not None and not default.is_scalar:
                raise ValueError(f"a born {chain.name} sets {prop.key} itself")
            setattr(owner, prop.key, default.arg if default is not None else None)
        row[prop.columns[0].key] = getattr(owner, prop.key)
    if session.get_bind().dialect.name == "postgresql":  # one statement: the owner in a WITH, then the event
        params = {f"o_{k}": v for k, v in row.items()}
        params.update((f"e_{k}", v) for k, v in _event_row(chain, ev).items())
        session.execute(_born_statement(chain), params)
    else:
        # None left out, as a flush leaves it: SQL NULL (a JSON column would store 'null')
        session.execute(chain.owner.__table__.insert(), {k: v for k, v in row.items() if v is not None})
        session.execute(chain.event.__table__.insert(), _event_row(chain, ev))
    make_transient_to_detached(owner)  # its columns as stored: no reload, no flush
    session.add(owner)


_BORN: dict[str, Any] = {}
_MOVED: dict[tuple[str, bool, tuple[str, ...]], Any] = {}


def _moved_columns(session: Session, chain: Chain, state: Any) -> tuple[str, ...] | None:
    """The keys of the owner's changed columns, when an UPDATE of its one table writes all that the session
    holds: the owner is versioned and the only object changed, and only its columns changed; else None."""
    mapper = state.mapper
    changed = state.committed_state
    if (
        not state.persistent
        or not _plain(mapper)
        or not changed
        or session.new
        or session.deleted
        or any(obj is not state.obj() for obj in session.dirty)
    ):
        return None
    columns = mapper.column_attrs
    if any(key not in columns for key in changed):
        return None
    return tuple(sorted(changed))


@cache
def _plain(mapper: Any) -> bool:
    """A mapper whose flush of changed columns is one UPDATE this module can write: one table, a version counted
    by the mapper, no column the UPDATE itself would compute (``onupdate``)."""
    return (
        mapper.version_id_col is not None
        and callable(mapper.version_id_generator)
        and len(mapper.tables) == 1
        and not any(c.onupdate is not None or c.server_onupdate is not None for c in mapper.local_table.columns)
    )


def _write_moved(session: Session, chain: Chain, owner: Any, ev: Any, changed: tuple[str, ...], conflict: str) -> None:
    state = inspect(owner)
    mapper = state.mapper
    version_key = mapper.get_property_by_column(mapper.version_id_col).key
    version = getattr(owner, version_key)
    new_version = mapper.version_id_generator(version)
    params = {f"o_{mapper.column_attrs[k].columns[0].key}": state.dict[k] for k in changed if k != version_key}
    params.update(w_id=owner.id, w_version=version, v_version=new_version)
    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = _moved_statement(chain, tuple(k for k in changed if k != version_key), postgres)
    with session.no_autoflush:  # a DML statement through the session flushes first: the owner's UPDATE is this one
        if postgres:  # one statement: the UPDATE in a WITH, the event inserted from its one row (none: no event)
            params.update((f"e_{k}", v) for k, v in _event_row(chain, ev).items())
            written = session.execute(stmt, params).first() is not None  # the event's id: it was written
        else:
            written = session.execute(stmt, params).rowcount == 1
            if written:
                session.execute(chain.event.__table__.insert(), _event_row(chain, ev))
    if not written:
        raise VersionConflict(conflict)
    # The owner as stored: its version moved with the UPDATE; nothing left for a flush to write.
    set_committed_value(owner, version_key, new_version)
    session.expunge(owner)
    make_transient(owner)
    make_transient_to_detached(owner)
    session.add(owner)


def _param(prefix: str, column: Any) -> Any:
    kind = JSON(none_as_null=True) if isinstance(column.type, JSON) else column.type
    return bindparam(prefix + column.key, type_=kind)


def _moved_statement(chain: Chain, changed: tuple[str, ...], postgres: bool) -> Any:
    """``UPDATE <owners> SET <changed>, version WHERE id AND version`` — on PostgreSQL in a WITH, the event
    inserted from its returned row —, built once per chain and set of changed columns. ``changed`` are
    attribute keys of the owner's mapper; each column is a bind parameter of its own type, as a flush binds it."""
    key = (chain.name, postgres, changed)
    stmt = _MOVED.get(key)
    if stmt is None:
        mapper = inspect(chain.owner)
        owners, events = chain.owner.__table__, chain.event.__table__
        version = mapper.version_id_col
        columns = [mapper.column_attrs[k].columns[0] for k in changed]
        values: dict[Any, Any] = {c.key: bindparam(f"o_{c.key}", type_=c.type) for c in columns}
        values[version.key] = bindparam("v_version", type_=version.type)
        stmt = (
            owners.update()
            .where(owners.c.id == bindparam("w_id"), version == bindparam("w_version", type_=version.type))
            .values(values)
        )
        if postgres:
            moved = stmt.returning(owners.c.id).cte("moved")
            cols = [c for c in events.columns if c.key != "id"]
            stmt = (
                events.insert()
                .from_select([c.key for c in cols], select(*(_param("e_", c) for c in cols)).select_from(moved))
                .add_cte(moved)
                .returning(events.c.id)
            )
        _MOVED[key] = stmt
    return stmt


def _born_statement(chain: Chain) -> Any:
    """``WITH born AS (INSERT INTO <owners> …) INSERT INTO <events> …``, built once per chain: every column a
    bind parameter (``None`` is SQL NULL, JSON's too). The event's foreign key is checked at the end of the
    statement, when the owner's row is there."""
    stmt = _BORN.get(chain.name)
    if stmt is None:
        param = _param
        owners, events = chain.owner.__table__, chain.event.__table__
        born = owners.insert().values({c.key: param("o_", c) for c in owners.columns}).cte("born")
        stmt = events.insert().values({c.key: param("e_", c) for c in events.columns if c.key != "id"}).add_cte(born)
        _BORN[chain.name] = stmt
    return stmt


def _event_row(chain: Chain, ev: Any) -> dict[str, Any]:
    return {c.key: getattr(ev, c.key) for c in chain.event.__table__.columns if c.key != "id"}


def append_many(
    session: Session,
    chain: Chain,
    heads: Iterable[tuple[int, int, str | None, str | None]],
    actor: Actor | None,
    action: str,
    *,
    now: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
) -> int:
    """One event on each of many owners in two statements whatever their number (a set-based issue):
    ``heads`` are (owner id, chain_seq, chain_head, note) read with the owners' rows. The owners' rows must
    not be loaded in the session (their head columns move behind the ORM's back)."""
    events, moved = [], []
    for owner_id, seq, head, note in heads:
        ev = chain.new_event(
            owner_id,
            (seq or 0) + 1,
            head or GENESIS,
            actor,
            action,
            now=now,
            from_state=from_state,
            to_state=to_state,
            note=note,
            data=None,
        )
        events.append(_event_row(chain, ev))
        moved.append({"b_id": owner_id, "b_seq": (seq or 0), "b_new": (seq or 0) + 1, "b_head": ev.hash})
    if not events:
        return 0
    session.execute(chain.event.__table__.insert(), events)
    table = chain.owner.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.chain_seq == bindparam("b_seq"))
        .values(chain_seq=bindparam("b_new"), chain_head=bindparam("b_head")),
        moved,
    )
    return len(events)


@dataclass(frozen=True)
class Break:
    chain: str
    owner_id: int
    event_id: int
    seq: int
    reason: str

    @property
    def hazard_id(self) -> int:  # the name the hazard chain's callers know
        return self.owner_id


def verify(session: Session, chain: Chain, owner_id: int | None = None) -> Iterator[Break]:
    """Stream every event of ``chain`` in order and yield the first break of each broken chain, including
    a chain that stops short of the head its owner records (its last events were removed)."""
    ev_t, own = chain.event, chain.owner
    key = getattr(ev_t, chain.owner_key)
    stmt = select(ev_t, own.chain_seq, own.chain_head).join(own, own.id == key).order_by(key, ev_t.seq)
    if owner_id is not None:
        stmt = stmt.where(key == owner_id)
    current: int | None = None
    expected_seq, prev, broken, head = 1, GENESIS, False, (0, None)

    def short(owner: int) -> Break | None:
        if not broken and (expected_seq - 1, prev) != head:
            return Break(chain.name, owner, 0, expected_seq, f"the chain ends before its recorded head "
                         f"(event {head[0]}): an event was removed")  # fmt: skip
        return None

    for ev, head_seq, head_hash in session.execute(stmt.execution_options(yield_per=2000)):
        oid = getattr(ev, chain.owner_key)
        if oid != current:
            if current is not None and (b := short(current)):
                yield b
            current, expected_seq, prev, broken, head = oid, 1, GENESIS, False, (head_seq or 0, head_hash)
        if broken:
            continue
        reason = None
        if ev.seq != expected_seq:
            reason = f"sequence gap: expected {expected_seq}, found {ev.seq} (an event was removed)"
        elif ev.prev_hash != prev:
            reason = "link to the previous event does not match"
        elif chain.hash(ev) != ev.hash:
            reason = "content does not match its hash (the record was edited)"
        if reason:
            broken = True
            yield Break(chain.name, oid, ev.id, ev.seq, reason)
        expected_seq, prev = ev.seq + 1, ev.hash
    if current is not None and (b := short(current)):
        yield b
    # An owner with no event at all: its whole history was removed.
    orphans = select(own.id).where(~select(ev_t.id).where(key == own.id).exists())
    if not chain.always_started:
        orphans = orphans.where(own.chain_seq > 0)
    if owner_id is not None:
        orphans = orphans.where(own.id == owner_id)
    for oid in session.scalars(orphans):
        yield Break(chain.name, oid, 0, 0, "no events: the history was removed")


def verify_all(session: Session, names: Sequence[str] | None = None) -> Iterator[Break]:
    for name, chain in CHAINS.items():
        if names is None or name in names:
            yield from verify(session, chain)
