"""``impact-graph validate``: pyshacl over the RDF view with ``ontology/shapes.ttl``.

The data graph is the union of the document graphs (the ontology graph is left out: the
shapes target instance data). rdflib, which pyshacl runs on, has no RDF 1.2 triple terms,
so the ``rdf:reifies`` statements are dropped first; everything said about edges is still
there. Each violation becomes one sentence naming the node, the documents it came from,
the property and the shape's own message.

Two scopes (see the head of ``shapes.ttl``). Most shapes hold for the union: what a node
is, whichever document says it. A few properties are one document's account of a shared
node -- ``mention_count`` (how often *this* document mentions it) and an Effect's
``magnitude`` (as *this* source reports it) -- so the union of two documents that mention
one entity holds two values, and a union-wide ``sh:maxCount 1`` would flag every shared
entity of a real corpus (140 "violations" on the demo corpus). Their cardinality sits on
shapes marked ``igsh:scope igsh:EachDocument``; those are taken out of the pyshacl run
and checked inside each document's named graph with one SPARQL query per property, so a
document that really states two values is still reported, naming that document.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyoxigraph as ox

from impact_graph.rdf.mapping import without_triple_terms
from impact_graph.rdf.view import RdfView

if TYPE_CHECKING:
    from rdflib import Graph

SH = "http://www.w3.org/ns/shacl#"
IGSH = "https://w3id.org/impact-graph/shapes#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"

#: What a per-document shape may say: anything else would be silently ignored by the
#: per-document check, so it is refused instead.
_DOC_NODE_KEYS = {RDF_TYPE, RDFS_COMMENT, IGSH + "scope", SH + "targetClass", SH + "property"}
_DOC_PROPERTY_KEYS = {SH + "path", SH + "maxCount", SH + "message"}


@dataclass
class Violation:
    node: str  # node id (or IRI when it is not a node)
    path: str  # property local name, "" for node-level results
    message: str
    value: str = ""
    severity: str = "Violation"
    sources: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        where = f" (from {', '.join(self.sources[:3])})" if self.sources else ""
        prop = f" property '{self.path}'" if self.path else ""
        value = f" Found: {self.value!r}." if self.value else ""
        msg = self.message.rstrip(".")
        return f"{self.severity}: {self.node}{where}{prop}: {msg}.{value}"


@dataclass(frozen=True, slots=True)
class DocumentRule:
    """A cardinality that holds inside each document's graph (not over the union)."""

    classes: tuple[str, ...]  # class IRIs the shape targets
    path: str  # property IRI
    max_count: int
    message: str


@dataclass
class ValidationReport:
    conforms: bool
    triples: int
    violations: list[Violation]
    elapsed_s: float


def validate(view: RdfView) -> ValidationReport:
    import pyshacl
    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import RDF

    from impact_graph.ontology import load_shapes, local_name

    t0 = time.perf_counter()
    union_shapes, rules = split_shapes(load_shapes())
    m = view.mapping
    graphs = [m.graph_iri(d).value for d in view.document_hashes()]
    quads = list(without_triple_terms(view.quads(graphs))) if graphs else []
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    data = Graph()
    if triples:
        data.parse(data=ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES), format="nt")
    conforms, results, _ = pyshacl.validate(
        data, shacl_graph=union_shapes, inference="none", allow_warnings=True
    )
    sh = lambda name: URIRef(SH + name)  # noqa: E731 - tiny local helper
    violations = []
    for r in results.subjects(RDF.type, sh("ValidationResult")):
        focus = results.value(r, sh("focusNode"))
        path = results.value(r, sh("resultPath"))
        message = results.value(r, sh("resultMessage"))
        value = results.value(r, sh("value"))
        severity = results.value(r, sh("resultSeverity"))
        node = m.node_id(str(focus)) or str(focus)
        sources = sorted(str(s) for s in data.objects(focus, URIRef(m.sources_p.value)))
        violations.append(
            Violation(
                node=node,
                path=local_name(str(path)) if isinstance(path, URIRef) else "",
                message=str(message) if message is not None else "does not fit its shape",
                value=str(value) if isinstance(value, Literal | URIRef) else "",
                severity=local_name(str(severity)) if severity is not None else "Violation",
                sources=sources,
            )
        )
    per_document = _document_violations(view, rules) if graphs else []
    violations.extend(per_document)
    violations.sort(key=lambda v: (v.node, v.path, v.message))
    return ValidationReport(
        conforms=bool(conforms) and not per_document,
        triples=len(data),
        violations=violations,
        elapsed_s=time.perf_counter() - t0,
    )


