"""Records readers: a favourable or unfavourable word in the direction field.

``ig:direction`` is the direction of change of the outcome. "verbetering", "gunstig",
"beneficial" (and "verslechtering", "ongunstig", "harmful") say whether the change was
good news, so they are read through the outcome's desirable direction
(``ig:desirableDirection`` in ontology/vocabularies/outcomes.ttl): "verbetering" of
loneliness is loneliness going down ("−"), where these words once always read as "+".
Where the vocabulary knows no desirable direction the record is refused with a sentence
naming the file, the row and the field, and the rest of the file is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.readers import read_file
from impact_graph.ingest.readers.records import RecordMapping, load_mapping
from impact_graph.vocab import load_vocabulary


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_vocabulary_knows_the_outcomes_used_here() -> None:
    """The premises of the tests below, from the ontology (not restated by hand)."""
    vocab = load_vocabulary()
    assert vocab.desirable_direction("eenzaamheid") == "−"  # less is better
    assert vocab.desirable_direction("sociaal netwerk") == "+"  # more is better
    assert vocab.desirable_direction("schoolverzuim") == "−"
    assert vocab.desirable_direction("werk") is None  # no concept with a direction


def test_favourable_words_read_through_the_outcomes_desirable_direction(tmp_path: Path) -> None:
    path = write(
        tmp_path / "studies.csv",
        "title,intervention,outcome,direction\n"
        "Minder eenzaam,Buurtcirkel,eenzaamheid,verbetering\n"
        "Meer contact,Buurtcirkel,sociaal netwerk,gunstig\n"
        "Eenzamer,Buurtcirkel,eenzaamheid,verslechtering\n"
        "Meer verzuim,Spijbelplan,schoolverzuim,harmful\n"
        "Onbekend,Werkplan,werk,verbetering\n"
        "Zonder uitkomst,Werkplan,,gunstig\n"
        "Gewoon,Werkplan,werk,+\n",
    )
    result = read_file(path)
    got = {d.title: d.meta.get("direction") for d in result.documents}
    assert got == {
        "Minder eenzaam": "−",  # was "+": loneliness stored as going up
        "Meer contact": "+",
        "Eenzamer": "+",
        "Meer verzuim": "+",
        "Gewoon": "+",
    }
    by_title = {d.title: d for d in result.documents}
    assert "Buurtcirkel vermindert eenzaamheid." in by_title["Minder eenzaam"].text
    assert "Buurtcirkel verhoogt eenzaamheid." in by_title["Eenzamer"].text

    # The rest of the file was read; the two records are refused, each with a sentence.
    assert [e.row for e in result.errors] == [6, 7]
    unknown, no_outcome = (str(e) for e in result.errors)
    assert unknown.startswith(f"{path.name} row 6: ") or f"{path} row 6: " in unknown
    assert "the direction 'verbetering' says the effect on 'werk' was favourable" in unknown
    assert "gives 'werk' no desirable direction" in unknown
    assert "write + if werk went up, − if it went down, or 0 for no effect" in unknown
    assert "ig:desirableDirection in ontology/vocabularies/outcomes.ttl" in unknown
    assert "row 7" in no_outcome and "the record names no outcome" in no_outcome
    assert "'gunstig'" in no_outcome and "write + (went up)" in no_outcome


def test_english_words_and_an_outcome_list(tmp_path: Path) -> None:
    """The record's own direction is read per outcome of its list: one favourable word
    is "−" for loneliness and "+" for the social network."""
    records = [
        {
            "title": "Big Friends",
            "intervention": "Big Friends",
            "direction": "beneficial",
            "outcomes": ["loneliness", {"outcome": "sociaal netwerk"}],
        },
        {
            "title": "Mixed",
            "intervention": "Big Friends",
            "outcomes": [
                {"outcome": "eenzaamheid", "direction": "adverse"},
                {"outcome": "werk", "direction": "0"},
            ],
        },
        {
            "title": "Refused",
            "intervention": "Big Friends",
            "outcomes": [{"outcome": "werk", "direction": "improvement"}],
        },
    ]
    path = write(tmp_path / "s.jsonl", "\n".join(json.dumps(r) for r in records))
    result = read_file(path)
    big, mixed = result.documents
    assert [(i["outcome"], i["direction"]) for i in big.meta["outcomes"]] == [
        ("loneliness", "−"),
        ("sociaal netwerk", "+"),
    ]
    assert "direction" not in big.meta  # no one direction for the record as a whole
    assert [(i["outcome"], i["direction"]) for i in mixed.meta["outcomes"]] == [
        ("eenzaamheid", "+"),
        ("werk", "0"),
    ]
    (err,) = result.errors
    assert err.row == 3 and "'improvement'" in err.reason and "'werk'" in err.reason


def test_direction_symbols_and_words_are_unchanged(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.csv",
        "title,outcome,direction\nA,eenzaamheid,-\nB,eenzaamheid,positief\nC,werk,geen effect\n",
    )
    got = [d.meta["direction"] for d in read_file(path).documents]
    assert got == ["−", "+", "0"]  # read_as: direction, the shipped default


#: Records whose "positief"/"negatief" mean different things as a change and as news.
LOOSE = (
    "title,outcome,direction\n"
    "Eenzaam,eenzaamheid,positief\n"  # less is better: up, or less loneliness?
    "Verzuim,schoolverzuim,Negative\n"
    "Netwerk,sociaal netwerk,positive\n"  # more is better: both readings say "+"
    "Werk,werk,positief\n"  # no desirable direction known
)


def _mapping_reading(tmp_path: Path, read_as: str) -> RecordMapping:
    text = load_mapping().path.read_text(encoding="utf-8")
    changed = text.replace("  read_as: direction\n", f"  read_as: {read_as}\n", 1)
    assert changed != text
    return load_mapping(write(tmp_path / f"records-{read_as}.yaml", changed))


def test_ambiguous_words_can_be_refused_where_their_readings_differ(tmp_path: Path) -> None:
    """ "positief effect op eenzaamheid" usually means less loneliness; read as a change
    it stores loneliness going up. With ``read_as: refuse`` such a record is refused with
    what to write, where more is better the word reads as usual, and the rest of the
    file is read."""
    result = read_file(
        write(tmp_path / "r.csv", LOOSE), mapping=_mapping_reading(tmp_path, "refuse")
    )
    assert {d.title: d.meta["direction"] for d in result.documents} == {"Netwerk": "+"}
    lonely, absent, unknown = result.errors
    assert (lonely.row, absent.row, unknown.row) == (2, 3, 5)
    assert (
        "'positief' can mean that 'eenzaamheid' went up or that the effect was good news, "
        "and for 'eenzaamheid' (less is better) the two differ"
    ) in lonely.reason
    assert "write + if eenzaamheid went up, − if it went down" in lonely.hint
    assert "'Negative' can mean that 'schoolverzuim' went down" in absent.reason
    assert "gives 'werk' no desirable direction" in unknown.reason


def test_ambiguous_words_can_be_read_as_good_or_bad_news(tmp_path: Path) -> None:
    result = read_file(
        write(tmp_path / "r.csv", LOOSE), mapping=_mapping_reading(tmp_path, "judgement")
    )
    got = {d.title: d.meta["direction"] for d in result.documents}
    assert got == {"Eenzaam": "−", "Verzuim": "+", "Netwerk": "+"}
    (unknown,) = result.errors  # as for "gunstig": no desirable direction, no reading
    assert unknown.row == 5 and "'positief' says the effect on 'werk' was favourable" in (
        unknown.reason
    )


def test_a_wrong_ambiguous_words_entry_is_refused_at_load(tmp_path: Path) -> None:
    text = load_mapping().path.read_text(encoding="utf-8")
    for old, new, says in (
        ("  words: [positief,", "  words: [misschien, positief,", "['misschien']"),
        ("  read_as: direction\n", "  read_as: soms\n", "'soms'"),
    ):
        bad = text.replace(old, new, 1)
        assert bad != text
        with pytest.raises(IngestError) as info:
            load_mapping(write(tmp_path / "records.yaml", bad))
        assert says in info.value.reason and "ambiguous_directions" in info.value.reason


def test_a_word_in_both_lists_is_refused_when_the_mapping_loads(tmp_path: Path) -> None:
    text = load_mapping().path.read_text(encoding="utf-8")
    bad = text.replace("favourable: [gunstig,", "favourable: [gunstig, positief,", 1)
    assert bad != text
    with pytest.raises(IngestError) as info:
        load_mapping(write(tmp_path / "records.yaml", bad))
    assert "['positief']" in info.value.reason and "judgements" in info.value.reason
