"""Neo4j-specific behaviour of ``Neo4jStore`` on the real test Neo4j (the shared contract
is in test_store_contract.py; these cover what only this backend can get wrong)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from impact_graph.config import Settings
from impact_graph.model import Edge, GraphBatch, Node, make_id
from impact_graph.schema import Schema
from impact_graph.store.neo4j_store import DOC_NODES, Neo4jStore
from impact_graph.store.port import (
    QueryRefused,
    QuerySyntaxError,
    StoreAuthError,
    StoreError,
    StoreUnavailable,
)
from impact_graph.testing.neo4j_server import Neo4jServer
from tests.factories import doc_batch, schema_store, unit_vector

pytestmark = pytest.mark.neo4j

WOR = ("Intervention", "Welzijn op Recept")
LONELY = ("Challenge", "eenzaamheid")


def _settings(srv: Neo4jServer, **over: object) -> Settings:
    base: dict[str, object] = {
        "backend": "neo4j",
        "neo4j_uri": srv.uri,
        "neo4j_user": srv.user,
        "neo4j_password": srv.password,
    }
    base.update(over)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture
def neo(neo4j_server: Neo4jServer, schema: Schema) -> Iterator[Neo4jStore]:
    with schema_store(Neo4jStore(_settings(neo4j_server)), schema) as st:
        yield st


# --- connection errors ----------------------------------------------------------------


def test_unreachable_server_is_store_unavailable(neo4j_server: Neo4jServer) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"bolt://127.0.0.1:{port}"
    st = Neo4jStore(_settings(neo4j_server, neo4j_uri=uri))
    with pytest.raises(StoreUnavailable, match=f"Neo4j at {uri} does not answer"):
        st.stats()
    st.close()


def test_wrong_password_is_store_auth_error(neo4j_server: Neo4jServer) -> None:
    st = Neo4jStore(_settings(neo4j_server, neo4j_password="definitely-wrong"))
    with pytest.raises(StoreAuthError, match=r"refused user 'neo4j'.*NEO4J_PASSWORD"):
        st.document_hashes()
    st.close()


def test_bad_uri_is_one_sentence(neo4j_server: Neo4jServer) -> None:
    with pytest.raises(StoreUnavailable, match="IMPACT_GRAPH_NEO4J_URI 'http://x'"):
        Neo4jStore(_settings(neo4j_server, neo4j_uri="http://x"))


# --- schema ---------------------------------------------------------------------------


def _indexes(st: Neo4jStore) -> dict[str, dict]:
    rows = st.read_query(
        "SHOW INDEXES YIELD name, type, labelsOrTypes, properties, options, state "
        "RETURN name, type, labelsOrTypes, properties, options, state"
    ).rows
    return {
        r[0]: {"type": r[1], "on": r[2], "props": r[3], "opts": r[4], "state": r[5]} for r in rows
    }


def test_schema_indexes_are_dutch_cosine_online_and_idempotent(
    neo: Neo4jStore, schema: Schema
) -> None:
    idx = _indexes(neo)
    for label, props in schema.fulltext_labels.items():
        ft = idx[f"fulltext_{label}"]
        assert ft["type"] == "FULLTEXT" and ft["on"] == [label] and ft["props"] == props
        assert ft["opts"]["indexConfig"]["fulltext.analyzer"] == "dutch"
    for label in schema.vector_labels:
        cfg = idx[f"vector_{label}"]["opts"]["indexConfig"]
        assert cfg["vector.dimensions"] == schema.vector_dimensions
        assert cfg["vector.similarity_function"].lower() == "cosine"
    assert idx["node_id_unique"]["on"] == ["Node"]
    assert all(i["state"] == "ONLINE" for i in idx.values())

    started = time.perf_counter()
    neo.setup_schema(schema)  # nothing changed: no DDL at all
    assert time.perf_counter() - started < 2.0
    assert _indexes(neo).keys() == idx.keys()


def test_schema_change_rebuilds_the_changed_fulltext_index(neo: Neo4jStore, schema: Schema) -> None:
    chunk = schema.node_class("Chunk")
    props = tuple(replace(p, fulltext=p.name == "text") for p in chunk.properties)
    changed = replace(
        schema,
        node_classes=tuple(
            replace(c, properties=props) if c.label == "Chunk" else c for c in schema.node_classes
        ),
    )
    try:
        neo.setup_schema(changed)
        assert _indexes(neo)["fulltext_Chunk"]["props"] == ["text"]
    finally:
        neo.setup_schema(schema)
    assert _indexes(neo)["fulltext_Chunk"]["props"] == schema.fulltext_labels["Chunk"]


# --- writing --------------------------------------------------------------------------


def test_failed_write_leaves_the_previous_version_whole(neo: Neo4jStore) -> None:
    v1 = doc_batch("a.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    neo.upsert_batch(v1)
    before = neo.stats()

    # Version 2 drops the ADDRESSES fact and ends with a value Neo4j cannot store (a list
    # of mixed types), so the server fails the transaction after the removal ran.
    v2 = doc_batch("a.md", [WOR], version="2")
    v2.edges.append(Edge(v2.nodes[0].id, "MENTIONS", make_id(*WOR), {"bad": [1, "x"]}, key="z"))
    with pytest.raises(StoreError, match="refused to write document:a-md"):
        neo.upsert_batch(v2)

    after = neo.stats()
    assert after.nodes == before.nodes and after.relationships == before.relationships
    assert neo.document_hashes() == {v1.doc_id: v1.content_hash}


def test_the_node_list_is_the_store_s_own_and_rolls_back_with_a_failed_write(
    neo: Neo4jStore,
) -> None:
    """The Document node's list of its nodes (``DOC_NODES``) is what the delete path
    trusts, so a batch cannot set it through its props, and a failed replacement leaves
    the previous version's list (same transaction); the document then deletes whole."""
    v1 = doc_batch("a.md", [WOR, LONELY])
    v1.document.props[DOC_NODES] = ["actor:not-of-this-document"]
    neo.upsert_batch(v1)

    def listed() -> list[str]:
        rows = neo._read(
            f"MATCH (d:Node {{id: $doc}}) RETURN d.{DOC_NODES} AS ids", {"doc": v1.doc_id}
        )
        return sorted(rows[0]["ids"])

    assert listed() == sorted(n.id for n in v1.nodes)
    v2 = doc_batch("a.md", [WOR], version="2")
    v2.edges.append(Edge(v2.nodes[0].id, "MENTIONS", make_id(*WOR), {"bad": [1, "x"]}, key="z"))
    with pytest.raises(StoreError, match="refused to write document:a-md"):
        neo.upsert_batch(v2)
    assert listed() == sorted(n.id for n in v1.nodes)
    assert neo.delete_document(v1.doc_id) is True
    assert neo.stats().total_nodes == 0


