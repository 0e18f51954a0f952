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
* ``direct`` -- ``bench/query.py``'s baseline in this process: the falkordb client's
  ``ro_query`` and ``json.dumps`` of the rows.

Each server variant has its own server process, so its CPU is that process's alone (all
its threads, nanoseconds from ``/proc/PID/task/*/schedstat``), read over the whole round
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

Usage: ``PYTHONPATH=src .venv/bin/python bench/tools/http_floor.py --data /tmp/q100k``
(the ``bench/query.py --data`` directory: its graph is built there if missing)
``[--nodes 100000] [--calls 1000] [--rounds 3]``.
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
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

LOOKUP = (
    "MATCH (a:Actor)-[:PARTICIPATES_IN]->(p:Programme {id: $id}) "
    "RETURN a.id AS id, a.name AS name ORDER BY id LIMIT 100"
)
LEAN_NOOP = "/_floor_lean_noop"
ROUTE_NOOP = "/_floor_route_noop"


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


def serve_asgi(port: int, answer: bytes) -> None:
    """A bare ASGI function on uvicorn with the app's server options."""
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

    uvicorn.run(
        app, host="127.0.0.1", port=port, lifespan="off", **server_options(log_level="warning")
    )


def serve_app(port: int, answer: bytes, data: Path, bare: bool = False) -> None:
    """Our app as ``impact-graph serve`` runs it, plus the two no-ops; ``bare``: HTTP
    requests go straight to the lean path (`lean.LeanQueries`), past every middleware
    (for scale only: its errors would not be problem+json)."""
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

    uvicorn.run(served, host="127.0.0.1", port=port, **server_options(log_level="warning"))


# --- clients ------------------------------------------------------------------------------


class RawClient:
    """One keep-alive connection: ``sendall`` the request bytes, read the answer by its
    Content-Length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, data: bytes) -> bytes:
        self.sock.sendall(data)
        buf = b""
        while True:
            chunk = self.sock.recv(65536)
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


def cpu_ns(pid: int) -> int:
    """CPU time (ns) all threads of ``pid`` have used so far."""
    total = 0
    task = Path(f"/proc/{pid}/task")
    for t in task.iterdir():
        with contextlib.suppress(OSError):
            total += int((t / "schedstat").read_text().split()[0])
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(kind: str, answer_file: Path, data: Path) -> Iterator[tuple[int, int]]:
    """Start ``--serve kind`` in its own process; yields (port, pid) once it accepts."""
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
    cmd += ["--answer", str(answer_file), "--data", str(data)]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 600
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start")
            time.sleep(0.05)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
        }[args.serve]()
        return 0
    if args.data is None:
        parser.error("--data DIR is required (bench/query.py's graph directory)")
    return run(args.data, args.nodes, args.calls, args.rounds, args.json)


def run(data: Path, n_nodes: int, calls: int, rounds: int, json_path: Path | None) -> int:
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
            servers = {
                "echo": stack.enter_context(server("echo", answer_file, data)),
                "uvloop": stack.enter_context(server("uvloop", answer_file, data)),
                "asgi raw": stack.enter_context(server("asgi", answer_file, data)),
                "asgi": stack.enter_context(server("asgi", answer_file, data)),
                "app lean": stack.enter_context(server("app", answer_file, data)),
                "app route": stack.enter_context(server("app", answer_file, data)),
                "app": app_c,
                "app raw": stack.enter_context(server("app", answer_file, data)),
                "bare lean": stack.enter_context(server("app-bare", answer_file, data)),
                "bare": stack.enter_context(server("app-bare", answer_file, data)),
            }
            import falkordb

            db = falkordb.FalkorDB(unix_socket_path=str(data / "falkordb.sock"))
            graph = db.select_graph("bench")
            thin = {
                k: bq.ThinClient(f"http://127.0.0.1:{servers[k][0]}")
                for k in ("asgi", "app lean", "app route", "app", "bare lean", "bare")
            }
            raw = {k: RawClient(servers[k][0]) for k in ("echo", "uvloop", "asgi raw", "app raw")}
            stack.callback(lambda: [c.close() for c in (*thin.values(), *raw.values())])
            post = {"Content-Type": "application/json"}

            def via_raw(key: str, path: str) -> Callable[[str], Any]:
                port = servers[key][0]
                return lambda pid: raw[key].request(request_bytes(path, port, lookup_body(pid)))

            def via_thin(key: str, path: str) -> Callable[[str], Any]:
                return lambda pid: thin[key].request(
                    "POST", path, body=lookup_body(pid), headers=post
                )

            variants: dict[str, tuple[str | None, Callable[[str], Any]]] = {
                "(a) socket echo": ("echo", via_raw("echo", "/cypher")),
                "(a) socket uvloop": ("uvloop", via_raw("uvloop", "/cypher")),
                "(b) socket uvicorn": ("asgi raw", via_raw("asgi raw", "/cypher")),
                "(b) http.client uvicorn": ("asgi", via_thin("asgi", "/cypher")),
                "(c) lean no-op": ("app lean", via_thin("app lean", LEAN_NOOP)),
                "(c) route no-op": ("app route", via_thin("app route", ROUTE_NOOP)),
                "(d) cypher": ("app", via_thin("app", "/cypher")),
                "(d) socket cypher": ("app raw", via_raw("app raw", "/cypher")),
                "lean no-op, no middleware": ("bare lean", via_thin("bare lean", LEAN_NOOP)),
                "cypher, no middleware": ("bare", via_thin("bare", "/cypher")),
                "direct": (
                    None,
                    lambda pid: json.dumps(graph.ro_query(LOOKUP, {"id": pid}).result_set).encode(),
                ),
            }
            for name, (_, call) in variants.items():  # warm-up, and every answer is a 200
                for pid in progs[:50]:
                    out = call(pid)
                    if name != "direct":
                        status = out[0] if isinstance(out, tuple) else int(out.split()[1])
                        assert status == 200, (name, out)
            rnd = random.Random(11)
            for r in range(rounds):
                idle0 = {k: cpu_ns(p) for k, (_, p) in servers.items()}
                time.sleep(2.0)
                idle1 = {k: cpu_ns(p) for k, (_, p) in servers.items()}
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
                idle2 = {k: cpu_ns(p) for k, (_, p) in servers.items()}
                out: dict[str, dict[str, float]] = {}
                for name, (key, _) in variants.items():
                    srv = None
                    if key is not None:
                        used = idle2[key] - idle1[key] - idle_rate[key] * elapsed
                        srv = used / 1e6 / calls
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
