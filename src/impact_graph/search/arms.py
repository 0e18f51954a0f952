"""The three retrieval arms: concept, fulltext and vector.

Each arm finds result ids of its own kind (``ArmHits``): entities (interventions and
working elements) and chunks. Chunks found by an arm also lend their score to the
entities they mention (``spread``), because a document that says "Welzijn op Recept helpt
ouderen die zich eenzaam voelen" is evidence for Welzijn op Recept even when its name
shares no word with the question.

Speed: what the chunks mention is looked up once for the chunks of *all* arms
(``chunk_links``), and the concept arm is two index-driven queries whose fan-out is
aggregated and cut inside the database, so no arm ships rows that grow with the graph.
All graph access goes through the store port in portable openCypher.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Protocol

import numpy as np

from impact_graph.model import SearchHit, slugify
from impact_graph.schema import Schema
from impact_graph.search.lookups import side_by_side
from impact_graph.search.query import ParsedQuery
from impact_graph.store.port import GraphStore
from impact_graph.vocab import Vocabulary

#: Entity labels that are results; chunks are results too.
ENTITY_LABELS = ("Intervention", "WorkingElement")
#: How many hits each arm asks the store for, per label.
ARM_K = 50
#: Share of chunk evidence an entity gets (sum of its best ``CHUNKS_PER_ENTITY`` chunks).
CHUNK_SHARE = 0.5
CHUNKS_PER_ENTITY = 3
#: Share of a fact a result inherits from what contains it: an intervention from the
#: programmes that use it (a programme against loneliness uses it against loneliness),
#: a working element from the interventions that have it.
INHERITED = 0.5
#: Relationships from a result to the concept nodes that characterise it.
FACT_RELS = ("ADDRESSES", "TARGETS", "HAS_ELEMENT", "HAS_EFFECT")
#: Entities the concept arm keeps from its fact paths (best first). A broad concept
#: ("ouderen") is the target of thousands of interventions in a large graph; beyond a few
#: hundred places a rank adds almost nothing to the fusion (1/(k + rank)).
FACT_LIMIT = 500
#: Chunks the concept arm keeps (a broad concept is mentioned everywhere).
CONCEPT_CHUNKS = ARM_K * 2

#: Share of an effect's weight when it moves an asked outcome the wrong way or not at
#: all ("no effect on loneliness" is still about loneliness, but no answer to it).
UNFAVOURABLE = 0.3
#: Spellings of a direction as stored on Effect nodes.
_SPELLINGS = {"+": ("+",), "−": ("−", "-")}

#: Label test of a result node. Always after a ``WITH``: FalkorDB plans a WHERE on an
#: unbound node's labels as a scan of every node, even when the pattern could start
#: from an indexed node.
_ENTITY_WHERE = "(r:Intervention OR r:WorkingElement)"


class Embedder(Protocol):
    """What the vector arm needs from ``impact_graph.ingest.embed.Embedder``."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(slots=True)
class ArmHits:
    """One arm's own finds, before chunks lend their score to entities."""

    direct: dict[str, float] = field(default_factory=dict)  # entity id -> score
    chunks: dict[str, float] = field(default_factory=dict)  # chunk id -> score
    names: dict[str, str] = field(default_factory=dict)  # entity id -> name, where known


@dataclass(slots=True)
class ChunkLinks:
    """Which result entities chunks mention, and how widely each entity is mentioned."""

    entities: dict[str, list[str]] = field(default_factory=dict)  # chunk id -> entity ids
    mentions: dict[str, int] = field(default_factory=dict)  # entity id -> chunks mentioning it
    names: dict[str, str] = field(default_factory=dict)  # entity id -> name

    def chunks_of(self, entity_id: str) -> list[str]:
        return [c for c, ents in self.entities.items() if entity_id in ents]


def _rows(
    store: GraphStore, query: str, params: dict[str, Any], row_cap: int = 20000
) -> list[list[Any]]:
    return store.read_query(query, params, timeout_s=10.0, row_cap=row_cap).rows


