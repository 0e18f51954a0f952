"""Hostile queries a new researcher tried on ``make demo`` (walk-through H38, session 9),
beyond tests/test_hostile_cypher.py and tests/test_sparql_hostile.py.

Each one was first sent to a running demo server with curl and answered as asserted here;
here they go to the real app in-process (TestClient) over a real store: the demo corpus on
each backend for Cypher (`demo_graph`), an Oxigraph view for SPARQL. Every hostile request
must get a 4xx problem+json sentence (never a 500 or a stack trace), leave the graph as it
was, and the next ordinary query must be answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from impact_graph.config import Settings
from tests.test_hostile_cypher import fingerprint
from tests.test_same_facts import DemoGraph, demo_graph  # noqa: F401 - shared fixture
from tests.test_sparql_http import build_settings

TIMEOUT_S = 1.5
ROW_CAP = 50
JSON_TYPE = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Case:
    id: str
    body: bytes
    #: The statuses allowed (a store may call a refused thing a syntax error).
    status: tuple[int, ...]
    #: Words the problem's detail must contain (what was wrong, or what to do).
    words: tuple[str, ...] = ()
    headers: dict[str, str] | None = None


def cypher(query: str, **extra: Any) -> bytes:
    return json.dumps({"query": query, **extra}).encode()


CYPHER: list[Case] = [
    # Writes behind a prefix or a second part: PROFILE runs the query it profiles.
    Case("profile-create", cypher("PROFILE CREATE (n:Hack) RETURN n"), (400,), ("CREATE",)),
    Case("explain-merge", cypher("EXPLAIN MERGE (n:Hack {id: 'x'})"), (400,), ("MERGE",)),
    Case(
        "union-then-create",
        cypher(
            "MATCH (n:Programme) RETURN n.id AS x UNION CREATE (m:Hack {id: 'u'}) RETURN m.id AS x"
        ),
        (400,),
        ("CREATE",),
    ),
    # Index-making procedures (FalkorDB's own spelling): writes to the schema.
    Case(
        "fulltext-create-index",
        cypher("CALL db.idx.fulltext.createNodeIndex('Hack', 'name')"),
        (400,),
        ("read-only",),
    ),
    Case(
        "vector-create-index",
        cypher("CALL db.idx.vector.createNodeIndex('Hack', 'v', 3, 'euclidean')"),
        (400,),
        ("read-only",),
    ),
    # Runaway reads: stopped at the time limit.
    Case("bounded-deep-paths", cypher("MATCH p = (a)-[*1..14]-(b) RETURN count(p)"), (422,)),
    Case(
        "all-shortest-paths",
        cypher(
            "MATCH (a), (b) WHERE a <> b WITH a, b "
            "MATCH p = allShortestPaths((a)-[*]-(b)) RETURN count(p)"
        ),
        (400, 422),
    ),
    # Numbers no store takes.
    Case("skip-overflow", cypher("MATCH (n) RETURN n.id SKIP 99999999999999999999"), (400,)),
    Case("negative-limit", cypher("MATCH (n) RETURN n.id LIMIT -1"), (400,)),
    # Malformed requests.
    Case(
        "parameter-name-with-cypher",
        cypher("RETURN 1", params={"x} CREATE (:Hack) //": 1}),
        (400,),
        ("parameter",),
    ),
    Case(
        "non-utf8-json-body",
        b'{"query": "MATCH (n) RETURN \xff"}',
        (400,),
        ("JSON",),
    ),
    Case(
        "xml-body",
        b"<query>MATCH (n) RETURN n</query>",
        (415,),
        ("application/json",),
        {"Content-Type": "application/xml"},
    ),
]


@pytest.mark.parametrize("case", CYPHER, ids=[c.id for c in CYPHER])
def test_hostile_cypher_gets_a_4xx_sentence(
    demo_graph: DemoGraph,  # noqa: F811
    case: Case,
) -> None:
    client = demo_graph.client(timeout_s=TIMEOUT_S, row_cap=ROW_CAP)
    before = fingerprint(demo_graph.store)
    r = client.post("/cypher", content=case.body, headers=case.headers or JSON_TYPE)
    assert r.status_code in case.status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert detail.endswith((".", ")", "?")) and "Traceback" not in detail, detail
    for word in case.words:
        assert word in detail, detail
    ok = client.get("/cypher", params={"query": "MATCH (n:Programme) RETURN count(n) AS n"})
    assert ok.status_code == 200 and ok.json()["rows"][0][0] > 0
    assert fingerprint(demo_graph.store) == before


SPARQL_QUERY = {"Content-Type": "application/sparql-query"}

SPARQL: list[Case] = [
    # Runaway reads: a closure over every predicate, and a string the size of a cross
    # product; both stop at the time limit (the worker is killed).
    Case(
        "property-path-closure",
        b"SELECT (COUNT(*) AS ?n) WHERE { ?a (!<urn:x:none>)* ?b . ?c (!<urn:x:none>)* ?d }",
        (422,),
        ("time limit",),
    ),
    Case(
        "group-concat-cross-product",
        b"SELECT (STRLEN(GROUP_CONCAT(STR(?o))) AS ?n) WHERE { ?a ?b ?c . ?s ?p ?o . ?x ?y ?z }",
        (422,),
        ("time limit",),
    ),
    # Numbers the grammar does not take: a syntax error with its position.
    Case(
        "offset-overflow",
        b"SELECT * WHERE { ?s ?p ?o } OFFSET 99999999999999999999999",
        (400,),
        ("column",),
    ),
    Case("negative-limit", b"SELECT * WHERE { ?s ?p ?o } LIMIT -1", (400,), ("column",)),
    # Update and federation in disguise.
    Case(
        "load-after-select",
        b"SELECT * WHERE { ?s ?p ?o } LIMIT 1 ; LOAD <file:///etc/passwd>",
        (400,),
        ("read-only", "LOAD"),
    ),
    Case(
        "service-bound-by-values",
        b"SELECT * WHERE { VALUES ?e { <http://example.org/sparql> } SERVICE ?e { ?s ?p ?o } }",
        (400,),
        ("SERVICE",),
    ),
    # Malformed requests.
    Case(
        "non-utf8-form",
        b"query=SELECT%20%FF%20WHERE%20%7B%7D",
        (400,),
        ("syntax",),
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "json-body",
        json.dumps({"query": "SELECT * {}"}).encode(),
        (415,),
        ("application/sparql-query",),
        JSON_TYPE,
    ),
    Case(
        "accept-with-bad-weights",
        b"SELECT * WHERE { ?s ?p ?o } LIMIT 1",
        (406,),
        ("accept",),
        {**SPARQL_QUERY, "Accept": "text/csv;q=abc, */*;q=nope"},
    ),
]


@pytest.fixture(scope="module")
def sparql_client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from impact_graph.api import create_app

    settings: Settings = build_settings(tmp_path_factory.mktemp("walk-hostile"), timeout_s=1.0)
    return TestClient(create_app(settings, warm_up=False))


def _triples(client: TestClient) -> int:
    r = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize("case", SPARQL, ids=[c.id for c in SPARQL])
def test_hostile_sparql_gets_a_4xx_sentence(sparql_client: TestClient, case: Case) -> None:
    before = _triples(sparql_client)
    r = sparql_client.post("/sparql", content=case.body, headers=case.headers or SPARQL_QUERY)
    assert r.status_code in case.status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert "Traceback" not in detail
    for word in case.words:
        assert word in detail, detail
    assert _triples(sparql_client) == before


def test_a_second_query_parameter_is_checked_too(sparql_client: TestClient) -> None:
    """``?query=ASK{}&query=INSERT ...``: the query that would run is the one checked."""
    r = sparql_client.get(
        "/sparql?query=ASK%7B%7D&query=INSERT%20DATA%20%7B%3Curn:a%3E%20%3Curn:b%3E%20%3Curn:c%3E%7D"
    )
    assert r.status_code == 400 and "read-only" in r.json()["detail"], r.text


def test_describe_of_a_file_iri_reads_no_file(sparql_client: TestClient) -> None:
    """A file: IRI is only a name: DESCRIBE answers what the view says about it (nothing)."""
    r = sparql_client.post(
        "/sparql", content=b"DESCRIBE <file:///etc/passwd>", headers=SPARQL_QUERY
    )
    assert r.status_code == 200, r.text
    assert "root:" not in r.text and not r.text.strip()


def test_a_string_past_the_memory_limit_is_stopped(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Ten-fold CONCATs build a 2 GB string in one row: the worker's memory limit (here
    1 GB) stops it, with a 4xx sentence, and the next query is answered."""
    from impact_graph.api import create_app

    settings = build_settings(tmp_path_factory.mktemp("walk-memory"), timeout_s=10.0)
    # The app's lifespan starts an embedded FalkorDB in the data dir: stop it with the app.
    settings = settings.model_copy(
        update={"rdf_query_memory_mb": 1024, "falkordb_stop_on_close": True}
    )
    names = "abcdefghij"
    binds = " ".join(
        f"BIND(CONCAT({','.join(['?' + names[i]] * 10)}) AS ?{names[i + 1]})" for i in range(8)
    )
    seed = 'BIND(CONCAT("aaaaaaaaaa", "aaaaaaaaaa") AS ?a)'
    query = f"SELECT (STRLEN(?i) AS ?n) WHERE {{ {seed} {binds} }}"
    with TestClient(create_app(settings, warm_up=False)) as client:
        r = client.post("/sparql", content=query.encode(), headers=SPARQL_QUERY)
        assert 400 <= r.status_code < 500, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "Traceback" not in r.json()["detail"]
        assert _triples(client) > 0


def test_stored_sparql_parameter_cannot_break_out(sparql_client: TestClient) -> None:
    """A stored query's parameter goes in as a literal: quotes and braces in it neither
    break the query nor run anything (the view holds as many triples afterwards)."""
    before = _triples(sparql_client)
    r = sparql_client.get(
        "/queries/evidence_for_intervention.json",
        params={"intervention": 'x" } ; DROP ALL ; SELECT * { "', "lang": "sparql"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["row_count"] == 0
    assert _triples(sparql_client) == before
