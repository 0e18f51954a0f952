"""The ingest pipeline end to end on real stores (FalkorDB and Neo4j), real NLP and the
real embedding model: what lands in the graph, privacy, idempotency, replacement, bad
input, the CLI, and resuming after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from impact_graph.config import Settings
from impact_graph.ingest.embed import Embedder
from impact_graph.ingest.pipeline import GIL_SWITCH_S, Pipeline, PipelineConfig
from impact_graph.model import GraphBatch
from impact_graph.store.port import GraphStore, StoreUnavailable, WriteResult

SRC = Path(__file__).resolve().parents[1] / "src"
NAME, EMAIL = "Jansen", "a.jansen@example.nl"

STORY = f"""\
---
title: Een ochtend in de buurtkamer
kind: story
persons: ["{NAME}"]
---
Mevrouw {NAME} woont al veertig jaar in Wadstede. Sinds haar man overleed voelt ze zich
vaak alleen. Via Welzijn op Recept kwam ze bij de buurtkamer terecht. Wie mee wil doen,
kan mailen naar {EMAIL}. "Ik ben blij dat ik weer mensen zie," zegt mevrouw {NAME}.
"""

PLAN = """\
---
title: Samen Minder Alleen — programma-aanpak
kind: plan
programme: Samen Minder Alleen
gemeente: Wadstede
---
# Samen Minder Alleen

## Waarom

Eenzaamheid onder ouderen in de gemeente Wadstede neemt toe. Het programma Samen Minder
Alleen wil in 2027 20% minder eenzame ouderen.

## Wat we doen

- Welzijn op Recept
- Buurtkamers

## Partners

- Stichting Welzijn Wadstede — uitvoering
- GGD Wadstede — gezondheidsmonitor
"""

RESEARCH = """\
Onderzoek naar Welzijn op Recept.

