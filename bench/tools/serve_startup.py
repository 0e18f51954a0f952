"""Start-up cost of ``impact-graph serve`` and ``impact-graph ingest --dry-run``, paired.

Why this exists: start-up loads the embedding model, and what that import pulls in
(sentence-transformers, transformers, torch._dynamo, Triton) is seconds of CPU on every
restart and every CLI ingest; Triton also printed ~30 lines of nanobind "leaked"
messages on every Ctrl-C of ``serve``. This script compares source trees (``NAME=DIR``,
each a copy of the repository with its ``src``; run with that ``src`` first on
``PYTHONPATH``, the same venv), interleaved round by round in alternating order, since
the machine is shared:

* ``serve``: from the process start until ``GET /health`` says ``"search": "ready"``
  (the warm-up loaded the model and ran one search): wall seconds and the serve
  process's CPU seconds (all its threads, ``/proc/<pid>/stat``; the FalkorDB server is
  a process of its own and not counted). Then SIGINT, and the stderr lines that say
  "leaked" are counted.
* ``dry-run``: ``impact-graph ingest --dry-run`` of one file into a fresh data
  directory (so the model loads): wall and CPU seconds (the child's rusage).

Each tree's serve uses a data directory of its own that holds ``--doc`` ingested once,
so a restart's embedding cache is warm as in real use. Prints medians per tree.

Usage::

    .venv/bin/python bench/tools/serve_startup.py --rounds 3 old=/tmp/old new=/tmp/new

Measured 2026-11-28 (08:10-08:38 UTC, 5 interleaved rounds, load 4-18; ``old`` = 6df3e5b's
warm-ups and loader, ``new`` = one warm-up and the model loaded without Triton),
medians: serve until search ready 13.29 -> 12.69 CPU s, 43.1 -> 26.8 s wall (wall
ranged 15-105 s: noise); ingest --dry-run of welzijn-op-recept.md 15.70 -> 14.77 CPU s,
41.5 -> 31.7 s wall; "leaked" lines at SIGINT 27 in every old run, 0 in every new one.
The CPU gain is within the spread of the runs; the clean Ctrl-C is the certain part.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "ingest/demo/research/welzijn-op-recept.md"
CLK = os.sysconf("SC_CLK_TCK")


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree / "src"), "IMPACT_GRAPH_API_KEYS": ""}


def _cli(tree: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "impact_graph.cli", *args],
        env=_env(tree),
        capture_output=True,
        text=True,
        check=False,
        **kw,  # type: ignore[arg-type]
    )


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_once(tree: Path, data: Path, timeout_s: float = 300.0) -> tuple[float, float, int]:
    """(wall s, CPU s) until search is ready, and the count of "leaked" lines at SIGINT."""
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "impact_graph.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            "--log-level",
            "warning",
        ],
        env=_env(tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while True:
            if proc.poll() is not None or time.perf_counter() - t0 > timeout_s:
                raise RuntimeError(f"serve of {tree} did not get ready: {proc.stderr}")
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                if r.status_code == 200 and r.json().get("search") == "ready":
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        wall, cpu = time.perf_counter() - t0, _proc_cpu(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return wall, cpu, sum(1 for line in err.splitlines() if "leaked" in line)


def dry_run_once(tree: Path, doc: Path) -> tuple[float, float]:
    """(wall s, CPU s) of ``ingest --dry-run`` of ``doc`` into a fresh data directory."""
    data = Path(tempfile.mkdtemp(prefix="ig-dry-"))
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = _cli(tree, "ingest", str(doc), "--dry-run", "--data-dir", str(data))
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"dry run of {tree} failed: {done.stderr[-2000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu
    finally:
        _cli(tree, "db", "stop", "--data-dir", str(data))
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trees", nargs="+", help="NAME=DIR of a repository copy")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--doc", type=Path, default=DOC)
    args = ap.parse_args()
    trees = {n: Path(d) for n, d in (t.split("=", 1) for t in args.trees)}
    base = Path(tempfile.mkdtemp(prefix="ig-serve-startup-"))
    datas = {n: base / n for n in trees}
    rows: dict[str, dict[str, list[float]]] = {n: {} for n in trees}
    try:
        for n, tree in trees.items():
            done = _cli(tree, "ingest", str(args.doc), "--data-dir", str(datas[n]))
            if done.returncode != 0:
                raise SystemExit(f"ingest for {n} failed: {done.stderr[-2000:]}")
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(trees)[::-1]
            for n in order:
                wall, cpu, leaked = serve_once(trees[n], datas[n])
                dwall, dcpu = dry_run_once(trees[n], args.doc)
                for k, v in (
                    ("serve wall", wall),
                    ("serve cpu", cpu),
                    ("leaked lines", leaked),
                    ("dry-run wall", dwall),
                    ("dry-run cpu", dcpu),
                ):
                    rows[n].setdefault(k, []).append(v)
                print(
                    f"round {r} {n}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in rows[n].items())
                )
                print(f"  load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        for n, tree in trees.items():
            _cli(tree, "db", "stop", "--data-dir", str(datas[n]))
        shutil.rmtree(base, ignore_errors=True)
    for n, cols in rows.items():
        print(n, "  ".join(f"{k} {statistics.median(v):.2f}" for k, v in cols.items()))


if __name__ == "__main__":
    main()
