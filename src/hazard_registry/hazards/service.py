"""Hazard services. They never commit: the route, the CLI or the worker does, once.

Order of checks for anything done to a hazard: scope (outside it the hazard does not exist: 404), then
role (403), then version (428 missing, 409 stale), then state and gate (409) — the workflow kernel's order
(workflow/kernel.py). Other domains learn of a hazard's changes as listeners of ``WORKFLOW`` (registered by
``supervision.listeners.install``), in the same transaction; this module imports none of them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from pydantic_core import to_json
from sqlalchemy import (
    Integer,
    Row,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hazard_registry import clock, uploads
from hazard_registry import workflow as kernel
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import (
    Actor,
    Role,
    hazard_scope,
    region_contains,
    region_equal_prefix,
)
from hazard_registry.db import KeptStatements, autocommit, is_postgres
from hazard_registry.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    UnsupportedMedia,
    WrongState,
)
from hazard_registry.hazards import schemas
from hazard_registry.hazards.audit import append_event
from hazard_registry.hazards.models import (
    Attachment,
    Extension,
    Hazard,
    HazardAttachment,
    HazardCounter,
    HazardEvent,
)
from hazard_registry.hazards.overdue import is_overdue, not_overdue_sql, overdue_sql
from hazard_registry.hazards.workflow import (
    ATTACH,
    DEADLINE_RUNNING,
    DECIDE_EXTENSION,
    REQUEST_EXTENSION,
    WORKFLOW,
    State,
    Subject,
    officer_candidates,
    side_actions,
)
from hazard_registry.pagination import KEYSET_AFTER, Page, cut, decode_cursor, keyset
from hazard_registry.reference.lead import lead_department_sql
from hazard_registry.reference.models import (
    Enterprise,
    Industry,
    Region,
    Standard,
    StandardClause,
)

# --- reading -----------------------------------------------------------------------------------------------


def get_visible(session: Session, actor: Actor, hazard_id: int, *, lock: bool = False) -> Hazard:
    """The hazard if ``actor`` may see it, else 404 as if it did not exist. ``lock`` takes the row lock."""
    hazard: Hazard = WORKFLOW.visible(session, actor, hazard_id, lock=lock)
    return hazard


_OUT_COLUMNS = [name for name in schemas.HazardOut.model_fields if name not in ("overdue", "allowed_actions")]
# The same columns selected as plain rows (no ORM instances): what a list page and a read select. The table's
# columns, not the mapped attributes: the ORM sets up a loader per mapped column at every execution, which for
# these 31 columns cost more than building the instance did. The workflow's checks read a row's attributes
# only (state, reporter, verifier), so a Row answers ``allowed_actions`` as a Hazard does.
_HAZARDS = Hazard.__table__
_OUT_SELECT = tuple(_HAZARDS.c[name] for name in _OUT_COLUMNS)


def _read(session: Session, stmt: Select[Any]) -> Any:
    """The result of a SELECT of table columns (no mapped entities), run on the session's connection: the same
    rows as ``session.execute`` gives, without the ORM's compile and loading steps around them (a quarter of a
    page of rows' execution), which only ORM entities need. The reads of the API's hazards go this way."""
    return session.connection().execute(stmt)


def _judged(values: dict[str, Any], hazard: Any, actor: Actor, today: date) -> dict[str, Any]:
    """``values`` (a hazard's shown columns) with what is judged, not stored: whether it is overdue ``today``
    and what ``actor`` may do to it. ``hazard`` is a Hazard or a row of its columns."""
    values["overdue"] = is_overdue(hazard.state, hazard.deadline, today)
    values["allowed_actions"] = WORKFLOW.allowed_actions(hazard, actor)
    return values


def _out_values(hazard: Hazard, actor: Actor, today: date) -> dict[str, Any]:
    return _judged({name: getattr(hazard, name) for name in _OUT_COLUMNS}, hazard, actor, today)


def to_out(hazard: Hazard, actor: Actor, today: date) -> schemas.HazardOut:
    return schemas.HazardOut.model_validate(_out_values(hazard, actor, today))


# A list page's JSON keys, in ``HazardOut``'s order: a page row's columns with the overdue flag in its place
# and the allowed actions last.
_PAGE_KEYS = tuple(schemas.HazardOut.model_fields)
_OVERDUE_AT = _PAGE_KEYS.index("overdue")
assert _PAGE_KEYS[-1] == "allowed_actions"  # the row's columns are the others, in this order (_OUT_COLUMNS)


class _Reads:
    """A row as the workflow's checks see it, noting each attribute they read and the value they found."""

    __slots__ = ("_row", "seen")

    def __init__(self, row: Any) -> None:
        self._row, self.seen = row, {}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._row, name)
        self.seen[name] = value
        return value


_JUDGED_PATHS = 8  # a page's distinct answers remembered (a state, a reporter…); beyond them rows are judged afresh


def _actions_judge(actor: Actor) -> Any:
    """``WORKFLOW.allowed_actions(row, actor)`` for the rows of one page, judged once per distinct answer: the
    checks are functions of the actor and of the row's attributes they read, so a row that has the same values
    as an earlier one in every attribute its judging read (the state; the reporter or verifier where a check
    looks at them) gets the same actions. The attributes come from the checks themselves, as they run, not
    from a list kept beside them."""
    known: list[tuple[tuple[tuple[str, Any], ...], list[str]]] = []

    def judge(row: Any) -> list[str]:
        for reads, actions in known:
            if all(getattr(row, name) == value for name, value in reads):
                return actions
        seen = _Reads(row)
        actions = WORKFLOW.allowed_actions(seen, actor)
        if len(known) < _JUDGED_PATHS:
            known.append((tuple(seen.seen.items()), actions))
        return actions

    return judge


