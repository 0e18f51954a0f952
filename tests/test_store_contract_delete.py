"""The GraphStore contract for deleting and replacing a document: the same assertions on
every backend (FalkorDB and Neo4j, see ``conftest.store``).

Why a file of its own: a document may write a node none of its own edges touch (the
pipeline does, for a front-matter programme or author named nowhere in the text). A
delete path that finds a document's nodes by walking the document's edges, plus the
nodes with no relationship at all, misses such a node once ANOTHER document links it:
the node kept the deleted document in its ``sources``, and was never dropped when it
should have been. Each backend now keeps a list of its nodes on the Document node
(``_node_ids``, hidden from readers); a document written before that list is found by a
scan of every node's ``sources``.
"""

from __future__ import annotations

from impact_graph.model import GraphBatch, Node, make_id
from impact_graph.store.port import GraphStore
from tests.factories import doc_batch

WOR = ("Intervention", "Welzijn op Recept")
LONELY = ("Challenge", "eenzaamheid")
PROGRAMME = ("Programme", "Samen Sterk")
AUTHOR = ("Actor", "Stichting Alleen")
#: The Document node's list of its nodes (falkordb_store.DOC_NODES, neo4j_store.DOC_NODES).
NODE_LIST = "_node_ids"


def _sources(store: GraphStore, label: str, name: str) -> list[str] | None:
    """The documents a node names as its sources, None when the node is gone."""
    found = store.get_nodes([make_id(label, name)])
    return sorted(found[0]["sources"]) if found else None


def _with_unlinked(key: str, version: str = "1") -> GraphBatch:
    """A document whose chunk mentions WOR, that also writes PROGRAMME and AUTHOR with no
    edge of its own (as front matter does)."""
    base = doc_batch(key, [WOR], version=version)
    extra = [
        Node(make_id(label, name), label, {"name": name}) for label, name in (PROGRAMME, AUTHOR)
    ]
    return GraphBatch(base.document, [*base.nodes, *extra], base.edges)


def _linking_programme(key: str = "b.md") -> GraphBatch:
    """Another document whose chunk mentions PROGRAMME: the node has edges, none of a.md."""
    return doc_batch(key, [PROGRAMME, LONELY])


def _graph_is(store: GraphStore, docs: list[GraphBatch]) -> None:
    """Exactly the nodes of ``docs`` are left, and every node and edge names only them."""
    wanted = {b.doc_id for b in docs}
    rows = store.read_query("MATCH (n) RETURN n.id, n.sources", row_cap=10_000).rows
    for node_id, sources in rows:
        assert sources and set(sources) <= wanted, (node_id, sources)
    assert {r[0] for r in rows} == {n.id for b in docs for n in b.all_nodes()}
    edges = store.read_query(
        "MATCH (a)-[e]->(b) RETURN a.id, type(e), b.id, e.sources", row_cap=10_000
    ).rows
    for src, type_, dst, sources in edges:
        assert sources and set(sources) <= wanted, (src, type_, dst, sources)
    assert len(edges) == sum(len(b.edges) for b in docs)


def _forget_node_list(store: GraphStore, doc_id: str) -> None:
    """Put ``doc_id`` in the state the store's earlier code left it: no node list.

    The one backend-specific step here (a write no researcher query may make)."""
    inner = getattr(store, "inner", store)
    query = f"MATCH (d:Node {{id: $doc}}) REMOVE d.{NODE_LIST}"
    if store.backend == "neo4j":
        inner._write(query, {"doc": doc_id})  # type: ignore[attr-defined]
    else:
        inner._q(query, {"doc": doc_id})  # type: ignore[attr-defined]
    raw = store.read_query(f"MATCH (d {{id: $doc}}) RETURN d.{NODE_LIST}", {"doc": doc_id})
    assert raw.rows == [[None]]


def test_delete_strips_a_node_the_document_wrote_without_an_edge(store: GraphStore) -> None:
    """(a) PROGRAMME: written by a.md with no edge of a.md, linked by b.md. Deleting a.md
    leaves it (b.md's) without a.md in its sources. (b) AUTHOR: a.md's alone, no edges:
    it goes."""
    a, b = _with_unlinked("a.md"), _linking_programme()
    store.upsert_batch(a)
    store.upsert_batch(b)
    assert _sources(store, *PROGRAMME) == sorted([a.doc_id, b.doc_id])
    assert _sources(store, *AUTHOR) == [a.doc_id]

    assert store.delete_document(a.doc_id) is True
    assert _sources(store, *PROGRAMME) == [b.doc_id]
    assert _sources(store, *AUTHOR) is None
    assert _sources(store, *WOR) is None
    _graph_is(store, [b])


