"""Where a ``/cypher`` call's HTTP round trip goes: CPU per request on both sides, with
every server in its own process (as ``impact-graph serve`` runs), layer by layer.

Why: `bench/query.py`'s Cypher HTTP rows miss issue 5's 1.3x while the in-app rows hold,
and its no-op route costs ~0.8 ms a round trip there. That bench serves the app from a
thread of its own process, so the client, the server and the direct driver calls share
one GIL; this tool separates what a socket costs, what uvicorn costs, what our app's
middleware and lean path cost, and what the lookup costs, each in CPU of the process
that spends it.

Every variant sends the same request bytes (``POST`` with the lookup's JSON body, as
``bench/query.py``'s thin client sends it) and gets the same response bytes (a real
``/cypher`` lookup answer captured from the app at start), from the bottom up:

* ``socket echo`` -- a raw socket client (``sendall``/``recv``, TCP_NODELAY) and a
  blocking socket server that reads the request and writes the captured answer: the
  loopback floor with as little Python as possible on either side (a);
* ``socket uvloop`` -- the same client and a uvloop ``Protocol`` doing the same (the
  event loop without HTTP parsing);
* ``socket uvicorn`` / ``http.client uvicorn`` -- a bare ASGI function answering the
  captured head and body on uvicorn with ``server_options()`` (httptools, uvloop, the
  one-write protocol, no access log), called by the raw client and by ``http.client``
  (`bench/query.py`'s ``ThinClient``) (b);
* ``lean no-op`` -- our app (``create_app``, its middleware) with a no-op handler in the
  lean path (`impact_graph.api.lean.HANDLERS`): read-key check, ``Request``, body read,
  ``Response``; the lookup's answer bytes, no query (c);
* ``route no-op`` -- the same app, a POST route through FastAPI's routing that reads the
  body and answers the same bytes (what ``bench/query.py``'s no-op rows pay, but POST);
* ``cypher`` / ``socket cypher`` -- ``POST /cypher``, the real lookup (d), by
  ``http.client`` and by the raw client;
* ``curl ...`` -- the same servers called with libcurl (`bench/query.py`'s
  ``CurlClient``: pycurl, one reused handle), the client of `bench/query.py`'s HTTP
  rows since H61;
* ``... granian`` -- the same bare ASGI function, lean no-op and app on granian 2.8.9
  instead of uvicorn (`granian_run`: one worker process, single-threaded Rust runtime,
  uvloop, HTTP/1.1);
* ``direct`` -- ``bench/query.py``'s baseline in this process: the falkordb client's
  ``ro_query`` and ``json.dumps`` of the rows.

Each server variant has its own server process, so its CPU is that process's alone (all
its threads and those of its worker processes -- granian answers from a process it
forks -- nanoseconds from ``/proc/PID/task/*/schedstat``), read over the whole round
less its idle rate (uvicorn wakes 10 times a second) measured beforehand. The client's
CPU is ``time.process_time`` around each call. The database server's CPU is not counted
(the direct call and ``/cypher`` send it the same query). Calls are interleaved one by
one, variants in a seeded shuffled order per call, a new programme id per call.

What it found (H54, 2026-11-28, 100k nodes, 1,000 calls a variant a round, two runs of
three rounds at load 8-9 and 15-16; medians of rounds, ms; wall p50 / client CPU /
server CPU per call):

=============================  ======================  ======================
variant                        load 8-9                load 15-16
=============================  ======================  ======================
(a) socket echo                0.106 / 0.047 / 0.061   0.126 / 0.055 / 0.072
(a) socket uvloop              0.115 / 0.049 / 0.072   0.141 / 0.057 / 0.086
(b) socket uvicorn             0.271 / 0.056 / 0.234   0.337 / 0.065 / 0.273
(b) http.client uvicorn        0.437 / 0.244 / 0.243   0.534 / 0.288 / 0.287
(c) lean no-op                 0.588 / 0.250 / 0.394   0.704 / 0.299 / 0.460
lean no-op, no middleware      0.519 / 0.248 / 0.326   0.693 / 0.302 / 0.400
(c) route no-op                0.932 / 0.275 / 0.770   1.100 / 0.317 / 0.866
(d) cypher                     1.633 / 0.295 / 0.848   1.753 / 0.332 / 0.928
cypher, no middleware          1.545 / 0.298 / 0.755   1.695 / 0.329 / 0.844
(d) socket cypher              1.358 / 0.070 / 0.842   1.492 / 0.078 / 0.915
direct                         0.863 / 0.463 / --      1.008 / 0.528 / --
=============================  ======================  ======================

So at 1.3x a lookup of 0.86-1.0 ms may add 0.26-0.30 ms, and uvicorn answering a bare
ASGI function to the leanest client (b) already takes 0.27-0.34 ms, of which the
loopback round trip itself (a) is 0.11-0.13 ms. ``http.client`` (the bench's client)
costs 0.19-0.22 ms more client CPU per call than a raw socket. The app's whole
middleware stack (FastAPI's and Starlette's, `problems.TooLargeAsProblem`) is 0.06-0.09
ms of server CPU; the lookup's own work in the server (reader, guard, JSON) costs what
the direct call's client does (0.45 against 0.46 ms CPU). py-spy over a server
answering lookups in a loop: the two socket writes (the query to FalkorDB, the answer
to the client) were half of its busy samples. In a tight loop (no idle between calls)
every server costs 3-6x less CPU per request (lean no-op 0.09-0.13 ms, bare uvicorn
0.05 ms): the figures above are for calls that find the server idle, as a
researcher's do. uvloop and ``http.client`` both set TCP_NODELAY already.

Granian against uvicorn, and libcurl against ``http.client`` (H61, 2026-11-28, 100k
nodes, 1,000 calls a variant a round, three rounds at load 7-10, every variant in the
same rounds; wall p50 / client CPU / server CPU per call, ms, the three rounds):

=============================  =========================================================
variant                        round 1 / round 2 / round 3
=============================  =========================================================
(b) http.client uvicorn        0.551/0.298/0.316  0.645/0.351/0.368  0.554/0.303/0.358
(b) http.client granian        0.637/0.306/0.411  0.726/0.363/0.440  0.661/0.307/0.424
(b) curl uvicorn               0.480/0.206/0.316  0.528/0.218/0.337  0.464/0.193/0.335
(b) curl granian               0.542/0.197/0.416  0.593/0.223/0.436  0.539/0.190/0.411
(c) lean no-op                 0.762/0.315/0.557  0.850/0.361/0.591  0.781/0.316/0.588
(c) lean no-op granian         0.883/0.320/0.676  1.041/0.381/0.757  0.917/0.325/0.727
(d) cypher                     1.892/0.361/1.160  2.209/0.414/1.257  1.821/0.353/1.110
(d) cypher granian             1.974/0.361/1.313  2.276/0.409/1.372  1.923/0.349/1.255
(d) curl cypher                1.751/0.228/1.105  2.005/0.259/1.222  1.702/0.214/1.117
(d) curl cypher granian        1.974/0.229/1.396  2.099/0.249/1.345  1.795/0.208/1.233
direct                         1.005/0.578/--     1.261/0.678/--     0.971/0.559/--
=============================  =========================================================

granian costs more server CPU than uvicorn in every round and layer: +0.07-0.10 ms on
the bare ASGI function, +0.12-0.17 on the lean no-op, +0.10-0.29 on the lookup, and its
wall p50 is higher in every pair. Its other settings did no better (2k nodes, one round
of 300 calls, load 6): the Rust task implementation +0.06 / +0.12 / +0.18 ms server CPU
against uvicorn, the multi-threaded runtime +0.00 / +0.10 / +0.13. As in session 5
(H19), crossing from its Rust runtime into the Python app costs what the Rust HTTP
parsing saves: ``impact-graph serve`` stays on uvicorn. libcurl costs 0.09-0.16 ms
less client CPU a call than ``http.client`` (0.21 against 0.30 on the bare function,
0.23 against 0.36 on the lookup, medians) and 0.07-0.20 ms less wall time; a raw
socket's client CPU is another 0.14 ms below libcurl's.

Usage: ``PYTHONPATH=src .venv/bin/python bench/tools/http_floor.py --data /tmp/q100k``
(the ``bench/query.py --data`` directory: its graph is built there if missing)
``[--nodes 100000] [--calls 1000] [--rounds 3] [--variants "(d) cypher,(d) curl cypher"]``
``[--old-src /tmp/old/src]``: with ``--old-src`` every chosen server variant runs twice,
once as ``<variant> (old)`` importing ``impact_graph`` from that tree (e.g. ``git archive
HEAD | tar -x -C /tmp/old``), so a change is measured against its parent call by call in
the same rounds (H70: server CPU per lookup, 100k nodes, 3 rounds of 1,000 calls at load
~24, a leaner connection for the asyncio reader against its parent: 0.867/0.749/0.628
against 0.914/0.774/0.669 ms; the lean no-op unchanged, 0.431/0.356/0.312 against
0.426/0.347/0.343).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

from _common import accepts, cpu_s, free_port, server_process, tree_pids  # noqa: E402

LOOKUP = (
    "MATCH (a:Actor)-[:PARTICIPATES_IN]->(p:Programme {id: $id}) "
    "RETURN a.id AS id, a.name AS name ORDER BY id LIMIT 100"
)
LEAN_NOOP = "/_floor_lean_noop"
ROUTE_NOOP = "/_floor_route_noop"

#: Each variant's server (its own process: its CPU is the variant's alone), client
#: (``raw`` socket, ``thin``: `bench/query.py`'s ``http.client``, ``curl``: libcurl) and
#: path; the direct call has no server.
VARIANTS: dict[str, tuple[str | None, str, str]] = {
    "(a) socket echo": ("echo", "raw", "/cypher"),
    "(a) socket uvloop": ("uvloop", "raw", "/cypher"),
    "(b) socket uvicorn": ("asgi raw", "raw", "/cypher"),
    "(b) http.client uvicorn": ("asgi", "thin", "/cypher"),
    "(b) curl uvicorn": ("asgi curl", "curl", "/cypher"),
    "(b) http.client granian": ("g asgi", "thin", "/cypher"),
    "(b) curl granian": ("g asgi curl", "curl", "/cypher"),
    "(c) lean no-op": ("app lean", "thin", LEAN_NOOP),
    "(c) lean no-op granian": ("g app lean", "thin", LEAN_NOOP),
    "(c) route no-op": ("app route", "thin", ROUTE_NOOP),
    "(d) cypher": ("app", "thin", "/cypher"),
    "(d) cypher granian": ("g app", "thin", "/cypher"),
    "(d) curl cypher": ("app curl", "curl", "/cypher"),
    "(d) curl cypher granian": ("g app curl", "curl", "/cypher"),
    "(d) socket cypher": ("app raw", "raw", "/cypher"),
    "lean no-op, no middleware": ("bare lean", "thin", LEAN_NOOP),
    "cypher, no middleware": ("bare", "thin", "/cypher"),
    "direct": (None, "", ""),
}
#: What each server key runs (``--serve KIND``).
SERVER_KINDS = {
    "echo": "echo",
    "uvloop": "uvloop",
    "asgi raw": "asgi",
    "asgi": "asgi",
    "asgi curl": "asgi",
    "g asgi": "asgi-granian",
    "g asgi curl": "asgi-granian",
    "app lean": "app",
    "g app lean": "app-granian",
    "app route": "app",
    "app": "app",
    "g app": "app-granian",
    "app curl": "app",
    "g app curl": "app-granian",
    "app raw": "app",
    "bare lean": "app-bare",
    "bare": "app-bare",
}


# --- servers (each run as ``--serve KIND`` in its own process) ---------------------------


def read_request(conn: socket.socket, buf: bytearray) -> bool:
    """Read one HTTP request (head and Content-Length body) from ``conn`` into ``buf``,
    dropping it; False when the peer closed."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buf[:end]).lower()
            i = head.find(b"content-length:")
            size = int(head[i + 15 :].split(b"\r\n", 1)[0]) if i >= 0 else 0
            total = end + 4 + size
            while len(buf) < total:
                chunk = conn.recv(65536)
                if not chunk:
                    return False
                buf += chunk
            del buf[:total]
            return True
        chunk = conn.recv(65536)
        if not chunk:
            return False
        buf += chunk


