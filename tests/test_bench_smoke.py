"""Smoke tests of the benchmarks in ``bench/``: each runs end to end at a tiny size.

Figures are not asserted (this machine is shared and noisy); what is asserted is that a
script exits 0, prints its tables and writes a JSON report with the figures the hardening
issue builds ``bench/REPORT.md`` from, and that ``bench/report.py`` still reads them.
``bench/network.py`` has its own in tests/test_network.py and ``bench/extraction.py`` is
scored in-process by tests/test_extraction_quality.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

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
    # CPU per write pass: the client's and the embedded server's, read from /proc.
    for name in ("nodes_only", "batches", "vectors"):
        cpu = fk["write_cpu"][name]
        assert cpu["client_cpu_s"] > 0 and cpu["server_cpu_s"] is not None, (name, cpu)
        assert cpu["nodes_per_cpu_s"] > 0
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


# --- the other benchmarks: each runs at its smoke size and bench/report.py reads it ------


def _report_module() -> ModuleType:
    """``bench/report.py`` imported from its file (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look the module up while building
    spec.loader.exec_module(mod)
    return mod


def run_bench_script(script: str, args: list[str], timeout: int = 900) -> str:
    """Run ``bench/<script>.py`` (``script`` may be ``tools/x``) as a user would, from the
    checkout with the package on the path and no model hub; its output, or a failure
    showing the end of both streams."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{script}.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _run_bench(name: str, args: list[str], out: Path, timeout: int = 900) -> str:
    stdout = run_bench_script(name, [*args, "--json", str(out)], timeout)
    assert out.is_file(), f"bench/{name}.py wrote no JSON"
    return stdout


def _area_rows(name: str, out: Path) -> list[Any]:
    """The rows bench/report.py makes of these figures (so the report keeps reading them)."""
    report = _report_module()
    build = dict(report.AREAS)[name]
    area = build(json.loads(out.read_text()))
    assert area.rows, f"bench/report.py found no figures in bench/{name}.py's JSON"
    assert any(r.value not in ("–", "") for r in area.rows)
    return list(area.rows)


@pytest.mark.slow
def test_load_benchmark_tiny_run(tmp_path: Path) -> None:
    """bench/load.py against a real ``impact-graph serve`` on a free loopback port: three
    clients, three seconds a phase; p50/p95 per endpoint printed and saved, no errors."""
    out = tmp_path / "load.json"
    stdout = _run_bench(
        "load", ["--quick", "--clients", "3", "--seconds", "3", "--requests", "400"], out
    )
    assert "Load, quiet" in stdout and "p50" in stdout and "p95" in stdout
    assert "errors: 0 (target 0)" in stdout
    d = json.loads(out.read_text())
    assert d["settings"]["clients"] == 3 and d["settings"]["seconds"] == 3
    assert set(d["endpoints"]) >= {"search", "entity", "sparql"}
    for e in d["endpoints"]:
        per = d["quiet"]["endpoints"][e]
        assert per["n"] > 0 and per["errors"] == 0, (e, per)
        assert 0 < per["p50_ms"] <= per["p95_ms"], (e, per)
    assert d["errors"] == 0, d["quiet"]["error_samples"]
    assert d["quiet"]["seconds"] < 30  # the time bound holds
    rows = _area_rows("load", out)
    assert rows[0].figure.startswith("errors") and rows[0].holds is True


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("ingest", ["--quick"]),
        ("search_quality", ["--quick"]),
        ("search_speed", ["--quick"]),
        ("query", ["--quick"]),
    ],
)
def test_benchmark_quick_run_feeds_the_report(name: str, args: list[str], tmp_path: Path) -> None:
    out = tmp_path / f"{name}.json"
    _run_bench(name, args, out)
    assert json.loads(out.read_text()), f"bench/{name}.py saved no figures"
    _area_rows(name, out)


def test_report_renders_every_area_from_saved_figures(tmp_path: Path) -> None:
    """bench/report.py without --run writes REPORT.md from bench/results/: one section per
    area, every missed target with a reason, nothing silently dropped."""
    report = _report_module()
    output = tmp_path / "REPORT.md"
    assert report.main(["--results", str(ROOT / "bench" / "results"), "--output", str(output)]) == 0
    text = output.read_text()
    assert text.startswith("# Benchmark report")
    assert "**Targets:" in text and "## Missed" in text
    saved = {p.stem for p in (ROOT / "bench" / "results").glob("*.json")} - {"runs"}
    for name, _ in report.AREAS:
        if name in saved:
            assert f"bench/{name}.py" in text, name
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py")} - {"report"}
    scripts = {s for s in scripts if not s.startswith("_")}
    assert scripts <= {name for name, _ in report.AREAS}, "a benchmark has no report area"


@pytest.mark.slow
def test_write_cost_tool_quick_run(tmp_path: Path) -> None:
    """bench/tools/write_cost.py: the pipeline's batches of a few demo and generated
    documents, timed in each set-up (graph store, RDF view, both); every document lands
    in the graph and in the view, and the CPU split is saved."""
    out = tmp_path / "write_cost.json"
    stdout = _run_bench("tools/write_cost", ["--quick"], out)
    assert "Write cost per document: demo" in stdout
    corpora = json.loads(out.read_text())["corpora"]
    assert set(corpora) == {"demo", "10 generated"}
    for name, figures in corpora.items():
        assert figures["docs"] > 0 and figures["quads_per_doc"] > 0, name
        for setup in ("graph", "rdf", "both"):
            s = figures[setup]
            assert s["docs"] == figures["docs"], (name, setup)
            assert s["client_ms"] > 0 and s["wall_ms"] > 0, (name, setup)
            assert s["total_ms"] == pytest.approx(s["client_ms"] + s["server_ms"])
        assert figures["graph"]["documents_stored"] == figures["docs"]
        assert figures["both"]["documents_stored"] == figures["docs"]
        assert figures["rdf"]["documents_in_view"] == figures["docs"]
        assert figures["both"]["documents_in_view"] == figures["docs"]
