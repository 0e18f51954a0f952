"""The embedded RDF view's two ways of writing a document give the same store.

A document is added with one ``Store.load`` of N-Quads text (its graph plus the
default-graph copies); a document the view holds loses its old graph by the delete
update first. Both must
leave exactly what the SPARQL replace update alone leaves (checked against a reference
store that only ever ran that update), so the default graph stays the set union of the
graphs. Real Oxigraph on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from impact_graph.model import Edge, GraphBatch
from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import OxigraphView, replace_graph_update
from impact_graph.store.port import StoreError
from tests.factories import doc_batch

WOR = ("Intervention", "Welzijn op Recept")
LONELY = ("Challenge", "eenzaamheid")
HALT = ("Intervention", "Halt")


@pytest.fixture(scope="module")
def mapping() -> RdfMapping:
    return RdfMapping(load_schema())


@pytest.fixture
def view(tmp_path: Path, mapping: RdfMapping) -> Iterator[OxigraphView]:
    v = OxigraphView(tmp_path / "rdf", mapping)
    yield v
    v.close()


def everything(view: OxigraphView) -> set[ox.Quad]:
    return set(view.quads())


def reference(view: OxigraphView, graphs: list[ox.NamedNode]) -> set[ox.Quad]:
    """The same named graphs (as the view holds them, timestamps included) written into
    a fresh in-memory store by the SPARQL replace update alone."""
    store = ox.Store()
    held = everything(view)
    for g in graphs:
        store.update(replace_graph_update(g, [q for q in held if q.graph_name == g]))
    return set(store.quads_for_pattern(None, None, None, None))


def a_and_b() -> tuple[GraphBatch, GraphBatch]:
    a = doc_batch("a.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    b = doc_batch("b.md", [WOR, HALT], [("Halt", "ADDRESSES", "Welzijn op Recept")])
    return a, b


def test_new_documents_are_added_as_the_update_would_add_them(
    view: OxigraphView, mapping: RdfMapping
) -> None:
    a, b = a_and_b()
    n = view.write_batch(a)
    view.write_batch(b)
    graphs = [mapping.graph_iri(a.doc_id), mapping.graph_iri(b.doc_id)]
    held = everything(view)
    assert n == sum(1 for q in held if q.graph_name == graphs[0])
    assert held == reference(view, graphs)
    # The node both documents share is in the default graph once, with both sources.
    wor = mapping.node_iri(doc_batch("x", [WOR]).nodes[1].id)
    sources = {
        q.object.value
        for q in held
        if q.subject == wor
        and q.predicate == mapping.sources_p
        and q.graph_name == ox.DefaultGraph()
    }
    assert sources == {a.doc_id, b.doc_id}
    assert view.document_hashes() == {a.doc_id: a.content_hash, b.doc_id: b.content_hash}


def test_a_changed_document_is_replaced_and_the_other_keeps_its_facts(
    view: OxigraphView, mapping: RdfMapping
) -> None:
    a, b = a_and_b()
    view.write_batch(a)
    view.write_batch(b)
    a2 = doc_batch("a.md", [LONELY], version="2")  # no longer speaks of Welzijn op Recept
    view.write_batch(a2)
    graphs = [mapping.graph_iri(a.doc_id), mapping.graph_iri(b.doc_id)]
    held = everything(view)
    assert held == reference(view, graphs)
    assert view.document_hashes() == {a.doc_id: a2.content_hash, b.doc_id: b.content_hash}
    wor = mapping.node_iri(doc_batch("x", [WOR]).nodes[1].id)
    default = [q for q in held if q.subject == wor and q.graph_name == ox.DefaultGraph()]
    assert {q.object.value for q in default if q.predicate == mapping.sources_p} == {b.doc_id}
    # Writing the same version again changes nothing but the write time.
    view.write_batch(a2)
    again = everything(view)
    assert len(again) == len(held)
    assert again == reference(view, graphs)


def test_a_document_deleted_and_written_again_takes_the_fast_path_cleanly(
    view: OxigraphView, mapping: RdfMapping
) -> None:
    a, b = a_and_b()
    view.write_batch(a)
    view.write_batch(b)
    assert view.delete_document(a.doc_id)
    view.write_batch(a)
    graphs = [mapping.graph_iri(a.doc_id), mapping.graph_iri(b.doc_id)]
    assert everything(view) == reference(view, graphs)


def _every_kind_of_value() -> GraphBatch:
    """A batch whose properties take every path of the literal mapping: strings that
    N-Quads must escape, declared integers given as floats (whole and not), decimals,
    booleans, dates, values RDF cannot hold (NaN), lists, undeclared keys, a concept
    IRI, extra spans, and an edge with properties and a key."""
    a, _ = a_and_b()
    awkward = 'Zij zei: "55+" \\ tab\there\r\nregel 2; café ‘€’ 🙂 <x> _:b1 . \x00\x7f\u2028'
    doc = a.document
    doc.props.update({"title": awkward, "url": "https://example.org/a?b=c&d=e"})
    chunk = a.nodes[0]
    chunk.props.update(
        {
            "position": 3.0,  # integer given as a whole float
            "end": 7.5,  # integer given as a fraction: written as a double
            "spans": [f"{a.doc_id}#0-3", "document:other#1-2"],  # only its own are kept
            "tags": ["één", None, "twee\n"],  # undeclared, a list
            "score": float("nan"),  # not writable: left out
            "flag": True,  # undeclared boolean
            "weight_x": 0.25,  # undeclared double
        }
    )
    entity = a.nodes[1]
    entity.props.update(
        {"concept": "https://w3id.org/impact-graph/vocab/x#y", "budget": 1e6, "mention_count": 2}
    )
    a.edges.append(
        Edge(chunk.id, "MENTIONS", entity.id, {"start": 0, "end": 3, "note": awkward}, key="0-3")
    )
    return a


def test_the_n_quads_text_is_the_statements(mapping: RdfMapping) -> None:
    """`batch_nquads` (what the embedded view loads, leniently) says exactly what
    `batch_statements` says (what the SPARQL update path and the remote view write),
    statement for statement, in the document's graph and in the default graph."""
    batch = _every_kind_of_value()
    graph, spo = mapping.batch_statements(batch, written_at="2026-11-27T16:00:00Z")
    graph_t, text, count = mapping.batch_nquads(batch, written_at="2026-11-27T16:00:00Z")
    assert (graph_t, count) == (graph, len(spo))
    got = list(ox.parse(text, format=ox.RdfFormat.N_QUADS))  # strict: every IRI checked
    unique = list(dict.fromkeys(spo))  # the same triple twice is written once
    assert len(unique) < len(spo), "no repeated triple to check"
    want = [ox.Quad(s, p, o, graph) for s, p, o in unique] + [
        ox.Quad(s, p, o) for s, p, o in unique
    ]
    assert got == want
    lenient = list(ox.parse(text, format=ox.RdfFormat.N_QUADS, lenient=True))
    assert lenient == want
    values = {q.object.value for q in got if isinstance(q.object, ox.Literal)}
    assert batch.document.props["title"] in values
    assert "7.5" in values and "1000000.0" in values and "nan" not in {v.lower() for v in values}


