"""What a new user met on the command line (walk-through, H20): ``impact-graph sparql``
(researchers had ``cypher`` but no SPARQL twin), ``export -o`` into a folder that is not
there, and a Cypher syntax error told in FalkorDB's own errMsg/errCtx words."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from impact_graph.cli import EXIT, app
from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.view import OxigraphView, view_dir
from impact_graph.store.falkordb_server import FalkorDBServer
from tests.factories import doc_batch
from tests.test_sparql_http import build_settings

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args), env={"IMPACT_GRAPH_RDF": "oxigraph"})
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture
def rdf_dir(tmp_path: Path) -> Path:
    """A data directory whose RDF view holds one plan: a programme and two interventions."""
    view = OxigraphView(view_dir(build_settings(tmp_path)), RdfMapping(load_schema()))
    view.write_batch(
        doc_batch(
            "plan.md",
            [
                ("Programme", "Samen Sterk"),
                ("Intervention", "Welzijn op Recept"),
                ("Intervention", "Buurtkamer"),
            ],
            [("Samen Sterk", "USES", "Welzijn op Recept"), ("Samen Sterk", "USES", "Buurtkamer")],
        )
    )
    view.close()
    return tmp_path


SELECT = "SELECT ?i WHERE { ?i a ig:Intervention } ORDER BY ?i"


def test_sparql_select_as_table_json_and_csv(rdf_dir: Path) -> None:
    d = ["--data-dir", str(rdf_dir)]
    r = invoke("sparql", SELECT, "--format", "json", *d)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [
        {"i": "intervention:buurtkamer"},
        {"i": "intervention:welzijn-op-recept"},
    ]
    r = invoke("sparql", SELECT, "--format", "csv", *d)
    assert list(csv.reader(io.StringIO(r.stdout))) == [
        ["i"],
        ["intervention:buurtkamer"],
        ["intervention:welzijn-op-recept"],
    ]
    r = invoke("sparql", SELECT, "--limit", "1", *d)
    assert r.exit_code == 0 and "intervention:buurtkamer" in r.stdout
    assert "row cap" in r.output and "welzijn-op-recept" not in r.stdout


def test_sparql_ask_and_construct(rdf_dir: Path) -> None:
    d = ["--data-dir", str(rdf_dir)]
    r = invoke("sparql", "ASK { ?p ig:uses ?i }", *d)
    assert r.exit_code == 0 and r.stdout.strip() == "yes", r.output
    r = invoke("sparql", "CONSTRUCT { ?i a ig:Intervention } WHERE { ?i a ig:Intervention }", *d)
    assert r.exit_code == 0, r.output
    assert len(list(ox.parse(r.stdout.encode(), format=ox.RdfFormat.TURTLE))) == 2


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        ("SELECT ?x WHERE { ?x ?y }", "syntax", "line 1, column"),
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "refused", "read-only"),
        ("SELECT * WHERE { SERVICE <http://x.example/sparql> { ?s ?p ?o } }", "refused", ""),
    ],
)
def test_sparql_errors_are_sentences_with_exit_codes(
    rdf_dir: Path, query: str, code: str, words: str
) -> None:
    r = invoke("sparql", query, "--data-dir", str(rdf_dir))
    assert r.exit_code == EXIT[code], r.output
    assert r.output.startswith("error: ") and words in r.output


def test_sparql_without_a_view_says_what_to_do(tmp_path: Path) -> None:
    r = invoke("sparql", SELECT, "--data-dir", str(tmp_path / "nowhere"))
    assert r.exit_code == EXIT["usage"] and "ingest documents first" in r.output
    r = invoke("sparql", SELECT, "--limit", "0", "--data-dir", str(tmp_path))
    assert r.exit_code == EXIT["usage"] and "--limit" in r.output


def test_export_output_that_cannot_be_written_is_a_sentence(rdf_dir: Path, tmp_path: Path) -> None:
    d = ["--data-dir", str(rdf_dir)]
    missing = tmp_path / "nog-niet" / "graaf.ttl"
    r = invoke("export", "--format", "ttl", "-o", str(missing), *d)
    assert r.exit_code == EXIT["usage"], r.output
    assert "Errno" not in r.output
    assert f"the folder {missing.parent} does not exist" in " ".join(r.output.split())
    r = invoke("export", "--format", "graphml", "-o", str(tmp_path), *d)
    assert r.exit_code == EXIT["usage"] and "is a folder" in r.output
    a_file = tmp_path / "a.txt"
    a_file.write_text("x")
    r = invoke("export", "--format", "csv", "-o", str(a_file), *d)
    assert r.exit_code == EXIT["usage"] and "is a file" in r.output
    r = invoke("export", "--format", "nt", "-o", str(tmp_path / "ok.nt"), *d)
    assert r.exit_code == 0 and (tmp_path / "ok.nt").stat().st_size > 0


@pytest.fixture(scope="module")
def falkor_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("walk-cli") / "data"
    assert invoke("db", "start", "--data-dir", str(d)).exit_code == 0
    yield d
    FalkorDBServer(d).stop()


def test_cypher_syntax_error_names_line_and_column(falkor_dir: Path) -> None:
    """The CLI said "errMsg: Invalid input 'R' ... errCtx: MATCH (n RETURN n
    errCtxOffset: 9"; POST /cypher said it as a sentence. Now both say the same."""
    r = invoke("cypher", "MATCH (n RETURN n", "--data-dir", str(falkor_dir))
    assert r.exit_code == EXIT["syntax"], r.output
    text = " ".join(r.output.split())
    assert "errMsg" not in text and "errCtx" not in text
    assert "at line 1, column 10" in text and text.endswith("fix the query and send it again.")


@pytest.mark.parametrize(
    ("total", "title"),
    [
        (150, "the 150 best results for: eenzaamheid"),
        (1, "1 result for: eenzaamheid"),
        (0, "0 results for: eenzaamheid"),
    ],
)
def test_search_title_says_when_the_list_is_capped(total: int, title: str) -> None:
    from impact_graph.cli import results_title

    assert results_title(total, "eenzaamheid") == title


def test_stats_csv_is_csv(falkor_dir: Path) -> None:
    """--help offered csv and the command printed its tables instead."""
    r = invoke("stats", "--format", "csv", "--data-dir", str(falkor_dir))
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["kind", "name", "count"] and rows[1][0] == "documents"
    assert all(len(row) == 3 and row[2].isdigit() for row in rows[1:])


def test_validate_offers_only_the_formats_it_writes(rdf_dir: Path) -> None:
    """validate and check offered csv and printed sentences; now csv is refused by name
    and json still is json."""
    d = ["--data-dir", str(rdf_dir)]
    r = runner.invoke(app, ["validate", "--format", "csv", *d])
    assert r.exit_code == EXIT["usage"] and "'csv' is not one of" in " ".join(r.output.split())
    r = invoke("validate", "--format", "json", *d)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["conforms"] is True
