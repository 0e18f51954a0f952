"""`impact-graph check`: do the graph store and the RDF view hold the same facts?

The write-through store keeps the two in step on every write (and takes a document out
of the graph store again when the view refuses it), but the invariant is only worth
something if it can be checked from the outside after a crash, a kill -9 or a database
that went away mid-ingest. This module reads both sides independently and compares them
per document:

* the document itself and its content hash (a document half-written in the graph store,
  i.e. FalkorDB's ``complete=false``, counts as a difference too);
* the node ids the document supports, by class (graph store: nodes whose ``sources``
  name the document; RDF view: ``ig:id`` of the ``rdf:type``-d subjects in the document's
  named graph);
* the edges the document supports, as ``(src, type, dst, key)`` (graph store: edges whose
  ``sources`` name the document; RDF view: the reifiers in the document's graph).

Both sides are read through their public, read-only interfaces (``read_query`` and the
view's ``select``), so the check itself can never repair or disturb anything: it only
reports, in sentences, and leaves the repair to ``impact-graph ingest`` (the write-through
store rewrites a stale view) or a delete.

It also reports, as notes that do not fail the check, the state of FalkorDB's vector
indexes: the index keeps deleted vectors, which cost vector search recall until it is
rebuilt (``falkordb_store.VECTOR_REBUILD_SHARE``). The store rebuilds on its own;
`rebuild_vector_indexes` (``impact-graph check --rebuild-vector-indexes``) does it now,
e.g. for a graph whose deletions predate the store's count of them.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from impact_graph.model import BASE_LABEL
from impact_graph.rdf.mapping import RDF_NS
from impact_graph.rdf.view import RdfView
from impact_graph.store.port import GraphStore

#: Limits for the internal reads: a check reads the whole graph, so the researcher
#: defaults (5 s, 1,000 rows) would cut it short.
READ_TIMEOUT_S = 600.0
READ_ROW_CAP = 50_000_000

#: How many example ids a sentence names before it says "and N more".
EXAMPLES = 3

EdgeKey = tuple[str, str, str, str]  # (src, type, dst, key)


@dataclass(slots=True)
class DocumentFacts:
    """What one side holds for one document."""

    content_hash: str | None = None  # None: the side has no (complete) Document node
    incomplete: bool = False  # graph store only: a write that never finished
    nodes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    edges: dict[str, set[EdgeKey]] = field(default_factory=lambda: defaultdict(set))


@dataclass(slots=True)
class Difference:
    """One disagreement between the two sides, told as a sentence."""

    doc_id: str
    kind: str  # missing-in-view|missing-in-store|orphan|hash|incomplete|nodes|edges
    sentence: str


@dataclass(slots=True)
class CheckReport:
    """The outcome of one check."""

    documents: int = 0
    nodes: int = 0  # (document, node) pairs compared
    edges: int = 0  # (document, edge) pairs compared
    differences: list[Difference] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: Per vector index (FalkorDB only): label, live, deleted (since built), building.
    vector_indexes: list[dict[str, Any]] = field(default_factory=list)
    #: Sentences about the store's upkeep (vector indexes); they do not fail the check.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def documents_differing(self) -> list[str]:
        return sorted({d.doc_id for d in self.differences})

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "documents": self.documents,
            "nodes": self.nodes,
            "edges": self.edges,
            "elapsed_s": round(self.elapsed_s, 3),
            "documents_differing": self.documents_differing,
            "differences": [
                {"doc_id": d.doc_id, "kind": d.kind, "sentence": d.sentence}
                for d in self.differences
            ],
            "vector_indexes": self.vector_indexes,
            "notes": self.notes,
        }


# --- reading the two sides --------------------------------------------------------------


def _rows(store: GraphStore, query: str) -> list[list[Any]]:
    res = store.read_query(query, timeout_s=READ_TIMEOUT_S, row_cap=READ_ROW_CAP)
    return res.rows


def _class_label(labels: Iterable[str]) -> str:
    for label in labels:
        if label != BASE_LABEL:
            return label
    return BASE_LABEL


def graph_facts(store: GraphStore) -> dict[str, DocumentFacts]:
    """Per document, what the graph store holds (complete documents and half ones)."""
    facts: dict[str, DocumentFacts] = defaultdict(DocumentFacts)
    for doc_id, content_hash, complete in _rows(
        store, "MATCH (d:Document) RETURN d.id, d.content_hash, d.complete"
    ):
        f = facts[str(doc_id)]
        f.content_hash = str(content_hash or "")
        # Only FalkorDB marks documents; Neo4j writes a document in one transaction.
        f.incomplete = complete is False
    for doc_id, node_id, labels in _rows(
        store, f"MATCH (n:{BASE_LABEL}) UNWIND n.sources AS doc RETURN doc, n.id, labels(n)"
    ):
        facts[str(doc_id)].nodes[_class_label(labels or [])].add(str(node_id))
    for doc_id, src, type_, dst, key in _rows(
        store,
        f"MATCH (a:{BASE_LABEL})-[e]->(b:{BASE_LABEL}) UNWIND e.sources AS doc "
        "RETURN doc, a.id, type(e), b.id, e.key",
    ):
        facts[str(doc_id)].edges[str(type_)].add((str(src), str(type_), str(dst), str(key or "")))
    return dict(facts)


def view_facts(view: RdfView) -> dict[str, DocumentFacts]:
    """Per document, what the RDF view holds in the document's named graph."""
    m = view.mapping
    classes = {c.iri: c.label for c in m.schema.node_classes}
    rels = {r.iri: r.type for r in m.schema.rel_types}
    facts: dict[str, DocumentFacts] = defaultdict(DocumentFacts)
    for doc_id, content_hash in view.document_hashes().items():
        facts[doc_id].content_hash = content_hash
    id_p = m.prop("id").value
    for r in view.select(f"SELECT ?g ?id ?c WHERE {{ GRAPH ?g {{ ?s a ?c ; <{id_p}> ?id }} }}"):
        doc = m.doc_id_of_graph(r["g"])
        if doc is None:
            continue
        label = classes.get(r["c"]) or r["c"].rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        facts[doc].nodes[label].add(r["id"])
    for r in view.select(
        f"SELECT ?g ?s ?p ?o ?key WHERE {{ GRAPH ?g {{ ?r <{RDF_NS}reifies> ?t "
        f"OPTIONAL {{ ?r <{m.key_p.value}> ?key }} }} "
        "BIND(SUBJECT(?t) AS ?s) BIND(PREDICATE(?t) AS ?p) BIND(OBJECT(?t) AS ?o) }"
    ):
        doc = m.doc_id_of_graph(r["g"])
        src, dst = m.node_id(r.get("s", "")), m.node_id(r.get("o", ""))
        if doc is None or src is None or dst is None:
            continue
        type_ = rels.get(r["p"]) or r["p"].rsplit("#", 1)[-1]
        facts[doc].edges[type_].add((src, type_, dst, r.get("key", "")))
    return dict(facts)


