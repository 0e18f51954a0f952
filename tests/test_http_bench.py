"""The HTTP measurements of issue 5: ``bench/query.py`` serves the app from a process of
its own (as ``impact-graph serve`` runs), and ``bench/tools/http_floor.py`` breaks a
``/cypher`` round trip down by layer, each server in its own process.

Figures are not asserted (the machine is shared and noisy); what is asserted is where
the CPU is booked: a server thread inside the bench would leave no server CPU to read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from impact_graph.store.falkordb_server import FalkorDBServer
from tests.test_bench_smoke import run_bench_script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _common import (  # noqa: E402  (bench/ is not a package)
    accepts,
    cpu_s,
    free_port,
    server_process,
    tree_pids,
)
from query import CurlClient, ThinClient  # noqa: E402


@pytest.mark.slow
def test_query_bench_books_the_server_process_cpu(tmp_path: Path) -> None:
    out = tmp_path / "query.json"
    run_bench_script(
        "query",
        [
            *("--quick", "--languages", "cypher", "--queries", "lookup", "--calls", "20"),
            *("--json", str(out)),
        ],
    )
    (lookup,) = json.loads(out.read_text())["queries"]
    variants = lookup["variants"]
    # The target is judged on the in-app and the libcurl rows; http.client and httpx
    # are shown beside them with no target.
    assert variants["HTTP"]["holds"] in (True, False)
    assert variants["HTTP http.client"]["holds"] is None
    assert variants["HTTP httpx"]["holds"] is None
    assert {"HTTP", "HTTP raw", "HTTP http.client", "HTTP http.client raw"} <= set(lookup["noop"])
    for name in ("HTTP", "HTTP http.client", "HTTP httpx"):
        v = variants[name]
        # The server answered from another process: its CPU was read from /proc and is
        # part of the call's CPU, beside the client's.
        assert v["server_cpu_ms"] > 0, (name, v)
        assert v["cpu_ms"] > v["server_cpu_ms"], (name, v)
    assert variants["in-app"]["server_cpu_ms"] is None
    # The report shows the http.client figures beside the targeted rows (its variant's
    # name has a dot, which a dotted lookup would split: the rows were missing).
    from report import query_area

    rows = {r.figure: r for r in query_area(json.loads(out.read_text())).rows}
    client_row = rows["cypher lookup, HTTP http.client, p50 (p95)"]
    assert client_row.target == "no target" and client_row.ratio != "–"
    assert rows["cypher lookup, HTTP, p50 (p95)"].target == "≤ 1.3×"


@pytest.mark.slow
def test_http_floor_tool_quick_run(tmp_path: Path) -> None:
    data, out = tmp_path / "g", tmp_path / "floor.json"
    stdout = run_bench_script(
        "tools/http_floor",
        [
            *("--data", str(data), "--nodes", "2000", "--calls", "20", "--rounds", "1"),
            *("--json", str(out)),
        ],
    )
    assert "median of 1 rounds" in stdout
    med = json.loads(out.read_text())["median"]
    assert set(med) >= {
        "(a) socket echo",
        "(b) socket uvicorn",
        "(b) http.client uvicorn",
        "(c) lean no-op",
        "(d) cypher",
        "direct",
    }
    for name, r in med.items():
        assert r["p50_ms"] > 0 and r["client_cpu_ms"] > 0, (name, r)
        if name != "direct":
            assert r["server_cpu_ms"] > 0, (name, r)
    # The embedded FalkorDB the tool used is stopped.
    assert not FalkorDBServer(data).status().running


def test_server_process_says_which_server_stopped_at_start_up() -> None:
    with (
        pytest.raises(RuntimeError, match="the test server stopped at start-up"),
        server_process(
            [sys.executable, "-c", "raise SystemExit(3)"], lambda: False, what="the test server"
        ),
    ):
        pass


def test_server_process_stops_the_server_and_books_its_children() -> None:
    port = free_port()
    # A parent that forks a busy child which serves (as granian's supervisor forks its
    # worker): the child's CPU is the server's.
    code = (
        "import os, socket, time\n"
        "parent = os.getpid()\n"
        "if os.fork() == 0:\n"
        "    t = time.process_time()\n"
        "    while time.process_time() - t < 0.3: pass\n"
        f"    s = socket.create_server(('127.0.0.1', {port}))\n"
        "    while os.getppid() == parent: time.sleep(0.05)\n"
        "else:\n"
        "    os.wait()\n"
    )
    with server_process([sys.executable, "-c", code], accepts(port), what="forking") as proc:
        pids = tree_pids(proc.pid)
        assert len(pids) == 2 and pids[0] == proc.pid
        assert cpu_s(pids) >= 0.25
        assert cpu_s([pids[0]]) < 0.25  # the parent only waits
    assert proc.poll() is not None


@pytest.mark.slow
def test_curl_client_answers_as_the_thin_client(tmp_path: Path) -> None:
    """`CurlClient` (the HTTP rows' client) sends what `ThinClient` sends and reads the
    same answers, over one reused connection, POST and GET in turn."""
    port = free_port()
    answer = tmp_path / "answer.bin"
    answer.write_bytes(b'HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n{"a":1}')
    cmd = [sys.executable, str(ROOT / "bench/tools/http_floor.py"), "--serve", "asgi"]
    cmd += ["--port", str(port), "--answer", str(answer), "--data", str(tmp_path)]
    with server_process(cmd, accepts(port), what="the bare ASGI server"):
        base = f"http://127.0.0.1:{port}"
        curl, thin = CurlClient(base), ThinClient(base)
        try:
            body = json.dumps({"query": "RETURN 1"}).encode()
            post = {"Content-Type": "application/json"}
            for _ in range(3):
                got = curl.request("POST", "/cypher", body=body, headers=post)
                assert got == thin.request("POST", "/cypher", body=body, headers=post)
                assert got == (200, b'{"a":1}')
                assert curl.request("GET", "/sparql", params={"query": "ASK {}"}) == got
            # One connection for all of them: libcurl reused it.
            import pycurl

            assert curl.curl.getinfo(pycurl.NUM_CONNECTS) == 0
        finally:
            curl.close()
            thin.close()
