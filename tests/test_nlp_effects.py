"""Effect statements: the Dutch and English phrasings of "intervention → outcome, direction".

"What works" search rests on Effects; the gold benchmark (bench/extraction.py) found 10 of
26 gold Effects before these phrasings were read. Each case below is one general way texts
state a finding, in a small research document about one intervention (its title), so an
outcome named without a subject belongs to it. The negative cases are sentences that name
a change but state no finding: a goal, a question, a possibility.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph.ingest import patterns as P
from impact_graph.ingest.nlp import extract
from impact_graph.vocab import Vocabulary, load_vocabulary
from tests.test_nlp import md_doc


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def effects(tmp_path: Path, vocab: Vocabulary, title: str, text: str, lang: str) -> dict:
    """Effect key → (direction, magnitude) of a research document titled ``title``."""
    doc = md_doc(
        tmp_path,
        f"# {title}\n\n{text}\n",
        title=f'"{title}"',
        kind="research",
        date="2024-03-01",
        language=lang,
    )
    ext = extract(doc, vocab)
    return {
        k: (e.props.get("direction"), e.props.get("magnitude"))
        for (lb, k), e in ext.entities.items()
        if lb == "Effect"
    }


DUTCH = [
    # "leidde tot een afname van", "zorgde voor een afname van"
    ("Kanjertraining", "Kanjertraining leidde tot een afname van pestgedrag.", "pesten", "−"),
    ("Kanjertraining", "Kanjertraining zorgde voor een afname van pestgedrag.", "pesten", "−"),
    ("Kanjertraining", "De training zorgde voor een stijging van het welbevinden.", "welzijn", "+"),
    # a compound that is itself a decrease
    ("CooL", "CooL leidt tot gewichtsverlies.", "BMI", "−"),
    # outcome before the verb, present tense
    ("CooL", "De kwaliteit van leven verbetert.", "kwaliteit van leven", "+"),
    ("Welzijn op Recept", "Het aantal huisartsconsulten daalt.", "zorggebruik", "−"),
    ("Welzijn op Recept", "Het aantal huisartsconsulten nam toe.", "zorggebruik", "+"),
    # no effect, the outcome before or after the finding
    (
        "energiecoach",
        "Op het elektriciteitsverbruik werd geen effect gevonden.",
        "elektriciteitsverbruik",
        "0",
    ),
    (
        "Kanjertraining",
        "Er is geen effect gevonden op de schoolprestaties.",
        "schoolprestaties",
        "0",
    ),
    (
        "Kanjertraining",
        "Kanjertraining had geen effect op de schoolprestaties.",
        "schoolprestaties",
        "0",
    ),
    # a score on the outcome's scale
    (
        "Welzijn op Recept",
        "Deelnemers aan Welzijn op Recept gaven een lagere score op de eenzaamheidsschaal.",
        "eenzaamheidsgevoelens",
        "−",
    ),
    # what participants report
    (
        "Welzijn op Recept",
        "Deelnemers geven in interviews aan dat zij meer sociale contacten hebben.",
        "sociaal netwerk",
        "+",
    ),
    (
        "Kanjertraining",
        "Kinderen rapporteren na de training minder angstklachten.",
        "psychische gezondheid",
        "−",
    ),
]

ENGLISH = [
    (
        "The number of GP consultations was 14% lower than in the six months before.",
        "zorggebruik",
        "−",
    ),
    ("No effect was found on school achievement.", "schoolprestaties", "0"),
    ("Social prescribing resulted in a reduction in GP visits.", "zorggebruik", "−"),
    ("Participants reported less anxiety.", "psychische gezondheid", "−"),
    ("Participants scored lower on the De Jong Gierveld scale.", "eenzaamheidsgevoelens", "−"),
    ("Quality of life improved.", "kwaliteit van leven", "+"),
]


@pytest.mark.parametrize(("title", "text", "outcome", "direction"), DUTCH)
def test_dutch_effect_phrasing(
    tmp_path: Path, vocab: Vocabulary, title: str, text: str, outcome: str, direction: str
) -> None:
    found = effects(tmp_path, vocab, title, text, "nl")
    key = f"{title} → {outcome}"
    assert key in found, (text, found)
    assert found[key][0] == direction, (text, found)


@pytest.mark.parametrize(("text", "outcome", "direction"), ENGLISH)
def test_english_effect_phrasing(
    tmp_path: Path, vocab: Vocabulary, text: str, outcome: str, direction: str
) -> None:
    # "Social prescribing" is the vocabulary's English label of Welzijn op Recept.
    found = effects(tmp_path, vocab, "Social prescribing", text, "en")
    key = f"Welzijn op Recept → {outcome}"
    assert key in found, (text, found)
    assert found[key][0] == direction, (text, found)


def test_was_n_percent_lower_keeps_its_size(tmp_path: Path, vocab: Vocabulary) -> None:
    text = "The number of GP consultations was 14% lower than in the six months before."
    found = effects(tmp_path, vocab, "Social prescribing", text, "en")
    assert found["Welzijn op Recept → zorggebruik"] == ("−", "14%")


def test_a_coordinated_second_claim_is_its_own_effect(tmp_path: Path, vocab: Vocabulary) -> None:
    """ "samengaat met minder X en met een daling van Y met 20%": two effects, the size Y's."""
    text = (
        "Welzijn op Recept gaat samen met minder eenzaamheidsgevoelens en met een daling "
        "van het aantal huisartsbezoeken met 20%."
    )
    found = effects(tmp_path, vocab, "Welzijn op Recept", text, "nl")
    assert found["Welzijn op Recept → eenzaamheidsgevoelens"] == ("−", None)
    assert found["Welzijn op Recept → zorggebruik"] == ("−", "20%")


