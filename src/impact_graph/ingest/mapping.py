"""Map one document's `Extraction` (+ chunks and vectors) to its `GraphBatch`.

This is the only place that decides node ids, which properties a node carries and what
provenance each fact gets, so that every document, whatever its format or kind, lands in
the graph in the same shape:

* ``Document`` node (metadata only, never the raw text: the pseudonymised text lives in
  its chunks), ``Chunk`` nodes with ``HAS_CHUNK``;
* one node per entity (``make_id(label, key)``), ``MENTIONS`` from the chunk holding each
  mention with the mention's document offsets (``start``, ``end``, ``key = "start-end"``)
  and the span of the sentence holding it (``spans``);
* relation edges with the spans of the sentences that state them;
* ``DERIVED_FROM`` from claims (Evidence, Effect, Goal) to the document, and ``IN_AREA``
  from the document to its area when the metadata names one.

Provenance: every node and edge carries the ``span_ref`` of the text it came from
(sentence spans for entities, relations and MENTIONS, the chunk span for chunks). The
graph stores keep the spans of edges only: an entity's sentence spans are the spans of
its incoming MENTIONS edges, so a node shared by thousands of documents does not hold
(and rewrite on every write) a list of every sentence that names it; the RDF view keeps
each document's node spans in that document's named graph. Labels and relationship
types are checked against the ontology's `Schema`, so a rule that invents a name fails
loudly here instead of writing it.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from impact_graph.ingest.chunking import Chunk
from impact_graph.ingest.extraction import Entity, EntityRef, Extraction, Span
from impact_graph.ingest.resolve import other_names
from impact_graph.model import (
    Edge,
    GraphBatch,
    Node,
    PropValue,
    dedupe,
    make_id,
    slugify,
    span_ref,
    utc_now_iso,
)
from impact_graph.schema import Schema

log = logging.getLogger(__name__)

#: Entity labels that state a claim and so are DERIVED_FROM their document.
CLAIM_LABELS = ("Evidence", "Effect", "Goal")

#: Labels whose entities without a definition still get a model text (name + context):
#: the ones the search's vector arm ranks by their own vectors (``search.arms.
#: ENTITY_LABELS``; a test keeps the two equal). See `entity_text`.
CONTEXT_LABELS = ("Intervention", "WorkingElement")

#: Words of entity context used for an entity vector when it has no description.
CONTEXT_WORDS = 40

#: Metadata keys that may name the document's area (front matter / record fields).
AREA_KEYS = ("gemeente", "area", "municipality", "wijk")

Vector = Sequence[float]


class MappingError(ValueError):
    """The extraction uses a name the ontology does not know; the message says which."""


def chunk_id(doc_id: str, n: int) -> str:
    """Chunk ids are positional per document (a changed document replaces them all)."""
    return f"chunk:{doc_id}:{n}"


def entity_id(ref: EntityRef) -> str:
    return make_id(ref[0], ref[1])


def _scalar_props(props: Mapping[str, Any]) -> dict[str, PropValue]:
    """Keep values both backends can store (scalars, lists of scalars); drop None."""
    out: dict[str, PropValue] = {}
    for k, v in props.items():
        if v is None:
            continue
        if isinstance(v, str | int | float | bool):
            out[k] = v
        elif isinstance(v, list | tuple) and all(isinstance(x, str | int | float) for x in v):
            out[k] = list(v)  # type: ignore[assignment]
        else:
            out[k] = str(v)
    return out


def _meta_str(meta: Mapping[str, Any], *keys: str) -> str | None:
    for k in keys:
        v = meta.get(k)
        if isinstance(v, list) and v:
            v = v[0]
        if v not in (None, ""):
            return str(v)
    return None


def document_node(extraction: Extraction) -> Node:
    """The Document node: what the file is and where it came from, not its text."""
    doc = extraction.document
    meta = doc.meta
    date = _meta_str(meta, "date", "datum")
    url = _meta_str(meta, "source_url", "url")
    year: int | None = None
    y = _meta_str(meta, "year", "jaar") or (date[:4] if date else None)
    if y and y[:4].isdigit():
        year = int(y[:4])
    props: dict[str, PropValue] = {
        "name": doc.title,
        "title": doc.title,
        "kind": doc.kind,
        "kind_reason": doc.kind_reason,
        # Pseudonymised documents carry a path that does not reveal the file name.
        "path": str(meta.get("stored_path") or doc.path.as_posix()),
        "format": doc.format,
        "language": doc.language,
        "content_hash": doc.content_hash,
        "created_at": utc_now_iso(),
        "source_url": url,
        "url": url,  # the ontology's name for the same thing
        "date": date,
        "year": year,
        "phase": _meta_str(meta, "phase", "fase"),
        "record_key": doc.record_key,
    }
    return Node(
        doc.id,
        "Document",
        _scalar_props(props),
        spans=[span_ref(doc.id, 0, len(doc.text))],
    )


def sentence_spans(
    extraction: Extraction,
    mentions: Sequence[Span],
    find: Callable[[int], Span] | None = None,
) -> list[Span]:
    """The sentences that hold ``mentions`` (de-duplicated, in order); ``find`` is a
    `sentence_finder` of ``extraction`` made once per document."""
    find = find or sentence_finder(extraction)
    return list(dict.fromkeys(find(s) for s, _ in mentions))


def sentence_finder(extraction: Extraction) -> Callable[[int], Span]:
    """``extraction.sentence_of`` by bisection over the sorted sentences, with the same
    answers (the first sentence holding the offset, else the whole text).

    Why: ``sentence_of`` walks every sentence, and a document asks it once per mention
    (entity spans and MENTIONS spans): quadratic in the document's length."""
    sents = extraction.sentences
    if any(a[0] > b[0] or a[1] > b[0] for a, b in pairwise(sents)):
        return extraction.sentence_of  # unsorted or overlapping: the plain walk
    starts = [s for s, _ in sents]
    whole = (0, len(extraction.document.text))

    def find(offset: int) -> Span:
        i = bisect_right(starts, offset) - 1
        if i >= 0 and offset < sents[i][1]:
            return sents[i]
        return whole

    return find


