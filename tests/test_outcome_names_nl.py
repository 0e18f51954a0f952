"""Effects of English texts carry Dutch outcome names (H34).

The evidence map (/bewijskaart, a Dutch page for programme managers) showed "electricity
use", "GP consultations" and "loneliness (De Jong Gierveld scale)" as outcome columns:
the English demo texts named outcomes the outcomes vocabulary had no English label for,
so extraction kept the English words. These run the real reader and extraction on the
shipped demo files (as tests/test_demo_quality.py does) and check the outcome names
against the vocabularies, not against a list of expected words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph.ingest.extraction import Extraction
from impact_graph.ingest.nlp import extract
from impact_graph.ingest.readers import read_file
from impact_graph.vocab import Vocabulary, load_vocabulary
from tests.test_demo_quality import _extractions

#: Demo files whose documents (all or some) are English.
ENGLISH = (
    "research/studies.jsonl",
    "research/literatuur.ris",
    "research/loneliness-older-adults-abstract-en.txt",
    "research/statushouders-dual-pathways-quasi-experiment-en.md",
)


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def _effects(ext: Extraction) -> dict[str, dict[str, object]]:
    """Effect key ("intervention → outcome") → its props."""
    return {e.key: e.props for e in ext.entities.values() if e.label == "Effect"}


def _dutch_names(vocab: Vocabulary) -> set[str]:
    """The names an Effect's outcome may carry when a vocabulary concept names it: the
    Dutch prefLabel of an outcome concept or of a challenge (`_Run._outcome_after`)."""
    return {
        c.pref_nl
        for c in vocab.concepts.values()
        if c.pref_nl and (c.scheme == "outcomes" or c.pg_label == "Challenge")
    }


def test_english_documents_name_their_outcomes_in_dutch(vocab: Vocabulary) -> None:
    """Every Effect of an English demo document has a Dutch outcome concept's name."""
    dutch = _dutch_names(vocab)
    seen = 0
    for rel in ENGLISH:
        for ext in _extractions(rel):
            if ext.document.language != "en":
                continue
            for key, props in _effects(ext).items():
                seen += 1
                assert props["outcome"] in dutch, (rel, key)
    assert seen >= 8  # the English texts state at least this many effects


def test_a_measure_in_brackets_resolves_to_its_outcome_and_stays_with_the_size() -> None:
    (record,) = [
        x
        for x in _extractions("research/studies.jsonl")
        if x.document.title.startswith("Social prescribing")
    ]
    effects = _effects(record)
    djg = effects["Welzijn op Recept → eenzaamheidsgevoelens"]
    assert djg["direction"] == "−"
    assert djg["magnitude"] == "d = 0.5 (De Jong Gierveld scale)"
    gp = effects["Welzijn op Recept → zorggebruik"]  # "GP consultations"
    assert gp["direction"] == "−" and gp["magnitude"] == "-14%"
    assert not [k for k in effects if "(" in k.split(" → ")[1]], effects


def test_gas_and_electricity_stay_two_effects_with_their_own_direction() -> None:
    """Measured apart, found apart: as labels of one concept the two became one Effect
    per intervention whose direction was whichever came first."""
    (ris,) = [
        x for x in _extractions("research/literatuur.ris") if "energy coach" in x.document.text
    ]
    (record,) = [
        x for x in _extractions("research/studies.jsonl") if "gasverbruik" in x.document.text
    ]
    for ext, iv in ((ris, "energiecoach"), (record, "energiecoach (huisbezoek)")):
        effects = _effects(ext)
        assert effects[f"{iv} → gasverbruik"]["direction"] == "−", effects
        assert effects[f"{iv} → elektriciteitsverbruik"]["direction"] == "0", effects


def test_record_outcome_brackets_without_a_concept_stay_whole(tmp_path: Path) -> None:
    """Brackets are read as a measure only when a part names a concept; the Dutch
    record's own names ("isolatiemaatregel genomen") are kept as written."""
    f = tmp_path / "studies.jsonl"
    f.write_text(
        '{"title": "Buurtkamer-evaluatie", "language": "nl", "intervention": "Buurtkamer",'
        ' "outcomes": [{"outcome": "zelfvertrouwen (eigen vragenlijst)", "direction": "+",'
        ' "effect_size": "d = 0.3"}, {"outcome": "zorggebruik (aantal consulten)",'
        ' "direction": "-", "effect_size": "-9%"}]}\n',
        encoding="utf-8",
    )
    (doc,) = read_file(f, root=tmp_path).documents
    ext = extract(doc, load_vocabulary(), {})
    meta = {
        e.props["outcome"]: e.props
        for e in ext.entities.values()
        if e.label == "Effect" and e.rule == "meta:outcome"
    }
    assert meta["zelfvertrouwen (eigen vragenlijst)"]["magnitude"] == "d = 0.3"
    # The part outside names zorggebruik; the bracket is its measure, kept with the size.
    assert meta["zorggebruik"]["magnitude"] == "-9% (aantal consulten)"
    assert len(meta) == 2


def test_new_outcome_concepts_have_a_direction_and_english_labels(vocab: Vocabulary) -> None:
    for term, slug in (
        ("electricity use", "elektriciteitsverbruik"),
        ("gas consumption", "gasverbruik"),
        ("GP consultations", "zorggebruik"),
        ("GP visits", "zorggebruik"),
        ("De Jong Gierveld scale", "eenzaamheidsgevoelens"),
        ("language attainment", "taalniveau"),
    ):
        (c,) = vocab.lookup(term, scheme="outcomes")
        assert c.slug == slug, term
        assert c.desirable_direction in ("+", "−"), c.iri
    assert [c.slug for c in vocab.lookup("cannabis dependence")] == ["middelengebruik"]
