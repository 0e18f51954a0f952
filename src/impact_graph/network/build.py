"""Read the stakeholder network and the what-works graph from the store into networkx.

Two steps, kept apart on purpose: :func:`read_stakeholders` is the only part that talks
to the database (a handful of plain Cypher reads both backends run through the port's
read-only ``read_query``); :func:`stakeholder_graph` turns those rows into a graph with
filters and derived collaborations, in memory. The benchmark and the unit tests feed
the second step synthetic rows of any size without a database.

Graph conventions (``networkx.MultiDiGraph``):

* node attributes: ``label`` (ontology class), ``name``, ``kind``, ``roles`` (role
  words from the texts), ``programmes`` (names), ``sources`` (document ids);
* edge attributes: ``type`` (relationship type), ``role``, ``weight``, ``derived``
  (True for collaborations inferred from shared programmes), ``via`` (programme names
  behind a derived link) and ``sources``.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal, TypeVar

import networkx as nx

from impact_graph.model import slugify
from impact_graph.store.port import GraphStore

#: Relationship types of the stakeholder network (USES ties interventions to programmes).
STAKEHOLDER_RELS = ("PARTICIPATES_IN", "DELIVERS", "FUNDS", "COLLABORATES_WITH", "USES")
STAKEHOLDER_LABELS = ("Actor", "Programme", "Intervention")
#: What the what-works view follows out of a found intervention: the challenges it
#: addresses, its working elements and effects, and the general intervention it is a
#: local instance of (Buurtkamer Wadstede -> buurtkamer).
WHATWORKS_INTERVENTION_RELS = ("ADDRESSES", "HAS_ELEMENT", "HAS_EFFECT", "INSTANCE_OF")
#: Relationship types of the what-works view, from the challenge to the evidence. A plan's
#: werkzame elementen belong to its programme (HAS_PROGRAMME_ELEMENT), not to one of its
#: interventions, so the programmes that use a found intervention (USES) bring theirs.
WHATWORKS_RELS = (
    *WHATWORKS_INTERVENTION_RELS,
    "SUPPORTED_BY",
    "USES",
    "HAS_PROGRAMME_ELEMENT",
)
#: A programme with more actors than this gets no derived actor-actor links: the
#: programme node already groups them, and k² links would bury the picture.
MAX_DERIVED_PER_PROGRAMME = 40
#: At most this many derived links per node in the picture; above it only the pairs
#: sharing the most programmes keep theirs (the strongest ties), and a note says so.
DERIVED_PER_NODE = 1.5
#: Rows the internal reads may return (far above any real corpus).
ROW_CAP = 500_000
MAX_HOPS = 4
#: Pictures kept per store for an unchanged graph (each parameter set is one picture).
VIEW_CACHE_SIZE = 16

ViewKind = Literal["stakeholders", "focus", "whatworks"]


@dataclass(slots=True)
class NetworkFilters:
    """Narrow the stakeholder network. Values are ids or names (case-insensitive);
    ``role`` matches any part of an actor's role words ("zorg" keeps "zorgaanbieder")."""

    programme: list[str] = field(default_factory=list)
    area: list[str] = field(default_factory=list)
    challenge: list[str] = field(default_factory=list)
    role: list[str] = field(default_factory=list)

    def active(self) -> bool:
        return bool(self.programme or self.area or self.challenge or self.role)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "programme": list(self.programme),
            "area": list(self.area),
            "challenge": list(self.challenge),
            "role": list(self.role),
        }