def split_shapes(shapes: Graph) -> tuple[Graph, list[DocumentRule]]:
    """The shapes to run over the union, and the per-document rules taken out of them.

    A shape marked ``igsh:scope igsh:EachDocument`` may only name target classes and
    property shapes with ``sh:path``, ``sh:maxCount`` and ``sh:message``; anything else
    raises ``ValueError`` naming the shape, because the per-document check would not
    look at it.
    """
    from rdflib import Graph, Literal, URIRef

    scope, each = URIRef(IGSH + "scope"), URIRef(IGSH + "EachDocument")
    union = Graph()
    for prefix, ns in shapes.namespaces():
        union.bind(prefix, ns)
    dropped: set[object] = set()
    rules: list[DocumentRule] = []
    for shape in sorted(shapes.subjects(scope, each), key=str):
        dropped.add(shape)
        _only(shapes, shape, _DOC_NODE_KEYS)
        classes = tuple(sorted(str(c) for c in shapes.objects(shape, URIRef(SH + "targetClass"))))
        for prop in shapes.objects(shape, URIRef(SH + "property")):
            dropped.add(prop)
            _only(shapes, prop, _DOC_PROPERTY_KEYS, owner=shape)
            path = shapes.value(prop, URIRef(SH + "path"))
            top = shapes.value(prop, URIRef(SH + "maxCount"))
            if not isinstance(path, URIRef) or not isinstance(top, Literal) or not classes:
                raise ValueError(
                    f"shapes.ttl: the per-document shape {shape} needs sh:targetClass and, in "
                    "each sh:property, an IRI sh:path and an integer sh:maxCount."
                )
            msg = shapes.value(prop, URIRef(SH + "message"))
            rules.append(
                DocumentRule(
                    classes=classes,
                    path=str(path),
                    max_count=int(top.toPython()),
                    message=str(msg) if msg is not None else "too many values in one document",
                )
            )
    for t in shapes:
        if t[0] not in dropped:
            union.add(t)
    return union, rules


def _only(shapes: Graph, node: object, allowed: set[str], owner: object = None) -> None:
    extra = sorted({str(p) for p, _ in shapes.predicate_objects(node)} - allowed)  # type: ignore[arg-type]
    if extra:
        which = f"a property shape of {owner}" if owner is not None else str(node)
        raise ValueError(
            f"shapes.ttl: {which} is checked per document (igsh:EachDocument), which only "
            f"reads sh:targetClass, sh:path, sh:maxCount and sh:message; it also says "
            f"{', '.join(extra)}: move that to a shape over the union."
        )


def _document_violations(view: RdfView, rules: list[DocumentRule]) -> list[Violation]:
    """One violation per (document, node, property) holding more values than allowed."""
    from impact_graph.ontology import local_name

    m = view.mapping
    out: list[Violation] = []
    for rule in rules:
        classes = " ".join(f"<{c}>" for c in rule.classes)
        rows = view.select(
            "SELECT ?g ?s (COUNT(DISTINCT ?o) AS ?n) "
            '(GROUP_CONCAT(DISTINCT STR(?o); separator=" | ") AS ?values) '
            f"WHERE {{ VALUES ?c {{ {classes} }} GRAPH ?g {{ ?s a ?c ; <{rule.path}> ?o }} }} "
            f"GROUP BY ?g ?s HAVING (COUNT(DISTINCT ?o) > {rule.max_count})"
        )
        for r in rows:
            doc = m.doc_id_of_graph(r["g"])
            if doc is None:  # a graph that is not a document's (vocabularies)
                continue
            out.append(
                Violation(
                    node=m.node_id(r["s"]) or r["s"],
                    path=local_name(rule.path),
                    message=f"{rule.message.rstrip('.')} (found {r['n']} in this document)",
                    value=r["values"],
                    sources=[doc],
                )
            )
    return out
