"""The file index: an unchanged file is skipped on re-ingest without being parsed, and
nothing that must be read again is skipped -- bytes changed behind an unchanged size and
time, a file that failed (bad rows too), another ``--kind``, a deleted document, another
pseudonym secret, other reader code, a damaged index, a file rewritten while it was read.
On both backends with the real model (the embedder fixture of test_pipeline)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import impact_graph.ingest.readers as readers
from impact_graph.config import Settings
from impact_graph.ingest import file_index
from impact_graph.ingest.embed import Embedder
from impact_graph.ingest.file_index import INDEX_FILE, FileIndex, IndexedDocument, IndexEntry
from impact_graph.ingest.pipeline import Pipeline
from impact_graph.store.port import GraphStore
from tests.test_pipeline import (  # noqa: F401 - embedder is a fixture
    PLAN,
    embedder,
    rows,
    run_settings,
    write_corpus,
)

CSV = """title,intervention,challenge,design,outcome,direction,year
Buurtkamers tegen eenzaamheid,Buurtkamer,eenzaamheid,RCT,eenzaamheid,-,2024
,Buurtkamer,eenzaamheid,RCT,eenzaamheid,-,2024
"""


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the readers parse (the pipeline imports read_file per call)."""
    seen: list[str] = []
    original: Callable[..., Any] = readers.read_file

    def counting(path: Path, **kw: Any) -> Any:
        seen.append(Path(path).name)
        return original(path, **kw)

    monkeypatch.setattr(readers, "read_file", counting)
    return seen


def outcomes(report: Any) -> dict[str, tuple[str, str, str, str]]:
    return {
        Path(d.file).name: (d.doc_id, d.status, d.kind, d.kind_reason) for d in report.documents
    }


def test_unchanged_files_are_skipped_unparsed_and_changed_bytes_are_not(
    store: GraphStore,
    backend_settings: Settings,
    embedder: Embedder,  # noqa: F811 - the fixture
    tmp_path: Path,
    reads: list[str],
) -> None:
    corpus = write_corpus(tmp_path)
    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)
    first = pipe.run([corpus], progress=False)
    assert (first.new, first.failed) == (3, 0), first.failures
    assert (tmp_path / INDEX_FILE).is_file() and len(reads) == 3

    reads.clear()
    again = pipe.run([corpus], progress=False)
    assert (again.new, again.changed, again.unchanged, again.failed) == (0, 0, 3, 0)
    assert reads == []  # nothing parsed
    # The same ids, kinds and reasons as the parsed run reported (the story's id is
    # its pseudonymous one), and the known entities were never read from the store.
    assert {k: (i, kd, r) for k, (i, _, kd, r) in outcomes(again).items()} == {
        k: (i, kd, r) for k, (i, _, kd, r) in outcomes(first).items()
    }
    assert not pipe._known_loaded and pipe.known == {}

    # Other bytes behind the same size and modification time: read and written again.
    stored = {
        r[0]
        for r in rows(
            store,
            "MATCH (n) WHERE NOT n:Document AND NOT n:Chunk AND n.name IS NOT NULL "
            "RETURN DISTINCT n.name",
        )
    }
    plan = corpus / "plan" / "programma.md"
    st = plan.stat()
    text = plan.read_text(encoding="utf-8")
    edited = text.replace("GGD Wadstede", "GGD Wadstedi")
    assert len(edited.encode()) == len(text.encode()) and edited != text
    plan.write_text(edited, encoding="utf-8")
    os.utime(plan, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert plan.stat().st_size == st.st_size and plan.stat().st_mtime_ns == st.st_mtime_ns
    reads.clear()
    changed = pipe.run([corpus], progress=False)
    assert (changed.changed, changed.unchanged) == (1, 2) and reads == ["programma.md"]
    names = {r[0] for r in rows(store, "MATCH (a:Actor) RETURN a.name")}
    assert any("Wadstedi" in n for n in names)
    # That run needed extraction, so it read every stored entity as known first (the
    # other documents' too), as a run that loaded them at its start would have.
    known = {name for entries in pipe.known.values() for _, name, _ in entries}
    assert pipe._known_loaded and stored <= known, stored - known

    # A document deleted from the store is written again, though its file is unchanged.
    story_id = next(d.doc_id for d in first.documents if d.kind == "story")
    assert store.delete_document(story_id)
    reads.clear()
    back = pipe.run([corpus], progress=False)
    assert (back.new, back.unchanged) == (1, 2) and reads == ["buurtkamer.md"]
    assert story_id in store.document_hashes()


def test_failed_files_and_bad_rows_are_tried_again_every_run(
    store: GraphStore,
    backend_settings: Settings,
    embedder: Embedder,  # noqa: F811 - the fixture
    tmp_path: Path,
    reads: list[str],
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "research").mkdir(parents=True)
    (corpus / "research" / "records.csv").write_text(CSV, encoding="utf-8")
    (corpus / "research" / "leeg.md").write_text("  \n", encoding="utf-8")
    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)
    for run in range(2):
        reads.clear()
        rep = pipe.run([corpus], progress=False)
        # The good row is written once and unchanged after; the bad row and the empty
        # file are reported every time (an index entry would have hidden them).
        assert (rep.new, rep.unchanged) == ((1, 0) if run == 0 else (0, 1)), rep.failures
        assert rep.failed == 2 and sorted(reads) == ["leeg.md", "records.csv"]
        assert any(f.row == 3 and f.file.endswith("records.csv") for f in rep.failures)