def hazard_page_json(rows: Sequence[Any], actor: Actor, today: date, next_cursor: str | None) -> bytes:
    """A list page as the JSON of ``HazardPage``, byte for byte what validating it and dumping it wrote, without
    the validation: each row is ``list_hazards``' columns straight from the table (typed by it), put in the
    model's order with its overdue flag and what the caller may do to it. The actions are judged once per
    distinct answer on the page (``_actions_judge``), not once per row."""
    judge, at = _actions_judge(actor), _OVERDUE_AT
    items = [
        dict(
            zip(
                _PAGE_KEYS,
                (*row[:at], is_overdue(row.state, row.deadline, today), *row[at:], judge(row)),
                strict=True,
            )
        )
        for row in rows
    ]
    return to_json({"items": items, "next_cursor": next_cursor})


def detail_of(
    hazard: Hazard, ent: Enterprise, clause: StandardClause, actor: Actor, today: date
) -> schemas.HazardDetail:
    """The hazard as the API shows one, validated once."""
    std = clause.standard
    values = _out_values(hazard, actor, today)
    values["enterprise"] = {"id": ent.id, "name": ent.name, "uscc": ent.uscc}
    values["clause"] = {
        "id": clause.id,
        "number": clause.number,
        "title": clause.title,
        "standard": {"id": std.id, "title": std.title, "edition": std.edition, "document_number": std.document_number},
    }
    return schemas.HazardDetail.model_validate(values)


def to_detail(session: Session, hazard: Hazard, actor: Actor, today: date) -> schemas.HazardDetail:
    """The detail of a hazard already loaded: its enterprise and clause (with the standard) in one statement."""
    ent, clause = session.execute(
        select(Enterprise, StandardClause)
        .join(StandardClause, StandardClause.id == hazard.clause_id)
        .where(Enterprise.id == hazard.enterprise_id)
    ).one()
    return detail_of(hazard, ent, clause, actor, today)


_ENTERPRISES, _CLAUSES, _STANDARDS = Enterprise.__table__, StandardClause.__table__, Standard.__table__
_DETAIL_SELECT = (
    *_OUT_SELECT,
    _ENTERPRISES.c.name.label("_enterprise_name"),
    _ENTERPRISES.c.uscc.label("_enterprise_uscc"),
    _CLAUSES.c.number.label("_clause_number"),
    _CLAUSES.c.title.label("_clause_title"),
    _STANDARDS.c.id.label("_standard_id"),
    _STANDARDS.c.title.label("_standard_title"),
    _STANDARDS.c.edition.label("_standard_edition"),
    _STANDARDS.c.document_number.label("_standard_document_number"),
)
_DETAIL_FROM = (
    _HAZARDS.join(_ENTERPRISES, _ENTERPRISES.c.id == _HAZARDS.c.enterprise_id)
    .join(_CLAUSES, _CLAUSES.c.id == _HAZARDS.c.clause_id)
    .join(_STANDARDS, _STANDARDS.c.id == _CLAUSES.c.standard_id)
)


def get_detail(session: Session, actor: Actor, hazard_id: int, today: date) -> schemas.HazardDetail:
    """Read one hazard as ``actor`` may see it (else 404), with its enterprise and clause: one statement, its
    columns as a plain row (what ``detail_of`` shows, without ORM instances to build and expunge)."""
    row = _read(
        session,
        select(*_DETAIL_SELECT).select_from(_DETAIL_FROM).where(Hazard.id == hazard_id, hazard_scope(actor, Hazard)),
    ).first()
    if row is None:
        raise NotFound(f"hazard {hazard_id} not found", code="hazard_not_found")
    values = _judged(row._asdict(), row, actor, today)
    values["enterprise"] = {
        "id": row.enterprise_id,
        "name": values.pop("_enterprise_name"),
        "uscc": values.pop("_enterprise_uscc"),
    }
    values["clause"] = {
        "id": row.clause_id,
        "number": values.pop("_clause_number"),
        "title": values.pop("_clause_title"),
        "standard": {
            "id": values.pop("_standard_id"),
            "title": values.pop("_standard_title"),
            "edition": values.pop("_standard_edition"),
            "document_number": values.pop("_standard_document_number"),
        },
    }
    return schemas.HazardDetail.model_validate(values)


@dataclass
class HazardFilters:
    state: list[str] = field(default_factory=list)
    region: str | None = None
    industry_code: str | None = None
    sector_code: str | None = None
    department_id: int | None = None
    enterprise_id: int | None = None
    officer_id: int | None = None
    source: str | None = None
    overdue: bool | None = None
    found_from: date | None = None
    found_to: date | None = None
    q: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(actor: Actor, f: HazardFilters, today: date) -> Select[tuple[Hazard]]:
    """The scoped, filtered selection of hazards; shared by the list, and later by exports.

    Every value asked is a bind parameter named after its filter (``_FILTER_BINDS``), so a statement built for
    one set of values runs for another of the same shape with only those parameters changed (``list_hazards``
    keeps its statements so). What stays a value of the statement itself: the caller's scope, the region asked
    (both decide the prefix lengths an index must match) and the day an ``overdue`` filter is judged on."""
    stmt = select(Hazard).where(hazard_scope(actor, Hazard, within=f.region))
    if f.state:
        stmt = stmt.where(Hazard.state.in_(bindparam("f_state", f.state, expanding=True)))
    if f.region:
        stmt = stmt.where(region_equal_prefix(Hazard.region_code, f.region))
    if f.industry_code:
        stmt = stmt.where(Hazard.industry_code == bindparam("f_industry_code", f.industry_code))
    if f.sector_code:
        stmt = stmt.where(Hazard.sector_code == bindparam("f_sector_code", f.sector_code))
    if f.department_id is not None:
        stmt = stmt.where(Hazard.department_id == bindparam("f_department_id", f.department_id))
    if f.enterprise_id is not None:
        stmt = stmt.where(Hazard.enterprise_id == bindparam("f_enterprise_id", f.enterprise_id))
    if f.officer_id is not None:
        stmt = stmt.where(Hazard.officer_id == bindparam("f_officer_id", f.officer_id))
    if f.source:
        stmt = stmt.where(Hazard.source == bindparam("f_source", f.source))
    if f.overdue is True:
        stmt = stmt.where(overdue_sql(today))
    elif f.overdue is False:
        stmt = stmt.where(not_overdue_sql(today))
    if f.found_from:
        stmt = stmt.where(Hazard.found_at >= bindparam("f_found_from", f.found_from))
    if f.found_to:
        stmt = stmt.where(Hazard.found_at <= bindparam("f_found_to", f.found_to))
    if f.q:
        q, like = bindparam("f_q", f.q), bindparam("f_like", _like(f.q))
        stmt = stmt.where(
            or_(Hazard.number == q, Hazard.title.ilike(like, escape="\\"), Hazard.description.ilike(like, escape="\\"))
        )
    return stmt


