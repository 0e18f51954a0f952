"""GraphBatch -> RDF quads, with stable IRIs derived from node ids and the ontology.

Choices (and why):

* **Node IRIs** are ``<resourceBase><id>`` (``ig:resourceBase`` in ``impact.ttl``) with the
  id percent-encoded except ``:``; ids are stable, so IRIs are too, and
  :meth:`RdfMapping.node_id` inverts them.
* **One named graph per document**, ``<resourceBase>graph/<doc id>``: every fact a
  document contributes (its nodes, their properties, its edges) lives in that graph, so
  replacing a changed document is "drop its graph, write the new one" and deleting it is
  "drop its graph" -- nothing else is touched, and a node shared by two documents keeps
  the facts of the other one. The **default graph** holds the set union of all graphs
  (kept by `impact_graph.rdf.view` on every write), so the ``ig:sources`` of a node are
  exactly the merged provenance list the property graph keeps, and ``GRAPH ?g { ... }``
  answers "which document says this". Measured: Oxigraph's ``use_default_graph_as_union``
  (and ``FROM g1 FROM g2``) returns a triple once per graph that holds it, so counts
  would be wrong; a maintained default graph is a true set on every SPARQL store, and a
  remote store needs no union-graph configuration.
* **PROV-O**: each document graph is a ``prov:Entity`` that ``prov:wasDerivedFrom`` its
  document, and every node and edge in it ``prov:wasDerivedFrom`` the document too (an
  IRI to join on, next to the ``ig:sources``/``ig:spans`` literals the shapes check).
* **Edge properties** use RDF 1.2 reifiers: the edge is asserted (``s ig:p o``) and an edge
  IRI ``<resourceBase>edge/<hash>`` ``rdf:reifies <<( s ig:p o )>>`` carries ``ig:key``,
  ``ig:role``, ``ig:start``/``ig:end``, ``ig:sources``/``ig:spans``. Measured: pyoxigraph
  0.5.13 and Jena Fuseki 5.6 both store triple terms and answer
  ``<< s p o ~ ?r >>`` and ``?r rdf:reifies ?t``; a reifier per edge keeps parallel edges
  (two MENTIONS of one entity in one chunk) apart, which RDF-star annotation of the
  triple itself could not. The edge IRI hashes the edge identity ``(src, type, dst, key)``.
* **Vocabulary concepts**: a node's ``concept`` stays the ``xsd:anyURI`` literal the
  shapes ask for, plus ``dcterms:subject <concept>`` so SPARQL can join to the SKOS
  vocabularies (loaded into their own graph) for prefLabels and ``skos:broader``.
* Classes, properties and datatypes come from the `Schema` (``load_schema``); a property
  the ontology does not declare still gets ``<ontology ns><key>`` with a type guessed from
  the Python value, so nothing a store holds is lost in the view. Embeddings are not
  written (they are not facts).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from urllib.parse import quote, unquote

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Triple

from impact_graph.model import SOURCES, SPANS, Edge, GraphBatch, Node, PropValue, dedupe
from impact_graph.schema import PropertyDef, Schema

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PROV = "http://www.w3.org/ns/prov#"
DCTERMS = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"

RDF_TYPE = NamedNode(RDF_NS + "type")
RDF_REIFIES = NamedNode(RDF_NS + "reifies")
PROV_ENTITY = NamedNode(PROV + "Entity")
PROV_DERIVED = NamedNode(PROV + "wasDerivedFrom")
DC_SUBJECT = NamedNode(DCTERMS + "subject")
PROV_GENERATED = NamedNode(PROV + "generatedAtTime")
XSD_DATETIME = NamedNode(XSD + "dateTime")

#: The same terms as N-Triples text (`RdfMapping.batch_nquads`).
_RDF_TYPE_T, _RDF_REIFIES_T = str(RDF_TYPE), str(RDF_REIFIES)
_PROV_ENTITY_T, _PROV_DERIVED_T = str(PROV_ENTITY), str(PROV_DERIVED)
_DC_SUBJECT_T, _PROV_GENERATED_T = str(DC_SUBJECT), str(PROV_GENERATED)
_XSD_DATETIME_T = str(XSD_DATETIME)

#: One statement's terms: subject, predicate, object.
_Spo = tuple[NamedNode, NamedNode, NamedNode | Literal | Triple]

#: Node IRIs kept by `RdfMapping.node_iri` (cleared when full; ~200 bytes each).
IRI_CACHE_SIZE = 100_000

#: Property keys that are bookkeeping of a backend, not facts.
_SKIP = {"embedding", "complete", "id"}


#: Prefixes offered to researchers' queries and used in exports.
def default_prefixes(schema: Schema) -> dict[str, str]:
    """The prefixes every SPARQL query may use without declaring them."""
    return {
        "ig": schema.base_iri,
        "id": schema.resource_base,
        "rdf": RDF_NS,
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "xsd": XSD,
        "owl": "http://www.w3.org/2002/07/owl#",
        "skos": SKOS,
        "prov": PROV,
        "dcterms": DCTERMS,
    }


def _lower_camel(rel_type: str) -> str:
    head, *rest = rel_type.lower().split("_")
    return head + "".join(p.capitalize() for p in rest)


class RdfMapping:
    """Turns graph ids and batches into RDF terms; derived once from a `Schema`."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.base = schema.base_iri
        self.resource_base = schema.resource_base
        self.graph_base = schema.resource_base + "graph/"
        self.edge_base = schema.resource_base + "edge/"
        # Property names are ontology-wide (ig:<name>), so one table serves every class.
        props: dict[str, PropertyDef] = {p.name: p for p in schema.common_properties}
        for c in schema.node_classes:
            props.update({p.name: p for p in c.properties})
        for r in schema.rel_types:
            props.update({p.name: p for p in r.properties})
        self._props = props
        self._classes = {c.label: NamedNode(c.iri) for c in schema.node_classes}
        self._rels = {r.type: NamedNode(r.iri) for r in schema.rel_types}
        self._prop_iris = {name: NamedNode(p.iri) for name, p in props.items()}
        self.sources_p = self.prop(SOURCES)
        self.spans_p = self.prop(SPANS)
        self.key_p = self.prop("key")
        self.content_hash_p = self.prop("content_hash")
        self.document_class = self.class_iri("Document")
        self._iri_cache: dict[str, NamedNode] = {}
        self._id_p = self.prop("id")
        # N-Triples text of terms, for `batch_nquads`. Every IRI text is made from a
        # checked NamedNode (or, for node ids, the checked resource base plus a
        # percent-encoded id), so the text is valid without the parser checking it.
        self._iri_texts: dict[str, str] = {}
        self._term_texts: dict[tuple[str, str], str] = {}
        self._resource_text = "<" + NamedNode(self.resource_base).value
        self._edge_text = "<" + NamedNode(self.edge_base).value
        self._sources_t, self._spans_t = str(self.sources_p), str(self.spans_p)
        self._key_t, self._id_t = str(self.key_p), str(self._id_p)

    # -- IRIs ----------------------------------------------------------------------------

    def node_iri(self, node_id: str) -> NamedNode:
        # Cached: one document names its nodes again and again (every edge end, every
        # prov:wasDerivedFrom of the document), and quoting plus IRI checking was a
        # quarter of building a document's quads.
        iri = self._iri_cache.get(node_id)
        if iri is None:
            if len(self._iri_cache) >= IRI_CACHE_SIZE:
                self._iri_cache.clear()
            iri = NamedNode(self.resource_base + quote(node_id, safe=":"))
            self._iri_cache[node_id] = iri
        return iri

    def node_id(self, iri: str) -> str | None:
        """The node id of a node IRI, None for any other IRI."""
        if not iri.startswith(self.resource_base):
            return None
        rest = iri[len(self.resource_base) :]
        if rest.startswith(("graph/", "edge/")):
            return None
        return unquote(rest)

    def graph_iri(self, doc_id: str) -> NamedNode:
        return NamedNode(self.graph_base + quote(doc_id, safe=":"))

    def doc_id_of_graph(self, graph_iri: str) -> str | None:
        if not graph_iri.startswith(self.graph_base):
            return None
        return unquote(graph_iri[len(self.graph_base) :])

    def edge_iri(self, edge: Edge) -> NamedNode:
        ident = "\x1f".join((edge.src, edge.type, edge.dst, edge.key))
        return NamedNode(self.edge_base + hashlib.sha1(ident.encode()).hexdigest()[:24])

    def class_iri(self, label: str) -> NamedNode:
        found = self._classes.get(label)
        return found if found is not None else NamedNode(self.base + label)

    def rel_iri(self, rel_type: str) -> NamedNode:
        found = self._rels.get(rel_type)
        return found if found is not None else NamedNode(self.base + _lower_camel(rel_type))

    def prop(self, name: str) -> NamedNode:
        found = self._prop_iris.get(name)
        return found if found is not None else NamedNode(self.base + quote(name, safe=""))

    # -- literals ------------------------------------------------------------------------

    def literals(self, name: str, value: PropValue) -> list[Literal]:
        """RDF literals for one property value (a list gives one literal per item)."""
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        pdef = self._props.get(name)
        return [lit for v in items if v is not None for lit in [self._literal(v, pdef)] if lit]

    @staticmethod
    def _lexical(value: object, pdef: PropertyDef | None) -> tuple[str, str] | None:
        """Lexical form and XSD datatype (local name) of one value; None for values RDF
        cannot hold (NaN, infinities). One place for both ways of writing a literal."""
        datatype = pdef.datatype if pdef is not None else _guess_datatype(value)
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if datatype == "boolean":
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        elif datatype in ("decimal",) and isinstance(value, (int, float)):
            text = _decimal_text(value)
        elif datatype in ("integer", "int", "long") and isinstance(value, float):
            if not value.is_integer():
                return repr(value), "double"
            text = str(int(value))
        else:
            text = str(value)
        return text, datatype

    @classmethod
    def _literal(cls, value: object, pdef: PropertyDef | None) -> Literal | None:
        lexical = cls._lexical(value, pdef)
        if lexical is None:
            return None
        text, datatype = lexical
        if datatype == "string":
            return Literal(text)
        return Literal(text, datatype=NamedNode(XSD + datatype))

    # -- batches -------------------------------------------------------------------------

    # Terms are made once per statement as (subject, predicate, object) tuples: the view
    # writes each statement twice (the document's graph and the default graph), and
    # reading the terms back out of a built Quad copies every one of them (measured:
    # ~2 ms per document for the default-graph copies alone).

    def node_quads(self, node: Node, doc_id: str, graph: NamedNode) -> Iterator[Quad]:
        for s, p, o in self._node_spo(node, doc_id):
            yield Quad(s, p, o, graph)

    def _node_spo(self, node: Node, doc_id: str) -> Iterator[_Spo]:
        s = self.node_iri(node.id)
        yield s, RDF_TYPE, self.class_iri(node.label)
        yield s, self._id_p, Literal(node.id)
        for key, value in node.props.items():
            if key in _SKIP or key in (SOURCES, SPANS):
                continue
            p = self.prop(key)
            for lit in self.literals(key, value):
                yield s, p, lit
            if key == "concept" and isinstance(value, str) and "://" in value:
                yield s, DC_SUBJECT, NamedNode(value)
        yield from self._provenance(s, node.props.get(SPANS), node.spans, doc_id)

    def _provenance(
        self,
        subject: NamedNode,
        prop_spans: PropValue,
        spans: list[str],
        doc_id: str,
    ) -> Iterator[_Spo]:
        """This document as a source, and the spans of it (only its own: the other
        documents' spans live in their graphs)."""
        yield subject, self.sources_p, Literal(doc_id)
        extra = prop_spans if isinstance(prop_spans, list) else []
        prefix = doc_id + "#"
        for span in dedupe([*spans, *(str(x) for x in extra)]):
            if span.startswith(prefix):
                yield subject, self.spans_p, Literal(span)
        doc_iri = self.node_iri(doc_id)
        if subject != doc_iri:
            yield subject, PROV_DERIVED, doc_iri

    def edge_quads(self, edge: Edge, doc_id: str, graph: NamedNode) -> Iterator[Quad]:
        for s, p, o in self._edge_spo(edge, doc_id):
            yield Quad(s, p, o, graph)

    def _edge_spo(self, edge: Edge, doc_id: str) -> Iterator[_Spo]:
        s, p, o = self.node_iri(edge.src), self.rel_iri(edge.type), self.node_iri(edge.dst)
        yield s, p, o
        r = self.edge_iri(edge)
        yield r, RDF_REIFIES, Triple(s, p, o)
        if edge.key:
            yield r, self.key_p, Literal(edge.key)
        for key, value in edge.props.items():
            if key in _SKIP or key in (SOURCES, SPANS, "key"):
                continue
            pk = self.prop(key)
            for lit in self.literals(key, value):
                yield r, pk, lit
        yield from self._provenance(r, edge.props.get(SPANS), edge.spans, doc_id)

    def batch_statements(
        self, batch: GraphBatch, written_at: str | None = None
    ) -> tuple[NamedNode, list[_Spo]]:
        """The document's graph IRI and every statement of it as (s, p, o) terms."""
        doc_id = batch.doc_id
        g = self.graph_iri(doc_id)
        spo: list[_Spo] = [(g, RDF_TYPE, PROV_ENTITY), (g, PROV_DERIVED, self.node_iri(doc_id))]
        if written_at:
            spo.append((g, PROV_GENERATED, Literal(written_at, datatype=XSD_DATETIME)))
        for node in batch.all_nodes():
            spo.extend(self._node_spo(node, doc_id))
        for edge in batch.edges:
            spo.extend(self._edge_spo(edge, doc_id))
        return g, spo

    def batch_quads(self, batch: GraphBatch, written_at: str | None = None) -> list[Quad]:
        """Every quad of one document's named graph."""
        g, spo = self.batch_statements(batch, written_at)
        return [Quad(s, p, o, g) for s, p, o in spo]

    # -- the same statements as N-Quads text -----------------------------------------

    # Why a second way to spell the statements: the embedded view adds a new document
    # with one ``Store.load`` of N-Quads text. Making a pyoxigraph term per value and
    # printing it back (``str()``) was most of the Python side of that write, and the
    # parser then checked every IRI again. Here the text is made from strings, with
    # the term texts of IRIs cached, so the load can skip the checks (``lenient``).
    # tests/test_rdf_write_paths.py holds both ways equal on real documents.

    def _iri_t(self, node_id: str) -> str:
        t = self._iri_texts.get(node_id)
        if t is None:
            if len(self._iri_texts) >= IRI_CACHE_SIZE:
                self._iri_texts.clear()
            t = self._resource_text + quote(node_id, safe=":") + ">"
            self._iri_texts[node_id] = t
        return t

    def _term_t(self, kind: str, name: str) -> str:
        """Text of a class, relationship type, property or concept IRI (checked once)."""
        t = self._term_texts.get((kind, name))
        if t is None:
            if kind == "class":
                t = str(self.class_iri(name))
            elif kind == "rel":
                t = str(self.rel_iri(name))
            elif kind == "prop":
                t = str(self.prop(name))
            else:
                t = str(NamedNode(name))
            self._term_texts[(kind, name)] = t
        return t

    def _literal_ts(self, name: str, value: PropValue) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        pdef = self._props.get(name)
        plain = pdef is None or pdef.datatype == "string"
        out = []
        for v in items:
            if v is None:
                continue
            if plain and isinstance(v, str):  # the common case, as `_lexical` would say
                out.append(_plain_t(v))
                continue
            lexical = self._lexical(v, pdef)
            if lexical is not None:
                text, datatype = lexical
                out.append(
                    _plain_t(text)
                    if datatype == "string"
                    else _plain_t(text) + "^^" + self._term_t("xsd", XSD + datatype)
                )
        return out

    def _props_ts(
        self, out: list[str], s: str, props: dict[str, PropValue], skip: frozenset[str]
    ) -> None:
        """Append the statements of ``props`` (but ``skip``) about ``s`` to ``out``.

        A plain string value of a string (or undeclared) property, most values, is
        written inline; everything else goes through `_literal_ts`."""
        for key, value in props.items():
            if key in skip:
                continue
            if type(value) is str:
                pdef = self._props.get(key)
                if pdef is None or pdef.datatype == "string":
                    out.append(f"{s} {self._term_t('prop', key)} {_plain_t(value)}")
                    if key == "concept" and "://" in value:
                        out.append(f"{s} {_DC_SUBJECT_T} {self._term_t('iri', value)}")
                    continue
            p = self._term_t("prop", key)
            for lit in self._literal_ts(key, value):
                out.append(f"{s} {p} {lit}")
            if key == "concept" and isinstance(value, str) and "://" in value:
                out.append(f"{s} {_DC_SUBJECT_T} {self._term_t('iri', value)}")

    def _provenance_ts(
        self,
        out: list[str],
        s: str,
        prop_spans: PropValue,
        spans: list[str],
        doc: tuple[str, str, str],
    ) -> None:
        doc_id, source, doc_t = doc
        out.append(f"{s} {self._sources_t} {source}")
        prefix = doc_id + "#"
        spans_t = self._spans_t
        if isinstance(prop_spans, list):
            spans = dedupe([*spans, *(str(x) for x in prop_spans)])
        elif len(spans) > 1:
            spans = dedupe(spans)
        for span in spans:
            if span.startswith(prefix):
                out.append(f"{s} {spans_t} {_plain_t(span)}")
        if s != doc_t:
            out.append(f"{s} {_PROV_DERIVED_T} {doc_t}")

    def _node_ts(self, out: list[str], node: Node, doc: tuple[str, str, str]) -> None:
        s = self._iri_texts.get(node.id) or self._iri_t(node.id)
        out.append(f"{s} {_RDF_TYPE_T} {self._term_t('class', node.label)}")
        out.append(f"{s} {self._id_t} {_plain_t(node.id)}")
        self._props_ts(out, s, node.props, _SKIP_NODE)
        self._provenance_ts(out, s, node.props.get(SPANS), node.spans, doc)

    def _edge_ts(self, out: list[str], edge: Edge, doc: tuple[str, str, str]) -> None:
        iris = self._iri_texts
        src = iris.get(edge.src) or self._iri_t(edge.src)
        dst = iris.get(edge.dst) or self._iri_t(edge.dst)
        spo = f"{src} {self._term_t('rel', edge.type)} {dst}"
        ident = "\x1f".join((edge.src, edge.type, edge.dst, edge.key))
        r = self._edge_text + hashlib.sha1(ident.encode()).hexdigest()[:24] + ">"
        out.append(spo)
        out.append(f"{r} {_RDF_REIFIES_T} <<( {spo} )>>")
        if edge.key:
            out.append(f"{r} {self._key_t} {_plain_t(edge.key)}")
        self._props_ts(out, r, edge.props, _SKIP_EDGE)
        self._provenance_ts(out, r, edge.props.get(SPANS), edge.spans, doc)

    def batch_nquads(
        self, batch: GraphBatch, written_at: str | None = None
    ) -> tuple[NamedNode, str, int]:
        """The document's graph IRI, the N-Quads text of its statements in that graph
        and again in the default graph (the union, see the module docstring), and the
        number of statements: the same statements as `batch_statements`, each written
        once (an edge asserted by two reifiers, e.g. two mentions of one entity in one
        chunk, is one triple; Oxigraph would write it into every index twice).

        Statements are appended to one list by plain methods (no generator per node
        or edge), and a string literal without a character to escape is quoted as it
        is (`_plain_t`): the same bytes as before (tests/test_rdf_write_paths.py), for
        less of the write thread's CPU."""
        doc_id = batch.doc_id
        g = self.graph_iri(doc_id)
        gt, doc_t = str(g), self._iri_t(doc_id)
        doc = (doc_id, _plain_t(doc_id), doc_t)
        lines = [f"{gt} {_RDF_TYPE_T} {_PROV_ENTITY_T}", f"{gt} {_PROV_DERIVED_T} {doc_t}"]
        if written_at:
            lines.append(f"{gt} {_PROV_GENERATED_T} {_plain_t(written_at)}^^{_XSD_DATETIME_T}")
        for node in batch.all_nodes():
            self._node_ts(lines, node, doc)
        for edge in batch.edges:
            self._edge_ts(lines, edge, doc)
        unique = list(dict.fromkeys(lines))
        named = f" {gt} .\n"
        return g, named.join(unique) + named + " .\n".join(unique) + " .\n", len(lines)


