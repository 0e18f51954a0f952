"""Response models of the API's own routes (search returns the search service's models).

Every list is a `Page` (``items``, ``total``, ``limit``, ``offset``, ``next``), so clients
page through neighbours, provenance and documents the same way.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel, ConfigDict, Field

from impact_graph.search.models import InstanceOut, InterventionRef

T = TypeVar("T")

#: Largest page any list route returns.
MAX_PAGE = 100


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T] = Field(description="The items of this page.")
    total: int = Field(description="Items in the whole list.", examples=[42])
    limit: int = Field(description="Page size asked for.", examples=[20])
    offset: int = Field(description="Items skipped before this page.", examples=[0])
    next: str | None = Field(
        None,
        description="URL of the next page, or null on the last page.",
        examples=["/documents?limit=20&offset=20"],
    )


def limit_param(default: int = 20) -> Any:
    return Query(
        default,
        ge=1,
        le=MAX_PAGE,
        description=f"Items per page (1-{MAX_PAGE}).",
        examples=[default],
    )


def offset_param() -> Any:
    return Query(0, ge=0, le=1_000_000, description="Items to skip (0-1000000).", examples=[0])


def next_url(request: Request, total: int, limit: int, offset: int) -> str | None:
    """The same request with ``offset`` moved one page on, or None at the end."""
    if offset + limit >= total:
        return None
    url = request.url.include_query_params(limit=limit, offset=offset + limit)
    return f"{url.path}?{url.query}"


def page(items: list[T], request: Request, total: int, limit: int, offset: int) -> Page[T]:
    return Page[T](
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next=next_url(request, total, limit, offset),
    )


# --- entities ------------------------------------------------------------------------


class NodeRef(BaseModel):
    """A node in a few words: enough to show a link to its page."""

    id: str = Field(description="Node id.", examples=["intervention:welzijn-op-recept"])
    label: str = Field(description="Node type (ontology class).", examples=["Intervention"])
    name: str = Field("", description="Display name.", examples=["Welzijn op Recept"])


class Neighbour(NodeRef):
    """A node one relationship away."""

    relationship: str = Field(description="Relationship type.", examples=["HAS_EFFECT"])
    direction: str = Field(
        description="'out' when the relationship starts at the entity, else 'in'.",
        examples=["out"],
    )
    documents: int = Field(0, description="Documents that state this relationship.")


class DocumentRef(BaseModel):
    """A document a fact came from."""

    id: str = Field(description="Document id.", examples=["document:research-welzijn-op-recept-md"])
    title: str = Field("", description="Title.", examples=["Welzijn op Recept"])
    kind: str = Field("", description="story, policy, research or plan.", examples=["research"])
    year: int | None = Field(None, description="Year, if known.", examples=[2024])
    url: str | None = Field(None, description="Source URL, if known.")


class SpanQuote(BaseModel):
    """A provenance span resolved to the sentence it points at."""

    document_id: str = Field(description="Document id.")
    document_title: str = Field("", description="Document title.")
    start: int = Field(description="Character offset of the span in the document.")
    end: int = Field(description="Character offset just after the span.")
    text: str = Field(
        "", description="The quoted text ('' when the document's chunks no longer hold it)."
    )
    chunk_id: str | None = Field(None, description="Chunk holding the span.")


class EntityOut(BaseModel):
    """An entity page: properties, neighbours and where it came from."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "intervention:welzijn-op-recept",
                    "label": "Intervention",
                    "name": "Welzijn op Recept",
                    "properties": {"rating_level": "Goed beschreven"},
                    "documents": [],
                    "neighbours": {"items": [], "total": 0, "limit": 50, "offset": 0},
                    "provenance": {"items": [], "total": 0, "limit": 20, "offset": 0},
                }
            ]
        }
    )

    id: str = Field(description="Node id.")
    label: str = Field(description="Node type (ontology class).")
    name: str = Field("", description="Display name.")
    properties: dict[str, Any] = Field(
        default_factory=dict, description="All stored properties except provenance and vectors."
    )
    documents: list[DocumentRef] = Field(
        default_factory=list, description="The documents it came from."
    )
    neighbours: Page[Neighbour] = Field(
        description="First page of neighbours (chunks left out); more at /entities/{id}/neighbours."
    )
    provenance: Page[SpanQuote] = Field(
        description="First page of quoted sentence spans; more at /entities/{id}/provenance."
    )


class EvidenceItem(NodeRef):
    """Evidence behind an effect or working element."""

    evidence_type: str = Field("", description="Study design, e.g. RCT.")
    citation: str = Field("", description="Citation, if given.")
    year: int | None = None
    url: str | None = None
    supports: list[str] = Field(
        default_factory=list, description="Ids of the effects/working elements it supports."
    )


class EffectItem(NodeRef):
    """One outcome claim of the intervention, with its rating and evidence."""

    outcome: str = Field("", description="Outcome concept or text.")
    direction: str = Field("", description="+ (improves), 0 (no effect) or − (worsens).")
    magnitude: str = Field("", description="Magnitude as reported.")
    effect_size: float | None = Field(None, description="Effect size, if given.")
    rating_scheme: str = Field("", description="Recognition scheme of the rating.")
    rating_level: str = Field("", description="Recognition level of this effect.")
    rating_rank: int | None = Field(None, description="Rank of that level (higher is stronger).")
    evidence: list[str] = Field(default_factory=list, description="Ids of supporting evidence.")


