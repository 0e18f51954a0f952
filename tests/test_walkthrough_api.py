"""Researcher URLs a new user tried (walk-through, H20): the stored-query list with the
``.json``/``.csv`` suffix every other researcher URL takes (``/queries.json`` was a 404)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(falkordb_data_dir: Path) -> Iterator[TestClient]:
    """The app on the session's embedded FalkorDB, empty graph: the list needs no data."""
    from impact_graph.api.app import create_app
    from impact_graph.config import Settings

    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="walk-api")
    with TestClient(create_app(settings, warm_up=False)) as c:
        yield c


def test_stored_query_list_as_json_and_csv(client: TestClient) -> None:
    listed = client.get("/queries").json()
    r = client.get("/queries.json")
    assert r.status_code == 200 and r.json() == listed
    r = client.get("/queries.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["name"] for row in rows] == [q["name"] for q in listed["queries"]]
    first = next(row for row in rows if row["name"] == "interventions_for_challenge")
    assert "challenge=concept" in first["params"] and "cypher" in first["languages"]
    assert first["csv"].endswith("/queries/interventions_for_challenge.csv")
    # The CSV link of a listed query answers as CSV.
    assert client.get(first["csv"].replace("http://testserver", "")).status_code == 200


def test_stored_sparql_binds_every_parameter() -> None:
    """Since f751383 a SPARQL token's match holds the blanks before it, and bind_sparql
    (which reads the same tokens) no longer saw ' $min_programmes' as a variable: the
    parameter stayed unbound, and the stored query answered nothing (notebook 02 failed
    'same answer: False'). Every packaged SPARQL query is bound whole again."""
    from impact_graph.queries.catalog import load_catalog
    from impact_graph.queries.run import bind_sparql
    from impact_graph.store.port import QuerySyntaxError

    text = bind_sparql("SELECT ?a WHERE { ?a ?b ?c } HAVING (?c >= $x)", {"x": 2})
    assert text.endswith('HAVING (?c >= "2"^^<http://www.w3.org/2001/XMLSchema#integer>)'), text
    with pytest.raises(QuerySyntaxError, match=r"uses \$x but no value"):
        bind_sparql("SELECT ?a WHERE { ?a ?b $x }", {})
    bound = 0
    for q in load_catalog():
        if not q.sparql or not q.params:
            continue
        try:
            params = q.bind({})
        except ValueError:  # a required parameter without a default: not this test's case
            continue
        text = bind_sparql(q.sparql, params, q.params)
        assert not any(f"${p.name}" in text for p in q.params), (q.name, text)
        bound += 1
    assert bound >= 5