def test_large_batch_spans_several_statements_in_one_transaction(neo: Neo4jStore) -> None:
    doc = Node(make_id("Document", "big.md"), "Document", {"title": "big", "content_hash": "b1"})
    nodes = [
        Node(f"chunk:big:{i}", "Chunk", {"text": f"stuk {i}", "position": i}, vector=unit_vector(i))
        for i in range(1200)
    ]
    edges = [Edge(doc.id, "HAS_CHUNK", n.id) for n in nodes]
    res = neo.upsert_batch(GraphBatch(doc, nodes, edges))
    assert (res.nodes, res.edges) == (1201, 1200)
    st = neo.stats()
    assert st.nodes["Chunk"] == 1200 and st.relationships["HAS_CHUNK"] == 1200
    assert neo.vector_search("Chunk", unit_vector(1111), k=1)[0].id == "chunk:big:1111"
    assert neo.delete_document(doc.id) is True
    assert neo.stats().total_nodes == 0


def test_vectors_of_the_wrong_size_are_refused_with_the_node_named(neo: Neo4jStore) -> None:
    doc = Node(make_id("Document", "v.md"), "Document", {"content_hash": "v"})
    bad = Node("intervention:x", "Intervention", {"name": "x"}, vector=[0.1, 0.2])
    with pytest.raises(ValueError, match="intervention:x has 2 dimensions"):
        neo.upsert_batch(GraphBatch(doc, [bad], []))
    with pytest.raises(ValueError, match="query vector has 3 dimensions"):
        neo.vector_search("Intervention", [1.0, 0.0, 0.0])