# --- comparing --------------------------------------------------------------------------


def _examples(items: Iterable[Any]) -> str:
    shown = sorted(items)
    text = ", ".join(_fmt(x) for x in shown[:EXAMPLES])
    more = len(shown) - EXAMPLES
    return text + (f" and {more} more" if more > 0 else "")


def _fmt(item: Any) -> str:
    if isinstance(item, tuple):
        src, type_, dst, key = item
        return f"{src} -[{type_}{' ' + key if key else ''}]-> {dst}"
    return str(item)


def _size(f: DocumentFacts) -> str:
    nodes = sum(len(x) for x in f.nodes.values())
    edges = sum(len(x) for x in f.edges.values())
    return f"{nodes} nodes, {edges} edges"


REPAIR = "ingest its file again (the write-through store rewrites both) or delete the document"


def compare(store: dict[str, DocumentFacts], view: dict[str, DocumentFacts]) -> CheckReport:
    """Differences between the two sides' facts, document by document."""
    report = CheckReport()
    for doc in sorted(set(store) | set(view)):
        g, v = store.get(doc, DocumentFacts()), view.get(doc, DocumentFacts())
        report.documents += 1
        report.nodes += sum(len(s) for s in g.nodes.values())
        report.edges += sum(len(s) for s in g.edges.values())
        out = report.differences
        if g.incomplete:
            out.append(
                Difference(
                    doc,
                    "incomplete",
                    f"Document {doc} is half-written in the graph store (its write never "
                    "finished); the next `impact-graph ingest` rolls it back and writes it "
                    "again.",
                )
            )
            continue  # its facts are partial by design; the roll-back removes them
        if g.content_hash is None and v.content_hash is not None:
            out.append(
                Difference(
                    doc,
                    "missing-in-store",
                    f"Document {doc} is in the RDF view ({_size(v)}) but not in the graph "
                    f"store; {REPAIR}.",
                )
            )
            continue  # the whole document is missing: no point listing its facts
        elif v.content_hash is None and g.content_hash is not None:
            out.append(
                Difference(
                    doc,
                    "missing-in-view",
                    f"Document {doc} is in the graph store ({_size(g)}) but not in the RDF "
                    f"view; {REPAIR}.",
                )
            )
            continue
        elif g.content_hash is None and v.content_hash is None:
            out.append(
                Difference(
                    doc,
                    "orphan",
                    f"Facts name document {doc} as their source, but neither side holds "
                    f"that document; {REPAIR}.",
                )
            )
        elif g.content_hash != v.content_hash:
            out.append(
                Difference(
                    doc,
                    "hash",
                    f"Document {doc} has content hash {g.content_hash} in the graph store "
                    f"but {v.content_hash} in the RDF view; {REPAIR}.",
                )
            )
        for what, gs, vs in (("nodes", g.nodes, v.nodes), ("edges", g.edges, v.edges)):
            for key in sorted(set(gs) | set(vs)):
                only_g = gs.get(key, set()) - vs.get(key, set())
                only_v = vs.get(key, set()) - gs.get(key, set())
                noun = f"{key} node(s)" if what == "nodes" else f"{key} edge(s)"
                if only_g:
                    out.append(
                        Difference(
                            doc,
                            what,
                            f"Document {doc}: the graph store has {len(only_g)} {noun} that "
                            f"the RDF view lacks ({_examples(only_g)}).",
                        )
                    )
                if only_v:
                    out.append(
                        Difference(
                            doc,
                            what,
                            f"Document {doc}: the RDF view has {len(only_v)} {noun} that "
                            f"the graph store lacks ({_examples(only_v)}).",
                        )
                    )
    return report


