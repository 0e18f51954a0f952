"""Two versions of the FalkorDB store on the same batches, paired: CPU per document and
whether they leave the same graph.

Why: a change to the write path must not change the stored graph, and its CPU effect
is a few percent on a machine whose load moves by more than that within a minute. So
both versions run in ONE process against ONE server (two graphs), documents alternating
between them (the order swapped every round): both see the same load, and the same
batches. After the rounds a sorted dump of each graph (every node with its labels and
properties, embeddings included, and every edge) is compared byte for byte.

Usage (the batches from ``write_cost.py --save-batches``, the old store from git)::

    PYTHONPATH=src .venv/bin/python bench/tools/write_cost.py --save-batches /tmp/b.pkl
    git show HEAD~1:src/impact_graph/store/falkordb_store.py > /tmp/old_store.py
    PYTHONPATH=src .venv/bin/python bench/tools/store_paired.py /tmp/b.pkl \\
        --old /tmp/old_store.py --rounds 5 --again
    # into a graph of 1,000 documents (written first, untimed), the next 100 timed:
    PYTHONPATH=src .venv/bin/python bench/tools/store_paired.py /tmp/g1100.pkl \\
        --old /tmp/old_store.py --first 1000 --n 100 --rounds 2
    # bench/store.py's nodes-only pass (10 documents of 1,000 nodes, no edges or vectors)
    # instead of pickled batches; ``--pass batches`` adds the edges, ``vectors`` both:
    PYTHONPATH=src .venv/bin/python bench/tools/store_paired.py --store-bench 10000 \\
        --old /tmp/old_store.py --rounds 5

``--old`` may be any file that defines a ``FalkorDBStore``, e.g. a subclass of this
tree's store whose ``setup_schema`` drops an index after making them all: how the
index costs in the module docstring of ``falkordb_store.py`` were measured.

``--store-bench``: why. bench/store.py's ``FalkorDB writes, nodes/s`` is wall time of
ONE pass on a shared machine (9,977 and 17,095 in two runs of the same code); paired
rounds of the same pass in one process say whether a change moved it, and the
``nodes_per_cpu_s`` figure (nodes over client + server CPU) is the rate the pass could
reach with the server alone on a core.

Client CPU is this process's (``time.process_time``: the store's Python, the redis
client, the kernel's socket work); server CPU is the FalkorDB process's utime + stime
from ``/proc`` (10 ms ticks: only sums over many documents mean anything).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from impact_graph.config import Settings
from impact_graph.model import GraphBatch
from impact_graph.ontology import load_schema
from impact_graph.store.falkordb_store import FalkorDBStore

CLK_TCK = os.sysconf("SC_CLK_TCK")


def load_store_class(path: Path) -> type[FalkorDBStore]:
    """``FalkorDBStore`` of another version of falkordb_store.py, as its own module
    (its imports of the rest of the package are this tree's)."""
    spec = importlib.util.spec_from_file_location("_paired_old_store", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--old {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.FalkorDBStore  # type: ignore[no-any-return]


def server_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / CLK_TCK


def _norm(value: Any) -> Any:
    """Sorted maps, floats by repr: a dump two equal graphs print alike."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return value


def dump(store: FalkorDBStore) -> tuple[bytes, int, int]:
    """Every node (id, labels, properties) and edge (ends, type, properties), sorted."""
    nodes = store._q("MATCH (n) RETURN n.id, labels(n), properties(n) ORDER BY n.id", ro=True)
    edges = store._q(
        "MATCH (a)-[e]->(b) RETURN a.id, type(e), b.id, properties(e) "
        "ORDER BY a.id, type(e), b.id, e.key",
        ro=True,
    )
    rows = [_norm(r) for r in nodes] + [_norm(r) for r in edges]
    text = "\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in rows)
    return text.encode(), len(nodes), len(edges)


def changed(batch: GraphBatch) -> GraphBatch:
    """The same document with another content hash: written as a changed document."""
    props = {**batch.document.props, "content_hash": batch.content_hash + "-changed"}
    return dataclasses.replace(batch, document=dataclasses.replace(batch.document, props=props))


def store_bench_batches(size: int, kind: str) -> list[GraphBatch]:
    """bench/store.py's documents for one write pass (``nodes``: nodes only; ``batches``:
    with edges; ``vectors``: with edges and vectors) at ``size`` nodes."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/
    import store as store_bench  # bench/store.py

    ds = store_bench.make_dataset(size, n_queries=1)
    return [
        store_bench.document_batch(ds, d, vectors=kind == "vectors", edges=kind != "nodes")
        for d in range(ds.n_docs)
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.store_bench:
        batches = store_bench_batches(args.store_bench, args.pass_)
    else:
        corpora: dict[str, list[GraphBatch]] = pickle.loads(args.batches.read_bytes())
        batches = [b for bs in corpora.values() for b in bs]
    timed = batches[args.first : args.first + args.n] if args.n else batches[args.first :]
    if not timed:
        raise SystemExit(f"{args.batches} holds {len(batches)} documents: none after --first")
    work = Path(tempfile.mkdtemp(prefix="store-paired-"))
    schema = load_schema()
    classes = {"old": load_store_class(args.old), "new": FalkorDBStore}
    stores = {
        w: cls(Settings(data_dir=work, graph_name=f"paired-{w}", rdf="off"))
        for w, cls in classes.items()
    }
    server = stores["new"].server
    assert server is not None
    pid = server.read_pid()
    assert pid is not None
    cpu: dict[str, dict[str, list[float]]] = {w: {"client": [], "server": []} for w in stores}
    try:
        for r in range(args.rounds):
            for st in stores.values():
                st.clear()
                st.setup_schema(schema)
                # What the store remembers of vectors it wrote (versions since 42e1e50).
                vectored = getattr(st, "_vectored", None)
                if vectored is not None:
                    vectored.clear()
                for b in batches[: args.first]:
                    st.upsert_batch(b)
            client = dict.fromkeys(stores, 0.0)
            srv = dict.fromkeys(stores, 0.0)
            order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
            for b in timed:
                for w in order:
                    s0, c0 = server_cpu_s(pid), time.process_time()
                    stores[w].upsert_batch(b)
                    c1, s1 = time.process_time(), server_cpu_s(pid)
                    client[w] += c1 - c0
                    srv[w] += s1 - s0
            for w in stores:
                cpu[w]["client"].append(client[w] * 1000 / len(timed))
                cpu[w]["server"].append(srv[w] * 1000 / len(timed))
            print(
                f"round {r}: "
                + "  ".join(
                    f"{w} client {cpu[w]['client'][-1]:.2f} server {cpu[w]['server'][-1]:.2f}"
                    for w in stores
                )
                + f" ms/doc, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        if args.again:
            for b in batches:
                for st in stores.values():
                    st.upsert_batch(changed(b))
        dumps = {w: dump(st) for w, st in stores.items()}
    finally:
        for st in stores.values():
            st.clear()
            st.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    out: dict[str, Any] = {"documents": len(timed), "first": args.first, "rounds": args.rounds}
    # Nodes as upsert_batch counts them (the Document node too), over the CPU they took.
    nodes = sum(len(b.nodes) + 1 for b in timed)
    for w in stores:
        total = [c + s for c, s in zip(cpu[w]["client"], cpu[w]["server"], strict=True)]
        out[w] = {
            "client_ms": statistics.median(cpu[w]["client"]),
            "server_ms": statistics.median(cpu[w]["server"]),
            "nodes_per_cpu_s": nodes * 1000 / (statistics.median(total) * len(timed)),
            "rounds": cpu[w],
            "dump_sha256": hashlib.sha256(dumps[w][0]).hexdigest(),
            "dump_bytes": len(dumps[w][0]),
            "nodes": dumps[w][1],
            "edges": dumps[w][2],
        }
    out["identical"] = dumps["old"][0] == dumps["new"][0]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "batches",
        type=Path,
        nargs="?",
        help="pickled batches (write_cost.py --save-batches); or give --store-bench",
    )
    ap.add_argument(
        "--store-bench",
        type=int,
        metavar="NODES",
        help="bench/store.py's documents at this size (a multiple of 1,000) instead",
    )
    ap.add_argument(
        "--pass",
        dest="pass_",
        choices=["nodes", "batches", "vectors"],
        default="nodes",
        help="with --store-bench: which of bench/store.py's write passes (default nodes)",
    )
    ap.add_argument("--old", type=Path, required=True, help="the other falkordb_store.py")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--first", type=int, default=0, help="documents written untimed first")
    ap.add_argument("--n", type=int, default=0, help="documents timed (0: all after --first)")
    ap.add_argument(
        "--again", action="store_true", help="then write every document again as changed"
    )
    ap.add_argument("--json", type=Path, help="save the figures here")
    args = ap.parse_args()
    if (args.batches is None) == (args.store_bench is None):
        ap.error("give either pickled batches or --store-bench NODES, not both or neither")
    if args.store_bench is not None and (args.store_bench < 1000 or args.store_bench % 1000):
        ap.error(f"--store-bench {args.store_bench}: give a multiple of 1,000 nodes")
    if args.batches is not None and not args.batches.is_file():
        ap.error(f"{args.batches}: no such file; make it with write_cost.py --save-batches")
    if not args.old.is_file():
        ap.error(f"--old {args.old}: no such file; e.g. git show REV:src/... > {args.old}")
    if args.rounds < 1 or args.first < 0 or args.n < 0:
        ap.error("--rounds must be 1 or more, --first and --n 0 or more")
    out = run(args)
    for w in ("old", "new"):
        print(
            f"{w}: client {out[w]['client_ms']:.2f} ms/doc, server {out[w]['server_ms']:.2f} "
            f"ms/doc (medians of {args.rounds}), {out[w]['nodes_per_cpu_s']:,.0f} nodes per "
            f"CPU s; dump {out[w]['dump_bytes']:,} bytes, "
            f"{out[w]['nodes']:,} nodes, {out[w]['edges']:,} edges"
        )
    print("graphs IDENTICAL" if out["identical"] else "graphs DIFFERENT")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
