"""The test Neo4j (tools/neo4j-launcher via impact_graph.testing) is real and guarded."""

from __future__ import annotations

import neo4j
import pytest
from neo4j.exceptions import AuthError

from impact_graph.testing.neo4j_server import Neo4jServer, Neo4jServerError

pytestmark = pytest.mark.neo4j


def test_server_answers_bolt_with_its_password(neo4j_server: Neo4jServer) -> None:
    assert neo4j_server.uri.startswith("bolt://")
    with neo4j.GraphDatabase.driver(
        neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)
    ) as drv:
        records, _, _ = drv.execute_query("RETURN 1 AS one")
        assert records[0]["one"] == 1
        # The analyzers and index kinds the Neo4j backend relies on are present.
        analyzers, _, _ = drv.execute_query(
            "CALL db.index.fulltext.listAvailableAnalyzers() YIELD analyzer RETURN analyzer"
        )
        assert "dutch" in {r["analyzer"] for r in analyzers}


def test_wrong_password_is_refused(neo4j_server: Neo4jServer) -> None:
    with (
        neo4j.GraphDatabase.driver(
            neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password + "-wrong")
        ) as drv,
        pytest.raises(AuthError),
    ):
        drv.verify_connectivity()


def test_external_server_from_env_is_used_as_is(
    neo4j_server: Neo4jServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPACT_GRAPH_TEST_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("IMPACT_GRAPH_TEST_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("IMPACT_GRAPH_TEST_NEO4J_PASSWORD", neo4j_server.password)
    with Neo4jServer() as ext:
        assert ext.external and ext.uri == neo4j_server.uri
        assert ext.password == neo4j_server.password
    # Leaving the block must not stop a server this object did not start.
    with neo4j.GraphDatabase.driver(
        neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)
    ) as drv:
        drv.verify_connectivity()

    monkeypatch.setenv("IMPACT_GRAPH_TEST_NEO4J_PASSWORD", "not-the-password")
    with pytest.raises(Neo4jServerError, match="refused user 'neo4j'"):
        Neo4jServer().start()
