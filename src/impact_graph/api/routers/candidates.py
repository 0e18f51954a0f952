"""``GET /candidates``: names no vocabulary knows, most-mentioned first, for review.

The same listing as ``impact-graph candidates`` (``impact_graph.candidates``): counts
are computed when read (documents = size of ``sources``, mentions = incoming
``MENTIONS`` edges), not taken from the per-document ``mention_count`` a shared node
keeps from its last write.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from impact_graph.api.deps import Services, services, store_dep
from impact_graph.api.problems import ProblemError, problem_responses
from impact_graph.candidates import (
    MAX_LIMIT,
    ORDERS,
    candidates_csv,
    list_candidates,
    stored_documents,
)
from impact_graph.store.port import GraphStore

router = APIRouter(tags=["entities"])


class CandidateOut(BaseModel):
    """One candidate entity."""

    id: str = Field(description="Node id.", examples=["intervention:buurtkamer-plus"])
    label: str = Field(description="Ontology class.", examples=["Intervention"])
    label_nl: str = Field(description="The class's Dutch name.", examples=["Interventie"])
    name: str = Field(description="Name as found.", examples=["Buurtkamer Plus"])
    aliases: list[str] = Field(default_factory=list, description="Other names found.")
    documents: int = Field(description="Documents that mention it.", examples=[2])
    mentions: int = Field(description="MENTIONS edges pointing at it, over all documents.")
    sample_document: str = Field("", description="Id of one document that mentions it.")
    sample_title: str = Field("", description="That document's title.")


class CandidateList(BaseModel):
    """Candidates sorted by documents, then mentions (descending), then name."""

    items: list[CandidateOut]
    total: int = Field(description="Candidates that pass the filters, before `limit`.")
    limit: int
    note: str = Field("", description="Why the list is empty, when it is.")


@router.get(
    "/candidates",
    response_model=CandidateList,
    summary="Candidate entities (not in any vocabulary) for review",
    description=(
        "Entities with status `candidate`, most documents first. `label` takes a class "
        "name or its Dutch/English label (e.g. `Intervention`, `Interventie`). "
        "`format=csv` answers the same rows as CSV (the web page's download)."
    ),
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}}},
        **problem_responses(401, 422, 503),
    },
)
def get_candidates(
    label: str | None = Query(
        None, max_length=60, description="Only this class, e.g. Intervention or Interventie."
    ),
    min_documents: int = Query(
        1, ge=0, le=1_000_000, description="Only names found in at least this many documents."
    ),
    min_mentions: int = Query(
        0, ge=0, le=1_000_000_000, description="Only names mentioned at least this often."
    ),
    order: str = Query(
        "documents",
        pattern=f"^({'|'.join(ORDERS)})$",
        description="documents (default), mentions or name: the first sort key.",
    ),
    limit: int = Query(50, ge=1, le=MAX_LIMIT, description=f"Rows (1-{MAX_LIMIT})."),
    format: str = Query("json", pattern="^(json|csv)$", description="json (default) or csv."),
    store: GraphStore = Depends(store_dep),  # noqa: B008
    svc: Services = Depends(services),  # noqa: B008
) -> Any:
    try:
        rows, total = list_candidates(
            store,
            svc.schema,
            label=label,
            min_documents=min_documents,
            min_mentions=min_mentions,
            order=order,
            limit=limit,
        )
    except ValueError as e:
        raise ProblemError(422, str(e).replace("--label", "label", 1)) from None
    if format == "csv":
        return Response(
            candidates_csv(rows).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="kandidaten.csv"'},
        )
    note = ""
    if not rows:
        docs = stored_documents(store)
        note = (
            "The store holds no documents yet: upload some with POST /documents."
            if not docs
            else f"No candidate entities match these filters among the {docs} stored documents."
        )
    return CandidateList(
        items=[CandidateOut(**c.as_dict()) for c in rows], total=total, limit=limit, note=note
    )
