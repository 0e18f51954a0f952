"""`Extraction`: what the NLP stage hands to the mapping stage.

The NLP stage (``ingest.nlp``) reads a pseudonymised `Document` and finds entities (with
every mention's character span) and relations between them (with the sentence spans that
state them). It decides nothing about storage: ``ingest.mapping`` turns an `Extraction`
into a `GraphBatch` (node ids, chunks, MENTIONS edges, provenance lists).

Entities are keyed by ``(label, key)``; ``key`` is the resolved natural key (after entity
resolution, ``ingest.resolve``), so two mentions of "Gemeente Utrecht" and "Utrecht
(gemeente)" share one key and so one node id (``model.make_id(label, key)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from impact_graph.ingest.document import Document
from impact_graph.model import PropValue

Span = tuple[int, int]
EntityRef = tuple[str, str]  # (label, key)

#: How an entity was recognised: from a vocabulary concept, as a new name (candidate),
#: or from structured metadata (front matter, record fields).
Status = Literal["vocabulary", "candidate", "metadata"]


@dataclass(slots=True)
class Merge:
    """Why a surface form was resolved to an entity: which rule, which score."""

    surface: str
    rule: str  # "exact", "normalised", "altLabel", "fuzzy", ...
    score: float = 1.0


@dataclass(slots=True)
class Entity:
    """One entity the document speaks of."""

    label: str  # ontology class label, e.g. "Intervention"
    key: str  # resolved natural key; node id = make_id(label, key)
    name: str  # display name (Dutch prefLabel for vocabulary concepts)
    status: Status
    rule: str  # matcher or pattern that found it first
    concept: str | None = None  # SKOS concept IRI
    mentions: list[Span] = field(default_factory=list)  # char spans in Document.text
    props: dict[str, PropValue] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)

    @property
    def ref(self) -> EntityRef:
        return (self.label, self.key)


@dataclass(slots=True)
class Relation:
    """A fact between two entities, e.g. (Intervention, ADDRESSES, Challenge)."""

    src: EntityRef
    type: str  # relationship type from the ontology, e.g. "ADDRESSES"
    dst: EntityRef
    rule: str  # which rule stated it ("effect-verb", "section:Partners", "co-occurrence", ...)
    spans: list[Span] = field(default_factory=list)  # sentence spans that state it
    props: dict[str, PropValue] = field(default_factory=dict)


@dataclass(slots=True)
class Extraction:
    """Entities and relations of one document, plus its sentence boundaries."""

    document: Document
    sentences: list[Span] = field(default_factory=list)
    entities: dict[EntityRef, Entity] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)

    def add_entity(self, entity: Entity) -> Entity:
        """Add or merge (mentions, props, merges) an entity by its ref; returns the stored one."""
        have = self.entities.get(entity.ref)
        if have is None:
            self.entities[entity.ref] = entity
            return entity
        have.mentions.extend(m for m in entity.mentions if m not in have.mentions)
        for k, v in entity.props.items():
            have.props.setdefault(k, v)
        have.merges.extend(entity.merges)
        if have.status == "candidate" and entity.status != "candidate":
            have.status, have.concept, have.name = entity.status, entity.concept, entity.name
        return have

    def add_relation(self, rel: Relation) -> None:
        """Add a relation, merging spans with an existing identical (src, type, dst)."""
        for have in self.relations:
            if (have.src, have.type, have.dst) == (rel.src, rel.type, rel.dst):
                have.spans.extend(s for s in rel.spans if s not in have.spans)
                for k, v in rel.props.items():
                    have.props.setdefault(k, v)
                return
        self.relations.append(rel)

    def sentence_of(self, offset: int) -> Span:
        """The sentence span containing ``offset`` (the whole text if none)."""
        for s, e in self.sentences:
            if s <= offset < e:
                return (s, e)
        return (0, len(self.document.text))