@dataclass(slots=True)
class RawNetwork:
    """The rows the store gave, before any filtering (see :func:`read_stakeholders`)."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[dict[str, Any]] = field(default_factory=list)
    #: programme id -> area ids; area id -> name
    programme_areas: dict[str, set[str]] = field(default_factory=dict)
    areas: dict[str, str] = field(default_factory=dict)
    #: programme or intervention id -> challenge ids; challenge id -> name
    addresses: dict[str, set[str]] = field(default_factory=dict)
    challenges: dict[str, str] = field(default_factory=dict)
    doc_titles: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class NetworkView:
    """One picture: the graph and what it shows (the renderers need both)."""

    graph: nx.MultiDiGraph
    kind: ViewKind
    title: str
    focus: str | None = None
    hops: int = 0
    query: str = ""
    filters: NetworkFilters = field(default_factory=NetworkFilters)
    doc_titles: dict[str, str] = field(default_factory=dict)
    #: Sentences for the reader, in Dutch: they are shown under the picture on the web
    #: page, in the standalone HTML file and in the API's JSON alike (one wording).
    notes: list[str] = field(default_factory=list)
    #: network_json answers already made for this picture (see render.network_json).
    rendered: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)


# --- reading ---


def _str_list(v: Any) -> list[str]:
    if isinstance(v, list):
        return [str(x) for x in v if x is not None]
    return [str(v)] if v else []


def _rows(store: GraphStore, query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    return store.read_query(query, params or {}, timeout_s=20.0, row_cap=ROW_CAP).rows


def _class_label(labels: Any) -> str:
    rest = sorted(str(x) for x in (labels or []) if x != "Node")
    return rest[0] if rest else "Node"


# --- cache: the same graph gives the same picture ---


@dataclass(slots=True)
class _StoreCache:
    version: str = ""
    raw: RawNetwork | None = None
    views: OrderedDict[tuple[Any, ...], NetworkView] = field(default_factory=OrderedDict)


_CACHES: weakref.WeakKeyDictionary[GraphStore, _StoreCache] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_T = TypeVar("_T")


def store_version(store: GraphStore) -> str:
    """A digest that changes whenever the graph does.

    Every fact enters through a document write (one writer path), which changes the
    document's content hash or the set of documents; node and relationship counts cover
    a write in progress and anything written beside the pipeline. Three cheap reads
    (the counts come from the backends' count stores), where re-reading the network is
    a scan of every actor, programme, intervention and link.
    """
    h = hashlib.sha256()
    for did, chash in sorted(store.document_hashes().items()):
        h.update(f"{did}\x00{chash}\x00".encode())
    for query in ("MATCH (n) RETURN count(n)", "MATCH ()-[r]->() RETURN count(r)"):
        h.update(repr(_rows(store, query)).encode())
    return h.hexdigest()


def _cache_for(store: GraphStore) -> tuple[_StoreCache, str]:
    """This store's cache, emptied first if the graph changed since it was filled."""
    version = store_version(store)
    with _LOCK:
        cache = _CACHES.get(store)
        if cache is None or cache.version != version:
            cache = _StoreCache(version=version)
            _CACHES[store] = cache
    return cache, version


def _cached_view(
    store: GraphStore, key: tuple[Any, ...], make: Callable[[RawNetwork], _T]
) -> tuple[_T, RawNetwork]:
    """``make(raw)`` for an unchanged graph is computed once (LRU per store)."""
    cache, _ = _cache_for(store)
    raw = _cached_raw(store, cache)
    with _LOCK:
        hit = cache.views.get(key)
        if hit is not None:
            cache.views.move_to_end(key)
            return hit, raw  # type: ignore[return-value]
    made = make(raw)
    with _LOCK:
        cache.views[key] = made  # type: ignore[assignment]
        while len(cache.views) > VIEW_CACHE_SIZE:
            cache.views.popitem(last=False)
    return made, raw


def _cached_raw(store: GraphStore, cache: _StoreCache) -> RawNetwork:
    if cache.raw is None:
        cache.raw = _read_stakeholders(store)
    return cache.raw


def clear_cache() -> None:
    """Forget every cached network (tests; a process that knows it wrote)."""
    with _LOCK:
        _CACHES.clear()


def read_stakeholders(store: GraphStore) -> RawNetwork:
    """Actors, programmes and interventions with their links, areas and challenges.

    Read once per version of the graph (:func:`store_version`) and then served from
    memory; callers must treat the answer as read-only.
    """
    cache, _ = _cache_for(store)
    return _cached_raw(store, cache)


def _read_stakeholders(store: GraphStore) -> RawNetwork:
    raw = RawNetwork()
    where = " OR ".join(f"n:{lab}" for lab in STAKEHOLDER_LABELS)
    for nid, labels, name, kind, role, sources in _rows(
        store,
        f"MATCH (n) WHERE {where} RETURN n.id, labels(n), n.name, n.kind, n.role, n.sources",
    ):
        raw.nodes[str(nid)] = {
            "label": _class_label(labels),
            "name": str(name or nid),
            "kind": str(kind or ""),
            "role": str(role or ""),
            "sources": _str_list(sources),
        }
    rels = "|".join(STAKEHOLDER_RELS)
    for src, typ, dst, role, sources in _rows(
        store,
        f"MATCH (a)-[r:{rels}]->(b) RETURN a.id, type(r), b.id, r.role, r.sources",
    ):
        if str(src) in raw.nodes and str(dst) in raw.nodes:
            raw.edges.append(
                {
                    "src": str(src),
                    "dst": str(dst),
                    "type": str(typ),
                    "role": str(role or ""),
                    "sources": _str_list(sources),
                }
            )
    for pid, aid, aname in _rows(
        store, "MATCH (p:Programme)-[:IN_AREA]->(a:Area) RETURN p.id, a.id, a.name"
    ):
        raw.programme_areas.setdefault(str(pid), set()).add(str(aid))
        raw.areas[str(aid)] = str(aname or aid)
    for aid, aname in _rows(store, "MATCH (a:Area) RETURN a.id, a.name"):
        raw.areas.setdefault(str(aid), str(aname or aid))
    for nid, cid, cname in _rows(
        store,
        "MATCH (n)-[:ADDRESSES]->(c:Challenge) WHERE n:Programme OR n:Intervention "
        "RETURN n.id, c.id, c.name",
    ):
        raw.addresses.setdefault(str(nid), set()).add(str(cid))
        raw.challenges[str(cid)] = str(cname or cid)
    for cid, cname in _rows(store, "MATCH (c:Challenge) RETURN c.id, c.name"):
        raw.challenges.setdefault(str(cid), str(cname or cid))
    raw.doc_titles = read_doc_titles(store)
    return raw


def read_doc_titles(store: GraphStore) -> dict[str, str]:
    """Document id -> title, for the "sources" line of the tooltips."""
    return {
        str(did): str(title or name or did)
        for did, title, name in _rows(store, "MATCH (d:Document) RETURN d.id, d.title, d.name")
    }


# --- filtering ---


def _match(values: Sequence[str], known: dict[str, str], param: str, what: str) -> set[str]:
    """Filter values (id, name or slug of the name) -> ids; unknown values fail loudly."""
    by_key: dict[str, set[str]] = defaultdict(set)
    for nid, name in known.items():
        for key in (nid.lower(), name.casefold(), slugify(name)):
            by_key[key].add(nid)
    out: set[str] = set()
    for v in values:
        hits = by_key.get(v.strip().lower()) or by_key.get(v.strip().casefold()) or set()
        hits = hits or by_key.get(slugify(v), set())
        if not hits:
            some = ", ".join(sorted(set(known.values()))[:6]) or "none yet"
            raise ValueError(f"{param}: '{v}' is not a known {what}; known ones include {some}.")
        out |= hits
    return out


def _roles_of(raw: RawNetwork) -> dict[str, set[str]]:
    """Role words per actor: the node's own role and those on its PARTICIPATES_IN links."""
    roles: dict[str, set[str]] = defaultdict(set)
    for nid, n in raw.nodes.items():
        if n["label"] == "Actor" and n.get("role"):
            roles[nid].add(n["role"])
    for e in raw.edges:
        if e["type"] == "PARTICIPATES_IN" and e["role"]:
            roles[e["src"]].add(e["role"])
    return roles


def _keep_set(
    raw: RawNetwork, filters: NetworkFilters, roles: dict[str, set[str]]
) -> tuple[set[str], list[str]]:
    """Node ids the filters keep, and notes on what they did."""
    labels = {nid: n["label"] for nid, n in raw.nodes.items()}
    programmes = {nid for nid, lab in labels.items() if lab == "Programme"}
    notes: list[str] = []
    keep: set[str] = set(raw.nodes)
    if filters.programme or filters.area or filters.challenge:
        chosen = set(programmes)
        if filters.programme:
            names = {p: raw.nodes[p]["name"] for p in programmes}
            chosen &= _match(filters.programme, names, "programme", "programme")
        if filters.area:
            area_ids = _match(filters.area, raw.areas, "area", "area")
            chosen &= {p for p in programmes if raw.programme_areas.get(p, set()) & area_ids}
        challenge_ids: set[str] = set()
        if filters.challenge:
            challenge_ids = _match(filters.challenge, raw.challenges, "challenge", "challenge")
            uses: dict[str, set[str]] = defaultdict(set)
            for e in raw.edges:
                if e["type"] == "USES":
                    uses[e["src"]].add(e["dst"])
            chosen &= {
                p
                for p in programmes
                if raw.addresses.get(p, set()) & challenge_ids
                or any(raw.addresses.get(i, set()) & challenge_ids for i in uses[p])
            }
        keep = set(chosen)
        for e in raw.edges:  # the actors and interventions around the chosen programmes
            if e["type"] in ("PARTICIPATES_IN", "FUNDS") and e["dst"] in chosen:
                keep.add(e["src"])
            elif e["type"] == "USES" and e["src"] in chosen:
                keep.add(e["dst"])
        for e in raw.edges:  # what those actors deliver, when it fits the challenge
            if (
                e["type"] == "DELIVERS"
                and e["src"] in keep
                and (not challenge_ids or raw.addresses.get(e["dst"], set()) & challenge_ids)
            ):
                keep.add(e["dst"])
        if not chosen:
            notes.append("Geen programma past bij al deze filters samen.")
    if filters.role:
        wanted = [r.strip().casefold() for r in filters.role if r.strip()]
        actors = {
            nid
            for nid in keep
            if labels[nid] == "Actor"
            and any(w in r.casefold() for r in roles.get(nid, ()) for w in wanted)
        }
        if not actors:
            some = ", ".join(sorted({r for rs in roles.values() for r in rs})[:6]) or "none yet"
            raise ValueError(
                f"role: no actor has a role like '{', '.join(filters.role)}'; roles in the "
                f"texts include {some}."
            )
        linked = {
            e["dst"] if e["src"] in actors else e["src"]
            for e in raw.edges
            if (e["src"] in actors) != (e["dst"] in actors) and e["type"] != "COLLABORATES_WITH"
        }
        keep = actors | (linked & keep)
    return keep, notes


# --- building ---


def stakeholder_graph(
    raw: RawNetwork, filters: NetworkFilters | None = None, *, derive: bool = True
) -> tuple[nx.MultiDiGraph, list[str]]:
    """The stakeholder network: actors, programmes, interventions and their links.

    ``derive`` adds COLLABORATES_WITH links between actors that take part in (or fund)
    the same programmes, weighted by how many they share; a stated collaboration keeps
    ``derived=False`` and gains the shared programmes as weight. Raises ``ValueError``
    naming the filter when a filter value is unknown.
    """
    filters = filters or NetworkFilters()
    roles = _roles_of(raw)
    keep, notes = _keep_set(raw, filters, roles) if filters.active() else (set(raw.nodes), [])
    g = nx.MultiDiGraph()
    programmes_of: dict[str, set[str]] = defaultdict(set)
    for e in raw.edges:
        if e["type"] in ("PARTICIPATES_IN", "FUNDS"):
            programmes_of[e["src"]].add(e["dst"])
        elif e["type"] == "USES":
            programmes_of[e["dst"]].add(e["src"])
    names = {nid: n["name"] for nid, n in raw.nodes.items()}
    for nid in keep:
        n = raw.nodes[nid]
        g.add_node(
            nid,
            label=n["label"],
            name=n["name"],
            kind=n.get("kind", ""),
            roles=sorted(roles.get(nid, ())),
            programmes=sorted(names[p] for p in programmes_of.get(nid, ()) if p in names),
            sources=list(n.get("sources", ())),
        )
    stated: dict[tuple[str, str], tuple[str, str, int]] = {}
    for e in raw.edges:
        if e["src"] not in keep or e["dst"] not in keep:
            continue
        key = g.add_edge(
            e["src"],
            e["dst"],
            type=e["type"],
            role=e["role"],
            weight=1,
            derived=False,
            via=[],
            sources=list(e["sources"]),
        )
        if e["type"] == "COLLABORATES_WITH":
            stated[_pair(e["src"], e["dst"])] = (e["src"], e["dst"], key)
    if derive:
        _derive_collaborations(g, raw, keep, stated, notes)
    return g, notes


def number_nl(n: int, one: str, many: str) -> str:
    """``n`` with the Dutch word in the number it needs ("1 betrokkene", "12 betrokkenen").

    Why: the notes said "betrokkene(n)" and "programma('s)", a form a reader has to
    decode, and the page patched the one it knew; the notes are read as JSON too."""
    return f"{n} {one if n == 1 else many}"


def isolated_note(n: int) -> str:
    """The note for ``n`` actors left out of the picture for having no link."""
    return (
        f"{number_nl(n, 'betrokkene', 'betrokkenen')} zonder verbinding weggelaten "
        "(isolated=true toont ze)."
    )


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _derive_collaborations(
    g: nx.MultiDiGraph,
    raw: RawNetwork,
    keep: set[str],
    stated: dict[tuple[str, str], tuple[str, str, int]],
    notes: list[str],
) -> None:
    members: dict[str, set[str]] = defaultdict(set)
    for e in raw.edges:
        if (
            e["type"] in ("PARTICIPATES_IN", "FUNDS")
            and e["src"] in keep
            and e["dst"] in keep
            and raw.nodes[e["src"]]["label"] == "Actor"
        ):
            members[e["dst"]].add(e["src"])
    shared: dict[tuple[str, str], list[str]] = defaultdict(list)
    skipped = 0
    for pid, actors in members.items():
        if len(actors) > MAX_DERIVED_PER_PROGRAMME:
            skipped += 1
            continue
        for a, b in combinations(sorted(actors), 2):
            shared[(a, b)].append(raw.nodes[pid]["name"])
    budget = int(DERIVED_PER_NODE * max(len(keep), 1))
    new_pairs = [len(via) for pair, via in shared.items() if pair not in stated]
    min_shared = 1
    while sum(1 for k in new_pairs if k >= min_shared) > budget:
        min_shared += 1
    if min_shared > 1:
        notes.append(
            f"Afgeleide samenwerkingen alleen tussen betrokkenen met minstens {min_shared} "
            "gedeelde programma's (anders zouden de lijnen het beeld bedekken)."
        )
    for (a, b), via in shared.items():
        if (a, b) in stated:
            src, dst, key = stated[(a, b)]
            data = g.edges[src, dst, key]
            data["weight"] = 1 + len(via)
            data["via"] = sorted(via)
            continue
        if len(via) < min_shared:
            continue
        g.add_edge(
            a,
            b,
            type="COLLABORATES_WITH",
            role="",
            weight=len(via),
            derived=True,
            via=sorted(via),
            sources=[],
        )
    if skipped:
        programmes = number_nl(skipped, "programma", "programma's")
        notes.append(
            f"{programmes} met meer dan {MAX_DERIVED_PER_PROGRAMME} betrokkenen "
            f"{'kreeg' if skipped == 1 else 'kregen'} "
            "geen afgeleide samenwerkingslijnen (de knoop van het programma verbindt ze)."
        )


#: The node classes the stakeholder network (and so a focus view) is made of; other nodes
#: of a picture (the what-works view's challenges, elements, effects, evidence) have no
#: focus view, and a link to one would answer "not in this network".
FOCUS_LABELS = ("Actor", "Programme", "Intervention")


def find_node(g: nx.MultiDiGraph, key: str) -> str:
    """A node by id or (case-insensitive) name; ``ValueError`` naming ``focus`` if absent."""
    if key in g:
        return key
    wanted = key.strip().casefold()
    for nid, data in g.nodes(data=True):
        if str(data.get("name", "")).casefold() == wanted:
            return str(nid)
    some = ", ".join(sorted(str(d.get("name")) for _, d in g.nodes(data=True))[:5]) or "none"
    raise ValueError(
        f"focus: '{key}' is not an actor, programme or intervention in this network; "
        f"use a node id from GET /network or a name such as {some}."
    )


def ego_view(g: nx.MultiDiGraph, center: str, hops: int = 1) -> nx.MultiDiGraph:
    """Everything within ``hops`` links of ``center`` (links followed either way)."""
    if not 1 <= hops <= MAX_HOPS:
        raise ValueError(f"hops: must be a whole number from 1 to {MAX_HOPS}, got {hops}.")
    nid = find_node(g, center)
    near = nx.single_source_shortest_path_length(g.to_undirected(as_view=True), nid, hops)
    sub: nx.MultiDiGraph = g.subgraph(near).copy()
    return sub


# --- what works ---


def whatworks_graph(store: GraphStore, intervention_ids: Iterable[str]) -> nx.MultiDiGraph:
    """Challenges — interventions — working elements — effects — evidence around a search.

    ``intervention_ids`` are the interventions a search returned; the graph adds what
    they address, their working elements and effects, the general intervention a local
    one is an instance of, the programmes that use them with the working elements those
    programmes name for their approach (only programmes that name any: the others add
    a node and no answer), and the evidence behind elements and effects.
    """
    ids = list(dict.fromkeys(intervention_ids))
    g = nx.MultiDiGraph()
    if not ids:
        return g
    rows = _rows(
        store,
        "UNWIND $ids AS iid MATCH (i:Intervention {id: iid}) "
        "OPTIONAL MATCH (i)-[r]->(m) WHERE type(r) IN $types "
        "RETURN i.id, i.name, i.sources, type(r), m.id, labels(m), m.name, m.outcome, "
        "m.direction, m.level, m.sources, r.sources",
        {"ids": ids, "types": list(WHATWORKS_INTERVENTION_RELS)},
    )
    second: set[str] = set()
    for iid, iname, isrc, typ, mid, mlabels, mname, outcome, direction, level, msrc, rsrc in rows:
        iid = str(iid)
        if iid not in g:
            g.add_node(
                iid,
                label="Intervention",
                name=str(iname or iid),
                kind="",
                roles=[],
                programmes=[],
                sources=_str_list(isrc),
            )
        if mid is None:
            continue
        label = _class_label(mlabels)
        _add_ww_node(g, str(mid), label, mname, outcome, direction, level, msrc)
        _add_ww_edge(g, iid, str(mid), str(typ), rsrc)
        if label in ("WorkingElement", "Effect"):
            second.add(str(mid))
    _add_programme_elements(g, store, [i for i in ids if i in g], second)
    if second:
        for sid, typ, eid, elabels, ename, etype, level, esrc, rsrc in _rows(
            store,
            "UNWIND $ids AS sid MATCH (s:Node {id: sid})-[r:SUPPORTED_BY]->(e) "
            "RETURN s.id, type(r), e.id, labels(e), e.name, e.type, e.level, e.sources, "
            "r.sources",
            {"ids": sorted(second)},
        ):
            _add_ww_node(
                g, str(eid), _class_label(elabels), ename or etype, None, None, level, esrc
            )
            _add_ww_edge(g, str(sid), str(eid), str(typ), rsrc)
    return g


def _add_programme_elements(
    g: nx.MultiDiGraph, store: GraphStore, ids: list[str], second: set[str]
) -> None:
    """Programmes that use one of ``ids`` and name working elements of their approach:
    the programme (USES the intervention) and its elements (HAS_PROGRAMME_ELEMENT); the
    elements join ``second`` so their evidence is read too."""
    if not ids:
        return
    for iid, pid, pname, psrc, usrc, wid, wname, wsrc, rsrc in _rows(
        store,
        "UNWIND $ids AS iid MATCH (p:Programme)-[u:USES]->(i:Intervention {id: iid}) "
        "MATCH (p)-[r:HAS_PROGRAMME_ELEMENT]->(w) "
        "RETURN i.id, p.id, p.name, p.sources, u.sources, w.id, w.name, w.sources, r.sources",
        {"ids": ids},
    ):
        pid, wid = str(pid), str(wid)
        _add_ww_node(g, pid, "Programme", pname, None, None, None, psrc)
        _add_ww_node(g, wid, "WorkingElement", wname, None, None, None, wsrc)
        for src, typ, dst, sources in (
            (pid, "USES", str(iid), usrc),
            (pid, "HAS_PROGRAMME_ELEMENT", wid, rsrc),
        ):
            if not g.has_edge(src, dst, key=typ):
                _add_ww_edge(g, src, dst, typ, sources, key=typ)
        second.add(wid)


def _add_ww_edge(
    g: nx.MultiDiGraph, src: str, dst: str, typ: str, sources: Any, key: str | None = None
) -> None:
    """A stated (not derived) edge of the what-works view, with its provenance."""
    g.add_edge(
        src,
        dst,
        key=key,
        type=typ,
        role="",
        weight=1,
        derived=False,
        via=[],
        sources=_str_list(sources),
    )


def _add_ww_node(
    g: nx.MultiDiGraph,
    nid: str,
    label: str,
    name: Any,
    outcome: Any,
    direction: Any,
    level: Any,
    sources: Any,
) -> None:
    if nid in g:
        return
    text = str(name or outcome or nid)
    if label == "Effect" and outcome:
        text = f"{direction or ''} {outcome}".strip()
    g.add_node(
        nid,
        label=label,
        name=text,
        kind="",
        roles=[str(level)] if level else [],
        programmes=[],
        sources=_str_list(sources),
    )


#: Share of the best search score an intervention needs to join the what-works picture.
#: The search fills its list with weak vector matches when few interventions fit (for
#: "eenzaamheid ouderen" the scores fell from 0.19 to 0.06, and Multisysteemtherapie,
#: Halt-afdoening and duale trajecten taal en werk came next); in a ranked list they sit
#: at the bottom, but in the picture they carried most of the nodes and led the
#: "most central" list.
WHATWORKS_MIN_SHARE = 1 / 3


def strong_results(results: list[Any]) -> list[Any]:
    """The search results (best first, each with a ``score``) worth drawing: those scoring
    at least `WHATWORKS_MIN_SHARE` of the best; the best one always."""
    if not results:
        return []
    floor = float(results[0].score) * WHATWORKS_MIN_SHARE
    return [r for i, r in enumerate(results) if i == 0 or float(r.score) >= floor]


# --- one entry point for routes and pages ---


def network_view(
    store: GraphStore,
    *,
    view: ViewKind = "stakeholders",
    focus: str | None = None,
    hops: int = 1,
    filters: NetworkFilters | None = None,
    q: str = "",
    search: Any = None,
    derive: bool = True,
    isolated: bool = False,
) -> NetworkView:
    """The picture the API and the web pages show for these parameters.

    ``search`` is a ``SearchService`` (needed for ``view="whatworks"``). ``isolated``
    keeps nodes without any link (most actors are only mentioned, never linked; they
    would bury the picture). Raises ``ValueError`` sentences naming the parameter.
    """
    filters = filters or NetworkFilters()
    if view == "whatworks":
        if not q.strip():
            raise ValueError("q: the what-works view needs a question, e.g. q=eenzaamheid.")
        if search is None:
            raise ValueError("q: search is not available, so the what-works view cannot run.")
        from impact_graph.search.models import SearchFilters, SearchRequest

        resp = search.search(
            SearchRequest(q=q.strip(), limit=15, filters=SearchFilters(type=["intervention"]))
        )
        kept = strong_results(resp.results)
        g = whatworks_graph(store, [r.id for r in kept])
        notes = []
        if not resp.results:
            notes.append(
                f"Voor '{q.strip()}' is geen interventie gevonden; probeer andere of "
                "minder woorden."
            )
        if len(kept) < len(resp.results):
            weak = len(resp.results) - len(kept)
            one = weak == 1
            notes.append(
                f"{number_nl(weak, 'zwakkere treffer', 'zwakkere treffers')} weggelaten: "
                f"{'een interventie die' if one else 'interventies die'} minder dan "
                f"{WHATWORKS_MIN_SHARE:.0%} {'scoort' if one else 'scoren'} van de best "
                f"passende. {'Ze staat' if one else 'Ze staan'} wel in de zoekresultaten."
            )
        return NetworkView(
            graph=g,
            kind="whatworks",
            title=f"Wat werkt: {q.strip()}",
            query=q.strip(),
            doc_titles=read_doc_titles(store),
            notes=notes,
        )
    if not 1 <= hops <= MAX_HOPS:
        raise ValueError(f"hops: must be a whole number from 1 to {MAX_HOPS}, got {hops}.")
    key = (
        view,
        focus,
        hops if (view == "focus" or focus) else 0,
        tuple(tuple(v) for v in filters.as_dict().values()),
        derive,
        isolated,
    )
    made, _ = _cached_view(
        store,
        key,
        lambda raw: _stakeholder_view(
            raw,
            view=view,
            focus=focus,
            hops=hops,
            filters=filters,
            derive=derive,
            isolated=isolated,
        ),
    )
    return made


def _stakeholder_view(
    raw: RawNetwork,
    *,
    view: ViewKind,
    focus: str | None,
    hops: int,
    filters: NetworkFilters,
    derive: bool,
    isolated: bool,
) -> NetworkView:
    """The stakeholder or focus picture from the rows (what :func:`network_view` caches)."""
    g, notes = stakeholder_graph(raw, filters, derive=derive)
    if view == "focus" or focus:
        if not focus:
            raise ValueError("focus: the focus view needs a node id or name, e.g. focus=...")
        g = ego_view(g, focus, hops)
        center = find_node(g, focus)
        return NetworkView(
            graph=g,
            kind="focus",
            title=f"Focus: {g.nodes[center]['name']} ({hops} stap{'pen' if hops > 1 else ''})",
            focus=center,
            hops=hops,
            filters=filters,
            doc_titles=raw.doc_titles,
            notes=notes,
        )
    if not isolated:
        alone = [n for n, d in g.degree() if d == 0]
        g.remove_nodes_from(alone)
        if alone:
            notes.append(isolated_note(len(alone)))
    return NetworkView(
        graph=g,
        kind="stakeholders",
        title="Netwerk van betrokkenen",
        filters=filters,
        doc_titles=raw.doc_titles,
        notes=notes,
    )
