"""`falkordb_reply`: compact replies read without the client's parser give the values the
client's parser plus the store's `_to_plain` give; the parameter header is the client's
text, and a query vector written by orjson is the same vector on the server.

Real embedded server (one per module), one graph.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from falkordb.query_result import QueryResult as FQueryResult
from redis.exceptions import ResponseError

from impact_graph.config import Settings
from impact_graph.store.falkordb_reply import (
    VectorParam,
    params_header,
    plain_rows,
    reply_rows,
)
from impact_graph.store.falkordb_server import FalkorDBServer
from impact_graph.store.falkordb_store import FalkorDBStore

#: Strings whose escapes differ between writers.
HOSTILE = [
    "een \"quote\" en 'enkel'",
    "back\\slash \\n \\u00e9 and trailing \\",
    "newline\nand\ttab",
    "unicode: é ë ĳ € 😀 \u2028",
    "",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FalkorDBStore]:
    data: Path = tmp_path_factory.mktemp("fdb-reply")
    st = FalkorDBStore(Settings(data_dir=data, graph_name="reply"))
    st.graph.query(
        "UNWIND range(0, 4) AS i CREATE (:Node:Intervention {id: 'iv' + toString(i), "
        "name: $names[i], n: i, ratio: i / 3.0, flag: i % 2 = 0, tags: [$names[i], 'x']})",
        {"names": HOSTILE},
    )
    try:
        yield st
    finally:
        st.close()
        FalkorDBServer(data).stop()


def _raw(store: FalkorDBStore, query: str, params: dict[str, Any] | None = None) -> Any:
    text = store.graph._build_params_header(params) + query
    return store.graph.execute_command("GRAPH.RO_QUERY", store.graph.name, text, "--compact")


def _client(store: FalkorDBStore, response: Any) -> tuple[list[str], list[list[Any]]]:
    """What the client's parser and the store's conversion make of a reply."""
    res = FQueryResult(store.graph, response)
    out = store.query_result(res, {}, False, 10_000, 0.0)
    return out.columns, out.rows


#: Queries of every plain shape the app's own queries return.
PLAIN = [
    "MATCH (n:Intervention) RETURN n.id, n.name, n.n, n.ratio, n.flag ORDER BY n.id",
    "MATCH (n:Intervention) RETURN n.id AS id, n.tags AS tags, labels(n) AS l ORDER BY id",
    "MATCH (n:Intervention) RETURN [k IN ['id', 'name', 'nope'] WHERE n[k] IS NOT NULL "
    "| [k, n[k]]], labels(n), 0.5 * n.n ORDER BY n.id",
    "MATCH (n:Intervention) RETURN collect(n.id), count(n), max(n.ratio), null, true",
    "RETURN [[1, [2.5, null]], [], ['a', false]] AS nested, -1e300 AS tiny, 'x' AS s",
    "MATCH (n:Intervention) WHERE n.n > 100 RETURN n.id",  # no rows
]


@pytest.mark.parametrize("query", PLAIN)
def test_plain_replies_read_as_the_client_reads_them(store: FalkorDBStore, query: str) -> None:
    response = _raw(store, query)
    lean = reply_rows(response)
    assert lean is not None, "a reply of plain values must not need the client's parser"
    assert lean == _client(store, response)
    # Types too: an int stays an int, a double a float, a bool a bool.
    assert [[type(v) for v in row] for row in lean[1]] == [
        [type(v) for v in row] for row in _client(store, response)[1]
    ]


@pytest.mark.parametrize(
    "query",
    [
        "MATCH (n:Intervention) RETURN n LIMIT 1",
        "MATCH (n:Intervention) RETURN [n] LIMIT 1",
        "RETURN {a: 1} AS m",
        "RETURN point({latitude: 1.0, longitude: 2.0})",
    ],
)
def test_nodes_maps_and_points_are_left_to_the_client(store: FalkorDBStore, query: str) -> None:
    assert reply_rows(_raw(store, query)) is None


def test_plain_rows_reads_lists_at_any_depth_and_refuses_a_node_inside_one() -> None:
    assert plain_rows([[[6, [[2, "a"], [6, [[5, "0.25"], [1, None]]]]], [4, "false"]]]) == [
        [["a", [0.25, None]], False]
    ]
    assert plain_rows([[[6, [[3, 1], [8, [1, [0], []]]]]]]) is None
    assert plain_rows([]) == []


def test_a_run_time_error_in_the_reply_is_raised() -> None:
    with pytest.raises(ResponseError, match="boom"):
        reply_rows([[[1, "a"]], [], ResponseError("boom")])


def test_statistics_only_reply_has_no_rows(store: FalkorDBStore) -> None:
    response = store.graph.execute_command(
        "GRAPH.QUERY", store.graph.name, "MATCH (n:Nothing) SET n.x = 1", "--compact"
    )
    assert reply_rows(response) == ([], []) == _client(store, response)


def test_the_header_is_the_clients_text(store: FalkorDBStore) -> None:
    params: dict[str, Any] = {
        "s": HOSTILE,
        "one": HOSTILE[0],
        "n": 3,
        "f": 0.1,
        "none": None,
        "b": True,
        "m": {"k": [1, "x"], "q": 'a"b'},
    }
    assert params_header(params) == store.graph._build_params_header(params)
    assert params_header(None) == store.graph._build_params_header(None) == ""


def test_a_query_vector_is_the_same_vector_on_the_server(store: FalkorDBStore) -> None:
    rng = np.random.default_rng(7)
    for scale in (1.0, 1e-5, 1e-12):
        v = rng.standard_normal(384).astype(np.float32) * np.float32(scale)
        values = [float(x) for x in v]
        query = "RETURN vecf32($v), vec.cosineDistance(vecf32($v), vecf32($w))"
        w = [float(x) for x in rng.standard_normal(384).astype(np.float32)]
        by_client = _raw(store, query, {"v": values, "w": w})
        text = params_header({"v": VectorParam(v), "w": VectorParam(w)}) + query
        ours = store.graph.execute_command("GRAPH.RO_QUERY", store.graph.name, text, "--compact")
        assert ours[1] == by_client[1], "the server must read the same float32 numbers"
        assert not math.isnan(float(ours[1][0][1][1]))


def test_the_stores_reads_go_the_lean_way_and_answer_the_same(store: FalkorDBStore) -> None:
    for query in PLAIN:
        got = store.read_query(query, row_cap=3)
        columns, rows = _client(store, _raw(store, query))
        assert (got.columns, got.rows, got.truncated) == (columns, rows[:3], len(rows) > 3)
        assert store._q(query, ro=True) == rows
    node = store.read_query("MATCH (n:Intervention {id: 'iv1'}) RETURN n")
    assert node.rows[0][0]["name"] == HOSTILE[1]
