"""FalkorDB without a range index on ``Node.sources``: the delete path still finds every
node of a document, and a graph made with the old index loses it.

Why the index went: FalkorDB indexes an array element-wise, so every append of a
document to a shared node's ``sources`` (1,449 documents on one node at 2,000
generated documents) re-indexed the whole list (bench/tools/write_cost.py
``--sources-index both``). The delete path now seeks a document's nodes by id from the
list on its Document node (``falkordb_store.DOC_NODES``); documents written before that
list existed, and documents whose write did not finish, are found by a label scan.

Real embedded server (one per module), one graph per test.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from impact_graph.config import Settings
from impact_graph.model import GraphBatch, Node, make_id
from impact_graph.ontology import load_schema
from impact_graph.schema import Schema
from impact_graph.store.falkordb_server import FalkorDBServer
from impact_graph.store.falkordb_store import DOC_NODES, ROW_CHUNK, FalkorDBStore
from tests.factories import doc_batch, schema_store

WOR = ("Intervention", "Welzijn op Recept")
LONELY = ("Challenge", "eenzaamheid")
UTRECHT = ("Actor", "Gemeente Utrecht")
OLD_INDEX = "CREATE INDEX FOR (n:Node) ON (n.sources)"
_names = itertools.count()


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("fdb-sources")
    yield data
    FalkorDBServer(data).stop()


@pytest.fixture
def store(data_dir: Path, schema: Schema) -> Iterator[FalkorDBStore]:
    """A graph of its own, with the schema; deleted whole afterwards."""
    settings = Settings(data_dir=data_dir, graph_name=f"s{next(_names)}")
    with schema_store(FalkorDBStore(settings), schema, drop=lambda st: st.delete_graph()) as st:
        yield st


def _sources_indexed(store: FalkorDBStore) -> bool:
    return "RANGE" in store._index_kinds().get(("Node", "sources"), set())


def _node_index_when_built(store: FalkorDBStore, timeout_s: float = 30.0) -> list[str]:
    """The properties of the Node label's index once FalkorDB has finished rebuilding it
    (a dropped field is rebuilt away in the background; until then ``db.indexes()``
    lists the old index next to the new one)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = [
            r
            for r in store._q("CALL db.indexes() YIELD label, properties, status")
            if r[0] == "Node"
        ]
        if len(rows) == 1 and rows[0][2] == "OPERATIONAL":
            return list(rows[0][1])
        assert time.monotonic() < deadline, rows
        time.sleep(0.05)


def _sources(store: FalkorDBStore, label: str, name: str) -> list[str] | None:
    found = store.get_nodes([make_id(label, name)])
    return sorted(found[0]["sources"]) if found else None


def _forget_node_list(store: FalkorDBStore, doc_id: str) -> None:
    """The state of a document written before the store kept its node list."""
    store._q(f"MATCH (d:Node {{id: $doc}}) REMOVE d.{DOC_NODES}", {"doc": doc_id})
    assert store._q(f"MATCH (d:Node {{id: $doc}}) RETURN d.{DOC_NODES}", {"doc": doc_id}) == [
        [None]
    ]


def _graph_is(store: FalkorDBStore, docs: list[GraphBatch]) -> None:
    """Every node and edge left names only ``docs``, and every node of them is there."""
    wanted = {b.doc_id for b in docs}
    for (sources,) in store._q("MATCH (n:Node) RETURN n.sources"):
        assert sources and set(sources) <= wanted, sources
    for (sources,) in store._q("MATCH ()-[e]->() RETURN e.sources"):
        assert sources and set(sources) <= wanted, sources
    ids = {n.id for b in docs for n in b.all_nodes()}
    assert {r[0] for r in store._q("MATCH (n:Node) RETURN n.id")} == ids


