"""What the ingest progress bar says while nothing is being read.

Reading is only the main thread's part: the embedding model loads on the first document
(~10 s on 2 cores) and, after the last file is read, the model and the store still
embed and write what is queued (~30 s on the demo corpus). A bar of files read alone sat
on "0/52 <first file>" and "51/52 <last file>" through those; these tests run the real
pipeline (real model, embedded FalkorDB) and check what the bar shows in both phases.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from impact_graph.config import Settings
from impact_graph.ingest.pipeline import Pipeline, PipelineConfig
from impact_graph.ingest.report import DocumentOutcome

REPO = Path(__file__).resolve().parents[1]
CORPUS = [
    REPO / "ingest/demo/research/welzijn-op-recept.md",
    REPO / "ingest/demo/research/zin-in-vriendschap.html",
    REPO / "ingest/demo/research/kanjertraining.md",
]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from impact_graph.ingest.embed import Embedder

    emb = Embedder(cache_path=tmp_path_factory.mktemp("embcache") / "emb.sqlite")
    yield emb
    emb.close()


@pytest.fixture
def settings(falkordb_data_dir: Path) -> Iterator[Settings]:
    from impact_graph.store import open_store

    s = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="progress")
    yield s
    store = open_store(s)
    store.clear()
    store.close()


def test_bar_says_the_model_loads_then_that_the_queued_documents_are_written(
    tmp_path: Path, settings: Settings, embedder: Any, schema: Any
) -> None:
    """After the last file is read the bar shows "embedding and writing N documents" as a
    second task that counts the writes, with every file counted as read; at the start it
    says the embedding model loads instead of showing the first file's name."""
    from impact_graph.store import open_store

    folder = tmp_path / "corpus"
    folder.mkdir()
    for f in CORPUS:
        shutil.copy(f, folder / f.name)
    files = sorted(p.name for p in folder.iterdir())
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    store = open_store(settings)
    store.clear()
    # Keep every document queued until the last file is read (as a busy model does on a
    # large corpus), so all three are still to be written when reading ends.
    config = PipelineConfig(flush_texts=10**9)
    seen: list[tuple[int, list[tuple[str, str, float, float | None]]]] = []
    try:
        with Pipeline(
            settings, store=store, embedder=embedder, schema=schema, config=config, console=console
        ) as pipe:
            pipe._idle_flush = 10**9

            def on_document(outcome: DocumentOutcome) -> None:
                prog = pipe._bar.prog
                assert prog is not None
                tasks = [
                    (t.fields["stage"], t.description, t.completed, t.total) for t in prog.tasks
                ]
                seen.append((len(pipe._bar.shown), tasks))

            report = pipe.run([folder], progress=True, on_document=on_document)
            shown = pipe._bar.shown
    finally:
        store.close()
    assert report.ok and report.new == 3, report.to_dict()

    # The start: the first file, the model's load, the first file again.
    assert shown[:3] == [files[0], "loading the embedding model...", files[0]]
    # The end: every file read, then the writes, then done.
    last = shown.index(files[-1])
    assert shown[last + 1 :] == ["all files read", "embedding and writing 3 documents", "done"]
    # While each document is written the bar shows every file read and the write task
    # counting up (the outcome is reported before the write task advances).
    assert len(seen) == 3
    for i, (n_shown, tasks) in enumerate(seen):
        assert n_shown == last + 3  # written after "embedding and writing" was shown
        assert tasks == [
            ("ingest", "all files read", 3, 3),
            ("write", "embedding and writing 3 documents", i, 3),
        ]
    text = out.getvalue()
    assert "embedding and writing 3 documents" in text and "3/3" in text and "done" in text


def test_bar_without_display_has_no_write_task_when_nothing_is_queued(
    tmp_path: Path, settings: Settings, embedder: Any, schema: Any
) -> None:
    """A re-run of unchanged files queues nothing: reading ends the run, and the bar
    does not announce documents being written."""
    from impact_graph.store import open_store

    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(CORPUS[0], folder / CORPUS[0].name)
    store = open_store(settings)
    store.clear()
    try:
        with Pipeline(settings, store=store, embedder=embedder, schema=schema) as pipe:
            first = pipe.run([folder], progress=False)
            assert first.new == 1
            again = pipe.run([folder], progress=False)
            shown = pipe._bar.shown
    finally:
        store.close()
    assert again.unchanged == 1 and again.new == 0
    assert shown == [CORPUS[0].name, "all files read", "done"]
