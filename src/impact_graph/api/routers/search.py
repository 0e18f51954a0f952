"""The "what works" search, working elements and the evidence map (the search service's answers).

The search service validates its own inputs and raises ``ValueError`` sentences that
name the parameter (an unknown challenge, a recognition level that is not on the
ladder); they become 422 problems here. Its pydantic models are returned as they are,
with a ``next`` link added for paging.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from impact_graph.api.deps import Services, services
from impact_graph.api.models import MAX_PAGE, next_url
from impact_graph.api.problems import ProblemError, problem_responses
from impact_graph.search.models import (
    EvidenceMapResponse,
    SearchFilters,
    SearchRequest,
    SearchResponse,
    WorkingElementsResponse,
)
from impact_graph.store.port import QueryTimeout

#: Longest a search request waits for the start-up warm-up (seconds); after that it goes
#: on and waits only where it needs the model (loaded once, under the embedder's lock).
WARM_WAIT_S = 120.0

router = APIRouter(tags=["search"])

#: Longest question accepted (characters); the service's own limit.
try:
    from impact_graph.search.query import MAX_QUERY_CHARS
except ImportError:  # pragma: no cover - older search module
    MAX_QUERY_CHARS = 500

_FILTER_LEN = 200
_FILTER_ITEMS = 20


class SearchPage(SearchResponse):
    """A search answer with the link to its next page."""

    next: str | None = Field(None, description="URL of the next page, or null on the last page.")


class WorkingElementsPage(WorkingElementsResponse):
    """Working elements with the link to the next page."""

    next: str | None = Field(None, description="URL of the next page, or null on the last page.")


def _filter(description: str, example: str) -> Any:
    return Query(
        description=description + " Repeat the parameter for several values.",
        max_length=_FILTER_ITEMS,
        examples=[[example]],
    )


def _check_values(name: str, values: list[str]) -> list[str]:
    out = []
    for v in values:
        v = v.strip()
        if not v:
            raise ProblemError(
                422, f"Query parameter '{name}' is empty; give a value or leave it out."
            )
        if len(v) > _FILTER_LEN:
            raise ProblemError(
                422,
                f"Query parameter '{name}' is {len(v)} characters long; values are at most "
                f"{_FILTER_LEN} characters (a label, slug or IRI).",
            )
        out.append(v)
    return out


def _timeout(e: QueryTimeout) -> ProblemError:
    """A search query over its time limit: the researcher's sentence does not fit here."""
    return ProblemError(
        503,
        "The search took longer than its time limit on this graph; retry, or narrow it "
        "with filters (challenge, target_group, type) or a more specific question.",
        slug="search-timeout",
        headers={"Retry-After": "5"},
    )


def _service_error(e: ValueError) -> ProblemError:
    """The service says "min_recognition: 'x' is not ..."; name it as a query parameter."""
    msg = str(e).strip() or "a parameter is invalid."
    name, sep, rest = msg.partition(":")
    if sep and name.isidentifier():
        msg = f"Query parameter '{name}':{rest}"
    else:
        msg = msg[0].upper() + msg[1:]
    return ProblemError(422, msg, slug="invalid-parameters")


@router.get(
    "/search",
    response_model=SearchPage,
    summary='"What works" search',
    description="Hybrid search over interventions, working elements and document chunks: "
    "vocabulary concept expansion, Dutch fulltext and vectors, fused and boosted by graph "
    "facts (evidence, matching target group and challenge). Filters accept concept "
    "labels, slugs or IRIs.",
    responses=problem_responses(401, 422, 503),
)
def search(
    request: Request,
    response: Response,
    q: str = Query(
        ...,
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        description=f"The question in Dutch or English (1-{MAX_QUERY_CHARS} characters).",
        examples=["wat helpt tegen eenzaamheid bij ouderen"],
    ),
    challenge: Annotated[
        list[str], _filter("Challenges (maatschappelijke opgaven).", "eenzaamheid")
    ] = [],  # noqa: B006
    target_group: Annotated[list[str], _filter("Target groups (doelgroepen).", "ouderen")] = [],  # noqa: B006
    area: Annotated[list[str], _filter("Areas (gemeente, wijk) by name or id.", "Wadstede")] = [],  # noqa: B006
    programme: Annotated[
        list[str], _filter("Programmes by name or id.", "Samen Minder Alleen")
    ] = [],  # noqa: B006
    evidence_type: Annotated[list[str], _filter("Evidence types (study designs).", "RCT")] = [],  # noqa: B006
    min_recognition: str | None = Query(
        None,
        min_length=1,
        max_length=_FILTER_LEN,
        description="Keep results recognised at least at this level of the ladder.",
        examples=["Goed onderbouwd"],
    ),
    type: Annotated[
        list[Literal["intervention", "working_element", "chunk"]],
        Query(
            max_length=3,
            description="Kinds of result to keep (default: all). Repeat for several.",
            examples=[["intervention"]],
        ),
    ] = [],  # noqa: B006
    limit: int = Query(10, ge=1, le=MAX_PAGE, description=f"Results per page (1-{MAX_PAGE})."),
    offset: int = Query(0, ge=0, le=10_000, description="Results to skip (0-10000)."),
    explain: bool = Query(False, description="Add each retrieval arm's rank and score."),
    svc: Services = Depends(services),  # noqa: B008
) -> Any:
    if not q.strip():
        raise ProblemError(422, "Query parameter 'q' is blank; type a question or some words.")
    if svc.warming is not None:  # a request at start-up waits for the warm-up, not fails
        svc.warming.wait(WARM_WAIT_S)
    filters = SearchFilters(
        challenge=_check_values("challenge", challenge),
        target_group=_check_values("target_group", target_group),
        area=_check_values("area", area),
        programme=_check_values("programme", programme),
        evidence_type=_check_values("evidence_type", evidence_type),
        min_recognition=min_recognition.strip() if min_recognition else None,
        type=list(dict.fromkeys(type)),
    )
    req = SearchRequest(q=q.strip(), filters=filters, limit=limit, offset=offset, explain=explain)
    service = svc.search()
    timings: dict[str, float] = {}
    try:
        resp = service.search(req, timings=timings)
    except ValueError as e:
        raise _service_error(e) from None
    except QueryTimeout as e:
        raise _timeout(e) from None
    t0 = time.perf_counter()
    page = SearchPage(
        **resp.model_dump(), next=next_url(request, resp.total, resp.limit, resp.offset)
    )
    timings["page"] = (time.perf_counter() - t0) * 1000.0
    response.headers["Server-Timing"] = server_timing(timings)
    return page


