"""'Het programma X' names a programme, unless a vocabulary holds X as a concept of another
class: Dutch texts call interventions "programma" too. The demo's overview of lifestyle
interventions ("Het programma De Gezonde Schoolkantine van het Voedingscentrum") made a
candidate Programme "De Gezonde Schoolkantine" beside the vocabulary Intervention of that
name, and search offered it as a programme facet."""

from __future__ import annotations

from pathlib import Path

from impact_graph.ingest import nlp
from impact_graph.ingest.kinds import kind_was_defaulted
from impact_graph.ingest.readers import read_path
from impact_graph.vocab import load_vocabulary

DEMO = Path(__file__).resolve().parents[1] / "ingest" / "demo"


def _names(path: Path, label: str) -> set[str]:
    (doc,) = read_path(path, root=DEMO)
    ext = nlp.extract(doc, load_vocabulary(), known={})
    return {e.name for e in ext.entities.values() if e.label == label}


def test_a_vocabulary_intervention_called_programma_is_no_programme() -> None:
    path = DEMO / "research" / "slimmer-beweegkuur-gezonde-schoolkantine.md"
    assert "De Gezonde Schoolkantine" in _names(path, "Intervention")
    assert _names(path, "Programme") == set()


def test_a_programme_no_vocabulary_knows_is_still_found() -> None:
    path = DEMO / "policy" / "lindenhoven-nota-gezondheidsbeleid-2024-2027.md"
    assert "Kansrijk Noord" in _names(path, "Programme")


# --- a plan's title as its programme ----------------------------------------------------

#: Plain text with no cue word for any kind: its kind is only the default "plan".
NOTES = (
    "De computer start traag op na de laatste update en het scherm blijft soms een paar "
    "minuten zwart voordat het aanmeldvenster verschijnt, ook na een herstart.\n\n"
    "Het helpt om de kabel van de monitor opnieuw aan te sluiten.\n"
)


def _programmes(folder: Path, name: str, text: str, kind: str | None = None) -> set[str]:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    (doc,) = read_path(path, root=folder, kind=kind)
    assert kind_was_defaulted(doc.kind_reason) is (kind is None), doc.kind_reason
    ext = nlp.extract(doc, load_vocabulary(), known={})
    return {e.name for e in ext.entities.values() if e.label == "Programme"}


def test_a_file_name_is_no_programme_when_nothing_says_the_text_is_a_plan(
    tmp_path: Path,
) -> None:
    """ "Windows.txt" made a Programme "Windows" (search facets, network, entity pages)."""
    assert _programmes(tmp_path, "Windows.txt", NOTES) == set()
    # A short first line of plain text is the reader's guess at a title, no more.
    assert _programmes(tmp_path, "notities.txt", "Opstartproblemen\n\n" + NOTES) == set()
    # A file name the reader makes a title of, in a format with headings but none used.
    assert _programmes(tmp_path, "Windows.md", NOTES) == set()


def test_a_plan_title_the_document_or_the_user_gives_still_names_its_programme(
    tmp_path: Path,
) -> None:
    # The user says it is a plan: its title, even from the file name, names the programme.
    assert _programmes(tmp_path, "Windows.txt", NOTES, kind="plan") == {"Windows"}
    # The document's own words, with the kind still only defaulted.
    front = f"---\nprogramme: Samen Sterk\n---\n{NOTES}"
    assert _programmes(tmp_path, "a.md", front) == {"Samen Sterk"}
    titled = f"---\ntitle: Buurtkracht Oost – werkplan\n---\n{NOTES}"
    assert _programmes(tmp_path, "b.md", titled) == {"Buurtkracht Oost"}
    assert _programmes(tmp_path, "c.md", f"# Programma Buurtkracht\n\n{NOTES}") == {"Buurtkracht"}
    assert _programmes(tmp_path, "d.md", f"# Wijkkracht Zuid\n\n{NOTES}") == {"Wijkkracht Zuid"}
