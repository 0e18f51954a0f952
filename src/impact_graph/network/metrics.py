"""Centrality and communities of a network picture (networkx).

Computed on the undirected, simple version of the graph with parallel links merged and
their weights summed: "who is central" and "who clusters with whom" are questions about
ties, not about the direction a sentence happened to state them in.

Betweenness is exact up to :data:`EXACT_BETWEENNESS_MAX` nodes and estimated from a fixed
sample of pivot nodes above that (seeded, so the same graph gives the same sizes), which
keeps a 2,000-node picture within a second; the metrics say when it was estimated.
Louvain (networkx, seeded) is the other large cost (~0.2-0.4 s at 2,000 nodes here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

#: Largest graph whose betweenness is computed exactly.
EXACT_BETWEENNESS_MAX = 400
#: Pivots of the estimate above that size.
BETWEENNESS_PIVOTS = 32
#: Largest graph whose modularity is reported (it costs a tenth of a second per 2,000).
MODULARITY_MAX = 1000
SEED = 42


@dataclass(slots=True)
class NetworkMetrics:
    """Per-node measures (normalised to [0, 1]) and the community of each node."""

    degree: dict[str, float] = field(default_factory=dict)
    betweenness: dict[str, float] = field(default_factory=dict)
    community: dict[str, int] = field(default_factory=dict)
    communities: int = 0
    modularity: float | None = None
    betweenness_pivots: int | None = None  # None = exact

    def summary(self) -> dict[str, object]:
        """What the JSON answer says about the metrics as a whole."""
        return {
            "nodes": len(self.degree),
            "communities": self.communities,
            "modularity": None if self.modularity is None else round(self.modularity, 4),
            "betweenness": "exact"
            if self.betweenness_pivots is None
            else f"estimated from {self.betweenness_pivots} pivots",
        }


def simple_graph(g: nx.MultiDiGraph) -> nx.Graph:
    """Undirected simple graph; parallel links become one link with summed weight."""
    s = nx.Graph()
    s.add_nodes_from(g.nodes)
    for u, v, w in g.edges(data="weight", default=1):
        if u == v:
            continue
        if s.has_edge(u, v):
            s[u][v]["weight"] += w
        else:
            s.add_edge(u, v, weight=w)
    return s


def compute_metrics(g: nx.MultiDiGraph, *, betweenness: bool = True) -> NetworkMetrics:
    """Degree and betweenness centrality and Louvain communities of ``g``."""
    s = simple_graph(g)
    m = NetworkMetrics()
    if s.number_of_nodes() == 0:
        return m
    m.degree = {str(k): v for k, v in nx.degree_centrality(s).items()}
    if betweenness:
        n = s.number_of_nodes()
        k = None if n <= EXACT_BETWEENNESS_MAX else BETWEENNESS_PIVOTS
        # Unweighted paths: a heavy tie is a *stronger* tie, not a longer one.
        bc = nx.betweenness_centrality(s, k=k, seed=SEED if k else None, normalized=True)
        top = max(bc.values(), default=0.0) or 1.0
        m.betweenness = {str(n_): v / top for n_, v in bc.items()}
        m.betweenness_pivots = k
    comms = nx.community.louvain_communities(s, weight="weight", seed=SEED)
    # Largest community first, so colour 0 is always the biggest group.
    comms = sorted(comms, key=lambda c: (-len(c), min(map(str, c))))
    for i, c in enumerate(comms):
        for n_ in c:
            m.community[str(n_)] = i
    m.communities = len(comms)
    if s.number_of_edges() and s.number_of_nodes() <= MODULARITY_MAX:
        m.modularity = nx.community.modularity(s, comms, weight="weight")
    return m
