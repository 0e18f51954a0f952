"""FalkorDB-specific behaviour of the ``falkordb`` backend, beyond the shared contract.

Real embedded server (one per module), one graph per test.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

from impact_graph.config import Settings
from impact_graph.model import Edge, GraphBatch, Node, make_id
from impact_graph.ontology import load_schema
from impact_graph.schema import Schema
from impact_graph.store.falkordb_server import FalkorDBServer
from impact_graph.store.falkordb_store import VECTOR_CHUNK, FalkorDBStore, _fulltext_query
from impact_graph.store.port import QueryRefused, StoreError, StoreUnavailable
from tests.factories import doc_batch, schema_store, unit_vector

WOR = ("Intervention", "Welzijn op Recept")
LONELY = ("Challenge", "eenzaamheid")
_names = itertools.count()


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("fdb")
    yield data
    FalkorDBServer(data).stop()


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, graph_name=f"g{next(_names)}", falkordb_ef_runtime=123)


@pytest.fixture
def store(settings: Settings, schema: Schema) -> Iterator[FalkorDBStore]:
    """A graph of its own, with the schema; deleted whole afterwards."""
    with schema_store(FalkorDBStore(settings), schema, drop=lambda st: st.delete_graph()) as st:
        yield st


def test_setup_schema_is_idempotent_and_uses_settings(store: FalkorDBStore, schema: Schema) -> None:
    store.setup_schema(schema)  # second time: no error
    rows = store._q(
        "CALL db.indexes() YIELD label, options, language RETURN label, options, language"
    )
    by_label = {label: (opts, lang) for label, opts, lang in rows}
    opts, lang = by_label["Chunk"]
    assert lang == "dutch"
    assert opts["embedding"]["efRuntime"] == 123
    assert opts["embedding"]["M"] == store.settings.falkordb_m
    assert opts["embedding"]["similarityFunction"] == "cosine"
    assert opts["embedding"]["dimension"] == schema.vector_dimensions
    for label in schema.fulltext_labels:
        assert by_label[label][1] == "dutch", label


def test_many_vectors_are_written_in_chunks_and_all_searchable(store: FalkorDBStore) -> None:
    n = VECTOR_CHUNK * 2 + 50
    doc = Node(make_id("Document", "big.md"), "Document", {"title": "big", "content_hash": "h"})
    chunks = [
        Node(f"chunk:{i}", "Chunk", {"text": f"stuk {i}", "position": i}, vector=unit_vector(i))
        for i in range(n)
    ]
    store.upsert_batch(GraphBatch(doc, chunks, []))
    with_vec = store._q("MATCH (c:Chunk) WHERE c.embedding IS NOT NULL RETURN count(c)")
    assert with_vec == [[n]]
    for i in (0, n // 2, n - 1):
        hits = store.vector_search("Chunk", unit_vector(i), k=3)
        assert hits[0].id == f"chunk:{i}"
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_an_ordinary_document_is_one_query_of_the_same_text(
    store: FalkorDBStore, schema: Schema
) -> None:
    """One query per document (its fixed cost dominated the write) and the same text for
    documents of different shapes, so FalkorDB reuses one plan."""
    a = doc_batch("a.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    b = doc_batch("b.md", [("Actor", "GGD Wadstede")], chunk_vectors=False)
    qa, qb = store._fact_queries(a), store._fact_queries(b)
    assert len(qa) == len(qb) == 1
    text = qa[0][2]
    assert text[text.index("FOREACH") :] == qb[0][2][qb[0][2].index("FOREACH") :]
    store.upsert_batch(a)
    store.upsert_batch(b)
    rows = store._q("MATCH (s)-[e:ADDRESSES]->(t:Challenge) RETURN s.id, t.id, e.sources, e.key")
    assert rows == [[make_id(*WOR), make_id(*LONELY), [a.doc_id], ""]]
    assert {r[0] for r in store._q("MATCH (n:Actor) RETURN n.id")} == {
        make_id("Actor", "GGD Wadstede")
    }


def test_a_label_and_type_the_schema_lacks_still_get_written(store: FalkorDBStore) -> None:
    """A batch may carry a label or relationship type the schema set-up did not list (a
    store used without setup_schema, an ontology grown since): the one query grows a
    segment for it instead of dropping those facts."""
    batch = doc_batch("c.md", [("Intervention", "Halt")])
    extra = Node("thing:x", "Thing", {"name": "x"}, vector=unit_vector(5), spans=[])
    batch.nodes.append(extra)
    batch.edges.append(Edge(make_id("Intervention", "Halt"), "RELATES_TO", "thing:x"))
    store.upsert_batch(batch)
    assert store._q("MATCH (:Intervention)-[e:RELATES_TO]->(t:Thing) RETURN t.id, e.sources") == [
        ["thing:x", [batch.doc_id]]
    ]
    assert store._q("MATCH (t:Thing) RETURN t.embedding IS NOT NULL") == [[True]]


def test_vectors_and_awkward_strings_are_stored_exactly(store: FalkorDBStore) -> None:
    """The compact parameter text reads back as what was written: strings exactly (quoted
    as the client does), vectors to within 5e-10 per number (written as integer
    billionths, see falkordb_store._Vector) and still found by themselves."""
    text = "Zij zei: \"ik ben \\ niet alleen\"\nnieuwe regel, é ü ß – 😀 `x` 'y' {z}"
    batch = doc_batch("d.md", [WOR], text=text)
    batch.nodes[0].props["flag"] = True
    batch.nodes[0].props["share"] = 1e-7
    store.upsert_batch(batch)
    chunk = batch.nodes[0]
    got = store._q(
        "MATCH (c:Chunk {id: $id}) RETURN c.text, c.embedding, c.flag, c.share", {"id": chunk.id}
    )[0]
    assert got[0] == text
    stored = np.asarray(got[1], dtype=np.float64)
    sent = np.asarray(chunk.vector, dtype=np.float32).astype(np.float64)
    assert stored.shape == sent.shape
    assert np.abs(stored - sent).max() <= 5e-10 + 6e-8 * np.abs(sent).max()  # + float32 rounding
    assert not np.array_equal(stored, np.zeros_like(stored))
    (hit,) = store.vector_search("Chunk", list(sent), k=1)
    assert hit.id == chunk.id and hit.score > 0.999999
    assert got[2] is True
    assert got[3] == pytest.approx(1e-7)


def test_client_killed_before_exec_writes_nothing(store: FalkorDBStore) -> None:
    """The MULTI/EXEC half of atomicity: queued queries die with the connection."""
    batch = doc_batch("a.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    cmds = [
        store._command(
            "MERGE (d:Node {id: $doc}) SET d:Document, d.complete = false", {"doc": batch.doc_id}
        ),
        *store._fact_queries(batch),
    ]
    conn = redis.Redis(unix_socket_path=str(store.server.socket_path))  # type: ignore[union-attr]
    raw = conn.connection_pool.get_connection()
    raw.send_command("MULTI")
    assert raw.read_response() in (b"OK", "OK")
    for cmd in cmds:
        raw.send_command(*cmd)
        assert raw.read_response() in (b"QUEUED", "QUEUED")
    raw.disconnect()  # the client "dies" before EXEC
    conn.close()
    assert store.stats().total_nodes == 0
    assert store.document_hashes() == {}


def test_failed_write_is_rolled_back_whole(
    store: FalkorDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query failing inside EXEC (the others still run) must not leave half a document."""
    good = doc_batch("b.md", [WOR])
    store.upsert_batch(good)
    batch = doc_batch("a.md", [WOR, LONELY])
    real = store._fact_queries

    def with_a_failing_query(b: GraphBatch, *rest: object) -> list[list[object]]:
        return [*real(b, *rest), store._command("RETURN 1 +")]  # a runtime error inside EXEC

    monkeypatch.setattr(store, "_fact_queries", with_a_failing_query)
    with pytest.raises(StoreError, match=r"a-md .*nothing of it was kept"):
        store.upsert_batch(batch)
    assert set(store.document_hashes()) == {good.doc_id}
    assert store.incomplete_documents() == []
    assert store.get_nodes([make_id(*LONELY), batch.doc_id]) == []
    wor = store.get_nodes([make_id(*WOR)])[0]
    assert wor["sources"] == [good.doc_id]
    assert "spans" not in wor  # nodes keep no span list (MENTIONS edges do)
    spans = store.read_query(
        "MATCH (:Chunk)-[m:MENTIONS]->(n {id: $id}) UNWIND m.spans AS s RETURN s",
        {"id": make_id(*WOR)},
    ).rows
    assert spans and not any(s.startswith(batch.doc_id) for (s,) in spans)