def _like(q: str) -> str:
    return f"%{_escape_like(q)}%"


def _filter_params(f: HazardFilters, cursor: str | None) -> dict[str, Any]:
    """The bind parameters of ``filtered`` (and of ``keyset``'s cursor) for the values of ``f``."""
    params: dict[str, Any] = {
        "f_state": f.state,
        "f_industry_code": f.industry_code,
        "f_sector_code": f.sector_code,
        "f_department_id": f.department_id,
        "f_enterprise_id": f.enterprise_id,
        "f_officer_id": f.officer_id,
        "f_source": f.source,
        "f_found_from": f.found_from,
        "f_found_to": f.found_to,
    }
    if f.q:
        params["f_q"], params["f_like"] = f.q, _like(f.q)
    if cursor:
        params[KEYSET_AFTER] = decode_cursor(cursor)
    return params


def _list_shape(session: Session, actor: Actor, f: HazardFilters, cursor: str | None, limit: int, today: date) -> tuple:
    """What decides ``list_hazards``' statement apart from its bind parameters: requests equal in it run the
    same statement object (SQLAlchemy's cache key is memoized on it) with their own values."""
    return (
        is_postgres(session),
        actor.role,
        actor.enterprise_id,
        actor.department_id,
        actor.region_code,
        actor.sectors,
        f.region,
        # The one state is inline on PostgreSQL (see list_hazards); otherwise only whether states are asked.
        tuple(f.state) if len(f.state) == 1 else bool(f.state),
        bool(f.industry_code),
        bool(f.sector_code),
        f.department_id is not None,
        f.enterprise_id is not None,
        f.officer_id is not None,
        bool(f.source),
        (f.overdue, today) if f.overdue is not None else None,
        bool(f.found_from),
        bool(f.found_to),
        bool(f.q),
        bool(cursor),
        limit,
    )


_LIST_STATEMENTS = KeptStatements(max_entries=2000)


def list_hazards(
    session: Session, actor: Actor, f: HazardFilters, *, cursor: str | None, limit: int, today: date
) -> tuple[list[Row[Any]], str | None]:
    """One keyset page, newest first, and the next page's cursor. Page 10,000 costs what page 1 costs. The
    page's rows carry the columns a list shows (``HazardOut``'s), not ORM instances: nothing to track or expunge.

    The page's ids are chosen first and only then its rows read (a "deferred join", still one statement): the
    ids of a region and state come from the index (state, region prefix, id) alone, so a rare state costs what
    a common one does, and only the page's rows are fetched from the table, not every candidate's.

    One state on PostgreSQL is asked as ``state = ANY(ARRAY['closed'])`` and ordered ``state DESC, id DESC``
    (the same order: every candidate has that state). With ``state = 'closed'`` the planner drops the state
    from the order and may walk the primary key backwards instead, betting that the newest ids are mostly of
    that state; where they are not (40,000 newer reports on top of them) it reads tens of thousands of rows
    for a page. Only an index that starts with the state gives this order, so the page comes from (state,
    region prefix, id) whatever the planner believes about where the state's rows lie. The state is inline
    (an enum value), so a prepared statement's generic plan knows it too.

    The statement is kept per shape (``_list_shape``: the caller's scope, the region, which filters are asked,
    the one state) and run with the request's values as parameters: building it and SQLAlchemy's cache key
    over it cost a third of a millisecond a page (``db.KeptStatements``, bounded)."""
    shape = _list_shape(session, actor, f, cursor, limit, today)
    stmt = _LIST_STATEMENTS.get(
        shape, lambda: _list_statement(session, actor, f, cursor=cursor, limit=limit, today=today)
    )
    rows = session.connection().execute(stmt, _filter_params(f, cursor)).all()
    return cut(rows, limit)


def _list_statement(
    session: Session, actor: Actor, f: HazardFilters, *, cursor: str | None, limit: int, today: date
) -> Select[Any]:
    one_state = len(f.state) == 1 and is_postgres(session)
    stmt = filtered(actor, replace(f, state=[]) if one_state else f, today).with_only_columns(Hazard.id)
    if one_state:
        stmt = stmt.where(Hazard.state == any_(pg_array([literal(State(f.state[0]).value, literal_execute=True)])))
    ids = keyset(stmt, Hazard.id, cursor, limit)
    if one_state:
        ids = ids.order_by(None).order_by(Hazard.state.desc(), Hazard.id.desc())
    return select(*_OUT_SELECT).where(Hazard.id.in_(ids)).order_by(Hazard.id.desc())


