"""The row cap reaches the database as ``LIMIT cap + 1`` (`impact_graph.queries.cap`).

Why: the cap used to cut a reply after the server had built and sent it all (a
million-row cartesian product answered 23.5 s under a 5 s limit on FalkorDB). The
rewrite must keep every answer that fits the cap identical, still report the cap when
there are more rows, and leave alone the shapes a trailing LIMIT would change (UNION, a
query with its own LIMIT, a bare procedure call). Checked on both real backends against
the same text run without a cap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from impact_graph.queries.cap import capped
from impact_graph.queries.run import run_cypher
from impact_graph.store.port import GraphStore


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("MATCH (n) RETURN n.id", "MATCH (n) RETURN n.id LIMIT 11"),
        (
            "MATCH (n) RETURN n.id ORDER BY n.id SKIP 2",
            "MATCH (n) RETURN n.id ORDER BY n.id SKIP 2 LIMIT 11",
        ),
        ("MATCH (n) RETURN DISTINCT n.k;", "MATCH (n) RETURN DISTINCT n.k LIMIT 11;"),
        (
            "MATCH (n) RETURN n.id AS limit // a note",
            "MATCH (n) RETURN n.id AS limit LIMIT 11 // a note",
        ),
        ("MATCH (n) WITH n LIMIT 3 RETURN n.id", "MATCH (n) WITH n LIMIT 3 RETURN n.id LIMIT 11"),
        (
            "CALL { MATCH (n) RETURN n LIMIT 3 } RETURN n.id",
            "CALL { MATCH (n) RETURN n LIMIT 3 } RETURN n.id LIMIT 11",
        ),
        ("RETURN 'LIMIT' AS s", "RETURN 'LIMIT' AS s LIMIT 11"),
        ("RETURN [x IN range(1, 3) | x] AS l", "RETURN [x IN range(1, 3) | x] AS l LIMIT 11"),
        # Left as they are:
        ("MATCH (n) RETURN n.id LIMIT 5", None),
        ("MATCH (n) RETURN n.id limit 50000", None),
        ("MATCH (a) RETURN a.id AS x UNION MATCH (b) RETURN b.id AS x", None),
        ("MATCH (a) RETURN a.id AS x UNION ALL MATCH (b) RETURN b.id AS x", None),
        ("CALL db.labels()", None),
        ("EXPLAIN MATCH (n) RETURN n", None),
        ("MATCH (n) RETURN n.id, 'unclosed", None),
    ],
)
def test_the_text_gets_a_limit_only_where_it_keeps_the_answer(
    query: str, expected: str | None
) -> None:
    assert capped(query, 10) == (expected if expected is not None else query)
    assert capped(query, 0) == query  # no cap: nothing to send


#: 30 nodes of a label of their own, k = i % 3.
NODES = 30

#: (query, ordered): ordered answers are compared row for row; the others as multisets.
QUERIES: list[tuple[str, bool]] = [
    ("MATCH (n:Capped) RETURN n.id AS id ORDER BY id", True),
    ("MATCH (n:Capped) RETURN n.id AS id ORDER BY id DESC SKIP 4", True),
    ("MATCH (n:Capped) RETURN n.id AS id", False),
    ("MATCH (n:Capped) RETURN DISTINCT n.k AS k ORDER BY k", True),
    ("MATCH (n:Capped) RETURN n.k AS k, count(*) AS c ORDER BY k", True),
    ("MATCH (n:Capped) RETURN count(*) AS c", True),
    ("MATCH (a:Capped), (b:Capped) WHERE a.k = 0 RETURN a.id AS a, b.id AS b ORDER BY a, b", True),
    ("MATCH (n:Capped) WITH n ORDER BY n.id LIMIT 12 RETURN n.id AS id ORDER BY id", True),
    ("MATCH (n:Capped) RETURN n.id AS id ORDER BY id LIMIT 7", True),
    (
        "MATCH (n:Capped) WHERE n.k = 1 RETURN n.id AS id UNION MATCH (n:Capped) RETURN n.id AS id",
        False,
    ),
    ("UNWIND range(1, 40) AS i RETURN i ORDER BY i;", True),
    ("MATCH (n:Capped) RETURN n.id AS id ORDER BY id // the ids", True),
]


@pytest.fixture
def capped_store(store: GraphStore) -> Iterator[GraphStore]:
    """The cleared store of the backend, with `NODES` ``:Capped`` nodes written."""
    write = (
        f"UNWIND range(1, {NODES}) AS i "
        "CREATE (:Capped {id: 'c' + right('0' + toString(i), 2), k: i % 3})"
    )
    if store.backend == "falkordb":
        store.db.connection.execute_command("GRAPH.QUERY", store.graph.name, write)  # type: ignore[attr-defined]
    else:
        store.driver.execute_query(write, database_=store.database)  # type: ignore[attr-defined]
    yield store


@pytest.mark.parametrize("cap", [5, 10, 1000])
def test_answers_are_those_of_the_uncapped_text(capped_store: GraphStore, cap: int) -> None:
    """Every query, run through `run_cypher` (capped text) and as it is with no cap: the
    same columns, the same first rows (all of them when they fit), the cap reported
    exactly when the uncapped answer has more rows."""
    sent: list[str] = []
    real = capped_store.read_query

    def recording(query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(query)
        return real(query, *args, **kwargs)

    for query, ordered in QUERIES:
        whole = real(query, {}, timeout_s=30.0, row_cap=1_000_000)
        capped_store.read_query = recording  # type: ignore[method-assign]
        try:
            table = run_cypher(capped_store, query, timeout_s=30.0, row_cap=cap)
        finally:
            del capped_store.read_query
        assert table.columns == list(whole.columns), query
        assert table.truncated == (len(whole.rows) > cap), query
        assert len(table.rows) == min(cap, len(whole.rows)), query
        rows = [list(r) for r in whole.rows]
        if ordered:
            assert table.rows == rows[:cap], query
        elif not table.truncated:
            assert sorted(map(repr, table.rows)) == sorted(map(repr, rows)), query
        # The text the store ran carries the LIMIT exactly when `capped` gave one.
        assert sent[-1] == capped(query, cap)
        left_alone = "UNION" in query or query.endswith("LIMIT 7")
        assert (sent[-1] == query) == left_alone, sent[-1]
