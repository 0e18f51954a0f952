"""bench/search_speed.py's helpers: the Server-Timing parser and the CPU reading.

Why: the benchmark's stage table and its CPU-per-question figures (what still means
something on a busy machine) come from these; a parser that silently dropped stages or
a CPU reading stuck at zero would make the report lie.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _bench() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("search_speed", ROOT / "bench/search_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_server_timing_header_is_read_back_in_order() -> None:
    bench = _bench()
    header = "parse;dur=0.31, arm_concept;dur=12.5,embed;dur=8, desc;desc=x, bad;dur=abc"
    assert bench.parse_server_timing(header) == [
        ("parse", 0.31),
        ("arm_concept", 12.5),
        ("embed", 8.0),
    ]


def test_cpu_reading_counts_this_process_and_grows_with_work() -> None:
    bench = _bench()
    assert bench.cpu_ns(None) == 0
    before = bench.cpu_ns(os.getpid())
    t0 = time.thread_time_ns()
    while time.thread_time_ns() - t0 < 30_000_000:  # 30 ms of CPU in this thread
        pass
    grown = bench.cpu_ns(os.getpid()) - before
    assert grown >= 25_000_000, grown  # schedstat counts every thread, this one included
    assert bench.cpu_ns(2**22 + 12345) == 0  # no such process: 0, not an error
