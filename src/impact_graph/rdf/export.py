"""Export the graph from the RDF view: Turtle, JSON-LD, N-Triples, GraphML or CSV.

The RDF view is the export source for every format because it holds exactly the facts
of the stored documents on both graph backends, with provenance per document; "one
programme" is the union of the graphs of the documents the programme node came from
(its ``ig:sources``), i.e. everything those documents say.

GraphML and CSV are property-graph shapes: nodes with their properties (lists joined with
" | "), edges with their type and reifier properties -- readable by Gephi, yEd, Cytoscape,
networkx and spreadsheets.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from impact_graph.rdf.mapping import RDF_REIFIES, RDF_TYPE, RdfMapping, default_prefixes
from impact_graph.rdf.view import RdfView

FORMATS = ("ttl", "jsonld", "nt", "graphml", "csv")
_RDF_FORMATS = {
    "ttl": ox.RdfFormat.TURTLE,
    "jsonld": ox.RdfFormat.JSON_LD,
    "nt": ox.RdfFormat.N_TRIPLES,
}
LIST_SEP = " | "


@dataclass
class PropertyGraph:
    """Nodes and edges rebuilt from RDF quads (for GraphML and CSV)."""

    nodes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    edges: dict[str, dict[str, Any]] = field(default_factory=dict)


#: How many existing programmes an unknown ``--programme`` error names.
SUGGESTED_PROGRAMMES = 5
#: The command that lists every programme in the RDF view (the one an export reads).
LIST_PROGRAMMES = (
    'impact-graph sparql "SELECT ?programme ?name WHERE { ?programme a ig:Programme ; '
    'ig:name ?name } ORDER BY ?name"'
)


def known_programmes(view: RdfView, limit: int = SUGGESTED_PROGRAMMES) -> tuple[list[str], int]:
    """Up to ``limit`` programmes of the view as "id (name)", by name, and how many exist.

    An unknown ``--programme`` is answered with these, so the user can copy a real id
    instead of guessing again."""
    m = view.mapping
    prog_class = m.class_iri("Programme").value
    name_p = m.prop("name").value
    total_rows = view.select(f"SELECT (COUNT(DISTINCT ?p) AS ?c) WHERE {{ ?p a <{prog_class}> }}")
    total = int(total_rows[0].get("c", 0)) if total_rows else 0
    rows = view.select(
        f"SELECT DISTINCT ?p ?n WHERE {{ ?p a <{prog_class}> OPTIONAL {{ ?p <{name_p}> ?n }} }} "
        f"ORDER BY LCASE(STR(?n)) ?p LIMIT {limit * 2}"
    )
    shown: dict[str, str] = {}
    for r in rows:
        pid = m.node_id(r["p"]) or r["p"]
        if pid not in shown and len(shown) < limit:
            shown[pid] = f"{pid} ({r['n']})" if r.get("n") else pid
    return list(shown.values()), total


def _unknown_programme(view: RdfView, programme: str) -> str:
    """The sentence for a ``--programme`` that matches no programme, with real ones."""
    found, total = known_programmes(view)
    head = f"--programme '{programme}': no programme with that id or exact name was found"
    if total == 0:
        return (
            f"{head}; the RDF view holds no programmes yet. Ingest a programme plan first, "
            "or export the whole graph without --programme."
        )
    some = "it holds" if total <= len(found) else f"{len(found)} of its {total}"
    return (
        f"{head} in the RDF view ({some}: {'; '.join(found)}). Give one of these ids or "
        f"names; list them all with: {LIST_PROGRAMMES}"
    )


def programme_graphs(view: RdfView, programme: str) -> list[str]:
    """Graph IRIs of the documents a programme (id or exact name) came from."""
    m = view.mapping
    prog_class = m.class_iri("Programme").value
    name_p, sources_p = m.prop("name").value, m.sources_p.value
    needle = programme.replace("\\", "\\\\").replace('"', '\\"')
    rows = view.select(
        f"SELECT DISTINCT ?p ?src WHERE {{ ?p a <{prog_class}> ; <{sources_p}> ?src . "
        f"OPTIONAL {{ ?p <{name_p}> ?n }} FILTER(?p = <{m.node_iri(programme).value}> "
        f'|| LCASE(STR(?n)) = LCASE("{needle}")) }}'
    )
    if not rows:
        raise ValueError(_unknown_programme(view, programme))
    if len({r["p"] for r in rows}) > 1:
        ids = sorted({m.node_id(r["p"]) or r["p"] for r in rows})
        raise ValueError(
            f"--programme '{programme}' names {len(ids)} programmes ({', '.join(ids[:5])}); "
            "give one of these ids."
        )
    return sorted({m.graph_iri(r["src"]).value for r in rows})


def document_graphs(view: RdfView) -> list[str]:
    return [view.mapping.graph_iri(d).value for d in sorted(view.document_hashes())]


def _triples(quads: Iterable[ox.Quad]) -> list[ox.Triple]:
    """The union of the graphs as a set of triples, in a stable order."""
    seen = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    return sorted(seen, key=str)


def _classic_reification(triples: list[ox.Triple]) -> list[ox.Triple]:
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    out: list[ox.Triple] = []
    for t in triples:
        if t.predicate == RDF_REIFIES and isinstance(t.object, ox.Triple):
            inner = t.object
            out.append(ox.Triple(t.subject, RDF_TYPE, ox.NamedNode(rdf + "Statement")))
            out.append(ox.Triple(t.subject, ox.NamedNode(rdf + "subject"), inner.subject))
            out.append(ox.Triple(t.subject, ox.NamedNode(rdf + "predicate"), inner.predicate))
            out.append(ox.Triple(t.subject, ox.NamedNode(rdf + "object"), inner.object))
        else:
            out.append(t)
    return out


def property_graph(mapping: RdfMapping, quads: Iterable[ox.Quad]) -> PropertyGraph:
    """Nodes (class, properties) and edges (type, properties) from RDF quads."""
    classes = {c.iri: c.label for c in mapping.schema.node_classes}
    rels = {r.iri: r.type for r in mapping.schema.rel_types}
    base = mapping.base
    pg = PropertyGraph()
    reifier_props: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    reifies: dict[str, ox.Triple] = {}
    for q in quads:
        s, p, o = q.subject, q.predicate, q.object
        if p == RDF_REIFIES and isinstance(o, ox.Triple) and isinstance(s, ox.NamedNode):
            reifies[s.value] = o
            continue
        if not isinstance(s, ox.NamedNode):
            continue
        if s.value.startswith(mapping.edge_base):
            if isinstance(o, ox.Literal) and p.value.startswith(base):
                values = reifier_props[s.value][p.value[len(base) :]]
                if o.value not in values:
                    values.append(o.value)
            continue
        node_id = mapping.node_id(s.value)
        if node_id is None:
            continue
        props = pg.nodes.setdefault(node_id, {})
        if p == RDF_TYPE and isinstance(o, ox.NamedNode) and o.value in classes:
            pg.labels[node_id] = classes[o.value]
        elif isinstance(o, ox.Literal) and p.value.startswith(base):
            values = props.setdefault(p.value[len(base) :], [])
            if o.value not in values:
                values.append(o.value)
    for r_iri, t in reifies.items():
        src, dst = mapping.node_id(t.subject.value), mapping.node_id(t.object.value)  # type: ignore[union-attr]
        rel = rels.get(t.predicate.value)
        if src is None or dst is None or rel is None:
            continue
        props = dict(reifier_props.get(r_iri, {}))
        pg.edges[r_iri] = {"src": src, "dst": dst, "type": rel, "props": props}
    return pg


def _flat(values: list[str]) -> str:
    return LIST_SEP.join(values)


def export(
    view: RdfView, fmt: str, output: Path | None, *, programme: str | None = None
) -> tuple[bytes | None, dict[str, int]]:
    """Export to ``output`` (a file; a directory for csv) or return the bytes for stdout.

    Returns ``(data or None, counts)``; counts say what was written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not '{fmt}'.")
    graphs = programme_graphs(view, programme) if programme else document_graphs(view)
    quads = list(view.quads(graphs)) if graphs else []
    if fmt in _RDF_FORMATS:
        triples = _triples(quads)
        if fmt == "jsonld":
            # JSON-LD has no triple terms (pyoxigraph: "JSON-LD does not support RDF 1.2
            # yet"): edges keep their reifier, described with classic RDF reification.
            triples = _classic_reification(triples)
        prefixes = default_prefixes(view.mapping.schema)
        data = ox.serialize(triples, format=_RDF_FORMATS[fmt], prefixes=prefixes) or b""
        counts = {"triples": len(triples), "documents": len(graphs)}
        if output is not None:
            output.write_bytes(data)
            return None, counts
        return data, counts
    pg = property_graph(view.mapping, quads)
    counts = {"nodes": len(pg.nodes), "edges": len(pg.edges), "documents": len(graphs)}
    if fmt == "graphml":
        import networkx as nx

        g = nx.MultiDiGraph()
        for nid, props in pg.nodes.items():
            g.add_node(nid, label=pg.labels.get(nid, ""), **{k: _flat(v) for k, v in props.items()})
        for eid, e in pg.edges.items():
            # networkx takes 'key' as the edge's own key argument
            attrs = {("edge_key" if k == "key" else k): _flat(v) for k, v in e["props"].items()}
            g.add_edge(e["src"], e["dst"], key=eid, type=e["type"], **attrs)
        buf = io.BytesIO()
        nx.write_graphml(g, buf, encoding="utf-8")
        data = buf.getvalue()
        if output is not None:
            output.write_bytes(data)
            return None, counts
        return data, counts
    # csv: nodes.csv and edges.csv in a directory
    if output is None:
        raise ValueError("--format csv writes nodes.csv and edges.csv: give --output <directory>.")
    output.mkdir(parents=True, exist_ok=True)
    node_keys = sorted({k for p in pg.nodes.values() for k in p} - {"id"})
    with open(output / "nodes.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", *node_keys])
        for nid in sorted(pg.nodes):
            props = pg.nodes[nid]
            w.writerow([nid, pg.labels.get(nid, ""), *(_flat(props.get(k, [])) for k in node_keys)])
    edge_keys = sorted({k for e in pg.edges.values() for k in e["props"]})
    with open(output / "edges.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["src", "type", "dst", *edge_keys])
        for e in sorted(pg.edges.values(), key=lambda e: (e["src"], e["type"], e["dst"])):
            w.writerow(
                [e["src"], e["type"], e["dst"], *(_flat(e["props"].get(k, [])) for k in edge_keys)]
            )
    return None, counts