def test_incomplete_document_is_absent_and_rewritten_even_with_the_same_hash(
    store: FalkorDBStore,
) -> None:
    """A document left complete=false (e.g. the roll-back itself failed) counts as absent."""
    batch = doc_batch("a.md", [WOR])
    store.upsert_batch(batch)
    store._q("MATCH (d:Document) SET d.complete = false")  # the state a failed roll-back leaves
    assert store.document_hashes() == {}
    assert store.incomplete_documents() == [batch.doc_id]
    assert store.stats().documents == 0

    assert not store.upsert_batch(batch).skipped
    assert store.document_hashes() == {batch.doc_id: batch.content_hash}
    assert store.incomplete_documents() == []
    assert store.stats().nodes["Intervention"] == 1


def test_fulltext_matches_dutch_plurals_by_prefix(store: FalkorDBStore) -> None:
    store.upsert_batch(
        doc_batch("a.md", [("TargetGroup", "statushouders")], text="Werk voor statushouders.")
    )
    hits = store.fulltext_search("Chunk", "statushouder", k=5)
    assert [h.props["text"] for h in hits] == ["Werk voor statushouders."]


def test_fulltext_query_is_reduced_to_words() -> None:
    assert _fulltext_query('werk AND ( "jongeren" -wijk @x:y') == (
        "werk|werk*|and|jongeren|jongeren*|wijk|wijk*|x|y"
    )
    assert _fulltext_query("~!@#$%^&*()") == ""


