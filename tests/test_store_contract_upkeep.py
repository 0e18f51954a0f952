"""Store upkeep on every backend: ``maintenance_deferred`` and ``maintain`` (the port).

Why: FalkorDB's HNSW index keeps deleted vectors, so the store rebuilds a label's vector
index once half its vectors were deleted (``falkordb_store.VECTOR_REBUILD_SHARE``), and
writes wait for that build (~4 s at 20,000 vectors). Done inside the write that crossed
the threshold, it paused one document of an ingest run. Now writes inside
``maintenance_deferred`` only leave the rebuild due and ``maintain`` does it (the
pipeline calls it at the end of a run); Neo4j's index drops deleted vectors itself and
has nothing to do. On both, vector recall stays whole before and after.

The same assertions on both backends, on the bare graph stores (the write-through store
forwards both calls by name: `test_the_write_through_store_forwards_upkeep`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from impact_graph.config import Settings
from impact_graph.schema import Schema
from impact_graph.store import falkordb_store
from impact_graph.store.port import GraphStore
from tests.factories import schema_store
from tests.test_vector_recall_after_deletes import _chunk_vector, _doc, _live_recall

WRITTEN = 40
KEPT = 10
MIN = 20  # VECTOR_REBUILD_MIN for these tests: 30 deletes of 40 are due, 19 are not


@pytest.fixture
def bare_store(
    backend_settings: Settings, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GraphStore]:
    """The backend's own store (no RDF view), cleared, schema set up, a low rebuild
    minimum (the share rule stays 0.5)."""
    monkeypatch.setattr(falkordb_store, "VECTOR_REBUILD_MIN", MIN)
    if backend_settings.backend == "neo4j":
        from impact_graph.store.neo4j_store import Neo4jStore

        opened: GraphStore = Neo4jStore(backend_settings)
    else:
        opened = falkordb_store.FalkorDBStore(
            backend_settings.model_copy(update={"graph_name": "upkeep"})
        )
        drop = falkordb_store.FalkorDBStore.delete_graph
        with schema_store(opened, schema, drop=drop) as st:  # type: ignore[arg-type]
            yield st
        return
    with schema_store(opened, schema) as st:
        yield st


def _chunk_index(store: GraphStore) -> tuple[int, int, bool] | None:
    """(live, deleted, building) of FalkorDB's Chunk vector index; None on Neo4j."""
    states = getattr(store, "vector_indexes", None)
    if states is None:
        return None
    (chunk,) = [v for v in states() if v.label == "Chunk"]
    return chunk.live, chunk.deleted, chunk.building


def _wait(store: GraphStore) -> None:
    from tests.test_vector_recall_after_deletes import _wait_for_indexes

    _wait_for_indexes(store)


def test_deferred_deletes_leave_the_rebuild_to_maintain(bare_store: GraphStore) -> None:
    batches = [_doc(i) for i in range(WRITTEN)]
    for b in batches:
        bare_store.upsert_batch(b)
    _wait(bare_store)
    live = {b.nodes[0].id: _chunk_vector(b) for b in batches[:KEPT]}

    with bare_store.maintenance_deferred():
        for b in batches[KEPT:]:  # 30 deleted, 10 live: due (>= MIN, >= half)
            assert bare_store.delete_document(b.doc_id)
        # Nothing rebuilt in the writes: the count is kept, no build runs.
        state = _chunk_index(bare_store)
        assert state in (None, (KEPT, WRITTEN - KEPT, False))
        # Recall holds meanwhile (FalkorDB widens the query by the deleted count).
        assert _live_recall(bare_store, live, k=10) == [1.0] * KEPT

    said: list[str] = []
    done = bare_store.maintain(progress=said.append)
    if bare_store.backend == "neo4j":
        assert done == [] and said == []
    else:
        assert said == [f"rebuilding the vector index of Chunk ({KEPT} vectors)"]
        (sentence,) = done
        assert sentence.startswith(f"Rebuilt the vector index of Chunk ({KEPT} vectors) in ")
        assert f"{WRITTEN - KEPT} vectors deleted since its last build" in sentence
        # maintain waited for the build: the new index holds no deleted vectors.
        assert _chunk_index(bare_store) == (KEPT, 0, False)
    assert _live_recall(bare_store, live, k=10) == [1.0] * KEPT
    assert _live_recall(bare_store, live, k=3) == [1.0] * KEPT
    assert bare_store.maintain() == []  # nothing due any more


def test_maintain_leaves_an_index_that_is_not_due(bare_store: GraphStore) -> None:
    """Deletes under the minimum stay counted; ``maintain`` does nothing with them."""
    batches = [_doc(i) for i in range(WRITTEN)]
    for b in batches:
        bare_store.upsert_batch(b)
    _wait(bare_store)
    with bare_store.maintenance_deferred():
        for b in batches[: MIN - 1]:
            assert bare_store.delete_document(b.doc_id)
    said: list[str] = []
    assert bare_store.maintain(progress=said.append) == [] and said == []
    assert _chunk_index(bare_store) in (None, (WRITTEN - MIN + 1, MIN - 1, False))


def test_outside_a_deferral_the_crossing_write_starts_the_rebuild(
    bare_store: GraphStore,
) -> None:
    """A single write (an API delete) still rebuilds at once: nobody would call
    ``maintain`` after it. It does not wait for the build."""
    batches = [_doc(i) for i in range(WRITTEN)]
    for b in batches:
        bare_store.upsert_batch(b)
    _wait(bare_store)
    for b in batches[KEPT:]:
        assert bare_store.delete_document(b.doc_id)
    state = _chunk_index(bare_store)
    if state is not None:
        live, deleted, _building = state
        # Rebuilt at the MIN-th delete; the 10 after it are counted for the new index.
        assert (live, deleted) == (KEPT, WRITTEN - KEPT - MIN)
    _wait(bare_store)
    live_vectors = {b.nodes[0].id: _chunk_vector(b) for b in batches[:KEPT]}
    assert _live_recall(bare_store, live_vectors, k=10) == [1.0] * KEPT


def test_the_write_through_store_forwards_upkeep(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store the app and the CLI open (graph store + RDF view) defers and maintains
    like its graph store."""
    from impact_graph.store.port import GraphStore as Port
    from impact_graph.store.writethrough import WriteThroughStore

    if not isinstance(store, WriteThroughStore):
        pytest.skip("the RDF view is off: the graph store itself is tested above")
    if WriteThroughStore.maintain is Port.maintain:
        pytest.skip(
            "src/impact_graph/store/writethrough.py does not forward maintain yet "
            "(patch /tmp/p/patches/H36-writethrough-maintain.patch)"
        )
    monkeypatch.setattr(falkordb_store, "VECTOR_REBUILD_MIN", MIN)
    batches = [_doc(i) for i in range(WRITTEN)]
    for b in batches:
        store.upsert_batch(b)
    _wait(store)
    with store.maintenance_deferred():
        for b in batches[KEPT:]:
            assert store.delete_document(b.doc_id)
        assert _chunk_index(store) in (None, (KEPT, WRITTEN - KEPT, False))
    done = store.maintain()
    assert len(done) == (0 if store.backend == "neo4j" else 1)
    assert _chunk_index(store) in (None, (KEPT, 0, False))
