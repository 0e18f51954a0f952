"""Where a ``/cypher`` lookup's server-side cost goes, step by step, per call.

Why: `bench/query.py` finds the HTTP rows of the fastest Cypher queries past issue 5's
1.3x (lookup 1.59x on a ~0.7 ms direct call). Between uvicorn and FalkorDB the request
passes through our own code: the lean path, the body's parsing and checks, the guard,
the parameter check, the asyncio reader (read-only check, parameter header, round trip,
the reply read into values) and the JSON answer. This script times each layer as its
own variant on the bench's data (`bench/query.py`'s `build`), the same query text with a
new parameter each call as the bench sends it, variants in a seeded shuffled order per
call; a layer's cost is the difference from the layer below it.

Variants, from the bottom up (each is the one below plus one layer):

* ``raw`` -- the reader's ``GRAPH.RO_QUERY`` round trip alone (`AsyncFalkorReader.
  _command`: the parameter header and the query sent, the compact reply read), no values;
* ``reader`` -- `AsyncFalkorReader.read_query` (read-only check, time limit, row cap, the
  reply as plain values);
* ``run`` -- `run_cypher_async` (the guard, the parameter names, a `Table`);
* ``answer`` -- ``run`` plus `cypher.table_response` (JSON bytes and a `Response`);
* ``post_answer`` -- `cypher.post_answer` on a ready-made request: the body read and
  checked, then ``answer``;
* ``lean`` -- the app's router (`impact_graph.api.lean.LeanQueries`): the read-key check,
  ``post_answer`` and the ASGI send;
* ``in-app`` -- the whole app as an ASGI callable (`bench/query.py`'s ``AsgiCaller``):
  middleware, lean path, read-key check, request parsing, ``answer``, the ASGI send;
* ``in-app no-op`` -- the app answering a route that returns ``{}`` (middleware and
  routing only), for scale;
* ``direct`` -- the bench's baseline: the falkordb client's synchronous ``ro_query``
  (redis-py's command path, the client's cell-by-cell reply parser) and ``json.dumps``.

CPU per call (``time.process_time``, this process: FalkorDB's server CPU is the same for
every variant) and wall p50. ``--profile N`` also runs N in-app calls (or those of
``--profile-variant``) under cProfile and prints the functions by own time (this
thread's CPU, so not the wait for FalkorDB, which a wall clock books to ``socket.send``
when the kernel runs the server at once), per call in microseconds; the profiler's own
cost inflates small functions.

What it found (H37, 2026-11-28, 20k nodes, lookup, 1,500 calls a variant, two rounds,
load 9-10, so only the CPU columns mean much), CPU per call in us at 6df3e5b: raw round
trip 196/185; the reader +68/+70 (read-only check, header, the reply's values); run
+24/+18 (guard, parameter names, Table); answer +35/+40 (JSON, Response); post_answer
+118/+116 (body read and checked, limits, `async_reader`; this script's own JSON body
and scope included); lean +19/+11; the whole app +137/+64 (middleware; FastAPI 0.165's
telemetry check alone ~8 us at load 20 when nothing is configured); a no-op route
through FastAPI's routing 442/419. The direct call 442/436: the falkordb client's own
reply parser (``parse_scalar`` per cell, statistics) and ``json.dumps`` are in it, so it
pays about what the reader and the answer pay. py-spy over the in-app loop: hiredis
parsing ~10% of the samples, the socket write to FalkorDB ~6%, `plain_rows` ~8%,
redis-py's ``pack_command`` ~3.6%, `async_reader` ~3.2% (two imports a call).

Usage: ``.venv/bin/python bench/tools/cypher_overhead.py [--nodes 20000] [--calls 2000]
[--query lookup] [--profile 2000] [--data /tmp/q100k]`` (``--data``: `bench/query.py`'s
graph directory, built once and reused, so a 100k run does not build the graph again).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
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


def pct(values: Sequence[float], q: float) -> float:
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


async def paired(
    calls: dict[str, Callable[[Any], Any]], inputs: Sequence[Any], warmup: int = 50
) -> dict[str, dict[str, float]]:
    """Each variant once per input, in a seeded shuffled order per input; wall and CPU."""
    import inspect

    for x in inputs[:warmup]:
        for call in calls.values():
            out = call(x)
            if inspect.isawaitable(out):
                await out
    names = list(calls)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    order = random.Random(len(inputs))
    for x in inputs:
        for name in order.sample(names, len(names)):
            c0 = time.process_time()
            t0 = time.perf_counter()
            out = calls[name](x)
            if inspect.isawaitable(out):
                await out
            t1 = time.perf_counter()
            c1 = time.process_time()
            wall[name].append((t1 - t0) * 1e6)
            cpu[name].append((c1 - c0) * 1e6)
    return {
        n: {
            "p50_us": pct(wall[n], 50),
            "cpu_us": statistics.mean(cpu[n]),
            "cpu_p50_us": pct(cpu[n], 50),
        }
        for n in names
    }


def show_profile(prof: cProfile.Profile, calls: int, top: int) -> None:
    """Functions by own time, microseconds per request."""
    st = pstats.Stats(prof)
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        where = file.split("site-packages/")[-1].split("src/")[-1]
        rows.append((tt, ct, nc, f"{where}:{line}({func})"))
    total = sum(r[0] for r in rows)
    print(f"profile: {total / calls * 1e6:.1f} us own time per request, top {top} by own time")
    print(f"{'own us':>8} {'cum us':>8} {'calls/req':>9}  function")
    for tt, ct, nc, name in sorted(rows, reverse=True)[:top]:
        print(f"{tt / calls * 1e6:8.2f} {ct / calls * 1e6:8.2f} {nc / calls:9.2f}  {name}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=20_000)
    ap.add_argument(
        "--data",
        type=Path,
        default=None,
        help="bench/query.py's --data directory (built there once if missing); default: "
        "a temporary directory",
    )
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--query", default="lookup", help="one of bench/query.py's QUERIES")
    ap.add_argument("--rounds", type=int, default=1, help="passes over new picks")
    ap.add_argument("--profile", type=int, default=0, help="in-app calls under cProfile")
    ap.add_argument("--top", type=int, default=45)
    ap.add_argument("--profile-variant", default="in-app", help="the variant to profile")
    ap.add_argument(
        "--spin",
        type=float,
        default=0,
        help="then call --profile-variant for this many seconds (for py-spy record --pid)",
    )
    args = ap.parse_args(argv)

    import query as bq  # bench/query.py
    from fastapi import Request
    from fastapi.responses import Response
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app
    from impact_graph.api.routers import cypher
    from impact_graph.queries.run import run_cypher_async
    from impact_graph.store.falkordb_async import async_reader
    from impact_graph.store.falkordb_server import FalkorDBServer

    q = next(x for x in bq.QUERIES if x.name == args.query)
    with (
        contextlib.nullcontext(str(args.data))
        if args.data
        else tempfile.TemporaryDirectory(prefix="cypher-overhead-")
    ) as tmp:
        data = Path(tmp)
        try:
            settings, ids = bq.built(data, args.nodes) if args.data else bq.build(data, args.nodes)
            app = create_app(settings, warm_up=False, warm_sparql=False)

            @app.get("/_bench_noop", include_in_schema=False)
            async def _noop_route() -> Response:
                return Response(b"{}", media_type="application/json")

            post_json = {"Content-Type": "application/json"}
            cap, limit = settings.query_row_cap, settings.query_timeout_s
            with TestClient(app):
                asgi = bq.AsgiCaller(app)
                store = app.state.services.store()
                graph = store.graph

                async def measure() -> None:
                    reader = async_reader(store)
                    assert reader is not None

                    def header(nid: Any) -> str:
                        return graph._build_params_header(q.cypher_params(nid)) + q.cypher

                    async def answer(nid: Any) -> Any:
                        table = await run_cypher_async(
                            reader, q.cypher, q.cypher_params(nid), timeout_s=limit, row_cap=cap
                        )
                        return cypher.table_response(table, "json", backend=store.backend)

                    def asgi_call(target: Any, nid: Any) -> Any:
                        """``target`` called as the app calls what is inside it."""
                        body = json.dumps({"query": q.cypher, "params": q.cypher_params(nid)})
                        raw = body.encode()
                        scope = {
                            "type": "http",
                            "asgi": {"version": "3.0"},
                            "http_version": "1.1",
                            "method": "POST",
                            "scheme": "http",
                            "path": "/cypher",
                            "raw_path": b"/cypher",
                            "query_string": b"",
                            "root_path": "",
                            "headers": [
                                (b"host", b"bench"),
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(raw)).encode()),
                            ],
                            "client": ("127.0.0.1", 1),
                            "server": ("bench", 80),
                            "state": {},
                            "app": app,
                        }
                        sent = []

                        async def receive() -> dict[str, Any]:
                            if not sent:
                                sent.append(1)
                                return {"type": "http.request", "body": raw, "more_body": False}
                            return {"type": "http.disconnect"}

                        async def send(message: dict[str, Any]) -> None:
                            return None

                        if target == "post_answer":
                            return cypher.post_answer(Request(scope, receive, send))
                        return target(scope, receive, send)

                    calls: dict[str, Callable[[Any], Any]] = {
                        "direct": lambda nid: json.dumps(
                            graph.ro_query(q.cypher, q.cypher_params(nid)).result_set
                        ).encode(),
                        "raw": lambda nid: reader._command(header(nid), int(limit * 1000)),
                        "reader": lambda nid: reader.read_query(
                            q.cypher, q.cypher_params(nid), timeout_s=limit, row_cap=cap
                        ),
                        "run": lambda nid: run_cypher_async(
                            reader, q.cypher, q.cypher_params(nid), timeout_s=limit, row_cap=cap
                        ),
                        "answer": answer,
                        "post_answer": lambda nid: asgi_call("post_answer", nid),
                        "lean": lambda nid: asgi_call(app.router.middleware_stack, nid),
                        "in-app": lambda nid: asgi.request(
                            "POST",
                            "/cypher",
                            body=json.dumps(
                                {"query": q.cypher, "params": q.cypher_params(nid)}
                            ).encode(),
                            headers=post_json,
                        ),
                        "in-app no-op": lambda nid: asgi.request("GET", "/_bench_noop"),
                    }
                    rnd = random.Random(3)
                    pool = ids[q.param] if q.param else [None]
                    for r in range(args.rounds):
                        picks = [rnd.choice(pool) for _ in range(args.calls)]
                        res = await paired(calls, picks)
                        d = res["direct"]
                        print(
                            f"round {r + 1}: {args.query}, {args.calls} calls a variant, "
                            f"{args.nodes:,} nodes, load {os.getloadavg()[0]:.2f}"
                        )
                        print(
                            f"{'variant':14} {'CPU us':>8} {'CPU p50':>8} {'p50 us':>8}  vs below"
                        )
                        below = None
                        for n in (
                            "raw",
                            "reader",
                            "run",
                            "answer",
                            "post_answer",
                            "lean",
                            "in-app",
                        ):
                            x = res[n]
                            step = "" if below is None else f"+{x['cpu_us'] - below:.1f}"
                            below = x["cpu_us"]
                            print(
                                f"{n:14} {x['cpu_us']:8.1f} {x['cpu_p50_us']:8.1f} "
                                f"{x['p50_us']:8.1f}  {step}"
                            )
                        for n in ("in-app no-op", "direct"):
                            x = res[n]
                            cells = f"{x['cpu_us']:8.1f} {x['cpu_p50_us']:8.1f} {x['p50_us']:8.1f}"
                            print(f"{n:14} {cells}")
                        print(
                            f"in-app/direct p50 {res['in-app']['p50_us'] / d['p50_us']:.3f}, "
                            f"CPU {res['in-app']['cpu_us'] / d['cpu_us']:.3f}",
                            flush=True,
                        )
                    if args.profile:
                        picks = [rnd.choice(pool) for _ in range(args.profile)]
                        call = calls[args.profile_variant]
                        prof = cProfile.Profile(time.thread_time)  # CPU: not the server's turn
                        prof.enable()
                        for nid in picks:
                            await call(nid)
                        prof.disable()
                        show_profile(prof, len(picks), args.top)
                    if args.spin:
                        call = calls[args.profile_variant]
                        print(f"spinning: pid {os.getpid()}", flush=True)
                        n, end = 0, time.monotonic() + args.spin
                        while time.monotonic() < end:
                            await call(rnd.choice(pool))
                            n += 1
                        print(f"spun {n} calls", flush=True)

                asyncio.run(measure())
        finally:
            FalkorDBServer(data).stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