In een quasi-experimenteel onderzoek met 120 deelnemers vermindert Welzijn op Recept
eenzaamheid bij ouderen. De interventie is erkend als Goed beschreven.
"""


def write_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    for rel, text in {
        "story/buurtkamer.md": STORY,
        "plan/programma.md": PLAN,
        "research/studie.txt": RESEARCH,
    }.items():
        p = corpus / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedder]:
    e = Embedder(cache_path=tmp_path_factory.mktemp("emb") / "embeddings.sqlite")
    yield e
    e.close()


def run_settings(backend_settings: Settings, data_dir: Path) -> Settings:
    """The fixture's store settings with this test's data dir (rejected/, keys)."""
    return backend_settings.model_copy(
        update={"data_dir": data_dir, "pseudonym_secret": SecretStr("test-secret")}
    )


def rows(store: GraphStore, query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    return store.read_query(query, params, timeout_s=30, row_cap=100_000).rows


def all_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from all_strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from all_strings(v)


def chunk_counts(store: GraphStore) -> dict[str, int]:
    return {
        r[0]: r[1]
        for r in rows(
            store,
            "MATCH (d:Document) OPTIONAL MATCH (d)-[:HAS_CHUNK]->(c:Chunk) RETURN d.id, count(c)",
        )
    }


def test_end_to_end_facts_spans_provenance_privacy(
    store: GraphStore, backend_settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path)
    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)
    report = pipe.run([corpus], progress=False)
    assert (report.new, report.failed, report.unchanged) == (3, 0, 0), report.failures
    assert {d.kind for d in report.documents} == {"story", "plan", "research"}

    # Every document has chunks that carry vectors; no raw text on the Document.
    counts = chunk_counts(store)
    assert len(counts) == 3 and all(n >= 1 for n in counts.values())
    assert rows(store, "MATCH (c:Chunk) WHERE c.embedding IS NULL RETURN count(c)") == [[0]]
    assert rows(store, "MATCH (d:Document) WHERE d.text IS NOT NULL RETURN count(d)") == [[0]]
    assert (
        rows(store, "MATCH (n:Intervention {name: 'Welzijn op Recept'}) RETURN count(n)")[0][0] == 1
    )  # one node for the three documents (cross-document resolution)

    # MENTIONS spans point at the mention in the document text (the chunk is a slice of it).
    mentions = rows(
        store,
        "MATCH (c:Chunk)-[m:MENTIONS]->(e) RETURN c.text, c.start, m.start, m.end, m.surface, "
        "m.key",
    )
    assert len(mentions) >= 5
    for text, c_start, s, e, surface, key in mentions:
        assert text[s - c_start : e - c_start] == surface and key == f"{s}-{e}"

    # Provenance on every node (its documents) and every edge (documents and sentence
    # spans; an entity's sentences are the spans of its MENTIONS edges, which hold the
    # mention: nodes keep no span list, see falkordb_store._MERGE_PROVENANCE).
    for q in (
        "MATCH (n) WHERE n.sources IS NULL OR size(n.sources) = 0 RETURN count(n)",
        "MATCH (n) WHERE n.spans IS NOT NULL RETURN count(n)",
        "MATCH ()-[m:MENTIONS]->() WHERE NOT any(s IN m.spans WHERE "
        "toInteger(split(split(s, '#')[1], '-')[0]) <= m.start "
        "AND toInteger(split(split(s, '#')[1], '-')[1]) >= m.end) RETURN count(m)",
        "MATCH ()-[r]->() WHERE r.sources IS NULL OR size(r.sources) = 0 "
        "OR r.spans IS NULL OR size(r.spans) = 0 RETURN count(r)",
    ):
        assert rows(store, q) == [[0]], q

    # The story is stored pseudonymised: the name and the e-mail are nowhere.
    everything = rows(store, "MATCH (n) RETURN n") + rows(store, "MATCH ()-[r]->() RETURN r")
    strings = list(all_strings(everything))
    assert any("buurtkamer" in s for s in strings)  # the story is there ...
    assert not [s for s in strings if NAME.lower() in s.lower() or EMAIL in s]  # ... pseudonymised
    assert any("Persoon-" in s for s in strings)


def test_rerun_changed_and_deleted_documents(
    store: GraphStore, backend_settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path)
    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)
    pipe.run([corpus], progress=False)
    before = store.stats()

    again = pipe.run([corpus], progress=False)
    assert (again.new, again.changed, again.unchanged, again.chunks) == (0, 0, 3, 0)
    after = store.stats()
    assert (after.nodes, after.relationships) == (before.nodes, before.relationships)

    # A changed file replaces only its own facts.
    plan = corpus / "plan" / "programma.md"
    plan.write_text(PLAN.replace("GGD Wadstede — gezondheidsmonitor", "Bibliotheek Wadstede"))
    changed = pipe.run([corpus], progress=False)
    assert (changed.new, changed.changed, changed.unchanged) == (0, 1, 2)
    names = {r[0] for r in rows(store, "MATCH (a:Actor) RETURN a.name")}
    assert not any("GGD" in n for n in names) and any("Bibliotheek" in n for n in names)
    counts = chunk_counts(store)
    assert len(counts) == 3 and all(n >= 1 for n in counts.values())
    assert rows(store, "MATCH (n:Intervention {name: 'Welzijn op Recept'}) RETURN count(n)") == [
        [1]
    ]

    # A deleted document comes back on the next run; the others stay untouched.
    story_id = next(d.doc_id for d in changed.documents if d.kind == "story")
    assert store.delete_document(story_id)
    assert story_id not in store.document_hashes()
    back = pipe.run([corpus], progress=False)
    assert (back.new, back.unchanged) == (1, 2)
    assert chunk_counts(store)[story_id] >= 1


def cli_env(backend_settings: Settings, data_dir: Path) -> dict[str, str]:
    s = backend_settings
    env = {
        "IMPACT_GRAPH_BACKEND": s.backend,
        # The store's own data dir on both backends: it holds the RDF view, and the
        # write-through store counts a document only when graph and view both hold it.
        "IMPACT_GRAPH_DATA_DIR": str(s.data_dir),
        "IMPACT_GRAPH_GRAPH_NAME": s.graph_name,
        "IMPACT_GRAPH_NEO4J_URI": s.neo4j_uri,
        "IMPACT_GRAPH_NEO4J_USER": s.neo4j_user,
        "IMPACT_GRAPH_NEO4J_PASSWORD": s.neo4j_password.get_secret_value(),
        "IMPACT_GRAPH_PSEUDONYM_SECRET": "test-secret",
    }
    return env


def test_bad_inputs_are_reported_kept_aside_and_exit_1(
    store: GraphStore, backend_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from impact_graph.cli import app

    corpus = write_corpus(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "leeg.md").write_text("  \n", encoding="utf-8")
    (bad / "notities.xyz").write_text("iets", encoding="utf-8")
    (bad / "kapot.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage\n")
    missing = tmp_path / "bestaat-niet.md"
    env = cli_env(backend_settings, tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    report_file = tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        [
            "ingest",
            str(corpus / "plan"),
            str(bad / "leeg.md"),
            str(bad / "notities.xyz"),
            str(bad / "kapot.pdf"),
            str(missing),
            "--no-progress",
            "--report",
            str(report_file),
        ],
    )
    assert result.exit_code == 1, result.output
    import json

    rep = json.loads(report_file.read_text(encoding="utf-8"))
    assert rep["documents"]["new"] == 1 and rep["documents"]["failed"] == 4
    failures = {Path(f["file"]).name: f for f in rep["failures"]}
    assert set(failures) == {"leeg.md", "notities.xyz", "kapot.pdf", "bestaat-niet.md"}
    for f in failures.values():
        assert f["reason"] and f["hint"]
    assert "empty" in failures["leeg.md"]["reason"]
    assert "not supported" in failures["notities.xyz"]["reason"]
    assert "does not exist" in failures["bestaat-niet.md"]["reason"]
    rejected = Path(env["IMPACT_GRAPH_DATA_DIR"]) / "rejected"
    for name in ("leeg.md", "notities.xyz", "kapot.pdf"):
        kept = Path(failures[name]["kept_at"])
        assert kept.parent == rejected and kept.name.endswith(name) and kept.is_file()
        reason = kept.with_name(kept.name + ".reason.txt").read_text(encoding="utf-8")
        assert failures[name]["reason"] in reason
    assert "kapot.pdf" in result.output  # the summary names the failed files
    # The good file went in.
    assert len(store.document_hashes()) == 1


def test_resume_after_kill_9(
    store: GraphStore, backend_settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = tmp_path / "many" / "plan"
    corpus.mkdir(parents=True)
    topics = ["eenzaamheid", "schoolverzuim", "overgewicht", "jeugdcriminaliteit", "CO2"]
    for i in range(20):
        body = " ".join(
            f"Zin {j} van plan {i}: de gemeente Wadstede pakt {topics[(i + j) % 5]} aan met "
            f"Welzijn op Recept en buurtkamers in wijk {j}."
            for j in range(60)
        )
        (corpus / f"plan-{i:02d}.md").write_text(f"# Plan {i}\n\n{body}\n", encoding="utf-8")
    config = tmp_path / "pipeline.yaml"
    config.write_text("embedding:\n  flush_texts: 1\n", encoding="utf-8")
    env = {
        **os.environ,
        **cli_env(backend_settings, tmp_path),
        "PYTHONPATH": str(SRC),
        "IMPACT_GRAPH_PIPELINE_CONFIG": str(config),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from impact_graph.cli import app; app()",
            "ingest",
            str(corpus.parent),
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len(store.document_hashes()) >= 3:
                break
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    )
    written = store.document_hashes()
    assert 3 <= len(written) < 20

    # No half document: every complete Document has its chunks, numbered without gaps.
    chunks = rows(store, "MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk) RETURN d.id, c.position")
    positions: dict[str, list[int]] = {}
    for doc_id, pos in chunks:
        positions.setdefault(doc_id, []).append(int(pos))
    for doc_id in written:
        assert sorted(positions.get(doc_id, [])) == list(range(len(positions.get(doc_id, []))))
        assert positions.get(doc_id), f"{doc_id} was written without its chunks"

    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)
    rerun = pipe.run([corpus.parent], progress=False)
    assert rerun.failed == 0 and rerun.unchanged >= len(written) - len(rerun.rolled_back)
    assert rerun.new + rerun.unchanged == 20
    final = chunk_counts(store)
    assert len(final) == 20 and all(n >= 1 for n in final.values())


def long_plans(root: Path, n: int) -> Path:
    """``n`` plan documents of ~550 words each: several chunks apiece."""
    folder = root / "plans" / "plan"
    folder.mkdir(parents=True)
    topics = ["eenzaamheid", "schoolverzuim", "overgewicht", "jeugdcriminaliteit"]
    for i in range(n):
        body = " ".join(
            f"In wijk {j} van de gemeente Wadstede werkt plan {i} aan {topics[(i + j) % 4]} "
            f"met Welzijn op Recept, buurtkamers en vrijwilligers van Stichting Welzijn Wadstede."
            for j in range(20)
        )
        (folder / f"plan-{i:02d}.md").write_text(f"# Plan {i}\n\n{body}\n", encoding="utf-8")
    return folder.parent


class WatchedStore:
    """The real store, with every ``upsert_batch`` recorded (which thread, which document)
    and, from the ``fail_at``-th write on, the store "gone" (StoreUnavailable)."""

    def __init__(self, inner: GraphStore, fail_at: int | None = None) -> None:
        self.inner, self.fail_at = inner, fail_at
        self.writes: list[tuple[str, str]] = []

    def upsert_batch(self, batch: GraphBatch) -> WriteResult:
        if self.fail_at is not None and len(self.writes) + 1 >= self.fail_at:
            raise StoreUnavailable("the test took the store away")
        result = self.inner.upsert_batch(batch)
        self.writes.append((threading.current_thread().name, batch.doc_id))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_writes_overlap_in_their_own_thread_in_order_and_a_run_can_stop_early(
    store: GraphStore, backend_settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = long_plans(tmp_path, 6)
    watched = WatchedStore(store)
    settings = run_settings(backend_settings, tmp_path)
    pipe = Pipeline(
        settings, store=watched, embedder=embedder, config=PipelineConfig(flush_texts=1)
    )  # type: ignore[arg-type]
    asked = []
    report = pipe.run([corpus], progress=False, stop=lambda: len(asked.append(1) or asked) > 4)
    assert (report.new, report.failed) == (4, 0)
    assert report.notes == [
        "stopped early: 4 of 6 files were read; run the same command again to ingest the rest."
    ]
    # Written by the write stage, not the calling thread, one document after another
    # in the order they were read.
    assert {name for name, _ in watched.writes} == {"ingest-write"}
    assert [d for _, d in watched.writes] == [d.doc_id for d in report.documents]
    assert len(store.document_hashes()) == 4

    # Every chunk fits what the model reads (the token budget), so none loses its tail.
    texts = [r[0] for r in rows(store, "MATCH (c:Chunk) RETURN c.text")]
    assert len(texts) > 4  # ~550 words a document: several chunks each
    assert max(embedder.count_tokens(texts)) <= embedder.max_tokens

    rest = pipe.run([corpus], progress=False)
    assert (rest.new, rest.unchanged, rest.failed) == (2, 4, 0)
    assert rest.notes == []


def test_store_lost_in_the_write_stage_stops_the_run_and_a_rerun_finishes(
    store: GraphStore, backend_settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = long_plans(tmp_path, 6)
    settings = run_settings(backend_settings, tmp_path)
    config = PipelineConfig(flush_texts=1)
    watched = WatchedStore(store, fail_at=3)
    pipe = Pipeline(settings, store=watched, embedder=embedder, config=config)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable, match="took the store away"):
        pipe.run([corpus], progress=False)
    assert len(store.document_hashes()) == 2  # the two written before, whole

    rerun = Pipeline(settings, store=store, embedder=embedder, config=config).run(
        [corpus], progress=False
    )
    assert (rerun.new, rerun.unchanged, rerun.failed) == (4, 2, 0)
    final = chunk_counts(store)
    assert len(final) == 6 and all(n >= 2 for n in final.values())


def test_run_times_say_where_the_cpu_went_and_when_the_model_waited(
    store: GraphStore, backend_settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = long_plans(tmp_path, 3)
    for f in (corpus / "plan").iterdir():  # texts no earlier test embedded (no cache hits)
        f.write_text(f.read_text(encoding="utf-8") + f"\nKenmerk {os.urandom(8).hex()}.\n")
    settings = run_settings(backend_settings, tmp_path)
    pipe = Pipeline(settings, store=store, embedder=embedder, config=PipelineConfig(flush_texts=1))
    assert pipe.warm_up(languages=("nl",)) > 0
    before, during = sys.getswitchinterval(), []
    report = pipe.run(
        [corpus], progress=False, on_document=lambda _o: during.append(sys.getswitchinterval())
    )
    assert (report.new, report.failed) == (3, 0)
    # The GIL changes hands faster while the run's threads work, and as before after it.
    assert during == [min(before, GIL_SWITCH_S)] * 3 and sys.getswitchinterval() == before
    t = pipe.times
    assert set(t.thread_cpu) == {"main", "embed", "write"}
    assert all(v > 0 for v in t.thread_cpu.values())
    # Each stage's CPU is part of the CPU of the thread it runs in.
    assert 0 < t.stage_cpu["extract"] <= t.thread_cpu["main"]
    assert 0 < t.stage_cpu["embed"] <= t.thread_cpu["embed"]
    assert 0 < t.stage_cpu["write"] + t.stage_cpu["map"] <= t.thread_cpu["write"]
    # The model ran in this run, between its first wait and its last.
    assert t.model_calls >= 1
    assert 0 < t.model_busy_s <= report.stage_seconds["embed"]
    assert t.model_wait_first_s > 0 and t.model_wait_last_s > 0
    assert t.model_wait_first_s + t.model_busy_s + t.model_wait_last_s <= report.seconds
    # Linux's scheduler clock of the embed thread (a tick of slack: it is read while running).
    assert t.model_run_s > 0
    assert t.model_run_s + t.model_runnable_s <= report.stage_seconds["embed"] + 0.05

    again = pipe.run([corpus], progress=False)  # unchanged: nothing reaches the model
    assert again.unchanged == 3
    assert (pipe.times.model_calls, pipe.times.model_busy_s) == (0, 0.0)
    assert pipe.times.model_wait_first_s == 0.0


SOEPBUS = """\
---
title: Samen Sterker in Lindenhoven
kind: plan
programme: Samen Sterker
gemeente: Lindenhoven
---
# Samen Sterker in Lindenhoven

