"""Researcher endpoints against direct calls: ``/cypher`` vs the FalkorDB client and
``/sparql`` vs pyoxigraph, for the same queries, in the same run.

Usage::

    .venv/bin/python bench/query.py                 # 100k nodes, ~1M triples
    .venv/bin/python bench/query.py --quick         # 2k nodes, ~20k triples (seconds)

Every variant answers the same query with the same parameters and the same rows, and
each is counted up to the same point -- the answer serialised as JSON bytes -- so the
ratio is what the endpoint adds, not a difference in work:

* ``direct`` -- the database alone plus JSON: ``graph.ro_query(...).result_set`` of the
  falkordb client on the embedded server, then ``json.dumps`` of the rows; for SPARQL
  ``Store.query(...).serialize(JSON)`` on the Oxigraph directory opened once (read-only)
  in this process. No guard, no time limit, no row cap, no process boundary.
* ``in-app`` -- the real FastAPI app called as an ASGI application in this process, with
  no HTTP client or socket: routing, the read dependency, request parsing, the guard and
  checks, the time limit and row cap (SPARQL: the long-lived worker process, a pipe
  round trip, serialisation in the worker), JSON. This is the endpoint's own cost.
* ``HTTP`` -- the same request through Starlette's TestClient (httpx over an in-process
  transport and a thread hop per call), as the earlier runs of this benchmark measured.
  It adds a fixed ~1-1.5 ms per call that belongs to the client harness, printed as its
  own row (``HTTP no-op``: a route that returns ``{}``), so it can be told apart.

Calls run one at a time; the variants are interleaved call by call (direct, in-app, HTTP,
no-op, next parameter; who goes first rotates, since the first call for a parameter
reads colder caches), so a load change on this shared machine hits all of them alike.
p50/p95 over the calls after a warm-up; the ratio is variant p50 / direct p50 and the
target is at most 1.3x. Data is synthetic: actors taking part in programmes and
delivering interventions, written straight into both stores (not through ingest).
"""

from __future__ import annotations

import argparse
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Latency,
    add_common_args,
    console,
    fmt,
    machine_info,
    make_table,
    save_json,
    verdict,
)

TARGET = 1.3


