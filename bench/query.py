"""Researcher endpoints against direct calls: ``/cypher`` vs the FalkorDB client and
``/sparql`` vs pyoxigraph, for the same queries, in the same run.

Usage::

    .venv/bin/python bench/query.py                 # 100k nodes, ~1M triples
    .venv/bin/python bench/query.py --quick         # 2k nodes, ~20k triples (seconds)
    .venv/bin/python bench/query.py --nodes 20000   # any size (iterating on a change)
    .venv/bin/python bench/query.py --nodes 20000 --languages cypher \
        --queries lookup,two-hop,path --calls 300    # one endpoint's rows, more calls
    .venv/bin/python bench/query.py --data /tmp/q100k   # build once, reuse next time;
    PYTHONPATH=/tmp/old/src .venv/bin/python bench/query.py --data /tmp/q100k  # paired

The queries are the kinds a researcher runs (notebooks/01-cypher.ipynb, 02-sparql.ipynb),
each in Cypher and in SPARQL, and both must give the same rows:

* ``lookup`` -- the actors of one programme (a ~0.6 ms indexed lookup: the worst case
  for a fixed per-call cost);
* ``two-hop`` -- the interventions that address one challenge, with how many effects
  each has (the notebooks' first question: a 2-hop match with OPTIONAL and a count);
* ``per-challenge`` -- interventions counted per challenge (an aggregation over every
  ADDRESSES edge);
* ``path`` -- from a programme through its actors and what they deliver to the
  challenges addressed (a 3-hop path with a count).

Every variant answers the same query with the same parameters and the same rows, and
each is counted up to the same point -- the answer serialised as JSON bytes -- so the
ratio is what the endpoint adds, not a difference in work:

* ``direct`` -- the database alone plus JSON: ``graph.ro_query(...).result_set`` of the
  falkordb client on the embedded server, then ``json.dumps`` of the rows; for SPARQL
  ``Store.query(...).serialize(JSON)`` on the Oxigraph directory opened once (read-only)
  in this process. No guard, no time limit, no row cap, no process boundary.
* ``in-app`` -- the real FastAPI app called as an ASGI application in this process, with
  no HTTP client or socket: the app's middleware, then for POST /cypher and GET /sparql
  the lean path (`impact_graph.api.lean`: read-key check, no routing; GET /sparql went
  through FastAPI's routing and read dependency before 33e544d), request parsing, the
  guard and checks, the time limit and row cap
  (SPARQL: the long-lived worker process, a pipe round trip, serialisation in the
  worker), JSON. This is the endpoint's own cost.
* ``HTTP`` -- the app served by uvicorn in a process of its own, as ``impact-graph
  serve`` runs it (`impact_graph.api.app.server_options`: no access log, httptools and
  uvloop when they are installed; the SPARQL query workers started at start-up), on a
  local TCP socket, called with libcurl (pycurl, one easy handle reused, so one
  keep-alive connection: `CurlClient`): the endpoint's cost over a real socket, with
  the client a researcher's ``curl`` uses, written in C.
* ``HTTP http.client`` -- the same server called with the standard library's
  ``http.client`` (`ThinClient`, one keep-alive connection; the HTTP rows' client
  until H61): its request building and answer parsing in Python cost ~0.1 ms more
  client CPU a call than libcurl's. Shown for information, no target.
* ``HTTP httpx`` -- the same server called with an httpx keep-alive client: what a
  researcher's httpx script sees, the client's own ~1 ms per call included. Shown for
  information; the target is judged on the in-app and HTTP rows.

Why the server has its own process (before: a thread of this one): a user's server is
its own process, and a thread here shares this process's GIL with the client and with
the direct calls, so it changes both sides of the ratio. The server thread finished its
side of a call (the response's completion, the keep-alive timer, going back to its
event loop) while this thread went on to the next call, and ``time.process_time``
booked that work to whichever call was running: in the last ``make bench`` (100k nodes,
load ~1) the lookup's direct calls timed beside the HTTP calls took 1.10 ms p50 and
0.49 ms CPU, beside the in-app calls 0.64 ms and 0.31 ms.
``bench/tools/http_floor.py`` breaks the HTTP round trip down with every server in its
own process.

The clients' own cost per call is printed as ``no-op`` rows (a route that returns
``{}``, added after the app's routes, so it also pays the app's middleware and routing),
so it can be told apart from the endpoint's; the ``HTTP raw no-op`` row is the bare HTTP
floor -- uvicorn and the thin client, answered by a plain ASGI function in front of the
app (no middleware, no routing): what any endpoint served this way pays at least. Calls
run one at a time, interleaved call by call with direct calls (who goes first rotates,
since the first call for a parameter reads colder caches), so a load change on this
shared machine hits both alike; the in-app and each HTTP variant are timed in separate
passes, each with its own direct calls (a client's threads finish their side of a call
after it returns and slowed the next call in this process: the in-app lookup took 2.7
ms interleaved with the clients, 1.2-1.3 ms without, when the server was a thread
here). p50/p95 over the calls after a warm-up; the ratio is variant p50 / the p50 of the
direct calls of its pass, and the target is at most 1.3x. Each row also has the CPU per
call and its ratio to the direct call's: on this shared machine CPU moves less with the
load than wall time does. For the direct and in-app calls it is this process's (all its
threads) plus the in-app SPARQL query workers'; for the HTTP variants this process's
(the client) plus the server process's, read from ``/proc`` before each call and
booked to the call before (so what the server does after its answer is sent counts for
that call), plus the server's SPARQL query workers'. The database server's CPU is not
counted: it gets the same query from both. Data is synthetic: actors
taking part in programmes and delivering interventions, interventions addressing
challenges and having effects, written straight into both stores (not through ingest).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Latency,
    add_common_args,
    console,
    fmt,
    free_port,
    machine_info,
    make_table,
    save_json,
    server_process,
    task_cpu_s,
    verdict,
)

TARGET = 1.3


def build(data: Path, n_nodes: int, seed: int = 7) -> tuple[Any, dict[str, list[str]]]:
    """Write the synthetic graph to FalkorDB and ~10 triples per node to Oxigraph; the
    node ids by kind (``programmes``, ``challenges``) for the queries' parameters."""
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
    n_ch = max(10, n_nodes // 1000)
    n_eff = max(10, n_nodes // 20)
    n_act = n_nodes - n_prog - n_int - n_ch - n_eff
    progs = [f"programme:p{i}" for i in range(n_prog)]
    ints = [f"intervention:i{i}" for i in range(n_int)]
    chs = [f"challenge:c{i}" for i in range(n_ch)]
    effs = [f"effect:e{i}" for i in range(n_eff)]
    acts = [f"actor:a{i}" for i in range(n_act)]
    part = [(a, rnd.choice(progs)) for a in acts for _ in range(2)]
    deliv = [(a, rnd.choice(ints)) for a in acts]
    addr = sorted({(i, rnd.choice(chs)) for i in ints for _ in range(2)})
    has_eff = [(rnd.choice(ints), e) for e in effs]
    labels = (
        ("Programme", progs),
        ("Intervention", ints),
        ("Challenge", chs),
        ("Effect", effs),
        ("Actor", acts),
    )
    rels = (
        ("PARTICIPATES_IN", part),
        ("DELIVERS", deliv),
        ("ADDRESSES", addr),
        ("HAS_EFFECT", has_eff),
    )

    store = FalkorDBStore(settings)
    store.clear()
    for label, ids in labels:
        for i in range(0, len(ids), 5000):
            store.graph.query(
                f"UNWIND $ids AS id CREATE (:Node:{label} {{id: id, name: 'name ' + id}})",
                {"ids": ids[i : i + 5000]},
            )
    store.graph.query("CREATE INDEX FOR (n:Node) ON (n.id)")
    for label, _ in labels:  # as the app's schema: each label's id is indexed too
        store.graph.query(f"CREATE INDEX FOR (n:{label}) ON (n.id)")
    # FalkorDB builds an index in the background: a MATCH planned before it is ready scans
    # the label instead (at 100k nodes on a loaded machine the first relationship batch
    # ran for 18 minutes so).
    deadline = time.monotonic() + 600
    while store.graph.ro_query(
        "CALL db.indexes() YIELD status WHERE status <> 'OPERATIONAL' RETURN count(*)"
    ).result_set[0][0]:
        if time.monotonic() > deadline:
            raise RuntimeError("the bench graph's indexes were not ready within 600 s")
        time.sleep(0.1)
    for rel, pairs in rels:
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
    for label, ids in labels:
        cls = mapping.class_iri(label)
        for nid in ids:
            s = mapping.node_iri(nid)
            quads += [
                ox.Quad(s, ox.NamedNode(rdf + "type"), cls, g),
                ox.Quad(s, name_p, ox.Literal("name " + nid), g),
                ox.Quad(s, id_p, ox.Literal(nid), g),
            ]
    for rel, pairs in rels:
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
    n_rels = sum(len(pairs) for _, pairs in rels)
    console.print(f"{n_nodes:,} nodes, {n_rels:,} relationships; {len(quads):,} quads")
    return settings, {"programmes": progs, "challenges": chs}


def compact_aof(data: Path, wait_s: float = 600.0) -> None:
    """Rewrite the FalkorDB server's append-only file as a snapshot. Left as the build's
    log of queries, the next start replays every relationship-building MATCH (at 100k
    nodes on a loaded machine it was still loading when the app gave up waiting)."""
    import redis

    r = redis.Redis(unix_socket_path=str(data / "falkordb.sock"))
    try:
        r.bgrewriteaof()
        deadline = time.monotonic() + wait_s
        while True:
            info = r.info("persistence")
            if not (info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"]):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"FalkorDB did not rewrite its append-only file in {wait_s} s")
            time.sleep(0.2)
    finally:
        r.close()


def built(data: Path, n_nodes: int) -> tuple[Any, dict[str, list[str]]]:
    """`build` into ``data`` once and reuse it afterwards (``--data``): two versions of
    the code, run in turn (``PYTHONPATH=<old checkout>/src``), then query the very same
    graph, and the 100k build (minutes) is paid once. The node ids by kind are kept
    beside the data; a directory built for another size is refused, not rebuilt."""
    from impact_graph.config import Settings

    marker = data / "bench-query.json"
    if not marker.exists():
        data.mkdir(parents=True, exist_ok=True)
        settings, ids = build(data, n_nodes)
        compact_aof(data)
        marker.write_text(json.dumps({"nodes": n_nodes, "ids": ids}))
        return settings, ids
    kept = json.loads(marker.read_text())
    if kept["nodes"] != n_nodes:
        raise SystemExit(
            f"{data} holds the bench graph of {kept['nodes']:,} nodes, not {n_nodes:,}: "
            f"pass --nodes {kept['nodes']} or another --data directory."
        )
    settings = Settings(backend="falkordb", data_dir=data, graph_name="bench", rdf="oxigraph")
    return settings, kept["ids"]


IG = "https://w3id.org/impact-graph/ontology#"
BASE = "https://w3id.org/impact-graph/id/"


@dataclass(frozen=True)
class Query:
    """One research question in both languages; ``param`` names the kind of node id it
    takes (None: the same text every call)."""

    name: str
    title: str
    cypher: str
    sparql: str  # ``{id}`` is replaced by the parameter's node IRI
    param: str | None = None

    def cypher_params(self, nid: str | None) -> dict[str, Any]:
        return {"id": nid} if self.param else {}

    def sparql_text(self, nid: str | None) -> str:
        return self.sparql.replace("{id}", f"<{BASE}{nid}>") if self.param else self.sparql


QUERIES = [
    Query(
        "lookup",
        "actors of one programme",
        "MATCH (a:Actor)-[:PARTICIPATES_IN]->(p:Programme {id: $id}) "
        "RETURN a.id AS id, a.name AS name ORDER BY id LIMIT 100",
        f"SELECT ?id ?name WHERE {{ ?a <{IG}participatesIn> {{id}} ; <{IG}id> ?id ; "
        f"<{IG}name> ?name }} ORDER BY ?id LIMIT 100",
        "programmes",
    ),
    Query(
        "two-hop",
        "interventions for one challenge, with their number of effects",
        "MATCH (i:Intervention)-[:ADDRESSES]->(c:Challenge {id: $id}) "
        "OPTIONAL MATCH (i)-[:HAS_EFFECT]->(e:Effect) "
        "RETURN i.id AS id, i.name AS name, count(DISTINCT e) AS effects "
        "ORDER BY effects DESC, id LIMIT 100",
        f"SELECT ?id ?name (COUNT(DISTINCT ?e) AS ?effects) WHERE {{ "
        f"?i <{IG}addresses> {{id}} ; <{IG}id> ?id ; <{IG}name> ?name . "
        f"OPTIONAL {{ ?i <{IG}hasEffect> ?e }} }} "
        f"GROUP BY ?id ?name ORDER BY DESC(?effects) ?id LIMIT 100",
        "challenges",
    ),
    Query(
        "per-challenge",
        "interventions counted per challenge",
        "MATCH (i:Intervention)-[:ADDRESSES]->(c:Challenge) "
        "RETURN c.id AS id, count(i) AS interventions ORDER BY interventions DESC, id LIMIT 20",
        f"SELECT ?id (COUNT(?i) AS ?interventions) WHERE {{ ?i <{IG}addresses> ?c . "
        f"?c <{IG}id> ?id }} GROUP BY ?id ORDER BY DESC(?interventions) ?id LIMIT 20",
    ),
    Query(
        "path",
        "programme -> actors -> interventions -> challenges",
        "MATCH (p:Programme {id: $id})<-[:PARTICIPATES_IN]-(a:Actor)-[:DELIVERS]->"
        "(i:Intervention)-[:ADDRESSES]->(c:Challenge) "
        "RETURN c.id AS id, count(DISTINCT i) AS interventions "
        "ORDER BY interventions DESC, id LIMIT 20",
        f"SELECT ?id (COUNT(DISTINCT ?i) AS ?interventions) WHERE {{ "
        f"?a <{IG}participatesIn> {{id}} ; <{IG}delivers> ?i . ?i <{IG}addresses> ?c . "
        f"?c <{IG}id> ?id }} GROUP BY ?id ORDER BY DESC(?interventions) ?id LIMIT 20",
        "programmes",
    ),
]


def sparql_rows(body: bytes) -> list[list[Any]]:
    """SPARQL JSON results as rows of plain values (integers by datatype), to compare
    with Cypher's rows."""
    doc = json.loads(body)
    names = doc["head"]["vars"]
    rows = []
    for b in doc["results"]["bindings"]:
        row: list[Any] = []
        for v in names:
            term = b.get(v)
            if term is None:
                row.append(None)
            elif term.get("datatype", "").endswith("#integer"):
                row.append(int(term["value"]))
            else:
                row.append(term["value"])
        rows.append(row)
    return rows


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


class ThinClient:
    """One keep-alive HTTP/1.1 connection through the standard library's ``http.client``.

    Why not httpx: its request and response objects, header models and transports cost
    ~1 ms per call in Python on this machine, as much as the lookups being measured, so
    it hides the endpoint's own cost. This client builds the request line and headers and
    reads the body, little more; `request` answers like `AsgiCaller.request`. Against
    uvicorn answering a bare ASGI no-op in its own process (3,000 calls, load ~12),
    ``http.client`` took 0.128 ms p50 and 0.100 ms CPU per call, a hand-written
    keep-alive socket client 0.050 ms and 0.020 ms. It was the HTTP rows' client until
    H61; now `CurlClient` is, and this one's figures are the ``HTTP http.client`` rows
    (no target), beside them. Also the bench server's start-up probe.
    """

    def __init__(self, base_url: str) -> None:
        import http.client
        from urllib.parse import urlsplit

        url = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        import http.client
        from urllib.parse import urlencode

        target = f"{path}?{urlencode(params)}" if params else path
        for attempt in (1, 2):
            try:
                self.conn.request(method, target, body=body or None, headers=headers or {})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # uvicorn closes a connection idle for 5 s (between passes); reconnect
                # once, as httpx does by itself. Only a pass's warm-up calls meet this.
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


class CurlClient:
    """One libcurl easy handle (pycurl), reused for every call, so its keep-alive
    connection is too: what ``curl`` on the command line does for a researcher, without
    starting a process per call.

    Why beside `ThinClient`: issue 5 says a researcher queries ``/cypher`` with curl,
    and the HTTP rows should measure the endpoint, not the client. ``http.client``
    builds and parses the request and answer in Python (0.24 ms of client CPU a call
    against a raw socket's 0.06, H54); libcurl does both in C. `request` answers like
    `ThinClient.request`. No ``Expect: 100-continue`` (libcurl sends it for large POST
    bodies only; the header is cleared so a large query is not held for a round trip).

    Measured (H61, 100k nodes, three runs of 500 calls, load ~10; each client's rows
    against the direct calls timed with them): Cypher lookup p50 ratio 1.39/1.37/1.40
    with libcurl against 1.58/1.57/1.57 with ``http.client``, CPU ratio 1.83/1.75/1.78
    against 2.23/2.21/2.15; path 1.37/1.33/1.39 against 1.48/1.55/1.49.
    """

    def __init__(self, base_url: str) -> None:
        import pycurl

        self.base_url = base_url.rstrip("/")
        self.curl = pycurl.Curl()
        self.curl.setopt(pycurl.TCP_NODELAY, 1)
        self.curl.setopt(pycurl.TIMEOUT, 60)
        self.curl.setopt(pycurl.NOSIGNAL, 1)
        self._headers: list[str] | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        from urllib.parse import urlencode

        import pycurl

        c = self.curl
        target = f"{path}?{urlencode(params)}" if params else path
        c.setopt(pycurl.URL, self.base_url + target)
        if method == "POST":
            c.setopt(pycurl.POSTFIELDS, body)
        elif method == "GET":
            c.setopt(pycurl.HTTPGET, 1)
        else:
            c.setopt(pycurl.CUSTOMREQUEST, method)
        lines = [*(f"{k}: {v}" for k, v in (headers or {}).items()), "Expect:"]
        if lines != self._headers:  # set once for a run of calls with the same headers
            c.setopt(pycurl.HTTPHEADER, lines)
            self._headers = lines
        answer = c.perform_rb()
        return int(c.getinfo(pycurl.RESPONSE_CODE)), answer

    def close(self) -> None:
        self.curl.close()


def worker_cpu_s(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` used so far (0 for a gone one),
    to the nanosecond (`task_cpu_s`)."""
    return sum(task_cpu_s(pid) for pid in pids)


async def interleaved(
    calls: dict[str, Callable[[Any], Any]],
    inputs: Sequence[Any],
    warmup: int = 20,
    workers: Callable[[], Sequence[int]] = list,
    server: int | None = None,
) -> tuple[dict[str, Latency], dict[str, list[Any]], dict[str, float]]:
    """Time every variant once per input, in turn (so load drift hits all alike), the
    order shuffled anew for each input. A call may return an awaitable (the in-app
    variant); the whole benchmark runs as one event loop task, as a server's loop does, so
    anyio's worker threads and the app's connections live on between requests.

    Also the CPU per call of each variant (ms): this process's (``time.process_time``:
    every thread, the app's worker threads included) plus that of the processes
    ``workers()`` names (the SPARQL query workers, whose idle polling is counted too), plus
    that of the HTTP server process ``server`` (all its threads): read before each call
    and booked to the call before, so the server's work after its answer went out counts
    for the call it belongs to; also under ``"<variant> server"``. On a loaded machine CPU
    is steadier than wall time; the database server's CPU is not in it (the direct call
    and the endpoint send it the same query).

    ``warmup`` is 20 calls a variant (5 before): the SPARQL lookup's in-app pass is the
    first the query workers answer, and a fresh worker's extra over the direct call fell
    from ~1.3 to ~0.8 ms CPU per call over its first 200 calls at 100k nodes
    (bench/tools/sparql_overhead.py, H26), so 5 warm-up calls timed its warm-up."""
    import inspect

    for x in inputs[:warmup]:
        for call in calls.values():
            out = call(x)
            if inspect.isawaitable(out):
                await out
    lat = {name: Latency() for name in calls}
    outs: dict[str, list[Any]] = {name: [] for name in calls}
    cpu = dict.fromkeys(calls, 0.0)
    srv = dict.fromkeys(calls, 0.0)
    names = list(calls)
    pids = workers()
    workers_before = worker_cpu_s(pids)
    order = random.Random(len(inputs))
    # The collector runs after each call instead of when allocations cross its threshold:
    # left alone, it collected httpx's reference cycles (and scanned this process's heap,
    # the in-app app's included) inside whichever call came next, mostly a direct one
    # (measured: the direct lookup's CPU beside httpx calls 0.84 ms with the collector
    # on, 0.47 ms with it off, 0.36-0.39 ms beside the in-app calls). Each call's
    # collection counts in its CPU, not in its wall time.
    gc_on = gc.isenabled()
    gc.collect()
    gc.disable()
    last: str | None = None
    srv_last = task_cpu_s(server) if server is not None else 0.0
    try:
        for x in inputs:
            # A new order per input (seeded): the first call for a parameter reads colder
            # caches, and a fixed rotation would put each variant after the same neighbour
            # (H25 measured that skew in paired pairs).
            for name in order.sample(names, len(names)):
                call = calls[name]
                if server is not None:
                    srv_now = task_cpu_s(server)
                    if last is not None:
                        srv[last] += srv_now - srv_last
                    srv_last, last = srv_now, name
                p0 = time.process_time()
                t0 = time.perf_counter()
                out = call(x)
                if inspect.isawaitable(out):
                    out = await out
                lat[name].samples_ms.append((time.perf_counter() - t0) * 1000.0)
                gc.collect(1)  # this call's cycles, if any (young objects only: microseconds)
                cpu[name] += time.process_time() - p0
                outs[name].append(out)
    finally:
        if gc_on:
            gc.enable()
    # The workers' CPU is read once for the whole pass (they poll while idle, so a read
    # per call would book their polling to whatever call came next) and belongs to the
    # one variant of the pass that uses them: not the direct call, not a no-op.
    users = [n for n in names if n != "direct" and not n.endswith("no-op")]
    for name in users:
        cpu[name] += (worker_cpu_s(pids) - workers_before) / len(users)
    if server is not None and last is not None:
        time.sleep(0.05)  # the last answer's completion
        srv[last] += task_cpu_s(server) - srv_last
    per_call = 1000.0 / max(1, len(inputs))
    out_cpu = {name: (cpu[name] + srv[name]) * per_call for name in calls}
    if server is not None:
        out_cpu.update({f"{name} server": srv[name] * per_call for name in calls})
    return lat, outs, out_cpu


def bench_settings(data: Path) -> Any:
    """The settings of the bench graph in ``data`` (as `build` writes it)."""
    from impact_graph.config import Settings

    return Settings(backend="falkordb", data_dir=data, graph_name="bench", rdf="oxigraph")


def bench_app(data: Path) -> Any:
    """The app on the bench graph as ``impact-graph serve`` makes it (its SPARQL query
    workers started at start-up; the embedding model not loaded, no query here needs
    it), plus the no-op route the clients' floor is measured on."""
    from fastapi.responses import Response

    from impact_graph.api.app import create_app

    app = create_app(bench_settings(data), warm_up=False, warm_sparql=True)

    @app.get("/_bench_noop", include_in_schema=False)
    async def _noop_route() -> Response:  # the HTTP clients' own floor
        return Response(b"{}", media_type="application/json")

    return app


def serve(data: Path, port: int) -> int:
    """``--serve PORT``: the bench app served by uvicorn with the settings of
    ``impact-graph serve`` (`server_options`), the raw no-op in front; runs until
    terminated. What `http_server` starts in a process of its own."""
    import uvicorn

    from impact_graph.api.app import server_options

    app = with_raw_noop(bench_app(data))
    uvicorn.run(app, host="127.0.0.1", port=port, **server_options(log_level="warning"))
    return 0


@contextlib.contextmanager
def http_server(data: Path, wait_s: float = 600.0) -> Iterator[tuple[str, int]]:
    """The bench app served by uvicorn in its own process (`serve`), as a user runs
    ``impact-graph serve``; yields its base URL and pid once it answers a Cypher query
    (its start-up waits 15 s for the store, then answers 503 until it is open: on a
    loaded machine a 100k graph took longer)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)]
    probe = json.dumps({"query": "RETURN 1 AS one"}).encode()

    def answers() -> bool:
        client = ThinClient(base_url)
        try:
            status, _ = client.request(
                "POST", "/cypher", body=probe, headers={"Content-Type": "application/json"}
            )
            return status == 200
        except OSError:
            return False
        finally:
            client.close()

    with server_process(
        [*cmd, "--data", str(data)], answers, what="the bench server", wait_s=wait_s, poll_s=0.2
    ) as proc:
        yield base_url, proc.pid


def child_pids(pid: int, running: str = "impact_graph.rdf._worker") -> list[int]:
    """The processes whose parent is ``pid`` and whose command line holds ``running``:
    the server's SPARQL query workers (not a FalkorDB server it may have started, whose
    CPU is the database's)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if running in cmdline:
            out.append(int(name))
    return out


def opened_store(app: Any, wait_s: float = 600.0) -> Any:
    """The app's store once it is open. The app's start-up waits 15 s for it and then
    serves anyway (503s until it opens); on a loaded machine a 100k graph took longer to
    load, and the bench died of "store still starting" (StoreUnavailable)."""
    from impact_graph.store.port import StoreUnavailable

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return app.state.services.store()
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


VARIANTS = ("in-app", "HTTP", "HTTP http.client", "HTTP httpx")
#: The variants issue 5's 1.3x is judged on; the others are printed for information.
TARGETED = ("in-app", "HTTP")
#: How the table names a variant whose key (kept for the JSON and report.py) says less.
LABELS = {"HTTP": "HTTP (curl)", "HTTP raw": "HTTP (curl) raw"}
NOOPS = (
    "HTTP no-op",
    "HTTP raw no-op",
    "HTTP http.client no-op",
    "HTTP http.client raw no-op",
    "HTTP httpx no-op",
)
RAW_NOOP = "/_bench_raw_noop"


def with_raw_noop(app: Any) -> Any:
    """``app`` with `RAW_NOOP` answered in front of it (no middleware, no routing): the
    HTTP floor of the server and the client alone."""

    async def served(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == RAW_NOOP:
            headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        await app(scope, receive, send)

    return served


def run(
    n_nodes: int,
    json_path: Path | None,
    *,
    languages: Sequence[str] = ("cypher", "sparql"),
    queries: Sequence[str] = tuple(q.name for q in QUERIES),
    calls: int | None = None,
    data_dir: Path | None = None,
) -> int:
    import asyncio

    import httpx
    import pyoxigraph as ox
    from fastapi.testclient import TestClient

    from impact_graph.api.routers.sparql import app_view
    from impact_graph.rdf.view import view_dir
    from impact_graph.store.falkordb_server import FalkorDBServer

    calls = calls or (20 if n_nodes < 10_000 else 100)
    with (
        contextlib.nullcontext(str(data_dir))
        if data_dir
        else tempfile.TemporaryDirectory(prefix="bench-query-")
    ) as tmp:
        data = Path(tmp)
        try:
            settings, ids = built(data, n_nodes) if data_dir else build(data, n_nodes)
            app = bench_app(data)  # the in-app variant's
            json_accept = {"Accept": "application/sparql-results+json"}
            post_json = {"Content-Type": "application/json"}
            with contextlib.ExitStack() as stack:
                stack.enter_context(TestClient(app))  # the app's lifespan: store, workers
                graph = opened_store(app).graph  # the falkordb client's graph
                # The server process after the store is open: it finds the FalkorDB
                # server running instead of starting a second one beside this app's.
                base_url, server_pid = stack.enter_context(http_server(data))
                http = stack.enter_context(httpx.Client(base_url=base_url, timeout=60))
                thin = stack.enter_context(contextlib.closing(ThinClient(base_url)))
                curl = stack.enter_context(contextlib.closing(CurlClient(base_url)))
                asgi = AsgiCaller(app)
                ox_store = ox.Store.read_only(str(view_dir(settings) / "oxigraph"))
                sparql_view = app_view(app)  # its query workers' CPU counts as the endpoint's
                server_workers = child_pids(server_pid)  # the server's SPARQL query workers

                #: Each client's floor: the app's no-op route, and a bare ASGI no-op in
                #: front of the app (no middleware, no routing).
                noops: dict[str, Callable[[Any], Any]] = {
                    "HTTP no-op": lambda nid: curl.request("GET", "/_bench_noop"),
                    "HTTP raw no-op": lambda nid: curl.request("GET", RAW_NOOP),
                    "HTTP http.client no-op": lambda nid: thin.request("GET", "/_bench_noop"),
                    "HTTP http.client raw no-op": lambda nid: thin.request("GET", RAW_NOOP),
                    "HTTP httpx no-op": lambda nid: http.get("/_bench_noop"),
                }

                def cypher_calls(q: Query) -> dict[str, Callable[[Any], Any]]:
                    def body(nid: Any) -> dict[str, Any]:
                        return {"query": q.cypher, "params": q.cypher_params(nid)}

                    return {
                        "direct": lambda nid: json.dumps(
                            graph.ro_query(q.cypher, q.cypher_params(nid)).result_set
                        ).encode(),
                        "in-app": lambda nid: asgi.request(
                            "POST",
                            "/cypher",
                            body=json.dumps(body(nid)).encode(),
                            headers=post_json,
                        ),
                        "HTTP": lambda nid: curl.request(
                            "POST",
                            "/cypher",
                            body=json.dumps(body(nid)).encode(),
                            headers=post_json,
                        ),
                        "HTTP http.client": lambda nid: thin.request(
                            "POST",
                            "/cypher",
                            body=json.dumps(body(nid)).encode(),
                            headers=post_json,
                        ),
                        "HTTP httpx": lambda nid: http.post("/cypher", json=body(nid)),
                        **noops,
                    }

                def sparql_calls(q: Query) -> dict[str, Callable[[Any], Any]]:
                    def params(nid: Any) -> dict[str, str]:
                        return {"query": q.sparql_text(nid)}

                    return {
                        "direct": lambda nid: ox_store.query(q.sparql_text(nid)).serialize(
                            format=ox.QueryResultsFormat.JSON
                        ),
                        "in-app": lambda nid: asgi.request(
                            "GET", "/sparql", params=params(nid), headers=json_accept
                        ),
                        "HTTP": lambda nid: curl.request(
                            "GET", "/sparql", params=params(nid), headers=json_accept
                        ),
                        "HTTP http.client": lambda nid: thin.request(
                            "GET", "/sparql", params=params(nid), headers=json_accept
                        ),
                        "HTTP httpx": lambda nid: http.get(
                            "/sparql", params=params(nid), headers=json_accept
                        ),
                        **noops,
                    }

                async def measure() -> list[dict[str, Any]]:
                    rnd = random.Random(1)
                    out: list[dict[str, Any]] = []
                    for q in QUERIES:
                        picks = [
                            rnd.choice(ids[q.param]) if q.param else None for _ in range(calls)
                        ]
                        if q.name not in queries:
                            continue
                        done: list[tuple[str, Any, Any, Any, Any]] = []
                        if "cypher" in languages:
                            lat_c, out_c, cpu_c = await grouped(
                                cypher_calls(q), picks, server=server_pid
                            )
                            rows_c = [json.loads(b) for b in out_c["direct"]]
                            check(out_c, rows_c, lambda b: json.loads(b)["rows"])
                            done.append(("cypher", lat_c, cpu_c, rows_c, out_c))
                        if "sparql" in languages:
                            lat_s, out_s, cpu_s = await grouped(
                                sparql_calls(q),
                                picks,
                                workers=lambda: sparql_view.query_worker_pids,
                                server=server_pid,
                                server_workers=lambda: server_workers,
                            )
                            rows_s = [sparql_rows(b) for b in out_s["direct"]]
                            check(out_s, rows_s, sparql_rows)
                            done.append(("sparql", lat_s, cpu_s, rows_s, out_s))
                        if len(done) == 2:  # the same facts both ways
                            for i in range(len(picks)):
                                assert rows_s[i] == rows_c[i], (
                                    q.name,
                                    rows_c[i][:3],
                                    rows_s[i][:3],
                                )
                        for lang, lat, cpu, rows, _out in done:
                            rows_mean = statistics.mean(len(r) for r in rows)
                            out.append(entry(q, lang, lat, cpu, rows_mean))
                    return out

                def check(
                    outs: dict[str, list[Any]], rows: list[Any], read: Callable[[bytes], Any]
                ) -> None:
                    """Every variant gave the direct call's rows."""
                    for i in range(len(rows)):
                        for v in ("in-app", "HTTP", "HTTP http.client"):
                            status, body = outs[v][i]
                            assert status == 200, body[:300]
                            assert read(body) == rows[i]
                        res = outs["HTTP httpx"][i]
                        assert res.status_code == 200, res.text[:300]
                        assert read(res.content) == rows[i]

                results = asyncio.run(measure())
            print_table(results, n_nodes, calls)
            load = os.getloadavg()
            console.print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            if json_path:
                save_json(
                    json_path,
                    {
                        "machine": machine_info(),
                        "nodes": n_nodes,
                        "calls": calls,
                        "load": load,
                        **legacy_keys(results),
                        "queries": results,
                    },
                )
        finally:
            FalkorDBServer(data).stop()
    return 0


#: Variants timed together, each group against its own direct calls: a client's threads
#: (and, when the server was a thread of this process, the server's) finish their side
#: of a call after it returns and would slow whatever call comes next in this process.
GROUPS = (
    ("in-app",),
    ("HTTP", "HTTP no-op", "HTTP raw no-op"),
    ("HTTP http.client", "HTTP http.client no-op", "HTTP http.client raw no-op"),
    ("HTTP httpx", "HTTP httpx no-op"),
)


async def grouped(
    calls: dict[str, Callable[[Any], Any]],
    inputs: Sequence[Any],
    workers: Callable[[], Sequence[int]] = list,
    server: int | None = None,
    server_workers: Callable[[], Sequence[int]] = list,
) -> tuple[dict[str, Latency], dict[str, list[Any]], dict[str, float]]:
    """`interleaved` once per group of `GROUPS`, each with the direct call; the direct
    latency of group ``g`` is kept as ``direct <g>`` (its ratio's baseline), that of the
    in-app group as ``direct``; CPU per call likewise. The in-app group counts the CPU
    of ``workers`` (this process's SPARQL query workers); the HTTP groups that of the
    ``server`` process and of its own workers, ``server_workers``."""
    lat: dict[str, Latency] = {}
    outs: dict[str, list[Any]] = {}
    cpu: dict[str, float] = {}
    for group in GROUPS:
        in_app = group[0] == "in-app"
        g_lat, g_out, g_cpu = await interleaved(
            {"direct": calls["direct"], **{v: calls[v] for v in group}},
            inputs,
            workers=workers if in_app else server_workers,
            server=None if in_app else server,
        )
        for name in group:
            lat[name], outs[name], cpu[name] = g_lat[name], g_out[name], g_cpu[name]
            if f"{name} server" in g_cpu:
                cpu[f"{name} server"] = g_cpu[f"{name} server"]
        lat[f"direct {group[0]}"] = g_lat["direct"]
        cpu[f"direct {group[0]}"] = g_cpu["direct"]
        if in_app:
            lat["direct"], outs["direct"] = g_lat["direct"], g_out["direct"]
            cpu["direct"] = g_cpu["direct"]
    return lat, outs, cpu


def entry(
    q: Query, lang: str, lat: dict[str, Latency], cpu: dict[str, float], rows_mean: float
) -> dict[str, Any]:
    """One query in one language: direct, each variant with its ratio against the direct
    calls timed alongside it, the no-op floors; CPU per call (ms) of each, and the CPU
    ratio (same calls, so it does not move with the machine's load as wall time does)."""
    d = lat["direct"]
    variants = {}
    for v in VARIANTS:
        base = lat[f"direct {v}"]
        ratio = lat[v].p50 / base.p50 if base.p50 > 0 else float("nan")
        base_cpu = cpu[f"direct {v}"]
        variants[v] = {
            **lat[v].summary(),
            "cpu_ms": cpu[v],
            "server_cpu_ms": cpu.get(f"{v} server"),
            "direct": {**base.summary(), "cpu_ms": base_cpu},
            "ratio_p50": ratio,
            "cpu_ratio": cpu[v] / base_cpu if base_cpu > 0 else float("nan"),
            "holds": ratio <= TARGET if v in TARGETED else None,
        }
    return {
        "query": q.name,
        "title": q.title,
        "language": lang,
        "text": q.cypher if lang == "cypher" else q.sparql,
        "rows_mean": rows_mean,
        "direct": {**d.summary(), "cpu_ms": cpu["direct"]},
        "variants": variants,
        "noop": {v.removesuffix(" no-op"): lat[v].summary() for v in NOOPS},
    }


def legacy_keys(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The lookup's figures under the keys earlier runs wrote ("cypher in-app", "cypher
    HTTP"), so older comparisons keep working. (Runs before this one had a TestClient
    variant under "cypher"/"sparql" and httpx as the "HTTP" client.)"""
    out: dict[str, Any] = {}
    for r in results:
        if r["query"] != "lookup":
            continue
        lang = r["language"]
        for v, key in (("in-app", f"{lang} in-app"), ("HTTP", f"{lang} HTTP")):
            out[key] = {
                "direct": r["variants"][v]["direct"],
                "rows_mean": r["rows_mean"],
                "endpoint": {k: x for k, x in r["variants"][v].items() if k.endswith(("_ms", "n"))},
                "ratio_p50": r["variants"][v]["ratio_p50"],
                "variant": v,
            }
        out[f"{lang} HTTP"]["http_noop"] = r["noop"]["HTTP"]
    return out


def print_table(results: list[dict[str, Any]], n_nodes: int, calls: int) -> None:
    table = make_table(
        f"Researcher queries, {n_nodes:,} nodes ({calls} calls each, interleaved)",
        ["", "p50", "p95", "ratio p50", f"<= {TARGET}x", "CPU/call", "CPU ratio"],
    )
    for r in results:
        d = r["direct"]
        table.add_row(
            f"{r['language']} {r['query']}: direct (+JSON), {r['rows_mean']:.0f} rows",
            fmt(d["p50_ms"], "ms", 2),
            fmt(d["p95_ms"], "ms", 2),
            "",
            "",
            fmt(d.get("cpu_ms"), "ms", 2),
            "",
        )
        for v in VARIANTS:
            a = r["variants"][v]
            table.add_row(
                f"  /{r['language']} {LABELS.get(v, v)}",
                fmt(a["p50_ms"], "ms", 2),
                fmt(a["p95_ms"], "ms", 2),
                fmt(a["ratio_p50"], "x", 2),
                verdict(a["holds"]) if v in TARGETED else "no target",
                fmt(a.get("cpu_ms"), "ms", 2),
                fmt(a.get("cpu_ratio"), "x", 2),
            )
        for v, n in r["noop"].items():
            what = "server + client floor" if v.endswith(" raw") else "client floor"
            v = LABELS.get(v, v)
            table.add_row(
                f"  {v} no-op ({what})", fmt(n["p50_ms"], "ms", 2), fmt(n["p95_ms"], "ms", 2)
            )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument(
        "--nodes",
        type=int,
        default=None,
        help="graph size (default 100,000; --quick: 2,000); ~10 triples per node",
    )
    parser.add_argument(
        "--languages",
        default="cypher,sparql",
        help="cypher, sparql or both (iterating on one endpoint; both also checks they agree)",
    )
    parser.add_argument(
        "--queries",
        default=",".join(q.name for q in QUERIES),
        help="which of " + ", ".join(q.name for q in QUERIES),
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=None,
        help="timed calls per variant (default 100; below 10,000 nodes 20)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="build the graph in this directory once and reuse it in later runs (paired "
        "runs of two checkouts on the same data); default: a temporary directory",
    )
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)  # port
    args = parser.parse_args(argv)
    if args.serve is not None:  # the HTTP server process `http_server` starts
        return serve(args.data, args.serve)
    if args.nodes is not None and args.nodes < 1_000:
        parser.error("--nodes must be at least 1000 (the queries need programmes and challenges)")
    languages = [x.strip() for x in args.languages.split(",") if x.strip()]
    if not languages or set(languages) - {"cypher", "sparql"}:
        parser.error("--languages takes cypher, sparql or cypher,sparql")
    names = [x.strip() for x in args.queries.split(",") if x.strip()]
    known = [q.name for q in QUERIES]
    if not names or set(names) - set(known):
        parser.error(f"--queries takes names from {', '.join(known)}")
    if args.calls is not None and args.calls < 1:
        parser.error("--calls must be at least 1")
    n_nodes = args.nodes or (2_000 if args.quick else 100_000)
    return run(
        n_nodes,
        args.json,
        languages=languages,
        queries=names,
        calls=args.calls,
        data_dir=args.data,
    )


if __name__ == "__main__":
    raise SystemExit(main())
