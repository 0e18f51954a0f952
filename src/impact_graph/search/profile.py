"""What the graph knows about each candidate result, gathered in two steps.

Filters, facets, boosts and explanations all read the same ``Profile``, so a facet count
always agrees with what the filter of that value keeps. Queries are portable openCypher
through ``GraphStore.read_query`` (``UNWIND $ids`` + the indexed ``Node {id}`` lookup).

Speed: every per-candidate lookup is one branch of a ``UNION ALL`` query (each branch
returns ``rid, kind, v``; the branches are two queries sent side by side), and the second
step adds what depends on the first (programmes through documents, areas). Fan-outs that
grow with the graph (the chunks that mention a popular intervention, the concepts those
chunks mention) are aggregated inside the database, so the rows returned stay bounded by
what a result card shows.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from impact_graph.search.boost import evidence_strength
from impact_graph.search.lookups import side_by_side
from impact_graph.search.models import (
    RESULT_TYPES,
    EffectOut,
    EvidenceOut,
    InstanceOut,
    InterventionRef,
    ProgrammeRef,
)
from impact_graph.store.port import GraphStore
from impact_graph.vocab import Vocabulary

#: Co-mentioned challenges/target groups stand in for missing ADDRESSES/TARGETS facts
#: (up to this many, most mentioned first).
FALLBACK_CONCEPTS = 3
#: Chunks kept per (result, document) as places to quote from; the chunks the search
#: arms found come first anyway (see ``SearchService``), these only fill up.
CHUNKS_PER_DOCUMENT = 3
#: Row cap of the profile queries (the port caps rows; ask for what is needed).
ROW_CAP = 200_000


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
    instance_of: dict[str, str] = field(default_factory=dict)  # general intervention id -> name
    instances: dict[str, InstanceOut] = field(default_factory=dict)  # local instances

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


def _s(v: Any) -> str:
    return "" if v is None else str(v)


def _rank(level: Any, rank: Any, vocab: Vocabulary) -> int | None:
    r = int(rank) if isinstance(rank, int | float) else None
    if level and r is None:
        r = vocab.recognition_rank(str(level))
    return r


# Local instances (INSTANCE_OF): the general intervention a result is a version of, and
# the local versions of a general one with the programmes that use them. Only names,
# ids and each instance's own rating travel: a rating is never inherited either way.
_INSTANCE_BRANCHES = (
    "UNWIND $eids AS rid MATCH (r:Node {id: rid})-[:INSTANCE_OF]->(g:Intervention) "
    "RETURN rid, 'instance_of' AS kind, [g.id, g.name, null, null, null] AS v",
    "UNWIND $eids AS rid MATCH (x:Intervention)-[:INSTANCE_OF]->(r:Node {id: rid}) "
    "OPTIONAL MATCH (p:Programme)-[:USES]->(x) "
    "RETURN rid, 'instance' AS kind, [x.id, x.name, x.rating_level, p.id, p.name] AS v",
)
INSTANCE_QUERY = " UNION ALL ".join(_INSTANCE_BRANCHES)

# Branches of the first query; $ids = all candidates, $eids = entities, $wids = working
# elements, $cids = chunks. Each returns (rid, kind, v) with v a list read in ``_apply``.
_EVIDENCE = "coalesce(ev.title, ev.citation, ev.name)"
_BRANCHES = (
    # (Every value returned costs client-side parsing, so rows carry scalars, not lists
    # of labels.)
    "UNWIND $ids AS rid MATCH (r:Node {id: rid}) RETURN rid, 'node' AS kind, "
    "[CASE WHEN r:Intervention THEN 'intervention' WHEN r:WorkingElement THEN "
    "'working_element' WHEN r:Chunk THEN 'chunk' END, r.name, r.concept, r.rating_level, "
    "r.rating_rank] AS v",
    # What a result addresses and targets: two values a row (most facts; parsing the
    # reply is most of this query's client time), effects with all they show.
    "UNWIND $eids AS rid MATCH (r:Node {id: rid})-[rel:ADDRESSES|TARGETS]->(x) "
    "RETURN rid, 'about' AS kind, [type(rel), x.concept] AS v",
    "UNWIND $eids AS rid MATCH (r:Node {id: rid})-[:HAS_EFFECT]->(x) "
    "RETURN rid, 'fact' AS kind, ['HAS_EFFECT', x.id, x.name, x.concept, x.outcome, "
    "x.direction, x.magnitude, x.effect_size, x.rating_level, x.rating_rank] AS v",
    "UNWIND $eids AS rid MATCH (r:Node {id: rid})-[:HAS_EFFECT]->(e:Effect)"
    "-[:SUPPORTED_BY]->(ev:Evidence) RETURN rid, 'evidence' AS kind, [e.rating_level, "
    f"e.rating_rank, ev.id, ev.evidence_type, ev.concept, {_EVIDENCE}] AS v",
    "UNWIND $eids AS rid MATCH (r:Node {id: rid})-[:SUPPORTED_BY]->(ev:Evidence) "
    "RETURN rid, 'evidence' AS kind, [null, null, ev.id, ev.evidence_type, ev.concept, "
    f"{_EVIDENCE}] AS v",
    "UNWIND $wids AS rid MATCH (i:Intervention)-[:HAS_ELEMENT]->(r:Node {id: rid}) "
    "OPTIONAL MATCH (i)-[rel:ADDRESSES|TARGETS]->(x) "
    "RETURN rid, 'element_of' AS kind, [i.id, i.name, type(rel), x.concept] AS v",
    # A programme's own working elements (a reisverslag's "werkzame elementen") belong
    # to it as a whole: they inherit its challenges and groups, and it is where they
    # were tried.
    "UNWIND $wids AS rid MATCH (p:Programme)-[:HAS_PROGRAMME_ELEMENT]->(r:Node {id: rid}) "
    "OPTIONAL MATCH (p)-[rel:ADDRESSES|TARGETS]->(x) "
    "RETURN rid, 'programme_element' AS kind, [p.id, p.name, type(rel), x.concept] AS v",
    "UNWIND $eids AS rid MATCH (p:Programme)-[:USES]->(r:Node {id: rid}) "
    "RETURN rid, 'uses' AS kind, [p.id, p.name] AS v",
    "UNWIND $wids AS rid MATCH (p:Programme)-[:USES]->(:Intervention)-[:HAS_ELEMENT]->"
    "(r:Node {id: rid}) RETURN DISTINCT rid, 'uses' AS kind, [p.id, p.name] AS v",
    "UNWIND $eids AS rid MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk)-[:MENTIONS]->"
    "(r:Node {id: rid}) WITH rid, d, collect(DISTINCT c.id) AS cs "
    "RETURN rid, 'doc' AS kind, [d.id, d.title, cs[..$per_doc]] AS v",
    "UNWIND $cids AS rid MATCH (d:Document)-[:HAS_CHUNK]->(c:Node {id: rid}) "
    "RETURN rid, 'doc' AS kind, [d.id, d.title, [rid]] AS v",
    # Challenges and target groups mentioned in the result's chunks, counted per concept.
    # (Label tests go after a WITH: FalkorDB plans a WHERE on an unbound node's labels as
    # a scan of every node, even when the pattern starts from an indexed one.)
    "UNWIND $eids AS rid MATCH (r:Node {id: rid})<-[:MENTIONS]-(c:Chunk) "
    "WITH DISTINCT rid, c MATCH (c)-[:MENTIONS]->(x) WITH rid, x "
    "WHERE (x:Challenge OR x:TargetGroup) AND x.concept IS NOT NULL "
    "WITH rid, x:Challenge AS challenge, x.concept AS concept, count(*) AS n "
    "RETURN rid, 'mentioned' AS kind, [challenge, concept, n] AS v",
    "UNWIND $cids AS rid MATCH (c:Node {id: rid})-[:MENTIONS]->(x) WITH rid, x "
    "WHERE (x:Challenge OR x:TargetGroup) AND x.concept IS NOT NULL "
    "WITH rid, x:Challenge AS challenge, x.concept AS concept, count(*) AS n "
    "RETURN rid, 'mentioned' AS kind, [challenge, concept, n] AS v",
    *_INSTANCE_BRANCHES,
)
#: The first query in two halves, sent side by side (``lookups.side_by_side``): one
#: FalkorDB query runs on one server thread, and most of the first half's time is the
#: client reading its rows (the nodes, their facts and the interventions of working
#: elements), most of the second half's the server walking chunks and programmes, so
#: the two overlap. The rows come back in branch order either way.
FIRST_SPLIT = 6
FIRST_QUERIES = (
    " UNION ALL ".join(_BRANCHES[:FIRST_SPLIT]),
    " UNION ALL ".join(_BRANCHES[FIRST_SPLIT:]),
)
_PARAM_RE = re.compile(r"\$(\w+)")
# Programmes whose documents are the result's documents, and areas of programmes and
# documents ($oids: documents and programmes already known; $dids: documents).
# Programmes are few (one per municipal programme), so one pass over them is cheap; the
# list test has no index on either backend.
SECOND_QUERY = (
    "MATCH (p:Programme) WHERE any(d IN p.sources WHERE d IN $dids) "
    "UNWIND [d IN p.sources WHERE d IN $dids] AS did "
    "RETURN did AS oid, 'programme' AS kind, [p.id, p.name] AS v "
    "UNION ALL MATCH (p:Programme)-[:IN_AREA]->(a:Area) "
    "WHERE any(d IN p.sources WHERE d IN $dids) "
    "RETURN p.id AS oid, 'area' AS kind, [a.id, a.name] AS v "
    "UNION ALL UNWIND $oids AS oid MATCH (o:Node {id: oid})-[:IN_AREA]->(a:Area) "
    "RETURN oid, 'area' AS kind, [a.id, a.name] AS v"
)


def _rows(store: GraphStore, query: str, params: dict[str, Any]) -> list[list[Any]]:
    return store.read_query(query, params, timeout_s=10.0, row_cap=ROW_CAP).rows


def build_profiles(
    store: GraphStore,
    vocab: Vocabulary,
    ids: Sequence[str],
    chunk_ids: Collection[str] | None = None,
) -> dict[str, Profile]:
    """Profiles of the result nodes ``ids`` (unknown ids and non-result labels skipped).

    ``chunk_ids`` says which ids are chunks when the caller knows (the search arms do),
    so each branch only looks up the ids it can match; without it every branch takes
    every id and the patterns sort them out.
    """
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    if chunk_ids is None:
        eids, cids = ids, ids
    else:
        eids = [i for i in ids if i not in chunk_ids]
        cids = [i for i in ids if i in chunk_ids]
    params = {"ids": ids, "eids": eids, "wids": eids, "cids": cids, "per_doc": CHUNKS_PER_DOCUMENT}
    # Each half gets only the parameters it names (the server parses every one it is sent).
    calls = [
        partial(_rows, store, q, {k: params[k] for k in _PARAM_RE.findall(q) if k in params})
        for q in FIRST_QUERIES
    ]
    by_kind: dict[str, list[list[Any]]] = defaultdict(list)
    for rows in side_by_side(calls):
        for rid, kind, v in rows:
            by_kind[kind].append([rid, *v])
    profiles = _nodes(vocab, by_kind["node"])
    if not profiles:
        return profiles
    _about(profiles, by_kind["about"])
    _facts(vocab, profiles, by_kind["fact"], by_kind["evidence"])
    _element_of(profiles, by_kind["element_of"])
    _programme_element(profiles, by_kind["programme_element"])
    for rid, pid, pname in by_kind["uses"]:
        if rid in profiles:
            profiles[rid].programmes[pid] = ProgrammeRef(id=pid, name=_s(pname), via="uses")
    for rid, did, title, cids in by_kind["doc"]:
        p = profiles.get(rid)
        if p is None or (p.type == "chunk") != (cids == [rid]):
            continue
        p.documents[did] = _s(title)
        if p.type == "chunk":
            p.name = p.name or _s(title)
            p.chunks = [rid]
        else:
            p.chunks.extend(c for c in cids if c not in p.chunks)
    _mentioned(profiles, by_kind["mentioned"])
    _instances(profiles, by_kind["instance_of"], by_kind["instance"])
    _programmes_and_areas(store, profiles)
    return profiles


def _instances(
    profiles: dict[str, Profile], general: list[list[Any]], local: list[list[Any]]
) -> None:
    """Rows [id, general id, name, ...] and [id, instance id, name, rating, programme id,
    programme name] onto the interventions' ``instance_of`` and ``instances``."""
    for rid, gid, gname, *_ in general:
        p = profiles.get(rid)
        if p is not None and p.type == "intervention":
            p.instance_of[gid] = _s(gname)
    for rid, xid, xname, level, pid, pname in local:
        p = profiles.get(rid)
        if p is None or p.type != "intervention":
            continue
        inst = p.instances.setdefault(
            xid, InstanceOut(id=xid, name=_s(xname), recognition=_s(level))
        )
        if pid and all(r.id != pid for r in inst.programmes):
            inst.programmes.append(ProgrammeRef(id=pid, name=_s(pname), via="uses"))


