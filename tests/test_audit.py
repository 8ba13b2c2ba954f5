"""The history is evidence (安全生产法 art. 102, 113): edits behind the service's back are caught."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hazard_registry.hazards.audit import event_hash, verify_chains
from hazard_registry.hazards.models import HazardEvent
from tests.flow import Flow
from tests.guards import guard_off


@contextmanager
def behind_the_service(engine):
    """A connection that writes directly to the tables, with the append-only triggers switched off the way
    only someone holding the database's keys could."""
    with engine.begin() as conn, guard_off(conn):
        yield conn


def _two_hazards(client, world):
    flow = Flow(client, world)
    first = flow.to_state("verified")
    second = flow.to_state("rectifying")
    return first, second


def test_an_intact_history_verifies(client, world, audit_cli):
    _two_hazards(client, world)
    code, out = audit_cli()
    assert code == 0 and "intact" in out


def test_an_edited_event_is_reported(client, world, app, db, audit_cli):
    first, second = _two_hazards(client, world)
    with behind_the_service(app.state.engine) as conn:
        conn.execute(
            text("UPDATE hazard_events SET note = 'nothing happened' WHERE hazard_id = :h AND seq = 2"),
            {"h": first["id"]},
        )
    breaks = list(verify_chains(db))
    assert [(b.hazard_id, b.seq) for b in breaks] == [(first["id"], 2)]
    assert "edited" in breaks[0].reason
    code, out = audit_cli()
    assert code == 1 and f"hazard {first['id']} " in out and f"hazard {second['id']} " not in out
    code, out = audit_cli("--hazard", str(second["id"]))
    assert code == 0


def test_a_removed_or_rehashed_event_is_reported(client, world, app, db):
    first, second = _two_hazards(client, world)
    with behind_the_service(app.state.engine) as conn:
        conn.execute(text("DELETE FROM hazard_events WHERE hazard_id = :h AND seq = 3"), {"h": first["id"]})
        # A forger who recomputes the edited event's own hash still breaks the link to the next one.
        row = conn.execute(
            text("SELECT id FROM hazard_events WHERE hazard_id = :h AND seq = 2"), {"h": second["id"]}
        ).scalar_one()
    with app.state.sessionmaker() as s:
        ev = s.get(HazardEvent, row)
        forged = HazardEvent(**{c.key: getattr(ev, c.key) for c in HazardEvent.__table__.columns})
        forged.note = "forged"
        new_hash = event_hash(forged)
    with behind_the_service(app.state.engine) as conn:
        conn.execute(
            text("UPDATE hazard_events SET note = 'forged', hash = :x WHERE id = :id"), {"x": new_hash, "id": row}
        )
    found = {b.hazard_id: b for b in verify_chains(db)}
    assert found[first["id"]].seq == 4 and "removed" in found[first["id"]].reason
    assert found[second["id"]].seq == 3 and "previous" in found[second["id"]].reason


def test_the_service_itself_cannot_rewrite_history(client, world, app):
    hazard = Flow(client, world).to_state("assigned")
    with app.state.sessionmaker() as s:
        ev = s.query(HazardEvent).filter_by(hazard_id=hazard["id"]).first()
        ev.note = "rewritten"
        with pytest.raises(RuntimeError, match="append-only"):
            s.flush()
    if app.state.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), app.state.engine.begin() as conn:
            conn.execute(text("DELETE FROM hazard_events WHERE hazard_id = :h"), {"h": hazard["id"]})
