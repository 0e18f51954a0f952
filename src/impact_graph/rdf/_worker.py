"""A long-lived researcher SPARQL worker on the embedded Oxigraph, in a process of its own.

Why a process: pyoxigraph 0.5 has no query timeout or cancellation, and a runaway query
(a cartesian product under COUNT, an ORDER BY over billions of rows) cannot be stopped
inside the process that runs it. The caller (`OxigraphView.run_query`) kills this process
at the time limit and starts a fresh one, and the address-space limit set here turns a
memory blow-up into a crash of this process instead of the server's.

Why long-lived: starting a Python process per query and opening RocksDB in it cost far
more than the query (measured at 1M triples: ~70 ms per query through the endpoint
against ~11 ms for the query itself). So a small pool of these workers is started once;
each keeps the store open read-only between queries.

Sharing the directory with writers: the store is opened read-only under a *shared*
``flock`` on ``oxigraph.lock`` (writers take it exclusively, see `impact_graph.rdf.view`),
and pyoxigraph documents a read-only open next to a live writer as undefined behaviour.
So an idle worker watches ``oxigraph.wait`` (every ``POLL_S``): as soon as any writer
waits there, it closes its store and lets go of the lock; the next query opens the store
again and so sees every write committed meanwhile. A query never sees a half-written
document and never writes.

Protocol, over two pipes (`multiprocessing.connection.Connection` framing): the parent
sends one JSON request; when the worker must open the store first it says
``{"opening": true}`` and, once it holds it, ``{"ready": true}`` (the parent's time limit
starts only then, so waiting for a writer is not query time); then a JSON header and the
result body, already serialised in the format the client asked for (``media``), so
nothing is converted twice. Imports stay minimal (no
pydantic, no rdflib) so a replacement starts in ~0.1 s.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import struct
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import IO, Any

import pyoxigraph as ox

#: How often an idle worker checks whether a writer waits for the store.
POLL_S = 0.05
#: How long a newcomer lets those already waiting for the store go first.
COURTESY_S = 2.0

#: SELECT/ASK result media types and pyoxigraph's writers for them.
RESULT_TYPES = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
#: CONSTRUCT/DESCRIBE media types and pyoxigraph's writers for them.
GRAPH_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,  # SPARQLWrapper's default for CONSTRUCT
}
JSON_MEDIA = "application/sparql-results+json"
TSV_MEDIA = "text/tab-separated-values"
NT_MEDIA = "application/n-triples"


def someone_waits(wait_file: IO[str]) -> bool:
    """Whether any process or thread is registered (shared lock) on the wait file."""
    try:
        fcntl.flock(wait_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(wait_file, fcntl.LOCK_UN)
    return False


def take_lock(
    lock_path: str, wait_path: str, mode: int, wait_s: float, *, queue_if_free: bool = True
) -> IO[str]:
    """Take ``mode`` (LOCK_EX/LOCK_SH) on the lock file; the lock lives as long as the
    returned file stays open. While waiting, the caller is registered (shared lock) on
    the wait file, which tells a holder to let go. Raises `Busy` after ``wait_s``.

    One protocol for the view's writer and readers and for these workers.
    ``queue_if_free=False`` first tries the lock without registering when nobody waits.
    """
    deadline = time.monotonic() + wait_s
    lock = open(lock_path, "a")  # noqa: SIM115 - returned open: it *is* the lock
    try:
        with open(wait_path, "a") as wait:
            if not queue_if_free and not someone_waits(wait):
                try:
                    fcntl.flock(lock, mode | fcntl.LOCK_NB)
                    return lock
                except BlockingIOError:
                    pass
            # Let those already waiting go first (briefly): without this, a writer that
            # just yielded to a reader could take the lock straight back.
            courtesy = min(deadline, time.monotonic() + COURTESY_S)
            while someone_waits(wait) and time.monotonic() < courtesy:
                time.sleep(0.01)
            fcntl.flock(wait, fcntl.LOCK_SH)
            while True:
                try:
                    fcntl.flock(lock, mode | fcntl.LOCK_NB)
                    return lock
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Busy from None
                    time.sleep(0.01)
    except BaseException:
        lock.close()
        raise


class Busy(Exception):
    """The store stayed locked by a writer for longer than the caller would wait."""


class Worker:
    """The read-only store of one worker process, held between queries while no writer
    waits for it."""

    def __init__(self, path: str, lock_path: str, wait_path: str) -> None:
        self.path = path
        self.lock_path = lock_path
        self.wait_path = wait_path
        self.mutex = threading.Lock()  # held while a query runs (the watcher keeps off)
        self.store: ox.Store | None = None
        self.lock: IO[str] | None = None
        self.probe: IO[str] = open(wait_path, "a")  # noqa: SIM115 - lives as long as we do
        self.opens = 0
        self.opened_now = False  # whether the last `open` had to open the store

    def open(self, wait_s: float) -> ox.Store:
        """The read-only store, opened (under the shared lock) unless it is held."""
        self.opened_now = self.store is None
        if self.store is None:
            # Without queueing when nobody waits and the lock is free: queueing would make
            # the other idle workers let go of their stores for nothing.
            lock = take_lock(
                self.lock_path, self.wait_path, fcntl.LOCK_SH, wait_s, queue_if_free=False
            )
            try:
                self.store = ox.Store.read_only(self.path)
            except BaseException:
                lock.close()
                raise
            self.lock = lock
            self.opens += 1
        return self.store

    def open_if_free(self) -> None:
        """Open the store at start-up if that needs no waiting: nobody waits for it and
        the lock is free. A worker started ahead of time (the API's start-up, or the
        replacement of a killed one) then answers its first query without opening
        RocksDB first; when a writer holds or wants the store, the first query opens it
        as usual. Never registers as a waiter, so no writer is asked to let go for this."""
        if self.store is not None or someone_waits(self.probe):
            return
        lock = open(self.lock_path, "a")  # noqa: SIM115 - kept open: it *is* the lock
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            self.store = ox.Store.read_only(self.path)
        except OSError:  # locked by a writer (BlockingIOError), or no store written yet
            lock.close()
            return
        self.lock = lock
        self.opens += 1

    def close(self) -> None:
        """Close the store, then drop the lock (RocksDB must be closed before a writer
        may open the directory)."""
        self.store = None
        if self.lock is not None:
            self.lock.close()
            self.lock = None

    def watch(self) -> None:
        """Let go of the store as soon as a writer waits for it (only between queries)."""
        while True:
            time.sleep(POLL_S)
            if not self.mutex.acquire(blocking=False):
                continue
            try:
                # Asked twice: another worker's probe holds the wait file for an instant
                # too, while a real waiter stays registered until it gets the store.
                if (
                    self.store is not None
                    and someone_waits(self.probe)
                    and (time.sleep(0.002) or someone_waits(self.probe))
                ):
                    self.close()
            finally:
                self.mutex.release()


class _Full(Exception):
    """Raised by `_FirstLines` to stop pyoxigraph's writer: the row cap is passed."""