def chunk_links(store: GraphStore, chunk_ids: Iterable[str]) -> ChunkLinks:
    """One query: the entities the chunks mention, with each entity's mention count.

    The count is aggregated in the database (an entity mentioned in 10,000 chunks is one
    row), so the answer is bounded by the number of entities the chunks name.
    """
    ids = sorted(set(chunk_ids))
    links = ChunkLinks()
    if not ids:
        return links
    for rid, name, cids, total in _rows(
        store,
        # (c:Node, not c:Chunk: on Neo4j only the base label's id is indexed.)
        "UNWIND $ids AS cid MATCH (c:Node {id: cid})-[:MENTIONS]->(r) WITH cid, r "
        f"WHERE {_ENTITY_WHERE} WITH r, collect(DISTINCT cid) AS cids "
        "MATCH (r)<-[:MENTIONS]-(o:Chunk) RETURN r.id, r.name, cids, count(DISTINCT o)",
        {"ids": ids},
    ):
        links.mentions[rid] = int(total)
        if isinstance(name, str):
            links.names[rid] = name
        for cid in cids:
            links.entities.setdefault(cid, []).append(rid)
    return links


def spread(hits: ArmHits, links: ChunkLinks) -> dict[str, float]:
    """Entity scores = max(own score, lent score); chunk scores stay results of their own.

    The lent score is CHUNK_SHARE × the sum of the entity's best matching chunks ×
    sqrt(share of its mentions that match). The last factor keeps generic working
    elements ("vroegsignalering", mentioned in every programme) from riding along with
    any query: an entity whose mentions are mostly about the question ranks higher.
    """
    per_entity: dict[str, list[float]] = defaultdict(list)
    for cid, score in hits.chunks.items():
        for e in links.entities.get(cid, ()):
            per_entity[e].append(score)
    out = dict(hits.chunks)
    for e, s in hits.direct.items():
        out[e] = max(out.get(e, 0.0), s)
    for e, ss in per_entity.items():
        focus = math.sqrt(min(len(ss) / max(links.mentions.get(e, len(ss)), 1), 1.0))
        lent = CHUNK_SHARE * sum(sorted(ss, reverse=True)[:CHUNKS_PER_ENTITY]) * focus
        out[e] = max(out.get(e, 0.0), lent)
    return out


def _split(hits: list[SearchHit], into: ArmHits) -> None:
    for h in hits:
        if h.label == "Chunk":
            into.chunks[h.id] = float(h.score)
        else:
            into.direct[h.id] = float(h.score)
            if isinstance(h.props.get("name"), str):
                into.names[h.id] = h.props["name"]


_paren_re = re.compile(r"\s*\(.*$")
_article_re = re.compile(r"^(de|het|een|the|a|an)\s+", re.IGNORECASE)


@lru_cache(maxsize=65536)
def same_entity_key(entity_id: str, name: str) -> tuple[str, str]:
    """What two result nodes share when they are one entity under two names: the kind
    (id prefix) and the name without a leading article or a trailing parenthesis, the
    form a text gives the same intervention in ("Multisysteemtherapie (MST)", cut by the
    extractor to "Multisysteemtherapie (MST", is "Multisysteemtherapie").

    Cached: the concept arm names up to ``FACT_LIMIT`` entities per search, mostly the
    same ones again, and slugging them was a few ms of every search."""
    plain = _paren_re.sub("", _article_re.sub("", name.strip()))
    return entity_id.split(":", 1)[0], slugify(plain) or slugify(name)


