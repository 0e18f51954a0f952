"""How the embedded RDF view's CPU per document grows with the view (issue 3).

Why this exists: at 10k generated documents the view's RocksDB background threads took
730 CPU s (bench/REPORT.md), ~73 ms a document, against ~4 ms on the demo; its write
thread does not grow (``write_cost.py --growth --paired``). This replays the view's own
``OxigraphView.write_batch`` on the batches of N generated documents into one fresh
view and reports, per block of documents: the write thread's CPU, RocksDB's background
threads' CPU (``rocksdb:*`` in ``/proc/self/task``: flushes and compactions), the bytes
the process wrote to disk (``/proc/self/io``: WAL, flushes, compaction output), how
often the view flushed and reopened its writer.

``--rest S --group G``: write G documents, then rest S seconds, as the pipeline's
write thread does between embedding groups (~40 generated documents a group of 256
texts, several seconds of model time each at 10k). The rests let the view's watcher
do what it does in an ingest: flush when idle, let go of the writer when idle longer.
``--rest 0`` writes continuously.

At the end the writer is released as the view does, then the store is opened once
more and left until RocksDB's threads are quiet ("settle"): the compaction the run
left owed is charged to it, so runs that defer work are not flattered.

Batches are built once with the pipeline (``write_cost.build_batches``, no model) and
pickled with ``--save``; pass the same file to runs of two code versions
(``PYTHONPATH=/old/src``) to compare them paired.

Measured (H58, 2026-11-28, the same 2,000 pickled generated documents, groups of 40
with 3 s rests; runs side by side in one sitting; ms a document, write thread +
RocksDB threads, by block of 500). Round 1, load 12-22:

* as before (8 MB flushes, idle flush and release): 25.7 + 23.6, 27.1 + 39.0,
  26.6 + 36.4, 28.9 + 47.9; with the settle, 64.6 ms a document over 2,000; the
  process wrote 1.9-3.1 GB to disk per 500 documents for a 0.79 GB store (compaction);
* held for the ingest, 64 MB flushes (`OxigraphView.held_for_ingest`): 36.0 + 6.2,
  36.3 + 10.1, 38.8 + 19.5, 40.9 + 23.7; 56.9 ms a document; 0.9-1.7 GB per 500;
  peak RSS 844 vs 653 MB (the pickled batches included);
* held, 32 MB: 31.2 + 7.9, 32.6 + 19.6, 33.3 + 27.7, 36.5 + 38.0; 60.1 ms.

Round 2, load 11 falling to 3 (RocksDB's threads got more CPU, so compacted more):
as before 27.7 + 25.9, 22.2 + 47.0, 25.3 + 56.7, 25.9 + 73.8, 76.5 ms a document
(3.9-5.0 GB written per 500 documents); held, 64 MB: 35.5 + 6.7, 28.7 + 8.6,
32.5 + 20.3, 29.9 + 18.2, 49.5 ms.

Round 3, load 0.7 rising to 6: as before 25.7 + 25.3, 24.5 + 44.0, 23.1 + 45.3,
25.6 + 62.3, 69.9 ms; held 30.8 + 5.9, 32.4 + 9.4, 32.2 + 19.6, 34.1 + 15.7, 47.9 ms.
Medians of the three rounds, both threads, ms a document: as before 51.0, 68.4, 68.4,
87.9 by block and 69.9 over 2,000; held 42.2, 41.8, 52.8, 49.8 and 49.5 (-29%).

H64 (2026-11-28): an ingest now journals its new documents and bulk-loads them in
groups of ~64 MB (`OxigraphView.held_for_ingest`); the bulk loader's own threads are not
named ``rocksdb``, so ``process_ms`` (every thread of the process) and
``ms_per_doc_process`` (the whole run, the settle included) are what to compare. The
same 2,000 documents, held before vs now, side by side, ms a document by block of 500
and over 2,000: round 1 (load 11-12) 45.1, 49.6, 49.1, 45.2 -> 50.6 against 17.7,
28.5, 27.7, 36.6 -> 28.0; round 2 (load 7-13) 39.9, 46.0, 55.6, 61.5 -> 55.0 against
15.2, 26.5, 25.5, 40.1 -> 27.9; round 3 (load 13 -> 5) 47.7, 44.9, 50.2, 44.8 -> 49.7
against 19.0, 28.2, 25.8, 35.0 -> 29.6. Medians 50.6 -> 28.0 (-45%). Now: write
thread ~5.5 ms a document (the mapping and the journal), the bulk loader's threads
~12, RocksDB 0 -> ~21 by block.

The write thread alone does not grow with the view; RocksDB's threads do, with every
flush (Oxigraph's column families compact at two flushed files, each compaction over
the whole family while it is under 512 MB).

Usage::

    PYTHONPATH=src .venv/bin/python bench/tools/rdf_growth.py --generated 2000 \
        --batches /tmp/b2000.pkl --save
    PYTHONPATH=src .venv/bin/python bench/tools/rdf_growth.py --batches /tmp/b2000.pkl \
        --block 250 --group 40 --rest 3 --json /tmp/new.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: ingest, tools
sys.path.insert(0, str(Path(__file__).resolve().parent))

from impact_graph.model import GraphBatch
from impact_graph.ontology import load_schema
from impact_graph.rdf import view as view_mod
from impact_graph.rdf.mapping import RdfMapping

CLK_TCK = os.sysconf("SC_CLK_TCK")


def rocksdb_cpu_s() -> float:
    """CPU seconds of this process's RocksDB threads (process-wide, they outlive a store)."""
    total = 0.0
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")].startswith("rocksdb"):
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def written_bytes() -> int:
    """Bytes this process caused to be written to storage (``/proc/self/io``)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def build(n: int, work: Path) -> list[GraphBatch]:
    from ingest import generate  # bench/ingest.py
    from write_cost import build_batches

    folder = work / "generated" / "plan"  # the folder name gives the kind
    folder.mkdir(parents=True)
    generate(folder, n)
    return build_batches([folder.parent], work / "build")


def settle(path: Path, quiet_s: float = 2.0, limit_s: float = 600.0) -> float:
    """Open the store read-write and wait until RocksDB's threads stop working; their CPU."""
    before = rocksdb_cpu_s()
    store = ox.Store(str(path))
    last, still, start = rocksdb_cpu_s(), 0.0, time.monotonic()
    while still < quiet_s and time.monotonic() - start < limit_s:
        time.sleep(0.25)
        now = rocksdb_cpu_s()
        still = still + 0.25 if now - last < 0.02 else 0.0
        last = now
    del store
    return rocksdb_cpu_s() - before