def serve_echo(port: int, answer: bytes) -> None:
    """Blocking sockets, a thread per connection: read a request, write ``answer``."""
    srv = socket.create_server(("127.0.0.1", port))

    def handle(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        with conn:
            while read_request(conn, buf):
                conn.sendall(answer)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def serve_uvloop(port: int, answer: bytes) -> None:
    """A uvloop ``Protocol``: parse the head just enough, write ``answer``."""
    import uvloop

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.t = transport
            self.buf = bytearray()

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while True:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(self.buf[:end]).lower()
                i = head.find(b"content-length:")
                size = int(head[i + 15 :].split(b"\r\n", 1)[0]) if i >= 0 else 0
                if len(self.buf) < end + 4 + size:
                    return
                del self.buf[: end + 4 + size]
                self.t.write(answer)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(main())


def split_answer(answer: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers (without the ``date`` and ``server`` uvicorn adds) and body."""
    head, body = answer.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        name, value = line.split(b":", 1)
        if name.lower() not in (b"date", b"server"):
            headers.append((name.lower(), value.strip()))
    return status, headers, body


def serve_asgi(port: int, answer: bytes, server: str = "uvicorn") -> None:
    """A bare ASGI function on uvicorn with the app's server options (or on granian,
    `granian_run`)."""
    import uvicorn

    from impact_graph.api.app import server_options

    status, headers, body = split_answer(answer)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    if server == "granian":
        granian_run(app, port, lifespan=False)
        return
    uvicorn.run(
        app, host="127.0.0.1", port=port, lifespan="off", **server_options(log_level="warning")
    )


def serve_app(
    port: int, answer: bytes, data: Path, bare: bool = False, server: str = "uvicorn"
) -> None:
    """Our app as ``impact-graph serve`` runs it, plus the two no-ops; ``bare``: HTTP
    requests go straight to the lean path (`lean.LeanQueries`), past every middleware
    (for scale only: its errors would not be problem+json); ``server``: uvicorn or
    granian (`granian_run`)."""
    import uvicorn
    from fastapi import Request
    from fastapi.responses import Response

    from impact_graph.api import lean
    from impact_graph.api.app import create_app, server_options
    from impact_graph.config import Settings

    _, headers, body = split_answer(answer)
    extra = {
        k.decode(): v.decode() for k, v in headers if k not in (b"content-type", b"content-length")
    }

    async def noop(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json", headers=extra)

    noop.__annotations__ = {"request": Request, "return": Response}  # local names
    lean.HANDLERS[LEAN_NOOP] = noop
    settings = Settings(backend="falkordb", data_dir=data, graph_name="bench", rdf="oxigraph")
    app = create_app(settings, warm_up=False, warm_sparql=False)
    app.post(ROUTE_NOOP, include_in_schema=False)(noop)
    served: Any = app
    if bare:
        front = app.router.middleware_stack  # the LeanQueries in front of the routes

        async def served(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                scope["app"] = app
                await front(scope, receive, send)
            else:
                await app(scope, receive, send)

    if server == "granian":
        granian_run(served, port, lifespan=True)
        return
    uvicorn.run(served, host="127.0.0.1", port=port, **server_options(log_level="warning"))


def granian_run(app: Any, port: int, *, lifespan: bool) -> None:
    """``app`` on granian (a Rust HTTP server running ASGI apps): one worker process
    forked from this one (granian's supervisor stays here), one single-threaded Rust
    runtime, uvloop, HTTP/1.1 only, no access log: the leanest granian set-up for one
    client at a time. ``HTTP_FLOOR_GRANIAN`` (e.g. ``mt,rust``) tries granian's other
    runtime mode (``mt``) and its Rust task implementation (``rust``)."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes, TaskImpl
    from granian.log import LogLevels

    knobs = set(os.environ.get("HTTP_FLOOR_GRANIAN", "").split(","))

    server = Granian(
        "bench",  # the app is handed over by target_loader, not imported by name
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI if lifespan else Interfaces.ASGINL,
        workers=1,
        runtime_threads=1,
        runtime_mode=RuntimeModes.mt if "mt" in knobs else RuntimeModes.st,
        task_impl=TaskImpl.rust if "rust" in knobs else TaskImpl.asyncio,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels.warning,
    )
    server.serve(target_loader=lambda: app, wrap_loader=False)


# --- clients ------------------------------------------------------------------------------


class RawClient:
    """One keep-alive connection: ``sendall`` the request bytes, read the answer by its
    Content-Length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connect()

    def connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, data: bytes) -> bytes:
        try:
            self.sock.sendall(data)
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            # uvicorn closes a connection idle for 5 s (as while the other variants warm
            # up at 100k nodes): reconnect once, as ThinClient does.
            self.sock.close()
            self.connect()
            self.sock.sendall(data)
            chunk = self.sock.recv(65536)
        buf = b""
        while True:
            if not chunk:
                raise ConnectionError(f"the server on port {self.port} closed the connection")
            buf += chunk
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                head = buf[:end].lower()
                i = head.find(b"content-length:")
                size = int(head[i + 15 :].split(b"\r\n", 1)[0])
                while len(buf) < end + 4 + size:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("closed mid-answer")
                    buf += chunk
                return buf
            chunk = self.sock.recv(65536)

    def close(self) -> None:
        self.sock.close()


def request_bytes(path: str, port: int, body: bytes) -> bytes:
    """What ``http.client`` sends for ``ThinClient.request("POST", path, body=...)``."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Encoding: identity\r\n"
        f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n"
    ).encode() + body


def lookup_body(pid: str) -> bytes:
    return json.dumps({"query": LOOKUP, "params": {"id": pid}}).encode()


# --- processes and CPU --------------------------------------------------------------------


@contextlib.contextmanager
def server(
    kind: str, answer_file: Path, data: Path, src: Path | None = None
) -> Iterator[tuple[int, int]]:
    """Start ``--serve kind`` in its own process; yields (port, pid) once it accepts.
    ``src``: import ``impact_graph`` from this source tree (``--old-src``)."""
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
    cmd += ["--answer", str(answer_file), "--data", str(data)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    with server_process(cmd, accepts(port), what=f"the {kind} server", env=env) as proc:
        yield port, proc.pid


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(len(data) * q / 100))]


