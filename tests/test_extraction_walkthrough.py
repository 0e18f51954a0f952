"""Four extraction faults a programme manager's walk-through found (session 11).

Each test names what the pages showed: a goal named "Doel: in 2028 ...", the
thuiszitters programme's goal listed twice (its opdracht and its programme plan state it
in other words), "gemeente" listed as another name of every municipality, and an
uploaded note whose first heading became a Programme.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph.ingest import nlp, readers
from impact_graph.ingest.extraction import Extraction
from impact_graph.ingest.kinds import kind_was_defaulted
from impact_graph.ingest.resolve import KnownEntities, Resolver
from impact_graph.vocab import load_vocabulary

DEMO = Path(__file__).resolve().parent.parent / "ingest" / "demo"


def _extract(path: Path, root: Path, known: KnownEntities | None = None) -> Extraction:
    (doc,) = readers.read_file(path, root=root).documents
    return nlp.extract(doc, load_vocabulary(), {} if known is None else known)


def _remember(ext: Extraction, known: KnownEntities) -> None:
    """What the pipeline hands the next document: each entity's key, name and aliases."""
    for e in ext.entities.values():
        known.setdefault(e.label, []).append((e.key, e.name, [m.surface for m in e.merges]))


def _goals(ext: Extraction) -> dict[str, str]:
    return {e.key: e.merges[0].rule for e in ext.entities.values() if e.label == "Goal"}


# --- 1. a goal's label is no part of its name ---------------------------------------------


@pytest.mark.parametrize(
    ("line", "name"),
    [
        (
            "Doel: in 2028 is het aantal jongeren dat rookt met 20% gedaald.",
            "In 2028 is het aantal jongeren dat rookt met 20% gedaald",
        ),
        (
            "Doelstelling: uiterlijk 2027 hebben 300 huishoudens een energiecoach gesproken.",
            "Uiterlijk 2027 hebben 300 huishoudens een energiecoach gesproken",
        ),
        (
            "Doelen • In 2030 is de CO2-uitstoot van de woningen met 40% gedaald.",
            "In 2030 is de CO2-uitstoot van de woningen met 40% gedaald",
        ),
    ],
)
def test_a_goal_is_named_without_its_label(tmp_path: Path, line: str, name: str) -> None:
    path = tmp_path / "plan" / "werkplan.md"
    path.parent.mkdir()
    path.write_text(
        "---\ntitle: Werkplan Rookvrij Wadstede\nprogramme: Rookvrij Wadstede\n"
        f"date: 2024-03-01\n---\n# Werkplan\n\n## Wat willen we bereiken\n\n{line}\n"
    )
    goals = _goals(_extract(path, tmp_path))
    assert list(goals) == [name]


def test_the_demo_goals_carry_no_label() -> None:
    for rel in (
        "plan/lindenhoven-gezond-opgroeien-programma-aanpak.md",
        "plan/lindenhoven-iedereen-op-school-programma-aanpak.md",
    ):
        goals = _goals(_extract(DEMO / rel, DEMO))
        assert goals, rel
        assert not any(k.lower().startswith(("doel", "doelen")) for k in goals), goals


def test_a_sentence_about_a_goal_keeps_its_words() -> None:
    """Only a label before ':' or a bullet goes: "Doel is dat ..." is the sentence itself."""
    assert nlp._goal_text("Doel is dat in 2027 150 inwoners zijn verwezen.") == (
        "Doel is dat in 2027 150 inwoners zijn verwezen"
    )
    assert nlp._goal_text("Doelgroep: 80 gezinnen in 2026.") == "Doelgroep: 80 gezinnen in 2026"


# --- 2. the thuiszitters goal restated in other words is one goal -------------------------


def test_the_thuiszitters_goal_of_opdracht_and_plan_is_one_goal() -> None:
    """The opdracht: "In 2027 is het aantal thuiszitters in Lindenhoven met 30% gedaald
    ten opzichte van 2023"; the programme plan: "Doel: in 2027 is het aantal thuiszitters
    met 30% gedaald (ten opzichte van 94 in 2023) en zit geen kind langer ...". Neither
    starts the other (the place, the baseline), so rule 4's prefix test kept them apart."""
    known: KnownEntities = {}
    opdracht = _extract(DEMO / "plan/lindenhoven-iedereen-op-school-opdracht.md", DEMO, known)
    _remember(opdracht, known)
    (goal,) = _goals(opdracht)
    plan = _extract(DEMO / "plan/lindenhoven-iedereen-op-school-programma-aanpak.md", DEMO, known)
    assert _goals(plan) == {goal: "restated"}
    programme = ("Programme", "Iedereen op School")
    assert any(
        (r.src, r.type, r.dst) == (programme, "HAS_GOAL", ("Goal", goal)) for r in plan.relations
    )