def instance_links(
    store: GraphStore, node_id: str
) -> tuple[list[InterventionRef], list[InstanceOut]]:
    """For an entity page: the general interventions ``node_id`` is a local instance of,
    and its own local instances with their programmes (both empty for other nodes)."""
    rows = _rows(store, INSTANCE_QUERY, {"eids": [node_id]})
    p = Profile(node_id, "intervention", "", {})
    _instances(
        {node_id: p},
        [[rid, *v] for rid, kind, v in rows if kind == "instance_of"],
        [[rid, *v] for rid, kind, v in rows if kind == "instance"],
    )
    return (
        [InterventionRef(id=i, name=n) for i, n in sorted(p.instance_of.items())],
        sorted(p.instances.values(), key=lambda x: x.name.lower()),
    )


def _nodes(vocab: Vocabulary, rows: list[list[Any]]) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for rid, kind, name, concept, level, rank in rows:
        if kind not in RESULT_TYPES:
            continue
        props = {"name": name, "concept": concept, "rating_level": level, "rating_rank": rank}
        p = Profile(str(rid), kind, _s(name), props)
        p.rate(level, rank)
        if p.recognition and p.recognition_rank is None:
            p.recognition_rank = vocab.recognition_rank(p.recognition)
        if isinstance(concept, str) and (c := vocab.get(concept)) is not None:
            for r in c.related:
                rc = vocab.get(r)
                if rc is not None and rc.scheme == "challenges":
                    p.challenges.add(r)
                elif rc is not None and rc.scheme == "target-groups":
                    p.target_groups.add(r)
        profiles[p.id] = p
    return profiles


