"""Network pictures: graph building, filters, focus views, metrics and safe, offline HTML.

The in-memory steps are tested on hand-made rows (``RawNetwork``: the shape the store
reads give); the reads themselves run on both real backends.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from impact_graph.model import Edge, make_id, span_ref
from impact_graph.network import (
    NetworkFilters,
    compute_metrics,
    ego_view,
    network_json,
    network_view,
    read_stakeholders,
    render_html,
    stakeholder_graph,
)
from impact_graph.network.build import MAX_DERIVED_PER_PROGRAMME, NetworkView, RawNetwork
from impact_graph.network.metrics import (
    betweenness_scores,
    louvain,
    modularity,
    pivots_for,
    simple_graph,
)
from impact_graph.network.render import vis_assets
from impact_graph.store.port import GraphStore
from tests.factories import doc_batch

XSS = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(2)</script>"


def raw_network() -> RawNetwork:
    """Two programmes in two areas; actor a and b share both, c is only in P2."""
    raw = RawNetwork()

    def node(nid: str, label: str, name: str, **kw: str) -> None:
        raw.nodes[nid] = {"label": label, "name": name, "kind": "", "role": "", "sources": []}
        raw.nodes[nid].update(kw)

    node("p1", "Programme", "Samen Minder Alleen", sources=["d1"])
    node("p2", "Programme", "Wadstede Werkt Mee", sources=["d2"])
    node("a", "Actor", "Stichting Welzijn", kind="organisation", sources=["d1"])
    node("b", "Actor", "GGD Kust", kind="organisation")
    node("c", "Actor", "ROC Kustland", kind="organisation")
    node("f", "Actor", "Fonds Zilver", kind="organisation")
    node("i1", "Intervention", "Welzijn op Recept")
    node("i2", "Intervention", "Taalmaatjes")
    node("lonely", "Actor", "Nooit Gekoppeld")

    def edge(src: str, typ: str, dst: str, role: str = "", sources: tuple[str, ...] = ()) -> None:
        raw.edges.append(
            {"src": src, "type": typ, "dst": dst, "role": role, "sources": list(sources)}
        )

    edge("a", "PARTICIPATES_IN", "p1", "uitvoering welzijnscoaches", ("d1",))
    edge("b", "PARTICIPATES_IN", "p1", "signaleren")
    edge("a", "PARTICIPATES_IN", "p2", "vrijwilligerswerk")
    edge("b", "PARTICIPATES_IN", "p2", "gezondheidsmonitor")
    edge("c", "PARTICIPATES_IN", "p2", "onderwijs, taal op de werkvloer")
    edge("f", "FUNDS", "p1")
    edge("a", "COLLABORATES_WITH", "c", sources=("d2",))
    edge("p1", "USES", "i1")
    edge("p2", "USES", "i2")
    edge("a", "DELIVERS", "i1")
    raw.programme_areas = {"p1": {"area:wadstede"}, "p2": {"area:bergveld"}}
    raw.areas = {"area:wadstede": "Wadstede", "area:bergveld": "Bergveld"}
    raw.addresses = {"i1": {"challenge:eenzaamheid"}, "p2": {"challenge:werk"}}
    raw.challenges = {"challenge:eenzaamheid": "eenzaamheid", "challenge:werk": "werk"}
    raw.doc_titles = {"d1": "Plan Samen Minder Alleen", "d2": "Reisverslag Wadstede"}
    return raw


def collab(g: nx.MultiDiGraph, u: str, v: str) -> list[dict]:  # type: ignore[type-arg]
    return [
        d for a, b, d in g.edges(data=True) if d["type"] == "COLLABORATES_WITH" and {a, b} == {u, v}
    ]


# --- building ------------------------------------------------------------------------------


def test_derived_collaborations_are_weighted_by_shared_programmes() -> None:
    g, _ = stakeholder_graph(raw_network())
    ab = collab(g, "a", "b")
    assert len(ab) == 1 and ab[0]["derived"] is True
    assert ab[0]["weight"] == 2 and ab[0]["via"] == ["Samen Minder Alleen", "Wadstede Werkt Mee"]
    # A stated collaboration stays stated and gains the shared programme as weight.
    ac = collab(g, "a", "c")
    assert len(ac) == 1 and ac[0]["derived"] is False
    assert ac[0]["weight"] == 2 and ac[0]["sources"] == ["d2"]
    # The funder shares p1 with a and b.
    assert collab(g, "f", "a")[0]["weight"] == 1
    g2, _ = stakeholder_graph(raw_network(), derive=False)
    assert collab(g2, "a", "b") == []


def test_node_attributes_carry_roles_programmes_and_sources() -> None:
    g, _ = stakeholder_graph(raw_network())
    a = g.nodes["a"]
    assert a["roles"] == ["uitvoering welzijnscoaches", "vrijwilligerswerk"]
    assert a["programmes"] == ["Samen Minder Alleen", "Wadstede Werkt Mee"]
    assert g.nodes["i1"]["programmes"] == ["Samen Minder Alleen"]
    assert a["sources"] == ["d1"]


def test_big_programmes_get_no_derived_clique() -> None:
    raw = raw_network()
    for k in range(MAX_DERIVED_PER_PROGRAMME + 1):
        raw.nodes[f"x{k}"] = {
            "label": "Actor",
            "name": f"X{k}",
            "kind": "",
            "role": "",
            "sources": [],
        }
        raw.edges.append(
            {"src": f"x{k}", "type": "PARTICIPATES_IN", "dst": "p1", "role": "", "sources": []}
        )
    g, notes = stakeholder_graph(raw)
    assert collab(g, "x0", "x1") == []
    assert collab(g, "a", "b")[0]["weight"] == 1  # only p2 counted now
    assert any("meer dan" in n for n in notes)


def test_notes_and_tips_count_in_dutch_not_in_brackets() -> None:
    """The JSON's notes and tips said "betrokkene(n)" and "programma('s)"; a reader (and
    a researcher reading /network's JSON) gets the word in its number."""
    raw = raw_network()
    for k in range(MAX_DERIVED_PER_PROGRAMME + 1):
        raw.nodes[f"x{k}"] = {"label": "Actor", "name": f"X{k}", "kind": "", "role": ""}
        raw.nodes[f"x{k}"]["sources"] = []
        raw.edges.append(
            {"src": f"x{k}", "type": "PARTICIPATES_IN", "dst": "p1", "role": "", "sources": []}
        )
    _, notes = stakeholder_graph(raw)
    assert any(n.startswith("1 programma met meer dan") and " kreeg geen " in n for n in notes)
    view = xss_view()
    tips = [e["tip"] for e in network_json(view, compute_metrics(view.graph))["edges"]]
    assert any("Afgeleid uit 2 gedeelde programma's: " in t for t in tips), tips
    assert any("Afgeleid uit 1 gedeeld programma: " in t for t in tips), tips
    assert not any(re.search(r"\((n|s|'s|en)\)", t) for t in tips + notes)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (NetworkFilters(programme=["samen minder alleen"]), {"p1", "a", "b", "f", "i1"}),
        (NetworkFilters(programme=["p2"]), {"p2", "a", "b", "c", "i2", "i1"}),
        (NetworkFilters(area=["Bergveld"]), {"p2", "a", "b", "c", "i2", "i1"}),
        # p1 addresses eenzaamheid through the intervention it uses.
        (NetworkFilters(challenge=["eenzaamheid"]), {"p1", "a", "b", "f", "i1"}),
        (NetworkFilters(area=["wadstede"], challenge=["werk"]), set()),
        (NetworkFilters(role=["taal"]), {"c", "p2"}),
        (NetworkFilters(programme=["Samen Minder Alleen"], role=["signal"]), {"b", "p1"}),
    ],
)
def test_filters_keep_the_right_nodes(filters: NetworkFilters, expected: set[str]) -> None:
    g, _ = stakeholder_graph(raw_network(), filters)
    assert set(g.nodes) == expected


