"""What FalkorDB's HNSW options (M, efConstruction) cost per inserted vector, and the
recall@10 they give, paired in one server.

Run (from the repo root)::

    .venv/bin/python bench/tools/hnsw_options.py --chunks 20000 --options 32/200,16/200,16/100

Why: at ~2,000 generated documents, setting chunk vectors (HNSW inserts) was the
largest growing part of the server's CPU per document (issue 3). One graph per option
set, each with the store's schema and its own Chunk vector index (efRuntime as the
settings); the same clustered vectors (bench/store.py's generator) go into every graph
in batches of 200, the graphs taking turns batch by batch, and the server's CPU time
(/proc of the redis-server process) is read around each batch: a pair of batches runs
at the same load and the same graph size. Recall@10 is the store's own
``vector_search`` against exact cosine.
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
BATCH = 200


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chunks", type=int, default=20_000)
    p.add_argument("--options", default="32/200,16/200,16/100", help="M/efConstruction,...")
    p.add_argument("--queries", type=int, default=100)
    args = p.parse_args()
    options = [tuple(int(x) for x in o.split("/")) for o in args.options.split(",")]
    n_docs = -(-args.chunks // bench_store.CHUNKS_PER_DOC)
    ds = bench_store.make_dataset(n_docs * bench_store.NODES_PER_DOC, args.queries)
    vectors = ds.vectors[: args.chunks]
    schema = load_schema()
    with tempfile.TemporaryDirectory(prefix="hnsw-options-") as tmp:
        stores = []
        for m, efc in options:
            s = Settings(
                backend="falkordb",
                data_dir=Path(tmp),
                graph_name=f"m{m}_efc{efc}",
                falkordb_m=m,
                falkordb_ef_construction=efc,
                falkordb_stop_on_close=len(stores) == 0,
            )
            st = FalkorDBStore(s)
            st.setup_schema(schema)
            stores.append(st)
        pid = int(stores[0].db.connection.info("server")["process_id"])
        cpu = lambda: bench_store.process_cpu_s(pid) or 0.0  # noqa: E731
        time.sleep(2)  # the (empty) indexes built
        cost = np.zeros((len(stores), -(-args.chunks // BATCH)))
        for b, s in enumerate(range(0, args.chunks, BATCH)):
            rows = [
                _Raw("{`id`:" + _quote(f"c{i}") + ",`v`:" + _Vector(vectors[i]).cypher() + "}")
                for i in range(s, min(args.chunks, s + BATCH))
            ]
            order = range(len(stores)) if b % 2 == 0 else reversed(range(len(stores)))
            for j in order:
                st = stores[j]
                cmd = st._command(
                    "UNWIND $rows AS r CREATE (n:Node:Chunk {id: r.id}) "
                    "SET n.embedding = vecf32(r.v)",
                    {"rows": rows},
                )
                c0 = cpu()
                st.db.connection.execute_command(*cmd)
                cost[j, b] = cpu() - c0
        tenth = max(1, cost.shape[1] // 10)
        for j, (m, efc) in enumerate(options):
            st = stores[j]
            found = 0
            for q in ds.query_vectors:
                exact = {f"c{i}" for i in np.argsort(-(vectors @ q))[:K]}
                found += len(exact & {h.id for h in st.vector_search("Chunk", q.tolist(), k=K)})
            per = cost[j] / BATCH * 1000
            rec = found / (K * len(ds.query_vectors))
            print(
                f"M={m} efConstruction={efc}: server CPU per vector {per.mean():.3f} ms "
                f"(first tenth {per[:tenth].mean():.3f}, last tenth {per[-tenth:].mean():.3f}); "
                f"total {cost[j].sum():.1f} s; recall@{K} {rec:.3f}",
                flush=True,
            )
        for st in reversed(stores):
            st.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
