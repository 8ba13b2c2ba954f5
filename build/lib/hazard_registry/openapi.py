"""The OpenAPI document as committed in openapi/openapi.json (a test fails when they drift)."""

from __future__ import annotations

from typing import Any


def document() -> dict[str, Any]:
    from hazard_registry.config import Settings
    from hazard_registry.main import create_app

    # An in-memory database: generating the document must not touch anyone's data.
    return create_app(Settings(database_url="sqlite://", jwt_secret="openapi")).openapi()
