"""Hostile SPARQL: each query gets a clear 4xx problem (or a capped 200) and the server
answers a normal query right after. Runs against the real app and a real Oxigraph view.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from impact_graph.config import Settings
from tests.test_sparql_http import ROW_CAP, build_settings

CROSS4 = "?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l"

# (name, query, expected status, a word the problem detail must contain)
HOSTILE: list[tuple[str, str, int, str]] = [
    # syntax, with line and column
    ("syntax-error", "SELECT * WHERE {\n  ?s ?p \n", 400, "line 3, column"),
    ("syntax-bad-filter", "SELECT * WHERE { ?s ?p ?o FILTER( }", 400, "column"),
    ("unknown-prefix", "SELECT * WHERE { ?s foo:bar ?o }", 400, "unknown prefix 'foo:'"),
    ("unknown-prefix-line2", "SELECT *\nWHERE { ?s ex:p ?o }", 400, "line 2"),
    ("empty", "   ", 400, "query"),
    ("no-form", "PREFIX x: <http://x/>", 400, "SELECT, ASK"),
    ("nul-byte", "SELECT * WHERE { ?s ?p ?o }\x00", 400, "NUL"),
    ("too-long", "SELECT * WHERE { ?s ?p ?o } #" + "x" * 100_001, 400, "characters"),
    ("deep-nesting", "SELECT * WHERE " + "{ " * 500 + "}" * 500, 400, "nests"),
    # writes in disguise
    ("insert-data", "INSERT DATA { <urn:a> <urn:b> <urn:c> }", 400, "read-only"),
    ("delete-where", "DELETE WHERE { ?s ?p ?o }", 400, "read-only"),
    ("drop-all", "DROP ALL", 400, "read-only"),
    ("clear-default", "CLEAR DEFAULT", 400, "read-only"),
    ("load", "LOAD <http://example.org/data.ttl>", 400, "read-only"),
    ("create-graph", "CREATE GRAPH <urn:g>", 400, "read-only"),
    ("copy-move-add", "COPY DEFAULT TO <urn:g>", 400, "read-only"),
    ("with-delete", "WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", 400, "read-only"),
    (
        "select-then-insert",
        "SELECT * {} ; INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        400,
        "read-only",
    ),
    ("lowercase-insert", "prefix x: <urn:x>\ninsert data { x:a x:b x:c }", 400, "read-only"),
    ("escaped-insert", "\\u0049NSERT DATA { <urn:a> <urn:b> <urn:c> }", 400, "read-only"),
    # federation
    (
        "service",
        "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
        400,
        "SERVICE",
    ),
    ("service-silent", "SELECT * { SERVICE SILENT <http://x/> { ?s ?p ?o } }", 400, "SERVICE"),
    (
        "service-after-comment",
        "SELECT * {\n# hi\n service <http://x/> {?s ?p ?o} }",
        400,
        "SERVICE",
    ),
    ("escaped-service", "SELECT * { \\u0053ERVICE <http://x/> { ?s ?p ?o } }", 400, "SERVICE"),
    ("service-variable", "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }", 400, "SERVICE"),
    # past the time limit (the worker is killed)
    ("cartesian-count", f"SELECT (COUNT(*) AS ?n) WHERE {{ {CROSS4} }}", 422, "time limit"),
    ("cartesian-order", f"SELECT * WHERE {{ {CROSS4} }} ORDER BY ?a ?f ?l", 422, "time limit"),
    (
        "cartesian-distinct-count",
        f"SELECT (COUNT(DISTINCT ?a) AS ?n) {{ {CROSS4} }}",
        422,
        "time limit",
    ),
    (
        "cartesian-group",
        f"SELECT ?a (COUNT(*) AS ?n) {{ {CROSS4} }} GROUP BY ?a",
        422,
        "time limit",
    ),
    # negotiation
    ("construct-as-csv", "CONSTRUCT WHERE { ?s ?p ?o }&format=csv", 406, "format"),
]

# Queries that must succeed, capped (huge results, harmless look-alikes).
CAPPED: list[tuple[str, str]] = [
    ("everything", "SELECT * WHERE { ?s ?p ?o }"),
    ("cartesian-streamed", "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"),
    ("describe-everything", "DESCRIBE ?s WHERE { ?s ?p ?o }"),
    ("construct-everything", "CONSTRUCT WHERE { ?s ?p ?o }"),
    ("huge-limit", "SELECT * WHERE { ?s ?p ?o } LIMIT 99999999999"),
]
HARMLESS: list[tuple[str, str]] = [
    ("keyword-in-string", "SELECT * WHERE { ?s ?p 'DROP ALL; INSERT DATA {}' }"),
    ("keyword-in-comment", "SELECT * WHERE { ?s ?p ?o } LIMIT 1 # INSERT DATA SERVICE"),
    ("keyword-in-iri", "SELECT * WHERE { <http://x/service/insert> ?p ?o }"),
    ("keyword-as-variable", "SELECT ?service ?insert WHERE { ?service ?insert ?o } LIMIT 1"),
    ("keyword-as-local-name", "PREFIX ex: <http://x/> SELECT * WHERE { ?s ex:insert ex:service }"),
    ("regex-backtracking", "SELECT * WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), '(a+)+$')) } LIMIT 5"),
    ("from-remote-iri", "SELECT * FROM <http://example.org/remote.ttl> WHERE { ?s ?p ?o }"),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from impact_graph.api import create_app

    settings: Settings = build_settings(tmp_path_factory.mktemp("hostile"), timeout_s=1.0)
    return TestClient(create_app(settings, warm_up=False))


def still_alive(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "ASK { ?s a ig:Intervention }"})
    assert r.status_code == 200 and r.json()["boolean"] is True


def test_the_hostile_list_is_long_enough() -> None:
    assert len(HOSTILE) + len(CAPPED) + len(HARMLESS) >= 30


@pytest.mark.parametrize(("name", "query", "status", "word"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_query_gets_a_clear_problem(
    client: TestClient, name: str, query: str, status: int, word: str
) -> None:
    query, _, fmt = query.partition("&format=")
    params = {"query": query, **({"format": fmt} if fmt else {})}
    # Long queries go as a POST body (a URL that long is refused by real servers).
    r = client.post("/sparql", data=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert word in detail
    assert "Traceback" not in detail
    still_alive(client)


@pytest.mark.parametrize(("name", "query"), CAPPED, ids=[c[0] for c in CAPPED])
def test_huge_results_are_capped_and_reported(client: TestClient, name: str, query: str) -> None:
    r = client.post(
        "/sparql",
        data={
            "query": query,
            "format": "nt" if "CONSTRUCT" in query or "DESCRIBE" in query else "json",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-truncated"] == "true"
    if r.headers["content-type"].startswith("application/sparql-results+json"):
        assert len(r.json()["results"]["bindings"]) == ROW_CAP
    else:
        assert len(r.text.strip().splitlines()) == ROW_CAP


@pytest.mark.parametrize(("name", "query"), HARMLESS, ids=[h[0] for h in HARMLESS])
def test_look_alikes_are_not_refused(client: TestClient, name: str, query: str) -> None:
    r = client.get("/sparql", params={"query": query})
    assert r.status_code == 200, r.text


def test_update_routes_are_refused(client: TestClient) -> None:
    r = client.post(
        "/sparql",
        content=b"INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        headers={"Content-Type": "application/sparql-update"},
    )
    assert r.status_code == 400 and "read-only" in r.json()["detail"]
    r = client.post("/sparql", data={"update": "DROP ALL"})
    assert r.status_code == 400 and "read-only" in r.json()["detail"]
    r = client.get("/sparql", params={"update": "DROP ALL"})
    assert r.status_code == 400
    r = client.post("/sparql", content=b"SELECT * {}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "image/png"})
    assert r.status_code == 406
    still_alive(client)


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("SELECT *\n   WHERE { ?s  ex:p ?o }", "'ex:' at line 2, column 16"),
        ("  \n\n\t  INSERT DATA { <urn:a> <urn:b> <urn:c> }", "'INSERT' at line 3, column 4"),
        (
            "SELECT * WHERE {\n  # SERVICE\n     SERVICE <urn:x> {} }",
            "line 3, column 6",
        ),
        ("SELECT * WHERE {  " + "{ " * 101 + "}" * 101 + " }", "line 1, column 217"),
    ],
)
def test_positions_name_the_token_not_the_blanks_before_it(query: str, where: str) -> None:
    """The check reads each token together with the blanks before it (`sparql._CHECK_TOKEN`),
    so the line and column it reports must still be the token's own."""
    from impact_graph.ontology import load_schema
    from impact_graph.rdf.mapping import default_prefixes
    from impact_graph.rdf.sparql import analyse
    from impact_graph.store.port import QueryRefused, QuerySyntaxError

    with pytest.raises((QueryRefused, QuerySyntaxError)) as e:
        analyse(query, default_prefixes(load_schema()))
    assert where in str(e.value)
