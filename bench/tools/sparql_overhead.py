"""Where the in-app SPARQL lookup's extra cost goes: paired, call-by-call measurements.

Why: `bench/query.py` reported the in-app lookup at 1.34x the direct pyoxigraph call
(CPU per call 7.79 vs 5.45 ms at 100k nodes) while the app's own CPU was measured at
~1.1 ms. This script splits the endpoint's cost into its parts in one process, on the
bench's own data (`bench/query.py`'s `build`), alternating the variants call by call
(who goes first rotating), and counts CPU both here (``time.process_time``: every
thread of this process) and in the query worker processes (``/proc/<pid>/task/*/
schedstat``: nanoseconds on the CPU of every thread, read before and after each call;
the 10 ms ticks of ``/proc/<pid>/stat`` are too coarse per call). Worker CPU that
accrues during the *direct* calls is the workers' idle polling: shown apart.

Variants (every one returns SPARQL JSON results bytes):

* ``direct`` -- ``Store.query(...).serialize(JSON)`` in this process (the bench's baseline);
* ``direct worker-code`` -- the worker's own ``run`` in this process (TSV under the
  row cap, read back, written as JSON): the worker's serialisation without the process;
* ``view`` -- ``OxigraphView.run_query_async``: the pipe round trip to the worker, no app;
* ``in-app`` -- the FastAPI app as an ASGI callable (the bench's ``AsgiCaller``).

Usage: ``.venv/bin/python bench/tools/sparql_overhead.py [--nodes 100000] [--calls 200]
[--first-pairs] [--bench-pass]``.

What it found (H26, 2026-11-28, two runs at 100k nodes / 2.29M quads, load 7-16, so
CPU, not wall time, is the figure to read):

* the bench's CPU accounting is right: the workers' CPU over a pass by ``/proc/<pid>/stat``
  ticks and by schedstat agreed within 1% (570/575, 560/557, 690/687, 620/628 ms);
* the bench's own in-app pass, run here four times: in-app minus direct CPU per call
  +1.64, +1.17 (first run), +0.94, +0.95 ms (second run) -- not the +2.34 of the quiet
  ``make bench`` at 1833020, which stays unreproduced;
* split, per call: the app's own CPU (ASGI app, lean path, checks, the parent's side of
  the pipe) 0.61-0.84 ms, of which the bare view call (`run_query_async`) is 0.30-0.51;
  the worker's CPU over the direct call's for the same query +0.1 to +0.35 ms; of that,
  the worker's TSV -> JSON round trip +0.08 ms (in-process, warm, 5k nodes: 2.16 against
  2.08 ms) and two idle workers' polling 2.5-3.1 ms CPU per second (~0.04 ms a call);
* a fresh worker's first pass costs more: in-app minus direct +1.33, +1.03, +0.95,
  +0.76 ms by quarter of its first 200 calls, then +0.86 ... +0.76 in the next pass;
* no GC collection in any run (the start-up heap is frozen), and each worker opened its
  store once (no reopen or refresh per request).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))


def sched_ns(pids: Sequence[int]) -> int:
    """Nanoseconds on the CPU so far of every thread of the processes ``pids``."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:
                continue
    return total


def p(values: list[float], q: float) -> float:
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


