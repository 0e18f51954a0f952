"""Candidate entities for review (issue 3), on both backends with a real store.

Two documents name the same new intervention: the review shows one row with 2 documents
and the mentions of both summed from the MENTIONS edges, although the node's stored
``mention_count`` is the last document's own count. A vocabulary concept is not listed;
the label, minimum-documents and limit filters work through the CLI and ``GET
/candidates``; a bad label and an empty store get a sentence, not a traceback.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from impact_graph.api import create_app
from impact_graph.candidates import candidate_labels, list_candidates
from impact_graph.cli import app
from impact_graph.config import Settings
from impact_graph.model import Edge, GraphBatch, make_id, span_ref
from impact_graph.store.port import GraphStore
from tests.conftest import store_env
from tests.factories import doc_batch

runner = CliRunner()
NEW = "Buurtkamer Plus"
NEW_ID = make_id("Intervention", NEW)
ACTOR = "Stichting Nieuwe Buren"
KNOWN = "Welzijn op Recept"
#: A real other name of ``NEW``; the factory's alias (the name lower-cased) is no other
#: name and the review leaves it out.
ALIAS = "Huiskamer Plus"


def _batch(key: str, entities: list[tuple[str, str]], extra_mentions: dict[str, int]) -> GraphBatch:
    """A document naming ``entities``; the new ones are candidates, ``KNOWN`` comes from
    a vocabulary. ``extra_mentions`` adds further MENTIONS of a name in the same chunk,
    and each node gets this document's own ``mention_count``, as the mapping writes it."""
    b = doc_batch(key, entities)
    chunk = next(n for n in b.nodes if n.label == "Chunk")
    for n in b.nodes:
        if n.label == "Chunk":
            continue
        name = n.props["name"]
        extra = extra_mentions.get(name, 0)
        n.props["status"] = "vocabulary" if name == KNOWN else "candidate"
        n.props["mention_count"] = 1 + extra
        if name == NEW:
            n.props["aliases"] = [*n.props.get("aliases", []), ALIAS]
        for i in range(extra):
            start = 1000 + 100 * i
            b.edges.append(
                Edge(
                    chunk.id,
                    "MENTIONS",
                    n.id,
                    {"start": start, "end": start + len(name)},
                    key=f"{start}-{start + len(name)}",
                    spans=[span_ref(b.doc_id, start, start + len(name))],
                )
            )
    return b


def _fill(store: GraphStore) -> None:
    # Document a names the new intervention 3 times, b once (b is written last, so the
    # node's stored mention_count says 1): the review must say 2 documents, 4 mentions.
    store.upsert_batch(_batch("a.md", [("Intervention", NEW), ("Intervention", KNOWN)], {NEW: 2}))
    store.upsert_batch(
        _batch("b.md", [("Intervention", NEW), ("Actor", ACTOR), ("Intervention", KNOWN)], {})
    )


def _cli(settings: Settings, *args: str):  # type: ignore[no-untyped-def]
    # Wide enough that the table does not wrap names over two lines.
    return runner.invoke(app, ["candidates", *args], env={**store_env(settings), "COLUMNS": "200"})


