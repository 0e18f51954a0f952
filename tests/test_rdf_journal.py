"""A held ingest journals its new documents and bulk-loads them in groups (issue 3).

Inside ``OxigraphView.held_for_ingest`` a new document's N-Quads text is appended to
``oxigraph.journal.nq`` (before the write returns) and bulk-loaded once the journal
holds ``INGEST_BULK_BYTES``, when anyone reads or waits, and at the end of the block.
These tests use real Oxigraph directories and real second processes: the view ends up
holding exactly the quads a document-by-document build holds, reads see journaled
documents, and a writer killed mid-ingest loses nothing it wrote (the journal is loaded
by the next writer or reader, up to its last whole document).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from impact_graph.ontology import load_schema
from impact_graph.rdf import view as view_mod
from impact_graph.rdf.mapping import PROV_GENERATED, RdfMapping
from impact_graph.rdf.view import JOURNAL_MARK, OxigraphView
from impact_graph.store.port import StoreError
from tests.test_rdf_sharing import COUNT_BY_GRAPH, bulk_batches, expected_counts, other_process


@pytest.fixture(scope="module")
def mapping() -> RdfMapping:
    return RdfMapping(load_schema())


def content(view: OxigraphView) -> set[str]:
    """Every quad but the write times (they differ between two builds)."""
    return {str(q) for q in view.quads() if q.predicate != PROV_GENERATED}


def counts(view: OxigraphView) -> dict[str, int]:
    return {r["g"]: int(r["n"]) for r in view.select(COUNT_BY_GRAPH)}


def test_bulk_loads_in_groups_hold_the_quads_of_a_document_by_document_build(
    tmp_path: Path, mapping: RdfMapping, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = bulk_batches(7)
    one_doc = len(mapping.batch_nquads(batches[0], written_at="x")[1].encode())
    # About two documents a group, so the threshold, not only the block's end, loads.
    monkeypatch.setattr(view_mod, "INGEST_BULK_BYTES", 2 * one_doc)
    held = OxigraphView(tmp_path / "held", mapping, idle_release_s=600)
    with held.held_for_ingest():
        for b in batches:
            held.write_batch(b)
        assert held.bulk_loads == 3  # 2 + 2 + 2 documents; the seventh still journaled
        assert held.journal_path.exists()
    assert held.bulk_loads == 4  # the end of the block loads the rest
    assert not held.journal_path.exists()
    held.close()
    fresh = OxigraphView(tmp_path / "fresh", mapping, idle_release_s=0)
    for b in batches:
        fresh.write_batch(b)
    fresh.close()
    assert fresh.bulk_loads == 0  # outside an ingest, nothing is journaled
    assert content(held) == content(fresh)
    assert len(content(fresh)) > 1000


def test_reads_see_journaled_documents_and_a_hash_needs_no_load(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    batches = bulk_batches(3)
    view = OxigraphView(tmp_path / "v", mapping, idle_release_s=600)
    expected = expected_counts(mapping)
    with view.held_for_ingest():
        for b in batches[:2]:
            view.write_batch(b)
        # The write-through asks this for every skipped document: answered from the
        # journal's list for a journaled one, from the store for another, no load.
        assert view.document_hash(batches[0].doc_id) == batches[0].content_hash
        assert view.document_hash("not-there.md") is None
        assert view.bulk_loads == 0
        # A read sees every document written (the journal is loaded first).
        seen = counts(view)
        assert view.bulk_loads == 1
        for b in batches[:2]:
            g = mapping.graph_iri(b.doc_id).value
            assert seen[g] == expected[g]
        # The same document again in one run (changed): loaded, then replaced.
        view.write_batch(batches[2])
        view.write_batch(batches[2])
        assert (
            counts(view)[mapping.graph_iri(batches[2].doc_id).value]
            == expected[mapping.graph_iri(batches[2].doc_id).value]
        )
        assert view.document_hash(batches[2].doc_id) == batches[2].content_hash
    view.close()


KILLED_WRITER = """
import os, signal
from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import OxigraphView
from tests.test_rdf_sharing import bulk_batches
v = OxigraphView({directory!r}, RdfMapping(load_schema()), idle_release_s=600)
with v.held_for_ingest():
    for b in bulk_batches({n}):
        v.write_batch(b)
    print(v.bulk_loads, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_writer_loses_no_document_it_wrote(tmp_path: Path, mapping: RdfMapping) -> None:
    directory = tmp_path / "killed"
    OxigraphView(directory, mapping).close()  # the store exists, as before an ingest
    run = other_process(KILLED_WRITER.format(directory=str(directory), n=4))
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert run.stdout.split() == ["0"]  # all four were only in the journal
    journal = directory / "oxigraph.journal.nq"
    assert journal.exists()
    # A kill in the middle of an append: half a document after the last whole one.
    fifth = mapping.batch_nquads(bulk_batches(5)[4], written_at="x")[1].encode()
    with open(journal, "ab") as f:
        f.write(fifth[: len(fifth) // 2])
    expected = expected_counts(mapping)
    view = OxigraphView(directory, mapping, idle_release_s=0)
    seen = counts(view)  # a reader finds the journal and has it loaded first
    assert not journal.exists()
    graphs = [mapping.graph_iri(b.doc_id).value for b in bulk_batches(5)]
    assert {g: seen.get(g) for g in graphs} == {
        **{g: expected[g] for g in graphs[:4]},
        graphs[4]: None,  # the half document is not there at all
    }
    view.close()


def test_a_researcher_query_sees_a_killed_writers_journal(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    directory = tmp_path / "killed-q"
    OxigraphView(directory, mapping).close()
    run = other_process(KILLED_WRITER.format(directory=str(directory), n=2))
    assert run.returncode == -signal.SIGKILL, run.stderr
    view = OxigraphView(directory, mapping, idle_release_s=0)
    try:
        result = view.run_query(
            "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s a ?c } }",
            form="select",
            prefixes={},
            timeout_s=30,
            row_cap=10,
        )
    finally:
        view.close()
    assert not (directory / "oxigraph.journal.nq").exists()
    assert int(result.bindings[0]["n"]["value"]) == 2


def test_a_journal_that_cannot_be_loaded_is_kept_aside_with_a_sentence(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    directory = tmp_path / "bad"
    OxigraphView(directory, mapping).close()
    (directory / "oxigraph.journal.nq").write_bytes(
        b"<a> <b> this is not N-Quads .\n" + JOURNAL_MARK
    )
    view = OxigraphView(directory, mapping, idle_release_s=0)
    with pytest.raises(StoreError, match=r"could not load its journal.*Run the ingest again"):
        view.select(COUNT_BY_GRAPH)
    assert (directory / "oxigraph.journal.failed.nq").exists()
    assert not (directory / "oxigraph.journal.nq").exists()
    assert view.select(COUNT_BY_GRAPH) == []  # the view itself is usable
    view.close()