def canonical_ids(names: dict[str, str]) -> dict[str, str]:
    """Entity id -> the id it is shown as: of the nodes that are one entity
    (``same_entity_key``), the one whose name is the plain form (the vocabulary's name,
    usually), else the shortest name; ids without a duplicate map to themselves."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for eid, name in names.items():
        groups[same_entity_key(eid, name)].append(eid)
    out: dict[str, str] = {}
    for (_, key), ids in groups.items():
        if len(ids) == 1:  # most names: no twin, nothing to choose
            out[ids[0]] = ids[0]
            continue
        best = min(ids, key=lambda i: (slugify(names[i]) != key, len(names[i]), i))
        for i in ids:
            out[i] = best
    return out


def spread_all(hits: dict[str, ArmHits], links: ChunkLinks) -> dict[str, dict[str, float]]:
    """``spread`` for every arm, with duplicate nodes of one entity merged under one id
    (its best score per arm), consistently across arms: a search shows an intervention
    once, not once per spelling the extractor found."""
    names = dict(links.names)
    for h in hits.values():
        names.update(h.names)
    canon = canonical_ids(names)
    out: dict[str, dict[str, float]] = {}
    for arm, h in hits.items():
        merged: dict[str, float] = {}
        for i, score in spread(h, links).items():
            c = canon.get(i, i)
            merged[c] = max(merged.get(c, 0.0), score)
        out[arm] = merged
    return out


#: What the arms read of a hit besides id and score (a chunk's text was most of a reply).
HIT_PROPS = ("name",)


#: What the fulltext and vector arms look up, one index query per label.
ARM_LABELS = (*ENTITY_LABELS, "Chunk")


def _per_label(lookup: Callable[[str], list[SearchHit]]) -> ArmHits:
    """``lookup`` of every label in ``ARM_LABELS`` side by side, split in label order.

    Why side by side: each lookup is one round trip that waits on the database, and the
    three of an arm one after the other were the arm's wall time (the vector arm, after
    the query embedding, was the last arm to finish). The hits, and so the scores and
    their order, are the same as one after the other: they are split in label order."""
    out = ArmHits()
    for hits in side_by_side([partial(lookup, label) for label in ARM_LABELS]):
        _split(hits, out)
    return out


def fulltext_hits(store: GraphStore, parsed: ParsedQuery) -> ArmHits:
    """The backend's Dutch-analysed fulltext index over names and chunk text."""
    text = parsed.fulltext_text
    return _per_label(lambda label: store.fulltext_search(label, text, ARM_K, props=HIT_PROPS))


def vector_hits(store: GraphStore, vector: Sequence[float]) -> ArmHits:
    """Nearest entities and chunks to the query's embedding."""
    return _per_label(lambda label: store.vector_search(label, vector, ARM_K, props=HIT_PROPS))


def embed_query(parsed: ParsedQuery, embedder: Embedder) -> list[float]:
    """The query's embedding as plain floats (what the stores take)."""
    return [float(x) for x in embedder.embed([parsed.text])[0]]


@lru_cache(maxsize=4096)
def _name_variants(label: str) -> tuple[str, ...]:
    """Spellings a node name may have for a vocabulary label, so the name lookup can use
    the name index instead of ``toLower`` over every node of the label."""
    first_up = label[:1].upper() + label[1:]
    return tuple(dict.fromkeys((label, label.lower(), first_up, label.capitalize(), label.title())))


def concept_names(parsed: ParsedQuery, vocab: Vocabulary) -> dict[str, str]:
    """Lower-cased labels of reached Intervention/WorkingElement concepts -> concept IRI,
    so nodes the pipeline did not tag with ``concept`` are still found by name."""
    names: dict[str, str] = {}
    for iri in parsed.concepts:
        c = vocab.get(iri)
        if c is not None and c.pg_label in ENTITY_LABELS:
            for label in c.labels:
                names.setdefault(label.lower(), iri)
    return names


def concept_labels(schema: Schema) -> tuple[str, ...]:
    """Node labels that carry an indexed ``concept`` property (from the ontology), so
    concept nodes are found through indexes, never by scanning every node."""
    return tuple(
        sorted(
            c.label
            for c in schema.node_classes
            if any(p.name == "concept" and p.indexed for p in c.properties)
        )
    )