@pytest.mark.parametrize(
    ("filters", "param"),
    [
        (NetworkFilters(programme=["Bestaat Niet"]), "programme"),
        (NetworkFilters(area=["Atlantis"]), "area"),
        (NetworkFilters(challenge=["verveling"]), "challenge"),
        (NetworkFilters(role=["astronaut"]), "role"),
    ],
)
def test_unknown_filter_values_name_the_parameter(filters: NetworkFilters, param: str) -> None:
    with pytest.raises(ValueError, match=rf"^{param}: .+\.$"):
        stakeholder_graph(raw_network(), filters)


def test_ego_view_follows_links_both_ways_for_n_hops() -> None:
    g, _ = stakeholder_graph(raw_network(), derive=False)
    one = ego_view(g, "c", 1)
    assert set(one.nodes) == {"c", "p2", "a"}
    two = ego_view(g, "ROC Kustland", 2)  # by name
    assert set(two.nodes) == {"c", "p2", "a", "b", "i2", "p1", "i1"}
    with pytest.raises(ValueError, match=r"^focus: "):
        ego_view(g, "niemand", 1)
    with pytest.raises(ValueError, match=r"^hops: "):
        ego_view(g, "c", 9)


# --- metrics -------------------------------------------------------------------------------


def barbell() -> nx.MultiDiGraph:
    """Two triangles joined through one bridge node m."""
    g = nx.MultiDiGraph()
    for u, v in [("a", "b"), ("b", "c"), ("a", "c"), ("x", "y"), ("y", "z"), ("x", "z")]:
        g.add_edge(u, v, weight=1)
    g.add_edge("c", "m", weight=1)
    g.add_edge("m", "x", weight=1)
    return g