def list_hazards_named(
    session: Session, actor: Actor, f: HazardFilters, *, cursor: str | None, limit: int, today: date
) -> tuple[list[tuple[Hazard, str]], str | None]:
    """``list_hazards`` with each hazard's enterprise name, still one statement (the console's 台账 shows
    names, not ids)."""
    ids = keyset(filtered(actor, f, today).with_only_columns(Hazard.id), Hazard.id, cursor, limit)
    stmt = (
        select(Hazard, Enterprise.name)
        .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
        .where(Hazard.id.in_(ids))
        .order_by(Hazard.id.desc())
    )
    rows = [(h, name) for h, name in session.execute(stmt)]
    return cut(rows, limit, key=lambda r: r[0].id)


@dataclass(frozen=True)
class _Probe:
    """A hazard nobody has touched yet in ``state``: what the workflow judges when asked which states concern
    a role."""

    state: str
    reported_by_id: int | None = None
    verified_by_id: int | None = None


def states_awaiting(actor: Actor) -> list[str]:
    """The states in which the workflow gives ``actor`` something to do (from the workflow, not a list)."""
    return [s.value for s in State if WORKFLOW.allowed_actions(_Probe(s.value), actor)]


def waiting_for(session: Session, actor: Actor, today: date, *, limit: int = 20) -> tuple[list[schemas.HazardOut], int]:
    """Hazards in the actor's scope whose next action is the actor's: those on which the workflow allows
    them an action now. Their own first (officer), then by deadline, oldest first. Returns up to ``limit``
    of them and how many there are in all."""
    states = states_awaiting(actor)
    if not states:
        return [], 0
    base = select(Hazard).where(hazard_scope(actor, Hazard), Hazard.state.in_(states))
    mine = Hazard.officer_id == actor.user_id if actor.user_id else false()
    ordered = base.order_by(
        case((mine, 0), else_=1), Hazard.deadline.is_(None), Hazard.deadline, Hazard.found_at, Hazard.id
    )
    out: list[schemas.HazardOut] = []
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    for hazard in session.scalars(ordered.limit(limit * 2)):
        row = to_out(hazard, actor, today)
        if row.allowed_actions:
            out.append(row)
        if len(out) == limit:
            break
    return out, total


def assignable_officers(session: Session, actor: Actor, hazard_id: int) -> list[User]:
    """Who may be made the officer of a hazard: the active regulators of its lead department (the assign
    gate's own clause, ``officer_candidates``). Only for a hazard the actor sees."""
    hazard = get_visible(session, actor, hazard_id)
    return list(session.scalars(select(User).where(officer_candidates(hazard)).order_by(User.username)))


def list_events(session: Session, actor: Actor, hazard_id: int) -> list[HazardEvent]:
    get_visible(session, actor, hazard_id)
    return list(
        session.scalars(select(HazardEvent).where(HazardEvent.hazard_id == hazard_id).order_by(HazardEvent.seq))
    )


# A hazard's parts as the API reads them: each in one statement, the hazard LEFT JOINed to its part's rows
# under the caller's scope, so a hazard the caller does not see is a 404 (no row at all) and one without any
# part an empty list (one row of NULLs). Plain rows, validated once by the page model: no ORM instances. The
# console reads the same parts as ORM objects (list_events, list_attachments…): its templates walk them.
_EVENTS, _LINKS, _BLOBS, _EXTENSIONS, _USERS = (
    HazardEvent.__table__,
    HazardAttachment.__table__,
    Attachment.__table__,
    Extension.__table__,
    User.__table__,
)


def _columns(table: Any, model: type[Any], **renamed: Any) -> tuple[Any, ...]:
    """The columns that fill ``model``'s fields, in its order: the table's own, or ``renamed`` ones."""
    return tuple(renamed[name].label(name) if name in renamed else table.c[name] for name in model.model_fields)


_EVENT_PART = select(*_columns(_EVENTS, schemas.EventOut)).select_from(
    _HAZARDS.outerjoin(_EVENTS, _EVENTS.c.hazard_id == _HAZARDS.c.id)
)
_ATTACHMENT_PART = select(
    *_columns(_LINKS, schemas.AttachmentOut, media_type=_BLOBS.c.media_type, size=_BLOBS.c.size, sha256=_BLOBS.c.sha256)
).select_from(
    _HAZARDS.outerjoin(_LINKS, _LINKS.c.hazard_id == _HAZARDS.c.id).outerjoin(
        _BLOBS, _BLOBS.c.id == _LINKS.c.attachment_id
    )
)
_EXTENSION_PART = select(*_columns(_EXTENSIONS, schemas.ExtensionOut)).select_from(
    _HAZARDS.outerjoin(_EXTENSIONS, _EXTENSIONS.c.hazard_id == _HAZARDS.c.id)
)
# The assign gate's own clause over the hazard's columns: the active regulators of its lead department.
_OFFICER_PART = select(*_columns(_USERS, schemas.OfficerOut)).select_from(
    _HAZARDS.outerjoin(_USERS, officer_candidates(Hazard))
)


# One file of a hazard, for its download: the link joined on its id too, so a hazard out of sight is a 404 of
# the hazard and a link that is not the hazard's a 404 of the attachment.
_FILE = select(_LINKS.c.id, _LINKS.c.filename, _BLOBS.c.sha256, _BLOBS.c.media_type).select_from(
    _HAZARDS.outerjoin(
        _LINKS, and_(_LINKS.c.hazard_id == _HAZARDS.c.id, _LINKS.c.id == bindparam("link_id"))
    ).outerjoin(_BLOBS, _BLOBS.c.id == _LINKS.c.attachment_id)
)


