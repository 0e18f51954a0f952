"""How `Embedder.encode` cuts a call into forward passes (`plan_batches`): fewer padded
tokens than sentence-transformers' cut every ``batch_size`` texts, and the same vectors."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from impact_graph.ingest.embed import Embedder, plan_batches


def padded(lengths: list[int], batches: list[list[int]], overhead: float) -> float:
    return sum(overhead + len(b) * max(lengths[i] for i in b) for b in batches)


def count_cut(lengths: list[int], batch_size: int) -> list[list[int]]:
    """sentence-transformers' cut: longest first, every ``batch_size`` texts."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def test_every_text_is_in_exactly_one_batch_of_at_most_batch_size() -> None:
    rnd = random.Random(3)
    for n in (1, 2, 15, 16, 17, 40, 113):
        lengths = [rnd.randint(3, 256) for _ in range(n)]
        batches = plan_batches(lengths, 16, 24)
        assert sorted(i for b in batches for i in b) == list(range(n))
        assert all(1 <= len(b) <= 16 for b in batches)


def test_the_cut_is_never_dearer_than_the_fixed_cut_and_is_the_cheapest() -> None:
    rnd = random.Random(5)
    lengths = [rnd.choice([12, 20, 35, 180, 240, 256]) for _ in range(9)]
    best = padded(lengths, plan_batches(lengths, 4, 24), 24)
    assert best <= padded(lengths, count_cut(lengths, 4), 24)
    # brute force over every cut of the sorted texts into runs of at most 4
    order = sorted(range(9), key=lambda i: -lengths[i])
    cheapest = float("inf")
    for cuts in itertools.product([False, True], repeat=8):
        runs, run = [], [order[0]]
        for i, c in zip(order[1:], cuts, strict=True):
            if c:
                runs.append(run)
                run = []
            run.append(i)
        runs.append(run)
        if all(len(r) <= 4 for r in runs):
            cheapest = min(cheapest, padded(lengths, runs, 24))
    assert best == cheapest


def test_a_long_text_no_longer_pads_short_ones() -> None:
    # one 250-piece chunk and eleven 30-piece entity texts: the fixed cut pads all to 250
    lengths = [250] + [30] * 11
    batches = plan_batches(lengths, 16, 24)
    assert [0] in batches and padded(lengths, batches, 24) < padded(lengths, [list(range(12))], 24)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(batching="budget")


def test_budget_batching_gives_the_vectors_of_the_fixed_cut(embedder: Embedder) -> None:
    words = [
        "de",
        "gemeente",
        "werkt",
        "met",
        "bewoners",
        "aan",
        "minder",
        "eenzaamheid",
        "in",
        "de",
        "wijk",
    ]
    rnd = random.Random(9)
    texts = [" ".join(rnd.choices(words, k=rnd.choice([3, 8, 40, 120, 190]))) for _ in range(37)]
    texts += ["Welzijn op Recept: verwijzing van huisarts naar welzijnswerk."]
    planned = embedder.encode(texts)
    embedder.batching = "count"
    try:
        fixed = embedder.encode(texts)
    finally:
        embedder.batching = "budget"
    assert planned.shape == fixed.shape == (len(texts), 384)
    assert float(np.abs(planned - fixed).max()) <= 1e-5
    # and each text's vector is its own (not a neighbour's in the sorted order)
    alone = embedder.encode([texts[-1]])
    assert float(np.abs(planned[-1] - alone[0]).max()) <= 1e-5


def test_an_unknown_batching_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="budget, count"):
        Embedder(batching="tokens")