def test_betweenness_peaks_at_the_bridge_and_louvain_finds_the_triangles() -> None:
    m = compute_metrics(barbell())
    assert max(m.betweenness, key=m.betweenness.get) == "m"  # type: ignore[arg-type]
    assert m.betweenness["m"] == 1.0 and m.betweenness["a"] == 0.0
    assert m.community["a"] == m.community["b"] == m.community["c"]
    assert m.community["x"] == m.community["y"] == m.community["z"]
    assert m.community["a"] != m.community["x"]
    assert m.modularity is not None and m.modularity > 0.3
    assert m.betweenness_pivots is None


def test_parallel_links_merge_into_one_weighted_tie() -> None:
    g = nx.MultiDiGraph()
    g.add_edge("a", "b", weight=1)
    g.add_edge("b", "a", weight=2)
    s = simple_graph(g)
    assert s.number_of_edges() == 1 and s["a"]["b"]["weight"] == 3


def test_large_graphs_estimate_betweenness_reproducibly() -> None:
    g = nx.MultiDiGraph(nx.barabasi_albert_graph(600, 2, seed=1))
    m1, m2 = compute_metrics(g), compute_metrics(g)
    assert m1.betweenness_pivots is not None
    assert m1.betweenness == m2.betweenness
    assert "estimated" in str(m1.summary()["betweenness"])


def test_batched_betweenness_equals_networkx() -> None:
    """Two components (one with a cycle, parallel shortest paths and leaves), exact."""
    s = nx.Graph(nx.connected_watts_strogatz_graph(120, 4, 0.2, seed=3))
    s.add_edges_from([("p", "q"), ("q", "r"), ("p", "r2"), ("r2", "r"), ("r", "leaf")])
    s.add_node("alone")
    ours = betweenness_scores(s)
    theirs = nx.betweenness_centrality(s, normalized=False)
    assert set(ours) == set(theirs)
    assert max(abs(ours[v] - theirs[v]) for v in s) < 1e-9
    # q: half of the p-r and p-leaf paths; r: all leaf paths and half of q-r2
    assert ours["q"] == pytest.approx(1.0) and ours["r"] == pytest.approx(3.5)
    # Every source as a "sample" is the exact answer; a sample sums over its sources.
    assert betweenness_scores(s, list(s.nodes)) == pytest.approx(ours)
    half = list(s.nodes)[::2]
    rest = list(s.nodes)[1::2]
    both = {
        v: a + b
        for (v, a), b in zip(
            betweenness_scores(s, half).items(), betweenness_scores(s, rest).values(), strict=True
        )
    }
    assert both == pytest.approx(ours)