def test_two_documents_give_one_row_with_summed_mentions(
    store: GraphStore, schema, backend_settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    _fill(store)
    stored = store.get_nodes([NEW_ID])[0]
    assert stored["mention_count"] == 1  # one document's count: not what the review shows
    rows, total = list_candidates(store, schema)
    assert total == 2
    assert [(c.name, c.label, c.documents, c.mentions) for c in rows] == [
        (NEW, "Intervention", 2, 4),
        (ACTOR, "Actor", 1, 1),
    ]
    assert rows[0].label_nl == "Interventie" and rows[0].aliases == [ALIAS]
    assert rows[0].sample_document == make_id("Document", "a.md")
    assert rows[0].sample_title == "a.md"
    assert KNOWN not in {c.name for c in rows}  # a vocabulary concept is not a candidate

    r = _cli(backend_settings, "--json")
    assert r.exit_code == 0, r.output
    records = json.loads(r.stdout)
    assert [(x["name"], x["documents"], x["mentions"]) for x in records] == [
        (NEW, 2, 4),
        (ACTOR, 1, 1),
    ]
    r = _cli(backend_settings)  # the default table, Dutch class names
    assert r.exit_code == 0, r.output
    assert "Interventie" in r.stdout and NEW in r.stdout and KNOWN not in r.stdout
    r = _cli(backend_settings, "--csv")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("id,label,label_nl,name,aliases,documents,mentions")
    assert len(lines) == 3 and f'{NEW},"[""{ALIAS}""]",2,4' in lines[1]


def test_filters(store: GraphStore, schema, backend_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    _fill(store)
    for label in ("Actor", "actor", "Betrokkene"):  # class name or its Dutch name
        rows, total = list_candidates(store, schema, label=label)
        assert [c.name for c in rows] == [ACTOR] and total == 1
    rows, _ = list_candidates(store, schema, label="Interventie")  # the Dutch name works too
    assert [c.name for c in rows] == [NEW]
    rows, total = list_candidates(store, schema, min_documents=2)
    assert [c.name for c in rows] == [NEW] and total == 1
    rows, total = list_candidates(store, schema, limit=1)
    assert [c.name for c in rows] == [NEW] and total == 2

    r = _cli(backend_settings, "--label", "Actor", "--json")
    assert r.exit_code == 0, r.output
    assert [x["name"] for x in json.loads(r.stdout)] == [ACTOR]
    r = _cli(backend_settings, "--min-documents", "3")
    assert r.exit_code == 0, r.output
    assert "No candidate entities match --min-documents 3 among the 2 stored documents" in (
        r.stderr
    )
    r = _cli(backend_settings, "--limit", "1")
    assert r.exit_code == 0 and "Showing 1 of 2" in r.stderr, r.output


def test_bad_label_names_the_parameter_and_the_allowed_classes(
    store: GraphStore, schema, backend_settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    _fill(store)
    r = _cli(backend_settings, "--label", "Chunk")
    assert r.exit_code == 2, r.output
    assert "--label 'Chunk'" in r.stderr
    allowed = candidate_labels(schema)
    assert "Chunk" not in allowed and "Document" not in allowed and "Intervention" in allowed
    for label in allowed:  # the list comes from the ontology, every class is named
        assert f"{label} (" in r.stderr
    assert "Traceback" not in r.output
    r = _cli(backend_settings, "--limit", "0")
    assert r.exit_code == 2 and "--limit" in r.stderr, r.output


def test_empty_store_says_so(store: GraphStore, backend_settings: Settings) -> None:
    r = _cli(backend_settings)
    assert r.exit_code == 0, r.output
    assert "The store holds no documents yet" in r.stderr
    r = _cli(backend_settings, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


@pytest.fixture
def client(store: GraphStore, backend_settings: Settings):  # type: ignore[no-untyped-def]
    app_ = create_app(backend_settings.model_copy(update={"api_keys": ""}), warm_up=False)
    with TestClient(app_) as c:
        yield c


def test_api_lists_filters_and_refuses_a_bad_label(store: GraphStore, client: TestClient) -> None:
    r = client.get("/candidates")
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [] and "no documents yet" in r.json()["note"]
    _fill(store)
    body = client.get("/candidates").json()
    assert body["total"] == 2
    assert [(x["name"], x["label_nl"], x["documents"], x["mentions"]) for x in body["items"]] == [
        (NEW, "Interventie", 2, 4),
        (ACTOR, "Betrokkene", 1, 1),  # the Dutch name every page uses
    ]
    body = client.get("/candidates", params={"label": "Actor"}).json()
    assert [x["name"] for x in body["items"]] == [ACTOR]
    body = client.get("/candidates", params={"min_documents": 2}).json()
    assert [x["name"] for x in body["items"]] == [NEW]
    body = client.get("/candidates", params={"limit": 1}).json()
    assert [x["name"] for x in body["items"]] == [NEW] and body["total"] == 2
    r = client.get("/candidates", params={"label": "Chunk"})
    assert r.status_code == 422
    assert (
        "label 'Chunk'" in r.json()["detail"] and "Intervention (Interventie)" in r.json()["detail"]
    )


def test_csv_quotes_cells_a_spreadsheet_would_run() -> None:
    """A name from an uploaded document that starts like a formula is written as text,
    the same in the CLI's --csv as in the web UI's download (both use candidates_csv)."""
    import csv
    import io

    from impact_graph.candidates import Candidate, candidates_csv

    hostile = '=HYPERLINK("http://x.example","klik")'
    rows = [
        Candidate("i1", "Intervention", "Interventie", hostile, aliases=["-1+1"]),
        Candidate("i2", "Intervention", "Interventie", "Buurtkamer"),
    ]
    got = list(csv.DictReader(io.StringIO(candidates_csv(rows))))
    assert got[0]["name"] == "'" + hostile
    assert got[0]["aliases"] == '["-1+1"]'  # JSON text of a list starts with "[": left as is
    assert got[1]["name"] == "Buurtkamer" and got[1]["documents"] == "0"
