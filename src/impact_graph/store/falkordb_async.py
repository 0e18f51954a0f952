"""Researcher Cypher on FalkorDB without leaving the event loop.

Why: ``/cypher`` used to hand every query to a worker thread (``run_in_threadpool``)
because the store's client is synchronous. For the short lookups researchers run most,
that hop was a large part of what the endpoint added (measured at 20k nodes, 1,000 calls:
the raw ``GRAPH.RO_QUERY`` cost 0.10 ms CPU called inline, 0.28 ms through the thread
pool, 0.13 ms with the asyncio client), so the query is sent with ``redis.asyncio`` on
the same server instead, and the event loop serves other requests while FalkorDB works.

What does not change: this is `FalkorDBStore.read_query` with an awaitable round trip.
The store's read-only check (LOAD CSV, procedure allow-list), the conversion of nodes,
edges and paths and the "lost the connection" sentence are the store's own methods,
called here; the server still refuses writes (``GRAPH.RO_QUERY``) and stops the query at
the time limit (``timeout``); the row cap cuts the reply as the store does. The
server's error replies become sentences through the store's own `refusal`, and
`tests/test_cypher_async.py` asserts that both give the same answer and the same
sentences for the same queries.

A reply with many rows is turned into Python values in a worker thread (`PARSE_INLINE_ROWS`),
so a 1,000-row answer does not hold up the event loop. A reply whose cells are all
strings, integers, nulls, booleans or doubles (most researcher answers: ``RETURN a.id,
count(*)``) is read straight off the compact reply (`plain_rows`): the client's
cell-by-cell parser and then the store's walk for nodes and edges cost ~0.1 ms of a
~0.6 ms lookup for 100 two-column rows, and give the same values for these types.

Commands go straight to a connection the reader keeps (`AsyncFalkorReader._command`), not
through ``Redis.execute_command``: redis-py 8 wraps every command in its retry helper,
pool lock and metrics hooks, which cost more CPU than the lookups' own round trip
(measured at 5k nodes, 1,000 lookups: 0.23 ms CPU per command that way, 0.17 ms
straight, 0.19 ms for the store's synchronous client); they are written by `packed`,
not by redis-py's ``pack_command``.

No socket timeout, as the store's client has none: the server stops the query at the
time limit itself (``timeout``), and on a loaded machine its answer can come later than
redis.asyncio's default 5 s (a QueryTimeout sentence, not a lost connection).

Connections belong to one event loop, so there is one reader per (store, loop); a server
has one loop, tests with several clients get one reader each.

A lost connection (`AsyncFalkorReader._command`): a kept connection the server closed
while it sat idle (the server restarted, ``CLIENT KILL``) is harmless, and the query is
sent once more on a new one. But when the server died of memory while the query was out
(its address-space limit, `falkordb_server`), the query may be the one that killed it:
it is never sent again -- a restarted server would run it again -- and the researcher
gets the store's memory sentence. A query that found the server already dead of memory
is sent again once it has been restarted. The restart (~0.1-0.3 s: a new process that
loads the data) runs in a worker thread, so the event loop serves other requests
meanwhile, and requests that see the dead server together wait for the same restart
(`AsyncFalkorReader._restart`; other readers and processes are held off by the data
directory's lock in `FalkorDBServer.start`). A read of a graph the restarted server no
longer has (never written, so not in its append-only file) makes the empty graph and
runs again, as the store does (`FalkorDBStore.create_graph`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import weakref
from typing import TYPE_CHECKING, Any

import hiredis
import redis
import redis.asyncio as aredis
from falkordb.query_result import QueryResult as FQueryResult
from redis._parsers.hiredis import _AsyncHiredisParser
from redis.asyncio.connection import AbstractConnection

from impact_graph.model import QueryResult
from impact_graph.store import falkordb_sort
from impact_graph.store.falkordb_reply import AS_IS, CONVERT, SCALAR_KINDS
from impact_graph.store.falkordb_store import _SCALARS, NODE_IDS_QUERY, missing_graph
from impact_graph.store.port import GraphStore

if TYPE_CHECKING:
    from impact_graph.store.falkordb_store import FalkorDBStore

#: Replies with more rows than this are parsed in a worker thread, not in the event loop
#: (parsing ~100 two-column rows costs ~0.1 ms, the thread hop ~0.2 ms).
PARSE_INLINE_ROWS = 200
#: Replies of plain values (`plain_rows`) are read in the event loop up to this many rows
#: (~0.1 ms per 1,000 two-column rows), in a worker thread past it.
PLAIN_INLINE_ROWS = 2000
#: Passed read-only checks a reader remembers (then it starts over).
READ_ONLY_CACHE = 1024
#: Idle connections a reader keeps (more are closed when their command ends).
IDLE_CONNECTIONS = 8
#: Seconds past a query's time limit after which the reader stops waiting for its reply
#: and answers with the time-limit sentence (`AsyncFalkorReader._in_time`).
LATE_GRACE_S = 1.0
#: How often the reader's watchdog looks for requests past their deadline (seconds).
WATCH_S = 0.25


#: The compact reply's cell types read as they are, converted, and both (`falkordb_reply`).
_AS_IS, _CONVERT, _SCALAR_KINDS = AS_IS, CONVERT, SCALAR_KINDS


def packed(*args: str | int) -> bytes:
    """``args`` as one RESP command (an array of bulk strings), as redis-py's
    ``pack_command`` writes it for these argument types. Why not redis-py's: it splits
    the first argument at blanks, runs every argument through its encoder and chunks
    large values, ~2x the CPU of this for the reader's six arguments; every argument is
    sent with its length, so no value can end the command early."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg.encode() if type(arg) is str else str(arg).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(raw), raw))
    return b"".join(out)


