"""Researcher queries: the Cypher guard, stored (canned) queries and their runner."""

from __future__ import annotations

from impact_graph.queries.catalog import (
    Catalog,
    CatalogError,
    ParamError,
    ParamSpec,
    StoredQuery,
    load_catalog,
    load_file,
)
from impact_graph.queries.guard import check_cypher
from impact_graph.queries.run import Table, bind_sparql, run_cypher, run_sparql, run_stored

__all__ = [
    "Catalog",
    "CatalogError",
    "ParamError",
    "ParamSpec",
    "StoredQuery",
    "Table",
    "bind_sparql",
    "check_cypher",
    "load_catalog",
    "load_file",
    "run_cypher",
    "run_sparql",
    "run_stored",
]
