"""Entity pages: ``/entities/{id}`` for any node, ``/interventions/{id}`` in depth.

Every page says where its facts came from: the documents (``sources``) and the
sentences that name the entity, resolved to the text of the chunks that hold them, so a
reader can check a claim against its source. The sentences are the ``spans``
(``"doc#start-end"``) of the entity's incoming ``MENTIONS`` edges: the stores keep no
span list on a node, which for a concept shared by thousands of documents grew with
every sentence naming it. An entity a document names only in its metadata (front
matter) has no sentence there; that document is still in the page's ``documents``.
Chunks are left out of the neighbour list (an entity mentioned in 300 chunks would
drown its real relationships); the quotes show them instead.

The queries are plain Cypher that both backends run through the port's read-only
``read_query``, so no backend needs a special method for the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request

from impact_graph.api.deps import services, store_dep
from impact_graph.api.models import (
    DocumentRef,
    EffectItem,
    EntityOut,
    EvidenceItem,
    InterventionOut,
    Neighbour,
    NodeRef,
    Page,
    Recognition,
    SpanQuote,
    limit_param,
    offset_param,
    page,
)
from impact_graph.api.problems import ProblemError, problem_responses
from impact_graph.model import parse_span_ref
from impact_graph.search.profile import instance_links
from impact_graph.store.port import GraphStore

router = APIRouter(tags=["entities"])

#: Properties that are shown elsewhere on the page (or never: vectors).
HIDDEN = frozenset({"sources", "spans", "embedding", "id", "label", "complete"})
#: Rows internal queries may return (lists are paged well below this).
ROW_CAP = 10_000
#: Relationship types a neighbour list may be filtered by: any name-like word.
REL_PATTERN = r"^[A-Z_]{1,40}$"

EntityId = Path(
    ...,
    min_length=1,
    max_length=400,
    description="Node id, e.g. `intervention:welzijn-op-recept` (ids come from /search).",
    examples=["intervention:welzijn-op-recept"],
)


def _rows(store: GraphStore, query: str, params: dict[str, Any]) -> list[list[Any]]:
    return store.read_query(query, params, timeout_s=10.0, row_cap=ROW_CAP).rows


def _get(store: GraphStore, entity_id: str, label: str | None = None) -> dict[str, Any]:
    nodes = store.get_nodes([entity_id])
    if not nodes:
        raise ProblemError(
            404,
            f"There is no entity with id '{entity_id}'; find ids with GET /search?q=... "
            "or GET /documents.",
        )
    node = nodes[0]
    if label is not None and node.get("label") != label:
        raise ProblemError(
            404,
            f"'{entity_id}' is a {node.get('label')}, not an {label}; open it at "
            f"/entities/{entity_id} instead.",
        )
    return node


def _class_label(labels: Sequence[str]) -> str:
    rest = sorted(x for x in labels if x != "Node")
    return rest[0] if rest else "Node"


def _str(v: Any) -> str:
    return "" if v is None else str(v)


def neighbours(
    store: GraphStore, entity_id: str, limit: int, offset: int, rel: str | None = None
) -> tuple[list[Neighbour], int]:
    """One page of the entity's neighbours (not chunks), and how many there are."""
    where = "NOT m:Chunk" + (" AND type(r) = $rel" if rel else "")
    params: dict[str, Any] = {"id": entity_id, "rel": rel or ""}
    total = _rows(
        store, f"MATCH (n:Node {{id: $id}})-[r]-(m:Node) WHERE {where} RETURN count(r)", params
    )[0][0]
    rows = _rows(
        store,
        f"MATCH (n:Node {{id: $id}})-[r]-(m:Node) WHERE {where} "
        "RETURN type(r) AS t, startNode(r).id = $id AS out, m.id AS id, labels(m) AS labels, "
        "m.name AS name, size(coalesce(r.sources, [])) AS docs "
        "ORDER BY t, name, id SKIP $offset LIMIT $limit",
        {**params, "offset": offset, "limit": limit},
    )
    items = [
        Neighbour(
            id=_str(mid),
            label=_class_label(labels or []),
            name=_str(name),
            relationship=_str(t),
            direction="out" if out else "in",
            documents=int(docs or 0),
        )
        for t, out, mid, labels, name, docs in rows
    ]
    return items, int(total or 0)