def test_pivots_shrink_with_the_graph_and_stay_bounded() -> None:
    assert pivots_for(400) is None
    assert pivots_for(2_000) == 64
    assert pivots_for(10_000) == 16
    assert pivots_for(401) == 128


def test_louvain_and_modularity_agree_with_networkx() -> None:
    """Same seed, same communities as ``nx.community.louvain_communities``; the one-pass
    modularity equals networkx's, self-loops (aggregated communities) included."""
    for s in (
        nx.Graph(nx.barabasi_albert_graph(300, 2, seed=5)),
        simple_graph(barbell()),
        nx.karate_club_graph(),
    ):
        for u, v in s.edges:
            s[u][v].setdefault("weight", 1 + (hash((u, v)) % 3 if isinstance(u, int) else 0))
        ours = louvain(s, seed=42)
        theirs = nx.community.louvain_communities(s, weight="weight", seed=42)
        assert sorted(map(sorted, ours)) == sorted(map(sorted, theirs))
        assert modularity(s, ours) == pytest.approx(
            nx.community.modularity(s, ours, weight="weight")
        )
    looped = nx.Graph([(1, 2, {"weight": 2}), (2, 3, {"weight": 1})])
    looped.add_edge(1, 1, weight=3)
    parts = [{1, 2}, {3}]
    assert modularity(looped, parts) == pytest.approx(nx.community.modularity(looped, parts))
    assert louvain(nx.empty_graph(3)) == [{0}, {1}, {2}]


def test_metrics_are_kept_on_the_graph_until_it_changes() -> None:
    g = barbell()
    m = compute_metrics(g)
    assert compute_metrics(g) is m
    g.add_edge("z", "n", weight=1)
    fresh = compute_metrics(g)
    assert fresh is not m and "n" in fresh.degree


# --- rendering ------------------------------------------------------------------------------


def xss_view() -> NetworkView:
    raw = raw_network()
    raw.nodes["a"]["name"] = XSS
    raw.nodes["b"]["name"] = BREAKOUT
    raw.edges[1]["role"] = "<b>vet</b> & 'quote'"
    raw.doc_titles["d1"] = "<script>alert(3)</script>"
    g, _ = stakeholder_graph(raw)
    return NetworkView(graph=g, kind="stakeholders", title=XSS, doc_titles=raw.doc_titles)


def test_json_has_the_vis_network_shape_and_plain_text_tips() -> None:
    view = xss_view()
    data = network_json(view, compute_metrics(view.graph), size_by="betweenness")
    assert data["counts"] == {"nodes": len(data["nodes"]), "edges": len(data["edges"])}
    node = next(n for n in data["nodes"] if n["id"] == "a")
    assert node["label"] == XSS and node["tip"].startswith(XSS + "\n")
    assert "Programma's: Samen Minder Alleen; Wadstede Werkt Mee" in node["tip"]
    assert "Bronnen: <script>alert(3)</script>" in node["tip"]  # text, shown as text
    assert node["value"] == pytest.approx(node["betweenness"] + 0.01)
    derived = next(e for e in data["edges"] if e["derived"])
    assert derived["dashes"] is True and "gedeelde programma" in derived["tip"]
    assert {item["label"] for item in data["legend"]} >= {"Programma", "Interventie"}
    assert data["metrics"]["top"][0]["id"]
    with pytest.raises(ValueError, match=r"^size_by: "):
        network_json(view, compute_metrics(view.graph), size_by="pagerank")


