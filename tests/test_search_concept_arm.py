"""The concept arm's one-aggregation fact query (``arms.fact_query`` over ``per_facet`` rows).

Why: the query sums, per result and per chunk, the best weight reached in each facet of
the question with one ``max`` per facet (at 100k chunks it replaced two groupings, the
heaviest server work of a search). These tests pin what the rule says where the new form
could go wrong: a node that stands in two facets, a result or chunk reaching one facet
through two concepts (the best counts, not the sum), and a facet a result does not reach
(adds nothing).
"""

from __future__ import annotations

import pytest

from impact_graph.model import Edge, GraphBatch, Node, make_id, span_ref
from impact_graph.ontology import load_schema
from impact_graph.search import arms as arms_mod
from impact_graph.search.query import parse_query
from impact_graph.store.port import GraphStore
from impact_graph.vocab import load_vocabulary

V = "https://w3id.org/impact-graph/vocab/"
LONELY = V + "challenges/eenzaamheid"
EMOTIONAL = V + "challenges/emotionele-eenzaamheid"
OLDER = V + "target-groups/ouderen"


def test_per_facet_rows_one_per_node_with_the_best_weight_in_each_facet() -> None:
    rows = arms_mod.per_facet(
        [("a", 0.5, 0), ("b", 0.7, 1), ("a", 0.9, 0), ("a", 0.4, 2), ("a", 0.2, 0)], 3
    )
    assert rows == [["a", [0.9, 0.0, 0.4]], ["b", [0.0, 0.7, 0.0]]]


@pytest.mark.parametrize("facets", [1, 2, 3, 5])
def test_fact_query_takes_one_best_weight_per_facet(facets: int) -> None:
    q = arms_mod.fact_query(facets)
    # Three branches (facts, inherited, chunks), each with one max per facet.
    assert q.count("UNION ALL") == 2
    assert q.count("max(") == 3 * facets
    assert f"x[1][{facets - 1}]" in q and f"x[1][{facets}]" not in q


def _graph(store: GraphStore) -> dict[str, str]:
    """Three interventions and three chunks of one document, reaching the loneliness
    facet through one or two concepts and the older-people facet or not."""
    doc = make_id("Document", "concept-arm-test")
    span = [span_ref(doc, 0, 10)]
    concepts = {
        "eenzaamheid": ("Challenge", LONELY),
        "emotionele eenzaamheid": ("Challenge", EMOTIONAL),
        "ouderen": ("TargetGroup", OLDER),
    }
    ids = {name: make_id(label, name) for name, (label, _) in concepts.items()}
    nodes = [
        Node(ids[name], label, {"name": name, "concept": iri}, spans=span)
        for name, (label, iri) in concepts.items()
    ]
    reach = {  # name -> concepts it reaches
        "beide": ["eenzaamheid", "emotionele eenzaamheid", "ouderen"],
        "alleen emotioneel": ["emotionele eenzaamheid"],
        "alleen ouderen": ["ouderen"],
    }
    edges: list[Edge] = []
    pos = 0
    for name, reached in reach.items():
        iid = ids[name] = make_id("Intervention", f"Aanpak {name}")
        nodes.append(Node(iid, "Intervention", {"name": f"Aanpak {name}"}, spans=span))
        for c in reached:
            rel = "TARGETS" if c == "ouderen" else "ADDRESSES"
            edges.append(Edge(iid, rel, ids[c], spans=span))
        cid = ids["chunk " + name] = f"chunk:{doc}:{pos}"
        text = f"Een tekst over {', '.join(reached)}."
        cspan = [span_ref(doc, pos, pos + len(text))]
        nodes.append(Node(cid, "Chunk", {"text": text, "position": pos, "start": pos}, spans=cspan))
        edges.append(Edge(doc, "HAS_CHUNK", cid, spans=cspan))
        for n, c in enumerate(reached):
            edges.append(Edge(cid, "MENTIONS", ids[c], {"start": pos + n}, key=str(n), spans=cspan))
        pos += len(text) + 1
    document = Node(doc, "Document", {"title": "arm", "content_hash": "arm-1", "kind": "plan"})
    store.upsert_batch(GraphBatch(document=document, nodes=nodes, edges=edges))
    return ids


def test_results_and_chunks_sum_their_best_concept_per_facet(store: GraphStore) -> None:
    vocab = load_vocabulary()
    ids = _graph(store)
    parsed = parse_query("eenzaamheid bij ouderen", vocab)
    w_lonely, w_emotional, w_older = (parsed.weight(c) for c in (LONELY, EMOTIONAL, OLDER))
    assert w_lonely > w_emotional > 0 and w_older > 0

    hits = arms_mod.concept_hits(store, parsed, vocab, arms_mod.concept_labels(load_schema()))

    # Facts count twice (2.0 x); two concepts of one facet count once, at the best.
    assert hits.direct[ids["beide"]] == pytest.approx(2.0 * (w_lonely + w_older))
    assert hits.direct[ids["alleen emotioneel"]] == pytest.approx(2.0 * w_emotional)
    assert hits.direct[ids["alleen ouderen"]] == pytest.approx(2.0 * w_older)
    # Chunks: the same rule over what they mention.
    assert hits.chunks[ids["chunk beide"]] == pytest.approx(w_lonely + w_older)
    assert hits.chunks[ids["chunk alleen emotioneel"]] == pytest.approx(w_emotional)
    assert hits.chunks[ids["chunk alleen ouderen"]] == pytest.approx(w_older)
