"""What happens around a restart of the embedded FalkorDB after a memory bomb.

Each test runs a server of its own with the smallest limits the settings allow (16 MB a
query, 512 MB of address space), so a bomb stops it after ~0.1 s and at most 512 MB:
the server is stopped by its address-space limit (`falkordb_server`), the store restarts
it. What must hold:

* the asyncio reader never sends a query again when the server died of memory while it
  was out (it may be the bomb), but still sends a query again after a kept connection
  was dropped for another reason (a plain restart);
* the restart runs off the event loop, and requests that find the server dead together
  cause one restart;
* a graph that was only ever read (not in the append-only file a restarted server loads)
  still answers reads after a restart, on the store and on the reader.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from impact_graph.config import Settings
from impact_graph.store.falkordb_async import AsyncFalkorReader, async_reader
from impact_graph.store.falkordb_server import OOM_MARK, FalkorDBServer
from impact_graph.store.falkordb_store import FalkorDBStore
from impact_graph.store.port import QueryRefused

BOMB = (
    "UNWIND range(1, 2000) AS a UNWIND range(1, 2000) AS b WITH a, b ORDER BY a + b RETURN count(*)"
)
KEPT = "MATCH (n:Kept) RETURN count(n)"


def _settings(data_dir: Path) -> Settings:
    return Settings(
        backend="falkordb",
        data_dir=data_dir,
        rdf="off",
        falkordb_query_memory_mb=16,
        falkordb_server_memory_mb=512,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FalkorDBStore]:
    """A store on a server of its own, with one written node (in the append-only file)."""
    st = FalkorDBStore(_settings(tmp_path))
    try:
        yield st
    finally:
        st.close()
        FalkorDBServer(tmp_path).stop()


def _write_kept(st: FalkorDBStore) -> None:
    st.db.connection.execute_command("GRAPH.QUERY", st.graph.name, "CREATE (:Kept)")


def _log_count(st: FalkorDBStore, mark: str) -> int:
    assert st.server is not None
    return st.server.log_path.read_text(errors="replace").count(mark)


def _deaths(st: FalkorDBStore) -> int:
    """Server processes that aborted for out of memory (by the pid that starts each log
    line: threads of one dying process may each write the abort line)."""
    assert st.server is not None
    lines = st.server.log_path.read_text(errors="replace").splitlines()
    return len({line.split(":", 1)[0] for line in lines if OOM_MARK in line})


def _starts(st: FalkorDBStore) -> int:
    """Server processes started in this data directory so far (one per run in the log)."""
    return _log_count(st, "Server initialized")


def _count_sends(reader: AsyncFalkorReader, text: str) -> list[Any]:
    """Wrap the reader's `_send` to record every query run whose text contains ``text``
    (the wrapped method still talks to the real server). Only runs count: the plan the
    reader asks for first (``GRAPH.EXPLAIN``, `falkordb_sort`) makes no rows."""
    seen: list[Any] = []
    real = reader._send

    async def send(command: list[Any], *, fresh: bool = False) -> Any:
        if command[0] != "GRAPH.EXPLAIN" and text in str(command[2]):
            seen.append(command)
        return await real(command, fresh=fresh)

    reader._send = send  # type: ignore[method-assign]
    return seen


def _kill_with_bomb(st: FalkorDBStore) -> None:
    """Stop the server with a bomb sent past the store (nobody restarts it) and wait
    until the process has gone."""
    assert st.server is not None
    pid = st.server.read_pid()
    c = st.server.client(timeout_s=60)
    with pytest.raises(redis.exceptions.ConnectionError):
        c.execute_command("GRAPH.RO_QUERY", st.graph.name, BOMB)
    c.close()
    deadline = time.monotonic() + 10
    while st.server._live_pid() == pid and time.monotonic() < deadline:
        time.sleep(0.02)
    assert st.server.ran_out_of_memory()


def test_a_bomb_is_not_sent_again_to_a_server_restarted_meanwhile(store: FalkorDBStore) -> None:
    """Another request (or process) may restart the server between the bomb's lost
    connection and its retry; the retry would then run the bomb on the new server and
    stop it a second time. The reader sends it once and answers with the sentence."""
    _write_kept(store)
    assert store.server is not None

    async def run() -> tuple[Exception | None, int, Any]:
        reader = async_reader(store)
        assert reader is not None
        bombs = _count_sends(reader, "ORDER BY a + b")
        real = reader._send

        async def send(command: list[Any], *, fresh: bool = False) -> Any:
            try:
                return await real(command, fresh=fresh)
            except redis.exceptions.ConnectionError:
                if "ORDER BY a + b" in str(command[2]):
                    store.server.ensure_running()  # as a concurrent request would
                raise

        reader._send = send  # type: ignore[method-assign]
        caught: Exception | None = None
        try:
            await reader.read_query(BOMB, {}, timeout_s=30, row_cap=10)
        except QueryRefused as exc:
            caught = exc
        after = (await reader.read_query(KEPT, {}, timeout_s=5)).rows
        await reader.aclose()
        return caught, len(bombs), after

    caught, sends, after = asyncio.run(run())
    assert caught is not None and "IMPACT_GRAPH_FALKORDB_SERVER_MEMORY_MB" in str(caught)
    assert sends == 1
    assert _deaths(store) == 1  # the server died once, not twice
    assert after == [[1]]


def test_a_connection_dropped_by_a_plain_restart_is_still_retried(store: FalkorDBStore) -> None:
    """A kept connection to a server that was stopped and started again (no memory
    trouble) is stale: the query goes out once more on a new connection and is answered."""
    _write_kept(store)
    assert store.server is not None

    async def run() -> tuple[Any, Any, int]:
        reader = async_reader(store)
        assert reader is not None
        first = (await reader.read_query(KEPT, {}, timeout_s=5)).rows
        assert len(reader._idle) == 1  # kept for the next query
        store.server.stop()
        store.server.ensure_running()
        sends = _count_sends(reader, "Kept")
        second = (await reader.read_query(KEPT, {}, timeout_s=5)).rows
        await reader.aclose()
        return first, second, len(sends)

    first, second, sends = asyncio.run(run())
    assert first == second == [[1]]
    assert sends == 2  # the stale connection's attempt, then the new connection's
    assert _deaths(store) == 0


def test_requests_that_find_the_server_dead_cause_one_restart_off_the_loop(
    store: FalkorDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server died of memory before these queries went out (so they did not kill
    it): two at once wait for one restart, run in a worker thread while the event loop
    keeps serving (a ticker coroutine runs during the restart), and both are answered."""
    _write_kept(store)
    _kill_with_bomb(store)
    starts_before = _starts(store)
    restarts: list[tuple[int, float, float, bool]] = []
    real_start = FalkorDBServer.start

    def start(self: FalkorDBServer) -> bool:
        began = time.monotonic()
        started = real_start(self)
        restarts.append((threading.get_ident(), began, time.monotonic(), started))
        return started

    monkeypatch.setattr(FalkorDBServer, "start", start)

    async def run() -> tuple[list[Any], list[float], int]:
        reader = async_reader(store)
        assert reader is not None
        ticks: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.002)

        tick_task = asyncio.ensure_future(ticker())
        try:
            answers = await asyncio.gather(
                reader.read_query(KEPT, {}, timeout_s=5),
                reader.read_query("RETURN 1 AS one", {}, timeout_s=5),
            )
        finally:
            done.set()
            await tick_task
            await reader.aclose()
        return [a.rows for a in answers], ticks, threading.get_ident()

    answers, ticks, loop_thread = asyncio.run(run())
    assert answers == [[[1]], [[1]]]
    assert _starts(store) == starts_before + 1  # one new server process
    real = [r for r in restarts if r[3]]
    assert len(real) == 1
    thread, began, ended, _ = real[0]
    assert thread != loop_thread
    assert any(began < t < ended for t in ticks), (began, ended, len(ticks))


