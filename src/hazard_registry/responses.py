"""Answer with a pydantic model serialised once.

A route that returns a model has FastAPI dump it to a dict, validate the dict against ``response_model`` and
serialise the result: the same object checked three times. A model the service just validated goes out as
JSON directly; the route keeps ``response_model`` so the OpenAPI document is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import Response
from pydantic import BaseModel


def json_response(model: BaseModel, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json", headers=headers)
