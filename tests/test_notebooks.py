"""The researcher notebooks run, top to bottom, on the embedded store with the demo corpus.

Executed with nbclient in a real Jupyter kernel (ipykernel), so a notebook that no longer
matches the code fails here instead of rotting. They share one temporary data directory
(``IMPACT_GRAPH_DATA_DIR``): the first notebook ingests the demo corpus, the others reuse
it; the embedded FalkorDB they start is stopped afterwards. Outputs are never committed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01-cypher.ipynb", "02-sparql.ipynb", "03-network-analysis.ipynb"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("notebooks")
    old = os.environ.get("IMPACT_GRAPH_DATA_DIR")
    os.environ["IMPACT_GRAPH_DATA_DIR"] = str(data)
    try:
        yield data
    finally:
        if old is None:
            os.environ.pop("IMPACT_GRAPH_DATA_DIR", None)
        else:
            os.environ["IMPACT_GRAPH_DATA_DIR"] = old
        from impact_graph.store.falkordb_server import FalkorDBServer

        FalkorDBServer(data).stop()


def test_all_notebooks_are_tested() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_has_no_committed_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, name


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name: str, data_dir: Path) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError with the failing cell's traceback
    text = "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.get("output_type") == "stream"
    )
    assert "documents in" in text
    if name == "02-sparql.ipynb":
        assert "same answer: True" in text
    if name == "03-network-analysis.ipynb":
        assert "communities, modularity" in text
