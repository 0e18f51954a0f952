"""The embedded RDF view is shared between processes while a writer keeps it open.

An ingest keeps Oxigraph's read-write store open across documents (reopening it per
document cost most of the write time). These tests use real Oxigraph directories and
real second processes (``python -c``), never fakes:

* the held writer is really held (a second process cannot open the store read-write),
  and is let go after the idle time and at ``close()`` -- then the second process opens
  the store and finds every document;
* while another process writes many documents, researcher queries (the killable worker)
  and trusted reads from this process succeed, never see half a document, and wait only
  for the document being written;
* a query from the process that holds the writer releases it first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import OxigraphView
from tests.factories import doc_batch

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
N_DOCS = 60

COUNT_BY_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def bulk_batches(n: int = N_DOCS):  # type: ignore[no-untyped-def]
    """``n`` documents of 40 entities each (~400 quads), the same in every process."""
    labels = ["Intervention", "Challenge", "Actor", "TargetGroup"]
    return [
        doc_batch(
            f"bulk-{d:03d}.md",
            [(labels[i % 4], f"{labels[i % 4]} {d} {i}") for i in range(40)],
        )
        for d in range(n)
    ]


def expected_counts(mapping: RdfMapping) -> dict[str, int]:
    """Document graph IRI -> the number of quads the whole document writes to it."""
    return {
        mapping.graph_iri(b.doc_id).value: len(mapping.batch_quads(b, written_at="x"))
        for b in bulk_batches()
    }


def other_process(code: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def open_read_write_elsewhere(path: Path, graph: str) -> subprocess.CompletedProcess[str]:
    """Another process opens the store read-write, as Oxigraph allows one process at a
    time, and counts the quads of ``graph``."""
    return other_process(
        "import pyoxigraph as ox, sys\n"
        f"s = ox.Store({str(path)!r})\n"
        f"print(len(list(s.quads_for_pattern(None, None, None, ox.NamedNode({graph!r})))))\n"
    )


@pytest.fixture(scope="module")
def mapping() -> RdfMapping:
    return RdfMapping(load_schema())


def test_writer_is_held_then_released_when_idle_and_at_close(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    # 3 s idle: the second process below must start (over 1 s on a loaded machine) while
    # the writer is still held.
    view = OxigraphView(tmp_path / "idle", mapping, idle_release_s=3.0)
    batches = bulk_batches(3)
    opens = view.writer_opens  # creating the database opened it once
    for b in batches:
        view.write_batch(b)
    assert view.holds_writer
    assert view.writer_opens == opens + 1  # three documents, one open
    graph = mapping.graph_iri(batches[0].doc_id).value
    expected = expected_counts(mapping)[graph]

    busy = open_read_write_elsewhere(view.path, graph)
    assert busy.returncode != 0 and "lock" in busy.stderr.lower()

    deadline = time.monotonic() + 20
    while view.holds_writer and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not view.holds_writer
    free = open_read_write_elsewhere(view.path, graph)
    assert free.returncode == 0, free.stderr
    assert int(free.stdout) == expected

    # A long idle time: close() lets go at once.
    view = OxigraphView(tmp_path / "idle", mapping, idle_release_s=600)
    view.write_batch(bulk_batches(4)[3])
    assert view.holds_writer
    view.close()
    assert not view.holds_writer
    free = open_read_write_elsewhere(view.path, graph)
    assert free.returncode == 0, free.stderr
    assert int(free.stdout) == expected


def test_another_process_reads_whole_documents_during_a_bulk_write(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    directory = tmp_path / "bulk"
    view = OxigraphView(directory, mapping)
    expected = expected_counts(mapping)
    # The writer: another process, like `impact-graph ingest` next to the API server,
    # with a short pause per document as embedding would make.
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, time\n"
            "from impact_graph.ontology import load_schema\n"
            "from impact_graph.rdf.mapping import RdfMapping\n"
            "from impact_graph.rdf.view import OxigraphView\n"
            "from tests.test_rdf_sharing import bulk_batches\n"
            f"view = OxigraphView({str(directory)!r}, RdfMapping(load_schema()))\n"
            "print('ready', flush=True)\n"
            "t = time.perf_counter()\n"
            "for b in bulk_batches():\n"
            "    view.write_batch(b)\n"
            "    time.sleep(0.02)\n"
            "elapsed = time.perf_counter() - t\n"
            "view.close()\n"
            "print(json.dumps({'opens': view.writer_opens, 's': elapsed}), flush=True)\n",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=ROOT,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        seen: list[int] = []
        waits: list[float] = []
        during = 0
        while True:
            running = writer.poll() is None
            t = time.perf_counter()
            res = view.run_query(
                COUNT_BY_GRAPH, form="select", prefixes={}, timeout_s=30, row_cap=10_000
            )
            waits.append(time.perf_counter() - t)
            counts = {
                r["g"]["value"]: int(r["n"]["value"])
                for r in res.bindings
                if r["g"]["value"] in expected
            }
            # Whole documents or none: every graph a query sees is complete.
            assert all(n == expected[g] for g, n in counts.items()), counts
            trusted = view.select(COUNT_BY_GRAPH)
            assert all(int(r["n"]) == expected[r["g"]] for r in trusted if r["g"] in expected)
            seen.append(len(counts))
            during += running and writer.poll() is None
            if not running:
                break
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
    finally:
        if writer.poll() is None:
            writer.kill()
    report = json.loads(out.strip().splitlines()[-1])
    assert during >= 3, f"only {during} queries overlapped the bulk write"
    assert seen == sorted(seen)  # documents only ever appear
    assert seen[-1] == N_DOCS
    # The writer let go for the readers and opened again, yet far less than per document.
    assert 1 < report["opens"] < N_DOCS, report
    assert max(waits) < 15, waits


def test_a_query_from_the_holding_process_releases_the_writer_first(
    tmp_path: Path, mapping: RdfMapping
) -> None:
    view = OxigraphView(tmp_path / "same", mapping, idle_release_s=600)
    b = bulk_batches(1)[0]
    view.write_batch(b)
    assert view.holds_writer
    graph = mapping.graph_iri(b.doc_id).value
    # A trusted read uses the held writer (no reopen).
    rows = view.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert view.holds_writer
    res = view.run_query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
        form="select",
        prefixes={},
        timeout_s=30,
        row_cap=10,
    )
    assert not view.holds_writer
    assert res.bindings[0]["n"]["value"] == rows[0]["n"]
    # A second view of the same directory in this process (as the API keeps one for
    # /sparql) reads while the first one writes: the first lets go for it.
    view.write_batch(b)
    other = OxigraphView(tmp_path / "same", mapping)
    assert other.select(COUNT_BY_GRAPH)
    assert not view.holds_writer
    view.close()
    other.close()