def attachment_file(session: Session, actor: Actor, hazard_id: int, link_id: int) -> Row[Any]:
    """The name, content address and type of one of a hazard's files (``get_attachment``), in one statement."""
    row = session.execute(
        _FILE.where(Hazard.id == hazard_id, hazard_scope(actor, Hazard)), {"link_id": link_id}
    ).first()
    if row is None:
        raise NotFound(f"hazard {hazard_id} not found", code="hazard_not_found")
    if row.id is None:
        raise NotFound(f"attachment {link_id} not found", code="attachment_not_found")
    return row


def _part(session: Session, actor: Actor, hazard_id: int, stmt: Select[Any], *order_by: Any) -> list[dict[str, Any]]:
    rows = _read(session, stmt.where(Hazard.id == hazard_id, hazard_scope(actor, Hazard)).order_by(*order_by)).all()
    if not rows:
        raise NotFound(f"hazard {hazard_id} not found", code="hazard_not_found")
    return [row._asdict() for row in rows if row[0] is not None]


def events_page(session: Session, actor: Actor, hazard_id: int) -> Page[schemas.EventOut]:
    """A hazard's history, oldest first (``list_events``), in one statement."""
    return Page[schemas.EventOut].model_validate(
        {"items": _part(session, actor, hazard_id, _EVENT_PART, _EVENTS.c.seq)}
    )


def attachments_page(session: Session, actor: Actor, hazard_id: int) -> Page[schemas.AttachmentOut]:
    """A hazard's files in the order they came (``list_attachments``), in one statement."""
    items = _part(session, actor, hazard_id, _ATTACHMENT_PART, _LINKS.c.id)
    return Page[schemas.AttachmentOut].model_validate({"items": items})


def extensions_page(session: Session, actor: Actor, hazard_id: int) -> Page[schemas.ExtensionOut]:
    """A hazard's extension requests in the order they came (``list_extensions``), in one statement."""
    items = _part(session, actor, hazard_id, _EXTENSION_PART, _EXTENSIONS.c.id)
    return Page[schemas.ExtensionOut].model_validate({"items": items})


def officers_page(session: Session, actor: Actor, hazard_id: int) -> Page[schemas.OfficerOut]:
    """Who may be made the hazard's officer (``assignable_officers``), by username, in one statement."""
    items = _part(session, actor, hazard_id, _OFFICER_PART, _USERS.c.username)
    return Page[schemas.OfficerOut].model_validate({"items": items})


# --- reporting ---------------------------------------------------------------------------------------------


def _refs_statement(region: Any) -> Select[Any]:
    e, c, s = Enterprise, StandardClause, Standard
    columns = (
        e.id, e.uscc, e.name, e.region_code, e.industry_code, Industry.sector_code,
        c.id.label("clause_id"), c.number, c.title, c.standard_id,
        s.title.label("standard_title"), s.edition, s.document_number, s.effective_from, s.effective_to,
        select(Region.code).where(Region.code == region).exists().label("region_known"),
        lead_department_sql(region, Industry.sector_code).label("lead_id"),
    )  # fmt: skip
    return (
        select(*columns)
        .join(Industry, Industry.code == e.industry_code)
        .outerjoin(c, c.id == bindparam("clause_id"))
        .outerjoin(s, s.id == c.standard_id)
        .where(e.id == bindparam("enterprise_id"))
    )


# Built once (their construction was a tenth of a report's CPU): the region named in the report, or the enterprise's.
_REFS_IN_REGION = _refs_statement(bindparam("region_code", type_=String))
_REFS = _refs_statement(Enterprise.region_code)


def _report_refs(
    session: Session, enterprise_id: int, data: schemas.HazardCreate
) -> tuple[Enterprise | None, str | None, StandardClause | None, bool, int | None]:
    """What a report checks and derives, in one statement: the enterprise and its sector, the cited clause with
    its standard, whether the region is known, and the lead department (``lead_department_sql``, the SQL twin
    of ``reference.lead.lead_department``).

    Columns, not entities (the ORM's row processors for three classes were a fifth of a millisecond): the
    enterprise and the clause come back as transient objects holding the columns a report and its detail read,
    never added to the session."""
    params: dict[str, Any] = {"enterprise_id": enterprise_id, "clause_id": data.clause_id}
    if data.region_code:
        params["region_code"] = data.region_code
    row = session.connection().execute(_REFS_IN_REGION if data.region_code else _REFS, params).first()
    if row is None:
        return None, None, None, False, None
    ent = Enterprise(id=row.id, uscc=row.uscc, name=row.name, region_code=row.region_code,
                     industry_code=row.industry_code)  # fmt: skip
    clause = None
    if row.clause_id is not None:
        clause = StandardClause(id=row.clause_id, number=row.number, title=row.title, standard_id=row.standard_id)
        standard = Standard(id=row.standard_id, title=row.standard_title, edition=row.edition,
                            document_number=row.document_number, effective_from=row.effective_from,
                            effective_to=row.effective_to)  # fmt: skip
        set_committed_value(clause, "standard", standard)  # no backref into standard.clauses
    return ent, row.sector_code, clause, bool(row.region_known), row.lead_id


