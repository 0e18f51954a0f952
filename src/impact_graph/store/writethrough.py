"""`WriteThroughStore`: a `GraphStore` that writes every batch and every delete to the graph
store AND the RDF view in the same call, so SPARQL always sees the facts Cypher sees.

Order and failure handling (why): the graph store goes first because it decides whether
a batch is new (content hash) and is the source of truth for search. Then the RDF view
replaces the document's named graph in one transaction. If the view fails, the document
is taken out of the graph store again and the error is raised -- the same outcome as a
failed graph write ("nothing of it was kept, ingest it again"), so the two never
disagree about which documents exist. An unchanged batch that the graph store skips is
still written to the view when the view's copy is missing or stale, which repairs a view
that was switched on later or lost a write.

Cost: the embedded view keeps its read-write store open between writes (see
``impact_graph.rdf.view``: it lets go when idle for 2 s, when another process waits for
it, and at ``close()``), so an ingest pays the RDF update per document but not a reopen.
Within ``maintenance_deferred`` (an ingest run) the view is also held through the run's
pauses and flushed less often (``RdfView.held_for_ingest``).
Call ``close()`` when done writing: it releases the view for other processes at once.

Everything else (search, reads, Cypher, stats) is the wrapped store's, untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from impact_graph.model import GraphBatch, QueryResult, SearchHit, Subgraph
from impact_graph.rdf.view import RdfView
from impact_graph.schema import Schema
from impact_graph.store.port import GraphStore, StoreError, StoreStats, WriteResult


class WriteThroughStore(GraphStore):
    """Decorates a `GraphStore` with an `RdfView` kept in step on every write."""

    def __init__(self, inner: GraphStore, view: RdfView) -> None:
        self.inner = inner
        self.view = view
        self.backend = inner.backend

    # -- writes: both stores ------------------------------------------------------------

    def setup_schema(self, schema: Schema) -> None:
        self.inner.setup_schema(schema)
        self.view.setup()
        self._drop_orphans()

    def _drop_orphans(self) -> None:
        """Documents the view holds but the graph store does not (a crash between the two
        writes, or a graph store reset without the view) are dropped from the view."""
        stored = self.inner.document_hashes()
        for doc_id in set(self.view.document_hashes()) - set(stored):
            self.view.delete_document(doc_id)

    def upsert_batch(self, batch: GraphBatch) -> WriteResult:
        result = self.inner.upsert_batch(batch)
        if result.skipped and self.view.document_hash(batch.doc_id) == batch.content_hash:
            return result
        try:
            self.view.write_batch(batch)
        except StoreError as e:
            try:
                self.inner.delete_document(batch.doc_id)
            except StoreError as e2:
                raise StoreError(
                    f"{e} The graph store still holds {batch.doc_id} and could not drop it "
                    f"({e2}); delete the document and ingest it again."
                ) from e
            raise StoreError(
                f"{e} The document was taken out of the graph store too, so both agree; "
                "ingest it again once the RDF view is back."
            ) from e
        return result

    def delete_document(self, doc_id: str) -> bool:
        found = self.inner.delete_document(doc_id)
        in_view = self.view.delete_document(doc_id)
        return found or in_view

    def clear(self) -> None:
        self.inner.clear()
        self.view.clear()

    # -- upkeep: the graph store's (the view has none) -----------------------------------
    # Forwarded by name: the port's no-op defaults would otherwise hide the graph store's
    # own (``__getattr__`` is only asked for names the class lacks), and an ingest run
    # would still rebuild FalkorDB's vector indexes inside its writes, never at its end.

    def maintain(self, progress: Callable[[str], None] | None = None) -> list[str]:
        return self.inner.maintain(progress)

    @contextmanager
    def maintenance_deferred(self) -> Iterator[None]:
        """The graph store's deferral, and the RDF view held for the run
        (`RdfView.held_for_ingest`): an ingest's pauses between embedding groups no
        longer flush and release the view, whose every flush costs a compaction over
        the whole view (issue 3)."""
        with self.inner.maintenance_deferred(), self.view.held_for_ingest():
            yield

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.view.close()

    # -- reads: the graph store's ---------------------------------------------------------

    def document_hashes(self) -> dict[str, str]:
        """Documents held with the same hash by both sides. The pipeline skips a document
        by this map before any work, so a document the view lost (a kill between the two
        writes) must not be listed: the rerun then writes it again, the graph store skips
        it by hash and the view gets its copy back (found by tests/test_faults.py)."""
        view = self.view.document_hashes()
        return {d: h for d, h in self.inner.document_hashes().items() if view.get(d) == h}

    def vector_search(
        self,
        label: str,
        vector: Sequence[float],
        k: int = 10,
        *,
        props: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        return self.inner.vector_search(label, vector, k, props=props)

    def fulltext_search(
        self, label: str, text: str, k: int = 10, *, props: Sequence[str] | None = None
    ) -> list[SearchHit]:
        return self.inner.fulltext_search(label, text, k, props=props)

    def get_nodes(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return self.inner.get_nodes(ids)

    def neighbourhood(self, node_id: str, hops: int = 1, limit: int = 500) -> Subgraph:
        return self.inner.neighbourhood(node_id, hops, limit)

    def read_query(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_s: float = 5.0,
        row_cap: int = 1000,
    ) -> QueryResult:
        return self.inner.read_query(query, params, timeout_s=timeout_s, row_cap=row_cap)

    def stats(self) -> StoreStats:
        return self.inner.stats()

    def __getattr__(self, name: str) -> Any:
        # Backend extras (e.g. FalkorDB's incomplete_documents) stay reachable.
        return getattr(self.inner, name)


def with_rdf_view(store: GraphStore, settings: Any) -> GraphStore:
    """Wrap ``store`` with the RDF view the settings ask for (``IMPACT_GRAPH_RDF``)."""
    from impact_graph.rdf.view import open_view

    try:
        view = open_view(settings)
    except Exception:
        store.close()
        raise
    return store if view is None else WriteThroughStore(store, view)
