"""Writes whose cost must not grow with the graph, and the facts they must still store.

Shared entities (a vocabulary concept, a known programme) come again with every document
that mentions them. The stores skip re-setting a vector the node already holds (each
set was a delete + insert in the vector index, whose cost grew with the writes done so
far: bench/tools/write_cost.py --growth), so these tests check that skipping changes
nothing anyone can see: the same vector stays findable, on every backend and on
FalkorDB's large-document path too.

An entity's vector is set once, by the write that creates its node: a later document
that sends another vector for it (an entity without a text of its own gets the mean of
that document's chunks naming it, so every document sends a different one) leaves the
node's vector as it is, on both backends. Before, FalkorDB kept the first vector anyway
(its ``=`` on vectors is not element-wise: ``vecf32([0.6, 0.8]) = vecf32([0.8, 0.6])``
is true, and a SET to an "equal" value is skipped) while Neo4j re-set it on every
document; now both follow one rule (falkordb_store._VECTOR_SEGMENT).
"""

from __future__ import annotations

import re

import pytest

from impact_graph.model import GraphBatch, make_id
from impact_graph.store.port import GraphStore
from tests.factories import doc_batch, unit_vector


def _with_entity_vector(batch: GraphBatch, label: str, name: str, vector: list[float]) -> None:
    """Give the entity ``name`` of ``batch`` the embedding ``vector``."""
    nid = make_id(label, name)
    for n in batch.nodes:
        if n.id == nid:
            n.vector = vector
            return
    raise AssertionError(f"{name} is not in the batch")


def _top(store: GraphStore, label: str, vector: list[float]) -> tuple[str, float]:
    hits = store.vector_search(label, vector, k=1)
    assert hits, f"no {label} found for the vector"
    return hits[0].id, hits[0].score


def _stored_vector(store: GraphStore, nid: str) -> list[float]:
    res = store.read_query("MATCH (n {id: $id}) RETURN n.embedding AS e", {"id": nid})
    assert res.rows, f"{nid} is not stored"
    return [float(x) for x in res.rows[0][0]]


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-6


def test_shared_entity_vector_kept_when_same_and_replaced_when_changed(
    store: GraphStore,
) -> None:
    """Three documents mention one challenge: the first two with the same vector, the
    third with another. The challenge keeps the first vector and is found by it;
    provenance lists all three documents."""
    name = "eenzaamheid"
    cid = make_id("Challenge", name)
    first, second = unit_vector(11), unit_vector(12)
    for key, vec in (("a", first), ("b", first)):
        batch = doc_batch(key, [("Challenge", name)])
        _with_entity_vector(batch, "Challenge", name, vec)
        store.upsert_batch(batch)
        found, score = _top(store, "Challenge", first)
        assert found == cid and score > 0.99, (key, found, score)
        assert _close(_stored_vector(store, cid), first)
    # A third document whose vector is another: the node keeps the first (set once).
    batch = doc_batch("c", [("Challenge", name)])
    _with_entity_vector(batch, "Challenge", name, second)
    store.upsert_batch(batch)
    assert _close(_stored_vector(store, cid), first)
    found, score = _top(store, "Challenge", first)
    assert found == cid and score > 0.99
    (node,) = store.get_nodes([cid])
    assert sorted(node["sources"]) == sorted(make_id("Document", k) for k in ("a", "b", "c"))


