"""Smoke test of ``bench/store.py``: the benchmark runs end to end on a real FalkorDB.

Figures are not asserted (this machine is shared and noisy); what is asserted is that the
script exits 0, prints its tables and writes a JSON report with the figures the hardening
issue builds ``bench/REPORT.md`` from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_store_benchmark_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "store.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "store.py"),
            "--quick",
            "--backends",
            "falkordb",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for heading in ("Graph stores at 1,000 nodes", "Settings of this run"):
        assert heading in proc.stdout
    for row in ("write, nodes only", "vector recall@10", "fulltext k=10", "2-hop neighbourhood"):
        assert row in proc.stdout

    report = json.loads(out.read_text())
    fk = report["sizes"]["1000"]["falkordb"]
    assert fk["write"]["nodes"] == 1000
    assert fk["stored"]["nodes"] == 1000
    assert 0.0 <= fk["recall_at_10"] <= 1.0
    assert fk["vector"]["n"] == 30 and fk["vector"]["p95_ms"] > 0
    assert fk["memory"]["used_memory"] > 0


@pytest.mark.slow
def test_store_benchmark_refuses_bad_sizes() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "store.py"), "--sizes", "1500"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "--sizes" in proc.stdout and "multiple of 1000" in proc.stdout
