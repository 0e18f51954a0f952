"""Chunking: whole sentences, size bounds, sections, and mentions in the right chunk."""

from __future__ import annotations

import re

import pytest

from impact_graph.ingest.chunking import chunk_extraction
from impact_graph.ingest.document import Document, Section
from impact_graph.ingest.extraction import Entity, Extraction
from tests.factories import plan_document


def _doc(text: str, sections: list[Section] | None = None) -> Document:
    return plan_document(text, title="T", content_hash="h", sections=sections or [])


def _extraction(text: str, sections: list[Section] | None = None) -> Extraction:
    sents = [(m.start(), m.end()) for m in re.finditer(r"[^\s.][^.\n]*\.", text)]
    return Extraction(_doc(text, sections), sentences=sents)


def _sentence(i: int, words: int) -> str:
    return " ".join(["woord"] * (words - 1) + [f"zin{i}."])


def test_chunks_hold_whole_sentences_within_bounds() -> None:
    text = " ".join(_sentence(i, 30) for i in range(20))  # 600 words
    ex = _extraction(text)
    chunks = chunk_extraction(ex, min_words=150, max_words=250)
    assert len(chunks) == 3
    sentence_ends = {e for _, e in ex.sentences}
    sentence_starts = {s for s, _ in ex.sentences}
    for c in chunks:
        assert c.start in sentence_starts and c.end in sentence_ends  # never cut
        assert c.text == text[c.start : c.end]
        assert c.words <= 250
    assert [c.index for c in chunks] == [0, 1, 2]
    assert "zin0." in chunks[0].text and "zin19." in chunks[-1].text


def test_long_sentence_is_own_chunk_and_split_only_beyond_twice_max() -> None:
    long = _sentence(1, 300)  # > max, < 2x max: one chunk, not split
    huge = _sentence(2, 520)  # > 2x max: split at word boundaries
    text = f"{_sentence(0, 10)} {long} {huge} {_sentence(3, 10)}"
    chunks = chunk_extraction(_extraction(text), min_words=20, max_words=250)
    words = [c.words for c in chunks]
    assert words == [10, 300, 250, 250, 20, 10]
    for c in chunks:
        assert not c.text.startswith(" ") and not c.text.endswith(" ")
        assert c.text.split() == text[c.start : c.end].split()


def test_section_heading_starts_a_new_chunk_and_names_it() -> None:
    intro = "Inleiding\n\n" + " ".join(_sentence(i, 25) for i in range(3))
    partners = "Partners\n\n" + " ".join(_sentence(i, 25) for i in range(3, 5))
    text = f"{intro}\n\n{partners}"
    p_start = text.index("Partners")
    sections = [Section("Inleiding", 2, 0, p_start - 2), Section("Partners", 2, p_start, len(text))]
    chunks = chunk_extraction(
        _extraction(text, sections), min_words=150, max_words=250, min_section_words=40
    )
    assert [c.section for c in chunks] == ["Inleiding", "Partners"]
    assert chunks[1].start == p_start


def test_mentions_go_to_the_chunk_that_holds_them() -> None:
    text = " ".join(_sentence(i, 30) for i in range(10)) + " Eenzaamheid telt."
    ex = _extraction(text)
    s = text.index("Eenzaamheid")
    ex.add_entity(
        Entity(
            "Challenge",
            "eenzaamheid",
            "eenzaamheid",
            "vocabulary",
            "t",
            mentions=[(s, s + 11), (0, 5)],
        )
    )
    chunks = chunk_extraction(ex, min_words=100, max_words=150)
    found = [(c.index, m.start, m.end) for c in chunks for m in c.mentions]
    assert found == [(0, 0, 5), (len(chunks) - 1, s, s + 11)]
    last = chunks[-1]
    m = last.mentions[0]
    assert text[m.start : m.end] == "Eenzaamheid"
    assert last.text[m.start - last.start : m.end - last.start] == "Eenzaamheid"


def test_text_without_sentences_becomes_one_chunk() -> None:
    ex = Extraction(_doc("Alleen een kop"), sentences=[])
    chunks = chunk_extraction(ex)
    assert [(c.start, c.end, c.text) for c in chunks] == [(0, 14, "Alleen een kop")]


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"pipeline\.yaml"):
        chunk_extraction(_extraction("Een zin."), min_words=300, max_words=200)


def _pieces(texts: list[str] | tuple[str, ...]) -> list[int]:
    """A stand-in word-piece counter with a known answer: two pieces a word."""
    return [2 * len(t.split()) for t in texts]


def test_token_budget_ends_chunks_before_the_model_would_cut_them() -> None:
    text = " ".join(_sentence(i, 30) for i in range(20))  # 600 words, 60 "pieces" a sentence
    words_only = chunk_extraction(_extraction(text), min_words=150, max_words=250)
    chunks = chunk_extraction(
        _extraction(text), min_words=150, max_words=250, max_tokens=200, count_tokens=_pieces
    )
    # 200 pieces hold three 60-piece sentences, where 250 words would hold eight.
    assert [c.words for c in words_only] == [240, 240, 120]
    assert [c.words for c in chunks] == [90] * 6 + [60]
    assert all(_pieces([c.text])[0] <= 200 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_sentence_over_the_token_budget_is_a_chunk_of_its_own() -> None:
    text = f"{_sentence(0, 10)} {_sentence(1, 120)} {_sentence(2, 10)}"
    chunks = chunk_extraction(
        _extraction(text), min_words=5, max_words=250, max_tokens=100, count_tokens=_pieces
    )
    assert [c.words for c in chunks] == [10, 120, 10]


def test_token_budget_without_a_counter_is_refused() -> None:
    with pytest.raises(ValueError, match=r"max_tokens"):
        chunk_extraction(_extraction("Een zin."), max_tokens=100)
    with pytest.raises(ValueError, match=r"chunking\.max_tokens"):
        chunk_extraction(_extraction("Een zin."), max_tokens=0, count_tokens=_pieces)
