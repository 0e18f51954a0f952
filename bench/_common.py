"""Small helpers shared by the benchmarks in ``bench/`` (timing, percentiles, tables, memory).

Why a shared module: every benchmark reports the same kinds of figures (throughput, latency
percentiles, memory) on a noisy 2-core machine, and they should be measured and printed the
same way so that figures from different scripts can be compared and collected into
``bench/REPORT.md``. Keep it small: anything specific to one benchmark stays in its script.

Conventions every benchmark follows:

* ``--quick`` runs a smoke-sized workload (seconds, not minutes); the smoke tests use it.
* ``--json FILE`` saves the figures (see :func:`save_json`) in addition to the tables.
* Latencies are reported in milliseconds as p50/p95 over individual calls, after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

#: Output console; wide when piped (a log, a test's subprocess) so tables do not wrap.
console = Console(width=None if sys.stdout.isatty() else 150)


# --- timing ---------------------------------------------------------------------------


@dataclass(slots=True)
class Timer:
    """Elapsed wall-clock seconds of a ``with timed() as t:`` block (``t.s`` afterwards)."""

    start: float = 0.0
    s: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    """Measure a block with ``time.perf_counter`` (monotonic, highest resolution)."""
    t = Timer(start=time.perf_counter())
    try:
        yield t
    finally:
        t.s = time.perf_counter() - t.start


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


@dataclass(slots=True)
class Latency:
    """Per-call latencies in milliseconds, summarised as p50/p95/mean."""

    samples_ms: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples_ms) if self.samples_ms else float("nan")

    def summary(self) -> dict[str, float]:
        """What goes into the JSON report."""
        return {
            "p50_ms": round(self.p50, 3),
            "p95_ms": round(self.p95, 3),
            "mean_ms": round(self.mean, 3),
            "n": len(self.samples_ms),
        }


def measure_latency(
    call: Callable[[Any], object], inputs: Sequence[Any], *, warmup: int = 5
) -> tuple[Latency, list[object]]:
    """Time ``call(x)`` once per input (after ``warmup`` untimed calls); return results too.

    Calls run one after another, never concurrently: we want the latency a single user
    sees, not throughput under load.
    """
    for x in inputs[:warmup]:
        call(x)
    lat = Latency()
    results: list[object] = []
    for x in inputs:
        t0 = time.perf_counter()
        out = call(x)
        lat.samples_ms.append((time.perf_counter() - t0) * 1000.0)
        results.append(out)
    return lat, results


# --- memory ---------------------------------------------------------------------------


def rss_bytes(pid: int) -> int | None:
    """Resident set size of a process from ``/proc/<pid>/status`` (VmRSS), None if unknown.

    /proc rather than psutil: Linux is where the benchmarks run, and it adds no dependency.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_self_bytes() -> int:
    """Peak resident memory of this (benchmark) process; ru_maxrss is in KiB on Linux."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mib(n: float | None) -> str:
    """Bytes as MiB for tables ("-" when unknown)."""
    return "-" if n is None else f"{n / 2**20:,.0f} MiB"


# --- output ---------------------------------------------------------------------------


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    """A figure for a table cell: thousands separators, fixed digits, "-" when missing."""
    if value is None or (isinstance(value, float) and value != value):  # NaN
        return "-"
    return f"{value:,.{digits}f}{(' ' + unit) if unit else ''}"


def make_table(title: str, columns: Sequence[str]) -> Table:
    """A rich table with the house style (first column left, figures right-aligned)."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=i == 0)
    return table


def verdict(holds: bool | None) -> str:
    """Cell text for "does the target hold": yes / NO / n/a."""
    if holds is None:
        return "n/a"
    return "[green]yes[/green]" if holds else "[bold red]NO[/bold red]"


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The flags every benchmark understands: ``--quick`` and ``--json FILE``."""
    parser.add_argument(
        "--quick", action="store_true", help="smoke-sized run (seconds); used by the tests"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also save the figures here")


def machine_info() -> dict[str, Any]:
    """Where the figures were measured (they only mean something next to this)."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def save_json(path: Path, payload: dict[str, Any]) -> None:
    """Write the figures as pretty JSON (NaN becomes null so any JSON reader accepts it)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and x != x:
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(payload), indent=2, ensure_ascii=False) + "\n")


# --- server processes -----------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(
    cmd: Sequence[str],
    ready: Callable[[], bool],
    *,
    what: str,
    wait_s: float = 600.0,
    poll_s: float = 0.1,
    stop_s: float = 30.0,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` as a server process of its own; yield it once ``ready()`` is true
    (called every ``poll_s`` seconds), and stop it afterwards (SIGTERM, then SIGKILL
    after ``stop_s``). Why one helper: the query bench and the HTTP floor tool each had
    this block, and a server left running holds the embedded FalkorDB's data directory.

    Raises ``RuntimeError`` naming ``what`` when the process exits before it is ready or
    is not ready within ``wait_s``.
    """
    proc = subprocess.Popen(list(cmd), env=env)
    try:
        deadline = time.monotonic() + wait_s
        while not ready():
            if proc.poll() is not None:
                raise RuntimeError(f"{what} stopped at start-up (exit {proc.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} was not ready within {wait_s:.0f} s")
            time.sleep(poll_s)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(stop_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def accepts(port: int) -> Callable[[], bool]:
    """A `server_process` ``ready`` check: something accepts TCP connections on ``port``."""

    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return True
        except OSError:
            return False

    return check


def tree_pids(pid: int, skip: Sequence[str] = ("redis-server",)) -> list[int]:
    """``pid`` and its descendants, leaving out those whose command name is in ``skip``
    (a database server the process started: its CPU is the database's, not the
    server's). Why the descendants: a server may answer from a worker process it forked
    (granian), not from the process started. Read once after start-up: scanning /proc
    costs milliseconds, too much to repeat around every call."""
    return [pid, *descendants(pid, skip)]


def cpu_s(pids: Sequence[int]) -> float:
    """CPU seconds all threads of the processes ``pids`` used so far, to the nanosecond
    (``/proc/PID/task/*/schedstat``; 0 for a gone process)."""
    return sum(task_cpu_s(p) for p in pids)


def task_cpu_s(pid: int) -> float:
    """CPU seconds all threads of ``pid`` used so far (0 for a gone process)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split(None, 1)[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def descendants(pid: int, skip: Sequence[str] = ()) -> list[int]:
    """The processes below ``pid`` (children, their children, ...), leaving out those
    whose command name (``/proc/PID/comm``) is in ``skip`` and their own descendants."""
    children: dict[int, list[int]] = {}
    comm: dict[int, str] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
        except OSError:
            continue
        comm[int(name)] = head.split("(", 1)[1]
        children.setdefault(int(rest.split()[1]), []).append(int(name))
    out: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        if comm.get(p) in skip:
            continue
        out.append(p)
        todo += children.get(p, [])
    return out
