"""Researcher queries cannot exhaust the machine's memory.

Two layers: the guard refuses a ``range()`` whose size it can compute (literals, literal
arithmetic, parameters) past `MAX_RANGE_VALUES`, before any store sees it; and the
embedded FalkorDB gets a per-query memory cap (``falkordb_query_memory_mb``) that turns a
``collect()`` blow-up into a refusal with a sentence instead of a server the kernel kills.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph.config import Settings
from impact_graph.queries.guard import MAX_RANGE_VALUES, check_cypher
from impact_graph.store.port import QueryRefused

TOO_BIG = [
    ("UNWIND range(1, 300000000) AS x RETURN count(x)", None),
    ("RETURN size(range(1, 3*10^8))", None),
    ("RETURN size(range(0, 10^100000))", None),
    ("RETURN size(range(-5000000000, 5000000000, 1000))", None),
    ("MATCH (n) WITH n LIMIT 1\nUNWIND range(1, $n) AS x RETURN count(x)", {"n": 10**9}),
    ("RETURN size(range($a, $b))", {"a": -(10**8), "b": 10**8}),
    (f"RETURN size(range(1, {MAX_RANGE_VALUES + 1}))", None),
]

#: A range() whose bound the guard cannot size before the query runs (the known hole:
#: each reached FalkorDB and built its whole list before the memory cap looked).
UNSIZED = [
    ("WITH 300000000 AS n UNWIND range(1, n) AS x RETURN count(x)", None, "n"),
    ("RETURN size(range(1, toInteger('3' + '00000000')))", None, "toInteger"),
    ("MATCH (n) WITH count(n) AS c RETURN size(range(1, c * 100000000))", None, "c * "),
    (
        "MATCH (n) WITH collect(n) AS ns RETURN size(range(0, size(ns) * 1000000))",
        None,
        "size(ns) * 1000000",
    ),
    ("RETURN [x IN range(1, 10) | size(range(1, x * 100000000))]", None, "x * "),
    ("RETURN size(range(1, 10, $step))", {"step": 0.5}, "$step"),
    ("UNWIND range(1, $n) AS x RETURN count(x)", {"n": "300000000"}, "$n"),
]

FINE = [
    ("MATCH (n) WITH collect(n) AS ns UNWIND range(0, size(ns) - 1) AS i RETURN ns[i]", None),
    ("MATCH p = (a)-[*1..3]->(b) RETURN [i IN range(0, length(p)) | i]", None),
    ("RETURN range(0, size([1, 2, 3]) + 2)", None),
    ("UNWIND range(1, 2000000) AS x RETURN count(x)", None),
    (f"RETURN size(range(1, {MAX_RANGE_VALUES}))", None),
    ("RETURN range(10, 1, -1)", None),
    ("RETURN size(range(0, 100000000, 100))", None),
    ("UNWIND range(1, $n) AS x RETURN count(x)", {"n": 10}),
    ("MATCH p = (a)-->(b) UNWIND range(0, size(nodes(p)) - 1) AS i RETURN i", None),
    ("RETURN 'range(1, 10^10)' AS text", None),
    ("MATCH (n) RETURN n.range", None),
    ("RETURN range(1, 1^100000)", None),
]


@pytest.mark.parametrize(("query", "params"), TOO_BIG)
def test_guard_refuses_a_range_too_big_to_build(query: str, params: dict | None) -> None:
    with pytest.raises(QueryRefused) as info:
        check_cypher(query, params)
    msg = str(info.value)
    # Names the call and where it is, and says what to do instead.
    assert msg.startswith("range(") and "line " in msg and "column " in msg
    assert f"{MAX_RANGE_VALUES:,}" in msg and "MATCH" in msg


@pytest.mark.parametrize(("query", "params", "bound"), UNSIZED)
def test_guard_refuses_a_range_it_cannot_size(query: str, params: dict | None, bound: str) -> None:
    with pytest.raises(QueryRefused) as info:
        check_cypher(query, params)
    msg = str(info.value)
    # Names the call, the bound and where it is, and says what to write instead.
    assert msg.startswith("range(") and bound in msg and "line 1, column " in msg
    assert "parameters ($n)" in msg and "size()/length()" in msg
    assert f"{MAX_RANGE_VALUES:,}" in msg


def _notebook_strings() -> list[str]:
    """Every string constant of the notebooks' code cells that reads like Cypher."""
    import ast
    import json

    found = []
    for nb in sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
            for node in ast.walk(ast.parse("\n".join(lines))):
                text = node.value if isinstance(node, ast.Constant) else None
                if isinstance(text, str) and ("MATCH" in text or "RETURN" in text):
                    found.append(text)
    return found


