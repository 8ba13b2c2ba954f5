"""Business dates are China's dates at every hour: the edges where the machine's date and China's differ."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hazard_registry import clock
from tests.factories import hazard_body
from tests.flow import Flow

# 23:30 UTC on the 27th is 07:30 on the 28th in Beijing; 16:30 UTC on the 27th is 00:30 on the 28th.
EDGES = [datetime(2026, 11, 27, 23, 30, tzinfo=UTC), datetime(2026, 11, 27, 16, 30, tzinfo=UTC)]


@pytest.fixture
def at(world, time_machine):
    """Move the clock to an instant; the session's cached tokens were issued at another time, so drop them."""

    def move(instant: datetime) -> None:
        time_machine.move_to(instant, tick=True)
        world.tokens.clear()

    yield move
    world.tokens.clear()


@pytest.mark.parametrize("instant", EDGES, ids=["07:30 Beijing", "00:30 Beijing"])
def test_a_hazard_found_today_in_china_can_be_reported_before_8am(client, world, at, instant):
    at(instant)
    assert clock.today_in_china() == date(2026, 11, 28)
    flow = Flow(client, world)
    r = client.post("/api/v1/hazards", headers=flow.h("ent_chem"), json=hazard_body(world, found_at="2026-11-28"))
    assert r.status_code == 201, r.text
    assert r.json()["found_at"] == "2026-11-28"


@pytest.mark.parametrize("instant", EDGES, ids=["07:30 Beijing", "00:30 Beijing"])
def test_a_deadline_of_yesterday_in_china_is_refused(client, world, at, instant):
    at(instant)
    flow = Flow(client, world)
    hazard = flow.report()
    yesterday = clock.today_in_china() - timedelta(days=1)  # 2026-11-27: still "today" by the UTC date
    r = flow.act(hazard, "officer", "assign", officer_id=world.ids["officer"], deadline=yesterday.isoformat())
    assert r.status_code == 409 and r.json()["code"] == "deadline_in_past"
    today = clock.today_in_china().isoformat()
    assigned = flow.ok(hazard, "officer", "assign", officer_id=world.ids["officer"], deadline=today)
    assert assigned["deadline"] == today and assigned["overdue"] is False
