"""The HTTP measurements of issue 5: ``bench/query.py`` serves the app from a process of
its own (as ``impact-graph serve`` runs), and ``bench/tools/http_floor.py`` breaks a
``/cypher`` round trip down by layer, each server in its own process.

Figures are not asserted (the machine is shared and noisy); what is asserted is where
the CPU is booked: a server thread inside the bench would leave no server CPU to read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from impact_graph.store.falkordb_server import FalkorDBServer
from tests.test_bench_smoke import run_bench_script

ROOT = Path(__file__).resolve().parents[1]


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
    for name in ("HTTP", "HTTP httpx"):
        v = variants[name]
        # The server answered from another process: its CPU was read from /proc and is
        # part of the call's CPU, beside the client's.
        assert v["server_cpu_ms"] > 0, (name, v)
        assert v["cpu_ms"] > v["server_cpu_ms"], (name, v)
    assert variants["in-app"]["server_cpu_ms"] is None


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
