"""The store's upkeep at the end of an ingest run, on a real FalkorDB with the real model.

Why: FalkorDB's vector index keeps deleted vectors, and the store rebuilds a label's index
once half of them were deleted. A re-ingest of changed files deletes every changed
document's chunk vectors, so the threshold is crossed in the middle of the run, and a
rebuild there made that document's write and the ones after it wait for the build
(~4 s at 20,000 vectors). The pipeline now defers the store's upkeep for the whole run
and asks for it once, after the last write: the rebuild comes after every write, the bar
says what is being rebuilt, and the summary has a sentence about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from impact_graph.config import Settings
from impact_graph.ingest.pipeline import Pipeline, PipelineConfig
from impact_graph.model import GraphBatch
from impact_graph.schema import Schema
from impact_graph.store import falkordb_store
from impact_graph.store.falkordb_store import FalkorDBStore
from impact_graph.store.port import WriteResult
from tests.factories import schema_store

FILES = 12
TOPICS = ["eenzaamheid", "schoolverzuim", "overgewicht", "werkloosheid"]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from impact_graph.ingest.embed import Embedder

    emb = Embedder(cache_path=tmp_path_factory.mktemp("embcache") / "emb.sqlite")
    yield emb
    emb.close()


@pytest.fixture
def falkordb(falkordb_data_dir: Path, schema: Schema) -> Iterator[FalkorDBStore]:
    """A graph of its own on the session's server, deleted whole after the test."""
    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="upkeep-run")
    with schema_store(FalkorDBStore(settings), schema, drop=FalkorDBStore.delete_graph) as st:
        yield st


def _write_corpus(folder: Path, version: int) -> None:
    folder.mkdir(exist_ok=True)
    for i in range(FILES):
        topic = TOPICS[i % len(TOPICS)]
        (folder / f"plan-{i:02d}.md").write_text(
            f"# Plan {i}\n\nVersie {version}: in wijk {i} van de gemeente Wadstede werkt "
            f"het buurtteam aan {topic} met huisbezoeken en een buurtkamer.\n",
            encoding="utf-8",
        )