# --- the run ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=False, help="bench/query.py --data dir")
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1000, help="timed calls per variant a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also save the figures here")
    parser.add_argument(
        "--variants",
        default=None,
        help="comma-separated variant names (default: all); the direct call is always run",
    )
    parser.add_argument(
        "--old-src",
        type=Path,
        default=None,
        help="also run each chosen server variant as '<variant> (old)' with impact_graph "
        "imported from this source tree (e.g. /tmp/old/src of `git archive`): old and new "
        "interleaved call by call in the same rounds",
    )
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--answer", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        answer = args.answer.read_bytes() if args.answer else b""
        {
            "echo": lambda: serve_echo(args.port, answer),
            "uvloop": lambda: serve_uvloop(args.port, answer),
            "asgi": lambda: serve_asgi(args.port, answer),
            "app": lambda: serve_app(args.port, answer, args.data),
            "app-bare": lambda: serve_app(args.port, answer, args.data, bare=True),
            "asgi-granian": lambda: serve_asgi(args.port, answer, server="granian"),
            "app-granian": lambda: serve_app(args.port, answer, args.data, server="granian"),
        }[args.serve]()
        return 0
    if args.data is None:
        parser.error("--data DIR is required (bench/query.py's graph directory)")
    names = list(VARIANTS)
    if args.variants:
        names = [x.strip() for x in args.variants.split(",") if x.strip()]
        unknown = set(names) - set(VARIANTS)
        if unknown:
            parser.error(f"--variants: unknown {sorted(unknown)}; known: {', '.join(VARIANTS)}")
        names = [n for n in VARIANTS if n in names or n == "direct"]
    return run(args.data, args.nodes, args.calls, args.rounds, args.json, names, args.old_src)