def concept_nodes(
    store: GraphStore, parsed: ParsedQuery, vocab: Vocabulary, labels: Sequence[str]
) -> tuple[list[tuple[str, str, str | None, str | None, Any]], dict[str, str]]:
    """Nodes that stand for the reached concepts: (id, label, concept, name, direction)
    rows, one indexed lookup per label in one UNION ALL query; and the name -> IRI map.
    (The direction is an Effect's; the weights of its facts are set from it here, not
    per fact inside the database.)"""
    names = concept_names(parsed, vocab)
    ret = "RETURN x.id AS id, '{label}' AS label, x.concept AS concept, x.name AS name, {d} AS d"
    branches = [
        f"MATCH (x:{label}) WHERE x.concept IN $iris "
        + ret.format(label=label, d="x.direction" if label == "Effect" else "null")
        for label in labels
    ]
    variants = sorted({v for n in names for v in _name_variants(n)})
    if variants:
        branches += [
            f"MATCH (x:{label}) WHERE x.name IN $names " + ret.format(label=label, d="null")
            for label in ENTITY_LABELS
        ]
    rows = _rows(
        store,
        " UNION ALL ".join(branches),
        {"iris": list(parsed.concepts), "names": variants},
    )
    return [(str(i), str(lab), c, n, d) for i, lab, c, n, d in rows], names


def fact_weight(vocab: Vocabulary, label: str, concept: str, direction: Any, w: float) -> float:
    """Weight of a fact pointing at a concept node: an effect on an asked outcome counts
    fully when it moves the way the outcome should (``ig:desirableDirection``) and at
    ``UNFAVOURABLE`` when it moves the other way, not at all, or its direction is unknown."""
    if label != "Effect":
        return w
    want = vocab.desirable_direction(concept)
    if want is None or direction in _SPELLINGS.get(want, ()):
        return w
    return w * UNFAVOURABLE


def per_facet(weights: Iterable[tuple[str, float, int]], facets: int) -> list[list[Any]]:
    """(node id, weight, facet) -> [node id, [its weight in facet 0, 1, ...]], one row per
    node (0 where the node is not in a facet; a node in two facets is one row, walked
    once), the form ``fact_query`` reads."""
    by_node: dict[str, list[float]] = {}
    for nid, w, f in weights:
        v = by_node.setdefault(nid, [0.0] * facets)
        v[f] = max(v[f], w)
    return [[nid, v] for nid, v in by_node.items()]


@lru_cache(maxsize=32)
def fact_query(facets: int) -> str:
    """The concept arm's path query for a question of ``facets`` facets: per result (and
    per chunk) the best weight in each facet, summed over the facets, best ``$k``
    (``$kc``) first; ``$facts`` and ``$plain`` are ``per_facet`` rows.

    Speed (a broad concept has thousands of facts at 100k chunks): one aggregation per
    result with one ``max`` per facet, over weights taken apart before the walk. The
    earlier form grouped twice (max per result and facet, then sum per result) and
    carried each fact's list through the walk. At 100k chunks (bench/search_speed.py's
    store), for a question of two broad facets ("eenzaamheid bij ouderen", 5,400
    facts), the server's CPU fell from 34.9 to 22.5 ms for the fact branch and from
    8.1 to 5.5 ms for the inherited one (medians of 10 runs each, in turn, load 8;
    the same rows). The weights
    are final before the query (no expression per fact), the groups are nodes (the id
    and name are read for the kept rows only), the relationship types are in the
    pattern, and the inherited path is one pattern without a label test on its middle
    node (only programmes and interventions have ADDRESSES/TARGETS and USES/HAS_ELEMENT/
    HAS_PROGRAMME_ELEMENT: ontology domains), which FalkorDB runs as one traversal.
    The sum adds the facets in their order (the question's), so equal facts give equal
    scores.
    """
    ws = ", ".join(f"w{i}" for i in range(facets))
    take = "WITH x[0] AS nid, " + ", ".join(f"x[1][{i}] AS w{i}" for i in range(facets))
    best = ", ".join(f"max(w{i}) AS m{i}" for i in range(facets))
    total = " + ".join(f"m{i}" for i in range(facets))

    def top(var: str, limit: str) -> str:
        return (
            f"WITH {var}, {best} WITH {var}, {total} AS s ORDER BY s DESC, {var}.id LIMIT {limit} "
        )

    return (
        f"UNWIND $facts AS x {take} MATCH (:Node {{id: nid}})<-[:{'|'.join(FACT_RELS)}]-(r) "
        f"WITH r, {ws} WHERE {_ENTITY_WHERE} "
        + top("r", "$k")
        + "RETURN 'fact' AS kind, r.id AS rid, s, r.name AS name UNION ALL "
        f"UNWIND $plain AS x {take} MATCH (:Node {{id: nid}})<-[:ADDRESSES|TARGETS]-()"
        f"-[:USES|HAS_ELEMENT|HAS_PROGRAMME_ELEMENT]->(r) WITH r, {ws} WHERE {_ENTITY_WHERE} "
        + top("r", "$k")
        + "RETURN 'inherited' AS kind, r.id AS rid, s, r.name AS name UNION ALL "
        f"UNWIND $plain AS x {take} MATCH (:Node {{id: nid}})<-[:MENTIONS]-(c:Chunk) "
        + top("c", "$kc")
        + "RETURN 'chunk' AS kind, c.id AS rid, s, null AS name"
    )


