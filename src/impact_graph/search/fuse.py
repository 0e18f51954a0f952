"""Reciprocal rank fusion of the retrieval arms.

RRF needs no score calibration between arms (fulltext scores, cosine similarities and
concept-path weights live on different scales) and rewards agreement: a result two arms
rank well beats one that a single arm ranks first. That is what keeps the weak Dutch
embedding, or a stemmer miss, from carrying the ranking alone.

Ranks alone lose how far apart an arm's scores are, which matters for the concept arm
(a result that addresses the asked challenge scores several times one reached through
a chunk or a concept two steps away): ``fuse`` lets a share of each arm's vote follow
its score relative to the arm's best.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: RRF constant. Small, because the candidate lists are short (tens of results) and the
#: top ranks should count; 60 (the paper's value) flattens lists of this length.
RRF_K = 10


def rank(scores: Mapping[str, float]) -> list[str]:
    """Ids by descending score (ties by id, so rankings are deterministic)."""
    return [i for i, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def rrf(
    rankings: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
    k: int | None = None,
) -> dict[str, float]:
    """Fused score per id: sum over arms of ``weight / (k + rank)`` (rank 1-based);
    ``k`` defaults to ``RRF_K``."""
    return fuse(rankings, {}, weights, k=k)


def fuse(
    rankings: Mapping[str, Sequence[str]],
    scores: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float] | None = None,
    gap: Mapping[str, float] | None = None,
    k: int | None = None,
) -> dict[str, float]:
    """RRF that also hears how far apart an arm's scores are: each arm's vote
    ``weight / (k + rank)`` counts ``1 - g + g * score / best`` of itself, where ``best``
    is the arm's top score and ``g`` its share in ``gap`` (0, the default: plain ``rrf``).
    ``rankings`` are the ids of ``scores`` by ``rank`` (computed once by the caller).

    Why: ranks alone put a concept-arm hit that scores 4.5 (it addresses the asked
    challenge) and one at 1.5 (it addresses a concept two steps down) one place apart.
    With the gap the second keeps its rank's vote, but a smaller one. Still one sentence
    for a programme manager: every arm votes by rank, and a hit far behind that arm's
    best gets a smaller vote.
    """
    k = RRF_K if k is None else k
    fused: dict[str, float] = {}
    get = fused.get
    for arm, ids in rankings.items():
        w = (weights or {}).get(arm, 1.0)
        g = (gap or {}).get(arm, 0.0)
        arm_scores = scores.get(arm, {})
        best = arm_scores[ids[0]] if ids and g > 0 else 0.0
        if best <= 0:  # plain RRF (most arms: no score lookups on long lists)
            for r, i in enumerate(ids, start=k + 1):
                fused[i] = get(i, 0.0) + w / r
            continue
        for r, i in enumerate(ids, start=k + 1):
            share = 1.0 - g + g * max(arm_scores[i], 0.0) / best
            fused[i] = get(i, 0.0) + w * share / r
    return fused
