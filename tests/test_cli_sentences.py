"""Bad values on the command line end in one sentence naming what was typed, not in
pydantic's text or a stack trace (found walking through the CLI, H74). No store is
needed: each value is refused before one is opened."""

from __future__ import annotations

from typer.testing import CliRunner

from impact_graph.cli import EXIT, app

runner = CliRunner()


def test_a_bad_backend_option_or_variable_is_a_sentence() -> None:
    res = runner.invoke(app, ["stats", "--backend", "mysql"])
    assert res.exit_code == EXIT["usage"], res.output
    assert "Traceback" not in res.output and "pydantic" not in res.output
    assert "--backend: input should be 'falkordb' or 'neo4j', not 'mysql'." in res.output
    res = runner.invoke(app, ["stats"], env={"IMPACT_GRAPH_BACKEND": "mysql"})
    assert res.exit_code == EXIT["usage"], res.output
    assert "IMPACT_GRAPH_BACKEND: input should be 'falkordb' or 'neo4j'" in res.output
    res = runner.invoke(app, ["cypher", "RETURN 1"], env={"IMPACT_GRAPH_QUERY_TIMEOUT_S": "x"})
    assert res.exit_code == EXIT["usage"], res.output
    assert "IMPACT_GRAPH_QUERY_TIMEOUT_S: input should be a valid number" in res.output


def test_a_bad_search_type_names_the_option_and_the_choices() -> None:
    res = runner.invoke(app, ["search", "eenzaamheid", "--type", "foo"])
    assert res.exit_code == EXIT["usage"], res.output
    assert "validation error" not in res.output and "errors.pydantic.dev" not in res.output
    assert "--type: input should be 'intervention', 'working_element' or 'chunk'" in res.output
    assert "not 'foo'" in res.output


def test_serve_on_a_taken_port_says_so_before_starting_anything() -> None:
    """uvicorn found a taken port only after the app had opened the store and loaded
    the model, and said "[Errno 98] ... address already in use" with exit code 3 (this
    CLI's "store unavailable")."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = runner.invoke(app, ["serve", "--port", str(port), "--data-dir", "/nonexistent"])
    assert res.exit_code == EXIT["usage"], res.output
    assert f"--port {port} on 127.0.0.1 is already in use" in res.output
    assert "Errno" not in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["serve", "--host", "no-such-host.invalid"])
    assert res.exit_code == EXIT["usage"], res.output
    assert "--host 'no-such-host.invalid' is not a known host name or address" in res.output
