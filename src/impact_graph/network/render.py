"""Network pictures as vis-network JSON and as self-contained, offline HTML.

Why not pyvis's own ``Network.generate_html``: pyvis 0.3.2's template loads Bootstrap
from a CDN even with ``cdn_resources="in_line"``, switches to a popup that assigns
``innerHTML`` from node titles as soon as one contains "href", and its ``add_node`` /
``add_edge`` test membership in lists (quadratic: minutes for 10,000 nodes). We use the
vis-network 9.1.2 build that pyvis ships (so nothing is downloaded, at build or at run
time) with our own template:

* all data goes into a ``<script type="application/json">`` block through Jinja's
  ``tojson`` (which escapes ``<``, ``>``, ``&`` and ``'``), so no label can close the
  script;
* tooltips are built in the browser as DOM elements with ``textContent``, and labels
  are drawn on a canvas: text people wrote is shown as text, never parsed as HTML;
* legends and headings are rendered by Jinja with autoescape on.

Large graphs stay usable: the layout stabilises in a bounded number of iterations
(fewer for big graphs), physics is switched off once it has, smooth curves and
``improvedLayout`` are dropped above a size where they cost more than they show.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import networkx as nx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from impact_graph.network.build import FOCUS_LABELS, NetworkView, number_nl
from impact_graph.network.metrics import NetworkMetrics
from impact_graph.ontology import inverse_labels, load_schema

TEMPLATES = Path(__file__).parent / "templates"

#: Dutch names of the node classes and relationship types shown in the pictures.
TYPE_NL = {
    "Actor": "Betrokkene",
    "Programme": "Programma",
    "Intervention": "Interventie",
    "Challenge": "Opgave",
    "WorkingElement": "Werkzaam element",
    "Effect": "Effect",
    "Evidence": "Onderbouwing",
}
#: Every relationship type's Dutch rdfs:label from ``ontology/impact.ttl`` (the names
#: this table once restated by hand were those labels word for word): a type the
#: ontology gains, such as HAS_PROGRAMME_ELEMENT or INSTANCE_OF, is named in the
#: pictures and on the entity pages without a second edit here.
REL_NL = {r.type: r.label_nl for r in load_schema().rel_types if r.label_nl}
#: The same relationships read from their target's side (``ig:inverseLabel``):
#: "DELIVERS" -> "wordt uitgevoerd door", for a page listing a node's incoming links.
REL_INVERSE_NL = inverse_labels("nl")
#: Plurals of `TYPE_NL` for counts in running text ("70 betrokkenen en 16 programma's").
TYPE_PLURAL_NL = {
    "Actor": "betrokkenen",
    "Programme": "programma's",
    "Intervention": "interventies",
    "Challenge": "opgaven",
    "WorkingElement": "werkzame elementen",
    "Effect": "effecten",
    "Evidence": "onderbouwingen",
}
TYPE_STYLE: dict[str, tuple[str, str]] = {  # class -> (colour, shape)
    "Programme": ("#1f5fbf", "diamond"),
    "Intervention": ("#2e8b3e", "triangle"),
    "Challenge": ("#c0392b", "square"),
    "WorkingElement": ("#7d4fb3", "triangleDown"),
    "Effect": ("#e67e22", "star"),
    "Evidence": ("#7a5230", "hexagon"),
    "Actor": ("#6b7280", "dot"),
}
#: The legend's sign for each vis-network shape of `TYPE_STYLE`.
SHAPE_SYMBOL = {
    "dot": "●", "diamond": "◆", "triangle": "▲", "square": "■",
    "triangleDown": "▼", "star": "★", "hexagon": "⬢",
}  # fmt: skip
#: Actor categories by the words in their roles, names and kinds (first match wins).
ACTOR_CATEGORIES: list[tuple[str, str, tuple[str, ...]]] = [
    ("Financier", "#b8860b", ("financ", "subsidie", "fonds")),
    ("Inwoners", "#d6448f", ("inwoner", "bewoner", "ervaringsdeskundig", "ouders")),
    ("Vrijwilligers", "#8fa31e", ("vrijwillig", "maatje")),
    ("Onderzoek", "#138a9e", ("onderzoek", "wetenschap", "universiteit", "hogeschool", "lector")),
    ("Gemeente en beleid", "#34495e", ("gemeente", "beleid", "provincie", "ministerie", "regie")),
    ("Zorg en welzijn", "#0ea5e9", ("zorg", "welzijn", "ggd", "huisarts", "jeugd", "coach")),
    ("Ondernemers", "#cc6a00", ("ondernem", "werkgever", "bedrijf", "winkel")),
    ("Onderwijs", "#a04000", ("school", "onderwijs", "leerplicht", "mbo")),
    ("Veiligheid", "#1a5276", ("politie", "halt", "veilig", "wijkagent")),
    ("Wonen", "#6c3483", ("woning", "wonen", "corporatie", "huismeester")),
]
OTHER_ACTOR = ("Overige betrokkenen", "#6b7280")
COMMUNITY_COLOURS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a",
]  # fmt: skip
LABEL_MAX = 40
LIST_MAX = 5


@lru_cache(maxsize=1)
def vis_assets() -> tuple[str, str]:
    """The vis-network JavaScript bundled in the installed pyvis wheel, and its path.

    Read from the package, never fetched: the HTML must work offline.
    """
    import pyvis

    path = Path(pyvis.__file__).parent / "templates" / "lib" / "vis-9.1.2" / "vis-network.min.js"
    try:
        js = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RuntimeError(
            f"The vis-network script that pyvis ships was not found at {path}; reinstall "
            "pyvis (pip install 'pyvis>=0.3.2')."
        ) from e
    if "</script" in js.lower():  # would end our inline <script> early
        raise RuntimeError(f"{path} contains '</script' and cannot be inlined safely.")
    return js, str(path)


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _short(text: str, n: int = LABEL_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _listed(items: list[str], n: int = LIST_MAX) -> str:
    items = [i for i in items if i]
    more = f" (+{len(items) - n} meer)" if len(items) > n else ""
    return "; ".join(_short(i, 80) for i in items[:n]) + more


def actor_category(data: dict[str, Any], funds: bool) -> tuple[str, str]:
    """(category, colour) of an actor from its role words, name and kind."""
    if funds:
        return ACTOR_CATEGORIES[0][0], ACTOR_CATEGORIES[0][1]
    text = " ".join([*data.get("roles", []), str(data.get("name", ""))]).casefold()
    if data.get("kind") == "person-role" and "inwoner" in text:
        return ACTOR_CATEGORIES[1][0], ACTOR_CATEGORIES[1][1]
    for name, colour, words in ACTOR_CATEGORIES[1:]:
        if any(w in text for w in words):
            return name, colour
    return OTHER_ACTOR


def counted_nl(nodes: list[dict[str, Any]]) -> str:
    """What a picture shows, counted in words a policy adviser uses: "70 betrokkenen en
    16 programma's" (most first), from the nodes' types. The page said "86 knopen", a
    word from graph theory; "leeg" when there is nothing."""
    counts: dict[str, int] = {}
    for n in nodes:
        counts[str(n.get("type", ""))] = counts.get(str(n.get("type", "")), 0) + 1
    order = list(TYPE_STYLE)
    ranked = sorted(
        counts.items(), key=lambda kv: (-kv[1], order.index(kv[0]) if kv[0] in order else 99, kv[0])
    )
    parts = []
    for typ, k in ranked:
        one = TYPE_NL.get(typ, typ).lower()
        parts.append(f"{k} {one if k == 1 else TYPE_PLURAL_NL.get(typ, one)}")
    if not parts:
        return "niets"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " en " + parts[-1]


def _sources_line(sources: list[str], titles: dict[str, str]) -> str:
    return _listed([titles.get(s, s) for s in sources])


def _shapes(g: Any) -> list[dict[str, str]]:
    """The shape legend for the kinds of node in this picture only, in `TYPE_STYLE` order:
    a legend naming seven shapes beside a picture of two kinds sent readers looking for
    the other five."""
    present = {str(d.get("label", "Node")) for _, d in g.nodes(data=True)}
    styles = [(t, s) for t, (_, s) in TYPE_STYLE.items() if t in present]
    styles += [(t, "dot") for t in sorted(present - TYPE_STYLE.keys())]
    return [{"symbol": SHAPE_SYMBOL[s], "label": TYPE_NL.get(t, t).lower()} for t, s in styles]


def network_json(
    view: NetworkView, metrics: NetworkMetrics, *, size_by: str = "degree"
) -> dict[str, Any]:
    """The picture as plain data: nodes and edges in vis-network's shape, metrics, legend.

    ``tip`` fields are plain text (the page turns them into text nodes); nothing in the
    answer is HTML. The answer is kept on the view (a cached picture is served again
    without rebuilding it), so callers must treat it as read-only.
    """
    if size_by not in ("degree", "betweenness"):
        raise ValueError(f"size_by: use 'degree' or 'betweenness', got '{size_by}'.")
    g = view.graph
    key = (size_by, id(metrics), g.number_of_nodes(), g.number_of_edges())
    kept = view.rendered.get(key)
    if kept is not None and kept[0] is metrics:
        return kept[1]  # type: ignore[no-any-return]
    data = _network_json(view, metrics, size_by)
    view.rendered[key] = (metrics, data)
    return data


def _network_json(view: NetworkView, metrics: NetworkMetrics, size_by: str) -> dict[str, Any]:
    g = view.graph
    funders = {u for u, _, t in g.edges(data="type") if t == "FUNDS"}
    nodes: list[dict[str, Any]] = []
    legend: dict[str, str] = {}
    for nid, d in g.nodes(data=True):
        label = str(d.get("label", "Node"))
        colour, shape = TYPE_STYLE.get(label, ("#6b7280", "dot"))
        category = TYPE_NL.get(label, label)
        if label == "Actor":
            category, colour = actor_category(d, nid in funders)
        legend.setdefault(category, colour)
        deg = round(metrics.degree.get(nid, 0.0), 5)
        btw = round(metrics.betweenness.get(nid, 0.0), 5)
        comm = metrics.community.get(nid, 0)
        lines = [str(d.get("name", nid)), f"{TYPE_NL.get(label, label)} · {category}"]
        if d.get("kind") and label == "Actor":
            lines[1] += f" · {d['kind']}"
        if d.get("roles"):
            lines.append(("Niveau: " if label == "Evidence" else "Rol: ") + _listed(d["roles"]))
        if d.get("programmes"):
            lines.append("Programma's: " + _listed(d["programmes"]))
        if d.get("sources"):
            lines.append("Bronnen: " + _sources_line(d["sources"], view.doc_titles))
        lines.append(
            f"Groep {comm + 1} · verbindingen (graad) {deg:.3f}"
            f" · brugfunctie (tussenliggendheid) {btw:.3f}"
        )
        nodes.append(
            {
                "id": nid,
                "label": _short(d.get("name", nid)),
                "name": str(d.get("name", nid)),
                "type": label,
                "category": category,
                "color": colour,
                "type_color": colour,
                "community_color": COMMUNITY_COLOURS[comm % len(COMMUNITY_COLOURS)],
                "shape": shape,
                "community": comm,
                "degree": deg,
                "betweenness": btw,
                "value": (btw if size_by == "betweenness" else deg) + 0.01,
                "roles": list(d.get("roles", [])),
                "programmes": list(d.get("programmes", [])),
                "sources": list(d.get("sources", [])),
                "tip": "\n".join(lines),
                "focus": nid == view.focus,
            }
        )
    edges: list[dict[str, Any]] = []
    names = {nid: str(d.get("name", nid)) for nid, d in g.nodes(data=True)}
    for i, (u, v, d) in enumerate(g.edges(data=True)):
        typ = str(d.get("type", ""))
        derived = bool(d.get("derived"))
        lines = [f"{_short(names[u], 60)} — {REL_NL.get(typ, typ)} — {_short(names[v], 60)}"]
        if d.get("role"):
            lines.append("Rol: " + _short(d["role"], 120))
        if d.get("via"):
            lines.append(
                ("Afgeleid uit " if derived else "Ook samen in ")
                + number_nl(len(d["via"]), "gedeeld programma", "gedeelde programma's")
                + ": "
                + _listed(d["via"])
            )
        if d.get("sources"):
            lines.append("Bronnen: " + _sources_line(d["sources"], view.doc_titles))
        edges.append(
            {
                "id": f"e{i}",
                "from": u,
                "to": v,
                "type": typ,
                "role": str(d.get("role", "")),
                "weight": int(d.get("weight", 1)),
                "value": int(d.get("weight", 1)),
                "derived": derived,
                "via": list(d.get("via", [])),
                "sources": list(d.get("sources", [])),
                "dashes": derived,
                "arrows": "" if typ == "COLLABORATES_WITH" else "to",
                "tip": "\n".join(lines),
            }
        )
    return {
        "view": view.kind,
        "title": view.title,
        "focus": view.focus,
        "hops": view.hops,
        "q": view.query,
        "filters": view.filters.as_dict(),
        "size_by": size_by,
        "counts": {"nodes": len(nodes), "edges": len(edges)},
        "nodes": nodes,
        "edges": edges,
        "metrics": {**metrics.summary(), "top": _top(g, metrics, size_by)},
        "legend": [{"label": k, "color": v} for k, v in legend.items()],
        "shapes": _shapes(g),
        "derived_edges": any(e["derived"] for e in edges),
        "notes": list(view.notes),
    }


def _top(g: nx.MultiDiGraph, m: NetworkMetrics, size_by: str, n: int = 10) -> list[dict[str, Any]]:
    scores = m.betweenness if size_by == "betweenness" else m.degree
    best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [
        {
            "id": k,
            "name": str(g.nodes[k].get("name", k)),
            "type": str(g.nodes[k].get("label", "")),
            "focusable": g.nodes[k].get("label") in FOCUS_LABELS,
            size_by: round(v, 5),
        }
        for k, v in best
    ]


def vis_options(n_nodes: int, n_edges: int) -> dict[str, Any]:
    """vis-network options tuned to the size of the graph."""
    big = n_nodes > 1000
    return {
        "autoResize": True,
        "nodes": {
            "font": {"size": 14, "face": "system-ui, sans-serif", "strokeWidth": 3},
            "scaling": {
                "min": 8,
                "max": 40,
                "label": {"enabled": True, "min": 12, "max": 22, "drawThreshold": 7},
            },
            "borderWidth": 1,
        },
        "edges": {
            "color": {"color": "#9aa4b2", "highlight": "#1f2937", "hover": "#1f2937"},
            "smooth": False if n_edges > 1500 else {"type": "continuous"},
            "scaling": {"min": 1, "max": 6},
            "arrows": {"to": {"scaleFactor": 0.4}},
        },
        "physics": {
            "solver": "forceAtlas2Based",
            "forceAtlas2Based": {"gravitationalConstant": -60, "springLength": 110},
            "stabilization": {
                "enabled": True,
                "iterations": 120 if big else 300,
                "updateInterval": 20,
                "fit": True,
            },
            "timestep": 0.5,
            "adaptiveTimestep": True,
        },
        "layout": {"improvedLayout": n_nodes <= 150, "randomSeed": 7},
        "interaction": {
            "hover": True,
            "tooltipDelay": 120,
            "hideEdgesOnDrag": big,
            "keyboard": {"enabled": True, "bindToWindow": False},
            "multiselect": False,
        },
    }


def render_fragment(
    data: dict[str, Any],
    *,
    script_src: str | None = None,
    focus_url: str = "/network.html?view=focus&hops=1&focus=",
    entity_url: str | None = None,
    height: str = "72vh",
) -> Markup:
    """The picture as an HTML fragment (canvas, controls, legend, data and script).

    ``script_src`` loads vis-network from a URL (the web UI serves it as a static file,
    cached by the browser); without it the library is inlined. ``focus_url`` is where a
    double-click on an actor, programme or intervention goes (the node id is appended,
    URL-encoded); a double-click on any other node (the what-works view's effects,
    elements, challenges, evidence: they have no focus view) goes to ``entity_url`` + id,
    or nowhere when it is None (the standalone HTML file has no entity pages).
    """
    js = "" if script_src else vis_assets()[0]
    options = vis_options(data["counts"]["nodes"], data["counts"]["edges"])
    html = (
        _env()
        .get_template("network_fragment.html")
        .render(
            data=data,
            counted=counted_nl(data["nodes"]),
            payload={"nodes": data["nodes"], "edges": data["edges"], "options": options},
            vis_js=Markup(js),  # the library's own code, checked for '</script' above
            script_src=script_src,
            focus_url=focus_url,
            entity_url=entity_url,
            focus_labels=list(FOCUS_LABELS),
            height=height,
        )
    )
    return Markup(html)


def render_summary(data: dict[str, Any]) -> Markup:
    """The metrics in words ("3 groepen, die duidelijk los van elkaar staan") and the
    "Voor onderzoekers" block with the technical figures, for the web page and the
    standalone file alike (the file had neither)."""
    return Markup(_env().get_template("network_summary.html").render(data=data))


def render_html(
    view: NetworkView, metrics: NetworkMetrics, *, size_by: str = "degree", **kw: Any
) -> str:
    """A complete, self-contained HTML document (vis-network inlined, no CDN)."""
    data = network_json(view, metrics, size_by=size_by)
    body = render_fragment(data, **kw)
    return (
        _env()
        .get_template("network_page.html")
        .render(data=data, body=body, summary=render_summary(data))
    )