def test_read_query_plain_values_for_edges_and_paths(store: FalkorDBStore) -> None:
    store.upsert_batch(
        doc_batch("a.md", [WOR, LONELY], [("Welzijn op Recept", "ADDRESSES", "eenzaamheid")])
    )
    res = store.read_query("MATCH p = (i:Intervention)-[r:ADDRESSES]->(c) RETURN r, p")
    edge, path = res.rows[0]
    assert edge["type"] == "ADDRESSES"
    assert edge["source"] == make_id(*WOR) and edge["target"] == make_id(*LONELY)
    assert [n["id"] for n in path["nodes"]] == [make_id(*WOR), make_id(*LONELY)]
    chunk = store.read_query("MATCH (c:Chunk) RETURN c, properties(c) AS p").rows[0]
    assert "embedding" not in chunk[0] and "embedding" not in chunk[1]


def test_read_query_procedure_allow_list(store: FalkorDBStore) -> None:
    store.upsert_batch(doc_batch("a.md", [WOR]))
    labels = store.read_query("CALL db.labels() YIELD label RETURN label").rows
    assert ["Intervention"] in labels
    # The word CALL inside a string is data, not a procedure call.
    assert store.read_query("RETURN 'CALL algo.pageRank' AS s").rows == [["CALL algo.pageRank"]]
    with pytest.raises(QueryRefused, match="read"):
        store.read_query("CALL algo.pageRank('Node', null) YIELD node RETURN node")
    with pytest.raises(QueryRefused, match="read"):
        store.read_query("load csv from 'file:///etc/passwd' as r return r")


def test_search_on_a_label_without_index_is_a_clear_error(store: FalkorDBStore) -> None:
    with pytest.raises(StoreError, match="Actor"):
        store.vector_search("Actor", unit_vector(1), k=3)


def test_unreachable_url_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1:1"):
        FalkorDBStore(Settings(falkordb_url="redis://127.0.0.1:1", graph_name="x"))


def test_close_stops_the_server_only_when_asked(tmp_path: Path) -> None:
    data = tmp_path / "own"
    FalkorDBStore(Settings(data_dir=data)).close()
    srv = FalkorDBServer(data)
    assert srv.status().running, "default: the embedded server keeps running"
    FalkorDBStore(Settings(data_dir=data, falkordb_stop_on_close=True)).close()
    assert not srv.status().running


def test_server_crash_is_store_unavailable_with_a_sentence(tmp_path: Path) -> None:
    st = FalkorDBStore(Settings(data_dir=tmp_path / "crash"))
    try:
        assert st.server is not None
        pid = st.server.read_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(StoreUnavailable, match="impact-graph db start"):
            st.stats()
    finally:
        st.close()
        FalkorDBServer(tmp_path / "crash").stop()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 2e9])
def test_a_vector_number_the_text_form_cannot_hold_is_refused_with_a_sentence(bad: float) -> None:
    """Vectors travel as integer billionths (``_Vector``): a NaN, an infinity or a number
    past +-1e9 would overflow or print as text the server cannot read, so it is refused
    before anything is sent, saying what to check."""
    from impact_graph.store.falkordb_store import _Vector

    v = unit_vector(8, 3)
    assert _Vector(v).cypher().startswith("[")  # a unit vector passes
    v[2] = bad
    with pytest.raises(ValueError, match="not finite or beyond"):
        _Vector(v).cypher()


@pytest.mark.parametrize("name", ["", "a`b"])
def test_a_property_name_falkordb_cannot_take_is_refused(name: str) -> None:
    from impact_graph.store.falkordb_store import _cypher_value

    assert _cypher_value({"ok": 1}) == "{`ok`:1}"
    with pytest.raises(ValueError, match="cannot be written to FalkorDB"):
        _cypher_value({name: 1})
