"""CORS: allowed origins get Starlette's answers; a refused preflight is problem+json.

Why: Starlette's CORSMiddleware answers a preflight it refuses with a plain-text 400
"Disallowed CORS origin", while every other error of this API is
``application/problem+json`` with a sentence (``api/problems.py``). The app now uses
`problems.ProblemCORSMiddleware`: the same decisions and headers, the refusal as a
problem naming what was refused and the ``cors_origins`` setting that lists what is
allowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from impact_graph.api.app import create_app
from impact_graph.api.problems import PROBLEM_JSON, TYPE_BASE
from impact_graph.config import Settings

UI = "https://ui.example"
OTHER = "https://elders.example"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, falkordb_data_dir: Path) -> Iterator[Settings]:
    """An empty graph of its own on the session's FalkorDB (CORS never reaches it)."""
    from impact_graph.store.falkordb_store import FalkorDBStore

    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="cors")
    yield settings
    st = FalkorDBStore(settings)
    st.delete_graph()
    st.close()


def _client(settings: Settings, origins: str) -> TestClient:
    app = create_app(settings.model_copy(update={"cors_origins": origins}), warm_up=False)
    return TestClient(app)


def _preflight(
    c: TestClient, origin: str, method: str = "POST", headers: str | None = None
) -> httpx.Response:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return c.options("/cypher", headers=asked)


def test_preflight_from_an_origin_not_allowed_is_a_problem(base: Settings) -> None:
    with _client(base, UI) as c:
        r = _preflight(c, OTHER)
    assert r.status_code == 400
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["type"] == TYPE_BASE + "cors-refused"
    assert body["status"] == 400 and body["instance"] == "/cypher"
    assert OTHER in body["detail"]
    assert "cors_origins" in body["detail"] and "IMPACT_GRAPH_CORS_ORIGINS" in body["detail"]
    assert UI not in body["detail"]  # the allowed origins are not told to strangers
    # Starlette's CORS headers stay: no permission for the origin, the Vary it sends.
    assert "access-control-allow-origin" not in r.headers
    assert "Origin" in r.headers["vary"]


def test_preflight_from_an_allowed_origin_is_allowed_as_before(base: Settings) -> None:
    with _client(base, UI) as c:
        r = _preflight(c, UI, headers="content-type, x-api-key")
        simple = c.get("/health", headers={"Origin": UI})
        stranger = c.get("/health", headers={"Origin": OTHER})
    assert r.status_code == 200 and r.text == "OK"
    assert r.headers["access-control-allow-origin"] == UI
    allowed = r.headers["access-control-allow-methods"]
    assert "POST" in allowed and "DELETE" in allowed
    assert "x-api-key" in r.headers["access-control-allow-headers"].lower()
    assert simple.headers["access-control-allow-origin"] == UI
    # A simple request from elsewhere is served; the browser withholds it (no header).
    assert stranger.status_code == simple.status_code
    assert "access-control-allow-origin" not in stranger.headers


def test_preflight_asking_a_method_or_header_not_allowed_says_which(base: Settings) -> None:
    with _client(base, UI) as c:
        method = _preflight(c, UI, method="PUT")
        header = _preflight(c, UI, headers="content-type, x-trace")
        both = _preflight(c, OTHER, method="PATCH")
    for r in (method, header, both):
        assert r.status_code == 400
        assert r.headers["content-type"] == PROBLEM_JSON
    detail = method.json()["detail"]
    assert "PUT" in detail and "GET, POST, DELETE, OPTIONS" in detail
    assert "cors_origins" not in detail  # the origin was fine
    assert method.headers["access-control-allow-origin"] == UI
    detail = header.json()["detail"]
    assert "x-trace" in detail and "x-api-key" in detail
    detail = both.json()["detail"]
    assert OTHER in detail and "PATCH" in detail


def test_any_origin_with_a_star(base: Settings) -> None:
    with _client(base, "*") as c:
        r = _preflight(c, OTHER)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"


def test_without_cors_origins_a_preflight_is_no_cors_answer(base: Settings) -> None:
    """No origins set: no CORS at all, so the OPTIONS is an ordinary request (a
    problem+json refusal of the method, never a CORS permission)."""
    with _client(base, "") as c:
        r = _preflight(c, OTHER)
    assert r.status_code == 405
    assert r.headers["content-type"] == PROBLEM_JSON
    assert "access-control-allow-origin" not in r.headers
