"""``impact-graph export`` and ``impact-graph validate`` on a real Oxigraph view."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from impact_graph.cli import app
from impact_graph.config import Settings
from impact_graph.model import Edge, Node, make_id, span_ref
from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import OxigraphView, view_dir
from tests.factories import doc_batch
from tests.test_sparql_http import build_settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    view = OxigraphView(view_dir(build_settings(tmp_path)), RdfMapping(load_schema()))
    # A programme document: the programme, its intervention and the actor taking part.
    b = doc_batch(
        "plan.md",
        [
            ("Programme", "Samen Sterk"),
            ("Intervention", "Welzijn op Recept"),
            ("Actor", "Gemeente Utrecht"),
        ],
        [
            ("Samen Sterk", "USES", "Welzijn op Recept"),
            ("Gemeente Utrecht", "PARTICIPATES_IN", "Samen Sterk"),
        ],
    )
    for e in b.edges:
        if e.type == "PARTICIPATES_IN":
            e.props["role"] = "opdrachtgever"
    view.write_batch(b)
    return tmp_path


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env={"IMPACT_GRAPH_RDF": "oxigraph"})


def test_export_turtle_whole_graph_and_one_programme(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.ttl"
    r = invoke("export", "--format", "ttl", "--output", str(out), "--data-dir", str(data_dir))
    assert r.exit_code == 0, r.output
    everything = list(ox.parse(out.read_bytes(), format=ox.RdfFormat.TURTLE))
    r = invoke(
        "export", "--format", "nt", "--programme", "Samen Sterk", "--data-dir", str(data_dir)
    )
    assert r.exit_code == 0, r.output
    part = list(ox.parse(r.stdout.encode(), format=ox.RdfFormat.N_TRIPLES))
    assert 0 < len(part) < len(everything)
    subjects = {t.subject.value for t in part}
    assert any(s.endswith("programme:samen-sterk") for s in subjects)
    assert not any(s.endswith("area:utrecht") for s in subjects)  # from c.md only
    r = invoke("export", "--programme", "Nope", "--data-dir", str(data_dir))
    assert r.exit_code == 2
    said = " ".join(r.output.split())
    # The parameter, that nothing was found, and the one real programme to give instead.
    assert "--programme 'Nope': no programme with that id or exact name was found" in said
    assert "(it holds: programme:samen-sterk (Samen Sterk))" in said
    assert "eenzaamheid-utrecht" not in said  # the old made-up example


def test_unknown_programme_names_five_real_ones_and_how_to_list_all(data_dir: Path) -> None:
    view = OxigraphView(view_dir(Settings(data_dir=data_dir)), RdfMapping(load_schema()))
    names = [f"Programma {c}" for c in "GFEDCBA"]  # 7 more, 8 in all
    for name in names:
        view.write_batch(doc_batch(f"{name}.md", [("Programme", name)]))
    r = invoke("export", "--programme", "programme:onbekend", "--data-dir", str(data_dir))
    assert r.exit_code == 2
    said = " ".join(r.output.split())
    assert "--programme 'programme:onbekend': no programme" in said
    shown = ", ".join(f"{make_id('Programme', n)} ({n})" for n in sorted(names)[:5])
    assert f"(5 of its 8: {shown.replace(', ', '; ')})" in said, said
    # The listing command it suggests runs as printed and lists all eight.
    command = said.split("list them all with: ")[1]
    assert command.startswith('impact-graph sparql "') and command.endswith('"')
    r = invoke("sparql", command.split('"')[1], "--format", "json", "--data-dir", str(data_dir))
    assert r.exit_code == 0, r.output
    listed = {row["name"] for row in json.loads(r.stdout)}
    assert listed == {"Samen Sterk", *names}
    # A name works as well as an id: the first one suggested exports.
    r = invoke("export", "--programme", "Programma A", "--data-dir", str(data_dir))
    assert r.exit_code == 0, r.output


def test_unknown_programme_in_a_view_without_programmes(tmp_path: Path) -> None:
    view = OxigraphView(view_dir(build_settings(tmp_path)), RdfMapping(load_schema()))
    view.write_batch(doc_batch("x.md", [("Intervention", "Buurtcirkel")]))
    r = invoke("export", "--programme", "Samen Sterk", "--data-dir", str(tmp_path))
    assert r.exit_code == 2
    said = " ".join(r.output.split())
    assert "--programme 'Samen Sterk': no programme" in said
    assert "holds no programmes yet" in said and "without --programme" in said


def test_export_jsonld_graphml_and_csv(data_dir: Path, tmp_path: Path) -> None:
    r = invoke("export", "--format", "jsonld", "--data-dir", str(data_dir))
    assert r.exit_code == 0 and list(ox.parse(r.stdout.encode(), format=ox.RdfFormat.JSON_LD))

    gml = tmp_path / "g.graphml"
    r = invoke("export", "--format", "graphml", "-o", str(gml), "--data-dir", str(data_dir))
    assert r.exit_code == 0, r.output
    g = nx.read_graphml(gml)
    prog = make_id("Programme", "Samen Sterk")
    assert g.nodes[prog]["label"] == "Programme"
    roles = [
        d.get("role") for _, _, d in g.in_edges(prog, data=True) if d["type"] == "PARTICIPATES_IN"
    ]
    assert roles == ["opdrachtgever"]

    r = invoke(
        "export", "--format", "csv", "-o", str(tmp_path / "csv"), "--data-dir", str(data_dir)
    )
    assert r.exit_code == 0, r.output
    with open(tmp_path / "csv" / "nodes.csv", encoding="utf-8") as f:
        nodes = list(csv.DictReader(f))
    with open(tmp_path / "csv" / "edges.csv", encoding="utf-8") as f:
        edges = list(csv.DictReader(f))
    wor = next(n for n in nodes if n["id"] == make_id("Intervention", "Welzijn op Recept"))
    # Shared by three documents: the merged provenance list.
    assert sorted(wor["sources"].split(" | ")) == [
        "document:a-md",
        "document:b-md",
        "document:plan-md",
    ]
    assert {e["type"] for e in edges} >= {
        "USES",
        "PARTICIPATES_IN",
        "MENTIONS",
        "HAS_CHUNK",
        "ADDRESSES",
    }
    r = invoke("export", "--format", "csv", "--data-dir", str(data_dir))
    assert r.exit_code == 2 and "--output" in r.output


def test_validate_passes_then_lists_violations_in_sentences(data_dir: Path) -> None:
    r = invoke("validate", "--data-dir", str(data_dir))
    assert r.exit_code == 0, r.output
    assert "conforms" in r.output

    view = OxigraphView(view_dir(Settings(data_dir=data_dir)), RdfMapping(load_schema()))
    b = doc_batch("bad.md", [("Actor", "Stichting X")])
    doc = b.doc_id
    actor = next(n for n in b.nodes if n.label == "Actor")
    actor.props["kind"] = "company"
    effect = Node(
        make_id("Effect", "x"),
        "Effect",
        {"name": "minder eenzaamheid", "direction": "-"},
        spans=[span_ref(doc, 0, 5)],
    )
    b.nodes.append(effect)
    b.edges.append(Edge(actor.id, "DELIVERS", effect.id, spans=[span_ref(doc, 0, 5)]))
    view.write_batch(b)

    r = invoke("validate", "--data-dir", str(data_dir))
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert any(
        "actor:stichting-x (from document:bad-md)" in ln and "'kind'" in ln and "company" in ln
        for ln in lines
    )
    assert any("effect:x" in ln and "U+2212" in ln for ln in lines)
    assert any("An Effect needs an 'outcome'" in ln for ln in lines)
    assert "violation(s)" in r.output


def test_commands_refuse_a_missing_view(tmp_path: Path) -> None:
    r = invoke("validate", "--data-dir", str(tmp_path / "nothing"))
    assert r.exit_code == 2 and "no RDF view" in r.output
    assert not (tmp_path / "nothing").exists()