def concept_hits(
    store: GraphStore, parsed: ParsedQuery, vocab: Vocabulary, labels: Sequence[str]
) -> ArmHits:
    """Results connected in the graph to the concepts the query reaches.

    Four kinds of path, strongest first: the result *is* the concept (×3), a fact of
    the result (ADDRESSES, TARGETS, HAS_ELEMENT, HAS_EFFECT) points at it (×2), a fact
    of what contains the result does (a programme that USES it, an intervention that
    HAS_ELEMENT it: ×2 × ``INHERITED``), and chunks mention the result together with
    the concepts (entities get a share of their best chunks).

    Scores add up per *facet* of the question, not per concept: each part the user named
    ("vereenzaming", "ouderen") counts once, at the best concept reached from it. So a
    result that fits the challenge *and* the group beats one that addresses three
    narrower kinds of loneliness but no older people, and a broad facet with many
    narrower concepts ("jongeren") cannot outweigh the rest of the question.

    An effect on an asked outcome counts fully when it moves the way the outcome should
    (``ig:desirableDirection``: less loneliness, more participation) and only a little
    when it moves the other way or not at all (``UNFAVOURABLE``).

    Two round trips: the concept nodes by index, then the path kinds from those nodes,
    summed, ordered and cut inside the database.
    """
    out = ArmHits()
    if not parsed.concepts:
        return out
    nodes, names = concept_nodes(store, parsed, vocab, labels)
    facet_index: dict[str, int] = {}
    facts: list[tuple[str, float, int]] = []  # node id, weight of a fact at it, facet
    plain: list[tuple[str, float, int]] = []  # node id, weight, facet: containers, chunks
    for nid, label, concept, name, direction in sorted(nodes, key=lambda n: n[:4]):
        w = parsed.weight(concept)
        if label in ENTITY_LABELS:
            if isinstance(name, str):
                out.names[nid] = name
            own = max(w, parsed.weight(names.get((name or "").lower())))
            if own > 0:
                out.direct[nid] = max(out.direct.get(nid, 0.0), 3.0 * own)
        if w > 0 and concept:
            fw = fact_weight(vocab, label, concept, direction, w)
            for facet in parsed.concepts[concept].facets or (concept,):
                f = facet_index.setdefault(facet, len(facet_index))
                facts.append((nid, fw, f))
                plain.append((nid, w, f))
    if not facts:
        return out
    n = len(facet_index)
    rows = _rows(
        store,
        fact_query(n),
        {
            "facts": per_facet(facts, n),
            "plain": per_facet(plain, n),
            "k": FACT_LIMIT,
            "kc": CONCEPT_CHUNKS,
        },
        row_cap=2 * FACT_LIMIT + CONCEPT_CHUNKS,
    )
    for kind, rid, s, name in rows:
        if kind in ("fact", "inherited"):
            share = 2.0 if kind == "fact" else 2.0 * INHERITED
            out.direct[rid] = out.direct.get(rid, 0.0) + share * float(s)
            if isinstance(name, str):
                out.names[rid] = name
        else:
            out.chunks[rid] = float(s)
    return out
