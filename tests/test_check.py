"""`impact-graph check` finds every way the graph store and the RDF view can disagree, and
says so in sentences with exit code 1; it says nothing (exit 0) when they agree.

Real stores on both backends (the `store` fixture is the write-through store over the
session's FalkorDB / Neo4j and an Oxigraph view on disk). Disagreements are made the way
a crash would make them: by writing to one side only, through that side's own API.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from impact_graph.check import check
from impact_graph.config import Settings
from impact_graph.model import make_id
from impact_graph.store.port import GraphStore
from impact_graph.store.writethrough import WriteThroughStore
from tests.conftest import store_env
from tests.factories import doc_batch

WOR = ("Intervention", "Welzijn op Recept")
LONELY = ("Challenge", "eenzaamheid")
UTRECHT = ("Actor", "Gemeente Utrecht")
ELDERLY = ("TargetGroup", "ouderen")


def batch_a(version: str = "1", extra: bool = False):  # type: ignore[no-untyped-def]
    ents = [WOR, LONELY, UTRECHT] + ([ELDERLY] if extra else [])
    edges = [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")]
    if extra:
        edges.append(("Welzijn op Recept", "TARGETS", "ouderen"))
    return doc_batch("a.md", ents, edges, version=version)


def batch_b():  # type: ignore[no-untyped-def]
    return doc_batch("b.md", [WOR, LONELY, ELDERLY], [("Welzijn op Recept", "TARGETS", "ouderen")])


def cli_env(settings: Settings) -> dict[str, str]:
    return {**store_env(settings), "IMPACT_GRAPH_RDF": "oxigraph"}


def run_check(settings: Settings, *args: str):  # type: ignore[no-untyped-def]
    from impact_graph.cli import app

    return CliRunner().invoke(app, ["check", *args], env=cli_env(settings))


@pytest.fixture
def wt(store: GraphStore) -> WriteThroughStore:
    assert isinstance(store, WriteThroughStore), "open_store must wrap with the RDF view"
    return store


def test_agreeing_sides_pass_after_writes_replacements_and_deletes(
    wt: WriteThroughStore, backend_settings: Settings
) -> None:
    wt.upsert_batch(batch_a())
    wt.upsert_batch(batch_b())
    wt.upsert_batch(batch_a(version="2", extra=True))  # a changed file replaces its facts
    report = check(wt, wt.view)
    assert report.ok, [d.sentence for d in report.differences]
    assert report.documents == 2
    # Per document: a has doc, chunk, 4 entities; b has doc, chunk, 3 entities.
    assert report.nodes == 6 + 5
    wt.delete_document(make_id("Document", "b.md"))
    assert check(wt, wt.view).ok

    result = run_check(backend_settings)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ""  # no differences: no sentences on stdout
    assert "agree" in result.stderr and "Compared 1 documents" in result.stderr


def test_every_kind_of_disagreement_is_one_sentence_and_exit_1(
    wt: WriteThroughStore, backend_settings: Settings
) -> None:
    a, b = batch_a(), batch_b()
    wt.upsert_batch(a)
    # b only in the graph store (a crash between the two writes).
    wt.inner.upsert_batch(b)
    # c only in the RDF view.
    c = doc_batch("c.md", [LONELY], [])
    wt.view.write_batch(c)
    # a's view replaced by a newer version that the graph store never got.
    a2 = batch_a(version="2", extra=True)
    wt.view.write_batch(a2)

    report = check(wt, wt.view)
    kinds = {(d.doc_id, d.kind) for d in report.differences}
    assert (b.doc_id, "missing-in-view") in kinds
    assert (c.doc_id, "missing-in-store") in kinds
    assert (a.doc_id, "hash") in kinds
    sentences = [d.sentence for d in report.differences if d.doc_id == a.doc_id]
    elderly = make_id(*ELDERLY)
    assert any("RDF view has 1 TargetGroup node(s)" in s and elderly in s for s in sentences), (
        sentences
    )
    assert any("RDF view has 1 TARGETS edge(s)" in s for s in sentences), sentences
    # b is missing from the view as a whole: one sentence, with its size.
    b_sentences = [d.sentence for d in report.differences if d.doc_id == b.doc_id]
    assert b_sentences == [
        f"Document {b.doc_id} is in the graph store (5 nodes, 5 edges) but not in the RDF view; "
        "ingest its file again (the write-through store rewrites both) or delete the document."
    ]
    for d in report.differences:
        assert d.sentence.endswith(".") and d.doc_id in d.sentence

    result = run_check(backend_settings, "--format", "json")
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert not body["ok"]
    assert set(body["documents_differing"]) == {a.doc_id, b.doc_id, c.doc_id}
    table = run_check(backend_settings, "--limit", "2")
    assert table.exit_code == 1
    lines = table.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("... and ")
    assert "difference(s) in 3 document(s)" in table.stderr

    # Repair the way the sentences say: ingest again (write-through) or delete.
    wt.upsert_batch(b)  # skipped by the graph store, but the stale view is rewritten
    wt.inner.delete_document(a.doc_id)
    wt.upsert_batch(a)
    wt.view.delete_document(c.doc_id)
    report = check(wt, wt.view)
    assert report.ok, [d.sentence for d in report.differences]
    assert run_check(backend_settings).exit_code == 0


@pytest.mark.parametrize("backend_settings", ["falkordb"], indirect=True)
def test_a_half_written_falkordb_document_is_reported(
    wt: WriteThroughStore, backend_settings: Settings
) -> None:
    a = batch_a()
    wt.upsert_batch(a)
    # What a kill between MULTI's first and last query would leave, were EXEC not atomic:
    # the document marked incomplete.
    wt.inner._q("MATCH (d:Document {id: $id}) SET d.complete = false", {"id": a.doc_id})
    report = check(wt, wt.view)
    assert [(d.doc_id, d.kind) for d in report.differences] == [(a.doc_id, "incomplete")]
    assert "rolls it back" in report.differences[0].sentence


def test_check_refuses_without_a_view_or_a_store(tmp_path: Path) -> None:
    from impact_graph.cli import app

    r = CliRunner().invoke(app, ["check"], env={"IMPACT_GRAPH_RDF": "off"})
    assert r.exit_code == 2 and "RDF view is off" in r.stderr
    r = CliRunner().invoke(app, ["check", "--data-dir", str(tmp_path / "none")])
    assert r.exit_code == 2 and "no embedded store" in r.stderr