def plain_rows(rows: list[list[list[Any]]]) -> list[list[Any]] | None:
    """The rows of a compact ``GRAPH.RO_QUERY`` reply as plain values, or None when a
    cell holds anything but a string, integer, null, boolean or double (a node, edge,
    path, list, map, point, vector or temporal value): those go through the client's
    parser and the store's `query_result`, which know them."""
    kinds = {cell[0] for row in rows for cell in row}
    if kinds <= _AS_IS:
        return [[cell[1] for cell in row] for row in rows]
    if not kinds <= _SCALAR_KINDS:
        return None
    return [
        [cell[1] if cell[0] in _AS_IS else _CONVERT[cell[0]](cell[1]) for cell in row]
        for row in rows
    ]


class LeanConnection(asyncio.Protocol):
    """One connection to the embedded server's Unix socket: a command is written to the
    transport and its reply read by hiredis as the bytes arrive, with redis-py's error
    classes (`redis.exceptions.ResponseError` for an error reply, a
    `redis.exceptions.ConnectionError` for a lost connection).

    Why not redis-py's asyncio connection: between the bytes and the reply it passes a
    ``StreamWriter`` (``writelines``, ``drain``), a ``StreamReader`` and its parser's read
    loop, a timeout check and a health check, per command. Measured side by side in one
    event loop (H70, 100k nodes, the lookup's ``GRAPH.RO_QUERY``, 3 x 2,000 interleaved
    round trips, load ~12): 107/137/160 us CPU a round trip that way, 70/92/110 us this
    way; wall p50 356/437/569 against 331/393/525 us. The server a ``falkordb_url`` names
    (maybe TLS, a password, a database number) keeps redis-py's connection.

    `roundtrip` sends a command and answers its reply; ``disconnect`` as redis-py's. One
    command at a time (the reader takes an idle connection per command)."""

    __slots__ = ("_lost", "_path", "_reader", "_transport", "_waiter")

    def __init__(self, path: str) -> None:
        self._path = path
        self._reader = hiredis.Reader(
            protocolError=redis.exceptions.InvalidResponse,
            replyError=_AsyncHiredisParser.parse_error,
            encoding="utf-8",
            errors="strict",
        )
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Any] | None = None
        self._lost: BaseException | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nothing asked (a late reply is never read: see `_send`)
        try:
            reply = self._reader.gets()
        except Exception as exc:  # a protocol error: the connection is unusable
            self._waiter = None
            waiter.set_exception(exc)
            self.disconnect_now()
            return
        if reply is not False:
            self._waiter = None
            waiter.set_result(reply)

    def eof_received(self) -> bool:
        return False  # close the transport: `connection_lost` follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = redis.exceptions.ConnectionError(
            f"Connection closed by server ({self._path})." if exc is None else str(exc)
        )
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(self._lost)

    # -- what the reader calls
    @property
    def transport(self) -> asyncio.Transport | None:
        return self._transport

    async def roundtrip(self, data: bytes) -> Any:
        """Write one packed command and wait for its reply (a top-level error reply is
        raised, as redis-py's ``read_response`` raises it)."""
        if self._transport is None:
            loop = asyncio.get_running_loop()
            try:
                await loop.create_unix_connection(lambda: self, self._path)
            except OSError as exc:
                raise redis.exceptions.ConnectionError(
                    f"Error {exc.errno} connecting to unix socket: {self._path}. {exc.strerror}."
                ) from exc
        if self._lost is not None:
            raise self._lost
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._transport.write(data)  # type: ignore[union-attr]
        reply = await waiter
        if isinstance(reply, redis.exceptions.ResponseError):
            raise reply
        return reply

    def disconnect_now(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.abort()

    async def disconnect(self, nowait: bool = False) -> None:
        self.disconnect_now()


class AsyncFalkorReader:
    """``read_query`` of one `FalkorDBStore`, over an asyncio connection to its server."""

    def __init__(self, store: FalkorDBStore) -> None:
        self.store = store
        url = store.settings.falkordb_url
        if url:
            for ours, theirs in (("falkor://", "redis://"), ("falkors://", "rediss://")):
                if url.startswith(ours):
                    url = theirs + url[len(ours) :]
            self.conn: aredis.Redis = aredis.from_url(
                url, decode_responses=True, socket_timeout=None
            )
        else:
            self.conn = aredis.Redis(
                unix_socket_path=store.where, decode_responses=True, socket_timeout=None
            )
        #: The embedded server's socket, for `LeanConnection` (None: a ``falkordb_url``).
        self._path: str | None = None if url else str(store.where)
        #: Connections between commands (one per command in flight, reused after).
        self._idle: list[AbstractConnection | LeanConnection] = []
        #: Query texts the store's read-only check passed (`_check_read_only` is a pure
        #: function of the text; ~7 us of regular expressions per call, a researcher
        #: repeats the same text with other parameters). Refusals are not kept.
        self._read_only_ok: set[str] = set()
        #: The restart of a server that died of memory, while one is under way: every
        #: request that finds the server dead waits for this one (`_restart`).
        self._restarting: asyncio.Future[None] | None = None
        #: Requests in flight and when they are late (`_in_time`), the watchdog task
        #: that cancels late ones, and the requests it cancelled.
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        self._watch: asyncio.Task[None] | None = None
        self._late: set[asyncio.Task[Any]] = set()
        #: Set by `aclose`/`abandon`: a command still in flight then drops its
        #: connection when it ends instead of keeping it (nothing would close it later).
        self.closed = False

    async def aclose(self) -> None:
        """Close the kept connections, on the loop they belong to."""
        self.closed = True
        if self._watch is not None and not self._watch.done():
            self._watch.cancel()
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.disconnect()
        await self.conn.aclose()

    def abandon(self) -> None:
        """Close the kept connections of a reader whose event loop has ended, without it.

        A closed loop can run nothing, so ``disconnect`` (a coroutine) is out, and
        closing the stream (``transport.close``) would ask the dead loop for a callback
        (RuntimeError). Shutting the socket down needs no loop: the server drops the
        connection at once, and the file descriptor goes with the reader's objects."""
        self.closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            if type(conn) is LeanConnection:
                transport = conn.transport
            else:
                writer = getattr(conn, "_writer", None)  # redis-py's stream writer
                transport = getattr(writer, "transport", None)
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):  # already shut by the server
                    sock.shutdown(socket.SHUT_RDWR)

    async def _command(self, text: str, timeout_ms: int | None) -> Any:
        command: list[Any] = ["GRAPH.RO_QUERY", self.store.graph.name, text, "--compact"]
        if timeout_ms is not None:
            command += ["timeout", timeout_ms]
        sent = time.time()  # for `_lost`: did the server die of memory after this?
        fresh = made_graph = False
        while True:
            try:
                return await self._send(command, fresh=fresh)
            except redis.exceptions.ConnectionError:
                if fresh:  # lost on a new connection too: say why, once
                    await self._lost(sent)
                    raise
                # A kept connection may have gone stale (the server restarted): a
                # read-only query is safe to send once more on a new one -- unless the
                # server died of memory while it was out (then `_lost` raises).
                await self._lost(sent)
                fresh = True
            except redis.exceptions.ResponseError as exc:
                if made_graph or not missing_graph(exc):
                    raise
                await self._send(["GRAPH.QUERY", self.store.graph.name, "RETURN 1", "--compact"])
                made_graph = True

    async def _lost(self, sent: float) -> None:
        """After a lost connection: raise the store's memory sentence when the server
        died of memory after ``sent`` (restarting it first); restart a server found
        dead of memory before the query went out; otherwise return (send it again)."""
        server = self.store.server
        if server is None:  # a server we do not run (falkordb_url): no log, no limit
            return
        died, dead = await asyncio.to_thread(
            lambda: (server.died_of_memory_since(sent), server.ran_out_of_memory())
        )
        if died or dead or (self._restarting is not None and not self._restarting.done()):
            await self._restart()
        if died:
            raise self.store.memory_refusal()

    async def _restart(self) -> None:
        """Start the dead server again in a worker thread (`FalkorDBStore.restart_server`),
        once for all requests of this reader that wait for it, then drop the kept
        connections: they were to the dead server."""
        if self._restarting is None or self._restarting.done():
            self._restarting = asyncio.ensure_future(asyncio.to_thread(self.store.restart_server))
        await asyncio.shield(self._restarting)
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)

    async def _send(self, command: list[Any], *, fresh: bool = False) -> Any:
        """One command (`packed` here) on an idle connection (or a new one). The server's
        error reply raises `redis.exceptions.ResponseError` and leaves the connection
        usable; anything else (lost connection, cancelled request) drops it, as it may be
        mid-reply."""
        data = packed(*command)  # text that is not UTF-8 fails here, before a connection
        idle = self._idle
        if idle and not fresh:
            conn = idle.pop()
        elif self._path is not None:
            conn = LeanConnection(self._path)
        else:
            conn = self.conn.connection_pool.make_connection()
        try:
            if type(conn) is LeanConnection:
                response = await conn.roundtrip(data)
            else:
                await conn.send_packed_command(data)
                response = await conn.read_response()
        except redis.exceptions.ResponseError:
            await self._keep(conn)
            raise
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)
            raise
        await self._keep(conn)
        return response

    async def _keep(self, conn: AbstractConnection | LeanConnection) -> None:
        if not self.closed and len(self._idle) < IDLE_CONNECTIONS:
            self._idle.append(conn)
        else:
            await conn.disconnect()

    async def _check_sort(self, query: str, params: dict[str, Any] | None) -> None:
        """`falkordb_sort.check_sort` on this reader's connections: plan the text once
        and refuse an ORDER BY of a too large cartesian product of scans. An error while
        planning is left for the query itself to report."""
        settings = self.store.settings
        most = falkordb_sort.max_sorted_rows(
            settings.falkordb_query_memory_mb, settings.falkordb_server_memory_mb
        )
        if most <= 0:
            return
        graph = self.store.graph
        text = graph._build_params_header(params) + query
        try:
            plan = await self._send(["GRAPH.EXPLAIN", graph.name, text])
            scans = falkordb_sort.unbounded_sort_of_scans([str(line) for line in plan])
            if scans is None:
                falkordb_sort.remember_safe(query)
                return
            counts = []
            for scan in scans:
                reply = await self._send(
                    ["GRAPH.RO_QUERY", graph.name, falkordb_sort.count_query(scan), "--compact"]
                )
                counts.append(int(reply[1][0][0][1]))
        except redis.exceptions.RedisError:
            return
        falkordb_sort.refuse_if_too_many(scans, counts, most)

    async def _in_time(self, text: str, timeout_s: float) -> Any:
        """The query's reply, or the time-limit refusal once ``timeout_s`` plus
        `LATE_GRACE_S` have passed without one.

        Why: the server looks at its time limit while it makes rows, not while it sends
        them or finishes a sort, so an answer could come long after the limit (measured:
        a sort stopped by the limit answered 9-10 s late, a million-row reply 23.5 s
        under a 5 s limit). The researcher gets the limit's sentence at the limit; the
        connection is dropped (`_send` closes it when cancelled, so it is never reused
        mid-reply), and the server ends the query in the background.

        One watchdog task per reader cancels overdue requests (`_watchdog`), not a timer
        per request: ``asyncio.timeout`` cost 30-80 us a call on this loaded machine
        (its timer handles pile up in the loop's heap), ``wait_for`` a task of its own;
        this costs a dict entry."""
        task = asyncio.current_task()
        if task is None:  # not in a task (never in the app): no watchdog can cancel it
            return await self._command(text, max(1, int(timeout_s * 1000)))
        self._deadlines[task] = time.monotonic() + timeout_s + LATE_GRACE_S
        if self._watch is None or self._watch.done():
            self._watch = asyncio.ensure_future(self._watchdog())
        try:
            return await self._command(text, max(1, int(timeout_s * 1000)))
        except asyncio.CancelledError:
            if task not in self._late:
                raise  # cancelled by someone else (a client that went away)
            self._late.discard(task)
            task.uncancel()
            raise redis.exceptions.ResponseError("Query timed out") from None
        finally:
            self._deadlines.pop(task, None)

    async def _watchdog(self) -> None:
        """Cancel the requests past their deadline (`_in_time`), every `WATCH_S`, while
        there are requests in flight."""
        while self._deadlines:
            await asyncio.sleep(WATCH_S)
            now = time.monotonic()
            for task, deadline in list(self._deadlines.items()):
                if deadline <= now and not task.done():
                    del self._deadlines[task]
                    self._late.add(task)
                    task.cancel()

    async def _parse(self, response: Any) -> FQueryResult:
        rows = response[1] if len(response) > 2 and isinstance(response[1], list) else []
        if len(rows) > PARSE_INLINE_ROWS:
            return await asyncio.to_thread(FQueryResult, self.store.graph, response)
        return FQueryResult(self.store.graph, response)

    async def read_query(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_s: float = 5.0,
        row_cap: int = 1000,
    ) -> QueryResult:
        """As `FalkorDBStore.read_query` (same checks, limits, sentences and values)."""
        store = self.store
        if query not in self._read_only_ok:
            store._check_read_only(query)  # raises QueryRefused with its sentence
            if len(self._read_only_ok) >= READ_ONLY_CACHE:
                self._read_only_ok.clear()
            self._read_only_ok.add(query)
        if not falkordb_sort.known_safe(query):
            await self._check_sort(query, params)
        started = time.perf_counter()
        try:  # the store's sentences for the client's errors: `researcher_errors` below
            text = store.graph._build_params_header(params) + query
            response = await self._in_time(text, timeout_s)
            truncated = False
            if len(response) > 2 and isinstance(response[1], list) and len(response[1]) > row_cap:
                response = [response[0], response[1][:row_cap], *response[2:]]
                truncated = True
            # A reply of header, rows and statistics with no error in it (the client's
            # parser raises those, turned into sentences by `researcher_errors`).
            rows = None
            if (
                len(response) == 3
                and isinstance(response[1], list)
                and not isinstance(response[2], Exception)
            ):
                if len(response[1]) > PLAIN_INLINE_ROWS:
                    rows = await asyncio.to_thread(plain_rows, response[1])
                else:
                    rows = plain_rows(response[1])
            if rows is not None:
                return QueryResult(
                    columns=[h[1] if isinstance(h, list | tuple) else str(h) for h in response[0]],
                    rows=rows,
                    truncated=truncated,
                    row_cap=row_cap,
                    elapsed_ms=(time.perf_counter() - started) * 1000,
                )
            res = await self._parse(response)
        except redis.exceptions.RedisError as exc:
            # Entered on this path only: a generator's enter and exit on every query
            # cost more than the whole try.
            with store.researcher_errors(timeout_s, restart=False):
                raise exc
            raise
        elapsed = (time.perf_counter() - started) * 1000
        ends: set[int] = set()
        for row in res.result_set:  # most rows hold scalars only: no walk for those
            for value in row:
                if type(value) not in _SCALARS:
                    store._edge_ends(value, ends)
        node_ids: dict[int, str] = {}
        if ends:
            text = store.graph._build_params_header({"ids": sorted(ends)}) + NODE_IDS_QUERY
            with store.researcher_errors(timeout_s, restart=False):
                found = await self._parse(await self._command(text, None))
            for internal, nid in found.result_set:
                node_ids[internal] = nid
        return store.query_result(res, node_ids, truncated, row_cap, elapsed)


