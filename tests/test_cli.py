"""The `impact-graph` CLI against real stores: sentences and exit codes, never traces."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
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


def _options() -> Iterator[tuple[str, Any]]:
    """Every command path with each of its options (help included), depth first."""

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        ctx = cmd.make_context(path[-1] if path else "impact-graph", [], resilient_parsing=True)
        for p in cmd.get_params(ctx):
            if p.param_type_name == "option":
                yield " ".join(path), p
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


def test_help_shows_no_type_after_flags() -> None:
    """typer 0.29's Rich help printed '<bool>' after every flag (even --help), as if it
    took a value; flags now show none, and options with a value keep their type."""
    flags, valued = 0, 0
    for path, opt in _options():
        res = run(*path.split(), "--help", env={"COLUMNS": "200"})
        assert res.exit_code == 0, res.output
        assert "<bool>" not in res.output, f"impact-graph {path} --help:\n{res.output}"
        row = next(ln for ln in res.output.splitlines() if f" {opt.opts[0]} " in ln)  # type: ignore[attr-defined]
        if opt.is_flag:  # type: ignore[attr-defined]
            flags += 1
            assert "<" not in row, row  # the names, then the help text: no type between
        else:
            valued += 1
            assert "<" in row, row  # e.g. --data-dir <path>, --limit <int>
    assert flags >= 8 and valued >= 20  # --help of each command, --dry-run, --json, ...


def test_flags_the_readme_uses_still_take_no_value() -> None:
    """The flags README.md shows parse as flags (no value taken from the next word)."""
    root = typer.main.get_command(app)
    for args, want in (
        (["ingest", "docs", "--dry-run", "--no-progress", "more"], {"dry_run": True}),
        (["candidates", "--json", "--label", "Actor"], {"as_json": True, "label": "Actor"}),
        (["candidates", "--csv"], {"as_csv": True}),
        (["search", "eenzaamheid", "--explain", "--limit", "3"], {"explain": True, "limit": 3}),
        (["serve", "--access-log", "--port", "8001"], {"access_log": True, "port": 8001}),
    ):
        cmd = root.commands[args[0]]  # type: ignore[attr-defined]
        ctx = cmd.make_context(args[0], args[1:])
        assert {k: ctx.params[k] for k in want} == want, (args, ctx.params)
    ctx = root.commands["ingest"].make_context("ingest", ["a", "--dry-run", "b"])  # type: ignore[attr-defined]
    assert [str(p) for p in ctx.params["paths"]] == ["a", "b"] and ctx.params["progress"]
