"""CPU of the embedded RDF view's per-document load, with and without the default-graph
copies of every statement.

Why this exists (issue 3): ``ingest_profile.py`` found the RDF view to be most of the
ingest's non-model CPU in the client process (demo + 100 generated, no model, load
~8-10: the write thread's 3.0 of 3.8 CPU s, and 2.0 CPU s more in RocksDB's own
threads). ``RdfView.write_batch`` loads each document's statements twice, into its
named graph and into the default graph (kept as the union of all graphs, see
``rdf/mapping.py``'s module docstring for why). This times ``Store.load`` of the same
N-Quads texts both ways, alternating, each round on a fresh store: what the default
graph copy costs. A diagnostic, not a benchmark with a target; it does not say the
copy should go (counting queries rely on the union being a set).

``--flush-every N,M`` adds rounds that write with copies and flush the store every N
documents, as the view's held writer does every ``FLUSH_BYTES`` (issue 3): each flush
moves work from the load into RocksDB's background threads (flush, then compaction),
so those threads' CPU (``rocksdb:*`` in ``/proc/self/task``) is reported beside the
load thread's. Measured with it (H31, load ~3): the cheapest same-content write is
still one ``load`` of the copies per document; a second load of N-Triples, an
``INSERT ... WHERE { GRAPH <g> ... }``, ``Store.extend``, ten documents per load and
sorted lines all cost more, and ``bulk_load`` (not transactional) cost more in total.

Usage::

    PYTHONPATH=src .venv/bin/python bench/tools/rdf_load_cost.py --generated 100 --rounds 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: ingest, tools
sys.path.insert(0, str(Path(__file__).resolve().parent))

from write_cost import DEMO, build_batches

from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping


def rocksdb_cpu() -> float:
    """CPU seconds of this process's RocksDB background threads (``rocksdb:*``)."""
    from ingest_profile import threads_cpu

    return sum(v for name, v in threads_cpu().items() if name.startswith("rocksdb"))


def main() -> None:
    from ingest import generate  # bench/ingest.py

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generated", type=int, default=100, help="generated documents to add")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--flush-every",
        default="",
        help="comma-separated document counts: also write with copies, flushing that often",
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rdf-load-cost-"))
    try:
        paths = [DEMO]
        if args.generated:
            gen = work / "generated" / "plan"
            gen.mkdir(parents=True)
            generate(gen, args.generated)
            paths.append(gen.parent)
        batches = build_batches(paths, work / "data")
        mapping = RdfMapping(load_schema())
        texts: list[tuple[bytes, bytes]] = []
        for b in batches:
            _, text, _ = mapping.batch_nquads(b, written_at="2026-01-01T00:00:00Z")
            # batch_nquads writes the named-graph lines first, then the same statements
            # again without a graph (the default graph): the first half is the former.
            lines = text.splitlines(keepends=True)
            texts.append((text.encode(), "".join(lines[: len(lines) // 2]).encode()))
        print(
            f"{len(texts)} documents; N-Quads bytes with copies "
            f"{sum(len(a) for a, _ in texts):,}, named graphs only "
            f"{sum(len(b) for _, b in texts):,}"
        )
        try:
            every = [int(n) for n in args.flush_every.split(",") if n.strip()]
        except ValueError:
            ap.error(f"--flush-every must be document counts like 10,25, not {args.flush_every!r}")
        modes = ["with copies", "named only", *(f"copies, flush every {n}" for n in every)]
        cpu: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
        for rnd in range(args.rounds):
            for mode, flush_n in zip(modes, [0, 0, *every], strict=True):
                rocks = rocksdb_cpu()
                store = ox.Store(tempfile.mkdtemp(dir=work))
                c = time.thread_time()
                for i, (both, named) in enumerate(texts, 1):
                    data = named if mode == "named only" else both
                    store.load(data, format=ox.RdfFormat.N_QUADS, lenient=True)
                    if flush_n and i % flush_n == 0:
                        store.flush()
                store.flush()
                load = time.thread_time() - c
                del store
                time.sleep(0.3)  # let the closed store's background work end
                cpu[mode].append((load, rocksdb_cpu() - rocks))
                print(
                    f"round {rnd} {mode}: load thread CPU {load:.3f} s, "
                    f"RocksDB threads {cpu[mode][-1][1]:.3f} s",
                    flush=True,
                )
        for mode, v in cpu.items():
            med = statistics.median(a for a, _ in v)
            bg = statistics.median(b for _, b in v)
            print(
                f"{mode}: median load thread {med:.3f} s ({med * 1000 / len(texts):.1f} ms a "
                f"document), RocksDB threads {bg:.3f} s, sum {med + bg:.3f} s"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
