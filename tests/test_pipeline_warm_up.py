"""The ingest's own CPU outside reading, extracting and chunking: what `Pipeline.warm_up`
takes out of a run (the readers' imports, full collections over the start-up heap) and
what the progress bar costs while the model encodes (its refresh rate)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from impact_graph.config import Settings
from impact_graph.ingest.pipeline import Pipeline

WARM_UP = """
import gc, json, sys
from pathlib import Path
from impact_graph.config import Settings
from impact_graph.ingest.pipeline import Pipeline
pipe = Pipeline(Settings(data_dir=Path(sys.argv[1]), rdf="off"))
before = {m: m in sys.modules for m in ("impact_graph.ingest.readers", "pypdf", "docx")}
pipe.warm_up(languages=("nl",))
print(json.dumps({
    "before": before,
    "after": {m: m in sys.modules for m in before},
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
}))
"""


def test_warm_up_loads_the_readers_and_freezes_the_start_up_heap(tmp_path: Path) -> None:
    """In a fresh process, so earlier tests' imports and heap do not count."""
    res = subprocess.run(
        [sys.executable, "-c", WARM_UP, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert not any(got["before"].values())  # nothing loaded them before warm_up
    assert all(got["after"].values())  # the run's first file does not pay for them
    # torch, spaCy and the vocabulary: hundreds of thousands of objects that full
    # collections no longer walk; almost nothing is left for the collector.
    assert got["frozen"] > 200_000 and got["tracked"] < got["frozen"] / 20


ONTOLOGY_GRAPH = """
import json, sys
from pathlib import Path
from impact_graph.config import Settings
from impact_graph.ingest.pipeline import Pipeline
from impact_graph.ontology import load_graph
pipe = Pipeline(Settings(data_dir=Path(sys.argv[1]), rdf=sys.argv[2]))
before = load_graph.cache_info().currsize
pipe.warm_up(languages=("nl",))
print(json.dumps({"before": before, "after": load_graph.cache_info().currsize}))
"""


def test_warm_up_parses_the_ontology_graph_only_for_an_rdf_view(tmp_path: Path) -> None:
    """The RDF view's set-up, before a run's first write, reads the ontology and the
    vocabularies as one rdflib graph (~0.4 CPU s of Turtle): warm_up takes it out of
    the run when there is a view, and does not pay it when there is none."""
    got = {}
    for rdf in ("oxigraph", "off"):
        res = subprocess.run(
            [sys.executable, "-c", ONTOLOGY_GRAPH, str(tmp_path / rdf), rdf],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        got[rdf] = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["oxigraph"] == {"before": 0, "after": 1}
    assert got["off"] == {"before": 0, "after": 0}


def test_progress_bar_shows_the_count_and_redraws_at_most_twice_a_second(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    pipe = Pipeline(Settings(data_dir=tmp_path, rdf="off"), console=console)
    files = [Path(f"doc-{i}.md") for i in range(3)]
    t = time.perf_counter()
    with pipe._progress(True, len(files)) as advance:
        for f in files:
            advance(f)
        time.sleep(2.0)  # the model encodes; the bar only refreshes
    wall = time.perf_counter() - t
    text = out.getvalue()
    assert "3/3" in text and "done" in text  # the final state is drawn
    # Every redraw writes the bar's label; rich's default (10 Hz) drew ~20 here.
    redraws = text.count("ingest")
    assert 1 <= redraws <= 2 * wall + 3, redraws
