"""Sentence-aware chunking of an `Extraction` into retrieval-sized pieces.

Chunks are what search embeds and what a reader is shown as evidence, so they must read
as whole sentences: a chunk never cuts a sentence, keeps to one section where it can,
and carries its character span in the document so every MENTIONS edge can point at the
exact text it came from. Sizes are in words (~150–250 by default) and, when the pipeline
passes the embedding model's tokenizer, also in *tokens*: the model reads at most
``max_seq_length`` word pieces (256 for all-MiniLM-L6-v2) and silently drops the rest.
Dutch costs that model ~2.5 word pieces a word (measured on the demo corpus), so a
250-word chunk is ~640 pieces and more than half of it would never reach its vector --
invisible to vector search. With the token budget a chunk ends before the sentence that
would overflow it, so every sentence of a chunk is in its vector; the price is more,
shorter chunks (more embedding work per document). Only a single sentence longer than
the budget is still cut by the model.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from impact_graph.ingest.extraction import EntityRef, Extraction, Span

_WORD = re.compile(r"\S+")

#: Defaults; ``ingest/pipeline.yaml`` may override them.
MIN_WORDS = 150
MAX_WORDS = 250
#: A section shorter than this joins the next one instead of becoming a tiny chunk.
MIN_SECTION_WORDS = 40

#: Counts the model's word pieces of each text (no special tokens), e.g.
#: `impact_graph.ingest.embed.Embedder.count_tokens`.
TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(slots=True)
class Mention:
    """One entity mention inside a chunk; ``start``/``end`` are document offsets."""

    ref: EntityRef
    start: int
    end: int


@dataclass(slots=True)
class Chunk:
    """A run of whole sentences; ``start``/``end`` are offsets into the document text."""

    index: int
    start: int
    end: int
    text: str
    section: str = ""
    words: int = 0
    mentions: list[Mention] = field(default_factory=list)


def _word_spans(text: str, start: int, end: int) -> list[Span]:
    return [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]


def _word_count(text: str, start: int, end: int) -> int:
    """``len(_word_spans(text, start, end))`` without a tuple per word: ``str.split``
    splits at exactly the characters ``\\S`` excludes (both use Python's isspace)."""
    return len(text[start:end].split())


def _sentences(extraction: Extraction) -> list[Span]:
    """The extraction's sentences, sorted and trimmed; the whole text if it gave none."""
    text = extraction.document.text
    spans = sorted(extraction.sentences) or [(0, len(text))]
    out: list[Span] = []
    last = 0
    for s, e in spans:
        s, e = max(s, last), min(e, len(text))
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            out.append((s, e))
            last = e
    return out


def _split_long(text: str, span: Span, max_words: int) -> list[Span]:
    """Split an over-long sentence at word boundaries into pieces of at most max_words."""
    words = _word_spans(text, *span)
    return [
        (words[i][0], words[min(i + max_words, len(words)) - 1][1])
        for i in range(0, len(words), max_words)
    ]


def chunk_extraction(
    extraction: Extraction,
    *,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    min_section_words: int = MIN_SECTION_WORDS,
    max_tokens: int | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[Chunk]:
    """Group sentences into chunks of about ``min_words``–``max_words`` words.

    Rules, in order: a chunk ends before a sentence that would push it over
    ``max_words`` -- or, given ``max_tokens`` and ``count_tokens``, over ``max_tokens``
    word pieces (the sum of its sentences' counts; a heading between sentences adds a
    few, so leave the model some slack); it also ends at a section heading once it
    holds ``min_section_words`` (so chunks stay within one section without producing
    crumbs); a single sentence longer than ``max_words`` or ``max_tokens`` is a chunk of
    its own, and only when it exceeds twice ``max_words`` is it split, at word
    boundaries. Mentions go to the chunk that contains their start offset.
    """
    if min_words < 1 or max_words < min_words:
        raise ValueError(
            f"chunk sizes min_words={min_words}, max_words={max_words} are not usable; "
            "set 1 <= min_words <= max_words in ingest/pipeline.yaml."
        )
    if max_tokens is not None and (max_tokens < 1 or count_tokens is None):
        raise ValueError(
            f"max_tokens={max_tokens} needs a positive budget and a token counter; set "
            "chunking.max_tokens in ingest/pipeline.yaml to a positive number or leave it out."
        )
    doc = extraction.document
    text = doc.text
    section_starts = sorted({s.start for s in doc.sections})

    groups: list[list[Span]] = []
    current: list[Span] = []
    current_words = current_tokens = 0

    def flush() -> None:
        nonlocal current, current_words, current_tokens
        if current:
            groups.append(current)
        current, current_words, current_tokens = [], 0, 0

    sentences = _sentences(extraction)
    budget = max_tokens if max_tokens is not None and count_tokens is not None else None
    tokens = (
        count_tokens([text[s:e] for s, e in sentences])
        if budget is not None and count_tokens is not None and sentences
        else [0] * len(sentences)
    )

    for span, t in zip(sentences, tokens, strict=True):
        n = _word_count(text, *span)
        if n > max_words or (budget is not None and t > budget):
            flush()
            pieces = _split_long(text, span, max_words) if n > 2 * max_words else [span]
            groups.extend([p] for p in pieces)
            continue
        if current:
            # A heading between the chunk's last sentence and this one starts a section.
            i = bisect.bisect_right(section_starts, current[-1][1] - 1)
            new_section = i < len(section_starts) and section_starts[i] <= span[0]
            over_tokens = budget is not None and current_tokens + t > budget
            if (
                current_words + n > max_words
                or over_tokens
                or (new_section and current_words >= min_section_words)
            ):
                flush()
        current.append(span)
        current_words += n
        current_tokens += t
        if current_words >= max_words:
            flush()
    flush()

    chunks: list[Chunk] = []
    prev_end = 0
    for i, group in enumerate(groups):
        start, end = group[0][0], group[-1][1]
        # Text no sentence covers (a heading the sentencizer skipped, a stray line)
        # belongs to the chunk after it, and trailing text to the last chunk: chunks
        # together hold every non-blank character of the document.
        gap = text[prev_end:start]
        if gap.strip():
            start = prev_end + (len(gap) - len(gap.lstrip()))
        if i == len(groups) - 1 and text[end:].strip():
            end = len(text.rstrip())
        prev_end = end
        sec = doc.section_at(start)
        chunks.append(
            Chunk(
                index=i,
                start=start,
                end=end,
                text=text[start:end],
                section=sec.heading if sec else "",
                words=_word_count(text, start, end),
            )
        )
    assign_mentions(extraction, chunks)
    return chunks


def assign_mentions(extraction: Extraction, chunks: list[Chunk]) -> None:
    """Give every entity mention to the chunk containing its start offset.

    A mention in text no sentence covers (e.g. between two sentences) goes to the last
    chunk starting before it, so no mention is lost.
    """
    if not chunks:
        return
    starts = [c.start for c in chunks]
    for ref, entity in extraction.entities.items():
        for s, e in entity.mentions:
            i = max(bisect.bisect_right(starts, s) - 1, 0)
            chunks[i].mentions.append(Mention(ref, s, e))
    for c in chunks:
        c.mentions.sort(key=lambda m: (m.start, m.end))
