"""``/sparql`` and ``/ontology`` over real HTTP: SPARQLWrapper, curl, content negotiation.

The app is the real `create_app`, served by uvicorn on a free port; the RDF view is a real
Oxigraph on disk filled through the view's own write path.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from impact_graph.config import Settings
from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import OxigraphView, view_dir
from tests.factories import doc_batch

ROW_CAP = 50


def build_settings(data_dir: Path, timeout_s: float = 1.5) -> Settings:
    """A data dir whose RDF view holds the ontology and three documents."""
    settings = Settings(
        data_dir=data_dir, query_timeout_s=timeout_s, query_row_cap=ROW_CAP, rdf="oxigraph"
    )
    view = OxigraphView(view_dir(settings), RdfMapping(load_schema()))
    view.setup()
    view.write_batch(
        doc_batch(
            "a.md",
            [("Intervention", "Welzijn op Recept"), ("Challenge", "eenzaamheid")],
            [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")],
        )
    )
    view.write_batch(doc_batch("b.md", [("Intervention", "Welzijn op Recept")]))
    view.write_batch(doc_batch("c.md", [("Actor", "Gemeente Utrecht"), ("Area", "Utrecht")]))
    return settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_settings(tmp_path_factory.mktemp("sparql"))


@pytest.fixture(scope="module")
def client(settings: Settings) -> TestClient:
    from impact_graph.api import create_app

    return TestClient(create_app(settings, warm_up=False))


@pytest.fixture(scope="module")
def base_url(settings: Settings) -> Iterator[str]:
    import uvicorn

    from impact_graph.api import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, warm_up=False),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


SELECT_WOR = (
    "SELECT ?name ?src WHERE { ?i a ig:Intervention ; ig:name ?name ; ig:sources ?src } "
    "ORDER BY ?src"
)


# --- SPARQLWrapper ---------------------------------------------------------------------


def test_sparqlwrapper_select_json_and_xml(base_url: str) -> None:
    from SPARQLWrapper import JSON, XML, SPARQLWrapper

    sw = SPARQLWrapper(base_url + "/sparql")
    sw.setQuery(SELECT_WOR)
    sw.setReturnFormat(JSON)
    rows = sw.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    assert [(r["name"]["value"], r["src"]["value"]) for r in rows] == [
        ("Welzijn op Recept", "document:a-md"),
        ("Welzijn op Recept", "document:b-md"),
    ]
    sw.setReturnFormat(XML)
    sw.setMethod("POST")
    doc = sw.queryAndConvert()  # an xml.dom document
    names = [n.firstChild.data for n in doc.getElementsByTagName("literal")]  # type: ignore[union-attr]
    assert "Welzijn op Recept" in names


def test_sparqlwrapper_ask_and_construct(base_url: str) -> None:
    from SPARQLWrapper import JSON, TURTLE, SPARQLWrapper

    sw = SPARQLWrapper(base_url + "/sparql")
    sw.setQuery("ASK { ?i ig:addresses ?c }")
    sw.setReturnFormat(JSON)
    assert sw.queryAndConvert()["boolean"] is True  # type: ignore[index]
    sw.setQuery("CONSTRUCT { ?i ig:addresses ?c } WHERE { ?i ig:addresses ?c }")
    sw.setReturnFormat(TURTLE)
    data = sw.queryAndConvert()
    triples = list(ox.parse(data, format=ox.RdfFormat.TURTLE))  # type: ignore[arg-type]
    assert len(triples) == 1
    assert triples[0].object.value.endswith("challenge:eenzaamheid")  # type: ignore[union-attr]


# --- curl ----------------------------------------------------------------------------


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "-i", *args], capture_output=True, text=True, timeout=30, check=False
    )


def split(resp: subprocess.CompletedProcess[str]) -> tuple[int, dict[str, str], str]:
    head, _, body = resp.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return status, headers, body


def test_curl_get_post_form_and_sparql_query_body(base_url: str) -> None:
    url = base_url + "/sparql"
    status, headers, body = split(
        curl("-G", url, "--data-urlencode", f"query={SELECT_WOR}", "-H", "Accept: text/csv")
    )
    assert status == 200 and headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["name", "src"] and len(rows) == 3

    status, headers, body = split(
        curl(
            url,
            "--data-urlencode",
            f"query={SELECT_WOR}",
            "-H",
            "Accept: text/tab-separated-values",
        )
    )
    assert status == 200 and body.splitlines()[0] == "?name\t?src"

    status, headers, body = split(
        curl(
            url,
            "-H",
            "Content-Type: application/sparql-query",
            "-H",
            "Accept: application/sparql-results+json",
            "--data-binary",
            SELECT_WOR,
        )
    )
    assert status == 200
    assert len(json.loads(body)["results"]["bindings"]) == 2
    assert headers["x-truncated"] == "false" and headers["x-row-cap"] == str(ROW_CAP)


def test_curl_construct_in_turtle_jsonld_and_ntriples(base_url: str) -> None:
    q = "CONSTRUCT { ?s ig:name ?n } WHERE { ?s a ig:Intervention ; ig:name ?n }"
    for accept, fmt in [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ]:
        status, headers, body = split(
            curl(
                "-G",
                base_url + "/sparql",
                "--data-urlencode",
                f"query={q}",
                "-H",
                f"Accept: {accept}",
            )
        )
        assert status == 200, body
        assert headers["content-type"].startswith(accept)
        triples = list(ox.parse(body.encode(), format=fmt))
        assert [t.object.value for t in triples] == ["Welzijn op Recept"]  # type: ignore[union-attr]


def test_curl_hostile_query_gets_a_problem_and_the_server_lives(base_url: str) -> None:
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    status, headers, body = split(
        curl("-G", base_url + "/sparql", "--data-urlencode", f"query={q}")
    )
    assert status == 422
    assert headers["content-type"].startswith("application/problem+json")
    assert "time limit" in json.loads(body)["detail"]
    status, _, _ = split(curl("-G", base_url + "/sparql", "--data-urlencode", "query=ASK {}"))
    assert status == 200


# --- negotiation, row cap, edge properties (TestClient) ----------------------------------


def test_row_cap_is_applied_and_reported(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert r.status_code == 200
    assert len(r.json()["results"]["bindings"]) == ROW_CAP
    assert r.headers["x-truncated"] == "true"


def test_format_parameter_and_defaults(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "ASK {}", "format": "xml"})
    assert r.status_code == 200 and "<boolean>true</boolean>" in r.text
    r = client.get(
        "/sparql", params={"query": "DESCRIBE <https://w3id.org/impact-graph/id/area:utrecht>"}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    assert "Utrecht" in r.text


def test_edge_properties_are_queryable(client: TestClient) -> None:
    q = (
        "SELECT ?start ?end ?src WHERE { << ?c ig:mentions ?e ~ ?r >> ig:start ?start ; "
        "ig:end ?end ; ig:sources ?src . ?e ig:name 'eenzaamheid' }"
    )
    r = client.post("/sparql", data={"query": q})
    assert r.status_code == 200, r.text
    rows = r.json()["results"]["bindings"]
    assert [(b["start"]["value"], b["end"]["value"], b["src"]["value"]) for b in rows] == [
        ("18", "29", "document:a-md")
    ]


def test_vocabularies_are_in_the_view(client: TestClient) -> None:
    q = (
        "SELECT ?alt WHERE { ?c skos:prefLabel 'eenzaamheid'@nl ; skos:altLabel ?alt . "
        "FILTER(LANG(?alt) = 'nl') }"
    )
    alts = {
        b["alt"]["value"]
        for b in client.get("/sparql", params={"query": q}).json()["results"]["bindings"]
    }
    assert "sociaal isolement" in alts


# --- /ontology -------------------------------------------------------------------------


def test_ontology_as_turtle_jsonld_and_escaped_html(client: TestClient) -> None:
    r = client.get("/ontology", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    triples = list(ox.parse(r.content, format=ox.RdfFormat.TURTLE))
    classes = {
        t.subject.value for t in triples if t.object.value == "http://www.w3.org/2002/07/owl#Class"
    }  # type: ignore[union-attr]
    assert "https://w3id.org/impact-graph/ontology#Intervention" in classes
    r = client.get("/ontology", params={"format": "jsonld"})
    assert r.status_code == 200 and len(
        list(ox.parse(r.content, format=ox.RdfFormat.JSON_LD))
    ) == len(triples)
    r = client.get("/ontology", headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert (
        "Intervention" in r.text and "PARTICIPATES_IN" in r.text and "sociaal isolement" in r.text
    )
    assert "<script" not in r.text
    # Quotes in definitions are escaped, not emitted raw into the markup.
    assert "&#39;" in r.text or "&#34;" in r.text
    assert client.get("/ontology", headers={"Accept": "image/png"}).status_code == 406


# --- the query worker pool ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_workers_are_reused_see_later_writes_and_are_replaced_after_a_timeout(
    tmp_path: Path, method: str
) -> None:
    """The endpoint's long-lived workers (no process per query) see a document written
    after they opened the store, make a held writer let go, and a worker killed at the
    time limit is replaced while the others keep answering. GET runs the query from a
    worker thread (the synchronous route), POST waits for it on the event loop
    (`OxigraphView.run_query_async`): both must do all of this."""
    from impact_graph.api import create_app

    settings = build_settings(tmp_path / "pool", timeout_s=1.0)
    q = "SELECT ?name WHERE { ?i a ig:Intervention ; ig:name ?name }"
    c = TestClient(create_app(settings, warm_up=False))  # no lifespan: the view alone

    def ask(query: str) -> Any:
        if method == "GET":
            return c.get("/sparql", params={"query": query})
        return c.post("/sparql", data={"query": query})

    def names() -> set[str]:
        r = ask(q)
        assert r.status_code == 200, r.text
        return {b["name"]["value"] for b in r.json()["results"]["bindings"]}

    assert names() == {"Welzijn op Recept"}
    view = c.app.state.rdf_view  # type: ignore[attr-defined]
    pids = view.query_worker_pids
    assert pids, "the endpoint should have started its query workers"
    assert names() == {"Welzijn op Recept"}
    assert view.query_worker_pids == pids  # reused, not one process per query

    # An ingest elsewhere writes a new document and keeps its writer open.
    writer = OxigraphView(view_dir(settings), RdfMapping(load_schema()), idle_release_s=600)
    try:
        writer.write_batch(doc_batch("d.md", [("Intervention", "Buurtgezinnen")]))
        assert writer.holds_writer
        assert names() == {"Welzijn op Recept", "Buurtgezinnen"}
        assert not writer.holds_writer  # it let go for the query
        assert view.query_worker_pids == pids
    finally:
        writer.close()

    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    started = time.monotonic()
    r = ask(slow)
    assert r.status_code == 422 and "time limit" in r.json()["detail"]
    assert time.monotonic() - started < 10  # stopped near its 1 s limit, not run out
    # The runaway one is replaced; the replacement starts in a thread (not on the event
    # loop, nor in the answer's path), so it may come a moment after the 422.
    deadline = time.monotonic() + 10
    after = view.query_worker_pids
    while not (len(after) == len(pids) and after != pids) and time.monotonic() < deadline:
        time.sleep(0.05)
        after = view.query_worker_pids
    assert len(after) == len(pids) and after != pids, (pids, after)
    assert names() == {"Welzijn op Recept", "Buurtgezinnen"}
    view.close()
    assert view.query_worker_pids == []


# --- GET answered on the event loop ------------------------------------------------------

GET_CASES = [
    ("SELECT ?name WHERE { ?i a ig:Intervention ; ig:name ?name }", None, None),
    ("SELECT ?name WHERE { ?i a ig:Intervention ; ig:name ?name }", None, "text/csv"),
    ("SELECT * WHERE { ?s ?p ?o }", "tsv", None),
    ("ASK { ?s a ig:Intervention }", "xml", None),
    ("DESCRIBE <https://w3id.org/impact-graph/id/area:utrecht>", None, None),
    ("DESCRIBE <https://w3id.org/impact-graph/id/area:utrecht>", "jsonld", None),
    ("DESCRIBE <https://w3id.org/impact-graph/id/area:utrecht>", "nt", None),
    ("SELECT * WHERE { ?s ?p ?o", None, None),  # syntax error
    ("SELECT * WHERE { ?s nope:x ?o }", None, None),  # unknown prefix
    ("INSERT DATA { <a:b> <a:c> <a:d> }", None, None),  # update
    ("ASK {}", None, "image/png"),  # not acceptable
    ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }", None, None),
]


@pytest.mark.parametrize(("query", "fmt", "accept"), GET_CASES)
def test_get_answer_on_the_loop_answers_as_the_get_route(
    client: TestClient, query: str, fmt: str | None, accept: str | None
) -> None:
    """`sparql.get_answer` (GET on the event loop, for the lean path) gives what the
    synchronous GET route gives: the same status, media type, body and row-cap headers,
    and the same problem for a bad query, a write or a query past the time limit."""
    import asyncio
    from urllib.parse import urlencode

    from fastapi import Request

    from impact_graph.api.problems import ProblemError
    from impact_graph.api.routers import sparql as route

    params = {"query": query, **({"format": fmt} if fmt else {})}
    headers = {"Accept": accept} if accept else {}
    expected = client.get("/sparql", params=params, headers=headers)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/sparql",
        "query_string": urlencode(params).encode(),
        "headers": [(b"accept", accept.encode())] if accept else [],
        "app": client.app,
    }
    try:
        got = asyncio.run(route.get_answer(Request(scope), query, fmt))
    except ProblemError as e:
        assert expected.status_code == e.status, expected.text
        assert expected.json()["detail"] == e.detail
        return
    assert expected.status_code == got.status_code == 200, expected.text
    assert expected.headers["content-type"] == got.headers["content-type"]
    for name in ("x-row-cap", "x-truncated"):
        assert expected.headers.get(name) == got.headers.get(name)
    if expected.headers["content-type"].startswith(("text/turtle", "application/ld+json")):
        # Blank-node labels differ from one query to the next: compare as graphs.
        fmt_ = (
            ox.RdfFormat.TURTLE if "turtle" in got.headers["content-type"] else ox.RdfFormat.JSON_LD
        )
        assert len(list(ox.parse(expected.content, format=fmt_))) == len(
            list(ox.parse(got.body, format=fmt_))
        )
    else:
        assert expected.content == got.body


def test_a_cancelled_query_never_serves_another(tmp_path: Path) -> None:
    """A caller that goes away mid-query (a client disconnect cancels the request's task)
    must not leave its worker in the pool: the worker may still be writing that answer,
    which the next query would then read as its own. It is killed and replaced."""
    import asyncio

    settings = build_settings(tmp_path / "cancel", timeout_s=30.0)
    view = OxigraphView(view_dir(settings), RdfMapping(load_schema()))
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    q = "SELECT ?name WHERE { ?i a ig:Intervention ; ig:name ?name }"
    ig = {"ig": "https://w3id.org/impact-graph/ontology#"}
    kw: dict[str, Any] = {"form": "select", "prefixes": ig, "row_cap": 10, "media": None}

    async def scenario() -> list[dict[str, Any]]:
        task = asyncio.create_task(view.run_query_async(slow, timeout_s=30.0, **kw))
        await asyncio.sleep(0.5)
        busy = set(view.query_worker_pids)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        deadline = time.monotonic() + 20
        while len(view.query_worker_pids) < view.query_workers and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the replacement starts in a thread
        assert busy - set(view.query_worker_pids), "the cancelled query's worker lives on"
        results = []
        for _ in range(3):  # every worker the pool hands out answers its own query
            results.append((await view.run_query_async(q, timeout_s=30.0, **kw)).bindings)
        return results

    try:
        for bindings in asyncio.run(scenario()):
            assert [b["name"]["value"] for b in bindings] == ["Welzijn op Recept"]
    finally:
        view.close()