def _next_number(session: Session, region_code: str, year: int) -> tuple[str, int]:
    """The next number of the county's register for the year (``<county>-<year>-<sequence>``) and the id the new
    hazard will have, in one statement: its chain's head goes into its own INSERT (``audit.append(born=True)``).

    On PostgreSQL the counter is bumped in its own short transaction (autocommit, one statement), so its row
    lock is held for that statement, not until the report commits: reports of one county run side by side.
    The price is a gap when a report fails after taking its number (it is taken after every check, so only a
    lost database or the loser of two racing retries with one Idempotency-Key leaves one); numbers stay
    unique and increasing. The id is the next of the hazards' sequence (``nextval``, as the INSERT's default
    would have taken it). That short transaction commits asynchronously (``synchronous_commit = off`` for it
    alone): it does not wait for its own WAL flush, and it need not, since its commit record comes before the
    report's in the WAL, so the report's own (synchronous) commit flushes it too. A crash can lose only a bump
    whose report never committed: that number is given again, and no committed hazard ever shares one.

    SQLite has one writer at a time anyway, and a second connection would wait for this transaction's own write
    lock, so there the counter moves inside the report's transaction, which from then on holds the write lock:
    the id is the one SQLite would give the row, the largest plus one."""
    county = region_code[:6]
    params = {"region_code": county, "year": year}
    if is_postgres(session):
        with autocommit(session.get_bind()).connect() as conn:
            seq, hazard_id = conn.execute(_COUNT_PG, params).one()
    else:
        seq, hazard_id = session.execute(_COUNT_SQLITE, params).one()
    return f"{county}-{year}-{seq:06d}", hazard_id


def _count_statement(insert: Any, next_id: Any, *, asynchronous_commit: bool = False) -> Any:
    stmt = insert(HazardCounter)
    if asynchronous_commit:
        # INSERT … SELECT … WHERE set_config(…) IS NOT NULL: the WHERE is evaluated for the one row, so the setting
        # holds (is_local: for this statement's own transaction only, then it reverts) when that transaction commits.
        only = func.set_config(literal_column("'synchronous_commit'"), literal_column("'off'"), true()).is_not(None)
        row = select(bindparam("region_code", type_=String), bindparam("year", type_=Integer), literal(1)).where(only)
        stmt = stmt.from_select(["region_code", "year", "last"], row)
    else:
        stmt = stmt.values(region_code=bindparam("region_code"), year=bindparam("year"), last=1)
    return stmt.on_conflict_do_update(
        index_elements=["region_code", "year"], set_={"last": HazardCounter.last + 1}
    ).returning(HazardCounter.last, next_id.label("next_id"))


_COUNT_PG = _count_statement(pg_insert, func.nextval(literal_column("'hazards_id_seq'")), asynchronous_commit=True)
_COUNT_SQLITE = _count_statement(sqlite_insert, select(func.coalesce(func.max(Hazard.id), 0) + 1).scalar_subquery())


_SOURCES_BY_ROLE = {
    Role.enterprise: ("self_report", {"self_report"}),
    Role.regulator: ("inspection", {"inspection", "other"}),
    Role.system: ("public_report", {"public_report", "inspection", "other", "self_report"}),
}
# A regulator entering a district's existing ledger keeps each row's true source (an enterprise's self-report
# stays one); an enterprise's own ledger holds its self-reports only.
_ANY_SOURCE = {"self_report", "inspection", "public_report", "other"}


def report(
    session: Session,
    actor: Actor,
    data: schemas.HazardCreate,
    now: datetime,
    *,
    from_complaint: bool = False,
    imported: bool = False,
) -> Hazard:
    """Enter a hazard in the register (上账); see ``report_detail``. ``imported``: a row of an existing ledger
    (``ledgers.importer``), whose source a regulator records as the ledger gives it."""
    return _report(session, actor, data, now, from_complaint=from_complaint, imported=imported)[0]


def report_detail(session: Session, actor: Actor, data: schemas.HazardCreate, now: datetime) -> schemas.HazardDetail:
    """``report``, answered with the hazard's detail from the rows the report already read."""
    hazard, ent, clause = _report(session, actor, data, now)
    return detail_of(hazard, ent, clause, actor, clock.today_in_china(now))


