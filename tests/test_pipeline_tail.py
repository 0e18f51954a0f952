"""The ingest's end (issue 3): the RDF view's journal is loaded while the model encodes
its last parts, not all after its last call, and everything is in the view when the run
returns; the threads that do the work carry kernel names the benchmark books by.

`Pipeline._settle_view` has the write thread load the view's journal once every file
is read and it waits for the model; `RdfView.held_for_ingest` loads the rest at the
run's end. `impact_graph.threadname` names the stages' threads and the bulk loader's.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from impact_graph.config import Settings
from impact_graph.ingest.embed import Embedder
from impact_graph.ingest.pipeline import Pipeline, _Stage
from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import BULK_LOAD_THREAD, OxigraphView
from impact_graph.store.port import GraphStore
from impact_graph.threadname import set_kernel_name
from tests.test_pipeline import embedder, run_settings, write_corpus  # noqa: F401 - fixture
from tests.test_pipeline_embed import pending
from tests.test_rdf_sharing import bulk_batches

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")


def kernel_name() -> str:
    with open("/proc/thread-self/comm", encoding="ascii") as f:
        return f.read().strip()


class _View:
    """Records each `load_journal` call: the thread's Python name and what was queued."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def load_journal(self) -> None:
        self.calls.append(threading.current_thread().name)


def settle_pipe(tmp_path: Path, view: _View) -> Pipeline:
    pipe = Pipeline(
        Settings(data_dir=tmp_path, rdf="off"),
        store=SimpleNamespace(view=view),  # type: ignore[arg-type]
        embedder=None,
    )
    pipe._dry_run = False
    pipe._write = lambda p, cv, ev: None  # type: ignore[method-assign]
    return pipe


def test_the_write_thread_loads_the_journal_only_once_reading_is_done_and_it_waits(
    tmp_path: Path,
) -> None:
    import numpy as np

    view = _View()
    pipe = settle_pipe(tmp_path, view)
    gate = threading.Event()
    stage = _Stage("write", lambda item: (gate.wait(10), pipe._write_group(item)), depth=4)
    pipe._write_stage = stage
    group = ([pending("d0", ["stuk"], [])], np.zeros((1, 4), dtype=np.float32))
    try:
        pipe._reading_done = False
        stage.put(group)
        gate.set()
        assert wait_until(lambda: stage.idle)
        assert view.calls == []  # files still being read: the journal waits for its group

        pipe._reading_done = True
        gate.clear()
        stage.put(group)
        stage.put(group)  # queued behind the first: the first's end does not load
        gate.set()
        assert wait_until(lambda: stage.idle)
        # Once, after the second group (the first had one queued behind it), and in the
        # write thread, while the model would encode the next part.
        assert view.calls == ["ingest-write"]

        pipe._dry_run = True
        stage.put(group)
        assert wait_until(lambda: stage.idle)
        assert view.calls == ["ingest-write"]  # a dry run journals nothing
    finally:
        stage.close()
    stage.check()


def wait_until(cond: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(cond())


@pytest.fixture(scope="module")
def mapping() -> RdfMapping:
    return RdfMapping(load_schema())


def test_load_journal_loads_what_a_held_ingest_journaled_and_nothing_outside_one(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    batches = bulk_batches(5)
    view = OxigraphView(tmp_path / "v", mapping, idle_release_s=600)
    try:
        view.load_journal()  # nothing held, nothing journaled: no load, no error
        assert view.bulk_loads == 0
        with view.held_for_ingest():
            for b in batches[:3]:
                view.write_batch(b)
            assert view.journal_path.exists() and view.bulk_loads == 0
            view.load_journal()
            assert view.bulk_loads == 1 and not view.journal_path.exists()
            view.load_journal()  # nothing new: no second load
            assert view.bulk_loads == 1
            for b in batches[3:]:
                view.write_batch(b)
            assert view.journal_path.exists()
        # The block's end loads the rest: two loads in all, every document in the view.
        assert view.bulk_loads == 2 and not view.journal_path.exists()
        assert view.bulk_load_s > 0
        assert view.document_hashes() == {
            b.doc_id: b.document.props["content_hash"] for b in batches
        }
    finally:
        view.close()


@pytest.mark.parametrize("backend_settings", ["falkordb"], indirect=True)
def test_a_run_returns_with_its_journal_loaded_the_write_thread_having_loaded_it(
    store: GraphStore,
    backend_settings: Settings,
    embedder: Embedder,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    view = getattr(store, "view", None)
    if not isinstance(view, OxigraphView):
        pytest.skip("the store has no embedded RDF view")
    loads = view.bulk_loads
    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)
    report = pipe.run([write_corpus(tmp_path)], progress=False)
    assert (report.new, report.failed) == (3, 0), report.failures
    # Durable and loaded when the run returns: no journal, no journaled document left,
    # and the view lists every document the graph store holds, with its hash.
    assert not view.journal_path.exists()
    assert view.bulk_loads > loads
    ids = {d.doc_id for d in report.documents}
    stored = {k: v for k, v in store.inner.document_hashes().items() if k in ids}  # type: ignore[attr-defined]
    assert len(stored) == 3
    assert {k: v for k, v in view.document_hashes().items() if k in ids} == stored
    # The write thread loaded it, while waiting for the model (its own timed stage), so
    # the run's end found nothing left to load.
    assert report.stage_seconds["view_load"] > 0
    assert "view_load" in pipe.times.tail


@linux
def test_threads_started_by_a_named_thread_carry_its_kernel_name() -> None:
    seen: dict[str, str] = {}

    def child() -> None:
        seen["child"] = kernel_name()

    def parent() -> None:
        assert set_kernel_name("ig-test-parent-that-is-long")
        seen["parent"] = kernel_name()
        t = threading.Thread(target=child)
        t.start()
        t.join()

    t = threading.Thread(target=parent)
    t.start()
    t.join()
    # Cut to the kernel's 15 bytes, and given to the thread it started.
    assert seen == {"parent": "ig-test-parent-", "child": "ig-test-parent-"}
    assert kernel_name() != "ig-test-parent-"  # the calling thread keeps its own


@linux
def test_the_bulk_loaders_threads_carry_the_loaders_name(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    # pyoxigraph's loader threads are unnamed Rust threads: they must inherit
    # BULK_LOAD_THREAD, or the benchmark books them nowhere (or as the model's).
    view = OxigraphView(tmp_path / "v", mapping, idle_release_s=600)
    names: dict[int, str] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for task in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{task}/comm", encoding="ascii") as f:
                        names[int(task)] = f.read().strip()
                except OSError:
                    continue
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with view.held_for_ingest():
            for b in bulk_batches(60):
                view.write_batch(b)
            view.load_journal()
    finally:
        stop.set()
        sampler.join()
        view.close()
    loaders = [tid for tid, name in names.items() if name == BULK_LOAD_THREAD]
    # The loading thread and at least one the bulk loader started from it.
    assert len(loaders) >= 2, names
