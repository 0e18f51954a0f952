"""The RDF view holds the same facts as the graph store, on both backends.

Batches go through `WriteThroughStore` (real FalkorDB / real Neo4j + a real Oxigraph on
disk); then counts by class and relation type, sample facts, replacement of a changed
document and deletion are compared between Cypher and SPARQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from impact_graph.model import make_id
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import OxigraphView, RemoteView
from impact_graph.store.port import GraphStore, StoreError
from impact_graph.store.writethrough import WriteThroughStore
from tests.factories import doc_batch

WOR = ("Intervention", "Welzijn op Recept")
LONELY = ("Challenge", "eenzaamheid")
UTRECHT = ("Actor", "Gemeente Utrecht")
ELDERLY = ("TargetGroup", "ouderen")
BUURT = ("Programme", "Samen tegen eenzaamheid")


@pytest.fixture
def wt(store: GraphStore, schema, tmp_path: Path) -> Iterator[WriteThroughStore]:  # type: ignore[no-untyped-def]
    view = OxigraphView(tmp_path / "rdf", RdfMapping(schema))
    w = WriteThroughStore(store, view)
    w.setup_schema(schema)
    yield w
    view.close()


def rdf_class_counts(view: OxigraphView) -> dict[str, int]:
    rows = view.select(
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?c } "
        f'FILTER(STRSTARTS(STR(?c), "{view.mapping.base}")) }} GROUP BY ?c'
    )
    return {r["c"].rsplit("#", 1)[-1]: int(r["n"]) for r in rows}


def rdf_rel_counts(view: OxigraphView, schema) -> dict[str, int]:  # type: ignore[no-untyped-def]
    by_iri = {r.iri: r.type for r in schema.rel_types}
    rows = view.select(
        "SELECT ?p (COUNT(DISTINCT ?r) AS ?n) WHERE { GRAPH ?g { ?r rdf:reifies ?t } "
        "BIND(PREDICATE(?t) AS ?p) } GROUP BY ?p".replace(
            "rdf:reifies", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#reifies>"
        )
    )
    return {by_iri[r["p"]]: int(r["n"]) for r in rows}


def assert_same_counts(w: WriteThroughStore, schema) -> None:  # type: ignore[no-untyped-def]
    stats = w.stats()
    assert rdf_class_counts(w.view) == {k: v for k, v in stats.nodes.items() if v}
    assert rdf_rel_counts(w.view, schema) == {k: v for k, v in stats.relationships.items() if v}
    assert w.view.document_hashes() == w.document_hashes()


def batches():  # type: ignore[no-untyped-def]
    a = doc_batch(
        "a.md",
        [WOR, LONELY, UTRECHT, ELDERLY],
        [
            ("Welzijn op Recept", "ADDRESSES", "eenzaamheid"),
            ("Welzijn op Recept", "TARGETS", "ouderen"),
            ("Gemeente Utrecht", "DELIVERS", "Welzijn op Recept"),
        ],
    )
    b = doc_batch(
        "b.md",
        [WOR, LONELY, BUURT, UTRECHT],
        [
            ("Samen tegen eenzaamheid", "USES", "Welzijn op Recept"),
            ("Samen tegen eenzaamheid", "ADDRESSES", "eenzaamheid"),
            ("Gemeente Utrecht", "PARTICIPATES_IN", "Samen tegen eenzaamheid"),
        ],
    )
    for e in b.edges:
        if e.type == "PARTICIPATES_IN":
            e.props["role"] = "opdrachtgever"
    return a, b


def test_view_holds_the_same_nodes_and_edges(wt: WriteThroughStore, schema) -> None:  # type: ignore[no-untyped-def]
    a, b = batches()
    wt.upsert_batch(a)
    wt.upsert_batch(b)
    assert_same_counts(wt, schema)

    # Sample facts: shared provenance is the union over the documents' graphs.
    wor = wt.view.mapping.node_iri(make_id(*WOR)).value
    rows = wt.view.select(
        f"SELECT ?src WHERE {{ <{wor}> ig:sources ?src }}".replace(
            "ig:sources", f"<{wt.view.mapping.sources_p.value}>"
        )
    )
    assert sorted(r["src"] for r in rows) == sorted(wt.get_nodes([make_id(*WOR)])[0]["sources"])
    # The edge property 'role' is queryable through the edge's reifier.
    role = wt.view.select(
        "PREFIX ig: <https://w3id.org/impact-graph/ontology#> "
        "SELECT ?role WHERE { << ?a ig:participatesIn ?p ~ ?r >> ig:role ?role }"
    )
    assert [r["role"] for r in role] == ["opdrachtgever"]
    cypher = wt.read_query("MATCH (:Actor)-[e:PARTICIPATES_IN]->(:Programme) RETURN e.role")
    assert cypher.rows == [["opdrachtgever"]]


def test_unchanged_document_is_skipped_and_a_changed_one_replaces_its_facts(
    wt: WriteThroughStore, schema
) -> None:  # type: ignore[no-untyped-def]
    a, b = batches()
    wt.upsert_batch(a)
    wt.upsert_batch(b)
    assert wt.upsert_batch(batches()[0]).skipped

    # a.md changes: it no longer speaks of ouderen, now of the Utrecht programme's area.
    a2 = doc_batch(
        "a.md",
        [WOR, LONELY, UTRECHT],
        [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")],
        version="2",
    )
    assert not wt.upsert_batch(a2).skipped
    assert_same_counts(wt, schema)
    elderly = wt.view.mapping.node_iri(make_id(*ELDERLY)).value
    assert wt.view.select(f"SELECT ?p WHERE {{ <{elderly}> ?p ?o }}") == []
    assert wt.view.document_hashes()[a2.doc_id] == a2.content_hash


def test_delete_removes_the_documents_facts_and_nothing_else(wt: WriteThroughStore, schema) -> None:  # type: ignore[no-untyped-def]
    a, b = batches()
    wt.upsert_batch(a)
    wt.upsert_batch(b)
    assert wt.delete_document(a.doc_id)
    assert_same_counts(wt, schema)
    m = wt.view.mapping
    # Shared nodes survive with b.md as their only source; a.md's own nodes are gone.
    wor = m.node_iri(make_id(*WOR)).value
    srcs = wt.view.select(f"SELECT ?s WHERE {{ <{wor}> <{m.sources_p.value}> ?s }}")
    assert [r["s"] for r in srcs] == [b.doc_id]
    assert (
        wt.view.select(f"SELECT ?o WHERE {{ <{m.node_iri(make_id(*ELDERLY)).value}> ?p ?o }}") == []
    )
    # The ontology graph is untouched.
    assert wt.view.select(
        "SELECT ?c WHERE { ?c a <http://www.w3.org/2004/02/skos/core#Concept> } LIMIT 1"
    )
    assert not wt.delete_document(a.doc_id)


def test_a_failing_view_leaves_neither_store_with_the_document(store: GraphStore, schema) -> None:  # type: ignore[no-untyped-def]
    # A remote view whose server does not listen: a real connection refusal.
    view = RemoteView(
        RdfMapping(schema), query_url="http://127.0.0.1:9/q", update_url="http://127.0.0.1:9/u"
    )
    wt = WriteThroughStore(store, view)
    a, _ = batches()
    with pytest.raises(StoreError, match="taken out of the graph store"):
        wt.upsert_batch(a)
    assert a.doc_id not in store.document_hashes()
