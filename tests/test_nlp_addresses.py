"""The same-sentence ADDRESSES rule reads clauses and respects hedges.

Why: co-occurrence is the rule's only evidence. "zetten de Kanjertraining in als
preventieve lijn in hun aanpak van thuiszitten; een direct effect op verzuim is niet
onderzocht" made Kanjertraining a thuiszitten intervention with full weight, and search
ranked it first for school-absence questions. A claim the text withholds is no claim.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph.ingest.extraction import Extraction
from impact_graph.ingest.nlp import extract
from impact_graph.ingest.readers import read_path
from impact_graph.vocab import Vocabulary, load_vocabulary
from tests.test_nlp import DEMO, md_doc


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def addressed(ext: Extraction) -> set[tuple[str, str]]:
    """(intervention, challenge concept slug or name) of every intervention's ADDRESSES."""
    out = set()
    for r in ext.relations:
        if r.type == "ADDRESSES" and r.src[0] == "Intervention":
            concept = ext.entities[r.dst].concept or ext.entities[r.dst].name
            out.add((ext.entities[r.src].name, concept.rsplit("/", 1)[-1]))
    return out


def one_sentence(tmp_path: Path, vocab: Vocabulary, sentence: str, lang: str = "nl") -> Extraction:
    doc = md_doc(tmp_path, sentence + "\n", title='"Notitie"', kind="policy", language=lang)
    return extract(doc, vocab)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # The plain claim still counts.
        ("Scholen zetten de Kanjertraining in tegen pesten.", {("Kanjertraining", "pesten")}),
        # "maar ook" adds to the claim; it is no turn.
        (
            "Welzijn op Recept helpt niet alleen bij psychosociale klachten, maar ook bij "
            "eenzaamheid.",
            {("Welzijn op Recept", "psychosociale-klachten"), ("Welzijn op Recept", "eenzaamheid")},
        ),
        # A hedge about something beside the claim leaves it standing.
        (
            "Welzijn op Recept vermindert eenzaamheid; de kosten per deelnemer zijn onbekend.",
            {("Welzijn op Recept", "eenzaamheid")},
        ),
        # Without a hedge a semicolon is no turn: the elaboration keeps its pair.
        (
            "Het bezoek van een energiecoach vermindert het gasverbruik met gemiddeld 7%; "
            "dat komt neer op circa 170 kg CO2 per huishouden per jaar.",
            {("energiecoach", "energie-co2")},
        ),
        # In a hedging sentence pairs are read per clause: the doubted challenge goes,
        # the stated one stays.
        (
            "De Kanjertraining vermindert pesten; een effect op schoolverzuim is niet onderzocht.",
            {("Kanjertraining", "pesten")},
        ),
        # A hedge about an outcome that is no challenge doubts no challenge.
        (
            "Scholen zetten de Kanjertraining in tegen pesten; een effect op de "
            "schoolprestaties is niet gemeten.",
            {("Kanjertraining", "pesten")},
        ),
        # The hedge names a broader challenge (schoolverzuim): its narrower thuiszitten
        # in the other clause is doubted too.
        (
            "Scholen zetten de Kanjertraining in binnen hun aanpak van thuiszitten; een "
            "direct effect op schoolverzuim is niet onderzocht.",
            set(),
        ),
        # A hedged clause without a challenge that speaks of the effect doubts them all.
        (
            "Welzijn op Recept wordt ingezet tegen eenzaamheid, maar het effect is niet bewezen.",
            set(),
        ),
        # The hedge inside the clause that names both.
        ("Er is geen effect van de Kanjertraining op pesten gevonden.", set()),
    ],
)
def test_same_sentence_addresses_reads_clauses_and_hedges(
    tmp_path: Path, vocab: Vocabulary, sentence: str, expected: set[tuple[str, str]]
) -> None:
    assert addressed(one_sentence(tmp_path, vocab, sentence)) == expected


def test_english_hedge(tmp_path: Path, vocab: Vocabulary) -> None:
    claim = one_sentence(tmp_path, vocab, "Social prescribing reduces loneliness.", "en")
    assert addressed(claim) == {("Welzijn op Recept", "eenzaamheid")}
    hedged = one_sentence(
        tmp_path, vocab, "The effect of social prescribing on loneliness was not studied.", "en"
    )
    assert addressed(hedged) == set()


def test_kanjertraining_is_no_thuiszitten_intervention(vocab: Vocabulary) -> None:
    """The demo document that started this: its own outcomes stay, school absence goes."""
    (doc,) = read_path(DEMO / "research" / "kanjertraining.md", root=DEMO)
    got = {c for iv, c in addressed(extract(doc, vocab)) if iv == "Kanjertraining"}
    assert {"pesten", "probleemgedrag", "sociale-angst"} <= got
    assert not got & {"thuiszitten", "schoolverzuim"}
