"""Benchmark: how long the network picture takes to build, as JSON and as HTML.

For synthetic stakeholder networks of 200, 2,000 and 10,000 nodes (10 % programmes,
20 % interventions, 70 % actors; each actor takes part in one to three programmes,
some deliver interventions, a few fund programmes or state a collaboration), written
into an embedded FalkorDB (RDF view off), it times the steps behind ``GET /network``
and ``GET /network.html``:

* fetch   — the store reads (``read_stakeholders``: a version check and the rows);
* cached  — the same call for an unchanged graph (the version check alone);
* build   — filters, derived collaborations, networkx graph (``stakeholder_graph``);
* metrics — degree, betweenness (estimated above 400 nodes), Louvain communities;
* json    — vis-network data and ``json.dumps`` of the answer;
* html    — the self-contained page (vis-network inlined).

"Before" in the same run is the previous metrics step, networkx's own betweenness (32
pivots above 400 nodes) and Louvain on the whole graph (``networkx_metrics`` below),
with the rows read on every request. "After" is the first request after a change
(nothing cached: fetch + build + metrics + JSON/HTML) and the request served again.

Target: JSON and HTML each within 1 s for 2,000 nodes, judged on the first request
after a change (not on the cache). Run: ``python bench/network.py`` (``--quick``: 200
nodes only; ``--no-store``: in-memory rows, no database; ``--json FILE`` saves figures).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import networkx as nx
from _common import (
    add_common_args,
    console,
    fmt,
    machine_info,
    make_table,
    save_json,
    timed,
    verdict,
)

from impact_graph.config import Settings
from impact_graph.model import Edge, GraphBatch, Node, span_ref
from impact_graph.network.build import (
    NetworkView,
    RawNetwork,
    clear_cache,
    network_view,
    read_stakeholders,
    stakeholder_graph,
)
from impact_graph.network.metrics import NetworkMetrics, compute_metrics, simple_graph
from impact_graph.network.render import network_json, render_fragment, render_html
from impact_graph.store.port import GraphStore

SIZES = (200, 2_000, 10_000)
TARGET_S = 1.0
TARGET_AT = 2_000
ROLES = ["uitvoering", "signaleren", "welzijnscoaches", "onderzoek", "financier", "taalmaatjes"]


def synthetic(n: int, seed: int = 7) -> RawNetwork:
    """A stakeholder network of ``n`` nodes with realistic proportions."""
    rng = random.Random(seed)
    raw = RawNetwork()
    n_prog, n_int = max(2, n // 10), max(2, n // 5)
    n_act = n - n_prog - n_int
    docs = [f"document:d{i}" for i in range(max(5, n // 20))]
    raw.doc_titles = {d: f"Reisverslag {i} – programma-aanpak en foto" for i, d in enumerate(docs)}

    def add(nid: str, label: str, name: str) -> None:
        raw.nodes[nid] = {
            "label": label,
            "name": name,
            "kind": "organisation" if label == "Actor" else "",
            "role": "",
            "sources": rng.sample(docs, 2),
        }

    progs = [f"programme:p{i}" for i in range(n_prog)]
    ints = [f"intervention:i{i}" for i in range(n_int)]
    acts = [f"actor:a{i}" for i in range(n_act)]
    for i, p in enumerate(progs):
        add(p, "Programme", f"Programma {i}")
    for i, iv in enumerate(ints):
        add(iv, "Intervention", f"Interventie {i}")
    for i, a in enumerate(acts):
        add(a, "Actor", f"Stichting Welzijn en Zorg {i}")

    def edge(src: str, typ: str, dst: str, role: str = "") -> None:
        raw.edges.append(
            {"src": src, "type": typ, "dst": dst, "role": role, "sources": rng.sample(docs, 1)}
        )

    for a in acts:
        for p in rng.sample(progs, rng.choice((1, 1, 2, 3))):
            edge(a, "PARTICIPATES_IN", p, rng.choice(ROLES))
        if rng.random() < 0.3:
            edge(a, "DELIVERS", rng.choice(ints))
        if rng.random() < 0.03:
            edge(a, "FUNDS", rng.choice(progs))
        if rng.random() < 0.1:
            edge(a, "COLLABORATES_WITH", rng.choice(acts))
    for iv in ints:
        edge(rng.choice(progs), "USES", iv)
    return raw


def to_batches(raw: RawNetwork, per_doc: int = 2_000) -> list[GraphBatch]:
    """The synthetic rows as documents for the store: nodes first, then the links."""
    batches: list[GraphBatch] = []

    def doc(i: int) -> Node:
        did = f"document:bench-net-{i}"
        return Node(did, "Document", {"title": f"Bench {i}", "content_hash": f"h{i}"})

    def node(nid: str, span: list[str]) -> Node:
        n = raw.nodes[nid]
        return Node(nid, n["label"], {"name": n["name"], "kind": n["kind"]}, spans=span)

    ids = list(raw.nodes)
    for start in range(0, len(ids), per_doc):
        d = doc(len(batches))
        span = [span_ref(d.id, 0, 1)]
        nodes = [node(nid, span) for nid in ids[start : start + per_doc]]
        batches.append(GraphBatch(document=d, nodes=nodes))
    for start in range(0, len(raw.edges), per_doc):
        d = doc(len(batches))
        span = [span_ref(d.id, 0, 1)]
        part = raw.edges[start : start + per_doc]
        ends = dict.fromkeys(x for e in part for x in (e["src"], e["dst"]))
        edges = [
            Edge(
                e["src"], e["type"], e["dst"], {"role": e["role"]} if e["role"] else {}, spans=span
            )
            for e in part
        ]
        batches.append(GraphBatch(document=d, nodes=[node(x, span) for x in ends], edges=edges))
    return batches


def networkx_metrics(g: nx.MultiDiGraph) -> NetworkMetrics:
    """The metrics step before this change: networkx betweenness and Louvain as they are."""
    s = simple_graph(g)
    m = NetworkMetrics()
    m.degree = {str(k): v for k, v in nx.degree_centrality(s).items()}
    k = None if s.number_of_nodes() <= 400 else 32
    bc = nx.betweenness_centrality(s, k=k, seed=42 if k else None)
    top = max(bc.values(), default=0.0) or 1.0
    m.betweenness = {str(n): v / top for n, v in bc.items()}
    comms = nx.community.louvain_communities(s, weight="weight", seed=42)
    m.community = {str(n): i for i, c in enumerate(comms) for n in c}
    m.communities = len(comms)
    if s.number_of_edges() and s.number_of_nodes() <= 1000:
        m.modularity = nx.community.modularity(s, comms, weight="weight")
    return m


def run(n: int, store: GraphStore | None) -> dict[str, float]:
    raw = synthetic(n)
    fetch_s = cached_s = 0.0
    if store is not None:
        store.clear()
        for batch in to_batches(raw):
            store.upsert_batch(batch)
        clear_cache()
        with timed() as t_fetch:
            raw = read_stakeholders(store)
        with timed() as t_cached:
            read_stakeholders(store)
        fetch_s, cached_s = t_fetch.s, t_cached.s
    with timed() as t_build:
        g, _ = stakeholder_graph(raw)

    def fresh() -> NetworkView:  # a view keeps its JSON answer; each step starts afresh
        return NetworkView(graph=g, kind="stakeholders", title="bench", doc_titles=raw.doc_titles)

    with timed() as t_before:
        networkx_metrics(g)
    with timed() as t_metrics:
        metrics = compute_metrics(g)
    with timed() as t_json:
        body = json.dumps(network_json(fresh(), metrics))
    with timed() as t_html:
        html = render_html(fresh(), metrics)
    # The web page loads the library as a cached static file; its share of the time:
    with timed() as t_frag:
        render_fragment(network_json(fresh(), metrics), script_src="/static/vis-network.min.js")
    served_s = None
    if store is not None:  # the whole request path, a second time for the same graph
        first = network_view(store)
        network_json(first, compute_metrics(first.graph))
        with timed() as t_served:
            v = network_view(store)
            json.dumps(network_json(v, compute_metrics(v.graph)))
        served_s = t_served.s
    return {
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "fetch_s": fetch_s,
        "fetch_cached_s": cached_s,
        "build_s": t_build.s,
        "metrics_before_s": t_before.s,
        "metrics_s": t_metrics.s,
        "json_only_s": t_json.s,
        "html_only_s": t_html.s,
        "page_fragment_s": t_frag.s,
        "json_before_s": fetch_s + t_build.s + t_before.s + t_json.s,
        "html_before_s": fetch_s + t_build.s + t_before.s + t_html.s,
        "json_total_s": fetch_s + t_build.s + t_metrics.s + t_json.s,
        "html_total_s": fetch_s + t_build.s + t_metrics.s + t_html.s,
        "json_served_again_s": served_s,
        "json_mb": len(body) / 2**20,
        "html_mb": len(html.encode()) / 2**20,
    }


@contextlib.contextmanager
def bench_store(enabled: bool):  # type: ignore[no-untyped-def]
    """An embedded FalkorDB in a fresh temp dir (short path: unix sockets allow 107 bytes)."""
    if not enabled:
        yield None
        return
    from impact_graph.store.falkordb_store import FalkorDBStore

    data = Path(tempfile.mkdtemp(prefix="igb-net-"))
    store = FalkorDBStore(Settings(backend="falkordb", data_dir=data, graph_name="net", rdf="off"))
    try:
        yield store
    finally:
        store.clear()
        store.close()
        if store.server is not None:
            store.server.stop()
        shutil.rmtree(data, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser)
    parser.add_argument("--no-store", action="store_true", help="in-memory rows, no database")
    args = parser.parse_args()
    sizes = SIZES[:1] if args.quick else SIZES
    with bench_store(not args.no_store) as store:
        run(50, store)  # warm-up: imports, template compilation, the vis-network file read
        results = [run(n, store) for n in sizes]
    table = make_table(
        "Network picture, step by step (seconds; first request after a change)",
        ["nodes", "edges", "fetch", "cached", "build", "metrics before", "metrics", "JSON", "HTML"],
    )
    for r in results:
        table.add_row(
            f"{r['nodes']:,}",
            f"{r['edges']:,}",
            fmt(r["fetch_s"], digits=3),
            fmt(r["fetch_cached_s"], digits=3),
            fmt(r["build_s"], digits=3),
            fmt(r["metrics_before_s"], digits=3),
            fmt(r["metrics_s"], digits=3),
            fmt(r["json_only_s"], digits=3),
            fmt(r["html_only_s"], digits=3),
        )
    console.print(table)
    table = make_table(
        "Network picture totals: before / after (seconds; sizes in MiB)",
        [
            "nodes",
            "JSON before",
            "JSON after",
            "HTML before",
            "HTML after",
            "JSON served again",
            "JSON size",
            "HTML size",
            f"≤ {TARGET_S:g} s",
        ],
    )
    for r in results:
        holds = None
        if r["nodes"] == TARGET_AT:
            holds = max(r["json_total_s"], r["html_total_s"]) <= TARGET_S
        table.add_row(
            f"{r['nodes']:,}",
            fmt(r["json_before_s"], digits=3),
            fmt(r["json_total_s"], digits=3),
            fmt(r["html_before_s"], digits=3),
            fmt(r["html_total_s"], digits=3),
            fmt(r["json_served_again_s"], digits=3),
            fmt(r["json_mb"], digits=2),
            fmt(r["html_mb"], digits=2),
            verdict(holds),
        )
    console.print(table)
    if args.json:
        save_json(args.json, {"machine": machine_info(), "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
