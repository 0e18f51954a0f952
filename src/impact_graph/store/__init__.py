"""Graph stores behind one port; ``open_store`` picks the backend from the settings."""

from __future__ import annotations

from impact_graph.config import Settings, get_settings
from impact_graph.store.port import GraphStore


def open_store(settings: Settings | None = None) -> GraphStore:
    """Connect to the configured backend (starting the embedded FalkorDB if needed).

    Backends are imported lazily so that a user of one never needs the other's driver
    to be importable.
    """
    settings = settings or get_settings()
    from impact_graph.store.writethrough import with_rdf_view

    if settings.backend == "neo4j":
        from impact_graph.store.neo4j_store import Neo4jStore

        return with_rdf_view(Neo4jStore(settings), settings)
    from impact_graph.store.falkordb_store import FalkorDBStore

    return with_rdf_view(FalkorDBStore(settings), settings)


__all__ = ["GraphStore", "open_store"]
