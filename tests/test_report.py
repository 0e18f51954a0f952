"""The ingest summary says what its counts mean and why each failed file failed."""

from __future__ import annotations

from collections import Counter

from rich.console import Console

from impact_graph.ingest.report import DocumentOutcome, IngestReport


def _render(report: IngestReport, per_file: bool = True) -> str:
    console = Console(record=True, width=200, color_system=None)
    report.print(console, per_file=per_file)
    return console.export_text()


def _report() -> IngestReport:
    r = IngestReport(new=2, failed=3, files=4)
    r.entities = Counter({"Actor": 5})
    r.edges = Counter({"MENTIONS": 9})
    r.documents = [
        DocumentOutcome("c/a.md", "document:c-a-md", "new", "plan", "folder 'plan'"),
        DocumentOutcome("c/leeg.md", "", "failed"),
        DocumentOutcome("c/data.csv", "", "failed"),
        DocumentOutcome("c/data.csv", "", "failed"),
        DocumentOutcome("c/b.md", "document:c-b-md", "new", "story", "--kind story"),
    ]
    r.fail("c/leeg.md", "the file holds no text", "add content or remove the file")
    r.fail("c/data.csv", "the row has 4 columns where the header has 6", "fix row 3", row=3)
    r.fail("c/data.csv", "the title column is empty", "fill it in", row=7)
    return r


def test_failed_rows_say_why_next_to_the_file() -> None:
    text = _render(_report())
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 4 and cells[0].startswith("c/"):
            rows.setdefault(cells[0], []).append(cells)
    assert rows["c/leeg.md"][0][1:] == ["failed", "—", "the file holds no text"]
    assert [r[3] for r in rows["c/data.csv"]] == [
        "the row has 4 columns where the header has 6",
        "the title column is empty",
    ]
    assert rows["c/a.md"][0][3] == "folder 'plan'"  # kind reasons unchanged
    d = _report().to_dict()["per_document"]
    assert d[1]["reason"] == "the file holds no text" and "reason" not in d[0]


def test_fact_counts_say_they_are_per_document() -> None:
    text = _render(_report(), per_file=False)
    assert "counted per document" in text and "in documents" in text
    assert "impact-graph stats" in text


def test_write_bar_counts_documents_written_before_the_last_file_was_read() -> None:
    """The bar's write task counts every document queued in the run, so its end agrees
    with the summary: a document written while files were still being read is counted
    as done, not left out (the demo showed "78/78" beside "documents new 79")."""
    import io
    from pathlib import Path

    from rich.progress import Progress

    from impact_graph.ingest.pipeline import _Bar

    with Progress(console=Console(file=io.StringIO(), width=120)) as prog:
        bar = _Bar(prog, total=3)
        for name in ("a.md", "b.md", "c.csv"):
            bar.read(Path(name))
            bar.queued()
        bar.queued()  # c.csv holds two records: four documents from three files
        bar.settled()  # one document written before reading ends
        bar.reading_done()
        (write,) = [t for t in prog.tasks if t.fields["stage"] == "write"]
        assert (write.description, write.completed, write.total) == (
            "embedding and writing 4 documents",
            1,
            4,
        )
        for _ in range(3):
            bar.settled()
        bar.finish()
        assert (write.completed, write.total) == (4, 4)


def test_write_bar_absent_when_every_queued_document_is_written_during_reading() -> None:
    """Nothing left to write when the last file is read: no write task is announced."""
    from pathlib import Path

    from impact_graph.ingest.pipeline import _Bar

    bar = _Bar(None, total=1)
    bar.read(Path("a.md"))
    bar.queued()
    bar.settled()
    bar.reading_done()
    bar.finish()
    assert bar.shown == ["a.md", "all files read", "done"]
