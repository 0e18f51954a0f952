"""Runaway SPARQL queries in a row each stop at the time limit (walk-through H38).

A killed query worker is replaced at once, and the replacement opens the store at start
(`_worker.Worker.open_if_free`). Its first query's answer was then its first message, which
the parent waits for with the start-up allowance (wait_s + 60 s), not the time limit: on
``make demo`` the runaway query after a runaway query took 65 s on a 5 s limit, so two
researchers alternating runaway queries held the workers 13 times as long as allowed.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.test_sparql_http import build_settings

CLOSURE = b"SELECT (COUNT(*) AS ?n) WHERE { ?a (!<urn:x:none>)* ?b . ?c (!<urn:x:none>)* ?d }"
SPARQL_QUERY = {"Content-Type": "application/sparql-query"}


def _triples(client: TestClient) -> int:
    r = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def test_runaway_queries_in_a_row_each_stop_at_the_time_limit(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from impact_graph.api import create_app

    settings = build_settings(tmp_path_factory.mktemp("walk-in-a-row"), timeout_s=1.0)
    # The app's lifespan starts an embedded FalkorDB in the data dir: stop it with the app.
    settings = settings.model_copy(update={"falkordb_stop_on_close": True})
    with TestClient(create_app(settings, warm_up=False)) as client:
        assert _triples(client) > 0
        for _ in range(3):
            start = time.monotonic()
            r = client.post("/sparql", content=CLOSURE, headers=SPARQL_QUERY)
            took = time.monotonic() - start
            assert r.status_code == 422, r.text
            # The limit plus room for a loaded machine; the start-up allowance is 61 s.
            assert took < 20, f"the runaway query was stopped after {took:.1f} s, not ~1 s"
        assert _triples(client) > 0