def server_timing(timings: dict[str, float]) -> str:
    """Stage milliseconds as a ``Server-Timing`` header (W3C): browsers' developer tools
    and the speed benchmark show where a search spent its time without a profiler."""
    return ", ".join(f"{name};dur={ms:.2f}" for name, ms in timings.items())


@router.get(
    "/working-elements",
    response_model=WorkingElementsPage,
    summary="Working elements across programmes",
    description="Working elements (werkzame elementen), optionally for one challenge and/or "
    "target group, with the interventions and programmes they appear in and their evidence.",
    responses=problem_responses(401, 422, 503),
)
def working_elements(
    request: Request,
    challenge: str | None = Query(
        None,
        min_length=1,
        max_length=_FILTER_LEN,
        description="A challenge by label, slug or IRI.",
        examples=["eenzaamheid"],
    ),
    target_group: str | None = Query(
        None,
        min_length=1,
        max_length=_FILTER_LEN,
        description="A target group by label, slug or IRI.",
        examples=["ouderen"],
    ),
    limit: int = Query(20, ge=1, le=MAX_PAGE, description=f"Items per page (1-{MAX_PAGE})."),
    offset: int = Query(0, ge=0, le=10_000, description="Items to skip (0-10000)."),
    svc: Services = Depends(services),  # noqa: B008
) -> Any:
    service = svc.search()
    try:
        resp = service.working_elements(
            challenge=challenge.strip() or None if challenge else None,
            target_group=target_group.strip() or None if target_group else None,
            limit=limit,
            offset=offset,
        )
    except ValueError as e:
        raise _service_error(e) from None
    except QueryTimeout as e:
        raise _timeout(e) from None
    return WorkingElementsPage(
        **resp.model_dump(), next=next_url(request, resp.total, resp.limit, resp.offset)
    )


class EvidenceMapPage(EvidenceMapResponse):
    """One page of map rows (all columns), with the paging fields."""

    total: int = Field(0, description="Rows in the whole map.")
    limit: int = Field(50, description="Rows per page.")
    offset: int = Field(0, description="Rows skipped.")
    next: str | None = Field(None, description="URL of the next page, or null on the last page.")


@router.get(
    "/evidence-map",
    response_model=EvidenceMapPage,
    summary="Evidence-and-gap map",
    description="Rows (interventions or working elements) × columns (outcomes or target "
    "groups) with the number of evidence items per cell; empty cells are the gaps.",
    responses=problem_responses(401, 422, 503),
)
def evidence_map(
    request: Request,
    rows: Literal["intervention", "working_element"] = Query(
        "intervention", description="What the rows are: intervention or working_element."
    ),
    cols: Literal["outcome", "target_group"] = Query(
        "outcome", description="What the columns are: outcome or target_group."
    ),
    limit: int = Query(50, ge=1, le=MAX_PAGE, description=f"Rows per page (1-{MAX_PAGE})."),
    offset: int = Query(0, ge=0, le=100_000, description="Rows to skip."),
    svc: Services = Depends(services),  # noqa: B008
) -> Any:
    service = svc.search()
    try:
        full = service.evidence_map(rows, cols)
    except ValueError as e:
        raise _service_error(e) from None
    except QueryTimeout as e:
        raise _timeout(e) from None
    kept = full.rows[offset : offset + limit]
    ids = {r.id for r in kept}
    return EvidenceMapPage(
        rows=kept,
        cols=full.cols,
        row_kind=full.row_kind,
        col_kind=full.col_kind,
        cells=[c for c in full.cells if c.row in ids],
        total=len(full.rows),
        limit=limit,
        offset=offset,
        next=next_url(request, len(full.rows), limit, offset),
    )