def _report(
    session: Session,
    actor: Actor,
    data: schemas.HazardCreate,
    now: datetime,
    *,
    from_complaint: bool = False,
    imported: bool = False,
) -> tuple[Hazard, Enterprise, StandardClause]:
    """Enter a hazard in the register (上账) in state ``reported``, with its first event.

    Invariants: the enterprise is the caller's own (enterprise) or in the caller's region (regulator);
    the clause belongs to a standard edition in force on ``found_at``; ``found_at`` is not in the future.
    Source ``public_report`` is open to a regulator only through the complaints service (``from_complaint``),
    which links the hazard to the substantiated complaint.
    """
    if actor.role not in _SOURCES_BY_ROLE:
        raise Forbidden("administrators do not report hazards", code="role_forbidden")
    default_source, allowed_sources = _SOURCES_BY_ROLE[actor.role]
    if from_complaint:
        default_source, allowed_sources = "public_report", {"public_report"}
    elif imported and actor.role is Role.regulator:
        allowed_sources = _ANY_SOURCE
    source = data.source or default_source
    if source not in allowed_sources:
        raise InvalidInput(
            f"a {actor.role} cannot report with source {source}",
            code="source_not_allowed",
            errors=[{"field": "source", "message": f"allowed: {sorted(allowed_sources)}"}],
        )

    enterprise_id = data.enterprise_id
    if actor.role is Role.enterprise:
        enterprise_id = enterprise_id or actor.enterprise_id
        if enterprise_id != actor.enterprise_id:
            raise NotFound(f"enterprise {enterprise_id} not found", code="enterprise_not_found")
    if enterprise_id is None:
        raise InvalidInput(
            "enterprise_id is required",
            code="invalid_input",
            errors=[{"field": "enterprise_id", "message": "required"}],
        )
    ent, sector_code, clause, region_known, lead_id = _report_refs(session, enterprise_id, data)
    if ent is None or (
        actor.role is Role.regulator and not (actor.region_code and region_contains(actor.region_code, ent.region_code))
    ):
        raise NotFound(f"enterprise {enterprise_id} not found", code="enterprise_not_found")

    if data.found_at > clock.today_in_china(now):
        raise InvalidInput(
            "found_at is in the future",
            code="found_at_in_future",
            errors=[{"field": "found_at", "message": "may not be after today"}],
        )
    if clause is None:
        raise InvalidInput(
            f"clause {data.clause_id} does not exist",
            code="clause_not_found",
            errors=[{"field": "clause_id", "message": "unknown clause"}],
        )
    if not clause.standard.in_force_on(data.found_at):
        raise InvalidInput(
            f"{clause.standard.title} ({clause.standard.edition}) was not in force on {data.found_at}",
            code="clause_not_in_force",
            errors=[{"field": "clause_id", "message": "standard not in force"}],
        )

    region_code = data.region_code or ent.region_code
    if not region_contains(ent.region_code, region_code) or not region_known:
        raise InvalidInput(
            "region_code must be the enterprise's region or a known region below it",
            code="region_invalid",
            errors=[{"field": "region_code", "message": "invalid"}],
        )
    if lead_id is None:
        raise InvalidInput(
            f"no department leads sector {sector_code} in region {region_code}; an administrator must set one up",
            code="no_lead_department",
        )

    if data.recurrence_of_id is not None:
        old = session.get(Hazard, data.recurrence_of_id)
        if old is None or old.enterprise_id != ent.id or old.state != State.closed:
            raise InvalidInput(
                "recurrence_of_id must name a closed hazard of the same enterprise",
                code="recurrence_invalid",
                errors=[{"field": "recurrence_of_id", "message": "invalid"}],
            )

    number, hazard_id = _next_number(session, region_code, data.found_at.year)  # last: every check has passed
    hazard = Hazard(
        id=hazard_id,
        number=number,
        grade="major",
        state=State.reported.value,
        source=source,
        enterprise_id=ent.id,
        industry_code=ent.industry_code,
        sector_code=sector_code,
        region_code=region_code,
        department_id=lead_id,
        clause_id=clause.id,
        title=data.title,
        description=data.description,
        location=data.location,
        found_at=data.found_at,
        production_suspended=data.production_suspended,
        reported_by_id=actor.user_id,
        reported_by_role=str(actor.role),
        recurrence_of_id=data.recurrence_of_id,
        failed_verifications=0,
        created_at=now,
        updated_at=now,
        version=1,
    )
    append_event(  # inserts the hazard with its chain's head, then the event
        session,
        hazard,
        actor,
        "report",
        now=now,
        from_state=None,
        to_state=State.reported.value,
        data={"source": source, "clause_id": clause.id, "department_id": lead_id},
        born=True,
    )
    WORKFLOW.changed(session, hazard, "report", now)
    return hazard, ent, clause


# --- the workflow ------------------------------------------------------------------------------------------


def transition(
    session: Session, actor: Actor, hazard_id: int, body: Any, *, expected_version: int | None, now: datetime
) -> Hazard:
    """Take one workflow action on a hazard and record it in its history, in the caller's transaction."""
    hazard: Hazard = _act(session, actor, hazard_id, body, expected_version=expected_version, now=now).row
    return hazard


def transition_detail(
    session: Session, actor: Actor, hazard_id: int, body: Any, *, expected_version: int | None, now: datetime
) -> schemas.HazardDetail:
    """``transition`` answered with the hazard's detail, built before the caller commits: the enterprise and
    clause were read with the locked row, so the answer costs no statement and no second transaction."""
    done = _act(session, actor, hazard_id, body, expected_version=expected_version, now=now)
    ent, clause = done.companions
    return detail_of(done.row, ent, clause, actor, clock.today_in_china(now))


def _act(
    session: Session, actor: Actor, hazard_id: int, body: Any, *, expected_version: int | None, now: datetime
) -> kernel.Outcome:
    payload = body.model_dump(exclude={"action", "version", "note"})
    if "plan" in payload:
        payload["plan"] = body.plan.model_dump()
    return kernel.act(
        session, WORKFLOW, actor, hazard_id, body.action, payload, expected_version=expected_version, now=now,
        note=body.note,
    )  # fmt: skip


# --- attachments -------------------------------------------------------------------------------------------


def install_blob(root: Path, sha: str, tmp: Path) -> None:
    """Move a stored upload to its content address (the same bytes land on the same path)."""
    final = uploads.blob_path(root, sha)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)


def attachment_row(session: Session, sha: str, size: int, media_type: str, now: datetime) -> Attachment:
    """The one row of a content address: found, or added in a savepoint (a concurrent upload of the same
    bytes may add it first)."""
    blob = session.scalar(select(Attachment).where(Attachment.sha256 == sha))
    if blob is None:
        try:
            with session.begin_nested():
                blob = Attachment(sha256=sha, size=size, media_type=media_type, created_at=now)
                session.add(blob)
        except IntegrityError:
            blob = session.scalar(select(Attachment).where(Attachment.sha256 == sha))
            assert blob is not None
    return blob