class Recognition(BaseModel):
    """A recognition of the intervention or one of its effects."""

    scheme: str = Field("", description="Recognition scheme, e.g. Erkenningstraject.")
    level: str = Field(description="Exact level string, e.g. 'Goed onderbouwd'.")
    rank: int | None = Field(None, description="Rank of the level (higher is stronger).")
    of: str = Field(description="'intervention', an effect id, or 'vocabulary'.")


class InterventionOut(EntityOut):
    """An intervention page: effects, evidence, recognitions, programmes and actors."""

    effects: list[EffectItem] = Field(default_factory=list)
    evidence: list[EvidenceItem] = Field(default_factory=list)
    recognitions: list[Recognition] = Field(default_factory=list)
    working_elements: list[NodeRef] = Field(default_factory=list)
    programmes: list[NodeRef] = Field(default_factory=list, description="Programmes using it.")
    actors: list[NodeRef] = Field(default_factory=list, description="Actors delivering it.")
    challenges: list[NodeRef] = Field(default_factory=list)
    target_groups: list[NodeRef] = Field(default_factory=list)
    instance_of: list[InterventionRef] = Field(
        default_factory=list,
        description='For a local instance ("Buurtkamer Wadstede"): the general '
        "intervention(s) it is an instance of (INSTANCE_OF). Empty for a general one.",
    )
    instances: list[InstanceOut] = Field(
        default_factory=list,
        description="For a general intervention: its local instances with their own "
        "recognition and the programmes using them. Recognition and evidence are never "
        "copied between the two.",
    )


# --- documents -----------------------------------------------------------------------


class DocumentOut(DocumentRef):
    """A stored document."""

    format: str = Field("", description="md, txt, pdf, docx, html, csv, json, jsonl, ris or bib.")
    language: str = Field("", description="Detected language (nl or en).")
    created_at: str | None = Field(None, description="When it was written (UTC).")
    uploaded_filename: str | None = Field(
        None, description="The client's file name, for documents uploaded through the API."
    )


class Failure(BaseModel):
    file: str = Field(description="The file that failed (the uploaded file's name).")
    row: int | None = Field(
        None, description="The record that failed in a CSV, JSON(L), RIS or BibTeX file."
    )
    line: int | None = Field(None, description="The line of the file the reason applies to.")
    reason: str = Field(description="What was wrong.")
    hint: str = Field("", description="What to do.")


class DocumentStatus(BaseModel):
    doc_id: str
    status: str = Field(description="new, changed, unchanged or failed.")
    kind: str = ""
    chunks: int = 0


class UploadReport(BaseModel):
    """What ingesting the uploaded file did."""

    filename: str = Field(description="The client's file name (metadata only).")
    stored_as: str = Field(description="The generated name under <data_dir>/uploads/.")
    bytes: int = Field(description="Size of the upload.")
    documents: list[DocumentStatus] = Field(description="One entry per document in the file.")
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    chunks: int = 0
    entities: dict[str, int] = Field(default_factory=dict, description="Entities by type.")
    edges: dict[str, int] = Field(default_factory=dict, description="Relationships by type.")
    failures: list[Failure] = Field(default_factory=list)
    seconds: float = 0.0
    file_kept: bool | None = Field(
        None,
        description="Whether the uploaded file stays in <data_dir>/uploads/: false for a "
        "story (its file and file name are removed once read), true for other kinds (until "
        "their document is deleted with DELETE /documents/{id}).",
    )
    kept: str | None = Field(None, description="The same, as a sentence.")


class Deleted(BaseModel):
    id: str = Field(description="The deleted document's id.")
    deleted: bool = True


# --- health --------------------------------------------------------------------------


class IndexOut(BaseModel):
    name: str
    label: str
    kind: str = Field(description="vector, fulltext or range.")
    properties: list[str]
    state: str = Field(description="online, populating, failed or the backend's word.")


class Health(BaseModel):
    """The API and its store."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "backend": "falkordb",
                    "store": "running",
                    "detail": "The store answers and all indexes are online.",
                    "documents": 50,
                    "nodes": 1200,
                    "relationships": 5400,
                    "indexes": [],
                }
            ]
        }
    )

    status: str = Field(description="'ok', or 'degraded' while indexes are being built.")
    backend: str = Field(description="falkordb or neo4j.")
    store: str = Field(
        description="running, loading, indexing, stopped, unresponsive or unavailable."
    )
    detail: str = Field(description="A sentence about the state.")
    documents: int | None = None
    nodes: int | None = None
    relationships: int | None = None
    indexes: list[IndexOut] = Field(default_factory=list)
    search: str | None = Field(
        default=None,
        description="'warming up' while the search loads its embedding model after a "
        "start (a search meanwhile waits, it does not fail), then 'ready'; absent when the "
        "app was made without a warm-up.",
    )