#: Node and edge property keys not written as literals (bookkeeping, or written apart).
_SKIP_NODE = frozenset(_SKIP | {SOURCES, SPANS})
_SKIP_EDGE = frozenset(_SKIP | {SOURCES, SPANS, "key"})


def _plain_t(text: str) -> str:
    """An N-Triples string literal: only quote, backslash, LF and CR must be escaped."""
    if "\\" in text or '"' in text or "\n" in text or "\r" in text:
        return (
            '"'
            + text.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            + '"'
        )
    return '"' + text + '"'  # nothing to escape: most literals (ids, names, spans)


def _guess_datatype(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    return "string"


def _decimal_text(value: float | int) -> str:
    """xsd:decimal has no exponent: 1e6 -> "1000000", 0.1 -> "0.1"."""
    try:
        text = format(Decimal(str(value)), "f")
    except InvalidOperation:  # pragma: no cover - finite floats always convert
        text = str(value)
    return text if "." in text else text + ".0"


def without_triple_terms(quads: Iterable[Quad]) -> Iterator[Quad]:
    """The quads rdflib can hold (it has no RDF 1.2 triple terms): ``rdf:reifies``
    statements are left out, everything said about the reifier stays."""
    for q in quads:
        if isinstance(q.object, Triple) or isinstance(q.subject, Triple):
            continue
        yield q


__all__ = [
    "BlankNode",
    "RdfMapping",
    "default_prefixes",
    "without_triple_terms",
]
