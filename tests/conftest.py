"""Shared fixtures: real stores on both backends.

``store`` is parametrised over every backend, so a contract test written once runs on
embedded FalkorDB and on a real Neo4j 5.26 (started from Maven Central by
``impact_graph.testing.neo4j_server``). Nothing here is a fake.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from impact_graph.config import Settings
from impact_graph.store.port import GraphStore
from tests.factories import schema_store

BACKENDS = ("falkordb", "neo4j")

# Fixtures that keep an asyncio loop running in the main thread for as long as they live,
# by design: Playwright's sync API runs its loop in a greenlet of the main thread
# (tests/browser/conftest.py). Between two tests that both use one, the loop may stay.
LOOP_OWNING_FIXTURES = frozenset({"browser"})


@pytest.fixture(scope="session")
def schema():  # type: ignore[no-untyped-def]
    from impact_graph.ontology import load_schema

    return load_schema()


@pytest.fixture(scope="session", autouse=True)
def no_server_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Stop every embedded FalkorDB left running under this session's temporary
    directories, after every other fixture (autouse, session scope: torn down last).

    Why: an app's embedded server outlives the app by design, and a test (or a
    subprocess it runs) that starts one and does not stop it left it running for good:
    pytest deletes old temporary directories later, and with them the pid file. H60
    killed 16 such servers. Only servers whose data dir is under this session's base
    directory are touched, never another session's.
    """
    yield
    from impact_graph.store.falkordb_server import stop_servers_under

    left = stop_servers_under(tmp_path_factory.getbasetemp())
    if left:
        warnings.warn(
            f"{len(left)} embedded FalkorDB server(s) were still running under "
            f"{tmp_path_factory.getbasetemp()} at the end of the session and were stopped; "
            "the test that started them should stop them (FalkorDBServer(data_dir).stop()).",
            stacklevel=1,
        )


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


def store_env(settings: Settings) -> dict[str, str]:
    """The ``IMPACT_GRAPH_*`` variables that point a CLI run or a child process at the same
    store as ``settings`` (backend, data dir, graph name, Neo4j connection), so the CLI
    tests read and write the graph their fixtures prepared."""
    return {
        "IMPACT_GRAPH_BACKEND": settings.backend,
        "IMPACT_GRAPH_DATA_DIR": str(settings.data_dir),
        "IMPACT_GRAPH_GRAPH_NAME": settings.graph_name,
        "IMPACT_GRAPH_NEO4J_URI": settings.neo4j_uri,
        "IMPACT_GRAPH_NEO4J_USER": settings.neo4j_user,
        "IMPACT_GRAPH_NEO4J_PASSWORD": settings.neo4j_password.get_secret_value(),
    }


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest) -> Settings:
    return settings_for(request.param, request)


@pytest.fixture
def store(backend_settings: Settings, schema) -> Iterator[GraphStore]:  # type: ignore[no-untyped-def]
    """A cleared store with the ontology's schema set up, on each backend in turn."""
    from impact_graph.store import open_store

    with schema_store(open_store(backend_settings), schema) as st:
        yield st


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark Neo4j-parametrised tests so ``-m 'not neo4j'`` gives a quick local loop."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and "neo4j" in callspec.id.split("-"):
            item.add_marker(pytest.mark.neo4j)


def leaked_loop(nextitem: pytest.Item | None) -> asyncio.AbstractEventLoop | None:
    """The event loop still running in the main thread once a test and every fixture the
    next test does not need are torn down, unless the next test needs a fixture of
    `LOOP_OWNING_FIXTURES` (None when nothing is left running)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    if nextitem is not None and LOOP_OWNING_FIXTURES & set(getattr(nextitem, "fixturenames", ())):
        return None
    return loop


_reported_loops: set[asyncio.AbstractEventLoop] = set()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Fail the test whose teardown leaves an event loop running in the main thread.

    Why: such a loop makes every later ``asyncio.run()`` in the main thread fail with
    "cannot be called from a running event loop", far from its cause (a session-scoped
    Playwright fixture did that to tests/test_cypher_async.py in CI). A hook rather than an
    autouse fixture, because a fixture's teardown runs before the wider-scoped fixtures
    (module, package, session) are torn down, and those are where such loops live. Each
    loop is reported once, on the test after which it should have stopped.
    """
    result = yield
    loop = leaked_loop(nextitem)
    if loop is not None and loop not in _reported_loops:
        _reported_loops.add(loop)
        pytest.fail(
            f"An asyncio event loop ({loop!r}) is still running in the main thread after "
            f"{item.nodeid} and its fixtures were torn down; later asyncio.run() calls will "
            "fail. Close the client, portal or sync_playwright() that started it (use it as "
            "a context manager, in the narrowest fixture scope), or add the fixture that owns "
            "it to LOOP_OWNING_FIXTURES in tests/conftest.py if it must outlive one test.",
            pytrace=False,
        )
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI no test may be skipped: a skip would hide a backend that did not start."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) were skipped; none may be.", red=True)
        session.exitstatus = 1
