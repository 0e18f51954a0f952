"""Fuzzy resolution against many known names: the bucketed index answers exactly what one
scan over every known name in registration order answers.

Why this exists: a run's known names grow with every document, so `Resolver._fuzzy`
keeps its candidates in buckets by shape (length, numbers) with each name's words
sorted once (``ingest.resolve._LabelIndex``). These tests hold that shortcut to the rule
in the module docstring: ``token_sort_ratio`` at or above the threshold, the length and
number guard, the first registered name among equal scores, known names before this
document's own.
"""

from __future__ import annotations

import random
import re

from rapidfuzz import fuzz, process

from impact_graph.ingest.resolve import (
    FUZZY_THRESHOLD,
    LENGTH_RATIO,
    MIN_FUZZY_LENGTH,
    Resolver,
    normalise_name,
)

WORDS = ["stichting", "welzijn", "buurtteam", "noord", "zuid", "oost", "jeugd", "zorg", "wmo"]


def _names(rng: random.Random, n: int) -> list[str]:
    """Names like real candidates: a few words, sometimes a number, sometimes a typo."""
    out = []
    for _ in range(n):
        words = rng.sample(WORDS, rng.randint(1, 3))
        if rng.random() < 0.2:
            words.append(str(rng.choice([2007, 2015, 12])))
        if rng.random() < 0.5:
            words.append("".join(rng.choices("abcdefgh", k=rng.randint(2, 6))))
        out.append(" ".join(words))
    return out


def _reference(known: list[str], own: list[str], surface: str) -> tuple[str, float] | None:
    """One scan in registration order over every name the guard admits (the rule)."""
    norm = normalise_name(surface)
    if len(norm) < MIN_FUZZY_LENGTH:
        return None
    digits = re.findall(r"\d+", norm)

    def admitted(other: str) -> bool:
        short, long_ = sorted((len(norm), len(other)))
        return short / long_ >= LENGTH_RATIO and re.findall(r"\d+", other) == digits

    seen: list[str] = []
    for name in (*known, *own):
        n = normalise_name(name)
        if n and n not in seen:
            seen.append(n)
    choices = [n for n in seen if admitted(n)]
    best = process.extractOne(
        norm, choices, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_THRESHOLD
    )
    return None if best is None else (best[0], float(best[1]))


def test_fuzzy_matches_one_scan_in_registration_order() -> None:
    """2,000 known names, 30 of this document's own, 600 surfaces (typos of known and
    own names, and unrelated ones): the same name and score as the reference scan."""
    rng = random.Random(7)
    known_names = _names(rng, 2000)
    own_names = _names(rng, 30)
    known = {"Actor": [(n, n, []) for n in known_names]}
    resolver = Resolver(None, known)
    for name in own_names:
        resolver.add("Actor", name, name)
    surfaces = []
    for _ in range(600):
        base = rng.choice([*known_names, *own_names, *_names(rng, 1)])
        i = rng.randrange(len(base))
        surfaces.append(base[:i] + rng.choice("abcxyz ") + base[i + 1 :])
    hits = 0
    for surface in surfaces:
        expected = _reference(known_names, own_names, surface)
        got = resolver._fuzzy("Actor", normalise_name(surface))
        if expected is None:
            assert got is None, surface
            continue
        hits += 1
        assert got is not None, surface
        (key, _name), score = got
        assert normalise_name(key) == expected[0] or resolver._lookup("Actor", expected[0]) == (
            key,
            _name,
        ), surface
        assert score == expected[1], surface
    assert hits > 100  # the surfaces did exercise fuzzy matches


def test_known_name_wins_a_tie_with_an_own_name() -> None:
    """A known name and one of this document's names equally close to a surface (one of
    them longer): the known one wins, as known names come first in the scan."""
    surface = "Stichting Welzijn Wadstede Kustland Zuidoostwijkhoekstra"
    longer, shorter = surface + "abcdefgh", surface[:-7]
    assert fuzz.token_sort_ratio(
        normalise_name(longer), normalise_name(surface)
    ) == fuzz.token_sort_ratio(normalise_name(shorter), normalise_name(surface))
    for known_name, own_name in ((longer, shorter), (shorter, longer)):
        resolver = Resolver(None, {"Actor": [(known_name, known_name, [])]})
        resolver.add("Actor", own_name, own_name)
        key, _, merge = resolver.resolve("Actor", surface)
        assert merge.rule == "fuzzy" and key == known_name
