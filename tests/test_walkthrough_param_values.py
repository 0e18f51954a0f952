"""Parameter values no store holds as sent (walk-through H38): Python's json reads
integers of any size and NaN/Infinity. On make demo, ``RETURN $x`` with x = 10^29 answered
9223372036854775807 without a word, and x = 1e400 or NaN a syntax error "at line 1,
column 10" of a correct query. Now a sentence naming the parameter, before any store."""

from __future__ import annotations

from typing import Any

import pytest

from impact_graph.queries import check_cypher
from impact_graph.store.port import QuerySyntaxError


@pytest.mark.parametrize(
    "params",
    [
        {"x": 10**29},
        {"x": -(2**63) - 1},
        {"x": float("inf")},
        {"x": float("nan")},
        {"x": [1, 2, {"deep": [2**64]}]},
    ],
    ids=["huge", "below-int64", "inf", "nan", "nested"],
)
def test_values_no_store_holds_are_refused_by_name(params: dict[str, Any]) -> None:
    with pytest.raises(QuerySyntaxError, match=r"Parameter \$x holds"):
        check_cypher("RETURN $x AS x", params)


@pytest.mark.parametrize(
    "params",
    [{"x": 2**63 - 1}, {"x": -(2**63)}, {"x": 1e308}, {"x": [True, None, "10" * 40]}],
    ids=["int64-max", "int64-min", "large-float", "others"],
)
def test_values_the_stores_hold_pass(params: dict[str, Any]) -> None:
    check_cypher("RETURN $x AS x", params)


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "RETURN $x AS x", "params": {"x": 123456789012345678901234567890}}',
        b'{"query": "RETURN $x AS x", "params": {"x": 1e400}}',
        b'{"query": "RETURN $x AS x", "params": {"x": NaN}}',
    ],
    ids=["huge", "inf", "nan"],
)
def test_api_answers_a_400_naming_the_parameter(falkordb_data_dir: Any, body: bytes) -> None:
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app
    from impact_graph.config import Settings

    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="walk-params")
    with TestClient(create_app(settings, warm_up=False)) as client:
        r = client.post("/cypher", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert "Parameter $x holds" in r.json()["detail"]
        assert client.get("/cypher", params={"query": "RETURN 1 AS one"}).status_code == 200


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ("MATCH (n) RETURN n.id LIMIT 4294967296", False),
        ("MATCH (n) RETURN n.id SKIP 4294967297 LIMIT 5", False),
        ("MATCH (n) RETURN n.id LIMIT 9223372036854775807", False),
        ("MATCH (n) RETURN n.id SKIP 10 LIMIT 4294967295", True),
        ("MATCH (n) WHERE n.name = 'LIMIT 99999999999' RETURN n.limit LIMIT 3", True),
    ],
)
def test_skip_and_limit_past_32_bits_are_refused(query: str, ok: bool) -> None:
    """FalkorDB keeps only their low 32 bits: LIMIT 4294967296 answered no rows and
    SKIP 4294967296 skipped none, without a word (make demo, H38)."""
    from impact_graph.store.port import QueryRefused

    if ok:
        check_cypher(query)
    else:
        with pytest.raises(QueryRefused, match="below 4,294,967,296"):
            check_cypher(query)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"query": "RETURN \'\\ud800\' AS x"}', "at line 1, column 9"),
        (b'{"query": "RETURN $x AS x", "params": {"x": ["a", "\\udfff"]}}', "Parameter $x"),
    ],
    ids=["in-query", "in-parameter"],
)
def test_a_lone_surrogate_is_a_400_not_a_500(
    falkordb_data_dir: Any, body: bytes, said: str
) -> None:
    """JSON's "\\ud800" decodes to a lone surrogate, which cannot be encoded for the store:
    the command failed with a UnicodeEncodeError, a 500 (H37 found it, lead measured)."""
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app
    from impact_graph.config import Settings

    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="walk-params")
    with TestClient(create_app(settings, warm_up=False)) as client:
        r = client.post("/cypher", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert "not valid Unicode" in r.json()["detail"] and said in r.json()["detail"]
        assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    "query", ["MATCH (n) RETURN n LIMIT $n", "MATCH (n) RETURN n skip $n LIMIT 5"]
)
def test_skip_or_limit_from_a_parameter_past_32_bits_is_refused(query: str) -> None:
    """FalkorDB read ``LIMIT $n`` with n = 2^32 as 0 rows, as it read the literal."""
    from impact_graph.store.port import QueryRefused

    with pytest.raises(QueryRefused, match=r"\$n is 4,294,967,296"):
        check_cypher(query, {"n": 2**32})
    check_cypher(query, {"n": 2**32 - 1})  # the largest it reads right


def test_a_large_parameter_elsewhere_than_skip_or_limit_passes() -> None:
    check_cypher("MATCH (n) WHERE n.size < $n RETURN n LIMIT $m", {"n": 2**40, "m": 3})