class _FirstLines:
    """A binary file for pyoxigraph's writers that keeps what they write and stops them
    (raises `_Full`) once more than ``limit`` lines are complete.

    Why: the row cap. Serialising the solutions natively (in Rust) costs about what the
    query costs; walking them in Python (a term object per value, a dict per term, then
    ``json.dumps``) cost 0.6-0.8 ms more per query for 20-100 rows (measured at 5k nodes,
    CPU per query: the bench's lookup 2.33 ms natively against 2.98-3.12 ms in Python).
    But a native writer takes the whole result, and a result may have billions of rows.
    The writers call ``write`` every few kB as they go and the evaluation is lazy, so
    raising here stops the query itself, a few kB past the cap. In SPARQL TSV and
    N-Triples one line is one header, solution or triple (line breaks inside literals are
    escaped), so lines count rows.
    """

    __slots__ = ("full", "limit", "lines", "parts")

    def __init__(self, limit: int) -> None:
        self.parts: list[bytes] = []
        self.lines = 0
        self.limit = limit
        self.full = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.lines += chunk.count(b"\n")
        if self.lines > self.limit:
            self.full = True
            raise _Full
        return len(chunk)

    def flush(self) -> None:
        """Nothing to flush (the parts are kept in memory); writers call it."""

    def take(self, result: Any, fmt: Any) -> bytes:
        """``result`` serialised as ``fmt``, cut after ``limit`` lines."""
        try:
            result.serialize(self, format=fmt)
        except _Full:
            pass
        except OSError:
            if not self.full:  # a binding may wrap our exception: only ours is expected
                raise
        data = b"".join(self.parts)
        if self.full:
            data = b"\n".join(data.split(b"\n", self.limit)[: self.limit]) + b"\n"
        return data


def _solutions(result: ox.QuerySolutions, cap: int, media: str | None) -> tuple[bytes, str, bool]:
    """SELECT results, at most ``cap`` rows, as ``media`` (SPARQL JSON when None): the
    body, its media type and whether rows were cut. Written natively as TSV (the header
    line and one line per row, so the cap is a line count), then, unless TSV was asked
    for, read back and written in ``media`` -- also natively; the round trip is lossless
    (tests/test_sparql_hostile.py compares it with the writer's own JSON)."""
    out = _FirstLines(cap + 1)
    tsv = out.take(result, ox.QueryResultsFormat.TSV)
    if media not in RESULT_TYPES:
        media = JSON_MEDIA
    if media == TSV_MEDIA:
        return tsv, media, out.full
    parsed = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    return parsed.serialize(format=RESULT_TYPES[media]) or b"", media, out.full