## Wat we doen

- De Soepbus Lindenhoven

## Hoe het werkt

Samen Sterker laat de soepbus elke dinsdag langs de flats aan de rand van de wijk rijden.
Vrijwilligers schenken soep en maken een praatje met bewoners die weinig buiten komen.

## Wat we leerden

Bewoners die bij Samen Sterker de soepbus bezochten, kwamen daarna vaker naar activiteiten
in de buurt. De chauffeurs kennen iedereen bij naam en merken het als iemand ontbreekt.
"""


def stored_vector(store: GraphStore, label: str, name: str) -> tuple[str, np.ndarray]:
    """(id, embedding) of the one ``label`` node called ``name``."""
    [[nid, vec]] = rows(
        store, f"MATCH (n:{label} {{name: $n}}) RETURN n.id, n.embedding", {"n": name}
    )
    return nid, np.asarray(vec, dtype=np.float64)


def mentioning_chunks_mean(store: GraphStore, nid: str) -> tuple[int, np.ndarray]:
    """How many chunks mention node ``nid`` and the normalised mean of their vectors."""
    vecs = [
        np.asarray(r[0], dtype=np.float64)
        for r in rows(
            store,
            "MATCH (c:Chunk)-[:MENTIONS]->(n {id: $id}) RETURN DISTINCT c.embedding",
            {"id": nid},
        )
    ]
    mean = np.mean(vecs, axis=0)
    return len(vecs), mean / np.linalg.norm(mean)


def test_entities_without_a_definition_get_their_chunks_mean_and_vector_search_finds_them(
    store: GraphStore, backend_settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path)
    plan = corpus / "plan" / "soepbus.md"
    plan.write_text(SOEPBUS, encoding="utf-8")
    config = PipelineConfig(min_words=10, max_words=40, min_section_words=5)
    pipe = Pipeline(
        run_settings(backend_settings, tmp_path), store=store, embedder=embedder, config=config
    )
    # What the pipeline asks the embedder for, cache hits included: the embedder is
    # shared by the session, so the other backend's run may have cached these texts.
    asked: list[str] = []
    embed = embedder.embed

    def recording(texts: Any) -> Any:
        asked.extend(texts)
        return embed(texts)

    embedder.embed = recording  # type: ignore[method-assign]
    try:
        report = pipe.run([corpus], progress=False)
    finally:
        del embedder.embed
    assert (report.new, report.failed) == (4, 0), report.failures
    # The programme (a name from the front matter, no definition) costs the model
    # nothing; the candidate intervention keeps its own text (search ranks by it).
    assert not [t for t in asked if t == "Samen Sterker" or t.startswith("Samen Sterker:")]
    assert [t for t in asked if t.startswith("De Soepbus Lindenhoven")]

    # The programme, named in several chunks: unit length, the normalised mean of them.
    nid, vec = stored_vector(store, "Programme", "Samen Sterker")
    n, mean = mentioning_chunks_mean(store, nid)
    assert n >= 2
    assert abs(np.linalg.norm(vec) - 1.0) < 1e-4
    assert np.allclose(vec, mean, atol=1e-5)

    # Vector search finds it: the text of one of its chunks puts it first among the
    # programmes (the other one is the plan of write_corpus).
    texts = rows(store, "MATCH (c:Chunk)-[:MENTIONS]->(n {id: $id}) RETURN c.text", {"id": nid})
    assert len(rows(store, "MATCH (n:Programme) RETURN n.id")) >= 2
    hits = store.vector_search("Programme", embedder.embed([texts[-1][0]])[0], 1)
    assert [h.id for h in hits] == [nid]

    # A changed document recomputes the vector from its new chunks.
    plan.write_text(
        SOEPBUS.replace("elke dinsdag", "elke dinsdag, donderdag en zaterdag"), encoding="utf-8"
    )
    again = pipe.run([corpus], progress=False)
    assert (again.changed, again.unchanged) == (1, 3)
    nid, new = stored_vector(store, "Programme", "Samen Sterker")
    _, mean = mentioning_chunks_mean(store, nid)
    assert not np.allclose(new, vec, atol=1e-4)
    assert np.allclose(new, mean, atol=1e-5)