def test_delete_drops_an_unlinked_node_beside_another_documents_edges(
    store: GraphStore,
) -> None:
    """(b) a node only a.md wrote, with no edges, is dropped, while a node with edges only
    of b.md (and a.md in its sources, with no edge of a.md) stays as b.md's."""
    a = _with_unlinked("a.md")
    b = doc_batch("b.md", [PROGRAMME], [])
    store.upsert_batch(b)
    store.upsert_batch(a)  # written second: the shared node's list names b.md first

    assert store.delete_document(a.doc_id) is True
    assert _sources(store, *AUTHOR) is None
    assert _sources(store, *PROGRAMME) == [b.doc_id]
    _graph_is(store, [b])
    assert store.delete_document(b.doc_id) is True
    _graph_is(store, [])


def test_replace_removes_a_node_the_new_version_no_longer_writes(store: GraphStore) -> None:
    """(c) a.md's next version names neither PROGRAMME nor AUTHOR: PROGRAMME keeps only
    b.md, AUTHOR goes; deleting the new version leaves b.md's graph alone."""
    a1, b = _with_unlinked("a.md"), _linking_programme()
    store.upsert_batch(a1)
    store.upsert_batch(b)

    a2 = doc_batch("a.md", [LONELY], version="2")
    assert not store.upsert_batch(a2).skipped
    assert _sources(store, *PROGRAMME) == [b.doc_id]
    assert _sources(store, *AUTHOR) is None
    assert _sources(store, *WOR) is None
    assert _sources(store, *LONELY) == sorted([a2.doc_id, b.doc_id])
    _graph_is(store, [a2, b])

    # And back: a version that writes them again, replaced by one that does not.
    a3 = _with_unlinked("a.md", version="3")
    store.upsert_batch(a3)
    assert _sources(store, *PROGRAMME) == sorted([a3.doc_id, b.doc_id])
    a4 = doc_batch("a.md", [WOR], version="4")
    store.upsert_batch(a4)
    assert _sources(store, *PROGRAMME) == [b.doc_id]
    assert _sources(store, *AUTHOR) is None
    _graph_is(store, [a4, b])


def test_a_document_written_without_a_node_list_deletes_and_replaces_whole(
    store: GraphStore,
) -> None:
    """(d) documents written by the earlier code carry no node list: their removal scans
    for them, and still strips and drops the nodes they wrote without an edge."""
    a, b = _with_unlinked("a.md"), _linking_programme()
    store.upsert_batch(a)
    store.upsert_batch(b)
    _forget_node_list(store, a.doc_id)
    assert store.delete_document(a.doc_id) is True
    assert _sources(store, *PROGRAMME) == [b.doc_id]
    assert _sources(store, *AUTHOR) is None
    _graph_is(store, [b])

    a1 = _with_unlinked("a.md", version="5")
    store.upsert_batch(a1)
    _forget_node_list(store, a1.doc_id)
    a2 = doc_batch("a.md", [LONELY], version="6")
    assert not store.upsert_batch(a2).skipped
    assert _sources(store, *PROGRAMME) == [b.doc_id]
    assert _sources(store, *AUTHOR) is None
    _graph_is(store, [a2, b])
    # The new version has its list, and deletes whole by it.
    raw = store.read_query(f"MATCH (d {{id: $doc}}) RETURN d.{NODE_LIST}", {"doc": a2.doc_id})
    assert sorted(raw.rows[0][0]) == sorted(n.id for n in a2.nodes)
    assert store.delete_document(a2.doc_id) is True
    _graph_is(store, [b])


def test_the_node_list_is_hidden_from_readers(store: GraphStore) -> None:
    """The delete path's list is no property a reader sees: not from get_nodes, a
    neighbourhood, nor a researcher query's node or property map (only when asked for
    by name)."""
    a = _with_unlinked("a.md")
    store.upsert_batch(a)
    (doc,) = store.get_nodes([a.doc_id])
    assert NODE_LIST not in doc and doc["title"] == "a.md"
    sub = store.neighbourhood(a.doc_id, hops=1)
    assert sub.nodes and all(NODE_LIST not in n for n in sub.nodes)
    node, props, raw = store.read_query(
        f"MATCH (d:Document) RETURN d, properties(d), d.{NODE_LIST}"
    ).rows[0]
    assert NODE_LIST not in node and NODE_LIST not in props
    assert node["title"] == props["title"] == "a.md"
    assert sorted(raw) == sorted(n.id for n in a.nodes)