def _triples(
    result: ox.QueryTriples, cap: int, media: str | None, prefixes: dict[str, str] | None
) -> tuple[bytes, str, bool]:
    """CONSTRUCT/DESCRIBE results, at most ``cap`` triples, as ``media`` (N-Triples when
    it cannot be written so: JSON-LD has no triple terms, and the caller says which
    formats can)."""
    out = _FirstLines(cap)
    nt = out.take(result, ox.RdfFormat.N_TRIPLES)
    if media in GRAPH_TYPES and media != NT_MEDIA:
        with contextlib.suppress(ValueError, TypeError, OSError, SyntaxError):
            triples = ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)
            body = ox.serialize(triples, format=GRAPH_TYPES[media], prefixes=prefixes)
            return body or b"", media, out.full
    return nt, NT_MEDIA, out.full


def run(store: ox.Store, req: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Run one query; the header says what the body holds (``media``)."""
    cap = int(req["row_cap"])
    media = req.get("media")
    t0 = time.perf_counter()
    try:
        result = store.query(req["query"], prefixes=req.get("prefixes") or None)
    except SyntaxError as e:
        return {"ok": False, "error": "syntax", "message": str(e)}, b""
    head: dict[str, Any] = {"ok": True, "truncated": False}
    if isinstance(result, ox.QueryBoolean):
        head["form"] = "ask"
        fmt_media = media if media in RESULT_TYPES else JSON_MEDIA
        body = result.serialize(format=RESULT_TYPES[fmt_media]) or b""
        head["media"] = fmt_media
    elif isinstance(result, ox.QuerySolutions):
        head["form"] = "select"
        body, head["media"], head["truncated"] = _solutions(result, cap, media)
    else:
        head["form"] = "graph"
        body, head["media"], head["truncated"] = _triples(
            result, cap, media, req.get("out_prefixes") or None
        )
    head["elapsed_ms"] = (time.perf_counter() - t0) * 1000
    return head, body


def _frame(payload: bytes) -> bytes:
    """``payload`` framed as `Connection.send_bytes` frames it (``recv_bytes`` reads it)."""
    n = len(payload)
    if n > 0x7FFFFFFF:
        return struct.pack("!iQ", -1, n) + payload
    return struct.pack("!i", n) + payload


def send_frames(conn: Connection, *payloads: bytes) -> None:
    """Send several messages with one write: the parent, woken by the first, then finds
    the rest already there instead of waiting for this process to run again (on a busy
    machine that was a second wake-up per query). ``recv_bytes`` reads them one by one."""
    data = memoryview(b"".join(_frame(p) for p in payloads))
    fd = conn.fileno()
    while data:
        data = data[os.write(fd, data) :]


def serve(worker: Worker, recv: Connection, send: Connection) -> None:
    """Answer requests until the parent closes the pipe (or dies)."""
    first = True
    while True:
        try:
            req = json.loads(recv.recv_bytes())
        except (EOFError, OSError):
            return
        with worker.mutex:
            # The parent allows a worker that never answered time to start (wait_s + 60 s)
            # until its first message. A worker that opened the store at start-up
            # (`open_if_free`: the replacement of a killed one) would send the answer
            # itself as that first message, so its first query ran under the start-up
            # allowance, not the time limit (65 s for a 5 s limit, measured). Its first
            # query therefore announces "opening"/"ready" too: the limit starts there.
            announce, first = first, False
            try:
                if worker.store is None or announce:
                    # Opening may wait for a writer: the parent's time limit starts at
                    # "ready". With the store held, the answer follows at once (one wake-up
                    # of the parent less per query).
                    send.send_bytes(b'{"opening": true}')
                worker.open(float(req.get("wait_s", 60.0)))
            except Busy:
                send.send_bytes(json.dumps({"ok": False, "error": "busy"}).encode())
                continue
            except OSError as e:
                worker.close()
                msg = {"ok": False, "error": "store", "message": str(e)}
                send.send_bytes(json.dumps(msg).encode())
                continue
            if worker.opened_now or announce:
                send.send_bytes(b'{"ready": true}')
            try:
                # No local reference to the store survives the query: when the watcher
                # closes it, RocksDB must really close before the lock is dropped.
                head, body = run(worker.store, req)  # type: ignore[arg-type]
            except OSError as e:
                head, body = {"ok": False, "error": "store", "message": str(e)}, b""
            except MemoryError:
                head, body = {"ok": False, "error": "memory", "message": "out of memory"}, b""
            head["opens"] = worker.opens
            head["size"] = len(body)  # the parent reads a small body inline, a large one apart
            send_frames(send, json.dumps(head).encode(), body)


def main() -> None:
    """``python -m impact_graph.rdf._worker <request fd> <answer fd> <config json>``."""
    fd_in, fd_out, config = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    mem = int(config.get("memory_mb") or 0)
    if mem > 0:
        limit = mem * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    worker = Worker(config["path"], config["lock"], config["wait"])
    with worker.mutex:
        worker.open_if_free()
    threading.Thread(target=worker.watch, name="release-on-wait", daemon=True).start()
    recv = Connection(fd_in, writable=False)
    send = Connection(fd_out, readable=False)
    try:
        serve(worker, recv, send)
    except (BrokenPipeError, EOFError):
        pass  # the parent went away mid-answer
    finally:
        worker.close()


if __name__ == "__main__":
    main()
