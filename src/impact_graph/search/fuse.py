"""Reciprocal rank fusion of the retrieval arms.

RRF needs no score calibration between arms (fulltext scores, cosine similarities and
concept-path weights live on different scales) and rewards agreement: a result two arms
rank well beats one that a single arm ranks first. That is what keeps the weak Dutch
embedding, or a stemmer miss, from carrying the ranking alone.
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
    k = RRF_K if k is None else k
    fused: dict[str, float] = {}
    for arm, ids in rankings.items():
        w = (weights or {}).get(arm, 1.0)
        for r, i in enumerate(ids, start=1):
            fused[i] = fused.get(i, 0.0) + w / (k + r)
    return fused
