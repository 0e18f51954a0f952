"""``/cypher`` on FalkorDB runs in the event loop (`impact_graph.store.falkordb_async`)
and must answer exactly what the store's own ``read_query`` answers: the same rows for
nodes, edges, paths and capped results, and the same exception and sentence for every
hostile query of `tests.test_hostile_cypher`."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

import pytest

from impact_graph.config import Settings
from impact_graph.queries.run import run_cypher, run_cypher_async
from impact_graph.store import falkordb_async
from impact_graph.store.falkordb_async import AsyncFalkorReader, async_reader
from impact_graph.store.port import StoreError
from tests.conftest import settings_for
from tests.test_hostile_cypher import HOSTILE, ROW_CAP, TIMEOUT_S
from tests.test_same_facts import DemoGraph, demo_graph  # noqa: F401 - shared fixture

READS = [
    ("MATCH (p:Programme) RETURN p.id AS id, p.name AS name, p.sources AS sources", {}, 1000),
    ("MATCH (a)-[e]->(b) RETURN a, e, b ORDER BY a.id, type(e), b.id LIMIT 25", {}, 1000),
    ("MATCH p = (a:Actor)-[]->(b) RETURN p ORDER BY a.id LIMIT 5", {}, 1000),
    ("MATCH (n) RETURN n.id ORDER BY n.id", {}, 7),  # cut at the row cap
    ("MATCH (n {id: $id}) RETURN n.id, labels(n)", {"id": "nobody"}, 1000),
    # Every plain scalar type, read straight off the compact reply (`plain_rows`), and a
    # list beside them (the client's parser).
    (
        "UNWIND [1, -2] AS i RETURN i, i * 0.5 AS half, i > 0 AS pos, null AS nothing, "
        "'ë \"q\" ' + toString(i) AS s, 1.0e300 AS big ORDER BY i",
        {},
        1000,
    ),
    ("UNWIND range(1, 3) AS i RETURN i, [i, 'x', null] AS l", {}, 2),
]


def _both(store: Any, query: str, params: dict[str, Any] | None, **limits: Any) -> Any:
    """(sync answer or exception, async answer or exception) for one query."""

    def sync() -> Any:
        try:
            t = run_cypher(store, query, params, **limits)
            return (t.columns, t.rows, t.truncated)
        except StoreError as e:
            return (type(e).__name__, str(e))

    async def run_async() -> Any:
        reader = async_reader(store)
        assert reader is not None
        try:
            t = await run_cypher_async(reader, query, params, **limits)
            return (t.columns, t.rows, t.truncated)
        except StoreError as e:
            return (type(e).__name__, str(e))
        finally:
            await reader.aclose()

    # In the main thread, as the app's own loop would be: tests/conftest.py fails any test
    # that leaves a loop running there (the session-wide Playwright loop once did).
    return sync(), asyncio.run(run_async())


@pytest.fixture
def backend_settings(request: pytest.FixtureRequest) -> Settings:
    """FalkorDB only: Neo4j has no asyncio reader (`async_reader` is None there and
    /cypher keeps its worker thread, which `tests/test_cypher_api.py` covers)."""
    return settings_for("falkordb", request)


@pytest.fixture
def falkordb_graph(demo_graph: DemoGraph) -> DemoGraph:  # noqa: F811
    assert demo_graph.backend == "falkordb"
    demo_graph.ensure_intact()
    return demo_graph


@pytest.mark.parametrize(("query", "params", "cap"), READS)
def test_same_rows_as_read_query(falkordb_graph: DemoGraph, query, params, cap) -> None:  # type: ignore[no-untyped-def]
    sync, via_loop = _both(falkordb_graph.store, query, params, timeout_s=5.0, row_cap=cap)
    assert len(sync) == 3, sync  # an answer (columns, rows, truncated), not an error
    assert via_loop == sync


#: What a store may be sent on its own (not the ranges only the guard may stop).
STORE_HOSTILE = [h for h in HOSTILE if h.store_alone]


@pytest.mark.parametrize("h", STORE_HOSTILE, ids=[h.id for h in STORE_HOSTILE])
def test_same_refusal_as_read_query(falkordb_graph: DemoGraph, h) -> None:  # type: ignore[no-untyped-def]
    sync, via_loop = _both(
        falkordb_graph.store, h.query, h.params, timeout_s=TIMEOUT_S, row_cap=ROW_CAP
    )
    if h.expect in ("timeout", "limited") and sync[0] != via_loop[0]:
        # A runaway may finish on one run and not the other; both must still be answers
        # within the limits (capped rows or the timeout sentence).
        for out in (sync, via_loop):
            assert out[0] == "QueryTimeout" or out[2] is True, out
        return
    assert via_loop == sync


def test_endpoint_needs_no_worker_thread(
    falkordb_graph: DemoGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST and GET /cypher answer on FalkorDB with the worker-thread path switched off,
    and still refuse writes with the same sentence."""
    from impact_graph.api.routers import cypher

    client = falkordb_graph.client()

    def no_thread(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("/cypher went to a worker thread")

    monkeypatch.setattr(cypher, "run_in_threadpool", no_thread)
    q = "MATCH (p:Programme) RETURN p.id AS id ORDER BY id"
    want = [[r[0]] for r in falkordb_graph.store.read_query(q).rows]
    r = client.post("/cypher", json={"query": q})
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == want
    assert client.get("/cypher", params={"query": q}).json()["rows"] == want
    r = client.post("/cypher", json={"query": "MATCH (n:Programme) SET n.x = 1 RETURN n"})
    assert r.status_code == 400 and "read the graph" in r.json()["detail"]


def test_kept_connections_survive_errors_cancellation_and_a_server_kill(
    falkordb_graph: DemoGraph,
) -> None:
    """The reader keeps its connections between commands (`AsyncFalkorReader._send`):
    after an error reply the connection is reused, after a cancelled command (a client
    that went away mid-query) it is dropped -- reusing it would hand the next query the
    cancelled one's late reply -- and a connection the server closed is replaced."""
    store = falkordb_graph.store
    q = "MATCH (p:Programme) RETURN p.id AS id ORDER BY id"
    want = [list(r) for r in store.read_query(q).rows]
    # Slow by enumeration, not by memory (a huge range() is refused by the guard).
    slow = next(h.query for h in HOSTILE if h.id == "cartesian-4")

    async def scenario() -> list[Any]:
        reader = async_reader(store)
        assert reader is not None
        seen: list[Any] = []
        try:
            seen.append((await run_cypher_async(reader, q)).rows)
            with pytest.raises(StoreError):
                await run_cypher_async(reader, "MATCH (n) RETURN n.id +", {})
            seen.append((await run_cypher_async(reader, q)).rows)
            seen.append(len(reader._idle))  # the same connection, kept after the error

            task = asyncio.ensure_future(run_cypher_async(reader, slow, timeout_s=3.0))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            seen.append(len(reader._idle))  # the cancelled one's connection was dropped
            seen.append((await run_cypher_async(reader, q)).rows)

            # The server closes every other connection (the reader's kept one too).
            store.db.connection.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            seen.append((await run_cypher_async(reader, q)).rows)
        finally:
            await reader.aclose()
        return seen

    seen = asyncio.run(scenario())
    assert seen == [want, want, 1, 0, want, want]


def test_plain_rows_reads_scalars_and_leaves_the_rest_to_the_parser() -> None:
    """Compact cells (type code, value) of plain scalars become the values the client's
    parser gives; any other type (here a list, 6, and a node, 8) answers None, so the reply
    goes through the parser and the store's `query_result`."""
    from falkordb.query_result import parse_scalar

    from impact_graph.store.falkordb_async import plain_rows

    rows = [
        [[2, "a"], [3, 7], [1, None], [4, "true"], [5, "0.25"]],
        [[2, ""], [3, -1], [1, None], [4, "false"], [5, "-1e+300"]],
    ]
    expected = [[parse_scalar(c, None) for c in row] for row in rows]
    assert (
        plain_rows(rows) == expected == [["a", 7, None, True, 0.25], ["", -1, None, False, -1e300]]
    )
    assert plain_rows([[[2, "a"], [3, 1]]]) == [["a", 1]]
    assert plain_rows([]) == []
    assert plain_rows([[[2, "a"], [6, [[3, 1]]]]]) is None
    assert plain_rows([[[8, [1, [0], []]]]]) is None


def test_packed_commands_are_the_bytes_redis_py_sends() -> None:
    """`packed` writes what redis-py's ``pack_command`` writes for the reader's commands:
    a query with a parameter header, quotes, line breaks, non-ASCII text and a RESP-like
    fragment stays one argument (every argument goes with its byte length)."""
    from redis.asyncio.connection import Connection

    from impact_graph.store.falkordb_async import packed

    conn = Connection()
    text = "CYPHER id='a\\'b' MATCH (n {id: $id})\r\n*1\r\n$4\r\nPING RETURN 'ë€😀' AS s"
    for args in (
        ("GRAPH.RO_QUERY", "graph name", text, "--compact", "timeout", 5000),
        ("GRAPH.RO_QUERY", "g", "RETURN 1", "--compact"),
        ("GRAPH.QUERY", "ïmpact", "", "--compact", "timeout", 1),
    ):
        assert packed(*args) == b"".join(conn.pack_command(*args))
    with pytest.raises(UnicodeEncodeError):  # as redis-py: a lone surrogate is no UTF-8
        packed("GRAPH.RO_QUERY", "g", "RETURN '\ud800'")


def test_the_reader_of_the_last_request_is_found_again(falkordb_graph: DemoGraph) -> None:
    """`async_reader` remembers its last answer (store, loop, reader): the same store on
    the same loop gets the same reader; a closed reader or another loop gets a new one."""
    store = falkordb_graph.store

    async def twice() -> tuple[Any, Any, Any]:
        first, again = async_reader(store), async_reader(store)
        assert first is not None
        await first.aclose()
        return first, again, async_reader(store)

    first, again, after_close = asyncio.run(twice())
    assert again is first and after_close is not first and not after_close.closed
    other_loop = asyncio.run(_reader_of(store))
    assert other_loop is not after_close and after_close.closed  # the last loop's, retired
    inner = store.inner if falkordb_async._reads_inner(store) else store  # type: ignore[attr-defined]
    held = falkordb_async._readers.pop(inner, None)
    if held is not None:
        held[1].abandon()


async def _reader_of(store: Any) -> Any:
    reader = async_reader(store)
    assert reader is not None and (await reader.read_query("RETURN 1 AS one")).rows == [[1]]
    return reader


def test_one_reader_refuses_a_repeated_refusal_every_time(falkordb_graph: DemoGraph) -> None:
    """The reader remembers only the texts that passed the store's read-only check, so the
    same refused text is refused again after a passing query, with the same sentence."""
    from impact_graph.store.port import QueryRefused

    store = falkordb_graph.store
    refused = "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line"
    passing = "MATCH (p:Programme) RETURN count(p) AS n"

    async def run() -> list[Any]:
        reader = async_reader(store)
        assert reader is not None
        out: list[Any] = []
        try:
            for q in (refused, passing, passing, refused):
                try:
                    out.append((await reader.read_query(q, {})).rows)
                except QueryRefused as e:
                    out.append(("refused", str(e)))
        finally:
            await reader.aclose()
        return out

    first, n1, n2, again = asyncio.run(run())
    assert first[0] == "refused" and "LOAD CSV" in first[1]
    assert again == first
    assert n1 == n2 == store.read_query(passing).rows


def test_a_new_event_loop_closes_the_connections_of_the_last(falkordb_graph: DemoGraph) -> None:
    """One reader per store and event loop: when another loop uses the store, the last
    loop's reader is closed, not just replaced (that kept one server connection open per
    loop change until the garbage collector found it; the collector is off here so a
    leak would show). A loop that ended has its sockets shut down without it; a loop
    still running in another thread closes its reader there."""
    store = falkordb_graph.store
    server = store.db.connection  # the store's own client, to count the server's clients
    # The readers are kept by the FalkorDB store a write-through store reads from.
    inner = store.inner if falkordb_async._reads_inner(store) else store  # type: ignore[attr-defined]
    falkordb_async._readers.pop(inner, None)  # a reader earlier tests left, closed or not

    async def lookup() -> AsyncFalkorReader:
        reader = async_reader(store)
        assert reader is not None
        assert (await reader.read_query("RETURN 1 AS one")).rows == [[1]]
        return reader  # left open: its loop ends with asyncio.run

    def clients() -> int:
        return len(server.client_list())

    def settles(want: int) -> int:
        deadline = time.monotonic() + 10
        while (n := clients()) != want and time.monotonic() < deadline:
            time.sleep(0.02)
        return n

    before = clients()
    gc.disable()
    thread_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=thread_loop.run_forever, daemon=True)
    try:
        readers = [asyncio.run(lookup()) for _ in range(4)]  # four loops, one after another
        assert settles(before + 1) == before + 1  # the last loop's one kept connection
        assert [r.closed for r in readers] == [True, True, True, False]
        assert all(r._idle == [] for r in readers[:3]) and len(readers[3]._idle) == 1

        thread.start()  # a loop that keeps running, in another thread
        in_thread = asyncio.run_coroutine_threadsafe(lookup(), thread_loop).result(timeout=30)
        assert readers[3].closed and settles(before + 1) == before + 1
        last = asyncio.run(lookup())  # the main thread's next loop: the thread's is closed
        assert in_thread.closed and last is not in_thread
        assert settles(before + 1) == before + 1
        assert (
            asyncio.run_coroutine_threadsafe(_idle_count(in_thread), thread_loop).result(timeout=30)
            == 0
        )
    finally:
        gc.enable()
        if thread.is_alive():
            thread_loop.call_soon_threadsafe(thread_loop.stop)
            thread.join(timeout=30)
        thread_loop.close()
        held = falkordb_async._readers.pop(inner, None)
        if held is not None:
            held[1].abandon()
    assert settles(before) == before  # the last loop's reader, abandoned above


async def _idle_count(reader: AsyncFalkorReader) -> int:
    """The reader's kept connections, read on its own loop."""
    return len(reader._idle)