def resolve_spans(store: GraphStore, refs: Sequence[str]) -> list[SpanQuote]:
    """Turn ``"doc#start-end"`` refs into the quoted text of the chunks holding them."""
    parsed: list[tuple[str, int, int]] = []
    for ref in refs:
        try:
            parsed.append(parse_span_ref(ref))
        except ValueError:
            continue  # a malformed ref is skipped, never a 500
    if not parsed:
        return []
    rows = _rows(
        store,
        "UNWIND range(0, size($docs) - 1) AS i "
        "MATCH (d:Document {id: $docs[i]}) "
        "OPTIONAL MATCH (d)-[:HAS_CHUNK]->(c:Chunk) "
        "WHERE c.start < $ends[i] AND c.end > $starts[i] "
        "RETURN i, d.title, c.id, c.start, c.text ORDER BY i, c.start",
        {
            "docs": [p[0] for p in parsed],
            "starts": [p[1] for p in parsed],
            "ends": [p[2] for p in parsed],
        },
    )
    found: dict[int, SpanQuote] = {}
    for i, title, cid, cstart, ctext in rows:
        doc, start, end = parsed[int(i)]
        q = found.setdefault(
            int(i), SpanQuote(document_id=doc, document_title=_str(title), start=start, end=end)
        )
        if ctext is None or cstart is None:
            continue
        a, b = max(start, int(cstart)), min(end, int(cstart) + len(ctext))
        piece = ctext[a - int(cstart) : b - int(cstart)]
        q.text = (q.text + " " + piece).strip() if q.text else piece.strip()
        q.chunk_id = q.chunk_id or _str(cid)
    # Refs whose document is gone still appear, with empty text.
    return [
        found.get(i) or SpanQuote(document_id=d, start=s, end=e)
        for i, (d, s, e) in enumerate(parsed)
    ]


def documents_of(store: GraphStore, ids: Sequence[str]) -> list[DocumentRef]:
    out = []
    for d in store.get_nodes(list(ids)[:200]):
        year = d.get("year")
        out.append(
            DocumentRef(
                id=_str(d.get("id")),
                title=_str(d.get("title") or d.get("name")),
                kind=_str(d.get("kind")),
                year=int(year) if isinstance(year, int | float) else None,
                url=d.get("url") or d.get("source_url") or None,
            )
        )
    return out


#: The distinct sentence spans of an entity's mentions, by document and position.
_MENTION_SPANS = (
    "MATCH (:Chunk)-[m:MENTIONS]->(:Node {id: $id}) UNWIND m.spans AS s "
    "WITH s, head(m.sources) AS doc, min(m.start) AS at "
    "RETURN s ORDER BY doc, at, s SKIP $offset LIMIT $limit"
)
_MENTION_SPANS_TOTAL = (
    "MATCH (:Chunk)-[m:MENTIONS]->(:Node {id: $id}) UNWIND m.spans AS s RETURN count(DISTINCT s)"
)


def sentence_spans(
    store: GraphStore, entity_id: str, limit: int, offset: int
) -> tuple[list[str], int]:
    """One page of the sentence spans that mention the entity, and how many there are."""
    total = _rows(store, _MENTION_SPANS_TOTAL, {"id": entity_id})
    rows = _rows(store, _MENTION_SPANS, {"id": entity_id, "offset": offset, "limit": limit})
    return [str(r[0]) for r in rows], int(total[0][0] or 0) if total else 0


def provenance(store: GraphStore, entity_id: str, limit: int, offset: int) -> Page[SpanQuote]:
    """The quoted sentences of one page (``next`` is set by the caller's `page`)."""
    spans, total = sentence_spans(store, entity_id, limit, offset)
    return Page[SpanQuote](
        items=resolve_spans(store, spans), total=total, limit=limit, offset=offset
    )


def provenance_page(
    request: Request, store: GraphStore, node: dict[str, Any], limit: int, offset: int
) -> Page[SpanQuote]:
    got = provenance(store, str(node["id"]), limit, offset)
    return page(got.items, request, got.total, limit, offset)