def test_large_document_vectors_same_rules(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FalkorDB writes a document with many vectors of one label in sub-batches (another
    query text): the same vectors stay findable there too. On Neo4j this is the same
    test as above with more entities."""
    from impact_graph.store import falkordb_store

    monkeypatch.setattr(falkordb_store, "VECTOR_CHUNK", 2)  # 3 vectors: sub-batches
    names = ["armoede", "schulden", "eenzaamheid"]
    vecs = {n: unit_vector(20 + i) for i, n in enumerate(names)}
    for key in ("a", "b"):
        batch = doc_batch(key, [("Challenge", n) for n in names])
        for n in names:
            _with_entity_vector(batch, "Challenge", n, vecs[n])
        store.upsert_batch(batch)
    changed = unit_vector(99)
    batch = doc_batch("c", [("Challenge", n) for n in names])
    for n in names:
        _with_entity_vector(batch, "Challenge", n, changed if n == "schulden" else vecs[n])
    store.upsert_batch(batch)
    for n in names:
        nid = make_id("Challenge", n)
        if n != "schulden":
            assert _close(_stored_vector(store, nid), vecs[n]), n
            found, score = _top(store, "Challenge", vecs[n])
            assert found == nid and score > 0.99, (n, found, score)
        else:  # set once: the changed vector of a shared entity is not taken
            assert _close(_stored_vector(store, nid), vecs[n]), n


def test_entity_of_one_document_takes_its_new_vector_when_the_document_changes(
    store: GraphStore,
) -> None:
    """Set once is per node: an entity only one document names is made afresh when that
    document changes, with the vector the new version sends; a shared one (still named
    by another document) keeps its vector."""
    own, shared = ("Challenge", "schulden"), ("Challenge", "eenzaamheid")
    old, new = unit_vector(31), unit_vector(32)
    first = doc_batch("b", [shared])  # b also names the shared challenge
    kept = unit_vector(30)
    _with_entity_vector(first, *shared, kept)
    store.upsert_batch(first)
    for version, vec in (("1", old), ("2", new)):
        batch = doc_batch("a", [own, shared], version=version)
        _with_entity_vector(batch, *own, vec)
        _with_entity_vector(batch, *shared, vec)
        store.upsert_batch(batch)
    assert _close(_stored_vector(store, make_id(*own)), new)
    assert _top(store, "Challenge", new)[0] == make_id(*own)
    assert _close(_stored_vector(store, make_id(*shared)), kept)


def _record_writes(store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Record every statement ``store`` sends while writing: (query text, parameters as
    text). FalkorDB: its internal queries and each MULTI/EXEC's commands (parameters
    travel in the text's CYPHER header); Neo4j: every ``tx.run`` of a write
    transaction."""
    sent: list[tuple[str, str]] = []
    if store.backend == "falkordb":
        from impact_graph.store.falkordb_store import FalkorDBStore

        q, transaction = FalkorDBStore._q, FalkorDBStore._transaction

        def rec_q(self: FalkorDBStore, query: str, params: object = None, **kw: object) -> object:
            sent.append((query, repr(params)))
            return q(self, query, params, **kw)  # type: ignore[arg-type]

        def rec_tx(self: FalkorDBStore, cmds: list[list[object]], *a: object) -> object:
            sent.extend((str(c[2]), "") for c in cmds)
            return transaction(self, cmds, *a)  # type: ignore[arg-type]

        monkeypatch.setattr(FalkorDBStore, "_q", rec_q)
        monkeypatch.setattr(FalkorDBStore, "_transaction", rec_tx)
    else:
        from impact_graph.store.neo4j_store import Neo4jStore

        in_tx = Neo4jStore._in_write_tx

        class _Tx:
            def __init__(self, tx: object) -> None:
                self.tx = tx

            def run(self, query: str, params: object = None, **kw: object) -> object:
                sent.append((query, repr(params) + repr(sorted(kw.items()))))
                return self.tx.run(query, params, **kw)  # type: ignore[attr-defined]

        def rec(self: Neo4jStore, work):  # type: ignore[no-untyped-def]
            return in_tx(self, lambda tx: work(_Tx(tx)))

        monkeypatch.setattr(Neo4jStore, "_in_write_tx", rec)
    return sent


def test_write_of_a_shared_entity_does_not_grow_with_its_documents(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty documents mention one actor. What the store sends for the 20th write (query
    texts and parameters, with the document key swapped) is what it sent for the 2nd:
    the actor's ``sources`` list is extended by the server, never read back or shipped
    whole (that made every write O(documents so far) on the wire and in Python). The
    list still names every document, and the actor's MENTIONS edges every span (the
    node keeps no span list).

    What this cannot catch, and what still grows (measured with
    ``bench/tools/write_cost.py --growth``): the server rewrites ``sources`` on every
    append, O(n) per write, since a property cannot be appended to in place."""
    actor = ("Actor", "gemeente Utrecht")
    sent = _record_writes(store, monkeypatch)
    marks: dict[int, int] = {}
    for i in range(1, 21):
        marks[i] = len(sent)
        store.upsert_batch(doc_batch(f"d{i:02d}", [actor, ("Challenge", f"thema {i:02d}")]))
    marks[21] = len(sent)

    def write(i: int) -> list[tuple[str, str]]:
        doc = make_id("Document", f"d{i:02d}")
        out = []
        for query, params in sent[marks[i] : marks[i + 1]]:
            # Only the document's key, content hash, challenge and chunk vector differ.
            text = (query + params).replace(doc, "<doc>").replace(f"thema {i:02d}", "<t>")
            text = text.replace(make_id("Challenge", f"thema {i:02d}"), "<t>")
            text = re.sub(r"[0-9a-f]{64}", "<hash>", text)
            # vector numbers: billionths (_Vector) or decimals
            out.append(re.sub(r"-?\d+(?:\.\d+)?e-?\d+|-?\d+\.\d+", "<f>", text))
        return out

    second, twentieth = write(2), write(20)
    assert len(second) == len(twentieth)
    for a, b in zip(second, twentieth, strict=True):
        assert len(a) == len(b), (a[:300], b[:300])
    (node,) = store.get_nodes([make_id(*actor)])
    docs = [make_id("Document", f"d{i:02d}") for i in range(1, 21)]
    assert sorted(node["sources"]) == docs
    assert "spans" not in node  # its sentence spans are its MENTIONS edges
    spans = store.read_query(
        "MATCH (:Chunk)-[m:MENTIONS]->(n {id: $id}) UNWIND m.spans AS s RETURN s",
        {"id": make_id(*actor)},
    ).rows
    assert sorted(s.split("#")[0] for (s,) in spans) == docs
