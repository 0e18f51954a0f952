"""A failed record's row is its own field, not glued onto the path.

The ``--report`` JSON said ``"file": "corpus/records.csv row 3"`` for a bad CSV row (a JSONL
line, a RIS record), so a script could not open the file it named. ``file`` is now the
path and ``row`` (or ``line``) the record; people still read "records.csv row 3" in the
summary, the rejected file's reason and the API's problem sentence. On both backends, through
the CLI and the API upload.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from impact_graph.cli import app
from impact_graph.config import Settings
from impact_graph.ingest.embed import Embedder
from impact_graph.ingest.report import IngestReport
from impact_graph.store.port import GraphStore
from tests.test_api import (  # noqa: F401 - fixtures
    api_settings,
    auth,
    client,
    embedder,
    problem,
)
from tests.test_pipeline import cli_env

HEADER = "title,intervention,challenge,design,outcome,direction,year\n"
GOOD = "Buurtkamers tegen eenzaamheid,Buurtkamer,eenzaamheid,RCT,eenzaamheid,-,2024\n"
NO_TITLE = ",Buurtkamer,eenzaamheid,RCT,eenzaamheid,-,2024\n"


def test_the_report_keeps_the_path_and_the_row_apart() -> None:
    r = IngestReport()
    r.fail("c/data.csv", "the title column is empty", "fill it in", row=7)
    r.fail("c/notes.jsonl", "the line is not valid JSON", "fix it", line=4)
    r.fail("c/leeg.md", "the file holds no text", "add content")
    failures = r.to_dict()["failures"]
    assert [(f["file"], f["row"], f["line"]) for f in failures] == [
        ("c/data.csv", 7, None),
        ("c/notes.jsonl", None, 4),
        ("c/leeg.md", None, None),
    ]
    assert r.failure_lines() == [
        "c/data.csv row 7: the title column is empty; fill it in.",
        "c/notes.jsonl line 4: the line is not valid JSON; fix it.",
        "c/leeg.md: the file holds no text; add content.",
    ]


def test_a_bad_csv_row_is_reported_by_path_and_row(
    store: GraphStore,
    backend_settings: Settings,
    embedder: Embedder,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus = tmp_path / "corpus" / "research"
    corpus.mkdir(parents=True)
    csv_file = corpus / "records.csv"
    csv_file.write_text(HEADER + GOOD + NO_TITLE, encoding="utf-8")
    env = cli_env(backend_settings, tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    report_file = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["ingest", str(csv_file), "--no-progress", "--report", str(report_file)]
    )
    assert result.exit_code == 1, result.output
    rep = json.loads(report_file.read_text(encoding="utf-8"))
    assert rep["documents"]["new"] == 1 and rep["documents"]["failed"] == 1
    (failure,) = rep["failures"]
    assert Path(failure["file"]).resolve() == csv_file.resolve()  # a script can open it
    assert failure["row"] == 3 and failure["line"] is None  # header row 1, good row 2
    assert "title" in failure["reason"] and failure["hint"]
    (failed,) = [d for d in rep["per_document"] if d["status"] == "failed"]
    assert failed["reason"] == failure["reason"].rstrip(".")  # paired with its file
    # People still read the row: in the summary and next to the kept copy.
    assert "records.csv row 3" in " ".join(result.output.split())
    kept = Path(failure["kept_at"])
    reason = kept.with_name(kept.name + ".reason.txt").read_text(encoding="utf-8")
    assert "where: row 3" in reason


def test_an_upload_names_the_failed_row_apart_from_the_file(
    client: TestClient,  # noqa: F811 - the fixture
) -> None:
    body = (HEADER + GOOD.replace("Buurtkamers", "Huiskamers") + NO_TITLE).encode()
    r = client.post("/documents", files={"file": ("lijst.csv", body, "text/csv")}, headers=auth())
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["new"] == 1 and rep["failed"] == 1
    assert [(f["file"], f["row"], f["line"]) for f in rep["failures"]] == [("lijst.csv", 3, None)]
    for d in rep["documents"]:
        if d["doc_id"]:
            assert client.delete(f"/documents/{d['doc_id']}", headers=auth()).status_code == 200

    # Every row bad: refused, and the sentence says which row.
    only_bad = (HEADER + NO_TITLE).encode()
    body = problem(
        client.post(
            "/documents", files={"file": ("fout.csv", only_bad, "text/csv")}, headers=auth()
        ),
        422,
    )
    assert "(row 2)" in body["detail"], body["detail"]
    assert [(e["file"], e["row"]) for e in body["errors"]] == [("fout.csv", 2)]