def test_kind_secret_reader_code_and_damaged_index_mean_reading_again(
    store: GraphStore,
    backend_settings: Settings,
    embedder: Embedder,  # noqa: F811 - the fixture
    tmp_path: Path,
    reads: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "plan-proef.md").write_text(PLAN, encoding="utf-8")
    settings = run_settings(backend_settings, tmp_path)
    pipe = Pipeline(settings, store=store, embedder=embedder)
    plain = pipe.run([mine], progress=False)
    (plain_id,) = {d.doc_id for d in plain.documents}

    # --kind story: another key, read; then the first key's entry is stale (its id is
    # no longer stored) and a plain run reads the file and replaces the story again.
    reads.clear()
    story = pipe.run([mine], kind="story", progress=False)
    assert (story.changed, reads) == (1, ["plan-proef.md"])
    assert pipe.run([mine], kind="story", progress=False).unchanged == 1
    reads.clear()
    back = pipe.run([mine], progress=False)
    assert (back.changed, reads) == (1, ["plan-proef.md"])
    assert set(store.document_hashes()) == {plain_id}

    # A story under another pseudonym secret gets other ids: its entry is not used.
    pipe.run([mine], kind="story", progress=False)
    other = Pipeline(
        settings.model_copy(update={"pseudonym_secret": SecretStr("another-secret")}),
        store=store,
        embedder=embedder,
    )
    reads.clear()
    rep = other.run([mine], kind="story", progress=False)
    assert reads == ["plan-proef.md"] and rep.unchanged == 0

    # Other reader code (an upgrade): read again, found unchanged by its content hash,
    # and the entry is renewed under the new code.
    assert pipe.run([mine], progress=False).changed == 1  # back to the plain version
    monkeypatch.setattr(file_index, "_code_stamp", lambda: "other reader code")
    reads.clear()
    assert pipe.run([mine], progress=False).unchanged == 1 and reads == ["plan-proef.md"]
    reads.clear()
    assert pipe.run([mine], progress=False).unchanged == 1 and reads == []

    # A damaged index is ignored (files are read) and written anew.
    (tmp_path / INDEX_FILE).write_text("{not json", encoding="utf-8")
    reads.clear()
    assert pipe.run([mine], progress=False).unchanged == 1 and reads == ["plan-proef.md"]
    assert json.loads((tmp_path / INDEX_FILE).read_text(encoding="utf-8"))["entries"]


