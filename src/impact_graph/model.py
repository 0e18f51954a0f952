"""The in-memory shapes that flow between pipeline stages.

`GraphBatch` is the one hand-off between extraction and storage: readers and extractors
build it, stores write it, nobody else. It always belongs to exactly one document, so a
batch is also the unit of atomicity ("a document is written whole or not at all") and of
replacement ("a changed file replaces its own facts and nothing else").

Provenance is carried on every node and edge as two flat string lists, because neither
backend may hold map properties:

* ``sources`` — the ids of the documents the fact came from;
* ``spans``   — ``"<doc_id>#<start>-<end>"`` character spans of the sentences in those
  documents.

Stores merge these lists on upsert and prune them on document delete; a fact whose
``sources`` becomes empty is removed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Property values a node or edge may hold: scalars and homogeneous lists of scalars.
Scalar = str | int | float | bool
PropValue = Scalar | list[str] | list[int] | list[float] | None

#: The label every stored node carries besides its class label, so that lookups by id
#: need no label and can use one index on both backends.
BASE_LABEL = "Node"

#: Names of the provenance properties (kept on nodes and edges alike).
SOURCES = "sources"
SPANS = "spans"
#: On a Document node: the ids of the nodes its document wrote, so a backend's delete
#: path seeks them by ``Node.id`` instead of scanning for ``sources``. Internal: the
#: stores show it to no reader.
DOC_NODES = "_node_ids"

_slug_re = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lower-case ASCII slug, stable across accents, case, hyphens and spacing."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _slug_re.sub("-", norm.lower()).strip("-")


def make_id(label: str, key: str) -> str:
    """Stable node id from a class label and a natural key ("Actor", "gemeente utrecht").

    Readable for short keys; a key whose slug is long (or empty) gets a short hash of the
    whole key appended, so two long keys that share their first 80 characters never collide.
    """
    slug = slugify(key)
    if not slug or len(slug) > 80:
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        slug = f"{slug[:80]}-{digest}" if slug else digest
    return f"{label.lower()}:{slug}"


def span_ref(doc_id: str, start: int, end: int) -> str:
    """Encode a provenance span as a flat string (no map properties allowed)."""
    return f"{doc_id}#{start}-{end}"


def parse_span_ref(ref: str) -> tuple[str, int, int]:
    """Inverse of :func:`span_ref`."""
    doc_id, _, rng = ref.rpartition("#")
    start, _, end = rng.partition("-")
    return doc_id, int(start), int(end)


def utc_now_iso() -> str:
    """Datetimes are stored as UTC ISO-8601 strings on both backends."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class Node:
    """One graph node. ``label`` is a class label derived from the ontology."""

    id: str
    label: str
    props: dict[str, PropValue] = field(default_factory=dict)
    vector: Sequence[float] | None = None
    spans: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Edge:
    """One relationship between two node ids.

    ``key`` distinguishes parallel edges of the same type between the same nodes (for
    example two ``MENTIONS`` of one entity in one chunk at different offsets); the
    identity of an edge is ``(src, type, dst, key)``.
    """

    src: str
    type: str
    dst: str
    props: dict[str, PropValue] = field(default_factory=dict)
    key: str = ""
    spans: list[str] = field(default_factory=list)


@dataclass(slots=True)
class GraphBatch:
    """All facts of one document, ready to be written in one go.

    ``document`` is the ``Document`` node itself; its ``content_hash`` property is what
    makes re-ingest idempotent. ``nodes`` may refer to entities that other documents
    share (same id): stores merge them and add this document to their provenance.
    """

    document: Node
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    @property
    def doc_id(self) -> str:
        return self.document.id

    @property
    def content_hash(self) -> str:
        return str(self.document.props.get("content_hash", ""))

    def all_nodes(self) -> list[Node]:
        return [self.document, *self.nodes]

    def validate(self) -> None:
        """Refuse batches whose edges point at nodes the batch does not carry.

        Every entity a document speaks of is in its batch (with this document as a
        source), so an edge never needs a node from elsewhere; checking this here keeps
        both backends from silently dropping an edge whose MATCH finds nothing.
        """
        ids = {n.id for n in self.all_nodes()}
        if len(ids) != len(self.nodes) + 1:
            raise ValueError(f"batch for {self.doc_id} holds the same node id twice")
        for e in self.edges:
            if e.src not in ids or e.dst not in ids:
                raise ValueError(
                    f"edge {e.src} -[{e.type}]-> {e.dst} in batch {self.doc_id} refers to a "
                    "node that is not in the batch"
                )


@dataclass(slots=True)
class SearchHit:
    """A node found by vector or fulltext search; ``score`` is a similarity in [0, 1]."""

    id: str
    label: str
    score: float
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class QueryResult:
    """Rows of a read-only query, with whether the row cap cut them short."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False
    row_cap: int | None = None
    elapsed_ms: float = 0.0


@dataclass(slots=True)
class Subgraph:
    """A neighbourhood: nodes as property dicts (with ``id`` and ``label``) and edges."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)


def dedupe(items: Iterable[str]) -> list[str]:
    """Order-preserving de-duplication for provenance lists."""
    return list(dict.fromkeys(items))
