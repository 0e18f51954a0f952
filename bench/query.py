"""Researcher endpoints against direct calls: ``/cypher`` vs the FalkorDB client and
``/sparql`` vs pyoxigraph, for the same queries, in the same run.

Usage::

    .venv/bin/python bench/query.py                 # 100k nodes, ~1M triples
    .venv/bin/python bench/query.py --quick         # 2k nodes, ~20k triples (seconds)

What each row measures (p50/p95 over single calls after a warm-up, one at a time):

* ``cypher direct`` -- ``graph.ro_query`` of the falkordb client on the embedded server;
* ``/cypher`` -- ``POST /cypher`` through the real FastAPI app (in-process ASGI client):
  guard, store (read-only, time limit, row cap), JSON serialisation;
* ``sparql direct`` -- ``Store.query`` on the Oxigraph directory, opened once;
* ``/sparql`` -- ``GET /sparql`` through the app: checks, a killable worker process per
  query (the time and memory limit), JSON serialisation.

The ratio endpoint/direct at p50 is the overhead a researcher pays for the guarantees;
the target is at most 1.3x. Data is synthetic: actors taking part in programmes and
delivering interventions, written straight into both stores (not through ingest).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    add_common_args,
    console,
    fmt,
    machine_info,
    make_table,
    measure_latency,
    save_json,
    verdict,
)

TARGET = 1.3


def build(data: Path, n_nodes: int, seed: int = 7) -> tuple[Any, list[str]]:
    """Write the synthetic graph to FalkorDB and ~10 triples per node to Oxigraph."""
    import pyoxigraph as ox

    from impact_graph.config import Settings
    from impact_graph.ontology import load_schema
    from impact_graph.rdf.mapping import RdfMapping
    from impact_graph.rdf.view import OxigraphView, view_dir
    from impact_graph.store.falkordb_store import FalkorDBStore

    rnd = random.Random(seed)
    settings = Settings(backend="falkordb", data_dir=data, graph_name="bench", rdf="oxigraph")
    schema = load_schema()
    mapping = RdfMapping(schema)
    n_prog = max(10, n_nodes // 100)
    n_int = max(10, n_nodes // 20)
    n_act = n_nodes - n_prog - n_int
    progs = [f"programme:p{i}" for i in range(n_prog)]
    ints = [f"intervention:i{i}" for i in range(n_int)]
    acts = [f"actor:a{i}" for i in range(n_act)]
    part = [(a, rnd.choice(progs)) for a in acts for _ in range(2)]
    deliv = [(a, rnd.choice(ints)) for a in acts]

    store = FalkorDBStore(settings)
    store.clear()
    for label, ids in (("Programme", progs), ("Intervention", ints), ("Actor", acts)):
        for i in range(0, len(ids), 5000):
            store.graph.query(
                f"UNWIND $ids AS id CREATE (:Node:{label} {{id: id, name: 'name ' + id}})",
                {"ids": ids[i : i + 5000]},
            )
    store.graph.query("CREATE INDEX FOR (n:Node) ON (n.id)")
    for rel, pairs in (("PARTICIPATES_IN", part), ("DELIVERS", deliv)):
        for i in range(0, len(pairs), 5000):
            store.graph.query(
                f"UNWIND $p AS p MATCH (a:Node {{id: p[0]}}), (b:Node {{id: p[1]}}) "
                f"CREATE (a)-[:{rel} {{role: 'partner'}}]->(b)",
                {"p": [list(x) for x in pairs[i : i + 5000]]},
            )

    path = view_dir(settings)
    OxigraphView(path, mapping)  # creates the directory layout the app expects
    g = mapping.graph_iri("document:bench")
    name_p, id_p = mapping.prop("name"), mapping.prop("id")
    quads: list[Any] = []
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    for label, ids in (("Programme", progs), ("Intervention", ints), ("Actor", acts)):
        cls = mapping.class_iri(label)
        for nid in ids:
            s = mapping.node_iri(nid)
            quads += [
                ox.Quad(s, ox.NamedNode(rdf + "type"), cls, g),
                ox.Quad(s, name_p, ox.Literal("name " + nid), g),
                ox.Quad(s, id_p, ox.Literal(nid), g),
            ]
    for rel, pairs in (("PARTICIPATES_IN", part), ("DELIVERS", deliv)):
        p = mapping.rel_iri(rel)
        for a, b in pairs:
            s, o = mapping.node_iri(a), mapping.node_iri(b)
            r = ox.NamedNode(mapping.edge_base + f"{rel}-{a}-{b}")
            quads += [
                ox.Quad(s, p, o, g),
                ox.Quad(r, ox.NamedNode(rdf + "reifies"), ox.Triple(s, p, o), g),
                ox.Quad(r, mapping.prop("role"), ox.Literal("partner"), g),
            ]
    # As the view writes: each document's graph, plus the default graph kept as the union.
    quads += [ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads]
    ox_store = ox.Store(str(path / "oxigraph"))
    ox_store.bulk_extend(quads)
    ox_store.flush()
    del ox_store
    console.print(
        f"{n_nodes:,} nodes, {len(part) + len(deliv):,} relationships; {len(quads):,} quads"
    )
    return settings, progs


def run(quick: bool, json_path: Path | None) -> int:
    import pyoxigraph as ox
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app
    from impact_graph.rdf.view import view_dir
    from impact_graph.store.falkordb_server import FalkorDBServer

    n_nodes = 2_000 if quick else 100_000
    calls = 20 if quick else 100
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        data = Path(tmp)
        try:
            settings, progs = build(data, n_nodes)
            rnd = random.Random(1)
            picks = [rnd.choice(progs) for _ in range(calls)]
            cypher = (
                "MATCH (a:Actor)-[:PARTICIPATES_IN]->(p:Programme {id: $pid}) "
                "RETURN a.id AS id, a.name AS name ORDER BY id LIMIT 100"
            )
            ig = "https://w3id.org/impact-graph/ontology#"
            base = "https://w3id.org/impact-graph/id/"

            def sparql(pid: str) -> str:
                return (
                    f"SELECT ?id ?name WHERE {{ ?a <{ig}participatesIn> <{base}{pid}> ; "
                    f"<{ig}id> ?id ; <{ig}name> ?name }} ORDER BY ?id LIMIT 100"
                )

            app = create_app(settings, warm_up=False)
            results: dict[str, Any] = {}
            with TestClient(app) as client:
                store = app.state.services.store()
                graph = store.graph  # the falkordb client's graph
                direct_c, out_c = measure_latency(
                    lambda pid: graph.ro_query(cypher, {"pid": pid}).result_set, picks
                )
                api_c, out_ac = measure_latency(
                    lambda pid: client.post(
                        "/cypher", json={"query": cypher, "params": {"pid": pid}}
                    ).json(),
                    picks,
                )
                assert all(len(a) == b["row_count"] for a, b in zip(out_c, out_ac, strict=True))
                ox_store = ox.Store.read_only(str(view_dir(settings) / "oxigraph"))
                direct_s, out_s = measure_latency(
                    lambda pid: list(ox_store.query(sparql(pid))),
                    picks,
                )
                api_s, out_as = measure_latency(
                    lambda pid: client.get("/sparql", params={"query": sparql(pid)}).json(),
                    picks,
                )
                bad = [
                    (len(a), str(b)[:300])
                    for a, b in zip(out_s, out_as, strict=True)
                    if len(a) != len(b.get("results", {}).get("bindings", []))
                ]
                assert not bad, bad[:2]
            table = make_table(
                f"Researcher queries, {n_nodes:,} nodes ({calls} calls each)",
                ["", "p50", "p95", "ratio p50", f"<= {TARGET}x"],
            )
            for name, d, a in (("cypher", direct_c, api_c), ("sparql", direct_s, api_s)):
                ratio = a.p50 / d.p50 if d.p50 > 0 else float("nan")
                table.add_row(f"{name} direct", fmt(d.p50, "ms", 2), fmt(d.p95, "ms", 2), "", "")
                table.add_row(
                    f"/{name}",
                    fmt(a.p50, "ms", 2),
                    fmt(a.p95, "ms", 2),
                    fmt(ratio, "x", 2),
                    verdict(ratio <= TARGET),
                )
                results[name] = {
                    "direct": d.summary(),
                    "endpoint": a.summary(),
                    "ratio_p50": ratio,
                }
            console.print(table)
            if json_path:
                save_json(json_path, {"machine": machine_info(), "nodes": n_nodes, **results})
        finally:
            FalkorDBServer(data).stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    args = parser.parse_args(argv)
    return run(args.quick, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
