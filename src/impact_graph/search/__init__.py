""" "What works" search: hybrid retrieval (concepts, fulltext, vectors), facets,
explanations, working elements across programmes and the evidence-and-gap map."""

from impact_graph.search.models import (
    EvidenceMapResponse,
    SearchFilters,
    SearchRequest,
    SearchResponse,
    SearchResult,
    WorkingElementsResponse,
)
from impact_graph.search.service import SearchService

__all__ = [
    "EvidenceMapResponse",
    "SearchFilters",
    "SearchRequest",
    "SearchResponse",
    "SearchResult",
    "SearchService",
    "WorkingElementsResponse",
]
