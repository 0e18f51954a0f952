"""What the graph knows about each candidate result, gathered in a few batched queries.

Filters, facets, boosts and explanations all read the same ``Profile``, so a facet count
always agrees with what the filter of that value keeps. Queries are portable openCypher
through ``GraphStore.read_query`` (``UNWIND $ids`` + the indexed ``Node {id}`` lookup).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from impact_graph.search.boost import evidence_strength
from impact_graph.search.models import LABEL_TYPE, EffectOut, EvidenceOut, ProgrammeRef
from impact_graph.store.port import GraphStore
from impact_graph.vocab import Vocabulary

#: Co-mentioned challenges/target groups stand in for missing ADDRESSES/TARGETS facts
#: (up to this many, most mentioned first).
FALLBACK_CONCEPTS = 3


@dataclass(slots=True)
class Profile:
    """Facts about one result node."""

    id: str
    type: str
    name: str
    props: dict[str, Any]
    challenges: set[str] = field(default_factory=set)  # concept IRIs
    target_groups: set[str] = field(default_factory=set)
    mentioned: set[str] = field(default_factory=set)  # concept IRIs mentioned alongside
    effects: list[tuple[EffectOut, str | None, int | None]] = field(default_factory=list)
    evidence: dict[str, EvidenceOut] = field(default_factory=dict)
    evidence_concepts: set[str] = field(default_factory=set)
    interventions: dict[str, str] = field(default_factory=dict)  # for working elements
    programmes: dict[str, ProgrammeRef] = field(default_factory=dict)
    areas: dict[str, str] = field(default_factory=dict)  # id -> name
    documents: dict[str, str] = field(default_factory=dict)  # id -> title
    chunks: list[str] = field(default_factory=list)  # chunks that mention it (or itself)
    recognition: str = ""
    recognition_rank: int | None = None

    @property
    def evidence_types(self) -> set[str]:
        return {e.type for e in self.evidence.values() if e.type}

    @property
    def concepts(self) -> set[str]:
        own = self.props.get("concept")
        return (
            self.challenges
            | self.target_groups
            | self.mentioned
            | {c for _, c, _ in self.effects if c}
            | ({own} if isinstance(own, str) else set())
        )

    def rate(self, level: Any, rank: Any) -> None:
        """Keep the strongest recognition seen."""
        if isinstance(rank, int | float) and (
            self.recognition_rank is None or int(rank) > self.recognition_rank
        ):
            self.recognition_rank = int(rank)
            self.recognition = str(level or "")
        elif level and not self.recognition:
            self.recognition = str(level)


def _rows(store: GraphStore, query: str, params: dict[str, Any]) -> list[list[Any]]:
    return store.read_query(query, params, timeout_s=10.0, row_cap=50000).rows


def _s(v: Any) -> str:
    return "" if v is None else str(v)


def build_profiles(store: GraphStore, vocab: Vocabulary, ids: Sequence[str]) -> dict[str, Profile]:
    """Profiles of the result nodes ``ids`` (unknown ids and non-result labels skipped)."""
    profiles: dict[str, Profile] = {}
    for n in store.get_nodes(list(ids)):
        kind = LABEL_TYPE.get(str(n.get("label")))
        if kind is None:
            continue
        p = Profile(str(n["id"]), kind, _s(n.get("name")), n)
        p.rate(n.get("rating_level"), n.get("rating_rank"))
        if p.recognition and p.recognition_rank is None:
            p.recognition_rank = vocab.recognition_rank(p.recognition)
        own = n.get("concept")
        if isinstance(own, str) and (c := vocab.get(own)) is not None:
            for r in c.related:
                rc = vocab.get(r)
                if rc is not None and rc.scheme == "challenges":
                    p.challenges.add(r)
                elif rc is not None and rc.scheme == "target-groups":
                    p.target_groups.add(r)
        profiles[p.id] = p
    if not profiles:
        return profiles
    entity_ids = [i for i, p in profiles.items() if p.type != "chunk"]
    chunk_ids = [i for i, p in profiles.items() if p.type == "chunk"]
    _facts(store, vocab, profiles, entity_ids)
    _element_of(store, profiles, entity_ids)
    _documents(store, profiles, entity_ids, chunk_ids)
    _mentioned(store, profiles)
    _programmes(store, profiles)
    return profiles


def _facts(
    store: GraphStore, vocab: Vocabulary, profiles: dict[str, Profile], ids: list[str]
) -> None:
    if not ids:
        return
    for rid, rel, xid, xname, concept, outcome, direction, magnitude, size, level, rank in _rows(
        store,
        "UNWIND $ids AS rid MATCH (r:Node {id: rid})-[rel]->(x) WHERE type(rel) IN "
        "['ADDRESSES', 'TARGETS', 'HAS_EFFECT'] RETURN rid, type(rel), x.id, x.name, "
        "x.concept, x.outcome, x.direction, x.magnitude, x.effect_size, x.rating_level, "
        "x.rating_rank",
        {"ids": ids},
    ):
        p = profiles[rid]
        if rel == "ADDRESSES" and concept:
            p.challenges.add(concept)
        elif rel == "TARGETS" and concept:
            p.target_groups.add(concept)
        elif rel == "HAS_EFFECT":
            eff = EffectOut(
                id=xid,
                outcome=_s(outcome or xname),
                direction=_s(direction),
                magnitude=_s(magnitude if magnitude is not None else size),
                level=_s(level),
            )
            rank_ = int(rank) if isinstance(rank, int | float) else None
            if level and rank_ is None:
                rank_ = vocab.recognition_rank(str(level))
            p.effects.append((eff, concept, rank_))
            p.rate(level, rank_)
    ev_rows = _rows(
        store,
        "UNWIND $ids AS rid MATCH (r:Node {id: rid}) MATCH (r)-[:HAS_EFFECT]->(e:Effect)"
        "-[:SUPPORTED_BY]->(ev:Evidence) RETURN rid, e.rating_level, e.rating_rank, "
        "ev.id, ev.evidence_type, ev.concept, coalesce(ev.title, ev.citation, ev.name)",
        {"ids": ids},
    ) + _rows(
        store,
        "UNWIND $ids AS rid MATCH (r:Node {id: rid})-[:SUPPORTED_BY]->(ev:Evidence) "
        "RETURN rid, null AS level, null AS rank, ev.id, ev.evidence_type, ev.concept, "
        "coalesce(ev.title, ev.citation, ev.name)",
        {"ids": ids},
    )
    for rid, level, rank, evid, etype, econcept, title in ev_rows:
        p = profiles[rid]
        rank_ = int(rank) if isinstance(rank, int | float) else None
        if level and rank_ is None:
            rank_ = vocab.recognition_rank(str(level))
        old = p.evidence.get(evid)
        if old is None or (rank_ or -1) > (old.rank or -1):
            p.evidence[evid] = EvidenceOut(
                id=evid,
                type=_s(etype),
                title=_s(title),
                level=_s(level),
                rank=rank_,
                strength=evidence_strength(vocab, etype, econcept),
            )
        if econcept:
            p.evidence_concepts.add(econcept)


def _element_of(store: GraphStore, profiles: dict[str, Profile], ids: list[str]) -> None:
    """Working elements inherit challenges and target groups of their interventions."""
    wids = [i for i in ids if profiles[i].type == "working_element"]
    if not wids:
        return
    for rid, iid, iname, rel, concept in _rows(
        store,
        "UNWIND $ids AS rid MATCH (i:Intervention)-[:HAS_ELEMENT]->(r:Node {id: rid}) "
        "OPTIONAL MATCH (i)-[rel]->(x) WHERE type(rel) IN ['ADDRESSES', 'TARGETS'] "
        "RETURN rid, i.id, i.name, type(rel), x.concept",
        {"ids": wids},
    ):
        p = profiles[rid]
        p.interventions[iid] = _s(iname)
        if concept and rel == "ADDRESSES":
            p.challenges.add(concept)
        elif concept and rel == "TARGETS":
            p.target_groups.add(concept)


def _documents(
    store: GraphStore, profiles: dict[str, Profile], entity_ids: list[str], chunk_ids: list[str]
) -> None:
    if entity_ids:
        for rid, did, title, cid in _rows(
            store,
            "UNWIND $ids AS rid MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk)-[:MENTIONS]->"
            "(r:Node {id: rid}) RETURN DISTINCT rid, d.id, d.title, c.id",
            {"ids": entity_ids},
        ):
            p = profiles[rid]
            p.documents[did] = _s(title)
            if cid not in p.chunks:
                p.chunks.append(cid)
    if chunk_ids:
        for cid, did, title in _rows(
            store,
            "UNWIND $ids AS cid MATCH (d:Document)-[:HAS_CHUNK]->(c:Node {id: cid}) "
            "RETURN cid, d.id, d.title",
            {"ids": chunk_ids},
        ):
            p = profiles[cid]
            p.documents[did] = _s(title)
            p.name = p.name or _s(title)
            p.chunks = [cid]


def _mentioned(store: GraphStore, profiles: dict[str, Profile]) -> None:
    """Challenges and target groups mentioned in the result's chunks; they stand in for
    ADDRESSES/TARGETS facts the extraction did not state."""
    all_chunks = sorted({c for p in profiles.values() for c in p.chunks})
    if not all_chunks:
        return
    per_chunk: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for cid, labels, concept, n in _rows(
        store,
        "UNWIND $ids AS cid MATCH (c:Node {id: cid})-[:MENTIONS]->(x) "
        "WHERE (x:Challenge OR x:TargetGroup) AND x.concept IS NOT NULL "
        "RETURN cid, labels(x), x.concept, count(*)",
        {"ids": all_chunks},
    ):
        kind = "Challenge" if "Challenge" in labels else "TargetGroup"
        per_chunk[cid].append((kind, concept, int(n)))
    for p in profiles.values():
        counts: dict[str, Counter[str]] = {"Challenge": Counter(), "TargetGroup": Counter()}
        for cid in p.chunks:
            for kind, concept, n in per_chunk.get(cid, ()):
                counts[kind][concept] += n
                p.mentioned.add(concept)
        if p.type == "chunk":
            p.challenges |= set(counts["Challenge"])
            p.target_groups |= set(counts["TargetGroup"])
            continue
        if not p.challenges:
            p.challenges = {c for c, _ in counts["Challenge"].most_common(FALLBACK_CONCEPTS)}
        if not p.target_groups:
            p.target_groups = {c for c, _ in counts["TargetGroup"].most_common(FALLBACK_CONCEPTS)}


def _programmes(store: GraphStore, profiles: dict[str, Profile]) -> None:
    """Programmes that use a result (USES, also via a working element's interventions)
    or whose documents mention it; areas of those programmes and documents."""
    using: dict[str, list[str]] = defaultdict(list)  # node id -> result ids
    for p in profiles.values():
        if p.type != "chunk":
            using[p.id].append(p.id)
        for iid in p.interventions:
            using[iid].append(p.id)
    if using:
        for nid, pid, pname in _rows(
            store,
            "UNWIND $ids AS nid MATCH (p:Programme)-[:USES]->(r:Node {id: nid}) "
            "RETURN nid, p.id, p.name",
            {"ids": sorted(using)},
        ):
            for rid in using[nid]:
                profiles[rid].programmes[pid] = ProgrammeRef(id=pid, name=_s(pname), via="uses")
    docs: dict[str, list[str]] = defaultdict(list)
    for p in profiles.values():
        for did in p.documents:
            docs[did].append(p.id)
    if not docs:
        return
    for did, pid, pname in _rows(
        store,
        "UNWIND $ids AS did MATCH (p:Programme) WHERE did IN p.sources RETURN did, p.id, p.name",
        {"ids": sorted(docs)},
    ):
        for rid in docs[did]:
            profiles[rid].programmes.setdefault(
                pid, ProgrammeRef(id=pid, name=_s(pname), via="mentions")
            )
    owners: dict[str, list[str]] = defaultdict(list)
    for p in profiles.values():
        for pid in p.programmes:
            owners[pid].append(p.id)
        for did in p.documents:
            owners[did].append(p.id)
    for oid, aid, aname in _rows(
        store,
        "UNWIND $ids AS oid MATCH (o:Node {id: oid})-[:IN_AREA]->(a:Area) RETURN oid, a.id, a.name",
        {"ids": sorted(owners)},
    ):
        for rid in owners[oid]:
            profiles[rid].areas[aid] = _s(aname)