def _about(profiles: dict[str, Profile], rows: list[list[Any]]) -> None:
    """Challenges a result addresses and target groups it targets (concept IRIs)."""
    for rid, rel, concept in rows:
        p = profiles.get(rid)
        if p is None or p.type == "chunk" or not concept:
            continue
        if rel == "ADDRESSES":
            p.challenges.add(concept)
        elif rel == "TARGETS":
            p.target_groups.add(concept)


def _facts(
    vocab: Vocabulary,
    profiles: dict[str, Profile],
    facts: list[list[Any]],
    evidence: list[list[Any]],
) -> None:
    for rid, _rel, xid, xname, concept, outcome, direction, magnitude, size, level, rank in facts:
        p = profiles.get(rid)
        if p is None or p.type == "chunk":
            continue
        eff = EffectOut(
            id=xid,
            outcome=_s(outcome or xname),
            direction=_s(direction),
            magnitude=_s(magnitude if magnitude is not None else size),
            level=_s(level),
            # Judged by the outcome concept where known, so unusual labels still count.
            favourable=vocab.favourable(concept or _s(outcome or xname), _s(direction)),
        )
        rank_ = _rank(level, rank, vocab)
        p.effects.append((eff, concept, rank_))
        p.rate(level, rank_)
    for rid, level, rank, evid, etype, econcept, title in evidence:
        p = profiles.get(rid)
        if p is None or p.type == "chunk":
            continue
        rank_ = _rank(level, rank, vocab)
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


