"""Helpers for tests and benchmarks that need real databases (never fakes).

``impact_graph.testing.neo4j_server.Neo4jServer`` runs a throw-away Neo4j Community 5.26
resolved from Maven Central, so the Neo4j backend is tested against the real thing
without Docker. (Not imported here, so ``python -m impact_graph.testing.neo4j_server``
runs cleanly.)
"""
