"""Load the ontology and derive the property-graph `Schema` from it.

``ontology/impact.ttl`` is the single source of truth for node labels, relationship types,
their end points and the properties (with their index flags). This module reads it with
rdflib and fills the dataclasses of ``impact_graph.schema``; no class or relationship
name is written in Python, so adding a class or object property to the Turtle file is
all it takes to get a new label or relationship type everywhere.

The annotation vocabulary the loader understands (``ig:common``, ``ig:fulltext``,
``ig:edgePropertyOf``, ...) is documented at the top of ``impact.ttl``.
"""

from __future__ import annotations

import importlib.resources
import re
from functools import lru_cache
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

from impact_graph.schema import NodeClass, PropertyDef, RelType, Schema

#: Namespace of the ontology's own terms (classes, properties and loader annotations).
IG = Namespace("https://w3id.org/impact-graph/ontology#")
VANN = Namespace("http://purl.org/vocab/vann/")

#: File names inside the ontology directory.
ONTOLOGY_FILE = "impact.ttl"
SHAPES_FILE = "shapes.ttl"
VOCAB_DIR = "vocabularies"

#: Range/domain marker for "any node label".
ANY = "*"

#: xsd datatypes a property may have; both backends can store these as scalars.
_DATATYPES = {"string", "integer", "decimal", "double", "float", "boolean", "dateTime", "date"}
_DATATYPES |= {"anyURI", "int", "long", "gYear"}

_camel_re = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class OntologyError(ValueError):
    """The ontology files are missing or inconsistent; the message names the file."""


def rel_type_name(local: str) -> str:
    """Relationship type of an object property: ``hasElement`` -> ``HAS_ELEMENT``."""
    return _camel_re.sub("_", local).upper()


def local_name(iri: str) -> str:
    """The part of an IRI after the last ``#`` or ``/``."""
    return re.split(r"[#/]", str(iri))[-1]


def ontology_dir() -> Path:
    """Directory holding ``impact.ttl``, ``shapes.ttl`` and ``vocabularies/``.

    An installed wheel carries the files as ``impact_graph/_ontology`` (pyproject
    force-includes them), so that is tried first; a checkout or editable install finds
    ``<repo>/ontology`` next to ``src/``.
    """
    try:
        packaged = importlib.resources.files("impact_graph") / "_ontology"
        if (packaged / ONTOLOGY_FILE).is_file():
            return Path(str(packaged))
    except (ModuleNotFoundError, NotADirectoryError):  # pragma: no cover - odd installs
        pass
    checkout = Path(__file__).resolve().parents[2] / "ontology"
    if (checkout / ONTOLOGY_FILE).is_file():
        return checkout
    raise OntologyError(
        f"Cannot find {ONTOLOGY_FILE}: looked in the installed package (impact_graph/_ontology) "
        f"and in {checkout}; reinstall impact-graph or run from a checkout."
    )


def parse_turtle(path: Path, graph: Graph | None = None) -> Graph:
    """Parse one Turtle file into ``graph`` (a new one by default), with a clear error."""
    graph = graph if graph is not None else Graph()
    if not path.is_file():
        raise OntologyError(f"{path}: file not found; check the ontology directory.")
    try:
        graph.parse(path, format="turtle")
    except Exception as exc:  # rdflib raises several unrelated types for bad syntax
        reason = " ".join(str(exc).split())[:300]
        raise OntologyError(
            f"{path}: is not valid Turtle ({reason}); fix the syntax and try again."
        ) from exc
    return graph


def vocabulary_files(directory: Path | None = None) -> list[Path]:
    """The SKOS vocabulary files, in name order."""
    return sorted(((directory or ontology_dir()) / VOCAB_DIR).glob("*.ttl"))


@lru_cache(maxsize=1)
def load_graph() -> Graph:
    """``impact.ttl`` plus all vocabularies as one rdflib graph (cached; do not mutate)."""
    directory = ontology_dir()
    graph = parse_turtle(directory / ONTOLOGY_FILE)
    for path in vocabulary_files(directory):
        parse_turtle(path, graph)
    return graph


def load_shapes() -> Graph:
    """The SHACL shapes graph (``shapes.ttl``)."""
    return parse_turtle(ontology_dir() / SHAPES_FILE)


def inverse_labels(lang: str = "nl", graph: Graph | None = None) -> dict[str, str]:
    """Relationship type -> its ``ig:inverseLabel`` in ``lang``: the relationship read
    from its target's side ("DELIVERS" -> "wordt uitgevoerd door").

    Why: an entity page lists incoming relationships too, and "voert uit (inkomend) |
    Bibliotheek Wadstede" on a buurtkamer's page read backwards. The label is an
    annotation on the object property, not an ``owl:inverseOf`` property, so the graph,
    the RDF view and the shapes keep one relationship per fact. Types without one are
    left out (the caller says the forward label with the direction). ``graph`` defaults
    to the loaded ontology; tests pass their own.
    """
    g = graph if graph is not None else load_graph()
    out: dict[str, str] = {}
    for op in g.subjects(RDF.type, OWL.ObjectProperty):
        if not isinstance(op, URIRef) or not str(op).startswith(str(IG)):
            continue
        if text := _text(g, op, IG.inverseLabel, lang):
            out[rel_type_name(local_name(op))] = text
    return dict(sorted(out.items()))