def run(
    batches: list[GraphBatch], work: Path, block: int, group: int, rest: float, held: bool
) -> dict[str, Any]:
    mapping = RdfMapping(load_schema())
    directory = Path(tempfile.mkdtemp(dir=work))
    view = view_mod.OxigraphView(directory, mapping, idle_release_s=view_mod.IDLE_RELEASE_S)
    flushes = 0
    inner_flush = view._flush

    def counted_flush() -> None:
        nonlocal flushes
        flushes += 1
        inner_flush()

    view._flush = counted_flush  # type: ignore[method-assign]
    rows: list[dict[str, Any]] = []
    write_cpu = 0.0
    rocks0, bytes0, opens0, flush0, wall0 = (rocksdb_cpu_s(), written_bytes(), 0, 0, 0.0)
    wall_start = time.perf_counter()
    proc_start = proc0 = time.process_time()
    ingest = view.held_for_ingest() if held else contextlib.nullcontext()
    ingest.__enter__()
    for i, b in enumerate(batches, 1):
        c = time.thread_time()
        view.write_batch(b)
        write_cpu += time.thread_time() - c
        if rest > 0 and i % group == 0:
            time.sleep(rest)
        if i % block == 0 or i == len(batches):
            rocks, wb, wall = rocksdb_cpu_s(), written_bytes(), time.perf_counter() - wall_start
            proc = time.process_time()
            n = i - (rows[-1]["upto"] if rows else 0)
            rows.append(
                {
                    "upto": i,
                    "write_ms": round(write_cpu * 1000 / n, 2),
                    "rocksdb_ms": round((rocks - rocks0) * 1000 / n, 2),
                    "process_ms": round((proc - proc0) * 1000 / n, 2),
                    "disk_written_mb": round((wb - bytes0) / 1e6, 1),
                    "flushes": flushes - flush0,
                    "writer_opens": view.writer_opens - opens0,
                    "wall_s": round(wall - wall0, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            write_cpu = 0.0
            proc0 = proc
            rocks0, bytes0, opens0, flush0, wall0 = (
                rocks,
                wb,
                view.writer_opens,
                flushes,
                wall,
            )
    c, r = time.thread_time(), rocksdb_cpu_s()
    ingest.__exit__(None, None, None)  # a held ingest loads the rest of its journal here
    view.close()
    close_cpu = time.thread_time() - c
    close_rocks = rocksdb_cpu_s() - r
    owed = settle(view.path)
    proc_all = time.process_time() - proc_start
    out = {
        # The whole process (every thread: the bulk loader's own threads are not named
        # rocksdb), the settle included: what the view costs an ingest.
        "process_cpu_s": round(proc_all, 2),
        "ms_per_doc_process": round(proc_all * 1000 / len(batches), 2),
        "bulk_loads": getattr(view, "bulk_loads", 0),
        "documents": len(batches),
        "blocks": rows,
        "close_cpu_s": round(close_cpu, 3),
        "close_rocksdb_s": round(close_rocks, 3),
        "settle_rocksdb_s": round(owed, 3),
        "store_mb": round(dir_mb(view.path), 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    n_total = len(batches)
    prev = 0
    tot_w = tot_r = 0.0
    for row in rows:
        n = row["upto"] - prev
        tot_w += row["write_ms"] * n / 1000
        tot_r += row["rocksdb_ms"] * n / 1000
        prev = row["upto"]
    out["write_cpu_s"] = round(tot_w + close_cpu, 2)
    out["rocksdb_cpu_s"] = round(tot_r + close_rocks + owed, 2)
    out["ms_per_doc_all"] = round(
        (tot_w + close_cpu + tot_r + close_rocks + owed) * 1000 / n_total, 2
    )
    print(
        f"closed: write thread {close_cpu:.2f} s, RocksDB {close_rocks:.2f} s; settle "
        f"RocksDB {owed:.2f} s; store {out['store_mb']} MB; all {out['ms_per_doc_all']} ms/doc; "
        f"process {out['ms_per_doc_process']} ms/doc",
        flush=True,
    )
    shutil.rmtree(directory, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generated", type=int, default=0, help="build this many documents")
    ap.add_argument("--batches", type=Path, help="pickled batches (read, or written with --save)")
    ap.add_argument("--save", action="store_true", help="build and pickle to --batches")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N batches")
    ap.add_argument("--block", type=int, default=250, help="documents per reported block")
    ap.add_argument("--group", type=int, default=40, help="documents written between rests")
    ap.add_argument("--rest", type=float, default=0.0, help="seconds of rest after a group")
    ap.add_argument("--json", type=Path, help="save the figures here")
    ap.add_argument("--flush-mb", type=float, help="override the view's FLUSH_BYTES (MB)")
    ap.add_argument(
        "--ingest-flush-mb", type=float, help="override INGEST_FLUSH_BYTES (MB, with --held)"
    )
    ap.add_argument("--idle-flush", type=float, help="override FLUSH_IDLE_S (seconds)")
    ap.add_argument(
        "--held",
        action="store_true",
        help="write inside the view's held_for_ingest() block, as an ingest run does",
    )
    ap.add_argument("--idle-release", type=float, help="override IDLE_RELEASE_S (seconds)")
    args = ap.parse_args()
    if args.flush_mb is not None:
        view_mod.FLUSH_BYTES = int(args.flush_mb * 1e6)
    if args.ingest_flush_mb is not None:
        view_mod.INGEST_FLUSH_BYTES = int(args.ingest_flush_mb * 1e6)
    if args.idle_flush is not None:
        view_mod.FLUSH_IDLE_S = args.idle_flush
    if args.idle_release is not None:
        view_mod.IDLE_RELEASE_S = args.idle_release
    work = Path(tempfile.mkdtemp(prefix="rdf-growth-"))
    try:
        if args.save or args.batches is None:
            if args.generated <= 0:
                ap.error("give --generated N to build batches (or --batches FILE to reuse)")
            batches = build(args.generated, work)
            if args.batches is not None:
                args.batches.write_bytes(pickle.dumps(batches))
                print(f"saved {len(batches)} batches to {args.batches}")
                if args.save and not args.block:
                    return
        else:
            if not args.batches.is_file():
                ap.error(f"--batches {args.batches}: no such file; build it with --save")
            batches = pickle.loads(args.batches.read_bytes())
        if args.limit:
            batches = batches[: args.limit]
        load = os.getloadavg()[0]
        print(
            f"{len(batches)} documents, load {load:.1f}, flush every {view_mod.FLUSH_BYTES}"
            f" ({view_mod.INGEST_FLUSH_BYTES} held: {args.held})"
        )
        out = run(batches, work, args.block, args.group, args.rest, args.held)
        out["held"] = args.held
        out["load_start"] = load
        out["load_end"] = os.getloadavg()[0]
        out["rest"], out["group"] = args.rest, args.group
        if args.json is not None:
            args.json.write_text(json.dumps(out, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