def _element_of(profiles: dict[str, Profile], rows: list[list[Any]]) -> None:
    """Working elements inherit challenges and target groups of their interventions."""

    def attach(p: Profile, iid: str, iname: str) -> None:
        p.interventions[iid] = iname

    _inherit(profiles, rows, attach)


def _programme_element(profiles: dict[str, Profile], rows: list[list[Any]]) -> None:
    """Working elements a programme names for its whole approach inherit its challenges
    and target groups, and list it as a programme that uses them."""

    def attach(p: Profile, pid: str, pname: str) -> None:
        p.programmes[pid] = ProgrammeRef(id=pid, name=pname, via="uses")

    _inherit(profiles, rows, attach)


def _inherit(
    profiles: dict[str, Profile],
    rows: list[list[Any]],
    attach: Callable[[Profile, str, str], None],
) -> None:
    """For rows [element id, owner id, owner name, ADDRESSES|TARGETS, concept]: link each
    working element to its owner (``attach``) and give it the owner's challenges and
    target groups."""
    for rid, oid, oname, rel, concept in rows:
        p = profiles.get(rid)
        if p is None or p.type != "working_element":
            continue
        attach(p, oid, _s(oname))
        if concept and rel == "ADDRESSES":
            p.challenges.add(concept)
        elif concept and rel == "TARGETS":
            p.target_groups.add(concept)