def _recorded(store: FalkorDBStore, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The store's writes ("write", doc id) and index rebuilds ("rebuild", label), in order."""
    events: list[tuple[str, str]] = []
    write, rebuild = store.upsert_batch, store.rebuild_vector_index

    def recorded_write(batch: GraphBatch) -> WriteResult:
        result = write(batch)
        events.append(("write", batch.doc_id))
        return result

    def recorded_rebuild(label: str) -> bool:
        events.append(("rebuild", label))
        return rebuild(label)

    monkeypatch.setattr(store, "upsert_batch", recorded_write)
    monkeypatch.setattr(store, "rebuild_vector_index", recorded_rebuild)
    return events


def test_rebuild_comes_after_the_last_write_and_is_announced(
    falkordb: FalkorDBStore,
    embedder: Any,
    schema: Schema,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The share rule stays (half the label's nodes); the minimum drops from 200 so that
    # changing 12 one-chunk documents crosses the threshold half way through the run.
    monkeypatch.setattr(falkordb_store, "VECTOR_REBUILD_MIN", FILES // 2)
    folder = tmp_path / "corpus"
    settings = falkordb.settings.model_copy(update={"data_dir": tmp_path / "data"})
    events = _recorded(falkordb, monkeypatch)
    config = PipelineConfig(flush_texts=1)  # documents written one by one, as they come
    with Pipeline(settings, store=falkordb, embedder=embedder, schema=schema, config=config) as p:
        _write_corpus(folder, 1)
        first = p.run([folder], progress=False)
        assert first.ok and first.new == FILES, first.to_dict()
        assert first.chunks == FILES  # one chunk each: FILES chunk vectors
        assert not [e for e in events if e[0] == "rebuild"]
        assert first.notes == []

        events.clear()
        _write_corpus(folder, 2)  # every file changed: every chunk vector replaced
        again = p.run([folder], progress=False)
        shown = p._bar.shown
    assert again.ok and again.changed == FILES, again.to_dict()

    writes = [i for i, e in enumerate(events) if e[0] == "write"]
    rebuilds = [i for i, e in enumerate(events) if e[0] == "rebuild"]
    assert len(writes) == FILES
    assert ("rebuild", "Chunk") in events
    # The threshold was crossed at the 6th write; the rebuild waited for the 12th.
    assert min(rebuilds) > max(writes), events
    chunk_line = f"rebuilding the vector index of Chunk ({FILES} vectors)..."
    assert chunk_line in shown and shown[-1] == "done"
    assert shown.index(chunk_line) > shown.index("all files read")
    (note,) = [n for n in again.notes if "vector index of Chunk" in n]
    assert note.startswith(f"Rebuilt the vector index of Chunk ({FILES} vectors) in ")
    assert again.stage_seconds["upkeep"] > 0
    # The run waited for the build: nothing deleted is left in the new index.
    (chunk,) = [v for v in falkordb.vector_indexes() if v.label == "Chunk"]
    assert (chunk.live, chunk.deleted, chunk.building) == (FILES, 0, False)
    assert "upkeep" in again.to_dict()["stage_seconds"]


def test_a_dry_run_and_an_unchanged_rerun_do_no_upkeep(
    falkordb: FalkorDBStore,
    embedder: Any,
    schema: Schema,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing due, or a dry run: no rebuild, no note, no extra line on the bar."""
    monkeypatch.setattr(falkordb_store, "VECTOR_REBUILD_MIN", 1)
    folder = tmp_path / "corpus"
    settings = falkordb.settings.model_copy(update={"data_dir": tmp_path / "data"})
    with Pipeline(settings, store=falkordb, embedder=embedder, schema=schema) as p:
        _write_corpus(folder, 1)
        assert p.run([folder], progress=False).new == FILES
        _write_corpus(folder, 2)
        dry = p.run([folder], progress=False, dry_run=True)
        assert dry.notes == [] and "upkeep" not in dry.stage_seconds
        same = p.run([folder], progress=False)  # not written by the dry run: all changed
        assert same.changed == FILES
        assert [n for n in same.notes if n.startswith("Rebuilt the vector index of Chunk")]
        unchanged = p.run([folder], progress=False)
        shown = p._bar.shown
    assert unchanged.unchanged == FILES and unchanged.notes == []
    assert not [s for s in shown if s.startswith("rebuilding")]


def test_an_upload_does_not_wait_for_a_rebuild(
    falkordb: FalkorDBStore,
    embedder: Any,
    schema: Schema,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``defer_upkeep=False`` (the API's upload): the write that makes the rebuild due
    starts it, and the run does not wait for the build at its end (inside a request it
    would wait ~8 s at 5,000 vectors)."""
    monkeypatch.setattr(falkordb_store, "VECTOR_REBUILD_MIN", FILES // 2)
    folder = tmp_path / "corpus"
    settings = falkordb.settings.model_copy(update={"data_dir": tmp_path / "data"})
    events = _recorded(falkordb, monkeypatch)
    config = PipelineConfig(flush_texts=1)
    with Pipeline(settings, store=falkordb, embedder=embedder, schema=schema, config=config) as p:
        _write_corpus(folder, 1)
        assert p.run([folder], progress=False, defer_upkeep=False).new == FILES
        events.clear()
        _write_corpus(folder, 2)
        again = p.run([folder], progress=False, defer_upkeep=False)
    assert again.changed == FILES
    # The rebuild came inside the run's writes, not after the last one ...
    assert ("rebuild", "Chunk") in events and events[-1][0] == "write", events
    # ... and the run's end neither waited nor reported an upkeep.
    assert "upkeep" not in again.stage_seconds
    assert not [n for n in again.notes if "vector index" in n]