def test_json_answer_is_kept_on_the_view_per_measure() -> None:
    view = xss_view()
    m = compute_metrics(view.graph)
    first = network_json(view, m)
    assert network_json(view, m) is first
    by_btw = network_json(view, m, size_by="betweenness")
    assert by_btw is not first and by_btw["size_by"] == "betweenness"
    view.graph.add_node("new", label="Actor", name="Nieuw")
    fresh = network_json(view, compute_metrics(view.graph))
    assert fresh is not first and fresh["counts"]["nodes"] == first["counts"]["nodes"] + 1


def test_html_escapes_every_text_people_wrote() -> None:
    view = xss_view()
    html = render_html(view, compute_metrics(view.graph))
    # No raw markup from the data anywhere in the document.
    assert XSS not in html and "<img" not in html
    assert "alert(2)" in html  # it is there, but only as escaped JSON text...
    assert BREAKOUT not in html
    # ...so every <script> the page has is one of ours: nothing closed one early.
    ours = html.replace(vis_assets()[0], "")  # the library's own text mentions "<script"
    opened = len(re.findall(r"<script\b", ours))
    closed = ours.count("</script>")
    assert opened == closed == 3
    # The heading is autoescaped.
    assert "<title>&lt;img src=x onerror=alert(1)&gt; — impact-graph</title>" in html
    # The data block parses back to the original strings.
    block = re.search(
        r'<script type="application/json" id="ig-net-data">(.*?)</script>', html, re.S
    )
    assert block is not None
    payload = json.loads(block.group(1))
    assert {n["name"] for n in payload["nodes"]} >= {XSS, BREAKOUT}
    # Tooltips become text nodes, never innerHTML.
    assert "innerHTML" not in html.split("<script>", 2)[-1]
    assert "textContent = text" in html


def test_html_works_offline() -> None:
    view = xss_view()
    html = render_html(view, compute_metrics(view.graph))
    assert "vis.Network" in html and "@version 9.1.2" in html  # the library is inlined
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "cdn" not in html.lower().replace("cdnjs", "")  # no CDN hosts at all
    assert "bootstrap" not in html.lower()


def test_script_src_variant_does_not_inline_the_library() -> None:
    from impact_graph.network.render import render_fragment

    view = xss_view()
    data = network_json(view, compute_metrics(view.graph))
    frag = str(render_fragment(data, script_src="/static/vis-network.min.js"))
    assert '<script src="/static/vis-network.min.js"></script>' in frag
    assert "@version 9.1.2" not in frag


# --- reading from the real stores -----------------------------------------------------------


def seed(store: GraphStore) -> None:
    """Two documents: a plan with partners and a funder, and a research report."""
    plan = doc_batch(
        "plan-samen",
        [
            ("Programme", "Samen Minder Alleen"),
            ("Actor", "Stichting Welzijn"),
            ("Actor", XSS),
            ("Actor", "Fonds Zilver"),
            ("Intervention", "Welzijn op Recept"),
            ("Area", "Wadstede"),
            ("Actor", "Nooit Gekoppeld"),
        ],
        [
            ("Fonds Zilver", "FUNDS", "Samen Minder Alleen"),
            ("Samen Minder Alleen", "USES", "Welzijn op Recept"),
            ("Samen Minder Alleen", "IN_AREA", "Wadstede"),
            ("Stichting Welzijn", "DELIVERS", "Welzijn op Recept"),
        ],
    )
    doc = plan.doc_id
    prog = make_id("Programme", "Samen Minder Alleen")
    for name, role in (("Stichting Welzijn", "uitvoering"), (XSS, "signaleren")):
        plan.edges.append(
            Edge(
                make_id("Actor", name),
                "PARTICIPATES_IN",
                prog,
                {"role": role},
                spans=[span_ref(doc, 0, 10)],
            )
        )
    research = doc_batch(
        "onderzoek-wor",
        [
            ("Intervention", "Welzijn op Recept"),
            ("WorkingElement", "Persoonlijk contact"),
            ("Effect", "minder eenzaamheid"),
            ("Evidence", "Procesevaluatie Wadstede"),
            ("Challenge", "eenzaamheid"),
        ],
        [
            ("Welzijn op Recept", "HAS_ELEMENT", "Persoonlijk contact"),
            ("Welzijn op Recept", "HAS_EFFECT", "minder eenzaamheid"),
            ("minder eenzaamheid", "SUPPORTED_BY", "Procesevaluatie Wadstede"),
            ("Welzijn op Recept", "ADDRESSES", "eenzaamheid"),
        ],
    )
    store.upsert_batch(plan)
    store.upsert_batch(research)