def test_guard_lets_the_stored_and_notebook_queries_through() -> None:
    """The range rule restricts no query researchers are shown: every stored Cypher
    query passes, and no notebook query is refused for a range (one notebook cell
    shows a refused SET on purpose)."""
    from impact_graph.queries import load_catalog

    stored = [q.cypher for q in load_catalog() if q.cypher]
    assert len(stored) >= 15
    for text in stored:
        check_cypher(text, {})
    notebook = _notebook_strings()
    assert len(notebook) >= 5
    for text in notebook:
        try:
            check_cypher(text, {})
        except QueryRefused as exc:
            assert "range(" not in str(exc) and " SET " in text, (text, str(exc))


@pytest.mark.parametrize(("query", "params"), FINE)
def test_guard_lets_reasonable_ranges_through(query: str, params: dict | None) -> None:
    check_cypher(query, params)


def test_the_same_text_is_judged_by_its_parameters_each_time() -> None:
    """The clause check is remembered per text; the range bounds from parameters are not."""
    query = "UNWIND range(1, $n) AS x RETURN count(x)"
    check_cypher(query, {"n": 5})
    with pytest.raises(QueryRefused):
        check_cypher(query, {"n": 10**9})
    check_cypher(query, {"n": 5})


def test_embedded_falkordb_gets_the_default_memory_cap(falkordb_data_dir: Path) -> None:
    from impact_graph.store import open_store

    st = open_store(Settings(backend="falkordb", data_dir=falkordb_data_dir))
    try:
        got = st.db.connection.execute_command("GRAPH.CONFIG", "GET", "QUERY_MEM_CAPACITY")
    finally:
        st.close()
    assert int(got[1]) == Settings().falkordb_query_memory_mb * 1024 * 1024


def test_embedded_falkordb_refuses_a_query_past_its_memory_cap(tmp_path: Path) -> None:
    """A server of its own (the cap is server-wide: the session's server keeps its own)."""
    from impact_graph.store import open_store
    from impact_graph.store.falkordb_server import FalkorDBServer

    settings = Settings(backend="falkordb", data_dir=tmp_path, falkordb_query_memory_mb=16)
    st = open_store(settings)
    try:
        bomb = (
            "UNWIND range(1, 1000000) AS x "
            "RETURN size(collect(toString(x) + 'abcdefghijklmnopqrstuvwxyz0123456789')) AS n"
        )
        with pytest.raises(QueryRefused) as info:
            st.read_query(bomb, {}, timeout_s=30, row_cap=10)
        assert "memory" in str(info.value) and "FALKORDB_QUERY_MEMORY_MB" in str(info.value)
        # The server is alive and answers the next query.
        ok = st.read_query(
            "UNWIND range(1, 1000) AS x RETURN count(x)", {}, timeout_s=5, row_cap=10
        )
        assert ok.rows == [[1000]]
    finally:
        st.close()
        FalkorDBServer(tmp_path).stop()


