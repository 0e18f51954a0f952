"""``impact-graph search --format``: its help offered csv (the choices typer prints) while
the command refused it ("search answers are nested; use table or json"). The other
reading commands (stats, cypher, sparql) take ``--format table|json|csv``, so search does
too: one row per result, list-valued facts joined in one cell. Runs on a real embedded
FalkorDB with one ingested plan."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from impact_graph.cli import EXIT, SEARCH_CSV_COLUMNS, app
from impact_graph.store.falkordb_server import FalkorDBServer

runner = CliRunner()

PLAN = """---
title: Samen tegen eenzaamheid in Wadstede
kind: plan
programme: Samen Minder Alleen
gemeente: Wadstede
---
# Programmaplan Samen Minder Alleen

## Aanpak

Het programma Samen Minder Alleen zet Welzijn op Recept in tegen eenzaamheid bij ouderen.
Welzijn op Recept is door Movisie erkend als Goed beschreven.
Huisartsen verwijzen eenzame ouderen naar een welzijnscoach.
"""


def invoke(*args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory with the embedded store holding one plan."""
    root = tmp_path_factory.mktemp("cli-search")
    docs = root / "docs"
    docs.mkdir()
    (docs / "plan.md").write_text(PLAN, encoding="utf-8")
    d = root / "data"
    try:
        res = invoke("ingest", str(docs), "--data-dir", str(d), "--no-progress")
        assert res.exit_code == 0, res.output
        yield d
    finally:
        FalkorDBServer(d).stop()


def test_search_format_csv_gives_one_row_per_result(data_dir: Path) -> None:
    res = invoke(
        "search", "welzijn op recept eenzaamheid", "--format", "csv", "--data-dir", str(data_dir)
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert rows, res.output
    assert list(rows[0]) == list(SEARCH_CSV_COLUMNS)
    assert [r["rank"] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    wor = [
        r for r in rows if r["type"] == "intervention" and "welzijn op recept" in r["name"].lower()
    ]
    assert wor, rows
    assert wor[0]["recognition"] == "Goed beschreven"
    assert "Samen Minder Alleen" in wor[0]["programmes"].split("; ")
    assert wor[0]["arms"] == ""  # filled only with --explain

    # The same results, in the same order, as the JSON answer.
    res_json = invoke(
        "search", "welzijn op recept eenzaamheid", "--format", "json", "--data-dir", str(data_dir)
    )
    assert res_json.exit_code == 0, res_json.output
    assert [r["id"] for r in rows] == [r["id"] for r in json.loads(res_json.stdout)["results"]]

    explained = invoke(
        "search",
        "welzijn op recept",
        "--format",
        "csv",
        "--explain",
        "--limit",
        "3",
        "--data-dir",
        str(data_dir),
    )
    assert explained.exit_code == 0, explained.output
    rows = list(csv.DictReader(io.StringIO(explained.stdout)))
    assert 0 < len(rows) <= 3 and all(r["arms"] for r in rows), rows


def test_search_help_and_unknown_format_name_the_choices(data_dir: Path) -> None:
    res = runner.invoke(app, ["search", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    line = next(ln for ln in res.output.splitlines() if "--format" in ln)
    assert "<table|json|csv>" in line and "or csv" in line, line  # the help says it too
    assert "table or json" not in res.output

    res = invoke("search", "eenzaamheid", "--format", "xml", "--data-dir", str(data_dir))
    assert res.exit_code == EXIT["usage"]
    assert "--format" in res.output
    for choice in ("'table'", "'json'", "'csv'"):
        assert choice in res.output
