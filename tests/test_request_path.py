"""What every request pays besides its own work: the garbage collector, the edge's layers (issue #12)."""

from __future__ import annotations

import gc

from hazard_registry import main


def test_a_started_app_has_frozen_what_it_built_and_collects_young_objects_less_often(client):
    """After the lifespan's start-up (the client fixture runs it) the modules, mappers and routes are in the
    permanent generation, so a full collection no longer walks them, and the youngest generation is collected
    per 10,000 new objects, not 700."""
    assert gc.get_freeze_count() > 50_000
    assert gc.get_threshold() == main.GC_THRESHOLDS
    assert gc.isenabled()
    assert client.get("/healthz").status_code == 200


def test_settling_the_collector_happens_once_per_process(client, monkeypatch):
    """A second app in the same process (the tests make several) does not collect and freeze again."""
    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(1) or 0)
    main.settle_gc()
    assert collected == []