async def paired(
    calls: dict[str, Callable[[Any], Any]],
    inputs: Sequence[Any],
    pids: Callable[[], Sequence[int]],
    warmup: int = 10,
) -> dict[str, dict[str, float]]:
    """Each variant once per input, order rotating; wall, own CPU and worker CPU per call."""
    import inspect

    for x in inputs[:warmup]:
        for call in calls.values():
            out = call(x)
            if inspect.isawaitable(out):
                await out
    names = list(calls)
    wall: dict[str, list[float]] = {n: [] for n in names}
    own: dict[str, list[float]] = {n: [] for n in names}
    work: dict[str, list[float]] = {n: [] for n in names}
    for i, x in enumerate(inputs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            ids = pids()
            w0 = sched_ns(ids)
            c0 = time.process_time()
            t0 = time.perf_counter()
            out = calls[name](x)
            if inspect.isawaitable(out):
                out = await out
            t1 = time.perf_counter()
            c1 = time.process_time()
            w1 = sched_ns(ids)
            wall[name].append((t1 - t0) * 1e3)
            own[name].append((c1 - c0) * 1e3)
            work[name].append((w1 - w0) / 1e6)
    return {
        n: {
            "series_total_cpu_ms": [a + b for a, b in zip(own[n], work[n], strict=True)],
            "p50_ms": p(wall[n], 50),
            "p95_ms": p(wall[n], 95),
            "own_cpu_ms": statistics.mean(own[n]),
            "worker_cpu_ms": statistics.mean(work[n]),
            "total_cpu_ms": statistics.mean(own[n]) + statistics.mean(work[n]),
        }
        for n in names
    }


def print_pairs(label: str, res: dict[str, dict[str, Any]]) -> None:
    """Total CPU per call (this process + workers) of each variant, by quarter of the pass."""
    d, a = res["direct"]["series_total_cpu_ms"], res["in-app"]["series_total_cpu_ms"]
    n = len(d) // 4
    parts = [(d[i * n : (i + 1) * n], a[i * n : (i + 1) * n]) for i in range(4)]
    quarters = " | ".join(f"{statistics.mean(x):.2f}/{statistics.mean(y):.2f}" for x, y in parts)
    print(
        f"{label}: total CPU/call direct {statistics.mean(d):.2f}, in-app {statistics.mean(a):.2f} "
        f"(own {res['in-app']['own_cpu_ms']:.2f} + workers {res['in-app']['worker_cpu_ms']:.2f}); "
        f"workers during direct calls {res['direct']['worker_cpu_ms']:.2f}; "
        f"p50 {res['direct']['p50_ms']:.2f}/{res['in-app']['p50_ms']:.2f}; "
        f"by quarter direct/in-app: {quarters}; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--query", default="lookup", help="one of bench/query.py's QUERIES")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the same picks")
    ap.add_argument(
        "--first-pairs",
        action="store_true",
        help="start with two direct/in-app passes, CPU per call shown by quarter",
    )
    ap.add_argument(
        "--bench-pass",
        action="store_true",
        help="also run bench/query.py's own in-app pass first and last",
    )
    args = ap.parse_args(argv)

    import pyoxigraph as ox
    import query as bq  # bench/query.py
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app
    from impact_graph.api.routers.sparql import app_view
    from impact_graph.rdf import _worker
    from impact_graph.rdf.view import view_dir
    from impact_graph.store.falkordb_server import FalkorDBServer

    q = next(x for x in bq.QUERIES if x.name == args.query)
    with tempfile.TemporaryDirectory(prefix="sparql-overhead-") as tmp:
        data = Path(tmp)
        try:
            settings, ids = bq.build(data, args.nodes)
            app = create_app(settings, warm_up=False, warm_sparql=True)
            accept = {"Accept": "application/sparql-results+json"}
            with TestClient(app):
                asgi = bq.AsgiCaller(app)
                view = app_view(app)
                ox_store = ox.Store.read_only(str(view_dir(settings) / "oxigraph"))
                cap = settings.query_row_cap

                def direct(nid: Any) -> bytes:
                    return ox_store.query(q.sparql_text(nid)).serialize(
                        format=ox.QueryResultsFormat.JSON
                    )

                def worker_code(nid: Any) -> bytes:
                    req = {"query": q.sparql_text(nid), "row_cap": cap, "media": _worker.JSON_MEDIA}
                    return _worker.run(ox_store, req)[1]

                async def via_view(nid: Any) -> bytes:
                    r = await view.run_query_async(
                        q.sparql_text(nid),
                        form="select",
                        prefixes={},
                        timeout_s=settings.query_timeout_s,
                        row_cap=cap,
                        media=_worker.JSON_MEDIA,
                    )
                    return r.body or b""

                async def in_app(nid: Any) -> bytes:
                    status, body = await asgi.request(
                        "GET", "/sparql", params={"query": q.sparql_text(nid)}, headers=accept
                    )
                    assert status == 200, body[:300]
                    return body

                calls = {
                    "direct": direct,
                    "direct worker-code": worker_code,
                    "view": via_view,
                    "in-app": in_app,
                }
                rnd = random.Random(1)
                picks = [rnd.choice(ids[q.param]) if q.param else None for _ in range(args.calls)]

                ticks_vs_ns: list[tuple[float, int]] = []
                bench_cpu = bq.worker_cpu_s

                def recording_cpu(pids: Sequence[int]) -> float:
                    """The bench's worker CPU (10 ms ticks), with schedstat's beside it."""
                    ticks_vs_ns.append((bench_cpu(pids), sched_ns(pids)))
                    return ticks_vs_ns[-1][0]

                bq.worker_cpu_s = recording_cpu  # type: ignore[assignment]

                async def bench_pass(label: str) -> None:
                    """The bench's own in-app pass (`bench/query.py` `interleaved`: direct
                    and in-app, 5 warm-up calls, 100 calls), its CPU accounting, and the
                    workers' CPU of the same window from schedstat."""
                    ticks_vs_ns.clear()
                    _, _, cpu = await bq.interleaved(
                        {"direct": direct, "in-app": in_app},
                        picks[:100],
                        workers=lambda: view.query_worker_pids,
                    )
                    (t0, n0), (t1, n1) = ticks_vs_ns
                    print(
                        f"bench pass ({label}): CPU/call direct {cpu['direct']:.2f} ms, "
                        f"in-app {cpu['in-app']:.2f} ms; workers over the pass "
                        f"{(t1 - t0) * 1e3:.0f} ms by ticks, {(n1 - n0) / 1e6:.1f} ms by "
                        f"schedstat; load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )

                async def measure() -> list[dict[str, dict[str, Any]]]:
                    if args.first_pairs:
                        # Direct and in-app only (as the bench pairs them), from the
                        # workers' very first calls: does the endpoint's extra decay?
                        for k in range(2):
                            fresh = random.Random(10 + k)
                            two = [fresh.choice(ids[q.param]) for _ in range(args.calls)]
                            res = await paired(
                                {"direct": direct, "in-app": in_app},
                                two,
                                lambda: view.query_worker_pids,
                                warmup=5,
                            )
                            print_pairs(f"direct/in-app pass {k + 1}", res)
                    if args.bench_pass:
                        await bench_pass("first SPARQL calls of the workers")
                    # The same answer every way (rows compared as parsed JSON).
                    for nid in picks[:3]:
                        ref = bq.sparql_rows(direct(nid))
                        for name, call in calls.items():
                            out = call(nid)
                            out = await out if asyncio.iscoroutine(out) else out
                            assert bq.sparql_rows(out) == ref, name
                    rounds = [
                        await paired(calls, picks, lambda: view.query_worker_pids)
                        for _ in range(args.rounds)
                    ]
                    if args.bench_pass:
                        await bench_pass("after the paired rounds")
                    return rounds

                gc_before = [s["collections"] for s in gc.get_stats()]
                rounds = asyncio.run(measure())
                gc_after = [s["collections"] for s in gc.get_stats()]
                # How often each worker opened its store (1: never reopened per request).
                opens = sorted(w.opens for w in list(view._pool._all))  # type: ignore[attr-defined]
            load = os.getloadavg()
            print(
                f"{args.nodes:,} nodes, {args.calls} calls x {args.rounds} rounds, query {q.name}"
            )
            print(f"store opens per query worker (0: never asked): {opens}")
            print(
                f"gc collections per generation during the run: "
                f"{[a - b for a, b in zip(gc_after, gc_before, strict=True)]}"
            )
            for k, res in enumerate(rounds):
                base = res["direct"]
                print(f"round {k + 1}")
                print(
                    f"  {'variant':20} {'p50':>7} {'p95':>7} {'ratio':>6} {'own CPU':>8} "
                    f"{'worker CPU':>10} {'total':>7} {'CPU ratio':>9}"
                )
                for name, r in res.items():
                    print(
                        f"  {name:20} {r['p50_ms']:7.2f} {r['p95_ms']:7.2f} "
                        f"{r['p50_ms'] / base['p50_ms']:6.2f} {r['own_cpu_ms']:8.2f} "
                        f"{r['worker_cpu_ms']:10.2f} {r['total_cpu_ms']:7.2f} "
                        f"{r['total_cpu_ms'] / base['total_cpu_ms']:9.2f}"
                    )
            print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            for r in rounds:
                for v in r.values():
                    v.pop("series_total_cpu_ms", None)
            print(json.dumps(rounds))
        finally:
            FalkorDBServer(data).stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
