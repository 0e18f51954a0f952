"""bench/tools/store_paired.py: two versions of the FalkorDB store written paired on the
same batches; it says whether they left the same graph, and it can tell when they did
not. Figures are not asserted (the machine is shared); runs a real embedded server."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from tests.factories import doc_batch
from tests.test_bench_smoke import run_bench_script

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "src" / "impact_graph" / "store" / "falkordb_store.py"
CREATE = "ON CREATE SET n += r.props, n.sources = [$doc]"


def _run(batches: Path, old: Path, out: Path) -> str:
    args = [str(batches), "--old", str(old), "--rounds", "1", "--again", "--json", str(out)]
    return run_bench_script("tools/store_paired", args, timeout=600)


@pytest.fixture
def batches(tmp_path: Path) -> Path:
    entities = [("Intervention", "Welzijn op Recept"), ("Challenge", "eenzaamheid")]
    edges = [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")]
    docs = [doc_batch(f"paired-{i}.md", entities, edges, text=f"tekst {i}") for i in range(4)]
    path = tmp_path / "batches.pkl"
    path.write_bytes(pickle.dumps({"test": docs}))
    return path


def test_same_store_leaves_the_same_graph(batches: Path, tmp_path: Path) -> None:
    out = tmp_path / "paired.json"
    stdout = _run(batches, STORE, out)
    assert "graphs IDENTICAL" in stdout
    figures = json.loads(out.read_text())
    assert figures["identical"] is True and figures["documents"] == 4
    assert figures["old"]["nodes"] == figures["new"]["nodes"] > 0
    assert figures["new"]["client_ms"] > 0


def test_a_store_that_writes_otherwise_is_told_apart(batches: Path, tmp_path: Path) -> None:
    text = STORE.read_text()
    assert CREATE in text  # the line the other version changes
    other = tmp_path / "other_store.py"
    other.write_text(text.replace(CREATE, "ON CREATE SET n += r.props, n.sources = [$doc, 'x']"))
    out = tmp_path / "paired.json"
    assert "graphs DIFFERENT" in _run(batches, other, out)
    assert json.loads(out.read_text())["identical"] is False


def test_store_bench_pass_is_written_by_both_and_counted(tmp_path: Path) -> None:
    """``--store-bench``: bench/store.py's nodes-only documents instead of pickled ones,
    with the nodes-per-CPU-second figure of each version."""
    out = tmp_path / "paired.json"
    args = ["--store-bench", "1000", "--old", str(STORE), "--rounds", "1", "--json", str(out)]
    stdout = run_bench_script("tools/store_paired", args, timeout=600)
    assert "graphs IDENTICAL" in stdout and "nodes per CPU s" in stdout
    figures = json.loads(out.read_text())
    assert figures["documents"] == 1
    # One document of 1,000 nodes (bench/store.py's NODES_PER_DOC), no edges in this pass.
    assert figures["new"]["nodes"] == figures["old"]["nodes"] == 1000
    assert figures["new"]["edges"] == 0
    assert figures["new"]["nodes_per_cpu_s"] > 0


def test_store_bench_and_batches_exclude_each_other(batches: Path) -> None:
    with pytest.raises(AssertionError, match="not both or neither"):
        run_bench_script(
            "tools/store_paired", [str(batches), "--store-bench", "1000", "--old", str(STORE)]
        )