def entity_out(request: Request, store: GraphStore, node: dict[str, Any]) -> dict[str, Any]:
    """The fields every entity page has (as a dict, so subclasses can extend it)."""
    nid = str(node["id"])
    items, total = neighbours(store, nid, 50, 0)
    nb_page = Page[Neighbour](
        items=items,
        total=total,
        limit=50,
        offset=0,
        next=f"/entities/{nid}/neighbours?limit=50&offset=50" if total > 50 else None,
    )
    prov = provenance(store, nid, 20, 0)
    if prov.total > 20:
        prov.next = f"/entities/{nid}/provenance?limit=20&offset=20"
    sources = node.get("sources") or []
    return {
        "id": nid,
        "label": _str(node.get("label")),
        "name": _str(node.get("name")),
        "properties": {k: v for k, v in node.items() if k not in HIDDEN},
        "documents": documents_of(store, sources if isinstance(sources, list) else []),
        "neighbours": nb_page,
        "provenance": prov,
    }


@router.get(
    "/entities/{entity_id}",
    response_model=EntityOut,
    summary="Any entity with its neighbours and provenance",
    description="Properties, the first 50 neighbours (chunks left out), the documents it "
    "came from and the first 20 quoted sentence spans.",
    responses=problem_responses(401, 404, 422, 503),
)
def get_entity(
    request: Request,
    entity_id: str = EntityId,
    store: GraphStore = Depends(store_dep),  # noqa: B008
) -> Any:
    node = _get(store, entity_id)
    return EntityOut(**entity_out(request, store, node))


@router.get(
    "/entities/{entity_id}/neighbours",
    response_model=Page[Neighbour],
    summary="Neighbours of an entity, paged",
    responses=problem_responses(401, 404, 422, 503),
)
def get_neighbours(
    request: Request,
    entity_id: str = EntityId,
    relationship: str | None = Query(
        None,
        pattern=REL_PATTERN,
        description="Only this relationship type, e.g. HAS_EFFECT.",
        examples=["HAS_EFFECT"],
    ),
    limit: int = limit_param(50),
    offset: int = offset_param(),
    store: GraphStore = Depends(store_dep),  # noqa: B008
) -> Any:
    _get(store, entity_id)
    items, total = neighbours(store, entity_id, limit, offset, relationship)
    return page(items, request, total, limit, offset)


@router.get(
    "/entities/{entity_id}/provenance",
    response_model=Page[SpanQuote],
    summary="Quoted sentence spans an entity came from, paged",
    responses=problem_responses(401, 404, 422, 503),
)
def get_provenance(
    request: Request,
    entity_id: str = EntityId,
    limit: int = limit_param(20),
    offset: int = offset_param(),
    store: GraphStore = Depends(store_dep),  # noqa: B008
) -> Any:
    node = _get(store, entity_id)
    return provenance_page(request, store, node, limit, offset)


def _ref(nid: Any, labels: Any, name: Any) -> NodeRef:
    return NodeRef(id=_str(nid), label=_class_label(labels or []), name=_str(name))


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