def entity_text(
    extraction: Extraction, entity: Entity, definitions: Mapping[str, str] | None = None
) -> str | None:
    """The text the model computes an entity's vector from, or None.

    * An entity's own ``description``, else its vocabulary concept's definition
      (``definitions`` by concept IRI): "name: description". These texts are the same in
      every document, so the embedding cache serves a concept once per data directory.
    * Else, for the labels search ranks by their own vectors (`CONTEXT_LABELS`), the
      name with the first sentence that mentions it as a short context.
    * Else None: the entity's vector is the mean of the vectors of the chunks that
      mention it (`mention_vectors`), which the model computed anyway.

    Why the split (bench/search_quality.py on the demo corpus, 2026-11-27 at ad3bdd6):
    the chunk mean for every name without a definition lowered the vector arm's
    nDCG@10 0.466 -> 0.442 (a candidate is mostly named in one chunk, whose vector the
    arm already lends it), and the bare name, or the name blended with the chunk mean,
    did no better (0.439, 0.415) at about the CPU of the old texts. Effects, programmes,
    challenges and target groups are not ranked by their vectors, and they were most of
    those texts (demo: 77 of 126; 100 generated plans: 106 of 132, a new programme name
    per plan), so they take the chunk mean.
    """
    desc = entity.props.get("description")
    # A claim's concept is what it is about (an Effect's outcome), not what it is: its
    # definition would make a claim text the model must encode (32 on the demo).
    own_concept = entity.concept and entity.label not in CLAIM_LABELS
    if not (isinstance(desc, str) and desc.strip()) and own_concept and definitions:
        desc = definitions.get(entity.concept)
    if isinstance(desc, str) and desc.strip():
        return f"{entity.name}: {desc.strip()}"
    if entity.label not in CONTEXT_LABELS:
        return None
    if entity.status != "candidate":
        return entity.name
    if entity.mentions:
        s, e = extraction.sentence_of(entity.mentions[0][0])
        words = extraction.document.text[s:e].split()
        context = " ".join(words[:CONTEXT_WORDS])
        if context and context.lower() != entity.name.lower():
            return f"{entity.name}: {context}"
    return entity.name


