"""The GraphStore contract: the same assertions on every backend (FalkorDB and Neo4j).

Each test gets a cleared, real store (see ``conftest.store``). If one backend needs an
exception here, the port is wrong, not the test.
"""

from __future__ import annotations

import pytest

from impact_graph.model import Edge, GraphBatch, Node, make_id
from impact_graph.store.port import (
    GraphStore,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
)
from tests.factories import doc_batch, near, unit_vector

UTRECHT = ("Actor", "Gemeente Utrecht")
WOR = ("Intervention", "Welzijn op Recept")
LONELY = ("Challenge", "eenzaamheid")
ELDERLY = ("TargetGroup", "ouderen")


def node(store: GraphStore, label: str, name: str) -> dict | None:
    found = store.get_nodes([make_id(label, name)])
    return found[0] if found else None


def rel_count(store: GraphStore, type_: str) -> int:
    return store.stats().relationships.get(type_, 0)


def mention_spans(store: GraphStore, label: str, name: str) -> list[str]:
    """The sentence spans of an entity: those of its incoming MENTIONS edges (nodes keep
    no span list, see falkordb_store._MERGE_PROVENANCE)."""
    rows = store.read_query(
        "MATCH (:Chunk)-[m:MENTIONS]->(n {id: $id}) UNWIND m.spans AS s RETURN s ORDER BY s",
        {"id": make_id(label, name)},
    ).rows
    return [r[0] for r in rows]


# --- writing --------------------------------------------------------------------------


def test_upsert_writes_nodes_edges_and_provenance(store: GraphStore) -> None:
    b = doc_batch(
        "a.md", [WOR, LONELY, UTRECHT], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")]
    )
    res = store.upsert_batch(b)
    assert not res.skipped

    wor = node(store, *WOR)
    assert wor is not None
    assert wor["label"] == "Intervention"
    assert wor["name"] == "Welzijn op Recept"
    assert wor["sources"] == [b.doc_id]
    assert "spans" not in wor, "a shared node keeps no span list; its MENTIONS edges do"
    assert mention_spans(store, *WOR) == [b.nodes[1].spans[0]]
    assert wor["aliases"] == ["welzijn op recept"]
    assert "embedding" not in wor

    stats = store.stats()
    assert stats.nodes["Intervention"] == 1
    assert stats.nodes["Challenge"] == 1
    assert stats.nodes["Document"] == 1
    assert stats.documents == 1
    assert stats.relationships["ADDRESSES"] == 1
    assert stats.relationships["MENTIONS"] == 3
    assert store.document_hashes() == {b.doc_id: b.content_hash}