_readers: weakref.WeakKeyDictionary[Any, tuple[Any, AsyncFalkorReader]] = (
    weakref.WeakKeyDictionary()
)


def _reads_inner(store: Any) -> bool:
    """Whether ``store`` is a write-through store whose reads are its inner store's."""
    from impact_graph.store.writethrough import WriteThroughStore

    return (
        isinstance(store, WriteThroughStore)
        and type(store).read_query is WriteThroughStore.read_query
    )


#: The last answer of `async_reader` as weak references (store, loop, reader): a server
#: asks for the same store's reader on the same loop on every request.
_last: tuple[weakref.ref[Any], weakref.ref[Any], weakref.ref[AsyncFalkorReader]] | None = None


def async_reader(store: GraphStore) -> AsyncFalkorReader | None:
    """The asyncio reader of ``store`` for the running event loop; None when the store
    has none (Neo4j, a FalkorDB cluster): the caller then uses a worker thread.

    The same store on the same loop as last time gets the same reader without the
    lookups below (~5 us a request, in which two imports): three weak references."""
    global _last
    loop = asyncio.get_running_loop()
    last = _last
    if last is not None and last[0]() is store and last[1]() is loop:
        reader = last[2]()
        if reader is not None and not reader.closed:
            return reader
    from impact_graph.store.falkordb_store import FalkorDBStore

    outer = store
    if _reads_inner(store):
        store = store.inner  # type: ignore[attr-defined]
    if type(store) is not FalkorDBStore or type(store.db.connection) is not redis.Redis:
        return None
    held = _readers.get(store)
    if held is not None and held[0]() is loop and not held[1].closed:
        reader = held[1]
    else:
        if held is not None and not held[1].closed:
            _retire(held[0](), held[1])
        reader = AsyncFalkorReader(store)
        _readers[store] = (weakref.ref(loop), reader)
    _last = (weakref.ref(outer), weakref.ref(loop), weakref.ref(reader))
    return reader


def _retire(loop: asyncio.AbstractEventLoop | None, reader: AsyncFalkorReader) -> None:
    """Close the reader another event loop made, as another loop now uses the store.

    Its connections belong to that loop: while it runs (in another thread) they are
    closed there (`AsyncFalkorReader.aclose`, which leaves requests still in flight
    alone: their connections are dropped when they end); a loop that ended (closed, or
    gone) gets its sockets shut down without it (`AsyncFalkorReader.abandon`). Replacing
    the reader without this kept one server connection per loop change open until the
    garbage collector found it."""
    if loop is not None and loop.is_running() and not loop.is_closed():
        try:
            asyncio.run_coroutine_threadsafe(reader.aclose(), loop)
            return
        except RuntimeError:  # the loop closed meanwhile
            pass
    reader.abandon()


async def close_reader(store: GraphStore | None) -> None:
    """Close the reader of ``store`` made on the running loop (the app's shutdown)."""
    if _reads_inner(store):
        store = store.inner  # type: ignore[union-attr]
    held = _readers.pop(store, None) if store is not None else None
    if held is not None and held[0]() is asyncio.get_running_loop():
        await held[1].aclose()