def build(data: Path, n_nodes: int, seed: int = 7) -> tuple[Any, list[str]]:
    """Write the synthetic graph to FalkorDB and ~10 triples per node to Oxigraph."""
    import pyoxigraph as ox

    from impact_graph.config import Settings
    from impact_graph.ontology import load_schema
    from impact_graph.rdf.mapping import RdfMapping
    from impact_graph.rdf.view import OxigraphView, view_dir
    from impact_graph.store.falkordb_store import FalkorDBStore

    rnd = random.Random(seed)
    settings = Settings(backend="falkordb", data_dir=data, graph_name="bench", rdf="oxigraph")
    schema = load_schema()
    mapping = RdfMapping(schema)
    n_prog = max(10, n_nodes // 100)
    n_int = max(10, n_nodes // 20)
    n_act = n_nodes - n_prog - n_int
    progs = [f"programme:p{i}" for i in range(n_prog)]
    ints = [f"intervention:i{i}" for i in range(n_int)]
    acts = [f"actor:a{i}" for i in range(n_act)]
    part = [(a, rnd.choice(progs)) for a in acts for _ in range(2)]
    deliv = [(a, rnd.choice(ints)) for a in acts]

    store = FalkorDBStore(settings)
    store.clear()
    for label, ids in (("Programme", progs), ("Intervention", ints), ("Actor", acts)):
        for i in range(0, len(ids), 5000):
            store.graph.query(
                f"UNWIND $ids AS id CREATE (:Node:{label} {{id: id, name: 'name ' + id}})",
                {"ids": ids[i : i + 5000]},
            )
    store.graph.query("CREATE INDEX FOR (n:Node) ON (n.id)")
    for rel, pairs in (("PARTICIPATES_IN", part), ("DELIVERS", deliv)):
        for i in range(0, len(pairs), 5000):
            store.graph.query(
                f"UNWIND $p AS p MATCH (a:Node {{id: p[0]}}), (b:Node {{id: p[1]}}) "
                f"CREATE (a)-[:{rel} {{role: 'partner'}}]->(b)",
                {"p": [list(x) for x in pairs[i : i + 5000]]},
            )

    path = view_dir(settings)
    OxigraphView(path, mapping)  # creates the directory layout the app expects
    g = mapping.graph_iri("document:bench")
    name_p, id_p = mapping.prop("name"), mapping.prop("id")
    quads: list[Any] = []
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    for label, ids in (("Programme", progs), ("Intervention", ints), ("Actor", acts)):
        cls = mapping.class_iri(label)
        for nid in ids:
            s = mapping.node_iri(nid)
            quads += [
                ox.Quad(s, ox.NamedNode(rdf + "type"), cls, g),
                ox.Quad(s, name_p, ox.Literal("name " + nid), g),
                ox.Quad(s, id_p, ox.Literal(nid), g),
            ]
    for rel, pairs in (("PARTICIPATES_IN", part), ("DELIVERS", deliv)):
        p = mapping.rel_iri(rel)
        for a, b in pairs:
            s, o = mapping.node_iri(a), mapping.node_iri(b)
            r = ox.NamedNode(mapping.edge_base + f"{rel}-{a}-{b}")
            quads += [
                ox.Quad(s, p, o, g),
                ox.Quad(r, ox.NamedNode(rdf + "reifies"), ox.Triple(s, p, o), g),
                ox.Quad(r, mapping.prop("role"), ox.Literal("partner"), g),
            ]
    # As the view writes: each document's graph, plus the default graph kept as the union.
    quads += [ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads]
    ox_store = ox.Store(str(path / "oxigraph"))
    ox_store.bulk_extend(quads)
    ox_store.flush()
    del ox_store
    console.print(
        f"{n_nodes:,} nodes, {len(part) + len(deliv):,} relationships; {len(quads):,} quads"
    )
    return settings, progs


class AsgiCaller:
    """Calls an ASGI app directly, without an HTTP client or socket.

    ``request`` is a coroutine: the benchmark runs as one task for its whole length, as a
    server's event loop does, so anyio's worker threads (``run_in_threadpool``) live on
    between requests instead of being started per request.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        from urllib.parse import urlencode

        hdrs = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        if body:
            hdrs.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(params or {}).encode(),
            "root_path": "",
            "headers": [(b"host", b"bench"), *hdrs],
            "client": ("127.0.0.1", 1),
            "server": ("bench", 80),
            "state": {},
        }
        status = 0
        chunks: list[bytes] = []
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def interleaved(
    calls: dict[str, Callable[[Any], Any]], inputs: Sequence[Any], warmup: int = 5
) -> tuple[dict[str, Latency], dict[str, list[Any]]]:
    """Time every variant once per input, in turn (so load drift hits all alike), the
    order rotating from one input to the next. A call may return an awaitable (the in-app
    variant); all run in one event loop task."""
    import asyncio
    import inspect

    async def main() -> tuple[dict[str, Latency], dict[str, list[Any]]]:
        for x in inputs[:warmup]:
            for call in calls.values():
                out = call(x)
                if inspect.isawaitable(out):
                    await out
        lat = {name: Latency() for name in calls}
        outs: dict[str, list[Any]] = {name: [] for name in calls}
        names = list(calls)
        for i, x in enumerate(inputs):
            # Rotate who goes first: the first call for a parameter reads colder caches.
            for name in names[i % len(names) :] + names[: i % len(names)]:
                call = calls[name]
                t0 = time.perf_counter()
                out = call(x)
                if inspect.isawaitable(out):
                    out = await out
                lat[name].samples_ms.append((time.perf_counter() - t0) * 1000.0)
                outs[name].append(out)
        return lat, outs

    return asyncio.run(main())


def run(quick: bool, json_path: Path | None) -> int:
    import pyoxigraph as ox
    from fastapi.responses import Response
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app
    from impact_graph.rdf.view import view_dir
    from impact_graph.store.falkordb_server import FalkorDBServer

    n_nodes = 2_000 if quick else 100_000
    calls = 20 if quick else 100
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        data = Path(tmp)
        try:
            settings, progs = build(data, n_nodes)
            rnd = random.Random(1)
            picks = [rnd.choice(progs) for _ in range(calls)]
            cypher = (
                "MATCH (a:Actor)-[:PARTICIPATES_IN]->(p:Programme {id: $pid}) "
                "RETURN a.id AS id, a.name AS name ORDER BY id LIMIT 100"
            )
            ig = "https://w3id.org/impact-graph/ontology#"
            base = "https://w3id.org/impact-graph/id/"

            def sparql(pid: str) -> str:
                return (
                    f"SELECT ?id ?name WHERE {{ ?a <{ig}participatesIn> <{base}{pid}> ; "
                    f"<{ig}id> ?id ; <{ig}name> ?name }} ORDER BY ?id LIMIT 100"
                )

            app = create_app(settings, warm_up=False)

            @app.get("/_bench_noop", include_in_schema=False)
            def _noop_route() -> Response:  # the HTTP harness's own floor
                return Response(b"{}", media_type="application/json")

            results: dict[str, Any] = {}
            json_accept = {"Accept": "application/sparql-results+json"}
            with TestClient(app) as client:
                asgi = AsgiCaller(app)
                store = app.state.services.store()
                graph = store.graph  # the falkordb client's graph
                ox_store = ox.Store.read_only(str(view_dir(settings) / "oxigraph"))
                lat_c, out_c = interleaved(
                    {
                        "direct": lambda pid: json.dumps(
                            graph.ro_query(cypher, {"pid": pid}).result_set
                        ).encode(),
                        "in-app": lambda pid: asgi.request(
                            "POST",
                            "/cypher",
                            body=json.dumps({"query": cypher, "params": {"pid": pid}}).encode(),
                            headers={"Content-Type": "application/json"},
                        ),
                        "HTTP": lambda pid: client.post(
                            "/cypher", json={"query": cypher, "params": {"pid": pid}}
                        ),
                        "HTTP no-op": lambda pid: client.get("/_bench_noop"),
                    },
                    picks,
                )
                lat_s, out_s = interleaved(
                    {
                        "direct": lambda pid: ox_store.query(sparql(pid)).serialize(
                            format=ox.QueryResultsFormat.JSON
                        ),
                        "in-app": lambda pid: asgi.request(
                            "GET", "/sparql", params={"query": sparql(pid)}, headers=json_accept
                        ),
                        "HTTP": lambda pid: client.get(
                            "/sparql", params={"query": sparql(pid)}, headers=json_accept
                        ),
                        "HTTP no-op": lambda pid: client.get("/_bench_noop"),
                    },
                    picks,
                )
                # Same answers: row counts (and the rows themselves) agree call by call.
                for i in range(len(picks)):
                    rows = json.loads(out_c["direct"][i])
                    status, body = out_c["in-app"][i]
                    assert status == 200, body[:300]
                    assert json.loads(body)["rows"] == rows
                    assert out_c["HTTP"][i].json()["rows"] == rows
                    want = json.loads(out_s["direct"][i])["results"]["bindings"]
                    status, body = out_s["in-app"][i]
                    assert status == 200, body[:300]
                    assert json.loads(body)["results"]["bindings"] == want
                    assert out_s["HTTP"][i].json()["results"]["bindings"] == want
                sizes = {
                    "cypher": statistics.mean(len(json.loads(b)) for b in out_c["direct"]),
                    "sparql": statistics.mean(
                        len(json.loads(b)["results"]["bindings"]) for b in out_s["direct"]
                    ),
                }
            table = make_table(
                f"Researcher queries, {n_nodes:,} nodes ({calls} calls each, interleaved)",
                ["", "p50", "p95", "ratio p50", f"<= {TARGET}x"],
            )
            for name, lat in (("cypher", lat_c), ("sparql", lat_s)):
                d = lat["direct"]
                table.add_row(
                    f"{name} direct (+JSON), {sizes[name]:.0f} rows",
                    fmt(d.p50, "ms", 2),
                    fmt(d.p95, "ms", 2),
                    "",
                    "",
                )
                entry: dict[str, Any] = {"direct": d.summary(), "rows_mean": sizes[name]}
                for variant, label in (("in-app", f"/{name} in-app"), ("HTTP", f"/{name} HTTP")):
                    a = lat[variant]
                    ratio = a.p50 / d.p50 if d.p50 > 0 else float("nan")
                    table.add_row(
                        label,
                        fmt(a.p50, "ms", 2),
                        fmt(a.p95, "ms", 2),
                        fmt(ratio, "x", 2),
                        verdict(ratio <= TARGET),
                    )
                    key = name if variant == "HTTP" else f"{name} in-app"
                    results[key] = {
                        **entry,
                        "endpoint": a.summary(),
                        "ratio_p50": ratio,
                        "variant": variant,
                    }
                noop = lat["HTTP no-op"]
                table.add_row(
                    "  HTTP no-op (harness floor)", fmt(noop.p50, "ms", 2), fmt(noop.p95, "ms", 2)
                )
                results[name]["http_noop"] = noop.summary()
            console.print(table)
            load = os.getloadavg()
            console.print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            if json_path:
                save_json(
                    json_path,
                    {"machine": machine_info(), "nodes": n_nodes, "load": load, **results},
                )
        finally:
            FalkorDBServer(data).stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    args = parser.parse_args(argv)
    return run(args.quick, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
