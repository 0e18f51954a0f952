"""The three retrieval arms: concept, fulltext and vector.

Each arm returns scores for result ids (interventions, working elements and chunks).
Chunks found by text also lend their score to the interventions and working elements
they mention, because a document that says "Welzijn op Recept helpt ouderen die zich
eenzaam voelen" is evidence for Welzijn op Recept even when its name shares no word with
the question. All graph access goes through the store port in portable openCypher.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from impact_graph.model import SearchHit
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
#: Relationships from a result to the concept nodes that characterise it.
FACT_RELS = ("ADDRESSES", "TARGETS", "HAS_ELEMENT", "HAS_EFFECT")

_ENTITY_WHERE = "(r:Intervention OR r:WorkingElement)"


class Embedder(Protocol):
    """What the vector arm needs from ``impact_graph.ingest.embed.Embedder``."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _rows(store: GraphStore, query: str, params: dict[str, Any]) -> list[list[Any]]:
    return store.read_query(query, params, timeout_s=10.0, row_cap=20000).rows


def chunk_entities(store: GraphStore, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
    """Interventions and working elements each chunk mentions."""
    if not chunk_ids:
        return {}
    rows = _rows(
        store,
        "UNWIND $ids AS cid MATCH (c:Node {id: cid})-[:MENTIONS]->(r) "
        f"WHERE {_ENTITY_WHERE} RETURN cid, collect(DISTINCT r.id)",
        {"ids": list(chunk_ids)},
    )
    return {cid: list(ids) for cid, ids in rows}


def mention_counts(store: GraphStore, ids: Sequence[str]) -> dict[str, int]:
    """In how many chunks each entity is mentioned at all."""
    if not ids:
        return {}
    rows = _rows(
        store,
        "UNWIND $ids AS rid MATCH (c:Chunk)-[:MENTIONS]->(r:Node {id: rid}) "
        "RETURN rid, count(DISTINCT c)",
        {"ids": list(ids)},
    )
    return {rid: int(n) for rid, n in rows}


def spread_chunks(
    store: GraphStore, direct: dict[str, float], chunks: dict[str, float]
) -> dict[str, float]:
    """Entity scores = max(own score, lent score); chunk scores stay results of their own.

    The lent score is CHUNK_SHARE × the sum of the entity's best matching chunks ×
    sqrt(share of its mentions that match). The last factor keeps generic working
    elements ("vroegsignalering", mentioned in every programme) from riding along with
    any query: an entity whose mentions are mostly about the question ranks higher.
    """
    per_entity: dict[str, list[float]] = defaultdict(list)
    for cid, ents in chunk_entities(store, list(chunks)).items():
        for e in ents:
            per_entity[e].append(chunks[cid])
    totals = mention_counts(store, list(per_entity))
    out = dict(chunks)
    for e, s in direct.items():
        out[e] = max(out.get(e, 0.0), s)
    for e, ss in per_entity.items():
        focus = math.sqrt(min(len(ss) / max(totals.get(e, len(ss)), 1), 1.0))
        lent = CHUNK_SHARE * sum(sorted(ss, reverse=True)[:CHUNKS_PER_ENTITY]) * focus
        out[e] = max(out.get(e, 0.0), lent)
    return out


def _hits(hits: list[SearchHit]) -> dict[str, float]:
    return {h.id: float(h.score) for h in hits}


def fulltext_arm(store: GraphStore, parsed: ParsedQuery) -> dict[str, float]:
    """The backend's Dutch-analysed fulltext index over names and chunk text."""
    text = parsed.fulltext_text
    direct: dict[str, float] = {}
    for label in ENTITY_LABELS:
        direct.update(_hits(store.fulltext_search(label, text, ARM_K)))
    chunks = _hits(store.fulltext_search("Chunk", text, ARM_K))
    return spread_chunks(store, direct, chunks)


def vector_arm(store: GraphStore, parsed: ParsedQuery, embedder: Embedder) -> dict[str, float]:
    """Nearest chunks and entities to the query's embedding."""
    vec = [float(x) for x in embedder.embed([parsed.text])[0]]
    direct: dict[str, float] = {}
    for label in ENTITY_LABELS:
        direct.update(_hits(store.vector_search(label, vec, ARM_K)))
    chunks = _hits(store.vector_search("Chunk", vec, ARM_K))
    return spread_chunks(store, direct, chunks)


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


def concept_arm(store: GraphStore, parsed: ParsedQuery, vocab: Vocabulary) -> dict[str, float]:
    """Results connected in the graph to the concepts the query reaches.

    Three kinds of path, strongest first: the result *is* the concept (×3), a fact of
    the result (ADDRESSES, TARGETS, HAS_ELEMENT, HAS_EFFECT) points at it (×2 each), and
    chunks mention the result together with the concepts (chunk score = sum of the
    distinct concept weights it mentions; entities get a share of their best chunks).
    """
    iris = list(parsed.concepts)
    if not iris:
        return {}
    names = concept_names(parsed, vocab)
    direct: dict[str, float] = defaultdict(float)
    for rid, concept, name in _rows(
        store,
        f"MATCH (r) WHERE {_ENTITY_WHERE} AND (r.concept IN $iris OR toLower(r.name) IN $names) "
        "RETURN r.id, r.concept, toLower(r.name)",
        {"iris": iris, "names": list(names)},
    ):
        w = max(parsed.weight(concept), parsed.weight(names.get(name or "")))
        direct[rid] = max(direct[rid], 3.0 * w)
    seen: set[tuple[str, str, str]] = set()
    for rid, rel, concept in _rows(
        store,
        f"MATCH (r)-[rel]->(x) WHERE {_ENTITY_WHERE} AND type(rel) IN $rels "
        "AND x.concept IN $iris RETURN r.id, type(rel), x.concept",
        {"iris": iris, "rels": list(FACT_RELS)},
    ):
        if (rid, rel, concept) not in seen:
            seen.add((rid, rel, concept))
            direct[rid] += 2.0 * parsed.weight(concept)
    chunks: dict[str, float] = {}
    for cid, concepts in _rows(
        store,
        "MATCH (c:Chunk)-[:MENTIONS]->(x) WHERE x.concept IN $iris "
        "RETURN c.id, collect(DISTINCT x.concept)",
        {"iris": iris},
    ):
        chunks[cid] = sum(parsed.weight(c) for c in concepts)
    # Keep the best chunks only: a broad concept is mentioned everywhere.
    best = dict(sorted(chunks.items(), key=lambda kv: (-kv[1], kv[0]))[: ARM_K * 2])
    return spread_chunks(store, dict(direct), best)
