"""Benchmark: how long the network picture takes to build, as JSON and as HTML.

For synthetic stakeholder networks of 200, 2,000 and 10,000 nodes (10 % programmes,
20 % interventions, 70 % actors; each actor takes part in one to three programmes,
some deliver interventions, a few fund programmes or state a collaboration) it times
the steps behind ``GET /network`` and ``GET /network.html`` on the rows the store reads
would give (the reads themselves are a handful of Cypher queries, timed in
``bench/store.py``):

* build   — filters, derived collaborations, networkx graph (``stakeholder_graph``);
* metrics — degree, betweenness (estimated above 400 nodes), Louvain communities;
* json    — vis-network data and ``json.dumps`` of the answer;
* html    — the self-contained page (vis-network inlined).

Target: JSON and HTML each within 1 s for 2,000 nodes. Run: ``python bench/network.py``
(``--quick``: 200 nodes only; ``--json FILE`` saves the figures).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

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

from impact_graph.network.build import NetworkView, RawNetwork, stakeholder_graph
from impact_graph.network.metrics import compute_metrics
from impact_graph.network.render import network_json, render_fragment, render_html

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


def run(n: int) -> dict[str, float]:
    raw = synthetic(n)
    with timed() as t_build:
        g, _ = stakeholder_graph(raw)
    view = NetworkView(graph=g, kind="stakeholders", title="bench", doc_titles=raw.doc_titles)
    with timed() as t_metrics:
        metrics = compute_metrics(g)
    with timed() as t_json:
        body = json.dumps(network_json(view, metrics))
    with timed() as t_html:
        html = render_html(view, metrics)
    # The web page loads the library as a cached static file; its share of the time:
    with timed() as t_frag:
        render_fragment(network_json(view, metrics), script_src="/static/vis-network.min.js")
    return {
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "build_s": t_build.s,
        "metrics_s": t_metrics.s,
        "json_only_s": t_json.s,
        "html_only_s": t_html.s,
        "page_fragment_s": t_frag.s,
        "json_total_s": t_build.s + t_metrics.s + t_json.s,
        "html_total_s": t_build.s + t_metrics.s + t_html.s,
        "json_mb": len(body) / 2**20,
        "html_mb": len(html.encode()) / 2**20,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser)
    args = parser.parse_args()
    sizes = SIZES[:1] if args.quick else SIZES
    run(50)  # warm-up: imports, template compilation, the vis-network file read
    results = [run(n) for n in sizes]
    table = make_table(
        "Network picture: build + metrics + JSON / HTML (seconds; sizes in MiB)",
        [
            "nodes",
            "edges",
            "build",
            "metrics",
            "JSON total",
            "HTML total",
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
            f"{r['edges']:,}",
            fmt(r["build_s"], digits=3),
            fmt(r["metrics_s"], digits=3),
            fmt(r["json_total_s"], digits=3),
            fmt(r["html_total_s"], digits=3),
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