def test_a_file_rewritten_while_it_is_read_gets_no_entry(
    store: GraphStore,
    backend_settings: Settings,
    embedder: Embedder,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    plan = mine / "plan-proef.md"
    plan.write_text(PLAN, encoding="utf-8")
    original = readers.read_file

    def rewritten_before_the_read(path: Path, **kw: Any) -> Any:
        # The bytes change between the pipeline's hash and the reader's read.
        plan.write_text(PLAN.replace("Buurtkamers", "Huiskamers"), encoding="utf-8")
        return original(path, **kw)

    monkeypatch.setattr(readers, "read_file", rewritten_before_the_read)
    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)
    assert pipe.run([mine], progress=False).new == 1  # stored: the "Huiskamers" text
    monkeypatch.setattr(readers, "read_file", original)
    # The file goes back to its first bytes. An entry pairing those bytes with the
    # documents read from the others would call it unchanged and keep "Huiskamers".
    plan.write_text(PLAN, encoding="utf-8")
    assert pipe.run([mine], progress=False).changed == 1
    text = " ".join(r[0] for r in rows(store, "MATCH (c:Chunk) RETURN c.text"))
    assert "Buurtkamers" in text and "Huiskamers" not in text


def test_the_schema_is_set_up_before_the_first_write_and_not_when_nothing_is_written(
    tmp_path: Path,
    embedder: Embedder,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fresh FalkorDB graph of its own (no indexes yet): the run that writes sets the
    schema up first, a run of unchanged files does not touch it."""
    from impact_graph.store import open_store
    from impact_graph.store.falkordb_server import FalkorDBServer

    data = tmp_path / "data"
    settings = Settings(
        backend="falkordb",
        data_dir=data,
        graph_name="fresh",
        pseudonym_secret=SecretStr("test-secret"),
    )
    store = open_store(settings)
    try:
        calls: list[str] = []
        setup, upsert = store.setup_schema, store.upsert_batch

        def spy_setup(schema: Any) -> None:
            calls.append("setup")
            setup(schema)

        def spy_upsert(batch: Any) -> Any:
            calls.append("write")
            return upsert(batch)

        monkeypatch.setattr(store, "setup_schema", spy_setup)
        monkeypatch.setattr(store, "upsert_batch", spy_upsert)
        corpus = write_corpus(tmp_path)
        pipe = Pipeline(settings, store=store, embedder=embedder)
        assert pipe.run([corpus], progress=False).new == 3
        assert calls == ["setup", "write", "write", "write"]
        # The vector index exists: the pipeline's own setup made it on this new graph.
        hits = store.vector_search("Chunk", embedder.embed(["eenzaamheid ouderen"])[0], k=3)
        assert hits

        calls.clear()
        assert pipe.run([corpus], progress=False).unchanged == 3 and calls == []

        plan = corpus / "plan" / "programma.md"
        plan.write_text(plan.read_text(encoding="utf-8") + "\n- Bibliotheek Wadstede\n")
        assert pipe.run([corpus], progress=False).changed == 1
        assert calls == ["setup", "write"]
    finally:
        store.close()
        FalkorDBServer(data).stop()


def test_record_files_get_no_entry_while_the_mapping_in_use_is_stale(
    store: GraphStore,
    backend_settings: Settings,
    embedder: Embedder,  # noqa: F811 - the fixture
    tmp_path: Path,
    reads: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus = write_corpus(tmp_path)
    (corpus / "research" / "records.csv").write_text(
        CSV.splitlines()[0] + "\n" + CSV.splitlines()[1] + "\n", encoding="utf-8"
    )
    # The readers' cached mapping differs from records.yaml as it is now (edited under a
    # running process): entries for record files would carry the wrong mapping's digest.
    monkeypatch.setattr(file_index, "mapping_in_use_is_current", lambda: False)
    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)
    assert pipe.run([corpus], progress=False).new == 4
    reads.clear()
    assert pipe.run([corpus], progress=False).unchanged == 4
    assert reads == ["records.csv"]


def test_the_mapping_in_use_is_compared_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from impact_graph.ingest.readers import records

    mapping = tmp_path / "records.yaml"
    mapping.write_bytes(records.default_mapping_path().read_bytes())
    monkeypatch.setattr(records, "MAPPING_CANDIDATES", (mapping,))
    records.load_mapping.cache_clear()
    try:
        records.load_mapping()  # what a reader caches
        assert file_index.mapping_in_use_is_current()
        index = FileIndex(tmp_path / INDEX_FILE)
        before = index.stamp("csv")
        assert before is not None and before != index.stamp("md") and index.may_record("csv")
        text = mapping.read_text(encoding="utf-8")
        mapping.write_text(text.replace("columns: [", "columns: [extra_kolom, ", 1))
        assert not file_index.mapping_in_use_is_current()  # the cache holds the old one
        assert FileIndex(tmp_path / INDEX_FILE).stamp("csv") != before
        assert not FileIndex(tmp_path / INDEX_FILE).may_record("csv")
    finally:
        records.load_mapping.cache_clear()  # no test after this one reads the copy


def test_index_round_trip_prunes_missing_files_and_ignores_other_versions(
    tmp_path: Path,
) -> None:
    path = tmp_path / INDEX_FILE
    kept, gone = tmp_path / "a.md", tmp_path / "b.md"
    kept.write_text("a", encoding="utf-8")
    gone.write_text("b", encoding="utf-8")
    doc = IndexedDocument("document:a", "h", "document:a", "plan", "folder")
    index = FileIndex(path)
    for f in (kept, gone):
        index.put(FileIndex.key(f, tmp_path, None), IndexEntry("raw", "stamp", None, (doc,)))
    gone.unlink()
    index.save()
    again = FileIndex(path)
    assert len(again) == 1
    assert again.get(FileIndex.key(kept, tmp_path, None)) == IndexEntry(
        "raw", "stamp", None, (doc,)
    )
    assert again.get(FileIndex.key(kept, tmp_path, "story")) is None  # --kind is in the key
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "version": -1}), encoding="utf-8")
    assert len(FileIndex(path)) == 0


def test_a_file_keeps_the_folder_it_was_first_ingested_from(
    store: GraphStore,
    backend_settings: Settings,
    embedder: Embedder,  # noqa: F811 - the fixture
    tmp_path: Path,
    reads: list[str],
) -> None:
    """Ids (and folder kinds) come from a file's path below the folder named, so
    ``corpus`` after ``corpus/story``, or ``corpus/plan`` after ``corpus``, once stored
    every file again under a second id. Now a file keeps the folder the store knows it
    from: unchanged it is skipped unparsed, changed it replaces its own document, and
    the report says so."""
    corpus = write_corpus(tmp_path)
    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)
    first = pipe.run([corpus / "story"], progress=False)
    assert (first.new, first.failed) == (1, 0), first.failures
    (story_id,) = [d.doc_id for d in first.documents]

    reads.clear()
    whole = pipe.run([corpus], progress=False)
    assert (whole.new, whole.unchanged, whole.failed) == (2, 1, 0), whole.failures
    assert "buurtkamer.md" not in reads  # known, so not parsed
    ids = {Path(d.file).name: d.doc_id for d in whole.documents}
    assert ids["buurtkamer.md"] == story_id
    assert any(
        n.startswith("1 file was ingested before from the folder")
        and n.split("folder ", 1)[1].startswith((corpus / "story").resolve().as_posix())
        for n in whole.notes
    ), whole.notes
    assert set(store.document_hashes()) == set(ids.values())  # three documents, not four

    reads.clear()
    sub = pipe.run([corpus / "plan"], progress=False)
    assert (sub.new, sub.changed, sub.unchanged, sub.failed) == (0, 0, 1, 0)
    assert reads == [] and [d.doc_id for d in sub.documents] == [ids["programma.md"]]

    plan = corpus / "plan" / "programma.md"
    plan.write_text(plan.read_text(encoding="utf-8").replace("GGD Wadstede", "GGD Wadstedi"))
    edited = pipe.run([corpus / "plan"], progress=False)
    assert (edited.new, edited.changed, edited.failed) == (0, 1, 0), edited.failures
    assert [d.doc_id for d in edited.documents] == [ids["programma.md"]]
    assert set(store.document_hashes()) == set(ids.values())
    names = {r[0] for r in rows(store, "MATCH (a:Actor) RETURN a.name")}
    assert any("Wadstedi" in n for n in names)