def test_stakeholder_network_from_the_store(store: GraphStore) -> None:
    seed(store)
    raw = read_stakeholders(store)
    assert {n["label"] for n in raw.nodes.values()} == {"Actor", "Programme", "Intervention"}
    assert raw.areas and raw.challenges
    view = network_view(store, filters=NetworkFilters(area=["Wadstede"]))
    g = view.graph
    welzijn, xss = make_id("Actor", "Stichting Welzijn"), make_id("Actor", XSS)
    assert g.nodes[xss]["name"] == XSS and g.nodes[xss]["roles"] == ["signaleren"]
    assert collab(g, welzijn, xss)[0]["weight"] == 1
    assert make_id("Actor", "Nooit Gekoppeld") not in g  # no links, not in the programme
    data = network_json(view, compute_metrics(g))
    tip = next(n["tip"] for n in data["nodes"] if n["id"] == welzijn)
    assert "Rol: uitvoering" in tip and "Bronnen: plan-samen" in tip
    everyone = network_view(store, isolated=True).graph
    assert make_id("Actor", "Nooit Gekoppeld") in everyone
    focus = network_view(store, view="focus", focus="Fonds Zilver", hops=1)
    assert set(focus.graph.nodes) == {
        make_id("Actor", "Fonds Zilver"),
        make_id("Programme", "Samen Minder Alleen"),
        welzijn,  # derived collaborator through the shared programme
        xss,
    }


def test_network_is_cached_until_the_graph_changes(store: GraphStore) -> None:
    """An unchanged graph is read once; a write or a delete shows in the next picture."""
    seed(store)
    first = network_view(store)
    assert network_view(store) is first and read_stakeholders(store) is read_stakeholders(store)
    assert network_view(store, isolated=True) is not first  # other parameters, other picture
    newcomer = make_id("Actor", "Buurtteam Oost")
    store.upsert_batch(
        doc_batch(
            "buurtteam-oost",
            [("Actor", "Buurtteam Oost"), ("Programme", "Samen Minder Alleen")],
            [("Buurtteam Oost", "PARTICIPATES_IN", "Samen Minder Alleen")],
        )
    )
    after_write = network_view(store)
    assert after_write is not first and newcomer in after_write.graph
    assert store.delete_document(make_id("Document", "buurtteam-oost"))
    assert newcomer not in network_view(store).graph


def test_whatworks_graph_from_the_store(store: GraphStore) -> None:
    from impact_graph.network.build import whatworks_graph

    seed(store)
    g = whatworks_graph(store, [make_id("Intervention", "Welzijn op Recept")])
    labels = {d["label"] for _, d in g.nodes(data=True)}
    assert labels == {"Intervention", "WorkingElement", "Effect", "Evidence", "Challenge"}
    types = {d["type"] for *_, d in g.edges(data=True)}
    assert types == {"HAS_ELEMENT", "HAS_EFFECT", "SUPPORTED_BY", "ADDRESSES"}
    assert whatworks_graph(store, []).number_of_nodes() == 0


def test_network_benchmark_quick_run(tmp_path: Path) -> None:
    """``bench/network.py --quick`` runs end to end and saves its figures."""
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "net.json"
    proc = subprocess.run(
        [sys.executable, str(root / "bench" / "network.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(out.read_text())["results"]
    assert row["nodes"] == 200 and row["edges"] > 200
    assert 0 < row["html_total_s"] < 30 and row["html_mb"] > 0.4  # vis-network is inlined