def test_a_query_past_the_servers_memory_limit_stops_the_server_not_the_machine(
    tmp_path: Path,
) -> None:
    """ORDER BY buffers every row and checks neither the per-query cap nor the time limit
    (measured: 4M unwound rows grew the server past 3.5 GB with a 16 MB cap and a 2 s
    limit); the address-space limit stops it. The researcher gets a sentence, the server
    is restarted with its limits, and the data is still there."""
    from impact_graph.store import open_store
    from impact_graph.store.falkordb_server import FalkorDBServer

    settings = Settings(
        backend="falkordb",
        data_dir=tmp_path,
        falkordb_query_memory_mb=16,
        falkordb_server_memory_mb=1024,
    )
    st = open_store(settings)
    try:
        pid = st.server.read_pid()
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert any(
            line.startswith("Max address space") and str(1024 * 1024 * 1024) in line
            for line in limits.splitlines()
        )
        st.db.connection.execute_command("GRAPH.QUERY", settings.graph_name, "CREATE (:Kept)")
        st.db.connection.execute_command("SAVE")
        bomb = (
            "UNWIND range(1, 2000) AS a UNWIND range(1, 2000) AS b "
            "WITH a, b ORDER BY a + b RETURN count(*)"
        )
        with pytest.raises(QueryRefused) as info:
            st.read_query(bomb, {}, timeout_s=30, row_cap=10)
        msg = str(info.value)
        assert "IMPACT_GRAPH_FALKORDB_SERVER_MEMORY_MB" in msg and "restarted" in msg
        # A new server, under the same limits, with the data, answering the same store.
        assert st.server.read_pid() != pid
        ok = st.read_query("MATCH (n:Kept) RETURN count(n)", {}, timeout_s=5, row_cap=10)
        assert ok.rows == [[1]]
        got = st.db.connection.execute_command("GRAPH.CONFIG", "GET", "QUERY_MEM_CAPACITY")
        assert int(got[1]) == 16 * 1024 * 1024
        assert str(1024 * 1024 * 1024) in Path(f"/proc/{st.server.read_pid()}/limits").read_text()
    finally:
        st.close()
        FalkorDBServer(tmp_path).stop()


#: Queries that pass the guard and still need unbounded memory: an ORDER BY buffers every
#: row (FalkorDB checks neither its cap nor the time limit while it does), collect() over
#: a cartesian product, and a string doubled in reduce() (one expression: FalkorDB looks
#: at its cap only after it). Not in the hostile list of test_hostile_cypher, which runs on
#: the session's FalkorDB: there each would grow that server to its 6 GB limit.
MEMORY_BOMBS = {
    "order-by-cartesian": (
        "UNWIND range(1, 2000) AS a UNWIND range(1, 2000) AS b "
        "WITH a, b ORDER BY a + b RETURN count(*)"
    ),
    "collect-cartesian": (
        "UNWIND range(1, 3000) AS a UNWIND range(1, 3000) AS b RETURN size(collect([a, b]))"
    ),
    "reduce-doubling": "RETURN size(reduce(s = 'x', i IN range(1, 40) | s + s))",
}


