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


def main() -> None:
    from ingest import generate  # bench/ingest.py

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generated", type=int, default=100, help="generated documents to add")
    ap.add_argument("--rounds", type=int, default=3)
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
        cpu: dict[str, list[float]] = {"with copies": [], "named only": []}
        for rnd in range(args.rounds):
            for mode in cpu:
                store = ox.Store(tempfile.mkdtemp(dir=work))
                c = time.thread_time()
                for both, named in texts:
                    data = both if mode == "with copies" else named
                    store.load(data, format=ox.RdfFormat.N_QUADS, lenient=True)
                cpu[mode].append(time.thread_time() - c)
                store.flush()
                del store
                print(f"round {rnd} {mode}: load thread CPU {cpu[mode][-1]:.3f} s", flush=True)
        for mode, v in cpu.items():
            med = statistics.median(v)
            print(f"{mode}: median {med:.3f} s, {med * 1000 / len(texts):.1f} ms a document")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
