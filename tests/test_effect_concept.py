"""An Effect carries the IRI of the outcome concept it is about.

The search's concept arm finds Effects by their ``concept``; the ingest stored only the
outcome's prefLabel, so no Effect was ever reached that way (demo: 0 of 45 had one).
"""

from __future__ import annotations

from pathlib import Path

from impact_graph.ingest.nlp import extract
from impact_graph.ingest.readers._common import make_document
from impact_graph.ingest.readers.markdown import read_markdown
from impact_graph.vocab import load_vocabulary

V = "https://w3id.org/impact-graph/vocab/"


def _effects(tmp_path: Path, body: str) -> dict[str, str | None]:
    path = tmp_path / "doc.md"
    path.write_text(f"---\ntitle: Onderzoek\nkind: research\n---\n\n{body}", encoding="utf-8")
    doc = make_document(
        read_markdown(path.read_text(), path), path=path, root=tmp_path, fmt="md", kind=None
    )
    ext = extract(doc, load_vocabulary())
    return {
        str(e.props["outcome"]): e.concept for (lb, _k), e in ext.entities.items() if lb == "Effect"
    }


def test_an_effect_on_a_vocabulary_outcome_carries_its_concept(tmp_path: Path) -> None:
    found = _effects(tmp_path, "Welzijn op Recept vermindert eenzaamheidsgevoelens bij ouderen.")
    assert found == {"eenzaamheidsgevoelens": V + "outcomes/eenzaamheidsgevoelens"}


def test_an_effect_on_an_unknown_outcome_has_none(tmp_path: Path) -> None:
    found = _effects(tmp_path, "Welzijn op Recept vermindert de spanning in de wijk.")
    assert found and all(c is None for c in found.values()), found
