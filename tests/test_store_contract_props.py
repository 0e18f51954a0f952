"""Contract (every backend): vector and fulltext search can return only the properties
asked for, with the same hits and scores as the full answer.

Why: the search arms rank by id and score and read names only; a chunk's text was most
of a search reply (issue 4, speed), so they ask for ``props=["name"]``. The cheaper
answer must not change which nodes are found or how they score.
"""

from __future__ import annotations

import pytest

from impact_graph.model import GraphBatch, Node, make_id
from impact_graph.store.port import GraphStore
from tests.factories import doc_batch, near, unit_vector


def _interventions(store: GraphStore) -> list[float]:
    target = unit_vector(11)
    doc = Node(make_id("Document", "p.md"), "Document", {"title": "p", "content_hash": "p1"})
    nodes = [
        Node(
            make_id("Intervention", f"aanpak {i}"),
            "Intervention",
            {"name": f"aanpak {i}", "description": "lange beschrijving " * 20, "year": 2020},
            vector=near(target, i, eps=0.1 + 0.05 * i),
        )
        for i in range(8)
    ]
    # One without a name: a missing property is left out, not returned as null.
    nodes.append(Node(make_id("Intervention", "naamloos"), "Intervention", {}, vector=target))
    store.upsert_batch(GraphBatch(doc, nodes, []))
    return target


#: What a light hit may carry: the asked ``name``, the ``id``, and the ``label`` a
#: backend puts in every hit's props (Neo4j does, FalkorDB does not).
LIGHT = ("id", "name", "label")


def _same_hits(full: list, light: list) -> None:  # type: ignore[type-arg]
    """Same nodes, order and scores; the light props are the full ones cut to LIGHT."""
    assert [h.id for h in light] == [h.id for h in full]
    assert [h.label for h in light] == [h.label for h in full]
    assert [h.score for h in light] == pytest.approx([h.score for h in full])
    for a, b in zip(full, light, strict=True):
        assert b.props == {k: v for k, v in a.props.items() if k in LIGHT}
        assert b.props["id"] == b.id


def test_vector_search_returns_only_the_asked_properties(store: GraphStore) -> None:
    target = _interventions(store)
    full = store.vector_search("Intervention", target, k=6)
    light = store.vector_search("Intervention", target, k=6, props=["name"])
    assert len(full) == 6
    _same_hits(full, light)
    assert any("description" in h.props for h in full)  # the default is unchanged
    for h in light:
        if h.id != make_id("Intervention", "naamloos"):
            assert h.props["name"].startswith("aanpak")
    assert "name" not in next(h for h in light if h.id.endswith("naamloos")).props
    bare = store.vector_search("Intervention", target, k=3, props=[])
    assert set(bare[0].props) <= {"id", "label"} and bare[0].props["id"] == light[0].id


@pytest.mark.parametrize(
    "text",
    [
        "eenzaam ouderen",  # FalkorDB: every word fills k, one query
        "eenzaam sporten",  # no chunk has both: the union answers
        "ouderen",  # one word
    ],
)
def test_fulltext_search_returns_only_the_asked_properties(store: GraphStore, text: str) -> None:
    texts = [
        "Ouderen in de wijk voelen zich eenzaam.",
        "Eenzaam en oud: ouderen aan tafel.",
        "Jongeren sporten samen in de buurt.",
        "Ouderen sporten in het buurthuis.",
    ]
    for n, t in enumerate(texts):
        store.upsert_batch(doc_batch(f"props-{n}.md", [], text=t))
    for k in (1, 2, 5):
        full = store.fulltext_search("Chunk", text, k=k)
        light = store.fulltext_search("Chunk", text, k=k, props=["name"])
        assert full, text
        _same_hits(full, light)
        assert all("text" in h.props for h in full)