def test_two_bombs_at_once_stop_the_server_once_and_restart_it_once(
    store: FalkorDBStore,
) -> None:
    """Both were out when the server died: both get the sentence, neither is sent again,
    one restart, and the reader answers after."""
    _write_kept(store)
    starts_before = _starts(store)

    async def run() -> tuple[list[Any], int, Any]:
        reader = async_reader(store)
        assert reader is not None
        bombs = _count_sends(reader, "ORDER BY a + b")
        got = await asyncio.gather(
            reader.read_query(BOMB, {}, timeout_s=30, row_cap=10),
            reader.read_query(BOMB, {}, timeout_s=30, row_cap=10),
            return_exceptions=True,
        )
        after = (await reader.read_query(KEPT, {}, timeout_s=5)).rows
        await reader.aclose()
        return got, len(bombs), after

    got, sends, after = asyncio.run(run())
    for answer in got:
        assert isinstance(answer, QueryRefused), answer
        assert "IMPACT_GRAPH_FALKORDB_SERVER_MEMORY_MB" in str(answer)
    assert sends == 2
    assert _deaths(store) == 1
    assert _starts(store) == starts_before + 1
    assert after == [[1]]


def test_a_graph_never_written_answers_reads_after_restarts(store: FalkorDBStore) -> None:
    """A brand-new store's graph exists only in the server's memory (a read made it):
    after a restart that loses it (a kill: no compaction) and after a memory bomb it must
    still answer reads -- an empty answer, not "Invalid graph operation on empty key" --
    on the store and the reader."""
    assert store.server is not None
    count = "MATCH (n) RETURN count(n) AS c"
    assert store.read_query(count).rows == [[0]]

    # A clean stop compacts the append-only file from memory (803ffad), which keeps even
    # this graph; a kill does not: compact=False leaves the file as a kill would.
    store.server.stop(compact=False)
    store.server.ensure_running()
    assert not store.db.connection.exists(store.graph.name)  # the restart lost it
    assert store.read_query(count).rows == [[0]]
    store.server.stop(compact=False)
    store.server.ensure_running()
    assert store.stats().documents == 0
    assert store.get_nodes(["nobody"]) == []
    assert store.document_hashes() == {}

    async def run() -> list[Any]:
        reader = async_reader(store)
        assert reader is not None
        seen: list[Any] = []
        try:
            store.server.stop(compact=False)
            store.server.ensure_running()
            seen.append((await reader.read_query(count, {}, timeout_s=5)).rows)
            with pytest.raises(QueryRefused):
                await reader.read_query(BOMB, {}, timeout_s=30, row_cap=10)
            seen.append(store.db.connection.exists(store.graph.name))
            seen.append((await reader.read_query(count, {}, timeout_s=5)).rows)
        finally:
            await reader.aclose()
        return seen

    assert asyncio.run(run()) == [[[0]], 0, [[0]]]
    # And the store after the bomb's restart.
    assert store.read_query(count).rows == [[0]]


