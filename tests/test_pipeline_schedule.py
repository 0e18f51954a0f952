"""When the ingest's stages get their work: the run's last group goes to the model in
shrinking parts, each written while the next is encoded (`Pipeline._tail_parts`), with
the vectors of texts encoded alone; the store's schema is set up in the write thread,
before the first write, while the first document is extracted and encoded
(`Pipeline._schedule_schema`)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

from impact_graph.config import Settings
from impact_graph.ingest.embed import Embedder
from impact_graph.ingest.pipeline import Pipeline, PipelineConfig
from tests.test_pipeline import embedder, write_corpus  # noqa: F401 - embedder is a fixture
from tests.test_pipeline_embed import CallLog, pending


def tail_pipe(tmp_path: Path, log: Any, batch_size: int, queued: bool) -> Pipeline:
    """A pipeline whose files are all read, with an embed stage that has ``queued``
    groups waiting behind the one in hand (the stage itself is not started)."""
    pipe = Pipeline(
        Settings(data_dir=tmp_path, rdf="off"),
        store=None,  # type: ignore[arg-type]
        embedder=log,
        config=PipelineConfig(batch_size=batch_size),
    )
    pipe._reading_done = True
    pipe._embed_stage = SimpleNamespace(queued=queued)  # type: ignore[assignment]
    return pipe


def group(docs: int, chunks: int) -> list[Any]:
    return [
        pending(f"d{d}", [f"document {d} stuk {c}" for c in range(chunks)], [f"Naam {d}: x"])
        for d in range(docs)
    ]


def test_the_last_group_goes_to_the_model_in_halves_each_written_before_the_next(
    tmp_path: Path,
) -> None:
    events: list[tuple[str, Any]] = []

    class Log(CallLog):
        def embed(self, texts: Any) -> np.ndarray:
            events.append(("encode", len(texts)))
            return super().embed(texts)

    log = Log()
    pipe = tail_pipe(tmp_path, log, batch_size=4, queued=False)
    pipe._write = lambda p, cv, ev: events.append(("write", p.outcome.doc_id))  # type: ignore[method-assign]
    docs = group(8, 4)  # 32 chunks: 16, 8, 4, 4 chunks (+ one entity text a document)
    pipe._embed_group(docs)

    assert [n for e, n in events if e == "encode"] == [16 + 4, 8 + 2, 4 + 1, 4 + 1]
    # Every document written once, in order, each part's documents before the next
    # part goes to the model.
    assert [d for e, d in events if e == "write"] == [p.outcome.doc_id for p in docs]
    assert [e for e, _ in events] == (
        ["encode"] + ["write"] * 4 + ["encode"] + ["write"] * 2 + ["encode", "write"] * 2
    )
    # Each document's vectors are its own texts' (chunks and entity names).
    for call in log.calls:
        assert len(call) == len(set(call))


@pytest.mark.parametrize(("reading_done", "queued"), [(False, False), (True, True)])
def test_a_group_is_one_call_while_files_are_read_or_groups_wait_behind_it(
    tmp_path: Path, reading_done: bool, queued: bool
) -> None:
    log = CallLog()
    pipe = tail_pipe(tmp_path, log, batch_size=4, queued=queued)
    pipe._reading_done = reading_done
    written: list[str] = []
    pipe._write = lambda p, cv, ev: written.append(p.outcome.doc_id)  # type: ignore[method-assign]
    pipe._embed_group(group(8, 4))
    assert [len(c) for c in log.calls] == [40] and len(written) == 8


def test_a_last_group_within_one_batch_and_a_single_document_stay_whole(tmp_path: Path) -> None:
    log = CallLog()
    pipe = tail_pipe(tmp_path, log, batch_size=16, queued=False)
    pipe._write = lambda p, cv, ev: None  # type: ignore[method-assign]
    pipe._embed_group(group(4, 4))  # 16 chunks: within one batch
    pipe._embed_group(group(1, 40))  # one document, however long
    assert [len(c) for c in log.calls] == [20, 41]


def test_split_parts_give_the_vectors_of_each_text_encoded_alone(
    tmp_path: Path,
    embedder: Embedder,  # noqa: F811 - the fixture
) -> None:
    """The graph's vectors do not depend on how the last group was cut: each text's
    vector is the model's on the text alone, up to padding (max abs diff <= 1e-5)."""
    model = Embedder(embedder.model_name, vocab_vectors=False)  # no cache: every text encoded
    model._model = embedder.model
    pipe = tail_pipe(tmp_path, model, batch_size=4, queued=False)
    got: dict[str, np.ndarray] = {}

    def keep(p: Any, cv: Any, ev: Any) -> None:
        got.update(zip((c.text for c in p.chunks), cv, strict=True))
        got.update({p.entity_texts[p.entity_refs.index(r)]: v for r, v in ev.items()})

    pipe._write = keep  # type: ignore[method-assign]
    words = [
        "de",
        "buurtkamer",
        "vermindert",
        "eenzaamheid",
        "onder",
        "ouderen",
        "in",
        "de",
        "wijk",
    ]
    docs = [
        pending(f"d{d}", [" ".join(words[: 2 + (d * 3 + c) % 8]) for c in range(3)], [f"X{d}: y"])
        for d in range(6)
    ]
    pipe._embed_group(docs)
    assert model.model_calls > 1  # it was cut
    texts = list(got)
    alone = np.stack([model.encode([t])[0] for t in texts])
    assert float(np.abs(np.stack([got[t] for t in texts]) - alone).max()) <= 1e-5