NO_FINDING = [
    # a goal: a year after the document's
    ("Kanjertraining", "In 2027 daalt het pestgedrag op school met 30%.", "nl"),
    ("Kanjertraining", "In 2027 30% minder pestgedrag.", "nl"),
    ("Kanjertraining", "We willen dat het pestgedrag daalt.", "nl"),
    # a question
    ("Kanjertraining", "Leidt Kanjertraining tot minder pestgedrag?", "nl"),
    # a possibility
    ("Kanjertraining", "Kanjertraining zou kunnen leiden tot minder pestgedrag.", "nl"),
    ("Social prescribing", "Social prescribing could reduce GP visits.", "en"),
    # another, unknown intervention is the subject inside the verb phrase
    ("Kanjertraining", "In de studie leidde MDFT tot een afname van middelengebruik.", "nl"),
    # "ervaren" the adjective, not the verb
    ("Kanjertraining", "Ervaren leerkrachten geven meer aandacht aan gedrag.", "nl"),
]


@pytest.mark.parametrize(("title", "text", "lang"), NO_FINDING)
def test_no_effect_where_no_finding_is_stated(
    tmp_path: Path, vocab: Vocabulary, title: str, text: str, lang: str
) -> None:
    assert effects(tmp_path, vocab, title, text, lang) == {}, text


def test_a_goal_sentence_stays_a_goal(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "# Kanjertraining\n\nIn 2027 daalt het pestgedrag op school met 30%.\n",
        title='"Kanjertraining"',
        kind="research",
        date="2024-03-01",
    )
    ext = extract(doc, vocab)
    labels = {lb for lb, _k in ext.entities}
    assert "Goal" in labels and "Effect" not in labels


@pytest.mark.parametrize(
    ("verb", "direction"),
    [
        ("daalt", "−"),
        ("nemen af", "−"),
        ("was 14% lower", "−"),
        ("lag 10% hoger", "+"),
        ("verbetert", "+"),
        ("verslechterde", "−"),
        ("improved", "+"),
        ("steeg", "+"),
    ],
)
def test_outcome_change_direction(verb: str, direction: str) -> None:
    m = P.OUTCOME_CHANGE_RE.search(f"Het cijfer {verb}.")
    assert m is not None and P.outcome_change_direction(m.group("verb").lower()) == direction


def test_verbetert_with_an_object_is_no_outcome_first_statement() -> None:
    """ "X verbetert de Y": Y is the outcome (the effect-verb rule), X is not."""
    assert P.OUTCOME_CHANGE_RE.search("De aanpak verbetert de samenwerking.") is None
