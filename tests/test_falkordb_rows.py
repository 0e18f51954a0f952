"""FalkorDB: a write's rows travel as orjson text with marked keys (``falkordb_store.
_param_text``), and the graph holds exactly the values written, whatever the strings
hold; what orjson would write otherwise than FalkorDB reads goes the slow way
(``_cypher_value``).

Real embedded server (one per module), graphs of their own per test.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


#: The ones orjson writes as FalkorDB reads them: no ``\\u`` in orjson's text (a control
#: character, a literal ``\\u``) and no ``null`` (the fallback's guard against a NaN).
FAST = [
    v
    for v in HOSTILE
    if "\\u" not in v
    and "null" not in v
    and not any(ord(c) < 32 and c not in "\n\t\r\b\f" for c in v)
]


@pytest.mark.parametrize("values", [FAST, HOSTILE], ids=["orjson", "with-fallbacks"])
def test_hostile_strings_are_stored_exactly(
    store: FalkorDBStore, values: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slow: list[Any] = []
    per_value = fs._cypher_value

    def spy(value: Any) -> str:
        if type(value) is fs._Rows:
            slow.append(value)
        return per_value(value)

    monkeypatch.setattr(fs, "_cypher_value", spy)
    extra = {"ratio": 1e-05, "big": 2**63 - 1, "flag": True}
    store.upsert_batch(_batch(values, extra))
    # All rows went through orjson, or (with control characters) some did not.
    assert (slow == []) == (values is FAST)
    nodes, edges = _read(store)
    by_id = {row[0]: row for row in nodes}
    for i, v in enumerate(values):
        row = by_id[make_id("Intervention", f"iv {i}")]
        assert row[2] == v, f"description {i}: {row[2]!r} != {v!r}"
        assert row[3] == [v, "x"]
        assert row[4] == pytest.approx(1e-05) and row[5] == 2**63 - 1 and row[6] is True
    assert sorted(e[2] for e in edges) == sorted(values[1:])


def test_same_graph_as_the_per_value_renderer(
    store: FalkorDBStore, data_dir: Path, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows written by orjson read back as the rows written value by value (the
    store's renderer before orjson)."""
    batch = _batch(HOSTILE, {"ratio": 0.1, "big": 12})
    store.upsert_batch(batch)
    fast = _read(store)
    monkeypatch.setattr(fs, "_param_text", fs._cypher_value)
    settings = Settings(data_dir=data_dir, graph_name=f"rows{next(_names)}")
    with schema_store(FalkorDBStore(settings), schema, drop=lambda st: st.delete_graph()) as slow:
        slow.upsert_batch(batch)
        assert _read(slow) == fast


def test_fast_path_and_its_fallbacks() -> None:
    rows = fs._Rows([{fs._K_ID: 'a"b\\c\nd', fs._K_PROPS: {fs._marked("name"): "é 😀", "x": 1}}])
    # An unmarked key would break the text: rows hold marked keys only.
    rows[0][fs._K_PROPS] = {fs._marked("name"): "é 😀", fs._marked("n"): 1}
    text = fs._param_text(rows)
    assert text == '[{`id`:"a\\"b\\\\c\\nd",`props`:{`name`:"é 😀",`n`:1}}]'
    # A control character orjson writes as \u0001: the per-value way, raw.
    ctl = fs._Rows([{fs._K_ID: "a\x01b", fs._K_PROPS: {}}])
    assert fs._param_text(ctl) == fs._cypher_value(ctl) == '[{`id`:"a\x01b",`props`:{}}]'
    # NaN: orjson would write null (dropping the property); the per-value text keeps it.
    nan = fs._Rows([{fs._K_ID: "a", fs._K_PROPS: {fs._marked("r"): math.nan}}])
    assert fs._param_text(nan) == fs._cypher_value(nan)
    # Past 64 bits orjson refuses; the per-value text writes the number.
    big = fs._Rows([{fs._K_ID: "a", fs._K_PROPS: {fs._marked("r"): 2**70}}])
    assert fs._param_text(big) == fs._cypher_value(big)
    assert fs._param_text([]) == "[]" and fs._param_text(fs._Rows()) == "[]"
    assert fs._param_text(["a", 'b"']) == '["a","b\\""]'


def test_property_names_orjson_would_escape_are_refused() -> None:
    for name in ['a"b', "a\\b", "a\nb", "a`b", ""]:
        with pytest.raises(ValueError, match="cannot be written to FalkorDB"):
            fs._marked(name)


def test_a_nan_property_is_refused_as_before(store: FalkorDBStore) -> None:
    """A NaN is not silently dropped (orjson's null): FalkorDB refuses the write and
    nothing of the document is kept."""
    with pytest.raises(StoreError):
        store.upsert_batch(_batch(["ok"], {"ratio": math.nan}))
    assert store.document_hashes() == {}
