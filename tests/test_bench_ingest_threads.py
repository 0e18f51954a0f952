"""bench/ingest.py's thread accounting: CPU booked by kernel thread name, sampled during
the run, so a thread that ends mid-run (the RDF view's bulk loader) is booked to its
part and not, as before, to the model (the process less the threads left at the end).
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest

from impact_graph.threadname import set_kernel_name

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")


def _bench(name: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / f"bench/{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_thread_that_ends_mid_run_is_booked_to_its_part_by_name() -> None:
    ingest = _bench("ingest")
    sampler = ingest.ThreadSampler(every=0.05)

    def seen_whole(cpu_s: float) -> None:
        """Wait (asleep, up to 10 s) until a sample holds this thread's CPU so far: on a
        loaded machine the sampler may wait for a core longer than a thread's work takes.
        What is tested is that an ended thread's CPU stays booked to its part."""
        tid, deadline = threading.get_native_id(), time.monotonic() + 10
        while time.monotonic() < deadline:
            seen = sampler._last.get(tid)
            if seen is not None and seen[1] >= cpu_s - 0.02:  # /proc counts 10 ms ticks
                return
            time.sleep(0.01)

    def loader() -> None:  # as the RDF view's bulk loader: named, started, ended
        set_kernel_name("ig-rdf-load")
        burn(0.4)
        seen_whole(time.thread_time())

    def embed() -> None:
        set_kernel_name("ig-embed")
        burn(0.2)
        seen_whole(time.thread_time())

    for target in (loader, embed):
        t = threading.Thread(target=target)
        t.start()
        t.join()
    time.sleep(0.2)  # both gone from /proc before the sampler stops
    parts = sampler.stop()
    # Booked while they lived, to their own parts and nowhere else.
    assert 0.35 <= parts["rdf_view"] <= 0.5
    assert 0.15 <= parts["model"] <= 0.3
    assert parts["write"] == 0.0
    assert parts["threads"] >= 2


def test_the_report_splits_the_cpu_by_the_sampled_parts() -> None:
    report = _bench("report")
    new = {
        "cpu_model_s": 13.8,
        "cpu_main_s": 1.1,
        "cpu_write_s": 0.9,
        "cpu_rdf_view_s": 0.8,
        "cpu_server_s": 0.7,
    }
    assert report._cpu_split(new) == (
        "model 13.8, read+NLP 1.1, writes 0.9, RDF view 0.8, server 0.7"
    )
    # Results saved before the sampler keep their old reading.
    old = {"cpu_model_s": 12.9, "cpu_thread_main_s": 1.1, "cpu_rdf_background_s": 0.02}
    assert report._cpu_split(old) == "model 12.9, read+NLP 1.1, RDF view background 0.0"