def entity_texts(
    extraction: Extraction, schema: Schema, definitions: Mapping[str, str] | None = None
) -> dict[EntityRef, str]:
    """Texts for the model, for the entities of vector-indexed labels that have one
    (`entity_text`); `to_batch` gives the others the mean of their chunks' vectors."""
    vector_labels = set(schema.vector_labels)
    out: dict[EntityRef, str] = {}
    for ref, ent in extraction.entities.items():
        if ent.label in vector_labels:
            text = entity_text(extraction, ent, definitions)
            if text is not None:
                out[ref] = text
    return out


def mention_vectors(
    chunks: Sequence[Chunk], vectors: Sequence[Vector | None], refs: Iterable[EntityRef]
) -> dict[EntityRef, np.ndarray]:
    """Unit-length vectors for ``refs`` without the model: the normalised mean of the
    vectors of the chunks that mention each entity (each chunk once, however often it
    names the entity).

    An entity no chunk mentions (a name from the front matter that the text never
    repeats) gets the mean of all the document's chunks: the metadata says the whole
    document is about it. Chunks written without a vector (None) are left out; an
    entity with nothing left gets no vector.

    An entity named in several documents gets this document's mean with this
    document's batch, as it gets this document's ``mention_count``; the store decides
    which one it keeps (Neo4j: the last written; FalkorDB, as tests/test_write_growth.py
    reports, a shared node's first unit vector). An entity of one document is written
    afresh with it, so a changed document recomputes it. A mean over all documents would
    need each document's share kept to take it out again when that document changes or
    is deleted: not worth it for vectors search does not rank by (`CONTEXT_LABELS`).
    """
    rows: dict[EntityRef, dict[int, None]] = {}
    for i, ch in enumerate(chunks):
        if vectors[i] is None:
            continue
        for m in ch.mentions:
            rows.setdefault(m.ref, {})[i] = None
    have = [i for i, v in enumerate(vectors) if v is not None]
    if not have:
        return {}
    mat = np.asarray([vectors[i] for i in have], dtype=np.float32)
    pos = {i: n for n, i in enumerate(have)}
    out: dict[EntityRef, np.ndarray] = {}
    doc_mean: np.ndarray | None = None
    for ref in refs:
        idx = rows.get(ref)
        if idx:
            v = mat[[pos[i] for i in idx]].mean(axis=0)
        else:
            if doc_mean is None:
                doc_mean = mat.mean(axis=0)
            v = doc_mean
        norm = float(np.linalg.norm(v))
        if norm > 0.0:
            out[ref] = (v / norm).astype(np.float32)
    return out


def _check_label(schema: Schema, label: str, what: str) -> None:
    if label not in schema.labels:
        raise MappingError(
            f"{what} has label '{label}', which is not a class in ontology/impact.ttl "
            f"(known: {', '.join(schema.labels)}); fix the extraction rule or add the class."
        )


def _check_edge(schema: Schema, src_label: str, type_: str, dst_label: str, rule: str) -> None:
    if type_ not in schema.relationship_types:
        raise MappingError(
            f"rule '{rule}' made a '{type_}' relationship, which is not in "
            f"ontology/impact.ttl (known: {', '.join(schema.relationship_types)}); fix the "
            "rule or add the object property."
        )
    rel = schema.rel_type(type_)
    ok_src = "*" in rel.domain or src_label in rel.domain
    ok_dst = "*" in rel.range or dst_label in rel.range
    if rel.symmetric and not (ok_src and ok_dst):
        ok_src = ok_dst = ("*" in rel.domain or dst_label in rel.domain) and (
            "*" in rel.range or src_label in rel.range
        )
    if not (ok_src and ok_dst):
        raise MappingError(
            f"rule '{rule}' made {src_label} -[{type_}]-> {dst_label}, but the ontology "
            f"allows {type_} only from {'|'.join(rel.domain)} to {'|'.join(rel.range)}; "
            "fix the rule or the ontology's domain/range."
        )


