"""Property-based tests of ``GET /network`` and ``GET /network.html`` (schemathesis).

Generated valid and invalid parameter combinations must never give a 5xx, and every
answer must match the OpenAPI document (status codes, content types). Same store and
settings as ``tests/test_api_schemathesis.py``.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from tests.test_api import embedder as embedder  # the session fixture, shared
from tests.test_api_schemathesis import EXCLUDED, KEY, MAX_EXAMPLES
from tests.test_api_schemathesis import api_app as api_app  # the module fixture

OPERATIONS = ["GET /network", "GET /network.html"]


@pytest.mark.parametrize("method_path", OPERATIONS)
def test_network_routes_conform_to_their_schema(api_app: FastAPI, method_path: str) -> None:
    method, path = method_path.split(" ", 1)
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers={"X-API-Key": KEY}, excluded_checks=EXCLUDED)

    run()