@pytest.mark.parametrize("bomb", sorted(MEMORY_BOMBS))
@pytest.mark.parametrize("backend", ["falkordb", "neo4j"])
def test_a_memory_bomb_is_refused_and_the_server_answers_after(
    backend: str, bomb: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """FalkorDB: a server of its own with small limits (16 MB a query, 1 GB in all), so a
    bomb costs at most 1 GB here; Neo4j: the session's server, whose launcher limits a
    transaction to a quarter of the heap (the heap bounds the rest)."""
    from impact_graph.store import open_store
    from impact_graph.store.falkordb_server import FalkorDBServer
    from tests.conftest import settings_for

    if backend == "falkordb":
        settings = Settings(
            backend="falkordb",
            data_dir=tmp_path,
            falkordb_query_memory_mb=16,
            falkordb_server_memory_mb=1024,
        )
    else:
        settings = settings_for("neo4j", request)
    st = open_store(settings)
    try:
        if backend == "falkordb":
            # A write, so the graph is in the append-only file a restarted server loads
            # (the empty graph the store makes at open with a read is not).
            st.db.connection.execute_command("GRAPH.QUERY", settings.graph_name, "CREATE (:Kept)")
        with pytest.raises(QueryRefused) as info:
            st.read_query(MEMORY_BOMBS[bomb], {}, timeout_s=30, row_cap=10)
        msg = str(info.value)
        assert "more memory than" in msg and "LIMIT" in msg, msg
        ok = st.read_query("UNWIND range(1, 1000) AS x RETURN count(x)", {}, timeout_s=5)
        assert ok.rows == [[1000]]
        if backend == "falkordb":
            kept = st.read_query("MATCH (n:Kept) RETURN count(n)", {}, timeout_s=5)
            assert kept.rows == [[1]]
    finally:
        st.close()
        if backend == "falkordb":
            FalkorDBServer(tmp_path).stop()


def _address_space_limit(pid: int) -> str:
    """The soft 'Max address space' of ``pid`` as /proc shows it (bytes or 'unlimited')."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            return line.split()[3]
    raise AssertionError("no address-space line in /proc/<pid>/limits")


def test_a_server_started_without_limits_gets_them_from_the_store(tmp_path: Path) -> None:
    """`impact-graph db start` knows no settings; the first store that opens the server
    puts it under the address-space limit (and sets the per-query cap)."""
    from impact_graph.store import open_store
    from impact_graph.store.falkordb_server import FalkorDBServer

    bare = FalkorDBServer(tmp_path)
    bare.ensure_running()
    pid = bare.read_pid()
    assert pid is not None and _address_space_limit(pid) == "unlimited"
    settings = Settings(backend="falkordb", data_dir=tmp_path, falkordb_server_memory_mb=2048)
    st = open_store(settings)
    try:
        assert st.server.read_pid() == pid  # the same server, not a new one
        assert _address_space_limit(pid) == str(2048 * 1024 * 1024)
    finally:
        st.close()
        bare.stop()


def test_a_server_already_past_the_limit_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lowering the limit under what a running server maps would stop it at its next
    allocation: it keeps running as it was (a restart applies the limit)."""
    from impact_graph.store import falkordb_server
    from impact_graph.store.falkordb_server import FalkorDBServer

    bare = FalkorDBServer(tmp_path)
    bare.ensure_running()
    try:
        pid = bare.read_pid()
        assert pid is not None
        monkeypatch.setattr(falkordb_server, "_address_space", lambda _pid: 4096 * 1024 * 1024)
        FalkorDBServer(tmp_path, memory_limit_mb=1024).ensure_running()
        assert _address_space_limit(pid) == "unlimited"
        monkeypatch.undo()
        FalkorDBServer(tmp_path, memory_limit_mb=1024).ensure_running()
        assert _address_space_limit(pid) == str(1024 * 1024 * 1024)
    finally:
        bare.stop()


def test_a_server_memory_limit_too_small_for_the_server_is_refused_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="at least 512, or 0 for no limit"):
        Settings(falkordb_server_memory_mb=100)
    assert Settings(falkordb_server_memory_mb=0).falkordb_server_memory_mb == 0


def test_api_answers_a_memory_bomb_with_400_and_keeps_serving(tmp_path: Path) -> None:
    """POST /cypher (the asyncio reader) on a server of its own with small limits: the
    bomb that stops the server is a 400 problem with the sentence, not a 503, and the
    next request is answered by the restarted server."""
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app
    from impact_graph.store.falkordb_server import FalkorDBServer

    settings = Settings(
        backend="falkordb",
        data_dir=tmp_path,
        rdf="off",
        falkordb_query_memory_mb=16,
        falkordb_server_memory_mb=1024,
        query_timeout_s=30,
    )
    try:
        with TestClient(create_app(settings, warm_up=False), raise_server_exceptions=False) as c:
            before = c.get("/cypher", params={"query": "RETURN 1 AS one"})
            assert before.status_code == 200, before.text
            pid = FalkorDBServer(tmp_path).read_pid()
            r = c.post("/cypher", json={"query": MEMORY_BOMBS["order-by-cartesian"]})
            assert r.status_code == 400, r.text
            assert r.json()["type"].endswith("query-refused")
            assert "IMPACT_GRAPH_FALKORDB_SERVER_MEMORY_MB" in r.json()["detail"]
            assert FalkorDBServer(tmp_path).read_pid() != pid
            after = c.get("/cypher", params={"query": "RETURN 1 AS one"})
            assert after.status_code == 200 and after.json()["rows"] == [[1]], after.text
    finally:
        FalkorDBServer(tmp_path).stop()
