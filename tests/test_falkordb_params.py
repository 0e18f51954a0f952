"""FalkorDB: a write's parameters travel inlined in the query text, rendered by the
store (``falkordb_store._cypher_value``, vectors by ``_Vector``); the graph holds exactly
the values written, whatever the strings hold.

Real embedded server (one per module), graphs of their own per test.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from impact_graph.config import Settings
from impact_graph.model import Edge, GraphBatch, Node, make_id
from impact_graph.ontology import load_schema
from impact_graph.schema import Schema
from impact_graph.store import falkordb_store as fs
from impact_graph.store.falkordb_server import FalkorDBServer
from impact_graph.store.falkordb_store import FalkorDBStore
from impact_graph.store.port import StoreError
from tests.factories import schema_store

_names = itertools.count()

#: Strings that JSON and Cypher escape differently, or not at all.
HOSTILE = [
    "een \"quote\" en 'enkel'",
    "back\\slash and trailing \\",
    "newline\nand\ttab\rand\bbell\fform",
    "literal backslash-n \\n and \\t",
    "literal \\u00e9 and \\u0000 escapes",
    "unicode: é ë ĳ € 😀 \u2028 \u00a0",
    "control \x01 \x1f and del \x7f",
    'looks like a key: "name": 1, {"id": "x"}',
    "null and NULL and nullable",
    "`backticks` in a value",
    "",
]


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("fdb-rows")
    yield data
    FalkorDBServer(data).stop()


@pytest.fixture
def store(data_dir: Path, schema: Schema) -> Iterator[FalkorDBStore]:
    settings = Settings(data_dir=data_dir, graph_name=f"rows{next(_names)}")
    with schema_store(FalkorDBStore(settings), schema, drop=lambda st: st.delete_graph()) as st:
        yield st


def _batch(values: list[str], extra: dict[str, Any] | None = None) -> GraphBatch:
    doc_id = make_id("Document", "hostile.md")
    doc = Node(doc_id, "Document", {"title": "hostile", "content_hash": "h1"})
    nodes = [
        Node(
            make_id("Intervention", f"iv {i}"),
            "Intervention",
            {"name": f"iv {i}", "description": v, "aliases": [v, "x"], **(extra or {})},
        )
        for i, v in enumerate(values)
    ]
    edges = [
        Edge(nodes[i].id, "HAS_ELEMENT", nodes[i - 1].id, {"rule": v}, spans=[f"{doc_id}#{i}"])
        for i, v in enumerate(values)
        if i
    ]
    return GraphBatch(doc, nodes, edges)


def _read(store: FalkorDBStore) -> tuple[list[list[Any]], list[list[Any]]]:
    nodes = store._q(
        "MATCH (n:Intervention) RETURN n.id, n.name, n.description, n.aliases, "
        "n.ratio, n.big, n.flag ORDER BY n.id",
        ro=True,
    )
    edges = store._q(
        "MATCH (a)-[e:HAS_ELEMENT]->(b) RETURN a.id, b.id, e.rule, e.spans ORDER BY a.id",
        ro=True,
    )
    return nodes, edges


def test_hostile_strings_are_stored_exactly(store: FalkorDBStore) -> None:
    values = HOSTILE
    extra = {"ratio": 1e-05, "big": 2**63 - 1, "flag": True}
    store.upsert_batch(_batch(values, extra))
    nodes, edges = _read(store)
    by_id = {row[0]: row for row in nodes}
    for i, v in enumerate(values):
        row = by_id[make_id("Intervention", f"iv {i}")]
        assert row[2] == v, f"description {i}: {row[2]!r} != {v!r}"
        assert row[3] == [v, "x"]
        assert row[4] == pytest.approx(1e-05) and row[5] == 2**63 - 1 and row[6] is True
    assert sorted(e[2] for e in edges) == sorted(values[1:])


def test_vector_text_is_the_integer_billionths_format() -> None:
    """`_Vector` writes each number as integer billionths (``19155025e-9``): the text
    of the ``"%de-9,"`` format it replaced, character for character."""
    rng = np.random.default_rng(7)
    for v in [*(rng.normal(size=384) / 20 for _ in range(20)), [0.5], [-0.0, 1e-12, -1e-9]]:
        ints = np.rint(np.asarray(v, dtype=np.float64) * 1e9).astype(np.int64).tolist()
        reference = "[" + ",".join(f"{i}e-9" for i in ints) + "]"
        assert fs._Vector(v).cypher() == reference
    assert fs._Vector([]).cypher() == "[]"
    for bad in ([math.nan, 0.1], [0.1, math.inf], [-math.inf], [2e9]):
        with pytest.raises(ValueError, match="not finite or beyond"):
            fs._Vector(bad).cypher()


def test_a_nan_property_is_refused_as_before(store: FalkorDBStore) -> None:
    """A NaN property is not silently dropped: FalkorDB refuses the write and nothing
    of the document is kept."""
    with pytest.raises(StoreError):
        store.upsert_batch(_batch(["ok"], {"ratio": math.nan}))
    assert store.document_hashes() == {}
