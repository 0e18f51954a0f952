"""An ingest holds the embedded RDF view through its pauses (issue 3).

Outside an ingest the held writer is flushed after 0.5 s idle and let go after
``idle_release_s``. Inside ``OxigraphView.held_for_ingest`` (entered by the
write-through store's ``maintenance_deferred``, i.e. by every ingest run) it is neither
flushed nor let go in a pause, because each flush leaves RocksDB a compaction over the
whole view. These tests use real Oxigraph directories and a real second process: a
reader that waits is still served (with whole documents) during such a block, and the
view's usual idle rules come back after it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import FLUSH_IDLE_S, OxigraphView
from impact_graph.store.writethrough import WriteThroughStore
from tests.factories import doc_batch
from tests.test_rdf_sharing import (
    bulk_batches,
    expected_counts,
    open_read_write_elsewhere,
    other_process,
)


@pytest.fixture(scope="module")
def mapping() -> RdfMapping:
    return RdfMapping(load_schema())


def sst_files(view: OxigraphView) -> int:
    """Files RocksDB has flushed or compacted: what a flush adds to."""
    return len(list(view.path.glob("*.sst")))


def wait_until(cond, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(cond())


def test_an_ingest_keeps_the_writer_and_its_writes_through_a_pause(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    pause = max(FLUSH_IDLE_S, 0.5) * 3
    batches = bulk_batches(4)

    # Outside an ingest, a pause flushes the writer (the control for the check below).
    plain = OxigraphView(tmp_path / "plain", mapping, idle_release_s=600)
    before = sst_files(plain)
    plain.write_batch(batches[0])
    assert wait_until(lambda: sst_files(plain) > before, timeout=10)
    plain.close()

    view = OxigraphView(tmp_path / "held", mapping, idle_release_s=pause / 3)
    opens = view.writer_opens
    before = sst_files(view)
    with view.held_for_ingest():
        for b in batches[:3]:
            view.write_batch(b)
        time.sleep(pause)  # longer than the idle flush and the idle release
        assert view.holds_writer
        assert sst_files(view) == before  # nothing flushed in the pause
        view.write_batch(batches[3])
        assert view.writer_opens == opens + 1  # four documents, one open
    # After the block the idle rules apply again: flushed and let go.
    assert wait_until(lambda: not view.holds_writer)
    graph = mapping.graph_iri(batches[3].doc_id).value
    free = open_read_write_elsewhere(view.path, graph)
    assert free.returncode == 0, free.stderr
    assert int(free.stdout) == expected_counts(mapping)[graph]
    view.close()


def test_a_reader_is_served_while_an_ingest_holds_the_writer(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    directory = tmp_path / "served"
    view = OxigraphView(directory, mapping, idle_release_s=0.2)
    batches = bulk_batches(3)
    graphs = [mapping.graph_iri(b.doc_id).value for b in batches]
    expected = expected_counts(mapping)
    with view.held_for_ingest():
        for b in batches[:2]:
            view.write_batch(b)
        opens = view.writer_opens
        # Another process reads (a trusted read, waiting on the lock): the holder lets
        # go for it, and it sees both documents whole.
        reader = other_process(
            "from impact_graph.ontology import load_schema\n"
            "from impact_graph.rdf.mapping import RdfMapping\n"
            "from impact_graph.rdf.view import OxigraphView\n"
            f"v = OxigraphView({str(directory)!r}, RdfMapping(load_schema()))\n"
            "rows = v.select('SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } "
            "GROUP BY ?g')\n"
            "for r in rows:\n"
            "    print(r['g'], r['n'])\n"
        )
        assert reader.returncode == 0, reader.stderr
        seen = dict(line.split() for line in reader.stdout.splitlines())
        assert {g: int(seen[g]) for g in graphs[:2]} == {g: expected[g] for g in graphs[:2]}
        assert graphs[2] not in seen
        assert not view.holds_writer
        # The ingest goes on: the next document opens the writer again.
        view.write_batch(batches[2])
        assert view.writer_opens == opens + 1
        assert view.holds_writer
    view.close()
    free = open_read_write_elsewhere(view.path, graphs[2])
    assert int(free.stdout) == expected[graphs[2]]


class _Deferring:
    """The graph-store side of the write-through: only records its deferral."""

    backend = "none"

    def __init__(self) -> None:
        self.deferred = 0

    def maintenance_deferred(self):  # type: ignore[no-untyped-def]
        import contextlib

        @contextlib.contextmanager
        def block():  # type: ignore[no-untyped-def]
            self.deferred += 1
            try:
                yield
            finally:
                self.deferred -= 1

        return block()


def test_the_write_through_holds_the_view_for_a_run(tmp_path: Path, mapping: RdfMapping) -> None:
    # The pipeline enters maintenance_deferred around a run: the view must be held too,
    # and both let go at the end.
    view = OxigraphView(tmp_path / "wt", mapping, idle_release_s=0.2)
    inner = _Deferring()
    store = WriteThroughStore(inner, view)  # type: ignore[arg-type]
    with store.maintenance_deferred():
        assert inner.deferred == 1
        view.write_batch(bulk_batches(1)[0])
        time.sleep(1.5)
        assert view.holds_writer
    assert inner.deferred == 0
    assert wait_until(lambda: not view.holds_writer)
    view.close()


def test_a_held_ingest_leaves_the_view_a_fresh_build_makes(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    # The same documents, written as an ingest writes them (held, with pauses, a changed
    # document and a deleted one, a reader in between) and built from scratch one by
    # one: the views hold the same quads, the default graph (the union) included.
    from impact_graph.rdf.mapping import PROV_GENERATED

    batches = bulk_batches(8)
    # A new version of document 2: one entity shared with document 1, one new.
    changed = doc_batch(
        "bulk-002.md",
        [("Challenge", "Challenge 1 1"), ("Actor", "Stichting Nieuw")],
        version="2",
    )
    assert changed.doc_id == batches[2].doc_id
    held = OxigraphView(tmp_path / "held", mapping, idle_release_s=0.2)
    with held.held_for_ingest():
        for i, b in enumerate(batches):
            held.write_batch(b)
            if i == 3:
                time.sleep(1.0)
                assert held.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        held.write_batch(changed)
        assert held.delete_document(batches[5].doc_id)
    held.close()
    fresh = OxigraphView(tmp_path / "fresh", mapping, idle_release_s=0)
    finals = [changed if b.doc_id == changed.doc_id else b for b in batches]
    for b in finals:
        if b.doc_id != batches[5].doc_id:
            fresh.write_batch(b)
    fresh.close()

    def content(view: OxigraphView) -> set[str]:
        return {str(q) for q in view.quads() if q.predicate != PROV_GENERATED}

    assert content(held) == content(fresh)
    assert len(content(fresh)) > 1000