@router.get(
    "/interventions/{entity_id}",
    response_model=InterventionOut,
    summary="An intervention with effects, evidence, recognitions, programmes and actors",
    description="Everything /entities/{id} gives, plus its effects (outcome, direction, "
    "rating) with their evidence, the recognitions of the intervention and its effects "
    "(and those its vocabulary concept records), working elements, programmes using it, "
    "actors delivering it, challenges and target groups.",
    responses=problem_responses(401, 404, 422, 503),
)
def get_intervention(
    request: Request,
    entity_id: str = EntityId,
    store: GraphStore = Depends(store_dep),  # noqa: B008
) -> Any:
    node = _get(store, entity_id, "Intervention")
    base = entity_out(request, store, node)
    params = {"id": entity_id}

    effects: list[EffectItem] = []
    evidence: dict[str, EvidenceItem] = {}
    for row in _rows(
        store,
        "MATCH (:Intervention {id: $id})-[:HAS_EFFECT]->(e:Effect) "
        "OPTIONAL MATCH (e)-[:SUPPORTED_BY]->(v:Evidence) "
        "RETURN e.id, e.name, e.outcome, e.direction, e.magnitude, e.effect_size, "
        "e.rating_scheme, e.rating_level, e.rating_rank, collect(v.id) ORDER BY e.name",
        params,
    ):
        eid, name, outcome, direction, magnitude, size, scheme, level, rank, ev = row
        size_f = float(size) if isinstance(size, int | float) else None
        effects.append(
            EffectItem(
                id=_str(eid),
                label="Effect",
                name=_str(name),
                outcome=_str(outcome),
                direction=_str(direction),
                magnitude=_str(magnitude),
                effect_size=size_f,
                rating_scheme=_str(scheme),
                rating_level=_str(level),
                rating_rank=_int(rank),
                evidence=[str(x) for x in ev or [] if x],
            )
        )
    for vid, name, etype, citation, year, url, supports in _rows(
        store,
        "MATCH (:Intervention {id: $id})-[:HAS_EFFECT|HAS_ELEMENT]->(s)-[:SUPPORTED_BY]->"
        "(v:Evidence) RETURN v.id, coalesce(v.title, v.name), v.evidence_type, v.citation, "
        "v.year, v.url, collect(DISTINCT s.id) ORDER BY v.id",
        params,
    ):
        evidence[str(vid)] = EvidenceItem(
            id=_str(vid),
            label="Evidence",
            name=_str(name),
            evidence_type=_str(etype),
            citation=_str(citation),
            year=_int(year),
            url=_str(url) or None,
            supports=[str(x) for x in supports or []],
        )

    recognitions: list[Recognition] = []
    if node.get("rating_level"):
        recognitions.append(
            Recognition(
                scheme=_str(node.get("rating_scheme")),
                level=_str(node.get("rating_level")),
                rank=_int(node.get("rating_rank")),
                of="intervention",
            )
        )
    recognitions += [
        Recognition(scheme=e.rating_scheme, level=e.rating_level, rank=e.rating_rank, of=e.id)
        for e in effects
        if e.rating_level
    ]
    recognitions += _vocabulary_recognitions(request, node)

    related: dict[str, list[NodeRef]] = {
        "HAS_ELEMENT": [],
        "USES": [],
        "DELIVERS": [],
        "ADDRESSES": [],
        "TARGETS": [],
    }
    for t, nid, labels, name in _rows(
        store,
        "MATCH (i:Intervention {id: $id})-[r:HAS_ELEMENT|USES|DELIVERS|ADDRESSES|TARGETS]-(m) "
        "RETURN DISTINCT type(r), m.id, labels(m), m.name ORDER BY m.name LIMIT 500",
        params,
    ):
        related.setdefault(str(t), []).append(_ref(nid, labels, name))
    # The same links the web page shows (one query, shared with it).
    instance_of, instances = instance_links(store, entity_id)

    return InterventionOut(
        **base,
        effects=effects,
        evidence=list(evidence.values()),
        recognitions=recognitions,
        working_elements=related["HAS_ELEMENT"],
        programmes=related["USES"],
        actors=related["DELIVERS"],
        challenges=related["ADDRESSES"],
        target_groups=related["TARGETS"],
        instance_of=instance_of,
        instances=instances,
    )


def _vocabulary_recognitions(request: Request, node: dict[str, Any]) -> list[Recognition]:
    """Recognitions the intervention's vocabulary concept records (ig:recognisedAs)."""
    concept = node.get("concept")
    if not concept:
        return []
    try:
        vocab = services(request).vocab
    except Exception:  # the page stays useful without the vocabulary
        return []
    c = vocab.get(str(concept))
    out = []
    for iri in getattr(c, "recognitions", ()) or ():
        level = vocab.get(iri)
        if level is None:
            continue
        scheme = vocab.get(level.broader[0]) if level.broader else None
        out.append(
            Recognition(
                scheme=scheme.pref_nl if scheme is not None else "",
                level=level.pref_nl,
                rank=level.rank,
                of="vocabulary",
            )
        )
    return out
