"""The `impact-graph` CLI against real stores: sentences and exit codes, never traces."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from impact_graph.cli import EXIT, app
from impact_graph.store.falkordb_server import FalkorDBServer

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("cli") / "data"
    yield d
    FalkorDBServer(d).stop()


def test_help_lists_commands() -> None:
    res = run("--help")
    assert res.exit_code == 0
    for cmd in ("db", "stats", "cypher"):
        assert cmd in res.output
    assert run("db", "--help").exit_code == 0


def test_db_lifecycle(data_dir: Path) -> None:
    res = run("db", "status", "--data-dir", str(data_dir))
    assert res.exit_code == EXIT["unavailable"]
    assert "stopped" in res.output

    res = run("db", "start", "--data-dir", str(data_dir))
    assert res.exit_code == 0, res.output
    assert "started" in res.output

    res = run("db", "start", "--data-dir", str(data_dir))
    assert res.exit_code == EXIT["usage"]
    assert "already running" in res.output

    res = run("db", "status", "--data-dir", str(data_dir))
    assert res.exit_code == 0 and "running" in res.output

    res = run("stats", "--data-dir", str(data_dir), "--format", "json")
    assert res.exit_code == 0, res.output
    assert '"backend": "falkordb"' in res.output


def test_cypher_errors_are_sentences_with_exit_codes(data_dir: Path) -> None:
    run("db", "start", "--data-dir", str(data_dir))
    d = ["--data-dir", str(data_dir)]

    res = run("cypher", "RETURN 1 AS one", "--format", "json", *d)
    assert res.exit_code == 0, res.output
    assert '"one": 1' in res.output

    res = run("cypher", "RETURN $x AS x", "-p", "x=41", "--format", "csv", *d)
    assert res.exit_code == 0 and "41" in res.output

    res = run("cypher", "MATCH (n RETURN n", *d)
    assert res.exit_code == EXIT["syntax"], res.output
    assert "error:" in res.output

    res = run("cypher", "CREATE (n:Actor {id: 'x'}) RETURN n", *d)
    assert res.exit_code == EXIT["refused"], res.output

    res = run(
        "cypher",
        "UNWIND range(1, 3000) AS a UNWIND range(1, 3000) AS b UNWIND range(1, 3000) AS c "
        "RETURN count(*)",
        "--timeout",
        "0.3",
        *d,
    )
    assert res.exit_code == EXIT["timeout"], res.output

    res = run("cypher", "UNWIND range(1, 20) AS x RETURN x", "--limit", "5", "--format", "json", *d)
    assert res.exit_code == 0
    assert "row cap" in res.output

    assert run("cypher", "RETURN 1", "-p", "novalue", *d).exit_code == EXIT["usage"]
    assert run("cypher", "RETURN 1", "--timeout", "-1", *d).exit_code == EXIT["usage"]


def test_reading_commands_refuse_a_missing_data_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    res = run("stats", "--data-dir", str(missing))
    assert res.exit_code == EXIT["usage"]
    assert "no embedded store" in res.output
    assert not missing.exists(), "a read must not create a store"


def test_db_stop(tmp_path: Path) -> None:
    d = tmp_path / "data"
    assert run("db", "start", "--data-dir", str(d)).exit_code == 0
    res = run("db", "stop", "--data-dir", str(d))
    assert res.exit_code == 0 and "stopped" in res.output
    assert not (d / "falkordb.pid").exists()
    res = run("db", "stop", "--data-dir", str(d))
    assert res.exit_code == 0 and "not running" in res.output


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_neo4j_down_and_wrong_password(neo4j_server) -> None:  # type: ignore[no-untyped-def]
    down = {
        "IMPACT_GRAPH_BACKEND": "neo4j",
        "IMPACT_GRAPH_NEO4J_URI": f"bolt://127.0.0.1:{_closed_port()}",
    }
    res = run("stats", env=down)
    assert res.exit_code == EXIT["unavailable"], res.output
    assert "Neo4j" in res.output

    wrong = {
        "IMPACT_GRAPH_BACKEND": "neo4j",
        "IMPACT_GRAPH_NEO4J_URI": neo4j_server.uri,
        "IMPACT_GRAPH_NEO4J_USER": neo4j_server.user,
        "IMPACT_GRAPH_NEO4J_PASSWORD": "not-the-password",
    }
    res = run("cypher", "RETURN 1", env=wrong)
    assert res.exit_code == EXIT["auth"], res.output
    assert "PASSWORD" in res.output


def test_search_why_names_local_instances_with_their_own_rating() -> None:
    """The search table says which general intervention a result is a local instance of,
    and lists a general one's instances with their own rating and programmes."""
    from impact_graph.cli import why_lines
    from impact_graph.search.models import (
        InstanceOut,
        InterventionRef,
        ProgrammeRef,
        SearchResult,
    )

    general = SearchResult(
        id="intervention:buurtkamer",
        type="intervention",
        name="buurtkamer",
        score=1.0,
        instances=[
            InstanceOut(
                id="intervention:buurtkamer-wadstede",
                name="Buurtkamer Wadstede",
                recognition="Goed onderbouwd",
                programmes=[
                    ProgrammeRef(id="programme:sma", name="Samen Minder Alleen", via="uses")
                ],
            )
        ],
    )
    lines = why_lines(general)
    assert "local instances: Buurtkamer Wadstede (Goed onderbouwd) in Samen Minder Alleen" in lines
    assert not any(line.startswith("recognition:") for line in lines)
    local = SearchResult(
        id="intervention:buurtkamer-wadstede",
        type="intervention",
        name="Buurtkamer Wadstede",
        score=0.5,
        instance_of=[InterventionRef(id="intervention:buurtkamer", name="buurtkamer")],
    )
    assert why_lines(local) == ["local instance of: buurtkamer"]