def test_map_properties_are_refused(neo: Neo4jStore) -> None:
    doc = Node(make_id("Document", "m.md"), "Document", {"content_hash": "m"})
    bad = Node("actor:x", "Actor", {"name": "x", "meta": {"a": 1}})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="property 'meta' of node actor:x"):
        neo.upsert_batch(GraphBatch(doc, [bad], []))


# --- search ---------------------------------------------------------------------------


def test_fulltext_uses_the_dutch_stemmer_and_ignores_lucene_syntax(neo: Neo4jStore) -> None:
    neo.upsert_batch(
        doc_batch("a.md", [WOR], text="Statushouders vinden werk via een taalcafé in de wijk.")
    )
    for query in ["statushouder", "Taalcafe", "WERK", "werk AND (", "werk OR", "text:werk"]:
        hits = neo.fulltext_search("Chunk", query, k=3)
        assert hits and hits[0].score == pytest.approx(1.0), query
    assert neo.fulltext_search("Chunk", "de het een", k=3) == []  # only stop words


def test_search_on_a_label_without_index_says_so(neo: Neo4jStore) -> None:
    with pytest.raises(StoreError, match="no usable vector index for 'Actor'"):
        neo.vector_search("Actor", unit_vector(1), k=3)


# --- researcher queries ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SHOW SETTINGS",
        "SHOW TRANSACTIONS",
        "USE system SHOW USERS",
        "CALL apoc.load.json('file:///etc/passwd')",
        "CALL `dbms`.components()",
        "MATCH (n) RETURN n.name AS name UNION CALL dbms.components() YIELD name RETURN name",
        "CALL db.createLabel('X')",
        "CREATE INDEX x FOR (n:Actor) ON (n.x)",
        "MATCH (n) CALL (n) { SET n.x = 1 } IN TRANSACTIONS RETURN 1",
    ],
)
def test_read_query_refuses_server_reach_and_schema_changes(neo: Neo4jStore, query: str) -> None:
    with pytest.raises(QueryRefused, match="only read the graph"):
        neo.read_query(query)


def test_read_query_allows_the_listed_procedures_and_harmless_text(neo: Neo4jStore) -> None:
    neo.upsert_batch(
        doc_batch("a.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    )
    labels = {r[0] for r in neo.read_query("CALL db.labels()").rows}
    assert {"Intervention", "Challenge", "Document"} <= labels
    assert neo.read_query("CALL db.schema.visualization()").rows
    assert neo.read_query("RETURN 'load csv from dbms.x' AS s // CALL dbms.x()").rows == [
        ["load csv from dbms.x"]
    ]
    hits = neo.read_query(
        "CALL db.index.fulltext.queryNodes('fulltext_Intervention', 'recept') "
        "YIELD node RETURN node.name"
    ).rows
    assert hits == [["Welzijn op Recept"]]


def test_read_query_converts_graph_and_temporal_values(neo: Neo4jStore) -> None:
    neo.upsert_batch(
        doc_batch("a.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    )
    res = neo.read_query(
        "MATCH p = (i:Intervention)-[r:ADDRESSES]->(c:Challenge) "
        "RETURN p, r, datetime('2026-01-01T10:00:00+02:00') AS t, duration('P1D') AS d"
    )
    path, rel, t, d = res.rows[0]
    assert [n["label"] for n in path["nodes"]] == ["Intervention", "Challenge"]
    assert all("embedding" not in n for n in path["nodes"])
    assert path["edges"][0]["source"] == make_id(*WOR)
    assert rel["type"] == "ADDRESSES" and rel["target"] == make_id(*LONELY)
    assert (t, d) == ("2026-01-01T08:00:00Z", "P1D")


def test_row_cap_stops_a_huge_result_early(neo: Neo4jStore) -> None:
    started = time.perf_counter()
    res = neo.read_query("UNWIND range(1, 1000000000) AS x RETURN x", row_cap=5, timeout_s=20)
    assert res.rows == [[1], [2], [3], [4], [5]] and res.truncated
    assert time.perf_counter() - started < 10  # did not produce a billion rows


def test_read_query_errors_keep_the_position(neo: Neo4jStore) -> None:
    with pytest.raises(QuerySyntaxError, match=r"line 1, column \d+"):
        neo.read_query("MATCH (n RETURN n")