def test_reingest_unchanged_document_writes_nothing(store: GraphStore) -> None:
    b = doc_batch("a.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    store.upsert_batch(b)
    before = store.stats()
    again = store.upsert_batch(
        doc_batch("a.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    )
    assert again.skipped
    after = store.stats()
    assert after.nodes == before.nodes
    assert after.relationships == before.relationships


def test_changed_document_replaces_only_its_own_facts(store: GraphStore) -> None:
    a1 = doc_batch(
        "a.md", [WOR, LONELY, UTRECHT], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")]
    )
    b = doc_batch("b.md", [WOR, ELDERLY], [("Welzijn op Recept", "TARGETS", "ouderen")])
    store.upsert_batch(a1)
    store.upsert_batch(b)

    # a.md changes: it no longer speaks of Utrecht nor of the ADDRESSES fact.
    a2 = doc_batch("a.md", [WOR, LONELY], version="2")
    assert a2.content_hash != a1.content_hash
    assert not store.upsert_batch(a2).skipped

    assert node(store, *UTRECHT) is None, "a fact only a.md supported must go"
    assert node(store, *LONELY) is not None, "a.md still mentions eenzaamheid"
    assert rel_count(store, "ADDRESSES") == 0
    assert rel_count(store, "TARGETS") == 1, "b.md's facts are untouched"
    wor = node(store, *WOR)
    assert wor is not None and sorted(wor["sources"]) == sorted([a2.doc_id, b.doc_id])
    assert store.document_hashes()[a2.doc_id] == a2.content_hash
    assert store.stats().documents == 2


def test_delete_document_removes_its_facts_and_nothing_else(store: GraphStore) -> None:
    a = doc_batch(
        "a.md", [WOR, LONELY, UTRECHT], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")]
    )
    b = doc_batch("b.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    store.upsert_batch(a)
    store.upsert_batch(b)

    assert store.delete_document(a.doc_id) is True
    assert node(store, *UTRECHT) is None
    wor = node(store, *WOR)
    assert wor is not None and wor["sources"] == [b.doc_id]
    assert "spans" not in wor
    spans = mention_spans(store, *WOR)
    assert spans and all(s.startswith(b.doc_id + "#") for s in spans), spans
    # The shared ADDRESSES edge survives, now supported by b.md alone.
    rows = store.read_query(
        "MATCH (i:Intervention)-[r:ADDRESSES]->(c:Challenge) RETURN r.sources AS s"
    ).rows
    assert rows == [[[b.doc_id]]]
    stats = store.stats()
    assert stats.documents == 1
    assert stats.nodes["Chunk"] == 1
    assert set(store.document_hashes()) == {b.doc_id}

    assert store.delete_document("document:does-not-exist") is False


def test_parallel_edges_are_kept_apart_by_key(store: GraphStore) -> None:
    text = "Welzijn op Recept werkt. Welzijn op Recept verbindt."
    b = doc_batch("a.md", [WOR], text=text)
    chunk_id = b.nodes[0].id
    wid = make_id(*WOR)
    b.edges.append(Edge(chunk_id, "MENTIONS", wid, {"start": 25, "end": 42}, key="25-42"))
    store.upsert_batch(b)
    rows = store.read_query(
        "MATCH (:Chunk)-[m:MENTIONS]->(i:Intervention) RETURN m.start AS s ORDER BY s"
    ).rows
    assert [r[0] for r in rows] == [0, 25]


def test_batch_with_dangling_edge_is_refused_before_writing(store: GraphStore) -> None:
    b = doc_batch("a.md", [WOR])
    b.edges.append(Edge(make_id(*WOR), "ADDRESSES", "challenge:not-in-batch"))
    with pytest.raises(ValueError, match="not in the batch"):
        store.upsert_batch(b)
    assert store.stats().total_nodes == 0


def test_list_and_datetime_properties_round_trip(store: GraphStore) -> None:
    doc_id = make_id("Document", "p.md")
    doc = Node(
        doc_id,
        "Document",
        {"title": "p", "content_hash": "h1", "created_at": "2026-11-27T06:00:00Z"},
    )
    prog = Node(
        make_id("Programme", "Samen Minder Alleen"),
        "Programme",
        {
            "name": "Samen Minder Alleen",
            "year": 2026,
            "budget": 125000.5,
            "aliases": ["SMA", "samen minder alleen"],
            "active": True,
        },
    )
    store.upsert_batch(GraphBatch(doc, [prog], []))
    got = store.get_nodes([prog.id])[0]
    assert got["year"] == 2026
    assert got["budget"] == pytest.approx(125000.5)
    assert got["aliases"] == ["SMA", "samen minder alleen"]
    assert got["active"] is True
    assert store.get_nodes([doc_id])[0]["created_at"] == "2026-11-27T06:00:00Z"


# --- search ---------------------------------------------------------------------------


def test_vector_search_returns_nearest_with_similarity_in_unit_interval(store: GraphStore) -> None:
    target = unit_vector(7)
    doc = Node(make_id("Document", "v.md"), "Document", {"title": "v", "content_hash": "v1"})
    nodes = [
        Node(
            make_id("Intervention", f"i{i}"),
            "Intervention",
            {"name": f"i{i}"},
            vector=unit_vector(100 + i),
        )
        for i in range(30)
    ]
    nodes.append(
        Node(
            make_id("Intervention", "close"),
            "Intervention",
            {"name": "close"},
            vector=near(target, 1),
        )
    )
    store.upsert_batch(GraphBatch(doc, nodes, []))
    hits = store.vector_search("Intervention", target, k=5)
    assert len(hits) == 5
    assert hits[0].id == make_id("Intervention", "close")
    assert hits[0].score > 0.95
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert "embedding" not in hits[0].props


def test_fulltext_search_dutch_and_hostile_text(store: GraphStore) -> None:
    store.upsert_batch(
        doc_batch(
            "a.md", [WOR], text="Ouderen in de wijk voelen zich eenzaam; Welzijn op Recept helpt."
        )
    )
    store.upsert_batch(
        doc_batch(
            "b.md",
            [("Intervention", "JOGG-aanpak")],
            text="De JOGG-aanpak richt zich op gezond gewicht bij jongeren.",
        )
    )
    hits = store.fulltext_search("Chunk", "eenzaam", k=5)
    assert hits and hits[0].props["text"].startswith("Ouderen")
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert hits[0].score == pytest.approx(1.0)
    ent = store.fulltext_search("Intervention", "recept", k=5)
    assert [h.id for h in ent] == [make_id(*WOR)]
    for hostile in ["foo AND (", '"unbalanced', "a:b OR -", "*", "~!@#$%^&*()[]{}|\\/", ""]:
        assert isinstance(store.fulltext_search("Chunk", hostile, k=5), list)


# --- traversal ------------------------------------------------------------------------


def test_neighbourhood_hops(store: GraphStore) -> None:
    b = doc_batch(
        "a.md", [WOR, LONELY, ELDERLY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")]
    )
    store.upsert_batch(b)
    one = store.neighbourhood(make_id(*LONELY), hops=1)
    ids1 = {n["id"] for n in one.nodes}
    assert make_id(*WOR) in ids1 and make_id(*LONELY) in ids1
    assert make_id(*ELDERLY) not in ids1
    assert any(e["type"] == "ADDRESSES" for e in one.edges)
    assert all({"source", "target", "type"} <= e.keys() for e in one.edges)
    two = store.neighbourhood(make_id(*LONELY), hops=2)
    assert make_id(*ELDERLY) in {n["id"] for n in two.nodes}  # via the chunk's MENTIONS
    capped = store.neighbourhood(make_id(*LONELY), hops=2, limit=2)
    assert len(capped.nodes) <= 2
    assert store.neighbourhood("nobody:here", hops=1).nodes == []


# --- researcher queries ---------------------------------------------------------------


def test_read_query_rows_params_and_cap(store: GraphStore) -> None:
    store.upsert_batch(doc_batch("a.md", [WOR, LONELY, ELDERLY, UTRECHT]))
    res = store.read_query(
        "MATCH (n:Node) WHERE n.name = $name RETURN n.name AS name", {"name": "ouderen"}
    )
    assert res.columns == ["name"]
    assert res.rows == [["ouderen"]]
    assert not res.truncated
    capped = store.read_query("UNWIND range(1, 50) AS x RETURN x", row_cap=10)
    assert len(capped.rows) == 10 and capped.truncated and capped.row_cap == 10
    nodes = store.read_query("MATCH (n:Intervention) RETURN n").rows
    assert nodes[0][0]["name"] == "Welzijn op Recept"
    assert "embedding" not in nodes[0][0]


@pytest.mark.parametrize(
    "query",
    [
        "CREATE (n:Intervention {id: 'x'}) RETURN n",
        "MATCH (n) SET n.name = 'x' RETURN n",
        "MATCH (n) DETACH DELETE n",
        "MERGE (n:Actor {id: 'x'}) RETURN n",
        "MATCH (n) REMOVE n.name RETURN n",
        "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row",
        "CALL dbms.components()",
    ],
)
def test_read_query_refuses_writes_and_outside_reach(store: GraphStore, query: str) -> None:
    store.upsert_batch(doc_batch("a.md", [WOR]))
    before = store.stats()
    with pytest.raises(QueryRefused) as err:
        store.read_query(query)
    assert "read" in str(err.value).lower()
    after = store.stats()
    assert after.nodes == before.nodes and after.relationships == before.relationships
    assert node(store, *WOR)["name"] == "Welzijn op Recept"


def test_read_query_syntax_error_and_timeout(store: GraphStore) -> None:
    with pytest.raises(QuerySyntaxError):
        store.read_query("MATCH (n RETURN n")
    with pytest.raises(QueryTimeout) as err:
        store.read_query(
            "UNWIND range(1, 3000) AS a UNWIND range(1, 3000) AS b "
            "UNWIND range(1, 3000) AS c RETURN count(*)",
            timeout_s=0.5,
        )
    assert "0.5" in str(err.value)
    # The store still answers afterwards.
    assert store.read_query("RETURN 1 AS one").rows == [[1]]


def test_stats_reports_indexes(store: GraphStore, schema) -> None:  # type: ignore[no-untyped-def]
    kinds = {(i.label, i.kind) for i in store.stats().indexes}
    for label in schema.vector_labels:
        assert (label, "vector") in kinds
    for label in schema.fulltext_labels:
        assert (label, "fulltext") in kinds
