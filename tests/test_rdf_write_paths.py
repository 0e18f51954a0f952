"""The embedded RDF view's two ways of writing a document give the same store.

A document the view does not hold is added with one ``Store.extend`` (its graph plus the
default-graph copies); a document it holds is replaced by the SPARQL update. Both must
leave exactly what the SPARQL replace update alone leaves (checked against a reference
store that only ever ran that update), so the default graph stays the set union of the
graphs. Real Oxigraph on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from impact_graph.model import GraphBatch
from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import OxigraphView, replace_graph_update
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
