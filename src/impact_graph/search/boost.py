"""Graph-fact boosts applied after fusion.

Fusion decides *what* is relevant; the boosts reorder relevant results by what a
programme manager weighs: how strong the evidence and recognition are, whether the
result has a positive effect on the outcome asked about, and whether it targets the
asked group and challenge. Boosts multiply the fused score by at most ``1 + MAX_BOOST``,
so they cannot lift an irrelevant result past a clearly relevant one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from impact_graph.vocab import Vocabulary

#: Study-design strength by evidence-type concept slug (higher is stronger).
EVIDENCE_STRENGTH = {
    "systematische-review": 6,
    "meta-analyse": 6,
    "synthese-van-onderzoek": 5,
    "rct": 5,
    "quasi-experimenteel": 4,
    "cohortonderzoek": 3,
    "effectonderzoek": 3,
    "pre-post": 2,
    "procesevaluatie": 1,
    "kwalitatief-onderzoek": 1,
    "lokale-data": 1,
    "klantreis": 1,
    "praktijkkennis": 1,
    "praktijkverhaal": 1,
    "reisverslag": 1,
}
MAX_STRENGTH = 6

#: Parts of the boost (their sum is the maximum boost).
W_RECOGNITION = 0.15
W_EVIDENCE = 0.15
W_EFFECT = 0.2
W_MATCH = 0.2
MAX_BOOST = W_RECOGNITION + W_EVIDENCE + W_EFFECT + W_MATCH
#: Share of the recognition and evidence parts for a result that does not fit the
#: question's groups, challenges or outcomes (see ``boost``).
OFF_TOPIC = 0.5
#: Share for a result that fits only the asked target group when the question also names
#: what it is about (a challenge, outcome or approach): it fits one of the two things asked
#: (for whom, not against what), so it gets half way between off-topic and full.
GROUP_ONLY = (1.0 + OFF_TOPIC) / 2
#: Share of the match part for such a group-only result: a match on *for whom* counts
#: half of a match on *what about* in a question that names both. (Jongerenwerk fits the
#: group of "jongeren die niet naar school gaan", the Thuiszitterspact its challenge; at
#: full share both got the same lift. Demo corpus, bench/search_quality.py, one ingest,
#: only this share changed: the plain-Dutch questions 0.771 -> 0.791 nDCG@10, the 42
#: others unchanged.)
GROUP_ONLY_MATCH = 0.5


def evidence_strength(vocab: Vocabulary, evidence_type: str | None, concept: str | None) -> int:
    """Strength of a study design, from its concept or its type label."""
    slug = ""
    if concept and vocab.get(concept) is not None:
        slug = vocab[concept].slug
    elif evidence_type:
        found = vocab.lookup(evidence_type, scheme="evidence-types")
        slug = found[0].slug if found else ""
    return EVIDENCE_STRENGTH.get(slug, 0)


@dataclass(slots=True)
class BoostFacts:
    """What the boost looks at for one result."""

    recognition_rank: int | None = None
    recognition_max: int = 5
    evidence_strength: int = 0
    positive_effect_on_query: bool = False
    matched_groups_or_challenges: int = 0
    #: The match is on the asked target group only, while the question also names a
    #: challenge, outcome or approach that the result does not fit.
    group_only: bool = False
    parts: dict[str, float] = field(default_factory=dict)


def boost(facts: BoostFacts) -> float:
    """Multiplier ``1 + b`` with ``0 <= b <= MAX_BOOST``; the parts are kept on ``facts``.

    Recognition and evidence strength belong to the result as a whole, often for another
    outcome than the one asked about (a recognition for less bullying says little about
    school absence), so they count fully only for a result that also fits what the
    question is about: a favourable effect on the asked outcome or a matching challenge
    (or, for a question that names only a group, that group). A result that fits only
    the asked group of a question about something else (Kanjertraining, for pupils, on
    "thuiszitters weer naar school") gets ``GROUP_ONLY`` of their weight and
    ``GROUP_ONLY_MATCH`` of the match part; one that fits nothing ``OFF_TOPIC``.
    """
    parts: dict[str, float] = {}
    if facts.positive_effect_on_query:
        quality = 1.0
    elif facts.matched_groups_or_challenges > 0:
        quality = GROUP_ONLY if facts.group_only else 1.0
    else:
        quality = OFF_TOPIC
    if facts.recognition_rank:
        parts["recognition"] = (
            quality
            * W_RECOGNITION
            * min(facts.recognition_rank / max(facts.recognition_max, 1), 1.0)
        )
    if facts.evidence_strength:
        parts["evidence"] = quality * W_EVIDENCE * facts.evidence_strength / MAX_STRENGTH
    if facts.positive_effect_on_query:
        parts["effect"] = W_EFFECT
    if facts.matched_groups_or_challenges:
        share = GROUP_ONLY_MATCH if facts.group_only else 1.0
        parts["match"] = share * W_MATCH * min(facts.matched_groups_or_challenges, 2) / 2
    facts.parts = parts
    return 1.0 + sum(parts.values())
