"""Shared fixtures: real stores on both backends.

``store`` is parametrised over every backend, so a contract test written once runs on
embedded FalkorDB and on a real Neo4j 5.26 (started from Maven Central by
``impact_graph.testing.neo4j_server``). Nothing here is a fake.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from impact_graph.config import Settings
from impact_graph.store.port import GraphStore

BACKENDS = ("falkordb", "neo4j")


@pytest.fixture(scope="session")
def schema():  # type: ignore[no-untyped-def]
    from impact_graph.ontology import load_schema

    return load_schema()


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[object]:
    from impact_graph.testing.neo4j_server import Neo4jServer

    with Neo4jServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def falkordb_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One embedded server for the session; each test gets its own graph name."""
    data = tmp_path_factory.mktemp("falkordb")
    yield data
    from impact_graph.store.falkordb_server import FalkorDBServer

    FalkorDBServer(data).stop()


@pytest.fixture(scope="session")
def neo4j_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("neo4j-data")


def settings_for(backend: str, request: pytest.FixtureRequest) -> Settings:
    """Settings that point at the session's real server for ``backend``."""
    if backend == "falkordb":
        data = request.getfixturevalue("falkordb_data_dir")
        return Settings(backend="falkordb", data_dir=data, graph_name="contract")
    srv = request.getfixturevalue("neo4j_server")
    return Settings(
        backend="neo4j",
        # The RDF view (write-through) and caches live in the data dir: keep them out of
        # the checkout.
        data_dir=request.getfixturevalue("neo4j_data_dir"),
        neo4j_uri=srv.uri,  # type: ignore[attr-defined]
        neo4j_user=srv.user,  # type: ignore[attr-defined]
        neo4j_password=srv.password,  # type: ignore[attr-defined]
    )


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest) -> Settings:
    return settings_for(request.param, request)


@pytest.fixture
def store(backend_settings: Settings, schema) -> Iterator[GraphStore]:  # type: ignore[no-untyped-def]
    """A cleared store with the ontology's schema set up, on each backend in turn."""
    from impact_graph.store import open_store

    st = open_store(backend_settings)
    st.clear()
    st.setup_schema(schema)
    try:
        yield st
    finally:
        st.clear()
        st.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark Neo4j-parametrised tests so ``-m 'not neo4j'`` gives a quick local loop."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and "neo4j" in callspec.id.split("-"):
            item.add_marker(pytest.mark.neo4j)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI no test may be skipped: a skip would hide a backend that did not start."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) were skipped; none may be.", red=True)
        session.exitstatus = 1