def load_schema(path: Path | None = None) -> Schema:
    """Derive the property-graph schema from ``impact.ttl`` (or the file/dir at ``path``).

    The default ontology is parsed once per process; an explicit ``path`` is always read
    fresh, which is what tests and ontology authors want.
    """
    if path is None:
        return _default_schema()
    path = Path(path)
    if path.is_dir():
        path = path / ONTOLOGY_FILE
    return schema_from_graph(parse_turtle(path), source=path)


@lru_cache(maxsize=1)
def _default_schema() -> Schema:
    path = ontology_dir() / ONTOLOGY_FILE
    return schema_from_graph(parse_turtle(path), source=path)


# ---------------------------------------------------------------------------------------------
# Derivation
# ---------------------------------------------------------------------------------------------


def _flag(g: Graph, subject: URIRef, predicate: URIRef) -> bool:
    value = g.value(subject, predicate)
    if isinstance(value, Literal):
        return str(value).strip().lower() in {"true", "1"}
    return False


def _text(g: Graph, subject: URIRef, predicate: URIRef, lang: str) -> str:
    """The literal in ``lang``; falls back to an untagged literal."""
    untagged = ""
    for value in g.objects(subject, predicate):
        if isinstance(value, Literal):
            if value.language == lang:
                return str(value)
            if value.language is None and not untagged:
                untagged = str(value)
    return untagged


