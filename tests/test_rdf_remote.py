"""The remote RDF view against a real Apache Jena Fuseki 5.6 (started from Maven Central).

The same batches go to the embedded Oxigraph view and to Fuseki; both must answer the
same counts and facts, replace a changed document, drop a deleted one, and treat
researcher queries the same way (refusals before anything is sent, syntax errors with a
line, the time limit, the row cap).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from impact_graph.ontology import load_schema
from impact_graph.rdf import sparql
from impact_graph.rdf.export import export
from impact_graph.rdf.mapping import RdfMapping, default_prefixes
from impact_graph.rdf.view import OxigraphView, RdfView, RemoteView
from impact_graph.store.port import QueryRefused, QuerySyntaxError, QueryTimeout
from impact_graph.testing.fuseki_server import FusekiServer
from tests.factories import doc_batch

pytestmark = pytest.mark.fuseki


@pytest.fixture(scope="module")
def fuseki() -> Iterator[FusekiServer]:
    with FusekiServer() as srv:
        yield srv


@pytest.fixture
def views(fuseki: FusekiServer, tmp_path: Path) -> Iterator[tuple[RdfView, RdfView]]:
    mapping = RdfMapping(load_schema())
    remote = RemoteView(
        mapping,
        query_url=fuseki.dataset_url + "/sparql",
        update_url=fuseki.dataset_url + "/update",
        gsp_url=fuseki.dataset_url + "/data",
    )
    remote.update("DROP ALL", "test reset")
    local = OxigraphView(tmp_path / "rdf", mapping)
    for v in (local, remote):
        v.setup()
    yield local, remote
    remote.close()


def batches():  # type: ignore[no-untyped-def]
    a = doc_batch(
        "a.md",
        [
            ("Intervention", "Welzijn op Recept"),
            ("Challenge", "eenzaamheid"),
            ("Actor", "Gemeente Utrecht"),
        ],
        [
            ("Welzijn op Recept", "ADDRESSES", "eenzaamheid"),
            ("Gemeente Utrecht", "DELIVERS", "Welzijn op Recept"),
        ],
    )
    b = doc_batch(
        "b.md",
        [("Intervention", "Welzijn op Recept"), ("TargetGroup", "ouderen")],
        [("Welzijn op Recept", "TARGETS", "ouderen")],
    )
    return a, b


SUMMARY = [
    "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c ORDER BY ?c",
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?r <http://www.w3.org/1999/02/22-rdf-syntax-ns#reifies> ?t "
    "BIND(PREDICATE(?t) AS ?p) } GROUP BY ?p ORDER BY ?p",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?src WHERE { <https://w3id.org/impact-graph/id/intervention:welzijn-op-recept> "
    "<https://w3id.org/impact-graph/ontology#sources> ?src } ORDER BY ?src",
]


def summary(view: RdfView) -> list[list[dict[str, str]]]:
    return [view.select(q) for q in SUMMARY]


def test_remote_and_embedded_views_hold_the_same_facts(views) -> None:  # type: ignore[no-untyped-def]
    local, remote = views
    a, b = batches()
    for v in views:
        v.write_batch(a)
        v.write_batch(b)
    assert summary(remote) == summary(local)
    assert summary(local)[3] == [{"src": "document:a-md"}, {"src": "document:b-md"}]
    assert (
        remote.document_hashes()
        == local.document_hashes()
        == {
            a.doc_id: a.content_hash,
            b.doc_id: b.content_hash,
        }
    )

    # A changed document replaces its facts; a deleted one leaves the other's alone.
    a2 = doc_batch("a.md", [("Intervention", "Welzijn op Recept")], version="2")
    for v in views:
        v.write_batch(a2)
    assert summary(remote) == summary(local)
    for v in views:
        assert v.delete_document(b.doc_id)
        assert not v.delete_document(b.doc_id)
    assert summary(remote) == summary(local)
    assert summary(local)[3] == [{"src": "document:a-md"}]
    # Export reads the remote store through the Graph Store Protocol.
    data_l, _ = export(local, "nt", None)
    data_r, _ = export(remote, "nt", None)

    # (the write time of each graph differs between the two stores by design)
    def facts(data: bytes) -> list[bytes]:
        return sorted(ln for ln in data.splitlines() if b"generatedAtTime" not in ln)

    assert facts(data_l) == facts(data_r)  # type: ignore[arg-type]


def test_researcher_queries_on_the_remote_store(views) -> None:  # type: ignore[no-untyped-def]
    _, remote = views
    a, b = batches()
    remote.write_batch(a)
    remote.write_batch(b)
    prefixes = default_prefixes(load_schema())

    def run(q: str, timeout_s: float = 10.0, cap: int = 1000):  # type: ignore[no-untyped-def]
        return sparql.run_query(remote, q, prefixes=prefixes, timeout_s=timeout_s, row_cap=cap)

    r = run("SELECT ?n WHERE { ?i a ig:Intervention ; ig:name ?n }")
    assert [x["n"]["value"] for x in r.bindings] == ["Welzijn op Recept"]
    r = run("SELECT ?st WHERE { << ?c ig:mentions ?e ~ ?r >> ig:start ?st . ?e ig:name 'ouderen' }")
    assert len(r.bindings) == 1
    assert run("ASK { ?s ig:targets ?o }").boolean is True
    r = run("CONSTRUCT { ?s ig:name ?n } WHERE { ?s a ig:Challenge ; ig:name ?n }")
    assert "eenzaamheid" in r.ntriples
    r = run("SELECT * WHERE { ?s ?p ?o }", cap=10)
    assert len(r.bindings) == 10 and r.truncated

    with pytest.raises(QueryRefused, match="SERVICE"):
        run("SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
    with pytest.raises(QueryRefused, match="read-only"):
        run("DROP ALL")
    with pytest.raises(QuerySyntaxError, match="line 2"):
        run("SELECT * WHERE {\n ?s ?p ?o FILTER( }")
    with pytest.raises(QueryTimeout):
        run(
            "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }",
            timeout_s=1.0,
        )
    # The store still answers.
    assert run("ASK { ?s a ig:Intervention }").boolean is True