def test_a_document_that_cannot_be_written_leaves_no_old_version(
    view: OxigraphView, mapping: RdfMapping
) -> None:
    """A changed document whose new version the store refuses (a lone surrogate, which
    no RDF text can carry) raises StoreError, and the view holds neither version: the
    write-through then takes it out of the graph store too, so both agree."""
    a, b = a_and_b()
    view.write_batch(a)
    view.write_batch(b)
    assert view.document_hash(a.doc_id) == a.content_hash
    bad = doc_batch("a.md", [LONELY], version="2")
    bad.document.props["title"] = "kapot \ud800 teken"
    with pytest.raises(StoreError, match="refused to write"):
        view.write_batch(bad)
    assert view.document_hash(a.doc_id) is None
    assert view.document_hash(b.doc_id) == b.content_hash
    # Nothing of a is left, not even in the default graph: exactly b's graph and copies.
    assert everything(view) == reference(view, [mapping.graph_iri(b.doc_id)])


def test_document_hash_reads_one_document(view: OxigraphView) -> None:
    a, b = a_and_b()
    assert view.document_hash(a.doc_id) is None
    view.write_batch(a)
    view.write_batch(b)
    assert view.document_hash(a.doc_id) == a.content_hash
    a2 = doc_batch("a.md", [LONELY], version="2")
    view.write_batch(a2)
    assert view.document_hash(a.doc_id) == a2.content_hash
    assert view.delete_document(a.doc_id)
    assert view.document_hash(a.doc_id) is None
    assert view.document_hashes() == {b.doc_id: b.content_hash}