def test_schema_has_no_sources_index_and_drops_an_old_one(
    store: FalkorDBStore, schema: Schema
) -> None:
    """A fresh graph gets none; a graph made before keeps working and loses it on the
    next setup_schema, and its documents (written without a node list) still delete
    whole."""
    assert not _sources_indexed(store)
    store._q(OLD_INDEX)  # the graph as an earlier version of the store made it
    assert _sources_indexed(store)
    a = doc_batch(
        "a.md", [WOR, LONELY, UTRECHT], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")]
    )
    b = doc_batch("b.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    store.upsert_batch(a)
    store.upsert_batch(b)
    _forget_node_list(store, a.doc_id)

    store.setup_schema(schema)
    assert not _sources_indexed(store)  # as it will be (it may still be rebuilding)
    store.setup_schema(schema)  # meanwhile another start: no second drop, no error
    assert _node_index_when_built(store) == ["id"]
    assert store.delete_document(a.doc_id) is True
    _graph_is(store, [b])
    assert _sources(store, *WOR) == [b.doc_id]
    rows = store._q("MATCH (:Intervention)-[e:ADDRESSES]->(:Challenge) RETURN e.sources")
    assert rows == [[[b.doc_id]]]


def test_a_document_written_before_the_node_list_is_replaced_whole(store: FalkorDBStore) -> None:
    """Its changed version removes what the old one alone supported (found by scan);
    the new version has a list, and deleting it leaves only the other document."""
    a1 = doc_batch("a.md", [WOR, UTRECHT])
    b = doc_batch("b.md", [WOR])
    store.upsert_batch(a1)
    store.upsert_batch(b)
    _forget_node_list(store, a1.doc_id)

    a2 = doc_batch("a.md", [WOR, LONELY], version="2")
    assert not store.upsert_batch(a2).skipped
    assert _sources(store, *UTRECHT) is None
    assert _sources(store, *WOR) == sorted([a2.doc_id, b.doc_id])
    _graph_is(store, [a2, b])
    listed = store._q(f"MATCH (d:Node {{id: $doc}}) RETURN d.{DOC_NODES}", {"doc": a2.doc_id})
    assert sorted(listed[0][0]) == sorted(n.id for n in a2.nodes)

    assert store.delete_document(a2.doc_id) is True
    _graph_is(store, [b])
    assert _sources(store, *WOR) == [b.doc_id]


def test_a_node_with_no_edge_of_its_document_is_stripped_and_dropped(
    store: FalkorDBStore,
) -> None:
    """A document may write a node none of its edges touch (a front-matter programme
    named nowhere in the text): the list still finds it. One such node is shared with a
    document that does link it (stripped), one is the document's alone (dropped); a
    replacement of the document that no longer names them does the same."""
    prog = Node(make_id("Programme", "Samen Sterk"), "Programme", {"name": "Samen Sterk"})
    lone = Node(make_id("Actor", "Stichting Alleen"), "Actor", {"name": "Stichting Alleen"})
    base = doc_batch("a.md", [WOR])
    a = GraphBatch(base.document, [*base.nodes, prog, lone], base.edges)
    # b.md links the programme: it has edges, none of them a.md's.
    b = doc_batch("b.md", [("Programme", "Samen Sterk"), WOR])
    for version, remove in (("1", "delete"), ("2", "replace")):
        a.document.props["content_hash"] = f"hash-{version}"
        store.upsert_batch(a)
        store.upsert_batch(b)
        assert _sources(store, "Programme", "Samen Sterk") == sorted([a.doc_id, b.doc_id])
        if remove == "delete":
            assert store.delete_document(a.doc_id) is True
            _graph_is(store, [b])
        else:
            a2 = doc_batch("a.md", [LONELY], version="3")
            store.upsert_batch(a2)
            _graph_is(store, [a2, b])
            store.delete_document(a2.doc_id)
        assert _sources(store, "Programme", "Samen Sterk") == [b.doc_id]
        assert _sources(store, "Actor", "Stichting Alleen") is None


def test_removal_seeks_a_listed_document_by_id_and_scans_only_the_rest(
    store: FalkorDBStore,
) -> None:
    """The plans of the removal queries: a listed document's nodes by the Node.id index
    (no scan of every node), an unlisted one's by a label scan."""
    for cmd in store._removal_queries("document:a-md", by_list=True):
        plan = "\n".join(store.graph.execute_command("GRAPH.EXPLAIN", cmd[1], cmd[2]))
        assert "Node By Index Scan | (n:Node)" in plan, plan
        assert "Label Scan" not in plan and "All Node Scan" not in plan, plan
    for cmd in store._removal_queries("document:a-md", by_list=False):
        plan = "\n".join(store.graph.execute_command("GRAPH.EXPLAIN", cmd[1], cmd[2]))
        assert "Node By Label Scan | (n:Node)" in plan, plan


def test_the_node_list_is_hidden_from_readers(store: FalkorDBStore) -> None:
    """The delete path's list is no property anyone reads: not in get_nodes, nor in a
    researcher query's node or map."""
    a = doc_batch("a.md", [WOR])
    store.upsert_batch(a)
    (doc,) = store.get_nodes([a.doc_id])
    assert DOC_NODES not in doc and doc["title"] == "a.md"
    res = store.read_query(
        "MATCH (d:Document) RETURN d AS d, properties(d) AS p, d._node_ids AS raw"
    )
    node, props, raw = res.rows[0]
    assert DOC_NODES not in node and DOC_NODES not in props
    assert node["title"] == props["title"] == "a.md"
    assert sorted(raw) == sorted(n.id for n in a.nodes)  # asked for by name: there


def test_setup_schema_on_a_ready_graph_is_one_round_trip(
    store: FalkorDBStore, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every start of the CLI, API or a worker calls setup_schema: on a graph that has
    every index it asks ``db.indexes()`` once and sends nothing else."""
    sent: list[str] = []
    real = store._q

    def counting(query: str, params: dict | None = None, *, ro: bool = False) -> list:
        sent.append(query)
        return real(query, params, ro=ro)

    monkeypatch.setattr(store, "_q", counting)
    store.setup_schema(schema)
    assert len(sent) == 1 and "db.indexes()" in sent[0], sent
    # A missing index is still made (here: one range index dropped by hand).
    real("DROP INDEX FOR (n:Actor) ON (n.role)")
    sent.clear()
    store.setup_schema(schema)
    assert len(sent) == 2 and "CREATE INDEX FOR (n:Actor) ON (n.role)" in sent[1], sent
    assert "RANGE" in store._index_kinds()[("Actor", "role")]


def test_a_large_document_lists_every_node_in_parts(store: FalkorDBStore) -> None:
    """More than ROW_CHUNK nodes: the list is set in parts and still names them all, and
    deleting the document removes every one."""
    n = ROW_CHUNK + 150
    doc = Node(make_id("Document", "big.md"), "Document", {"title": "big", "content_hash": "h"})
    chunks = [Node(f"chunk:big:{i}", "Chunk", {"text": f"stuk {i}"}) for i in range(n)]
    batch = GraphBatch(doc, chunks, [])
    assert len(store._list_commands(doc.id, [c.id for c in chunks])) == 2
    store.upsert_batch(batch)
    listed = store._q(f"MATCH (d:Node {{id: $doc}}) RETURN d.{DOC_NODES}", {"doc": doc.id})
    assert sorted(listed[0][0]) == sorted(c.id for c in chunks)
    assert store.document_hashes() == {doc.id: "h"}
    assert store.delete_document(doc.id) is True
    assert store._q("MATCH (n:Node) RETURN count(n)") == [[0]]
