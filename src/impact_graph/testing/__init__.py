"""Helpers for tests and benchmarks that need real databases (never fakes).

``neo4j_server.Neo4jServer`` runs a throw-away Neo4j Community 5.26 resolved from Maven
Central, so the Neo4j backend is tested against the real thing without Docker.
"""

from impact_graph.testing.neo4j_server import Neo4jServer, Neo4jServerError

__all__ = ["Neo4jServer", "Neo4jServerError"]