def add_attachment(
    session: Session,
    actor: Actor,
    hazard_id: int,
    *,
    kind: str,
    filename: str,
    stream: BinaryIO,
    root: Path,
    max_bytes: int,
    allowed_types: list[str],
    now: datetime,
    max_pixels: int = 40_000_000,
) -> tuple[HazardAttachment, Attachment]:
    """Store a file (type judged by its content, not its name) and attach it to a hazard, with an event."""
    hazard = get_visible(session, actor, hazard_id, lock=True)
    ATTACH.enforce(actor, Subject(hazard))
    sha, size, media_type, tmp = uploads.store_blob(root, stream, max_bytes)
    try:
        if size == 0:
            raise InvalidInput("the file is empty", code="file_empty", errors=[{"field": "file", "message": "empty"}])
        if media_type not in allowed_types:
            raise UnsupportedMedia(f"files of type {media_type} are not accepted", allowed=allowed_types)
        if media_type.startswith("image/"):
            with tmp.open("rb") as f:  # the header only: a viewer would decode every declared pixel
                uploads.check_pixels(f, max_pixels)
        install_blob(root, sha, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    blob = attachment_row(session, sha, size, media_type, now)
    link = HazardAttachment(
        hazard_id=hazard.id,
        attachment_id=blob.id,
        kind=kind,
        filename=uploads.safe_filename(filename, "upload"),
        uploaded_by_id=actor.user_id,
        uploaded_at=now,
    )
    session.add(link)
    session.flush()
    kernel.record(
        session,
        WORKFLOW,
        hazard,
        actor,
        "attach",
        now=now,
        data={"attachment_id": link.id, "kind": kind, "sha256": sha, "filename": link.filename},
    )
    return link, blob


def attachment_out(link: HazardAttachment, blob: Attachment) -> schemas.AttachmentOut:
    return schemas.AttachmentOut(
        id=link.id,
        kind=link.kind,
        filename=link.filename,
        media_type=blob.media_type,
        size=blob.size,
        sha256=blob.sha256,
        uploaded_by_id=link.uploaded_by_id,
        uploaded_at=link.uploaded_at,
    )


def list_attachments(session: Session, actor: Actor, hazard_id: int) -> list[tuple[HazardAttachment, Attachment]]:
    get_visible(session, actor, hazard_id)
    rows = session.execute(
        select(HazardAttachment, Attachment)
        .join(Attachment, Attachment.id == HazardAttachment.attachment_id)
        .where(HazardAttachment.hazard_id == hazard_id)
        .order_by(HazardAttachment.id)
    ).all()
    return [(r[0], r[1]) for r in rows]


def get_attachment(session: Session, actor: Actor, hazard_id: int, link_id: int) -> tuple[HazardAttachment, Attachment]:
    for link, blob in list_attachments(session, actor, hazard_id):
        if link.id == link_id:
            return link, blob
    raise NotFound(f"attachment {link_id} not found", code="attachment_not_found")


# --- extensions (延期) --------------------------------------------------------------------------------------


def request_extension(
    session: Session, actor: Actor, hazard_id: int, data: schemas.ExtensionCreate, now: datetime
) -> Extension:
    hazard = get_visible(session, actor, hazard_id, lock=True)
    pending = session.scalar(
        select(func.count())
        .select_from(Extension)
        .where(Extension.hazard_id == hazard.id, Extension.state == "pending")
    )
    REQUEST_EXTENSION.enforce(actor, Subject(hazard, extension_pending=bool(pending)))
    assert hazard.deadline is not None  # DEADLINE_RUNS
    if data.requested_deadline <= hazard.deadline:
        raise InvalidInput(
            "the requested deadline must be after the current one",
            code="extension_not_later",
            errors=[{"field": "requested_deadline", "message": f"after {hazard.deadline}"}],
        )
    ext = Extension(
        hazard_id=hazard.id,
        current_deadline=hazard.deadline,
        requested_deadline=data.requested_deadline,
        reason=data.reason,
        requested_by_id=actor.user_id,
        requested_at=now,
    )
    session.add(ext)
    session.flush()
    kernel.record(
        session,
        WORKFLOW,
        hazard,
        actor,
        "extension_requested",
        now=now,
        note=data.reason,
        data={"extension_id": ext.id, "from": hazard.deadline.isoformat(), "to": data.requested_deadline.isoformat()},
    )
    return ext


def other_actions(actor: Actor, hazard: Hazard, *, extension_pending: bool) -> list[str]:
    """What ``actor`` may do to ``hazard`` besides the workflow's actions (attach, request_extension,
    decide_extension): the side actions' own rules (hazards/workflow.py), which the services below enforce."""
    return side_actions(actor, hazard, extension_pending=extension_pending)


def list_extensions(session: Session, actor: Actor, hazard_id: int) -> list[Extension]:
    get_visible(session, actor, hazard_id)
    return list(session.scalars(select(Extension).where(Extension.hazard_id == hazard_id).order_by(Extension.id)))


def decide_extension(
    session: Session,
    actor: Actor,
    hazard_id: int,
    extension_id: int,
    data: schemas.ExtensionDecision,
    now: datetime,
) -> Extension:
    """Approve (the deadline moves, and the hazard's version with it) or refuse a pending extension."""
    hazard = get_visible(session, actor, hazard_id, lock=True)
    ext = session.scalar(select(Extension).where(Extension.id == extension_id, Extension.hazard_id == hazard.id))
    if ext is None:
        raise NotFound(f"extension {extension_id} not found", code="extension_not_found")
    DECIDE_EXTENSION.enforce(actor, Subject(hazard, extension_pending=ext.state == "pending"))
    approve = data.decision == "approve"
    if approve and hazard.state not in DEADLINE_RUNNING:
        raise WrongState(f"no deadline runs on a hazard that is {hazard.state}", state=hazard.state)
    ext.state = "approved" if approve else "refused"
    ext.decided_by_id, ext.decided_at, ext.decision_note = actor.user_id, now, data.note
    old = hazard.deadline
    if approve:
        hazard.deadline = ext.requested_deadline
        hazard.updated_at = now
    kernel.record(
        session,
        WORKFLOW,
        hazard,
        actor,
        f"extension_{ext.state}",
        now=now,
        note=data.note,
        data={
            "extension_id": ext.id,
            "from": old.isoformat() if old else None,
            "to": hazard.deadline.isoformat() if hazard.deadline else None,
        },
        notify=True,
    )
    return ext
