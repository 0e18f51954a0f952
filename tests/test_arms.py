"""The concept arm's scoring inside the database, on every backend.

Why these tests: at 100k chunks a broad concept ("eenzaamheid") has thousands of facts,
so the concept arm sums and cuts them inside the database with the weights fixed before
the query (issue 4, speed). The answer must stay what the scoring rule says: per facet
of the question the best concept reached, summed over facets; an effect the wrong way
counts at ``UNFAVOURABLE``; what a programme addresses is inherited at ``INHERITED``;
and the cut at ``FACT_LIMIT`` keeps the best scores.
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
FEELINGS = V + "outcomes/eenzaamheidsgevoelens"


@pytest.fixture(scope="module")
def vocab():  # type: ignore[no-untyped-def]
    return load_vocabulary()


def test_an_effect_counts_fully_only_the_desirable_way(vocab) -> None:  # type: ignore[no-untyped-def]
    """Less loneliness is the answer; more, none or an unknown direction is not."""
    w = 0.8
    assert arms_mod.fact_weight(vocab, "Effect", FEELINGS, "−", w) == w
    assert arms_mod.fact_weight(vocab, "Effect", FEELINGS, "-", w) == w  # ASCII spelling
    for direction in ("+", "0", None, ""):
        got = arms_mod.fact_weight(vocab, "Effect", FEELINGS, direction, w)
        assert got == pytest.approx(w * arms_mod.UNFAVOURABLE), direction
    # Only effects have a direction; a challenge node counts as it is.
    assert arms_mod.fact_weight(vocab, "Challenge", LONELY, None, w) == w


def _graph(store: GraphStore, n_lonely: int, n_both: int) -> dict[str, str]:
    """Interventions against loneliness (``n_both`` of them also for older people, one
    of those also against emotional loneliness), a programme that addresses loneliness
    and uses an intervention without facts of its own."""
    doc = make_id("Document", "arms-test")
    span = [span_ref(doc, 0, 10)]
    concepts = {
        "eenzaamheid": ("Challenge", LONELY),
        "emotionele eenzaamheid": ("Challenge", EMOTIONAL),
        "ouderen": ("TargetGroup", OLDER),
    }
    nodes = [
        Node(make_id(label, name), label, {"name": name, "concept": iri}, spans=span)
        for name, (label, iri) in concepts.items()
    ]
    ids = {name: make_id(label, name) for name, (label, _) in concepts.items()}
    edges: list[Edge] = []
    for i in range(n_lonely):
        name = f"Aanpak {i:02d}"
        iid = ids[name] = make_id("Intervention", name)
        nodes.append(Node(iid, "Intervention", {"name": name}, spans=span))
        edges.append(Edge(iid, "ADDRESSES", ids["eenzaamheid"], spans=span))
        if i < n_both:
            edges.append(Edge(iid, "TARGETS", ids["ouderen"], spans=span))
        if i == 0:
            edges.append(Edge(iid, "ADDRESSES", ids["emotionele eenzaamheid"], spans=span))
    ids["used"] = make_id("Intervention", "Gebruikte aanpak")
    ids["programme"] = make_id("Programme", "Samen minder alleen")
    nodes += [
        Node(ids["used"], "Intervention", {"name": "Gebruikte aanpak"}, spans=span),
        Node(ids["programme"], "Programme", {"name": "Samen minder alleen"}, spans=span),
    ]
    edges += [
        Edge(ids["programme"], "ADDRESSES", ids["eenzaamheid"], spans=span),
        Edge(ids["programme"], "USES", ids["used"], spans=span),
    ]
    document = Node(doc, "Document", {"title": "arms", "content_hash": "arms-1", "kind": "plan"})
    store.upsert_batch(GraphBatch(document=document, nodes=nodes, edges=edges))
    return ids


def test_facets_sum_their_best_concept_and_the_cut_keeps_the_best(
    store: GraphStore,
    vocab,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = _graph(store, n_lonely=12, n_both=4)
    parsed = parse_query("eenzaamheid bij ouderen", vocab)
    w_lonely, w_older = parsed.weight(LONELY), parsed.weight(OLDER)
    assert w_lonely > parsed.weight(EMOTIONAL) > 0 and w_older > 0
    labels = arms_mod.concept_labels(load_schema())

    hits = arms_mod.concept_hits(store, parsed, vocab, labels)
    both = 2.0 * (w_lonely + w_older)
    # Aanpak 00 reaches the loneliness facet twice (eenzaamheid, emotionele
    # eenzaamheid): the best one counts, not the sum.
    for i in range(4):
        assert hits.direct[ids[f"Aanpak {i:02d}"]] == pytest.approx(both)
    for i in range(4, 12):
        assert hits.direct[ids[f"Aanpak {i:02d}"]] == pytest.approx(2.0 * w_lonely)
    # Inherited from the programme that uses it, at INHERITED of a fact of its own.
    inherited = 2.0 * arms_mod.INHERITED * w_lonely
    assert hits.direct[ids["used"]] == pytest.approx(inherited)
    assert ids["programme"] not in hits.direct  # programmes are not results
    assert hits.names[ids["Aanpak 03"]] == "Aanpak 03"

    # A cut below the number of facts keeps the best scores, ties by id.
    monkeypatch.setattr(arms_mod, "FACT_LIMIT", 6)
    cut = arms_mod.concept_hits(store, parsed, vocab, labels)
    kept = sorted(i for i in cut.direct if i.startswith("intervention:aanpak"))
    assert kept == sorted(ids[f"Aanpak {i:02d}"] for i in range(6))
    assert cut.direct[ids["used"]] == pytest.approx(inherited)
