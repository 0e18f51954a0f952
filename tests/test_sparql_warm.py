"""The app starts the embedded view's SPARQL query workers at start-up (``warm_sparql``),
and they open the store by themselves, so the first ``/sparql`` query neither starts a
process nor opens RocksDB (~0.5 s on a loaded machine).

The app's store starts empty here, so its start-up drops the documents `build_settings`
wrote into the view alone (no graph holds them); the test writes through the store.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impact_graph.api import create_app
from impact_graph.api.routers.sparql import app_view
from impact_graph.config import Settings
from impact_graph.rdf.view import OxigraphView
from impact_graph.store.falkordb_server import FalkorDBServer
from tests.factories import doc_batch
from tests.test_sparql_http import build_settings

QUERY = "SELECT ?name WHERE { ?i a ig:Intervention ; ig:name ?name }"


def _lock_holders(lock_path: Path) -> set[int]:
    """Pids holding a shared flock on ``lock_path`` (read from /proc/locks, so looking
    does not take the lock and race the workers for it)."""
    inode = os.stat(lock_path).st_ino
    holders = set()
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            # "1: FLOCK  ADVISORY  READ 1234 00:2f:5678 0 EOF" (blocked waiters: "->")
            if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
                continue
            if fields[3] == "READ" and int(fields[5].rsplit(":", 1)[1]) == inode:
                holders.add(int(fields[4]))
    return holders


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """`build_settings`; the embedded FalkorDB the app's store starts is stopped after."""
    s = build_settings(tmp_path)
    yield s
    FalkorDBServer(s.data_path).stop()


def test_workers_start_and_open_the_store_at_start_up(settings: Settings) -> None:
    app = create_app(settings, warm_up=False, warm_sparql=True)
    with TestClient(app) as client:
        view = app_view(app)
        assert isinstance(view, OxigraphView)
        pids = view.query_worker_pids
        assert len(pids) == view.query_workers  # started before any query
        deadline = time.monotonic() + 30
        while set(pids) - _lock_holders(view.lock_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(pids) <= _lock_holders(view.lock_path)  # each holds the store open
        # A document written after they opened it is in the first answer (they let go
        # of the store for the writer and open it again).
        app.state.services.store().upsert_batch(
            doc_batch("d.md", [("Intervention", "Buurtsportcoach")])
        )
        r = client.get("/sparql", params={"query": QUERY})
        assert r.status_code == 200, r.text
        names = {b["name"]["value"] for b in r.json()["results"]["bindings"]}
        assert names == {"Buurtsportcoach"}
        assert view.query_worker_pids == pids  # answered by a pre-started worker
    assert not view.query_worker_pids  # and stopped with the app


def test_no_workers_without_warm_up(settings: Settings) -> None:
    app = create_app(settings, warm_up=False)
    with TestClient(app):
        assert app_view(app).query_worker_pids == []  # type: ignore[attr-defined]
