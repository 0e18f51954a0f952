"""Centrality and communities of a network picture.

Computed on the undirected, simple version of the graph with parallel links merged and
their weights summed: "who is central" and "who clusters with whom" are questions about
ties, not about the direction a sentence happened to state them in.

Why not networkx for betweenness: its pure-Python Brandes took ~9 ms per source node
at 2,000 nodes here (32 pivots: 0.3 s quiet, ~1 s under load), which alone broke the
1 s budget of a 2,000-node picture. :func:`betweenness_scores` runs the same algorithm for a
block of sources at once with scipy sparse products (one product per BFS level), ~10x
faster, and gives networkx's numbers exactly (a test compares them). Betweenness is
exact up to :data:`EXACT_BETWEENNESS_MAX` nodes and estimated from a seeded sample of
pivot nodes above that; the number of pivots shrinks with the graph
(:data:`PIVOT_BUDGET` / nodes, within :data:`MIN_PIVOTS`..:data:`MAX_PIVOTS`) so the
cost stays flat, and the metrics say when it was estimated. Degree is the default size
measure of the pictures; betweenness is there for the page's "size by" switch.

Louvain is networkx's own moving and aggregation steps (seeded, so the same graph gets
the same colours) driven by :func:`louvain`, which differs from
``nx.community.louvain_communities`` only in how it computes the modularity it compares
between levels: one pass over the edges instead of networkx's per-community sums, which
took ~30 % of Louvain's time (a test checks both give the same communities). Folding
single-tie nodes into their neighbour first was tried and made Louvain 1.5-5x *slower*
(the heavy self-loops keep nodes moving), so it is not done. A picture served again for
an unchanged graph costs none of this: the metrics are kept on the graph
(:func:`compute_metrics`) and the graph is cached per store (``build.network_view``).
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp

#: Largest graph whose betweenness is computed exactly (~0.03 s at 400 nodes here).
EXACT_BETWEENNESS_MAX = 400
#: Pivot count x node count of an estimate: 64 pivots at 2,000 nodes, 16 at 8,000+.
PIVOT_BUDGET = 128_000
MIN_PIVOTS = 16
MAX_PIVOTS = 128
#: Sources per block of the batched BFS (bounds memory: nodes x block floats).
BLOCK = 256
#: Largest graph whose modularity is reported (it costs a tenth of a second per 2,000).
MODULARITY_MAX = 1000
SEED = 42
#: Mark in ``nx.Graph.graph`` under which :func:`compute_metrics` keeps its result.
_CACHE_KEY = "_impact_graph_metrics"


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
    weights: dict[tuple[Hashable, Hashable], float] = {}
    for u, v, w in g.edges(data="weight", default=1):
        if u == v:
            continue
        key = (u, v) if (v, u) not in weights else (v, u)
        weights[key] = weights.get(key, 0) + w
    s = nx.Graph()
    s.add_nodes_from(g.nodes)
    s.add_weighted_edges_from((u, v, w) for (u, v), w in weights.items())
    return s


def pivots_for(n: int) -> int | None:
    """Pivots of the betweenness estimate for an ``n``-node graph (None: exact)."""
    if n <= EXACT_BETWEENNESS_MAX:
        return None
    return max(MIN_PIVOTS, min(MAX_PIVOTS, PIVOT_BUDGET // n, n))


def betweenness_scores(
    s: nx.Graph, sources: Sequence[Hashable] | None = None
) -> dict[Hashable, float]:
    """Unnormalised shortest-path betweenness of an undirected, unweighted graph.

    Brandes' algorithm from ``sources`` (all nodes when None), a block of sources per
    pass: column j of the (nodes x block) arrays is the BFS from source j. Each BFS level
    is one sparse product, so the per-node work happens in numpy. Equal to
    ``nx.betweenness_centrality(s, normalized=False)`` for all sources (undirected
    pairs counted once); an estimate from a sample is that sum over the sample.
    """
    nodes = list(s.nodes)
    n = len(nodes)
    if n == 0:
        return {}
    index = {v: i for i, v in enumerate(nodes)}
    adj = sp.csr_array(nx.to_scipy_sparse_array(s, nodelist=nodes, weight=None, format="csr"))
    adj.data = np.ones_like(adj.data, dtype=np.float64)
    src = np.fromiter((index[v] for v in (nodes if sources is None else sources)), dtype=np.intp)
    total = np.zeros(n)
    for start in range(0, len(src), BLOCK):
        block = src[start : start + BLOCK]
        cols = np.arange(len(block))
        sigma = np.zeros((n, len(block)))  # shortest paths from the source
        sigma[block, cols] = 1.0
        level = np.full((n, len(block)), -1, dtype=np.int32)
        level[block, cols] = 0
        frontier, depth = sigma.copy(), 0
        while True:
            reach = adj @ frontier
            new = (reach > 0) & (level < 0)
            if not new.any():
                break
            depth += 1
            level[new] = depth
            frontier = np.where(new, reach, 0.0)
            sigma += frontier
        delta = np.zeros_like(sigma)  # dependency of the source on each node
        for lv in range(depth, 0, -1):
            at = level == lv
            coef = np.divide(1.0 + delta, sigma, out=np.zeros_like(sigma), where=at)
            pull = adj @ coef
            prev = level == lv - 1
            delta += np.where(prev, sigma * pull, 0.0)
        delta[block, cols] = 0.0
        total += delta.sum(axis=1)
    total /= 2.0  # undirected: each pair was counted from both ends
    return {v: float(total[i]) for i, v in enumerate(nodes)}


def modularity(g: nx.Graph, communities: Sequence[set[Hashable]]) -> float:
    """Newman modularity (resolution 1) of a weighted undirected graph, in one edge pass.

    Self-loops count once as internal weight and twice in the degree, as networkx counts
    them (they stand for the links inside an aggregated community).
    """
    m = g.size(weight="weight")
    if not m:
        return 0.0
    where = {n: i for i, c in enumerate(communities) for n in c}
    inner = [0.0] * len(communities)
    total = [0.0] * len(communities)
    for u, v, w in g.edges(data="weight", default=1):
        cu = where[u]
        if cu == where[v]:
            inner[cu] += w
        total[cu] += w
        total[where[v]] += w
    return sum(i / m - (d / (2 * m)) ** 2 for i, d in zip(inner, total, strict=True))


def louvain(s: nx.Graph, seed: int = SEED, threshold: float = 1e-7) -> list[set[Hashable]]:
    """Louvain communities of the weighted simple graph ``s`` (as networkx finds them).

    The loop of networkx's ``louvain_partitions`` with :func:`modularity` in place of
    networkx's; the moving (``_one_level``) and aggregation (``_gen_graph``) steps are
    networkx's own. Falls back to ``louvain_communities`` if those are not there.
    """
    try:
        from networkx.algorithms.community.louvain import _gen_graph, _one_level
    except ImportError:  # pragma: no cover - a networkx without these helpers
        return list(nx.community.louvain_communities(s, weight="weight", seed=seed))
    rng = random.Random(seed)  # what networkx's py_random_state makes of an int seed
    partition: list[set[Hashable]] = [{u} for u in s.nodes()]
    if s.number_of_edges() == 0:
        return partition
    graph = nx.Graph()
    graph.add_nodes_from(s)
    graph.add_weighted_edges_from(s.edges(data="weight", default=1))
    mod = modularity(graph, partition)
    m = graph.size(weight="weight")
    partition, inner, _ = _one_level(graph, m, partition, 1, False, rng)
    improvement = True
    result = partition
    while improvement:  # networkx's loop: a level that moves nothing is not taken
        result = [set(c) for c in partition]
        new_mod = modularity(graph, inner)
        if new_mod - mod <= threshold:
            break
        mod = new_mod
        graph = _gen_graph(graph, inner)
        partition, inner, improvement = _one_level(graph, m, partition, 1, False, rng)
    return result


def compute_metrics(g: nx.MultiDiGraph, *, betweenness: bool = True) -> NetworkMetrics:
    """Degree and betweenness centrality and Louvain communities of ``g``.

    The result is kept on the graph (``g.graph``) with its node and edge counts, so a
    cached picture served again costs nothing here; a graph changed since gets fresh
    metrics.
    """
    stamp = (g.number_of_nodes(), g.number_of_edges(), betweenness)
    kept = g.graph.get(_CACHE_KEY)
    if kept is not None and kept[0] == stamp:
        return kept[1]  # type: ignore[no-any-return]
    m = _compute(g, betweenness)
    g.graph[_CACHE_KEY] = (stamp, m)
    return m


def _compute(g: nx.MultiDiGraph, with_betweenness: bool) -> NetworkMetrics:
    s = simple_graph(g)
    m = NetworkMetrics()
    if s.number_of_nodes() == 0:
        return m
    m.degree = {str(k): v for k, v in nx.degree_centrality(s).items()}
    if with_betweenness:
        k = pivots_for(s.number_of_nodes())
        # The same pivots networkx would draw for this seed.
        sources = None if k is None else random.Random(SEED).sample(list(s.nodes), k)
        # Unweighted paths: a heavy tie is a *stronger* tie, not a longer one.
        bc = betweenness_scores(s, sources)
        top = max(bc.values(), default=0.0) or 1.0
        m.betweenness = {str(n_): v / top for n_, v in bc.items()}
        m.betweenness_pivots = k
    comms = louvain(s, seed=SEED)
    # Largest community first, so colour 0 is always the biggest group.
    comms = sorted(comms, key=lambda c: (-len(c), min(map(str, c))))
    for i, c in enumerate(comms):
        for n_ in c:
            m.community[str(n_)] = i
    m.communities = len(comms)
    if s.number_of_edges() and s.number_of_nodes() <= MODULARITY_MAX:
        m.modularity = nx.community.modularity(s, comms, weight="weight")
    return m
