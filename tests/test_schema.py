"""The committed schema artefacts match the code: migrations vs models, openapi.json vs the app."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hazard_registry.db import Base
from hazard_registry.main import document

ROOT = Path(__file__).resolve().parents[1]


def test_migrations_build_exactly_the_models(app):
    import hazard_registry.models  # noqa: F401  (registers every table on Base.metadata)

    with app.state.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], "models and migrations differ; add a migration (alembic revision --autogenerate)"


def test_openapi_document_is_committed_and_current():
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == document(), (
        "openapi/openapi.json is stale: run `hazard-registry openapi > openapi/openapi.json`"
    )