def test_goals_whose_heads_differ_stay_apart() -> None:
    a = "In 2027 is het aantal thuiszitters in Lindenhoven met 30% gedaald"
    resolver = Resolver(known={"Goal": [(a, a, [])]})
    # Another target number, another thing counted, another place.
    for b in (
        "In 2027 is het aantal thuiszitters met 25% gedaald ten opzichte van 2023",
        "In 2027 is het aantal voortijdig schoolverlaters met 30% gedaald",
        "In 2027 is het aantal thuiszitters in Wadstede met 30% gedaald",
        "In 2028 is het aantal thuiszitters met 30% gedaald",
    ):
        assert resolver.match("Goal", b).merge.rule == "new", b
    # More than a few words added is more than a place or a qualifier.
    c = "In 2027 is het aantal thuiszitters dat langer dan drie maanden thuis zit met 30% gedaald"
    assert Resolver(known={"Goal": [(a, a, [])]}).match("Goal", c).merge.rule == "new"


# --- 3. a bare type word is no other name of an organisation ------------------------------


def test_de_gemeente_is_no_alias_of_the_municipality(tmp_path: Path) -> None:
    path = tmp_path / "plan" / "opdracht.md"
    path.parent.mkdir()
    path.write_text(
        "---\ntitle: Opdracht Samen Actief\nprogramme: Samen Actief\ngemeente: Wadstede\n---\n"
        "# Opdracht\n\nGemeente Wadstede en Stichting Welzijn Wadstede werken samen met de GGD "
        "Kustland. De gemeente betaalt de buurtkamers; de GGD meet de eenzaamheid.\n\n"
        "Welzijn Wadstede opent in mei een tweede buurtkamer.\n"
    )
    ext = _extract(path, tmp_path)
    actors = {e.name: e for e in ext.entities.values() if e.label == "Actor"}
    town, ggd = actors["gemeente Wadstede"], actors["GGD Kustland"]
    text = ext.document.text
    # The mention is still the municipality's ...
    assert "gemeente" in {text[s:e].lower() for s, e in town.mentions}
    assert "GGD" in {text[s:e] for s, e in ggd.mentions}
    # ... but not another name of it, nor "GGD" of GGD Kustland.
    assert not any(m.surface.lower() == "gemeente" for m in town.merges)
    assert not any(m.surface == "GGD" for m in ggd.merges)
    assert "gemeente" not in actors and "GGD" not in actors
    # A shorter name of a named organisation still is another name of it.
    welzijn = actors["Stichting Welzijn Wadstede"]
    assert ("Welzijn Wadstede", "coreference") in {(m.surface, m.rule) for m in welzijn.merges}


# --- 4. an uploaded note's heading is no programme ----------------------------------------

NOTE = (
    "Op 12 maart bezochten we de buurtkamer in Wadstede-Oost. Vrijwilligers van Stichting "
    "Welzijn Wadstede vertelden hoe ouderen elkaar daar wekelijks ontmoeten.\n\n"
    "Een bewoner vertelde dat ze sinds de koffieochtenden minder alleen is.\n"
)


def _programmes(tmp_path: Path, name: str, text: str, known: KnownEntities | None = None) -> set:
    path = tmp_path / "uploads" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    ext = _extract(path, tmp_path, known)
    assert kind_was_defaulted(ext.document.kind_reason), ext.document.kind_reason
    return {e.name for e in ext.entities.values() if e.label == "Programme"}


def test_an_uploaded_notes_heading_is_no_programme(tmp_path: Path) -> None:
    heading = "# Verslag werkbezoek buurtkamer Samen Minder Alleen\n\n"
    assert _programmes(tmp_path, "verslag.md", heading + NOTE) == set()
    assert _programmes(tmp_path, "notities.md", "# Notities overleg 12 maart\n\n" + NOTE) == set()


def test_a_notes_heading_that_is_a_name_or_a_known_programme_still_names_it(
    tmp_path: Path,
) -> None:
    # A heading that reads as a name (as in tests/test_patterns_programme.py).
    assert _programmes(tmp_path, "a.md", "# Samen Minder Alleen\n\n" + NOTE) == {
        "Samen Minder Alleen"
    }
    # Written in sentence case, it names the programme the graph already holds.
    known: KnownEntities = {"Programme": [("Samen Minder Alleen", "Samen Minder Alleen", [])]}
    assert _programmes(tmp_path, "b.md", "# Samen minder alleen\n\n" + NOTE, known) == {
        "Samen Minder Alleen"
    }
    assert _programmes(tmp_path, "c.md", "# Samen minder alleen\n\n" + NOTE) == set()
    # A heading that says "programma X" names X.
    assert _programmes(tmp_path, "d.md", "# Notities programma Samen Minder Alleen\n\n" + NOTE) == {
        "Samen Minder Alleen"
    }
