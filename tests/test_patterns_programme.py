"""'Het programma X' names a programme, unless a vocabulary holds X as a concept of another
class: Dutch texts call interventions "programma" too. The demo's overview of lifestyle
interventions ("Het programma De Gezonde Schoolkantine van het Voedingscentrum") made a
candidate Programme "De Gezonde Schoolkantine" beside the vocabulary Intervention of that
name, and search offered it as a programme facet."""

from __future__ import annotations

from pathlib import Path

from impact_graph.ingest import nlp
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
