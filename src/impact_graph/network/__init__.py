"""Network pictures: stakeholder, focus (ego) and what-works graphs from the store.

``build`` reads the graph store into networkx graphs, ``metrics`` sizes and groups the
nodes (centrality, Louvain communities), ``render`` turns the result into vis-network
JSON and self-contained, offline HTML. The API routes and the web UI call only
:func:`network_view`, so both show the same picture for the same parameters.
"""

from impact_graph.network.build import (
    NetworkFilters,
    NetworkView,
    ego_view,
    network_view,
    read_stakeholders,
    stakeholder_graph,
    whatworks_graph,
)
from impact_graph.network.metrics import NetworkMetrics, compute_metrics
from impact_graph.network.render import network_json, render_html

__all__ = [
    "NetworkFilters",
    "NetworkMetrics",
    "NetworkView",
    "compute_metrics",
    "ego_view",
    "network_json",
    "network_view",
    "read_stakeholders",
    "render_html",
    "stakeholder_graph",
    "whatworks_graph",
]