def _mentioned(profiles: dict[str, Profile], rows: list[list[Any]]) -> None:
    """Challenges and target groups mentioned in the result's chunks; they stand in for
    ADDRESSES/TARGETS facts the extraction did not state."""
    counts: dict[str, dict[str, Counter[str]]] = defaultdict(
        lambda: {"Challenge": Counter(), "TargetGroup": Counter()}
    )
    for rid, challenge, concept, n in rows:
        if rid not in profiles:
            continue
        kind = "Challenge" if challenge else "TargetGroup"
        counts[rid][kind][concept] += int(n)
    for rid, c in counts.items():
        p = profiles[rid]
        p.mentioned |= set(c["Challenge"]) | set(c["TargetGroup"])
        if p.type == "chunk":
            p.challenges |= set(c["Challenge"])
            p.target_groups |= set(c["TargetGroup"])
            continue
        if not p.challenges:
            p.challenges = {x for x, _ in c["Challenge"].most_common(FALLBACK_CONCEPTS)}
        if not p.target_groups:
            p.target_groups = {x for x, _ in c["TargetGroup"].most_common(FALLBACK_CONCEPTS)}


def _programmes_and_areas(store: GraphStore, profiles: dict[str, Profile]) -> None:
    """Programmes whose documents mention a result (after those that use it), and the
    areas of the result's programmes and documents."""
    docs: dict[str, list[str]] = defaultdict(list)
    owners: dict[str, list[str]] = defaultdict(list)
    for p in profiles.values():
        for did in p.documents:
            docs[did].append(p.id)
            owners[did].append(p.id)
        for pid in p.programmes:
            owners[pid].append(p.id)
    if not owners:
        return
    rows = _rows(store, SECOND_QUERY, {"dids": sorted(docs), "oids": sorted(owners)})
    for oid, kind, (xid, xname) in rows:
        if kind == "programme":
            for rid in docs.get(oid, ()):
                profiles[rid].programmes.setdefault(
                    xid, ProgrammeRef(id=xid, name=_s(xname), via="mentions")
                )
    # Areas after programmes: a programme found through documents brings its areas.
    prog_owners: dict[str, set[str]] = defaultdict(set)
    for p in profiles.values():
        for pid in p.programmes:
            prog_owners[pid].add(p.id)
    for oid, kind, (xid, xname) in rows:
        if kind != "area":
            continue
        for rid in {*docs.get(oid, ()), *prog_owners.get(oid, ())}:
            profiles[rid].areas[xid] = _s(xname)