def _area_refs(extraction: Extraction) -> list[EntityRef]:
    """Areas the document as a whole is about: metadata areas, or those the metadata names."""
    areas = [ref for ref, e in extraction.entities.items() if e.label == "Area"]
    meta_names = [
        slugify(str(v)).removeprefix("gemeente-").removesuffix("-gemeente")
        for k in AREA_KEYS
        for v in (
            extraction.document.meta.get(k)
            if isinstance(extraction.document.meta.get(k), list)
            else [extraction.document.meta.get(k)]
        )
        if v
    ]
    chosen = [r for r in areas if extraction.entities[r].status == "metadata"]
    for ref in areas:
        ent = extraction.entities[ref]
        slugs = {slugify(ent.name), slugify(ref[1])}
        if ref not in chosen and any(m and any(m in s for s in slugs) for m in meta_names):
            chosen.append(ref)
    return chosen


def to_batch(
    extraction: Extraction,
    chunks: Sequence[Chunk],
    vectors: Sequence[Vector | None] | None,
    schema: Schema,
    *,
    entity_vectors: Mapping[EntityRef, Vector] | None = None,
) -> GraphBatch:
    """Build the one `GraphBatch` of this document.

    ``vectors[i]`` is the embedding of ``chunks[i]`` (or None to write the chunk without
    one); ``entity_vectors`` holds the model's vectors of the entities that have a text
    (see :func:`entity_texts`). Every other entity of a vector-indexed label gets the
    mean of its chunks' vectors (:func:`mention_vectors`), when ``vectors`` are given.
    Raises `MappingError` for labels or relationship types the schema does not know, or
    a relationship outside its domain/range.
    """
    doc = extraction.document
    doc_id = doc.id
    if vectors is not None and len(vectors) != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors for {doc_id}")
    entity_vectors = dict(entity_vectors or {})
    if vectors is not None:
        vector_labels = set(schema.vector_labels)
        rest = [
            ref
            for ref, ent in extraction.entities.items()
            if ent.label in vector_labels and ref not in entity_vectors
        ]
        if rest:
            entity_vectors.update(mention_vectors(chunks, vectors, rest))
    _check_label(schema, "Document", "the document")
    document = document_node(extraction)
    nodes: list[Node] = []
    edges: list[Edge] = []
    doc_span = [span_ref(doc_id, 0, len(doc.text))]
    sentence_at = sentence_finder(extraction)
    # Node id of each entity, made once: a document names its entities many times (demo
    # + 100 generated: ~85 MENTIONS edges a document), and every `entity_id` slugifies
    # (Unicode normalisation, a regex) -- ~20% of this function's CPU, in the write thread.
    ent_ids = {ref: entity_id(ref) for ref in extraction.entities}

    def node_id(ref: EntityRef) -> str:
        nid = ent_ids.get(ref)
        return nid if nid is not None else entity_id(ref)

    # Chunks and their MENTIONS (spans: the mention's sentence, see the module doc).
    for i, ch in enumerate(chunks):
        cid = chunk_id(doc_id, i)
        cspan = [span_ref(doc_id, ch.start, ch.end)]
        props = _scalar_props(
            {
                "text": ch.text,
                "position": i,
                "start": ch.start,
                "end": ch.end,
                "section": ch.section or None,
                "name": f"{doc.title} #{i + 1}",
            }
        )
        vec = vectors[i] if vectors is not None else None
        nodes.append(Node(cid, "Chunk", props, vector=_as_list(vec), spans=cspan))
        edges.append(Edge(doc_id, "HAS_CHUNK", cid, spans=cspan))
        for m in ch.mentions:
            key = f"{m.start}-{m.end}"
            edges.append(
                Edge(
                    cid,
                    "MENTIONS",
                    node_id(m.ref),
                    {"start": m.start, "end": m.end, "surface": doc.text[m.start : m.end]},
                    key=key,
                    spans=[span_ref(doc_id, *sentence_at(m.start))],
                )
            )

    # Entities.
    label_of: dict[str, str] = {doc_id: "Document"}
    for ref, ent in extraction.entities.items():
        _check_label(schema, ent.label, f"entity '{ent.name}'")
        nid = ent_ids[ref]
        if nid in label_of:
            raise MappingError(
                f"entities {ref} and another one map to the same id {nid} in {doc.path}; "
                "the resolver must give them one key."
            )
        label_of[nid] = ent.label
        aliases = other_names(ent.name, (m.surface for m in ent.merges))
        props: dict[str, Any] = {
            **ent.props,
            "name": ent.name,
            "key": ent.key,
            "status": ent.status,
            "concept": ent.concept,
            "rule": ent.rule,
            "mention_count": len(ent.mentions),
        }
        if aliases:
            props["aliases"] = aliases
        spans = [
            span_ref(doc_id, s, e) for s, e in sentence_spans(extraction, ent.mentions, sentence_at)
        ]
        nodes.append(
            Node(
                nid,
                ent.label,
                _scalar_props(props),
                vector=_as_list(entity_vectors.get(ref)),
                spans=spans or doc_span,
            )
        )
        if ent.label in CLAIM_LABELS:
            _check_edge(schema, ent.label, "DERIVED_FROM", "Document", "claim provenance")
            edges.append(Edge(nid, "DERIVED_FROM", doc_id, spans=spans or doc_span))

    # Mentions of refs that are not entities would be dangling: refuse them clearly.
    ids = set(label_of)
    for e in edges:
        if e.type == "MENTIONS" and e.dst not in ids:
            raise MappingError(f"a mention in {doc.path} points at {e.dst}, which is no entity")

    # Relations between entities (or from the document itself).
    for rel in extraction.relations:
        src = doc_id if rel.src[0] == "Document" else node_id(rel.src)
        dst = doc_id if rel.dst[0] == "Document" else node_id(rel.dst)
        if src not in label_of or dst not in label_of:
            log.warning(
                "%s: relation %s %s %s names an entity the extraction lacks; dropped",
                doc.path,
                rel.src,
                rel.type,
                rel.dst,
            )
            continue
        _check_edge(schema, label_of[src], rel.type, label_of[dst], rel.rule)
        spans = [span_ref(doc_id, s, e) for s, e in dict.fromkeys(rel.spans)] or doc_span
        edges.append(
            Edge(src, rel.type, dst, _scalar_props({**rel.props, "rule": rel.rule}), spans=spans)
        )

    # The document's area.
    have = {(e.src, e.type, e.dst) for e in edges}
    for ref in _area_refs(extraction):
        aid = node_id(ref)
        if (doc_id, "IN_AREA", aid) in have:
            continue
        _check_edge(schema, "Document", "IN_AREA", "Area", "document area")
        ent = extraction.entities[ref]
        spans = [
            span_ref(doc_id, s, e) for s, e in sentence_spans(extraction, ent.mentions, sentence_at)
        ]
        edges.append(Edge(doc_id, "IN_AREA", aid, spans=spans or doc_span))

    edges = _merge_duplicate_edges(edges)
    batch = GraphBatch(document=document, nodes=nodes, edges=edges)
    batch.validate()
    return batch


def _merge_duplicate_edges(edges: list[Edge]) -> list[Edge]:
    """One edge per identity (src, type, dst, key); spans of duplicates are merged."""
    seen: dict[tuple[str, str, str, str], Edge] = {}
    for e in edges:
        ident = (e.src, e.type, e.dst, e.key)
        have = seen.get(ident)
        if have is None:
            seen[ident] = e
        else:
            have.spans = dedupe([*have.spans, *e.spans])
            for k, v in e.props.items():
                have.props.setdefault(k, v)
    return list(seen.values())


def _as_list(vec: Vector | None) -> list[float] | None:
    if vec is None:
        return None
    if hasattr(vec, "tolist"):  # numpy rows: one C call instead of 384 floats
        return vec.tolist()  # type: ignore[no-any-return]
    return [float(x) for x in vec]


def batch_counts(batch: GraphBatch) -> tuple[dict[str, int], dict[str, int]]:
    """Nodes by label and edges by type of one batch (for the report)."""
    nodes: dict[str, int] = {}
    for n in batch.all_nodes():
        nodes[n.label] = nodes.get(n.label, 0) + 1
    edges: dict[str, int] = {}
    for e in batch.edges:
        edges[e.type] = edges.get(e.type, 0) + 1
    return nodes, edges
