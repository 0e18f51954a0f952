"""Deeply nested JSON sent to /cypher (walk-through H38): Python's json gives up past
~1,000 levels with a RecursionError, not a JSONDecodeError, and that answered a 500 for
the POST body and for GET's ``params=`` alike. Now a 4xx sentence, and the next query runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(falkordb_data_dir: Path) -> Iterator[TestClient]:
    """The app on the session's embedded FalkorDB, empty graph: no data is needed."""
    from impact_graph.api.app import create_app
    from impact_graph.config import Settings

    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="walk-json")
    with TestClient(create_app(settings, warm_up=False)) as c:
        yield c


DEEP_BODY = b'{"query": "RETURN $x", "params": {"x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}"
DEEP_PARAMS = '{"x": ' + "[" * 5_000 + "]" * 5_000 + "}"


def test_deep_json_body_is_a_400_sentence(client: TestClient) -> None:
    r = client.post("/cypher", content=DEEP_BODY, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "too deeply" in r.json()["detail"]
    assert client.get("/cypher", params={"query": "RETURN 1 AS one"}).status_code == 200


def test_deep_json_params_in_the_url_is_a_422_sentence(client: TestClient) -> None:
    r = client.get("/cypher", params={"query": "RETURN $x", "params": DEEP_PARAMS})
    assert r.status_code == 422, r.text
    assert "params" in r.json()["detail"] and "too deeply" in r.json()["detail"]
    assert client.get("/cypher", params={"query": "RETURN 1 AS one"}).status_code == 200