class _Deriver:
    """Reads one ontology graph; keeps the file name for error messages."""

    def __init__(self, g: Graph, source: Path | str) -> None:
        self.g = g
        self.source = source
        onto = next(iter(g.subjects(RDF.type, OWL.Ontology)), None)
        if onto is None:
            raise OntologyError(
                f"{source}: declares no owl:Ontology; add one with ig:resourceBase."
            )
        self.onto = onto
        ns = g.value(onto, VANN.preferredNamespaceUri)
        self.ns = str(ns) if ns is not None else str(IG)
        base = g.value(onto, IG.resourceBase)
        if base is None:
            raise OntologyError(
                f"{source}: the owl:Ontology has no ig:resourceBase; add the base IRI of node IRIs."
            )
        self.resource_base = str(base)
        dims = g.value(onto, IG.vectorDimensions)
        self.dims = int(dims.toPython()) if isinstance(dims, Literal) else 384
        self.classes = {
            c for c in g.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef) and self._own(c)
        }

    def _own(self, term: object) -> bool:
        return isinstance(term, URIRef) and str(term).startswith(self.ns)

    def _err(self, what: str) -> OntologyError:
        return OntologyError(f"{self.source}: {what}")

    def _labels(self, term: URIRef, subject_kind: str) -> tuple[tuple[str, ...], bool]:
        """Class labels named by a rdfs:domain/rdfs:range (``("*",)`` for any); ``given``
        says whether the statement was there at all."""
        objects = list(self.g.objects(term, subject_kind))
        if not objects:
            return (ANY,), False
        if len(objects) > 1:
            raise self._err(
                f"{local_name(term)} has {len(objects)} {self.g.qname(subject_kind)} statements; "
                "use one with owl:unionOf for several classes."
            )
        obj = objects[0]
        if obj == OWL.Thing:
            return (ANY,), True
        if isinstance(obj, BNode):
            members_node = self.g.value(obj, OWL.unionOf)
            if members_node is None:
                raise self._err(
                    f"{local_name(term)}: a blank-node {self.g.qname(subject_kind)} must be "
                    "an owl:unionOf list of classes."
                )
            members = list(Collection(self.g, members_node))
        else:
            members = [obj]
        labels: list[str] = []
        for m in members:
            if m == OWL.Thing:
                return (ANY,), True
            if m not in self.classes:
                raise self._err(
                    f"{local_name(term)}: {self.g.qname(subject_kind)} names {m}, which is not "
                    "an owl:Class of this ontology; declare the class or fix the name."
                )
            labels.append(local_name(m))
        return tuple(sorted(set(labels))), True

    def _property(self, p: URIRef) -> PropertyDef:
        rng = self.g.value(p, RDFS.range)
        if rng is None:
            datatype = "string"
        elif str(rng).startswith(str(XSD)) and local_name(rng) in _DATATYPES:
            datatype = local_name(rng)
        else:
            raise self._err(
                f"datatype property {local_name(p)} has rdfs:range {rng}; use one of "
                f"xsd:{', xsd:'.join(sorted(_DATATYPES))}."
            )
        return PropertyDef(
            name=local_name(p),
            iri=str(p),
            datatype=datatype,
            many=_flag(self.g, p, IG.multiValued),
            fulltext=_flag(self.g, p, IG.fulltext),
            indexed=_flag(self.g, p, IG.indexed) or _flag(self.g, p, IG.unique),
            label_nl=_text(self.g, p, RDFS.label, "nl"),
            label_en=_text(self.g, p, RDFS.label, "en"),
            unique=_flag(self.g, p, IG.unique),
            common=_flag(self.g, p, IG.common),
            definition=_text(self.g, p, SKOS.definition, "en"),
        )

    def derive(self) -> Schema:
        g = self.g
        datatype_props = sorted(
            (p for p in g.subjects(RDF.type, OWL.DatatypeProperty) if self._own(p)), key=str
        )
        object_props = sorted(
            (p for p in g.subjects(RDF.type, OWL.ObjectProperty) if self._own(p)), key=str
        )

        common: list[PropertyDef] = []
        edge_common: list[PropertyDef] = []
        by_class: dict[str, list[PropertyDef]] = {local_name(c): [] for c in self.classes}
        by_edge: dict[URIRef, list[PropertyDef]] = {p: [] for p in object_props}
        for p in datatype_props:
            prop = self._property(p)
            domain, has_domain = self._labels(p, RDFS.domain)
            edge_of = list(g.objects(p, IG.edgePropertyOf))
            if prop.common:
                common.append(prop)
            elif has_domain and domain != (ANY,):
                for label in domain:
                    by_class[label].append(prop)
            if _flag(g, p, IG.edgeCommon):
                edge_common.append(prop)
            for op in edge_of:
                if op not in by_edge:
                    raise self._err(
                        f"{prop.name}: ig:edgePropertyOf names {op}, which is not an "
                        "owl:ObjectProperty of this ontology."
                    )
                by_edge[op].append(prop)
            if not (prop.common or has_domain or edge_of or _flag(g, p, IG.edgeCommon)):
                raise self._err(
                    f"datatype property {prop.name} applies to nothing; give it rdfs:domain, "
                    "ig:common true or ig:edgePropertyOf."
                )

        # Superclasses inside the ontology pass their properties down.
        parents: dict[str, str | None] = {}
        for c in self.classes:
            sup = next((s for s in g.objects(c, RDFS.subClassOf) if s in self.classes), None)
            parents[local_name(c)] = local_name(sup) if sup is not None else None

        def inherited(label: str) -> list[PropertyDef]:
            seen: set[str] = set()
            out: list[PropertyDef] = []
            cur: str | None = label
            while cur is not None and cur not in seen:
                seen.add(cur)
                out.extend(by_class[cur])
                cur = parents[cur]
            return out

        node_classes = []
        for c in sorted(self.classes, key=local_name):
            label = local_name(c)
            own = {p.name: p for p in inherited(label)}
            node_classes.append(
                NodeClass(
                    label=label,
                    iri=str(c),
                    label_nl=_text(g, c, RDFS.label, "nl") or label,
                    label_en=_text(g, c, RDFS.label, "en") or label,
                    definition=_text(g, c, SKOS.definition, "en"),
                    properties=(*common, *sorted(own.values(), key=lambda p: p.name)),
                    vector=_flag(g, c, IG.vectorIndexed),
                    superclass=parents[label],
                )
            )

        rel_types = []
        seen_types: dict[str, str] = {}
        for op in object_props:
            type_ = rel_type_name(local_name(op))
            if type_ in seen_types:
                raise self._err(
                    f"object properties {seen_types[type_]} and {local_name(op)} both map to "
                    f"relationship type {type_}; rename one."
                )
            seen_types[type_] = local_name(op)
            domain, _ = self._labels(op, RDFS.domain)
            range_, _ = self._labels(op, RDFS.range)
            props = {p.name: p for p in (*edge_common, *by_edge[op])}
            rel_types.append(
                RelType(
                    type=type_,
                    iri=str(op),
                    label_nl=_text(g, op, RDFS.label, "nl") or local_name(op),
                    label_en=_text(g, op, RDFS.label, "en") or local_name(op),
                    definition=_text(g, op, SKOS.definition, "en"),
                    domain=domain,
                    range=range_,
                    properties=tuple(props.values()),
                    symmetric=(op, RDF.type, OWL.SymmetricProperty) in g,
                )
            )

        if not node_classes:
            raise self._err("declares no owl:Class in its namespace; nothing to build a graph of.")
        return Schema(
            base_iri=self.ns,
            resource_base=self.resource_base,
            node_classes=tuple(node_classes),
            rel_types=tuple(rel_types),
            vector_dimensions=self.dims,
            common_properties=tuple(common),
        )


def schema_from_graph(g: Graph, source: Path | str = "<graph>") -> Schema:
    """Derive a `Schema` from an already parsed ontology graph."""
    return _Deriver(g, source).derive()
