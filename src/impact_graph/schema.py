"""The property-graph schema, derived from ``ontology/impact.ttl`` at start-up.

Nothing here is written by hand: node labels, relationship types with their allowed
end points, which properties are unique, fulltext-indexed or vector-indexed all come
from the ontology (see ``impact_graph.ontology.load_schema``). Backends turn a
``Schema`` into their own DDL; the NLP and the RDF view read it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PropertyDef:
    """A datatype property of a node class (or of a relationship)."""

    name: str  # property key in the property graph, e.g. "name"
    iri: str
    datatype: str  # xsd local name: "string", "integer", "decimal", "boolean", "dateTime"
    many: bool = False  # list-valued
    fulltext: bool = False  # part of the label's fulltext index
    indexed: bool = False  # range index for lookups/filters
    label_nl: str = ""
    label_en: str = ""
    unique: bool = False  # unique per label (node ids)
    common: bool = False  # carried by every node (id, name, provenance, timestamps)
    definition: str = ""


@dataclass(frozen=True, slots=True)
class NodeClass:
    """An ontology class that becomes a property-graph label."""

    label: str  # e.g. "Intervention"
    iri: str
    label_nl: str
    label_en: str
    definition: str
    properties: tuple[PropertyDef, ...] = ()
    vector: bool = False  # nodes of this class carry an embedding
    superclass: str | None = None  # label of the parent class, if any

    @property
    def fulltext_properties(self) -> list[str]:
        return [p.name for p in self.properties if p.fulltext]


@dataclass(frozen=True, slots=True)
class RelType:
    """An object property that becomes a relationship type."""

    type: str  # e.g. "ADDRESSES"
    iri: str
    label_nl: str
    label_en: str
    definition: str
    domain: tuple[str, ...]  # allowed source labels
    range: tuple[str, ...]  # allowed target labels ("*" = any)
    properties: tuple[PropertyDef, ...] = ()
    symmetric: bool = False


@dataclass(frozen=True, slots=True)
class Schema:
    """Everything the stores, the NLP and the RDF view need to know about the model."""

    base_iri: str  # ontology namespace, e.g. "https://w3id.org/impact-graph/ontology#"
    resource_base: str  # base of node IRIs, e.g. "https://w3id.org/impact-graph/id/"
    node_classes: tuple[NodeClass, ...]
    rel_types: tuple[RelType, ...]
    vector_dimensions: int = 384
    common_properties: tuple[PropertyDef, ...] = field(default=())

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.node_classes]

    @property
    def relationship_types(self) -> list[str]:
        return [r.type for r in self.rel_types]

    def node_class(self, label: str) -> NodeClass:
        for c in self.node_classes:
            if c.label == label:
                return c
        raise KeyError(f"'{label}' is not a class in the ontology; known: {', '.join(self.labels)}")

    def rel_type(self, type_: str) -> RelType:
        for r in self.rel_types:
            if r.type == type_:
                return r
        raise KeyError(
            f"'{type_}' is not a relationship in the ontology; known: "
            f"{', '.join(self.relationship_types)}"
        )

    @property
    def vector_labels(self) -> list[str]:
        return [c.label for c in self.node_classes if c.vector]

    @property
    def fulltext_labels(self) -> dict[str, list[str]]:
        return {c.label: c.fulltext_properties for c in self.node_classes if c.fulltext_properties}
