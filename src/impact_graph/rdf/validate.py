"""``impact-graph validate``: pyshacl over the RDF view with ``ontology/shapes.ttl``.

The data graph is the union of the document graphs (the ontology graph is left out: the
shapes target instance data). rdflib, which pyshacl runs on, has no RDF 1.2 triple terms,
so the ``rdf:reifies`` statements are dropped first; everything said about edges is still
there. Each violation becomes one sentence naming the node, the documents it came from,
the property and the shape's own message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyoxigraph as ox

from impact_graph.rdf.mapping import without_triple_terms
from impact_graph.rdf.view import RdfView

SH = "http://www.w3.org/ns/shacl#"


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
    m = view.mapping
    graphs = [m.graph_iri(d).value for d in view.document_hashes()]
    quads = list(without_triple_terms(view.quads(graphs))) if graphs else []
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    data = Graph()
    if triples:
        data.parse(data=ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES), format="nt")
    conforms, results, _ = pyshacl.validate(
        data, shacl_graph=load_shapes(), inference="none", allow_warnings=True
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
    violations.sort(key=lambda v: (v.node, v.path, v.message))
    return ValidationReport(
        conforms=bool(conforms),
        triples=len(data),
        violations=violations,
        elapsed_s=time.perf_counter() - t0,
    )
