"""A record's outcome reaches its concept, and the source's wording of it is its measure.

Session 9 left three gaps: Dutch free-text outcomes of the records ("aantal
huisartsbezoeken", "kans op betaald werk") reached no outcome concept, so the search's
concept arm never found those Effects; an outcome without a size lost its bracketed
measure ("eenzaamheid (De Jong Gierveld-schaal)"), because the measure only rode along
in the magnitude; and the Effect's concept was looked up again from its name where the
caller had already found it. These run the real records reader and extraction.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph.ingest.extraction import Entity
from impact_graph.ingest.nlp import extract
from impact_graph.ingest.readers import read_file
from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.vocab import Vocabulary, load_vocabulary

OC = "https://w3id.org/impact-graph/vocab/outcomes/"
HEADER = "title,intervention,outcome,direction,effect_size\n"


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def _meta_effects(tmp_path: Path, rows: str, vocab: Vocabulary) -> dict[str, Entity]:
    """Record title → the Effect its outcome field states (rule ``meta:outcome``)."""
    f = tmp_path / "research" / "records.csv"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(HEADER + rows, encoding="utf-8")
    out = {}
    for doc in read_file(f, root=tmp_path).documents:
        ext = extract(doc, vocab, {})
        (effect,) = [
            e for e in ext.entities.values() if e.label == "Effect" and e.rule == "meta:outcome"
        ]
        out[doc.title] = effect
    return out


def test_dutch_free_text_outcomes_reach_their_concept_and_keep_their_wording(
    tmp_path: Path, vocab: Vocabulary
) -> None:
    found = _meta_effects(
        tmp_path,
        "Huisarts,Welzijn op Recept,aantal huisartsbezoeken,-,-20%\n"
        "Werk,duale trajecten taal en werk,kans op betaald werk,+,\n",
        vocab,
    )
    gp, work = found["Huisarts"], found["Werk"]
    assert (gp.concept, gp.props["outcome"]) == (OC + "zorggebruik", "zorggebruik")
    assert gp.props["measure"] == "aantal huisartsbezoeken"
    assert gp.props["magnitude"] == "-20%"  # the measure is the outcome's wording, not a size's
    assert (work.concept, work.props["outcome"]) == (
        OC + "arbeidsparticipatie",
        "arbeidsparticipatie",
    )
    assert work.props["measure"] == "kans op betaald werk"
    # The outcome is the concept's own name, as for any other Effect on a concept.
    for e in (gp, work):
        assert e.props["outcome"] == vocab.concepts[e.concept or ""].pref_nl


def test_an_outcome_without_a_size_keeps_its_bracketed_measure(
    tmp_path: Path, vocab: Vocabulary
) -> None:
    found = _meta_effects(
        tmp_path, "Eenzaam,Welzijn op Recept,eenzaamheid (De Jong Gierveld-schaal),-,\n", vocab
    )
    e = found["Eenzaam"]
    assert e.concept == OC + "eenzaamheidsgevoelens"
    assert e.props["measure"] == "De Jong Gierveld-schaal"
    assert "magnitude" not in e.props


def test_free_text_without_a_label_or_with_a_negation_stays_whole(
    tmp_path: Path, vocab: Vocabulary
) -> None:
    found = _meta_effects(
        tmp_path,
        "Isolatie,energiecoach,isolatiemaatregel genomen,+,\n"
        # "huisartsbezoek" inside, but the text is about its absence: not zorggebruik.
        "Geen,Welzijn op Recept,geen huisartsbezoek meer nodig,+,\n",
        vocab,
    )
    for title, outcome in (
        ("Isolatie", "isolatiemaatregel genomen"),
        ("Geen", "geen huisartsbezoek meer nodig"),
    ):
        e = found[title]
        assert e.props["outcome"] == outcome and e.concept is None
        assert "measure" not in e.props


def test_the_effect_takes_the_concept_its_caller_found(
    tmp_path: Path, vocab: Vocabulary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sentence's outcome concept comes from the matcher's hit; its name is not looked
    up in the vocabulary again to find the concept a second time."""
    asked: list[str] = []
    lookup = Vocabulary.lookup

    def spy(self: Vocabulary, term: str, scheme: str | None = None) -> list:  # type: ignore[type-arg]
        asked.append(term)
        return lookup(self, term, scheme)

    monkeypatch.setattr(Vocabulary, "lookup", spy)
    f = tmp_path / "research" / "coach.md"
    f.parent.mkdir(parents=True)
    f.write_text(
        "# Energiecoaches\n\nDe energiecoach vermindert het gasverbruik met 7%.\n", "utf-8"
    )
    (doc,) = read_file(f, root=tmp_path).documents
    ext = extract(doc, vocab, {})
    (effect,) = [e for e in ext.entities.values() if e.label == "Effect"]
    assert effect.concept == OC + "gasverbruik"
    assert "gasverbruik" not in asked, asked


def test_measure_is_an_effect_property_of_the_ontology_and_the_rdf_view() -> None:
    schema = load_schema()
    effect = {p.name: p for p in schema.node_class("Effect").properties}
    assert effect["measure"].datatype == "string"
    iri = RdfMapping(schema).prop("measure")
    assert str(iri).endswith("#measure>") or str(iri).endswith("#measure")


def test_an_effect_phrased_with_a_challenge_keeps_the_challenge_concept(
    tmp_path: Path, vocab: Vocabulary
) -> None:
    """Decision, not a fix: "verminderde eenzaamheid" carries ch:eenzaamheid, not the
    outcome outcomes.ttl relates to it (skos:related is an association; taking it left
    the search's figures unchanged and put other Effects under the wrong outcome, see
    `_Run._outcome_concept`). The link is there for the search to expand."""
    f = tmp_path / "research" / "buurt.md"
    f.parent.mkdir(parents=True)
    f.write_text("# Buurtkamer\n\nDe Buurtkamer leidde tot verminderde eenzaamheid.\n", "utf-8")
    (doc,) = read_file(f, root=tmp_path).documents
    (effect,) = [e for e in extract(doc, vocab, {}).entities.values() if e.label == "Effect"]
    ch = "https://w3id.org/impact-graph/vocab/challenges/eenzaamheid"
    assert (effect.props["outcome"], effect.concept) == ("eenzaamheid", ch)
    assert OC + "eenzaamheidsgevoelens" in vocab.concepts[ch].related
