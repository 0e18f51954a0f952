"""Misspelled and English questions still reach their concepts (H53).

Programme managers type fast and mix English in: "eenzaamhied ouderen" reached no
eenzaamheid concept and "overgewigt" no concept at all. A long word that reaches nothing
is read as the one nearest one-word label, strictly (see ``LabelIndex.fuzzy``), and the
answer says which word was read as which, so the guess stays visible.
"""

from __future__ import annotations

import pytest

from impact_graph.search.models import SearchResponse
from impact_graph.search.query import FUZZY_MIN_LEN, parse_query
from impact_graph.search.service import read_as_nl
from impact_graph.vocab import load_vocabulary

VOCAB = load_vocabulary()


def _schemes(q: str) -> dict[str, str]:
    return {c.label: c.scheme for c in parse_query(q, VOCAB).direct}


def test_swapped_letters_reach_eenzaamheid() -> None:
    parsed = parse_query("eenzaamhied ouderen", VOCAB)
    assert {"eenzaamheid", "ouderen"} <= {c.label for c in parsed.direct}
    assert parsed.read_as == [("eenzaamhied", "eenzaamheid")]
    # The question is understood whole, as its correct spelling is.
    assert parsed.understood == parse_query("eenzaamheid ouderen", VOCAB).understood == 1.0


def test_misspelled_overweight_reaches_the_overweight_concept() -> None:
    parsed = parse_query("overgewigt", VOCAB)
    assert parsed.read_as == [("overgewigt", "overgewicht")]
    assert {c.iri for c in parsed.direct} == {
        c.iri for c in parse_query("overgewicht", VOCAB).direct
    }


def test_a_correct_word_is_never_read_as_another() -> None:
    for q in ("eenzaamheid ouderen", "kinderen met overgewicht", "schoolverzuim"):
        assert parse_query(q, VOCAB).read_as == []


#: Ordinary words of programme documents and questions that name no concept: none may be
#: read as a label (checked against the vocabulary when this list was written: each is
#: at least 6 letters, so the fallback considers it).
ORDINARY = """
    buurthuis bijeenkomst samenwerking begroting resultaten programma verbeteren
    ervaringen onderzoek gesprekken wijkcentrum projecten evaluatie bereiken
    ondersteuning regelmatig medewerkers opleiding kinderopvang verhuizen armoedig
    sporten jongens meisjes verslaafd gemeenten wethouders buurtbewoner activiteit
    woningen scholieren bewezen effectief monitoring verklaring verdieping verveling
""".split()  # noqa: SIM905 - a word list reads better as text


@pytest.mark.parametrize("word", ORDINARY)
def test_ordinary_words_are_not_read_as_a_label(word: str) -> None:
    assert len(word) >= FUZZY_MIN_LEN
    assert parse_query(word, VOCAB).read_as == []


def test_short_words_are_never_guessed() -> None:
    # "gezien" is one letter from "gezin" but shorter than FUZZY_MIN_LEN.
    assert parse_query("gezien", VOCAB).read_as == []
    assert parse_query("armeode", VOCAB).read_as == [("armeode", "armoede")]


def test_english_question_reaches_challenge_and_group() -> None:
    schemes = _schemes("loneliness elderly")
    assert schemes.get("eenzaamheid") == "challenges"
    assert schemes.get("ouderen") == "target-groups"
    assert parse_query("loneliness elderly", VOCAB).understood == 1.0


@pytest.mark.parametrize(
    ("q", "challenge"),
    [
        ("lonely elderly people", "eenzaamheid"),
        ("school absence", "thuiszitters en schoolverzuim"),
    ],
)
def test_plain_english_is_understood_whole(q: str, challenge: str) -> None:
    parsed = parse_query(q, VOCAB)
    assert challenge in {c.label for c in parsed.direct}
    assert parsed.understood == 1.0


def test_the_response_says_what_was_read_as_what() -> None:
    assert read_as_nl(parse_query("eenzaamhied ouderen", VOCAB)) == [
        '"eenzaamhied" gelezen als "eenzaamheid"'
    ]
    assert read_as_nl(parse_query("eenzaamheid ouderen", VOCAB)) == []
    field = SearchResponse.model_fields["read_as"]
    assert field.default_factory is not None and field.default_factory() == []