def test_log_time_reads_redis_stamps(tmp_path: Path) -> None:
    """`died_of_memory_since` goes by the stamp of redis' abort line."""
    server = FalkorDBServer(tmp_path)
    at = time.mktime((2026, 11, 27, 19, 46, 7, 0, 0, -1)) + 0.39
    server.log_path.write_text(
        "20071:M 27 Nov 2026 19:46:06.796 * Server initialized\n"
        "20071:M 27 Nov 2026 19:46:07.390 # Out Of Memory allocating 67600 bytes!\n"
        f"20071:M 27 Nov 2026 19:46:07.390 # Guru Meditation: {OOM_MARK}. Allocating "
        "67600 bytes! #server.c:7119\n"
        "20099:M 27 Nov 2026 19:46:08.100 * Server initialized\n"
    )
    assert server.died_of_memory_since(at - 5)
    assert server.died_of_memory_since(at)
    assert not server.died_of_memory_since(at + 0.5)
    assert not server.ran_out_of_memory()  # restarted since
    server.log_path.write_text("20071:M 27 Nov 2026 19:46:06.796 * Server initialized\n")
    assert not server.died_of_memory_since(0)


def test_cypher_endpoint_on_a_brand_new_store_answers_before_and_after_a_restart(
    tmp_path: Path,
) -> None:
    """GET /cypher on a store nothing was ever ingested into: an empty answer (a count of
    0, no rows), also after the server was stopped and started under the running app.
    (The app sets up the schema at start, a write, so its graph is in the append-only
    file; this guards that path, the store-level test above the read-only one.)"""
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app

    server = FalkorDBServer(tmp_path)
    try:
        with TestClient(create_app(_settings(tmp_path), warm_up=False)) as c:
            for _ in range(2):
                r = c.get("/cypher", params={"query": "MATCH (n) RETURN count(n) AS c"})
                assert r.status_code == 200, r.text
                assert r.json()["rows"] == [[0]]
                r = c.get("/cypher", params={"query": "MATCH (n:Programme) RETURN n.id"})
                assert r.status_code == 200 and r.json()["rows"] == [], r.text
                server.stop()
                server.ensure_running()
    finally:
        server.stop()
