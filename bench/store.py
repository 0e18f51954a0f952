"""Both graph-store backends side by side: write throughput, search latency, recall, memory.

Run (from the repo root)::

    .venv/bin/python bench/store.py                      # 10k and 100k, falkordb and neo4j
    .venv/bin/python bench/store.py --quick --backends falkordb      # smoke run, seconds
    .venv/bin/python bench/store.py --sizes 100000 --json bench/store.json

What and why:

* **Data** is generated and seeded, so every run writes the same graph: documents of
  1,000 nodes each (one ``Document``, 600 ``Chunk``s with Dutch-ish text and clustered
  384-d unit vectors, 399 entities of the ontology's classes, 7 ``Challenge``s shared by all
  documents) and ~2,400 relationships each (``HAS_CHUNK``, ``MENTIONS``, ``ADDRESSES``,
  ``TARGETS``, ...). Vectors are clustered (topics > subtopics > points), not uniform
  random: uniform vectors in 384-d are all nearly orthogonal, which is neither what real
  embeddings look like nor a fair test of an HNSW index.
* **Writes** go through ``GraphStore.upsert_batch`` one document at a time, the real write
  path. Three passes, each on a cleared store: (A) nodes only, no vectors -> nodes/s;
  (B) whole batches without vectors -> rels/s from the extra time over A; (C) whole
  batches with vectors -> nodes/s as ingest sees it and vectors/s from the extra time
  over B. The store's indexes exist during all passes (as in production).
* **Index build**: FalkorDB builds vector indexes in the background after writes; we poll
  ``stats().indexes`` until every index is online and report the wait.
* **Queries** run one at a time after a warm-up: vector k=10 (latency and recall@10
  against exact cosine), fulltext, 2-hop neighbourhood, and ``RETURN 1`` through the raw
  driver (per-query overhead) and through ``read_query`` (the port's own overhead).
* **Baselines** from the same run, because this machine is shared and noisy: exact cosine
  top-10 with numpy over the same vectors (ground truth and a latency floor).
* **HNSW sweep** (FalkorDB, largest size >= 100k, or any size with ``--sweep``): the vector
  index is dropped and rebuilt with efRuntime 10, 50, 200 to show what the default buys.
  efRuntime is an index option in FalkorDB (not a query option), hence the rebuild.

Why FalkorDB's nodes-only pass (A) misses 20,000 nodes/s: it is the server's CPU. Pass
A writes one query per 1,000-node document and waits for it, so its wall time is the
client's CPU plus the server's, and the server's is 86-95% of it. In the ``make bench``
runs of 2026-11-28 that CPU was 0.44, 0.48, 0.87, 0.50 and 0.95 s for the same 10,000
nodes (20,540 ... 9,977 nodes/s), while the store's write path did not get dearer for
the server: paired against the store of those runs (``bench/tools/store_paired.py
--store-bench 10000 --old <its falkordb_store.py> --rounds 5``, load ~8-11) the server
took 72 (that store) vs 69 ms (this one) a document against 1833020's store (the
20,540 run) and 86 vs 80 against f113067's (17,095), the client 7.6 -> 5.9 and
9.4 -> 6.3 ms (H56's text building). A
first pass on a fresh server costs what later passes cost (0.61-0.63 vs 0.59-0.66 s,
3 restarts), so it is the machine's state, not the order of the passes. What the
indexes cost, paired the same way (load ~9-11; the graphs compare equal, only the
indexes differ):

================================  ================  ===========  =================
schema of the graph               server ms a doc   client ms    nodes per CPU s
================================  ================  ===========  =================
as shipped                        78-91             6.7-8.1      9,950-12,000
without the Chunk fulltext index  65                8.1          13,900
without the per-label range       67                7.2          13,100
indexes (``Node.id`` kept)
without both                      45                7.9          19,200
================================  ================  ===========  =================

Neither can go: the per-label ``id`` range indexes serve ``MATCH (i:Intervention {id:
...})`` in the network, API and web pages, and the Chunk fulltext index serves search's
fulltext arm. So 20,000 nodes/s holds only when the machine gives the server ~0.45 s
for the pass. Compare versions by ``write_cpu`` (``nodes_per_cpu_s``) or paired runs,
not by this wall-time rate.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # the script's own directory, put on sys.path above
    Latency,
    add_common_args,
    console,
    fmt,
    machine_info,
    make_table,
    measure_latency,
    mib,
    peak_rss_self_bytes,
    rss_bytes,
    save_json,
    timed,
    verdict,
)

from impact_graph.config import Settings
from impact_graph.model import Edge, GraphBatch, Node, make_id, span_ref
from impact_graph.store.port import GraphStore

DIM = 384
K = 10
NODES_PER_DOC = 1000
CHUNKS_PER_DOC = 600
SEED = 20261127

# Entities per document by class (399 in all, with the shared challenges).
ENTITY_MIX = {
    "Intervention": 80,
    "Actor": 80,
    "TargetGroup": 40,
    "WorkingElement": 60,
    "Effect": 60,
    "Evidence": 30,
    "Programme": 10,
    "Area": 32,
}
SHARED_CHALLENGES = [
    "eenzaamheid",
    "werk voor statushouders",
    "thuiszitters",
    "overgewicht",
    "jeugdcriminaliteit",
    "leefbaarheid",
    "CO2-uitstoot",
]
assert sum(ENTITY_MIX.values()) + len(SHARED_CHALLENGES) + CHUNKS_PER_DOC + 1 == NODES_PER_DOC

# A small Dutch word list for chunk text and fulltext queries.
WORDS = (  # noqa: SIM905 - a word list reads better as text than as a list literal
    "ouderen jongeren gezinnen statushouders inwoners vrijwilligers professionals buurt wijk "
    "gemeente school leerplicht thuiszitter eenzaamheid isolement ontmoeting buurthuis "
    "werkgever taal inburgering participatie begeleiding coaching mentor preventie gezondheid "
    "bewegen sport voeding overgewicht schuldhulp armoede wonen leefbaarheid veiligheid "
    "criminaliteit politie zorg huisarts welzijn recept netwerk samenwerking aanpak "
    "programma interventie effect onderzoek evaluatie monitor resultaat doel ambitie opdracht "
    "verkennen inrichten leren reisverslag werkzaam element onderbouwd erkend methode "
    "training groep individueel maatje bezoek activiteit cursus dagbesteding mantelzorg "
    "energie isolatie woning warmte klimaat uitstoot fiets vervoer groen speeltuin jongerenwerk "
    "straat hangplek toezicht herstel bemiddeling ouders kinderen onderwijs verzuim "
    "leerling docent zorgcoordinator wijkteam jeugdhulp integratie vluchteling werk baan "
    "stage opleiding vaardigheden vertrouwen contact verbinding steun hulp advies"
).split()


# --- generated data -------------------------------------------------------------------


@dataclass(slots=True)
class Dataset:
    """The generated graph for one size: vectors, texts and the ids the queries use."""

    n_nodes: int
    n_docs: int
    vectors: np.ndarray  # (n_chunks, DIM) float32, unit length
    chunk_ids: list[str]
    chunk_words: np.ndarray  # (n_chunks, words_per_chunk) indices into WORDS
    query_vectors: np.ndarray  # (n_queries, DIM), drawn like the data, not stored
    fulltext_queries: list[str]
    hop_starts: list[str]  # Intervention ids for 2-hop neighbourhoods
    entity_ids: dict[str, list[str]] = field(default_factory=dict)


def clustered_vectors(
    rng: np.random.Generator, n: int, centres: np.ndarray, spread: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors around random ``centres``; returns (vectors, centre index).

    Each point is ``centre + a * u`` with ``u`` a random unit vector and ``a`` drawn from
    ``spread``: cos(point, centre) = 1/sqrt(1 + a^2), so spread (0.6, 1.3) gives 0.6-0.86,
    and two points of one subtopic meet at ~0.4-0.7 -- the range real sentence embeddings
    of related text fall in.
    """
    which = rng.integers(0, len(centres), size=n)
    noise = rng.standard_normal((n, centres.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    a = rng.uniform(*spread, size=(n, 1)).astype(np.float32)
    v = centres[which] + a * noise
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32), which


def make_dataset(n_nodes: int, n_queries: int, seed: int = SEED) -> Dataset:
    """Generate the deterministic graph of ``n_nodes`` (a multiple of 1,000)."""
    rng = np.random.default_rng(seed + n_nodes)
    n_docs = max(1, n_nodes // NODES_PER_DOC)
    n_chunks = n_docs * CHUNKS_PER_DOC

    # Topics > subtopics > points; subtopics scale with the data like real corpora.
    n_topics = 24
    topics = rng.standard_normal((n_topics, DIM)).astype(np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    n_sub = max(n_topics * 4, n_chunks // 150)
    subs, sub_topic = clustered_vectors(rng, n_sub, topics, (0.7, 1.0))
    vectors, which = clustered_vectors(rng, n_chunks, subs, (0.6, 1.3))
    queries, _ = clustered_vectors(rng, n_queries, subs, (0.6, 1.3))

    # Text follows the topic: each topic prefers 12 words, plus general vocabulary.
    words_per_chunk = 40
    topic_words = rng.integers(0, len(WORDS), size=(n_topics, 12))
    chunk_topic = sub_topic[which]
    own = topic_words[chunk_topic][:, rng.integers(0, 12, size=words_per_chunk)]
    general = rng.integers(0, len(WORDS), size=(n_chunks, words_per_chunk))
    pick_own = rng.random((n_chunks, words_per_chunk)) < 0.5
    chunk_words = np.where(pick_own, own, general)

    doc_ids = [make_id("Document", f"bench-{n_nodes}-{d:05d}.md") for d in range(n_docs)]
    chunk_ids = [f"chunk:{doc_ids[d]}:{c}" for d in range(n_docs) for c in range(CHUNKS_PER_DOC)]
    entity_ids = {
        label: [make_id(label, f"{label} {d} {i}") for d in range(n_docs) for i in range(count)]
        for label, count in ENTITY_MIX.items()
    }
    singles = [WORDS[i] for i in rng.integers(0, len(WORDS), size=n_queries)]
    pairs = [f"{WORDS[a]} {WORDS[b]}" for a, b in rng.integers(0, len(WORDS), size=(n_queries, 2))]
    fulltext = [singles[i] if i % 2 == 0 else pairs[i] for i in range(n_queries)]
    interventions = entity_ids["Intervention"]
    starts = [interventions[i] for i in rng.integers(0, len(interventions), size=n_queries)]
    return Dataset(
        n_nodes=n_nodes,
        n_docs=n_docs,
        vectors=vectors,
        chunk_ids=chunk_ids,
        chunk_words=chunk_words,
        query_vectors=queries,
        fulltext_queries=fulltext,
        hop_starts=starts,
        entity_ids=entity_ids,
    )


def document_batch(ds: Dataset, d: int, *, vectors: bool, edges: bool) -> GraphBatch:
    """Document ``d`` of the dataset as one GraphBatch (same content on every call)."""
    rng = np.random.default_rng(SEED * 31 + d)  # per document, so passes agree
    doc_id = make_id("Document", f"bench-{ds.n_nodes}-{d:05d}.md")
    chash = hashlib.sha256(f"{doc_id}|{SEED}".encode()).hexdigest()
    document = Node(
        doc_id,
        "Document",
        {
            "title": f"Programmaplan {d}",
            "content_hash": chash,
            "kind": "plan",
            "created_at": "2026-11-27T06:00:00Z",
        },
    )
    nodes: list[Node] = []
    out: list[Edge] = []
    base = d * CHUNKS_PER_DOC
    pos = 0
    for c in range(CHUNKS_PER_DOC):
        text = " ".join(WORDS[w] for w in ds.chunk_words[base + c])
        span = span_ref(doc_id, pos, pos + len(text))
        nodes.append(
            Node(
                ds.chunk_ids[base + c],
                "Chunk",
                {"text": text, "position": c, "start": pos, "end": pos + len(text)},
                vector=ds.vectors[base + c].tolist() if vectors else None,
                spans=[span],
            )
        )
        pos += len(text) + 1

    ents: dict[str, list[str]] = {}
    for label, count in ENTITY_MIX.items():
        ids = ds.entity_ids[label][d * count : (d + 1) * count]
        ents[label] = ids
        for i, nid in enumerate(ids):
            name = f"{label} {d} {i}"
            nodes.append(
                Node(
                    nid,
                    label,
                    {"name": name, "aliases": [name.lower()], "description": f"{name} in de wijk"},
                    spans=[span_ref(doc_id, 0, 10)],
                )
            )
    challenges = [make_id("Challenge", c) for c in SHARED_CHALLENGES]
    for cid, name in zip(challenges, SHARED_CHALLENGES, strict=True):
        nodes.append(
            Node(
                cid, "Challenge", {"name": name, "aliases": [name]}, spans=[span_ref(doc_id, 0, 9)]
            )
        )
    if not edges:
        return GraphBatch(document, nodes, [])

    all_entities = [e for ids in ents.values() for e in ids] + challenges

    def pick(ids: list[str]) -> str:
        return ids[int(rng.integers(0, len(ids)))]

    for c in range(CHUNKS_PER_DOC):
        cid = ds.chunk_ids[base + c]
        out.append(Edge(doc_id, "HAS_CHUNK", cid, spans=[nodes[c].spans[0]]))
        for j in range(2):
            start, end = 10 * j, 10 * j + 8
            out.append(
                Edge(
                    cid,
                    "MENTIONS",
                    pick(all_entities),
                    {"start": start, "end": end},
                    key=f"{start}-{end}",
                    spans=[span_ref(doc_id, start, end)],
                )
            )
    sp = [span_ref(doc_id, 0, 10)]
    for i, iv in enumerate(ents["Intervention"]):
        out.append(Edge(iv, "ADDRESSES", challenges[i % len(challenges)], spans=sp))
        out.append(Edge(iv, "TARGETS", pick(ents["TargetGroup"]), spans=sp))
        out.append(Edge(iv, "HAS_ELEMENT", pick(ents["WorkingElement"]), spans=sp))
        out.append(Edge(iv, "HAS_EFFECT", ents["Effect"][i % len(ents["Effect"])], spans=sp))
    for i, actor in enumerate(ents["Actor"]):
        out.append(Edge(actor, "DELIVERS", ents["Intervention"][i], spans=sp))
        out.append(
            Edge(actor, "PARTICIPATES_IN", pick(ents["Programme"]), {"role": "partner"}, spans=sp)
        )
    for eff in ents["Effect"]:
        out.append(Edge(eff, "SUPPORTED_BY", pick(ents["Evidence"]), spans=sp))
    for ev in ents["Evidence"]:
        out.append(Edge(ev, "DERIVED_FROM", doc_id, spans=sp))
    for i, prog in enumerate(ents["Programme"]):
        out.append(Edge(prog, "USES", ents["Intervention"][2 * i], spans=sp))
        out.append(Edge(prog, "USES", ents["Intervention"][2 * i + 1], spans=sp))
        out.append(Edge(prog, "IN_AREA", ents["Area"][i], spans=sp))
    return GraphBatch(document, nodes, out)


# --- exact search baseline ------------------------------------------------------------


def exact_topk(vectors: np.ndarray, q: np.ndarray, k: int = K) -> np.ndarray:
    """Indices of the ``k`` most cosine-similar rows (vectors are unit length)."""
    sims = vectors @ q
    top = np.argpartition(-sims, k)[:k]
    return top[np.argsort(-sims[top])]


def recall_at_k(found: list[list[str]], truth: list[set[str]], k: int = K) -> float:
    """Mean share of the true top-k that the index returned."""
    return float(np.mean([len(set(f[:k]) & t) / k for f, t in zip(found, truth, strict=True)]))


# --- backends -------------------------------------------------------------------------


@dataclass(slots=True)
class Backend:
    """How to open one backend, reach its raw driver and read its memory."""

    name: str
    settings: Settings
    raw_ping: Callable[[], object]
    raw_vector: Callable[[list[float]], list[str]]  # ids of the k=10 nearest chunks
    memory: Callable[[], dict[str, int | None]]
    index_settings: Callable[[], dict[str, Any]]
    close: Callable[[], None]
    notes: dict[str, Any] = field(default_factory=dict)
    #: The server process's id, to read its CPU time (None: not ours to read).
    server_pid: Callable[[], int | None] = lambda: None


def falkordb_backend(stack: contextlib.ExitStack) -> Backend:
    """Embedded FalkorDB in a fresh temp data dir (short path: unix sockets allow 107 bytes)."""
    import redis
    from falkordb import FalkorDB

    from impact_graph.store.falkordb_server import FalkorDBServer

    data = Path(tempfile.mkdtemp(prefix="igb-fk-"))
    # The graph store alone: the RDF write-through has its own cost (bench/ingest.py).
    settings = Settings(backend="falkordb", data_dir=data, graph_name="bench", rdf="off")
    server = FalkorDBServer(settings.data_path)
    server.ensure_running()

    def stop() -> None:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)

    stack.callback(stop)
    # The raw client talks to the same graph (a read on a graph that does not exist fails).
    raw = FalkorDB(unix_socket_path=str(server.socket_path)).select_graph(settings.graph_name)
    info_client = redis.Redis(unix_socket_path=str(server.socket_path), decode_responses=True)

    def memory() -> dict[str, int | None]:
        info = info_client.info("memory")
        pid = server.read_pid()
        return {
            "used_memory": int(info["used_memory"]),
            "rss": rss_bytes(pid) if pid else None,
        }

    def index_settings() -> dict[str, Any]:
        g = FalkorDB(unix_socket_path=str(server.socket_path)).select_graph(settings.graph_name)
        rows = g.ro_query(
            "CALL db.indexes() YIELD label, types, options RETURN label, types, options"
        ).result_set
        for label, types, options in rows:
            if label == "Chunk" and "VECTOR" in types.get("embedding", []):
                return dict(options["embedding"])
        return {}

    def raw_vector(v: list[float]) -> list[str]:
        rows = raw.ro_query(
            "CALL db.idx.vector.queryNodes('Chunk', 'embedding', $k, vecf32($v)) "
            "YIELD node, score RETURN node.id",
            {"k": K, "v": v},
        ).result_set
        return [r[0] for r in rows]

    return Backend(
        "falkordb",
        settings,
        raw_ping=lambda: raw.ro_query("RETURN 1").result_set,
        raw_vector=raw_vector,
        memory=memory,
        index_settings=index_settings,
        close=info_client.close,
        server_pid=server.read_pid,
        notes={
            "hnsw": {
                "M": settings.falkordb_m,
                "efConstruction": settings.falkordb_ef_construction,
                "efRuntime": settings.falkordb_ef_runtime,
            }
        },
    )


def neo4j_backend(stack: contextlib.ExitStack, heap: str) -> Backend:
    """A real Neo4j 5.26 started for this run (or the one named by the test env vars)."""
    import neo4j

    from impact_graph.testing.neo4j_server import Neo4jServer

    console.print("[dim]starting Neo4j ...[/dim]")
    with timed() as t:
        srv = stack.enter_context(Neo4jServer(heap=heap))
    console.print(f"[dim]Neo4j up in {t.s:.1f} s at {srv.uri}[/dim]")
    settings = Settings(
        backend="neo4j",
        rdf="off",  # the graph store alone, as for FalkorDB
        neo4j_uri=srv.uri,
        neo4j_user=srv.user,
        neo4j_password=srv.password,  # type: ignore[arg-type]
    )
    driver = neo4j.GraphDatabase.driver(srv.uri, auth=(srv.user, srv.password))
    session = driver.session(database=settings.neo4j_database)
    proc = getattr(srv, "_proc", None)  # None for an external server: RSS unknown

    def memory() -> dict[str, int | None]:
        return {"used_memory": None, "rss": rss_bytes(proc.pid) if proc else None}

    def index_settings() -> dict[str, Any]:
        rows = session.run(
            "SHOW VECTOR INDEXES YIELD name, labelsOrTypes, properties, options "
            "WHERE 'Chunk' IN labelsOrTypes RETURN name, options"
        ).data()
        return {r["name"]: r["options"].get("indexConfig", r["options"]) for r in rows}

    index_name: list[str] = []

    def raw_vector(v: list[float]) -> list[str]:
        if not index_name:
            index_name.extend(index_settings())
        rows = session.run(
            "CALL db.index.vector.queryNodes($name, $k, $v) YIELD node RETURN node.id AS id",
            name=index_name[0],
            k=K,
            v=v,
        )
        return [r["id"] for r in rows]

    def close() -> None:
        session.close()
        driver.close()

    return Backend(
        "neo4j",
        settings,
        raw_ping=lambda: session.run("RETURN 1").single(),
        raw_vector=raw_vector,
        memory=memory,
        index_settings=index_settings,
        close=close,
        notes={"heap": heap},
    )


# --- one run --------------------------------------------------------------------------


def process_cpu_s(pid: int | None) -> float | None:
    """utime + stime of a process in seconds (None without a pid or a readable /proc)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class WritePass:
    """One write pass: wall seconds, counts, and the CPU seconds behind them."""

    seconds: float
    nodes: int
    edges: int
    client_cpu_s: float  # this process (the store's client code and driver)
    server_cpu_s: float | None  # the database process, when we can read it


def write_pass(
    store: GraphStore,
    ds: Dataset,
    *,
    vectors: bool,
    edges: bool,
    server_pid: int | None = None,
) -> WritePass:
    """Clear, then write every document; wall time, counts and CPU time.

    Batches are built before the clock starts so that only the store's work is timed.
    CPU time is recorded too because on a shared machine the wall time follows the
    load: client + server CPU per node is the figure to compare versions by.
    """
    store.clear()
    batches = [document_batch(ds, d, vectors=vectors, edges=edges) for d in range(ds.n_docs)]
    n_nodes = n_edges = 0
    s0, c0 = process_cpu_s(server_pid), time.process_time()
    with timed() as t:
        for b in batches:
            res = store.upsert_batch(b)
            n_nodes += res.nodes
            n_edges += res.edges
    c1, s1 = time.process_time(), process_cpu_s(server_pid)
    server = s1 - s0 if s0 is not None and s1 is not None else None
    return WritePass(t.s, n_nodes, n_edges, c1 - c0, server)


def wait_for_indexes(store: GraphStore, timeout_s: float = 900.0) -> float:
    """Poll until every index is online; return how long that took."""
    t0 = time.perf_counter()
    while True:
        states = {i.state for i in store.stats().indexes}
        if states <= {"online"}:
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout_s:
            raise RuntimeError(f"indexes still {sorted(states)} after {timeout_s:.0f} s")
        time.sleep(0.25)


def vector_figures(
    store: GraphStore, ds: Dataset, truth: list[set[str]], queries: np.ndarray
) -> tuple[Latency, float]:
    """Latency of vector k=10 and recall@10 against the exact top-10."""
    qs = [q.tolist() for q in queries]
    lat, hits = measure_latency(lambda q: store.vector_search("Chunk", q, k=K), qs)
    found = [[h.id for h in hs] for hs in hits]  # type: ignore[attr-defined]
    return lat, recall_at_k(found, truth)


def run_backend(
    backend: Backend, ds: Dataset, truth: list[set[str]], schema: Any, sweep: list[int]
) -> dict[str, Any]:
    """All figures of one backend at one size."""
    from impact_graph.store import open_store

    out: dict[str, Any] = {}
    store = open_store(backend.settings)
    try:
        store.setup_schema(schema)
        # Warm-up (JIT, connection pools, caches): one document written, then cleared.
        store.upsert_batch(document_batch(ds, 0, vectors=True, edges=True))
        store.clear()
        pid = backend.server_pid()
        console.print(f"[dim]{backend.name} {ds.n_nodes:,}: writing nodes only ...[/dim]")
        pa = write_pass(store, ds, vectors=False, edges=False, server_pid=pid)
        console.print(f"[dim]{backend.name} {ds.n_nodes:,}: writing whole batches ...[/dim]")
        pb = write_pass(store, ds, vectors=False, edges=True, server_pid=pid)
        console.print(f"[dim]{backend.name} {ds.n_nodes:,}: writing with vectors ...[/dim]")
        pc = write_pass(store, ds, vectors=True, edges=True, server_pid=pid)
        ta, nodes_a = pa.seconds, pa.nodes
        tb, nodes_b, rels_b = pb.seconds, pb.nodes, pb.edges
        tc, nodes_c, rels_c = pc.seconds, pc.nodes, pc.edges
        n_vec = len(ds.chunk_ids)
        # CPU per pass (client process; server when readable): load-independent figures.
        out["write_cpu"] = {
            name: {
                "client_cpu_s": p.client_cpu_s,
                "server_cpu_s": p.server_cpu_s,
                "nodes_per_cpu_s": p.nodes / (p.client_cpu_s + (p.server_cpu_s or 0.0)),
            }
            for name, p in (("nodes_only", pa), ("batches", pb), ("vectors", pc))
        }
        for name, cpu in out["write_cpu"].items():
            server = cpu["server_cpu_s"]
            console.print(
                f"[dim]{backend.name} {ds.n_nodes:,} {name}: client {cpu['client_cpu_s']:.2f} "
                f"CPU s, server {'?' if server is None else f'{server:.2f}'} CPU s, "
                f"{cpu['nodes_per_cpu_s']:,.0f} nodes per CPU s[/dim]"
            )
        out["write"] = {
            "nodes_only_s": ta,
            "nodes_only_nodes_per_s": nodes_a / ta,
            "batches_s": tb,
            "batches_nodes_per_s": nodes_b / tb,
            "rels_marginal_s": tb - ta,
            "rels_per_s": rels_b / (tb - ta) if tb > ta else float("nan"),
            "vectors_s": tc,
            "vectors_nodes_per_s": nodes_c / tc,
            "vectors_rels_per_s": rels_c / tc,
            "vectors_marginal_s": tc - tb,
            "vectors_per_s": n_vec / (tc - tb) if tc > tb else float("nan"),
            "nodes": nodes_c,
            "rels": rels_c,
            "vectors": n_vec,
        }
        console.print(f"[dim]{backend.name} {ds.n_nodes:,}: waiting for indexes ...[/dim]")
        out["index_wait_s"] = wait_for_indexes(store)
        stats = store.stats()
        out["stored"] = {"nodes": stats.total_nodes, "rels": stats.total_relationships}

        console.print(f"[dim]{backend.name} {ds.n_nodes:,}: queries ...[/dim]")
        n = len(ds.query_vectors)
        ping, _ = measure_latency(lambda _x: backend.raw_ping(), list(range(n)))
        port_ping, _ = measure_latency(
            lambda _x: store.read_query("RETURN 1 AS one"), list(range(n))
        )
        vec, recall = vector_figures(store, ds, truth, ds.query_vectors)
        raw_vec, raw_found = measure_latency(
            backend.raw_vector, [q.tolist() for q in ds.query_vectors]
        )
        ft, ft_hits = measure_latency(
            lambda q: store.fulltext_search("Chunk", q, k=K), ds.fulltext_queries
        )
        hop, subs = measure_latency(
            lambda s: store.neighbourhood(s, hops=2, limit=500), ds.hop_starts
        )
        out["ping_raw"] = ping.summary()
        out["ping_port"] = port_ping.summary()
        out["vector"] = vec.summary()
        out["recall_at_10"] = recall
        out["vector_raw"] = raw_vec.summary()
        out["vector_raw_recall_at_10"] = recall_at_k(raw_found, truth)  # type: ignore[arg-type]
        out["fulltext"] = ft.summary()
        out["fulltext_mean_hits"] = float(np.mean([len(h) for h in ft_hits]))  # type: ignore[arg-type]
        out["hop2"] = hop.summary()
        out["hop2_mean_nodes"] = float(np.mean([len(s.nodes) for s in subs]))  # type: ignore[attr-defined]
        out["memory"] = backend.memory()
        out["index_settings"] = backend.index_settings()
        if sweep and backend.name == "falkordb":
            out["ef_sweep"] = falkordb_ef_sweep(store, backend, ds, truth, schema, sweep)
        store.clear()
    finally:
        store.close()
    return out


def falkordb_ef_sweep(
    store: GraphStore,
    backend: Backend,
    ds: Dataset,
    truth: list[set[str]],
    schema: Any,
    values: list[int],
) -> list[dict[str, Any]]:
    """Rebuild the Chunk vector index with each efRuntime and measure recall and latency.

    FalkorDB takes efRuntime only as an index option, so each value means dropping the
    vector index and building it again over the stored vectors (the rebuild time is
    reported too). The index is left at the last value; the caller clears the graph.
    """
    from impact_graph.store import open_store

    rows: list[dict[str, Any]] = []
    for ef in values:
        settings = backend.settings.model_copy(update={"falkordb_ef_runtime": ef})
        st = open_store(settings)
        try:
            st.read_query("RETURN 1")  # connection check
            st._q(  # type: ignore[attr-defined]  # dialect-specific DDL, benchmark only
                "DROP VECTOR INDEX FOR (n:Chunk) ON (n.embedding)"
            )
            with timed() as t:
                st.setup_schema(schema)
                wait_for_indexes(st)
            lat, recall = vector_figures(st, ds, truth, ds.query_vectors)
            rows.append(
                {"ef_runtime": ef, "recall_at_10": recall, "rebuild_s": t.s, **lat.summary()}
            )
            console.print(
                f"[dim]  efRuntime={ef}: recall@10 {recall:.3f}, p95 {lat.p95:.2f} ms, "
                f"rebuild {t.s:.1f} s[/dim]"
            )
        finally:
            st.close()
    return rows


# --- report ---------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    """One line of the per-size table."""

    title: str  # with the unit in brackets
    value: Callable[[dict[str, Any]], float | tuple[float, float] | None]
    digits: int = 1
    target: str = ""
    check: Callable[[float], bool] | None = None
    applies: tuple[str, ...] = ("falkordb", "neo4j")
    only_at: int = 0  # the target applies from this size on


def _get(*path: str) -> Callable[[dict[str, Any]], float | None]:
    def get(d: dict[str, Any]) -> float | None:
        cur: Any = d
        for p in path:
            if not isinstance(cur, dict) or p not in cur:
                return None
            cur = cur[p]
        return cur

    return get


def _pair(key: str) -> Callable[[dict[str, Any]], tuple[float, float] | None]:
    """p50 and p95 of a latency summary, shown in one cell."""

    def get(d: dict[str, Any]) -> tuple[float, float] | None:
        lat = d.get(key)
        return None if not lat else (lat["p50_ms"], lat["p95_ms"])

    return get


def _mib(v: float | None) -> float | None:
    return None if v is None else v / 2**20


ROWS = [
    Row("write, nodes only, no vectors (nodes/s)", _get("write", "nodes_only_nodes_per_s"), 0,
        ">= 20,000", lambda v: v >= 20_000, ("falkordb",)),
    Row("write, whole batches, no vectors (nodes/s)", _get("write", "batches_nodes_per_s"), 0),
    Row("  relationships, time over nodes only (rels/s)", _get("write", "rels_per_s"), 0,
        ">= 10,000", lambda v: v >= 10_000, ("falkordb",)),
    Row("write, whole batches with vectors (nodes/s)", _get("write", "vectors_nodes_per_s"), 0),
    Row("  same, relationships (rels/s)", _get("write", "vectors_rels_per_s"), 0),
    Row("  vectors, time over no vectors (vectors/s)", _get("write", "vectors_per_s"), 0),
    Row("  total write time with vectors (s)", _get("write", "vectors_s"), 1),
    Row("index build wait after writes (s)", _get("index_wait_s"), 1),
    Row("RETURN 1, raw driver p50 / p95 (ms)", _pair("ping_raw"), 2),
    Row("RETURN 1, via read_query p50 / p95 (ms)", _pair("ping_port"), 2),
    Row("vector k=10, vector_search p50 (ms)", _get("vector", "p50_ms"), 2),
    Row("vector k=10, vector_search p95 (ms)", _get("vector", "p95_ms"), 2,
        "<= 10 at 100k", lambda v: v <= 10.0, only_at=100_000),
    Row("vector recall@10 vs exact cosine", _get("recall_at_10"), 3,
        ">= 0.95", lambda v: v >= 0.95),
    Row("  raw index call, ids only, p50 / p95 (ms)", _pair("vector_raw"), 2),
    Row("  raw index call recall@10", _get("vector_raw_recall_at_10"), 3),
    Row("fulltext k=10 p50 / p95 (ms)", _pair("fulltext"), 2),
    Row("  fulltext hits per query", _get("fulltext_mean_hits"), 1),
    Row("2-hop neighbourhood p50 / p95 (ms)", _pair("hop2"), 2),
    Row("  nodes per neighbourhood (cap 500)", _get("hop2_mean_nodes"), 0),
    Row("memory: server process RSS (MiB)", lambda d: _mib(_get("memory", "rss")(d)), 0),
    Row("memory: redis used_memory (MiB)", lambda d: _mib(_get("memory", "used_memory")(d)), 0),
]  # fmt: skip


def print_size_table(size: int, figures: dict[str, Any], backends: list[str]) -> None:
    """One rich table: rows per metric, a column per backend, the baseline, target, verdict."""
    table = make_table(
        f"Graph stores at {size:,} nodes ({figures['docs']} documents, "
        f"{figures['chunks']:,} chunks with {DIM}-d vectors)",
        ["metric", *backends, "baseline", "target", "holds"],
    )
    for row in ROWS:
        cells = []
        holds = []
        for b in backends:
            v = row.value(figures.get(b, {}))
            if isinstance(v, tuple):
                cells.append(f"{fmt(v[0], '', row.digits)} / {fmt(v[1], '', row.digits)}")
                continue
            cells.append(fmt(v, "", row.digits))
            if row.check and b in row.applies and size >= row.only_at:
                known = v is not None and v == v  # NaN: the figure could not be derived
                holds.append(f"{b}: {verdict(row.check(v) if known else None)}")
        table.add_row(row.title, *cells, "", row.target, ", ".join(holds))
    base = figures["baseline"]
    table.add_row(
        "exact cosine top-10, numpy p50 / p95 (ms)",
        *["" for _ in backends],
        f"{base['exact']['p50_ms']:.2f} / {base['exact']['p95_ms']:.2f}",
        "",
        "",
    )
    console.print(table)


def print_sweep(size: int, rows: list[dict[str, Any]]) -> None:
    table = make_table(
        f"FalkorDB HNSW efRuntime sweep at {size:,} nodes (M and efConstruction as configured)",
        ["efRuntime", "recall@10", "p50", "p95", "index rebuild"],
    )
    for r in rows:
        table.add_row(
            str(r["ef_runtime"]),
            f"{r['recall_at_10']:.3f}",
            fmt(r["p50_ms"], "ms", 2),
            fmt(r["p95_ms"], "ms", 2),
            fmt(r["rebuild_s"], "s", 1),
        )
    console.print(table)


def print_settings(report: dict[str, Any]) -> None:
    s = report["settings"]
    table = make_table("Settings of this run", ["setting", "value"])
    table.columns[1].justify = "left"
    for k, v in s.items():
        table.add_row(k, str(v))
    console.print(table)


# --- main -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000", help="node counts, comma-separated")
    p.add_argument("--backends", default="falkordb,neo4j", help="falkordb, neo4j or both")
    p.add_argument("--queries", type=int, default=200, help="queries per measurement")
    p.add_argument(
        "--sweep",
        default="auto",
        help="efRuntime values for the FalkorDB sweep, e.g. 10,50,200; 'auto' = at the "
        "largest size if it is >= 100k; 'none' = skip",
    )
    p.add_argument("--neo4j-heap", default="2g", help="Java heap of the Neo4j started here")
    add_common_args(p)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.queries = "1000", 30
        if args.sweep == "auto":
            args.sweep = "none"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        sizes = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
    except ValueError:
        console.print(f"--sizes {args.sizes!r}: give node counts such as 10000,100000.")
        return 2
    if not sizes or any(s < NODES_PER_DOC or s % NODES_PER_DOC for s in sizes):
        console.print(f"--sizes {args.sizes!r}: each size must be a multiple of {NODES_PER_DOC}.")
        return 2
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - {"falkordb", "neo4j"}:
        console.print(f"--backends {args.backends!r}: choose from falkordb, neo4j.")
        return 2
    ef_values = [10, 50, 200]
    if args.sweep not in ("auto", "none"):
        try:
            ef_values = [int(x) for x in args.sweep.split(",")]
        except ValueError:
            console.print(f"--sweep {args.sweep!r}: give efRuntime values such as 10,50,200.")
            return 2

    from impact_graph.ontology import load_schema

    schema = load_schema()
    t_start = time.perf_counter()
    report: dict[str, Any] = {"machine": machine_info(), "sizes": {}}
    with contextlib.ExitStack() as stack:
        opened: dict[str, Backend] = {}
        for name in backends:
            b = (
                falkordb_backend(stack)
                if name == "falkordb"
                else neo4j_backend(stack, args.neo4j_heap)
            )
            stack.callback(b.close)
            opened[name] = b
        for size in sizes:
            with timed() as gen:
                ds = make_dataset(size, args.queries)
                exact, idx = measure_latency(
                    lambda q, ds=ds: exact_topk(ds.vectors, q), list(ds.query_vectors)
                )
                truth = [{ds.chunk_ids[i] for i in ix} for ix in idx]  # type: ignore[union-attr]
            console.print(f"[dim]{size:,} nodes: data generated in {gen.s:.1f} s[/dim]")
            sweep_here = args.sweep not in ("none",) and (
                args.sweep != "auto" or (size == sizes[-1] and size >= 100_000)
            )
            figures: dict[str, Any] = {
                "docs": ds.n_docs,
                "chunks": len(ds.chunk_ids),
                "baseline": {"exact": exact.summary()},
            }
            for name, b in opened.items():
                with timed() as t:
                    figures[name] = run_backend(
                        b, ds, truth, schema, ef_values if sweep_here else []
                    )
                figures[name]["elapsed_s"] = t.s
            report["sizes"][str(size)] = figures
            print_size_table(size, figures, list(opened))
            if "ef_sweep" in figures.get("falkordb", {}):
                print_sweep(size, figures["falkordb"]["ef_sweep"])
        report["settings"] = {
            "sizes": sizes,
            "backends": backends,
            "nodes per document (batch)": NODES_PER_DOC,
            "chunks per document": CHUNKS_PER_DOC,
            "vector dimensions": DIM,
            "queries per measurement": args.queries,
            "seed": SEED,
            **{
                f"{n} index settings (Chunk)": b.index_settings() or b.notes
                for n, b in opened.items()
            },
            **{f"{n} notes": b.notes for n, b in opened.items() if n != "falkordb"},
            "benchmark process peak RSS": mib(peak_rss_self_bytes()),
            "total run time": f"{time.perf_counter() - t_start:.0f} s",
        }
        print_settings(report)
    if args.json:
        save_json(args.json, report)
        console.print(f"figures saved to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