# --- vector indexes (FalkorDB) ----------------------------------------------------------

REBUILD_COMMAND = "impact-graph check --rebuild-vector-indexes"


def vector_index_states(store: GraphStore) -> list[Any]:
    """The store's vector indexes (`falkordb_store.VectorIndexState`), [] for a backend
    whose index drops deleted vectors itself (Neo4j)."""
    states = getattr(store, "vector_indexes", None)
    return list(states()) if callable(states) else []


def vector_index_notes(states: Iterable[Any]) -> list[str]:
    """A sentence per index with deleted vectors or a rebuild running, and one for all
    the others together (a demo graph has seven vector indexes, none with deletions:
    seven like sentences hid the check's own verdict)."""
    from impact_graph.store.falkordb_store import VECTOR_REBUILD_SHARE

    share = f"{VECTOR_REBUILD_SHARE:.0%}"
    notes = []
    clean = []
    for st in states:
        if not st.live and not st.deleted:
            continue
        if not st.deleted and not st.building:
            clean.append(st)
            continue
        head = (
            f"Vector index {st.label}: {st.live:,} live vectors, {st.deleted:,} deleted since "
            "it was built"
        )
        if st.building:
            notes.append(
                f"{head}; it is being rebuilt in the background (search meanwhile "
                "uses the old index)."
            )
        elif st.due:
            notes.append(
                f"{head}. FalkorDB keeps deleted vectors in the index, where they cost vector "
                f"search recall; the store rebuilds it once they reach {share} of the live "
                f"ones after a delete, or run `{REBUILD_COMMAND}` now."
            )
        else:
            notes.append(f"{head} (the store rebuilds it at {share}; `{REBUILD_COMMAND}` now).")
    if clean:
        labels = ", ".join(st.label for st in clean)
        live = sum(st.live for st in clean)
        notes.append(
            f"Vector indexes {labels}: {live:,} live vectors, none deleted since they were "
            f"built (deletions from before the store counted them are not known: "
            f"`{REBUILD_COMMAND}` clears those too)."
        )
    return notes


def rebuild_vector_indexes(store: GraphStore) -> list[str]:
    """Rebuild every vector index that holds vectors or counted deletions; the labels
    whose rebuild started (FalkorDB builds in the background; search uses the old index
    until then). An index being built already is left alone."""
    rebuild = getattr(store, "rebuild_vector_index", None)
    if not callable(rebuild):
        return []
    return [
        st.label
        for st in vector_index_states(store)
        if (st.live or st.deleted) and not st.building and rebuild(st.label)
    ]


def check(store: GraphStore, view: RdfView) -> CheckReport:
    """Read both sides and compare them (read-only; nothing is repaired)."""
    started = time.perf_counter()
    report = compare(graph_facts(store), view_facts(view))
    states = vector_index_states(store)
    report.vector_indexes = [
        {"label": s.label, "live": s.live, "deleted": s.deleted, "building": s.building}
        for s in states
    ]
    report.notes = vector_index_notes(states)
    report.elapsed_s = time.perf_counter() - started
    return report
