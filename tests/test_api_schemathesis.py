"""Property-based tests of the API against its own OpenAPI document (schemathesis).

Schemathesis generates valid and invalid requests for every operation from the OpenAPI
schema and checks the answers: no 5xx, status codes, content types and bodies as
documented. It runs on the embedded FalkorDB with the small real corpus of
``test_api``, a bounded number of examples per operation, and a valid write key, so the
upload and delete routes are exercised beyond the auth check.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from impact_graph.api import create_app
from impact_graph.api.auth import hash_key
from impact_graph.config import Settings
from tests.conftest import settings_for
from tests.test_api import embedder as embedder  # the session fixture, shared
from tests.test_api import ingest_corpus

KEY = "schemathesis-key"
#: Every operation the app documents (other routers mounted in create_app included).
OPERATIONS = sorted(
    f"{m.upper()} {p}"
    for p, ops in create_app(Settings(api_keys=""), warm_up=False).openapi()["paths"].items()
    for m in ops
)
MAX_EXAMPLES = 25
#: "Schema-valid data must be accepted" cannot hold for filters whose valid values are
#: the vocabulary's concepts (an unknown challenge is a 422 with a sentence by design).
EXCLUDED = [positive_data_acceptance]


@pytest.fixture(scope="module")
def api_app(
    request: pytest.FixtureRequest, tmp_path_factory, embedder, schema
) -> Iterator[FastAPI]:  # type: ignore[no-untyped-def]
    s = settings_for("falkordb", request).model_copy(
        update={"graph_name": "api-schemathesis", "api_keys": hash_key(KEY)}
    )
    ingest_corpus(s, embedder, schema, tmp_path_factory.mktemp("st-corpus"))
    app = create_app(s, embedder=embedder, warm_up=False)
    with TestClient(app):  # runs the lifespan: the store stays open for every case
        yield app


@pytest.mark.parametrize("method_path", OPERATIONS)
def test_api_conforms_to_its_schema(api_app: FastAPI, method_path: str) -> None:
    """Every operation: bounded examples, all of schemathesis's default checks."""
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
