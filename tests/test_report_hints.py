"""The ingest summary says, in a sentence, why a defaulted plan may have named no programme.

A plan whose kind was only defaulted and whose title is its file name makes no Programme
(``nlp._title_is_a_guess``, H39). Before this hint the run said nothing about it, so a
user with plain-text plans saw no programme and no reason; ``--kind plan`` brings it back.
"""

from __future__ import annotations

from rich.console import Console

from impact_graph.ingest.kinds import DEFAULTED_REASON, detect_kind
from impact_graph.ingest.report import DocumentOutcome, IngestReport


def _render(report: IngestReport) -> str:
    console = Console(record=True, width=400, color_system=None)
    report.print(console)
    return " ".join(console.export_text().split())


def _defaulted(path: str, status: str = "new") -> DocumentOutcome:
    # The reason as detect_kind gives it for a text without cue words, not a copy of it.
    kind, reason = detect_kind("Boodschappen: melk, brood.")
    assert (kind, reason) == ("plan", DEFAULTED_REASON)
    return DocumentOutcome(path, f"document:{path}", status, kind, reason)


def test_a_defaulted_plan_gets_a_hint_naming_kind_plan() -> None:
    r = IngestReport(new=2, unchanged=1, files=3)
    r.documents = [
        _defaulted("c/Windows.txt"),
        _defaulted("c/notities.txt", "unchanged"),
        DocumentOutcome("c/plan/a.md", "document:a", "new", "plan", "folder 'plan'"),
    ]
    (hint,) = r.hints()
    assert hint.startswith("2 documents were read as a plan only by default")
    assert "--kind plan" in hint and "Programme" in hint
    text = _render(r)
    assert f"hint: {hint}" in text
    assert r.to_dict()["hints"] == [hint]


def test_one_defaulted_plan_is_spoken_of_in_the_singular() -> None:
    r = IngestReport(new=1, files=1)
    r.documents = [_defaulted("c/Windows.txt")]
    (hint,) = r.hints()
    assert hint.startswith("1 document was read") and "if it is a plan" in hint


def test_no_hint_when_every_kind_was_said_or_the_file_failed() -> None:
    r = IngestReport(new=1, failed=1, files=2)
    r.documents = [
        DocumentOutcome("c/a.md", "document:a", "new", "plan", "--kind plan"),
        DocumentOutcome("c/b.txt", "", "failed", "plan", DEFAULTED_REASON),
    ]
    r.fail("c/b.txt", "the file holds no text", "add content")
    assert r.hints() == []
    assert "hint:" not in _render(r)
    assert r.to_dict()["hints"] == []
