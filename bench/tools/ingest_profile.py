"""Where the ingest's non-model CPU goes: cProfile of the main thread (read, NLP,
chunking) and of the write thread (mapping, the graph store's client, the RDF view).

Why this exists (issue 3): on 2 cores the model wants both cores, so every CPU second
spent outside it costs wall time. ``bench/ingest.py`` says how much each stage costs;
this says which functions inside a stage. The model is replaced by
``write_cost.HashEmbedder`` (pseudo-random unit vectors, the model's tokenizer for
chunk sizes), so the run is cheap and the profiles hold only the non-model work; the
store is the real embedded FalkorDB with the RDF view as configured (default
``oxigraph``), on a throw-away data directory.

cProfile profiles only the thread it is enabled in, so one profiler runs in the main
thread (``Pipeline.run``'s reading) and one inside the write stage's thread (wrapping
``Pipeline._write_group``). Profiling inflates pure-Python code more than C code, so
compare the stage CPU seconds of runs *without* ``--profile`` (the default prints them,
from the pipeline's own ``RunTimes``) and use the profile only to find the functions.

``--repeat N`` ingests the same corpus N times, each on a fresh graph and data
directory, and prints per-stage CPU for each round and the median: run two code
versions side by side (``PYTHONPATH=/old/src`` vs ``src``) for a before/after.

Usage::

    PYTHONPATH=src .venv/bin/python bench/tools/ingest_profile.py --generated 100 --profile
    PYTHONPATH=src .venv/bin/python bench/tools/ingest_profile.py --generated 100 --repeat 3
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: ingest, tools
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import ThreadSampler, threads_cpu
from write_cost import DEMO, HashEmbedder, server_cpu_s

from impact_graph.config import Settings
from impact_graph.ingest.pipeline import Pipeline


def corpus(work: Path, demo: bool, generated: int) -> list[Path]:
    """The paths to ingest: the demo corpus and/or ``generated`` documents."""
    from ingest import generate  # bench/ingest.py

    paths: list[Path] = []
    if demo:
        paths.append(DEMO)
    if generated:
        gen = work / "generated" / "plan"
        gen.mkdir(parents=True, exist_ok=True)
        generate(gen, generated)
        paths.append(gen.parent)
    return paths


def _split_write_cpu(store: Any) -> dict[str, float]:
    """Thread CPU of the write's two halves, the graph store's client and the RDF view
    (`WriteThroughStore`), by wrapping their methods on these instances; filled in as
    the run writes. Empty halves stay 0 (no view: everything is the graph's)."""
    cpu = {"graph": 0.0, "rdf": 0.0, "rdf_nquads": 0.0}

    def timed(obj: Any, name: str, key: str) -> None:
        original = getattr(obj, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            c = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                cpu[key] += time.thread_time() - c

        setattr(obj, name, wrapper)

    inner, view = getattr(store, "inner", store), getattr(store, "view", None)
    timed(inner, "upsert_batch", "graph")
    if view is not None:
        timed(view, "write_batch", "rdf")
        mapping = getattr(view, "mapping", None)
        if mapping is not None and hasattr(mapping, "batch_nquads"):
            timed(mapping, "batch_nquads", "rdf_nquads")
    return cpu


def one_run(
    paths: list[Path], work: Path, n: int, profile: bool, rdf: str, top: int
) -> dict[str, Any]:
    """One ingest on a fresh graph; per-stage and per-thread CPU seconds."""
    from impact_graph.ontology import load_schema
    from impact_graph.store.falkordb_store import FalkorDBStore

    schema = load_schema()
    data = work / f"data-{n}"
    settings = Settings(
        data_dir=data, graph_name=f"ingest-profile-{n}", rdf=rdf, falkordb_stop_on_close=False
    )
    # Thread CPU as the profiler's clock (~1 us a read): a wait on the socket or the
    # GIL costs nothing, so the tables say what each function costs in CPU.
    write_prof = cProfile.Profile(time.thread_time) if profile else None
    main_prof = cProfile.Profile(time.thread_time) if profile else None
    pipe = Pipeline(settings, embedder=HashEmbedder(schema.vector_dimensions), schema=schema)
    store = pipe.store
    inner = getattr(store, "inner", store)
    store.clear()
    pid = inner.server.read_pid() if isinstance(inner, FalkorDBStore) and inner.server else None
    pipe.warm_up()
    split = _split_write_cpu(store)
    if write_prof is not None:
        original = pipe._write_group

        def profiled(item: Any) -> None:
            write_prof.enable()
            try:
                original(item)
            finally:
                write_prof.disable()

        pipe._write_group = profiled  # type: ignore[method-assign]
    # Sampled during the run (bench/ingest.py's ThreadSampler): the RDF view's bulk
    # loader threads end before the run does, and a reading at the end missed them.
    sampler = ThreadSampler()
    s0, w0, t0, p0 = server_cpu_s(pid), time.perf_counter(), threads_cpu(), time.process_time()
    if main_prof is not None:
        main_prof.enable()
    try:
        report = pipe.run([str(p) for p in paths], progress=False)
    finally:
        if main_prof is not None:
            main_prof.disable()
    p1, t1, parts = time.process_time(), threads_cpu(), sampler.stop()
    out: dict[str, Any] = {
        "docs": report.new + report.changed,
        "failed": report.failed,
        "chunks": report.chunks,
        "wall_s": round(time.perf_counter() - w0, 3),
        "server_s": round(server_cpu_s(pid) - s0, 3),
        "process_s": round(p1 - p0, 3),
    }
    out.update({f"part_{k}": round(v, 3) for k, v in parts.items() if k != "threads"})
    for name, v in t1.items():
        if name != "python" and v - t0.get(name, 0.0) > 0.005:
            out[f"threads_{name}"] = round(v - t0.get(name, 0.0), 3)
    out.update({f"stage_{k}": round(v, 3) for k, v in sorted(pipe.times.stage_cpu.items())})
    out.update({f"thread_{k}": round(v, 3) for k, v in sorted(pipe.times.thread_cpu.items())})
    out.update({f"write_{k}": round(v, 3) for k, v in split.items()})
    try:
        store.clear()
    finally:
        pipe.close()
        # falkordb_stop_on_close=False keeps the server up across the store's close (the
        # server's CPU is read from its pid until then); it is this run's own server, on
        # this run's data directory, so stop it here or each round leaves one running.
        from impact_graph.store.falkordb_server import FalkorDBServer

        FalkorDBServer(settings.data_path).stop(compact=False)  # thrown away next
        shutil.rmtree(data, ignore_errors=True)
    for name, prof in (("main thread", main_prof), ("write thread", write_prof)):
        if prof is not None:
            buf = io.StringIO()
            st = pstats.Stats(prof, stream=buf)
            st.sort_stats("tottime").print_stats(top)
            st.sort_stats("cumulative").print_stats(top)
            print(f"===== {name} =====\n{buf.getvalue()}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-demo", action="store_true", help="skip the demo corpus")
    ap.add_argument("--generated", type=int, default=0, help="generated documents to add")
    ap.add_argument("--repeat", type=int, default=1, help="ingests of the same corpus")
    ap.add_argument("--profile", action="store_true", help="print cProfile tables")
    ap.add_argument("--top", type=int, default=35, help="rows per profile table")
    ap.add_argument("--rdf", default="oxigraph", choices=["oxigraph", "off"])
    ap.add_argument("--json", type=Path, help="also save the rounds here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-profile-"))
    try:
        paths = corpus(work, not args.no_demo, args.generated)
        rounds = [
            one_run(paths, work, n, args.profile, args.rdf, args.top) for n in range(args.repeat)
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    keys = sorted({k for r in rounds for k in r})
    med = {k: statistics.median(r.get(k, 0) for r in rounds) for k in keys}
    for r in rounds:
        print(json.dumps(r))
    print("median", json.dumps(med))
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "median": med}, indent=1))


if __name__ == "__main__":
    main()