def falkordb_settings(tmp_path: Path) -> Settings:
    return Settings(
        backend="falkordb",
        data_dir=tmp_path / "data",
        graph_name="schedule",
        rdf="off",
        pseudonym_secret=SecretStr("test-secret"),
    )


def test_the_schema_is_set_up_in_the_write_thread_before_the_first_write(
    tmp_path: Path,
    embedder: Embedder,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from impact_graph.store import open_store
    from impact_graph.store.falkordb_server import FalkorDBServer

    settings = falkordb_settings(tmp_path)
    store = open_store(settings)
    try:
        calls: list[tuple[str, str]] = []
        setup, upsert = store.setup_schema, store.upsert_batch

        def spy_setup(schema: Any) -> None:
            calls.append(("setup", threading.current_thread().name))
            setup(schema)

        def spy_upsert(batch: Any) -> Any:
            calls.append(("write", threading.current_thread().name))
            return upsert(batch)

        monkeypatch.setattr(store, "setup_schema", spy_setup)
        monkeypatch.setattr(store, "upsert_batch", spy_upsert)
        report = Pipeline(settings, store=store, embedder=embedder).run(
            [write_corpus(tmp_path)], progress=False
        )
        assert (report.new, report.failed) == (3, 0), report.failures
        assert calls == [("setup", "ingest-write")] + [("write", "ingest-write")] * 3
    finally:
        store.close()
        FalkorDBServer(settings.data_path).stop(compact=False)


def test_a_failing_schema_set_up_fails_the_documents_not_the_run(
    tmp_path: Path,
    embedder: Embedder,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As when it ran in the main thread: each document that would be written fails with
    the stage named, the run goes on; once the set-up works, the next run writes them."""
    from impact_graph.store import open_store
    from impact_graph.store.falkordb_server import FalkorDBServer

    settings = falkordb_settings(tmp_path)
    store = open_store(settings)
    try:
        setup = store.setup_schema
        broken = [True]

        def flaky(schema: Any) -> None:
            if broken[0]:
                raise RuntimeError("the index statement was refused")
            setup(schema)

        monkeypatch.setattr(store, "setup_schema", flaky)
        pipe = Pipeline(settings, store=store, embedder=embedder)
        report = pipe.run([write_corpus(tmp_path)], progress=False)
        assert (report.new, report.failed) == (0, 3)
        assert all("while setting up the store's schema" in f.reason for f in report.failures), (
            report.failures
        )
        broken[0] = False
        again = pipe.run([write_corpus(tmp_path)], progress=False)
        assert (again.new, again.failed) == (3, 0), again.failures
    finally:
        store.close()
        FalkorDBServer(settings.data_path).stop(compact=False)