#: What ``--old-src`` adds to a variant's name and to its server's key.
OLD = " (old)"


def run(
    data: Path,
    n_nodes: int,
    calls: int,
    rounds: int,
    json_path: Path | None,
    variant_names: list[str],
    old_src: Path | None = None,
) -> int:
    import query as bq  # bench/query.py

    from impact_graph.store.falkordb_server import FalkorDBServer

    _settings, ids = bq.built(data, n_nodes)
    progs: list[str] = ids["programmes"]
    answer_file = data / "http-floor-answer.bin"
    answer_file.write_bytes(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
    results: list[dict[str, dict[str, float]]] = []
    try:
        with contextlib.ExitStack() as stack:
            # The app first: it opens (or starts) the FalkorDB server, and its answer to a
            # lookup becomes every other server's answer.
            app_c = stack.enter_context(server("app", answer_file, data))
            probe = RawClient(app_c[0])
            pid0 = progs[0]
            deadline = time.monotonic() + 600
            while True:
                got = probe.request(request_bytes("/cypher", app_c[0], lookup_body(pid0)))
                if got.startswith(b"HTTP/1.1 200"):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(got[:500].decode(errors="replace"))
                time.sleep(0.5)
            probe.close()
            answer_file.write_bytes(got)
            servers = {"app": app_c}
            table = dict(VARIANTS)
            if old_src is not None:  # each server variant once more, on the old tree
                for name in list(variant_names):
                    key, client, path = VARIANTS[name]
                    if key is not None:
                        table[name + OLD] = (key + OLD, client, path)
                        variant_names = [*variant_names, name + OLD]
            for name in variant_names:
                key = table[name][0]
                if key is not None and key not in servers:
                    old = key.endswith(OLD)
                    kind = SERVER_KINDS[key.removesuffix(OLD)]
                    servers[key] = stack.enter_context(
                        server(kind, answer_file, data, old_src if old else None)
                    )
            import falkordb
            from query import CurlClient, ThinClient

            db = falkordb.FalkorDB(unix_socket_path=str(data / "falkordb.sock"))
            graph = db.select_graph("bench")
            clients: dict[tuple[str, str], Any] = {}
            make = {"thin": ThinClient, "curl": CurlClient}
            stack.callback(lambda: [c.close() for c in clients.values()])
            post = {"Content-Type": "application/json"}

            def caller(key: str, client: str, path: str) -> Callable[[str], Any]:
                port = servers[key][0]
                if (key, client) not in clients:
                    clients[key, client] = (
                        RawClient(port)
                        if client == "raw"
                        else make[client](f"http://127.0.0.1:{port}")
                    )
                c = clients[key, client]
                if client == "raw":
                    return lambda pid: c.request(request_bytes(path, port, lookup_body(pid)))
                return lambda pid: c.request("POST", path, body=lookup_body(pid), headers=post)

            variants: dict[str, tuple[str | None, Callable[[str], Any]]] = {}
            for name in variant_names:
                key, client, path = table[name]
                if key is None:
                    variants[name] = (
                        None,
                        lambda pid: json.dumps(
                            graph.ro_query(LOOKUP, {"id": pid}).result_set
                        ).encode(),
                    )
                else:
                    variants[name] = (key, caller(key, client, path))
            for name, (_, call) in variants.items():  # warm-up, and every answer is a 200
                for pid in progs[:50]:
                    out = call(pid)
                    if name != "direct":
                        status = out[0] if isinstance(out, tuple) else int(out.split()[1])
                        assert status == 200, (name, out)
            # Each server's processes (granian answers from a worker it forked), once
            # every server has answered.
            pids = {k: tree_pids(p) for k, (_, p) in servers.items()}
            rnd = random.Random(11)
            for r in range(rounds):
                idle0 = {k: cpu_s(p) for k, p in pids.items()}
                time.sleep(2.0)
                idle1 = {k: cpu_s(p) for k, p in pids.items()}
                idle_rate = {k: (idle1[k] - idle0[k]) / 2.0 for k in servers}
                wall: dict[str, list[float]] = {v: [] for v in variants}
                client = dict.fromkeys(variants, 0.0)
                names = list(variants)
                t_start = time.monotonic()
                for _ in range(calls):
                    pid = rnd.choice(progs)
                    for name in rnd.sample(names, len(names)):
                        call = variants[name][1]
                        c0 = time.process_time()
                        t0 = time.perf_counter()
                        call(pid)
                        wall[name].append((time.perf_counter() - t0) * 1000.0)
                        client[name] += time.process_time() - c0
                time.sleep(0.05)
                elapsed = time.monotonic() - t_start
                idle2 = {k: cpu_s(p) for k, p in pids.items()}
                out: dict[str, dict[str, float]] = {}
                for name, (key, _) in variants.items():
                    srv = None
                    if key is not None:
                        used = idle2[key] - idle1[key] - idle_rate[key] * elapsed
                        srv = used * 1e3 / calls
                    out[name] = {
                        "p50_ms": statistics.median(wall[name]),
                        "p95_ms": pct(wall[name], 95),
                        "client_cpu_ms": client[name] * 1000.0 / calls,
                        "server_cpu_ms": srv if srv is not None else float("nan"),
                    }
                results.append(out)
                show(
                    out,
                    f"round {r + 1} of {rounds}: {calls} calls a variant, load "
                    f"{os.getloadavg()[0]:.1f}",
                )
    finally:
        FalkorDBServer(data).stop()
    med = {
        name: {k: statistics.median(r[name][k] for r in results) for k in results[0][name]}
        for name in results[0]
    }
    show(med, f"median of {rounds} rounds")
    if json_path:
        json_path.write_text(
            json.dumps({"rounds": results, "median": med, "load": os.getloadavg()}, indent=1)
        )
    return 0


def show(rows: dict[str, dict[str, float]], title: str) -> None:
    print(f"\n{title}")
    print(f"{'variant':28} {'p50 ms':>8} {'p95 ms':>8} {'client CPU':>11} {'server CPU':>11}")
    for name, r in rows.items():
        print(
            f"{name:28} {r['p50_ms']:8.3f} {r['p95_ms']:8.3f} {r['client_cpu_ms']:11.3f} "
            f"{r['server_cpu_ms']:11.3f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
