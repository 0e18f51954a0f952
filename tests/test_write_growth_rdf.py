"""The RDF view writes a document as N-Quads text (``RdfMapping.batch_nquads``) instead
of Quad objects, to save the write thread's CPU: the text must load exactly the quads
the statements are, whatever the literals hold, in the document's graph and again in
the default graph, and a view written that way must hold what the SPARQL replace path
writes for the same document."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from impact_graph.model import Edge
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import OxigraphView
from tests.factories import doc_batch

#: Literal text that N-Quads must escape or carry as is.
AWKWARD = 'Zij zei: "ik ben 55+" \\ gaat\tdoor\r\nop 2e regel; café ‘€’ 🙂 <tag> _:b1 .'


@pytest.fixture(scope="module")
def mapping() -> RdfMapping:
    from impact_graph.ontology import load_schema

    return RdfMapping(load_schema())


def _batch():  # type: ignore[no-untyped-def]
    batch = doc_batch(
        "awkward",
        [("Challenge", "eenzaamheid"), ("Intervention", "Welzijn op Recept")],
        [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")],
        text=f"Welzijn op Recept helpt bij eenzaamheid. {AWKWARD}",
    )
    batch.document.props.update({"title": AWKWARD, "year": 2024, "score": 0.125, "ok": True})
    # Two mentions of one entity in one chunk: the same asserted triple twice (two
    # reifiers), which the text carries twice as extend did.
    chunk = batch.nodes[0]
    batch.edges.append(
        Edge(chunk.id, "MENTIONS", batch.nodes[1].id, {"start": 60, "end": 71}, key="60-71")
    )
    return batch


def test_nquads_text_loads_exactly_the_statements(mapping: RdfMapping) -> None:
    graph, spo = mapping.batch_statements(_batch(), written_at="2026-11-27T16:00:00Z")
    assert any(isinstance(o, ox.Triple) for _, _, o in spo), "no edge reifier to check"
    expected = ox.Store()
    expected.extend([*(ox.Quad(s, p, o, graph) for s, p, o in spo)])
    expected.extend([*(ox.Quad(s, p, o) for s, p, o in spo)])
    graph_t, text, count = mapping.batch_nquads(_batch(), written_at="2026-11-27T16:00:00Z")
    assert (graph_t, count) == (graph, len(spo))
    loaded = ox.Store()
    loaded.load(text, format=ox.RdfFormat.N_QUADS, lenient=True)  # as the view loads it
    assert set(loaded) == set(expected)
    assert len(loaded) == len(expected)
    literals = {q.object.value for q in loaded if isinstance(q.object, ox.Literal)}
    assert AWKWARD in literals


def test_new_document_path_matches_replace_path(mapping: RdfMapping, tmp_path: Path) -> None:
    """The same batch written to a fresh view and written twice to another (the second
    write drops the held graph first) gives the same quads, apart from the write time
    stamp."""
    batch = _batch()
    first = OxigraphView(tmp_path / "a", mapping, idle_release_s=0)
    second = OxigraphView(tmp_path / "b", mapping, idle_release_s=0)
    try:
        n = first.write_batch(batch)
        second.write_batch(batch)
        second.write_batch(batch)  # held now: dropped, then loaded again
        stamp = "http://www.w3.org/ns/prov#generatedAtTime"

        def quads(view: OxigraphView) -> set[str]:
            return {str(q) for q in view.quads() if q.predicate.value != stamp}

        got = quads(first)
        assert got == quads(second)
        graph = mapping.graph_iri(batch.doc_id)
        _, spo = mapping.batch_statements(batch, written_at="x")
        assert n == len(spo)  # statements written, as before (the duplicate counted)
        assert sum(1 for _ in first.quads([graph.value])) == len(set(spo))
    finally:
        first.close()
        second.close()
