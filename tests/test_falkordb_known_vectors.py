"""FalkorDB: a new document leaves out the vectors of nodes the store saw hold one
(``falkordb_store._VECTOR_KNOWN``), and the graph still ends as if it had sent them.

Real embedded server (one per module), graphs of their own per test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from impact_graph.config import Settings
from impact_graph.model import GraphBatch, make_id
from impact_graph.ontology import load_schema
from impact_graph.schema import Schema
from impact_graph.store.falkordb_server import FalkorDBServer
from impact_graph.store.falkordb_store import FalkorDBStore, _Vector
from tests.factories import doc_batch, schema_store, unit_vector

WOR = ("Intervention", "Welzijn op Recept")
LONELY = ("Challenge", "eenzaamheid")
HALT = ("Intervention", "Halt")
_names = itertools.count()


class _Forgetful(set[str]):
    """A `FalkorDBStore._vectored` that never remembers: every vector is sent, as the
    store did before it left known ones out."""

    def update(self, *_: Any) -> None:
        return None


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("fdb-known")
    yield data
    FalkorDBServer(data).stop()


def _store(data_dir: Path, schema: Schema) -> Iterator[FalkorDBStore]:
    settings = Settings(data_dir=data_dir, graph_name=f"kv{next(_names)}")
    with schema_store(FalkorDBStore(settings), schema, drop=lambda st: st.delete_graph()) as st:
        yield st


@pytest.fixture
def store(data_dir: Path, schema: Schema) -> Iterator[FalkorDBStore]:
    yield from _store(data_dir, schema)


@pytest.fixture
def plain(data_dir: Path, schema: Schema) -> Iterator[FalkorDBStore]:
    """A second graph whose store sends every vector (the reference)."""
    for st in _store(data_dir, schema):
        st._vectored = _Forgetful()
        yield st


def _with_vectors(batch: GraphBatch, seed: int) -> GraphBatch:
    """Every entity of ``batch`` gets a vector of its own for this document (as
    entities without a text do: the mean of the document's chunks naming them)."""
    for i, n in enumerate(batch.nodes):
        if n.label != "Chunk":
            n.vector = unit_vector(seed * 100 + i)
    return batch


def _sent(store: FalkorDBStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the text of every query the store's transactions send."""
    texts: list[str] = []
    real = store._transaction

    def recording(cmds: list[list[Any]], doc_id: str, what: str) -> list[Any]:
        texts.extend(str(c[2]) for c in cmds if c[0] == "GRAPH.QUERY")
        return real(cmds, doc_id, what)

    monkeypatch.setattr(store, "_transaction", recording)
    return texts


def _embedding(store: FalkorDBStore, node_id: str) -> list[float] | None:
    rows = store._q("MATCH (n {id: $id}) RETURN n.embedding", {"id": node_id}, ro=True)
    return rows[0][0] if rows else None


def _graph(store: FalkorDBStore) -> tuple[list[Any], list[Any]]:
    """Every node (labels, properties with vectors, but not the write time) and edge."""
    nodes = store._q("MATCH (n) RETURN n.id, labels(n), properties(n) ORDER BY n.id", ro=True)
    for row in nodes:
        row[1] = sorted(row[1])
        row[2].pop("created_at", None)
    edges = store._q(
        "MATCH (a)-[e]->(b) RETURN a.id, type(e), b.id, properties(e) "
        "ORDER BY a.id, type(e), b.id, e.key",
        ro=True,
    )
    return nodes, edges


def test_a_new_document_leaves_out_a_vector_the_store_wrote_and_keeps_the_first(
    store: FalkorDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _with_vectors(doc_batch("a.md", [WOR, LONELY]), 1)
    b = _with_vectors(doc_batch("b.md", [WOR, HALT]), 2)
    store.upsert_batch(a)
    sent = _sent(store, monkeypatch)
    store.upsert_batch(b)
    text = "".join(sent)
    wor_b = next(n for n in b.nodes if n.id == make_id(*WOR))
    halt_b = next(n for n in b.nodes if n.id == make_id(*HALT))
    assert _Vector(wor_b.vector).cypher() not in text  # known: left out
    assert _Vector(halt_b.vector).cypher() in text  # new node: sent
    assert _Vector(b.nodes[0].vector).cypher() in text  # its chunk: sent
    wor_a = next(n for n in a.nodes if n.id == make_id(*WOR))
    stored = np.asarray(_embedding(store, make_id(*WOR)))
    assert np.abs(stored - np.asarray(wor_a.vector)).max() < 1e-6  # the first writer's
    assert _embedding(store, make_id(*HALT)) is not None


def test_a_known_node_deleted_meanwhile_gets_the_vector_the_write_left_out(
    store: FalkorDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (here a plain query) deletes a node the store remembers with a
    vector; the next document naming it makes it again and must give it its vector."""
    store.upsert_batch(_with_vectors(doc_batch("a.md", [WOR]), 1))
    store._q("MATCH (n {id: $id}) DETACH DELETE n", {"id": make_id(*WOR)})
    b = _with_vectors(doc_batch("b.md", [WOR]), 2)
    sent = _sent(store, monkeypatch)
    store.upsert_batch(b)
    wor_b = next(n for n in b.nodes if n.id == make_id(*WOR))
    first = next(t for t in sent if "UNWIND" in t)
    assert _Vector(wor_b.vector).cypher() not in first  # left out of the write ...
    assert any(_Vector(wor_b.vector).cypher() in t for t in sent[1:])  # ... then set
    stored = np.asarray(_embedding(store, make_id(*WOR)))
    assert np.abs(stored - np.asarray(wor_b.vector)).max() < 1e-6


def test_a_shared_node_without_a_vector_takes_the_next_one_sent_and_keeps_it(
    store: FalkorDBStore,
) -> None:
    """A node made by a document that had no vector for it is matched, not created, by
    the next document naming it: that write's vector must still reach it (the matched
    branch of ``_MERGE_WITH_VECTOR``), be found by the vector index, and stay when a
    third document sends another."""
    a = doc_batch("a.md", [WOR])  # the entity without a vector
    b = _with_vectors(doc_batch("b.md", [WOR]), 2)
    c = _with_vectors(doc_batch("c.md", [WOR]), 3)
    store.upsert_batch(a)
    assert _embedding(store, make_id(*WOR)) is None
    store.upsert_batch(b)
    wor_b = next(n for n in b.nodes if n.id == make_id(*WOR))
    stored = np.asarray(_embedding(store, make_id(*WOR)))
    assert np.abs(stored - np.asarray(wor_b.vector)).max() < 1e-6
    hits = store.vector_search("Intervention", list(wor_b.vector), k=1)
    assert [h.id for h in hits] == [make_id(*WOR)]
    store._vectored.clear()  # so c sends its vector too, and the server must keep b's
    store.upsert_batch(c)
    stored = np.asarray(_embedding(store, make_id(*WOR)))
    assert np.abs(stored - np.asarray(wor_b.vector)).max() < 1e-6


def test_the_graph_is_the_same_as_when_every_vector_is_sent(
    store: FalkorDBStore, plain: FalkorDBStore
) -> None:
    """New, shared, changed, deleted and re-added documents, and a node deleted behind
    the store's back: both graphs end the same, vectors included."""
    steps: list[tuple[str, Any]] = [
        ("write", _with_vectors(doc_batch("a.md", [WOR, LONELY]), 1)),
        (
            "write",
            _with_vectors(
                doc_batch("b.md", [WOR, HALT], [("Halt", "ADDRESSES", "Welzijn op Recept")]), 2
            ),
        ),
        ("write", _with_vectors(doc_batch("c.md", [HALT, LONELY]), 3)),
        ("write", _with_vectors(doc_batch("a.md", [WOR, HALT], version="2"), 4)),  # changed
        ("delete", make_id("Document", "b.md")),
        ("drop", make_id(*LONELY)),  # another process deletes a known node
        ("write", _with_vectors(doc_batch("d.md", [LONELY, WOR]), 5)),
        ("write", _with_vectors(doc_batch("b.md", [WOR, HALT]), 6)),  # back again
        ("delete", make_id("Document", "a.md")),
        ("write", _with_vectors(doc_batch("e.md", [WOR, HALT, LONELY]), 7)),
    ]
    for st in (store, plain):
        for what, arg in steps:
            if what == "write":
                st.upsert_batch(arg)
            elif what == "delete":
                st.delete_document(arg)
            else:
                st._q("MATCH (n {id: $id}) DETACH DELETE n", {"id": arg})
    assert store._vectored and not plain._vectored
    got, want = _graph(store), _graph(plain)
    assert got == want
    assert sum(1 for row in got[0] if "embedding" in row[2]) >= 5
