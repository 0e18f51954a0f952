"""The `GraphStore` port: the narrow interface every backend implements.

Everything above the store (ingest pipeline, search, API, CLI) speaks only to this port;
everything dialect-specific (index DDL, vector and fulltext procedure calls, constraint
syntax, score normalisation, read-only enforcement) lives inside one backend module.

Contract (checked by ``tests/test_store_contract.py`` on every backend):

* ``upsert_batch`` is idempotent and replaces the facts the batch's document had before,
  atomically: either the whole document is visible afterwards or none of it.
* ``delete_document`` removes that document's facts and nothing else: shared nodes and
  edges only lose the document from their provenance and survive while another
  document still supports them.
* Search scores are similarities in [0, 1], best first.
* ``read_query`` never writes, stops at ``timeout_s`` and returns at most ``row_cap`` rows
  (``truncated`` says when it cut).
* Upkeep: a write may leave the store's own upkeep due (FalkorDB: a vector index to
  rebuild, because its HNSW index keeps deleted vectors). Outside
  ``maintenance_deferred`` the store does it at once; inside, writes only leave it due
  and ``maintain`` does it. The ingest pipeline defers for a whole run and calls
  ``maintain`` at its end, so no document's write waits for an index build; single
  writes elsewhere (an API delete) keep the upkeep at once. Search recall never depends
  on it: FalkorDB widens vector queries by the deleted count until the rebuild.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from impact_graph.model import GraphBatch, QueryResult, SearchHit, Subgraph
from impact_graph.schema import Schema


class StoreError(Exception):
    """Base of all store errors; the message is a sentence a user can act on."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (not started, crashed, wrong address)."""


class StoreAuthError(StoreError):
    """The database refused the credentials."""


class QueryRefused(StoreError):
    """A researcher query tried to write or to reach outside the graph."""


class QueryTimeout(StoreError):
    """A researcher query ran past its time limit and was stopped."""


class QuerySyntaxError(StoreError):
    """The query text could not be parsed."""


@dataclass(slots=True)
class WriteResult:
    """What one ``upsert_batch`` did."""

    doc_id: str
    nodes: int = 0
    edges: int = 0
    skipped: bool = False  # unchanged content hash: nothing written


@dataclass(slots=True)
class IndexState:
    """One index as the backend reports it."""

    name: str
    label: str
    kind: str  # "vector" | "fulltext" | "range"
    properties: list[str]
    state: str  # "online" | "populating" | "failed" | backend word


@dataclass(slots=True)
class StoreStats:
    """Counts by node label and relationship type, plus index state."""

    backend: str
    nodes: dict[str, int] = field(default_factory=dict)
    relationships: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    indexes: list[IndexState] = field(default_factory=list)

    @property
    def total_nodes(self) -> int:
        return sum(self.nodes.values())

    @property
    def total_relationships(self) -> int:
        return sum(self.relationships.values())


class GraphStore(ABC):
    """One graph database behind the port. Backends: ``falkordb``, ``neo4j``."""

    backend: str = "abstract"

    @abstractmethod
    def setup_schema(self, schema: Schema) -> None:
        """Create constraints and indexes derived from the ontology (idempotent)."""

    @abstractmethod
    def document_hashes(self) -> dict[str, str]:
        """Map of stored document id to its content hash (what re-ingest compares)."""

    @abstractmethod
    def upsert_batch(self, batch: GraphBatch) -> WriteResult:
        """Write one document's facts, replacing what it had before, all or nothing."""

    @abstractmethod
    def delete_document(self, doc_id: str) -> bool:
        """Remove one document and the facts only it supported; False if unknown."""

    @abstractmethod
    def vector_search(
        self,
        label: str,
        vector: Sequence[float],
        k: int = 10,
        *,
        props: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        """Nearest nodes of ``label`` by cosine similarity (in [0, 1]).

        ``props``: the properties wanted in each hit's ``props`` (plus ``id``; missing
        ones left out); ``None`` gives every property but the embedding. Callers that rank
        by id and score (the search arms) ask for a few: a chunk's text is most of a hit.
        """

    @abstractmethod
    def fulltext_search(
        self, label: str, text: str, k: int = 10, *, props: Sequence[str] | None = None
    ) -> list[SearchHit]:
        """Dutch-analysed fulltext search over the label's text properties (``props`` as
        in ``vector_search``)."""

    @abstractmethod
    def get_nodes(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Nodes by id as property dicts with ``id`` and ``label`` (missing ids skipped)."""

    @abstractmethod
    def neighbourhood(self, node_id: str, hops: int = 1, limit: int = 500) -> Subgraph:
        """The node, everything within ``hops`` relationships, and the edges among them."""

    @abstractmethod
    def read_query(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_s: float = 5.0,
        row_cap: int = 1000,
    ) -> QueryResult:
        """Run a researcher's Cypher read-only, time- and row-limited."""

    @abstractmethod
    def stats(self) -> StoreStats:
        """Counts and index state."""

    @abstractmethod
    def clear(self) -> None:
        """Drop every node and relationship (tests and ``db reset``); keeps indexes."""

    def maintain(self, progress: Callable[[str], None] | None = None) -> list[str]:
        """Do the upkeep that writes left due, now, and wait until it is done; one
        sentence per thing done ([] when nothing was due).

        ``progress`` is told what is about to take time (a phrase such as "rebuilding
        the vector index of Chunk (20,000 vectors)"), so a caller can show it instead of
        pausing silently. Not abstract: a store without upkeep (Neo4j: its vector index
        drops deleted vectors itself) has nothing to do, and wrappers forward it."""
        return []

    @contextmanager
    def maintenance_deferred(self) -> Iterator[None]:
        """Within the block, writes that make upkeep due leave it for `maintain` instead
        of doing it themselves (re-entrant; other threads' writes on this store are
        deferred too). The caller calls `maintain` after the block. A store without
        upkeep has nothing to defer."""
        yield

    @abstractmethod
    def close(self) -> None:
        """Release connections (and, for the embedded backend, leave the server running
        or stop it as configured)."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
