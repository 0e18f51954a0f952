"""The lean path of /cypher and /sparql, GET and POST (`impact_graph.api.lean`), against
the routes it stands in for, on both backends with the demo corpus.

The same requests go to two apps over the same store: the app as served (lean path on)
and one built with ``lean=False`` (FastAPI's routes only). Every error answer must be the
same bytes (status, headers, problem+json body), every success the same answer but for
its timing; the read key, CORS and the time limit must hold on the lean path too.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from impact_graph.api import lean
from impact_graph.api.app import create_app
from impact_graph.api.auth import hash_key
from impact_graph.api.routers.sparql import _READ_ONLY
from impact_graph.queries.guard import MAX_CYPHER_CHARS
from impact_graph.rdf.sparql import MAX_QUERY_CHARS
from impact_graph.store.port import StoreError
from tests.test_same_facts import DemoGraph, demo_graph  # noqa: F401 - shared fixture

KEY = "lean-path-key"
JSON = {"Content-Type": "application/json"}
SPARQL = {"Content-Type": "application/sparql-query"}
PROGRAMMES = "MATCH (p:Programme) RETURN p.id AS id, p.name AS name ORDER BY id"
SELECT = (
    "PREFIX ig: <https://w3id.org/impact-graph/ontology#> "
    "SELECT ?p ?name WHERE { ?p a ig:Programme ; ig:name ?name } ORDER BY ?p"
)

#: (path, URL params, headers, body) of POST requests: answers and mistakes of each kind.
CASES: list[tuple[str, dict[str, str], dict[str, str], bytes]] = [
    # /cypher: answers
    ("/cypher", {}, JSON, json.dumps({"query": PROGRAMMES}).encode()),
    (
        "/cypher",
        {"shape": "objects", "row_cap": "3"},
        JSON,
        json.dumps({"query": PROGRAMMES}).encode(),
    ),
    (
        "/cypher.csv",
        {},
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"query=" + PROGRAMMES.replace(" ", "+").encode(),
    ),
    (
        "/cypher.json",
        {},
        {**JSON, "Accept": "text/csv"},
        json.dumps(
            {
                "query": "MATCH (c:Challenge) WHERE c.id = $id RETURN c.id",
                "params": {"id": "challenge:eenzaamheid"},
            }
        ).encode(),
    ),
    ("/cypher", {}, JSON, json.dumps({"query": "UNWIND range(1, 5000) AS x RETURN x"}).encode()),
    # /cypher: mistakes
    ("/cypher", {}, JSON, b"{"),
    ("/cypher", {}, JSON, b"[1, 2]"),
    ("/cypher", {}, JSON, b""),
    ("/cypher", {}, {"Content-Type": "text/plain"}, b"MATCH (n) RETURN n"),
    ("/cypher", {}, {}, b"MATCH (n) RETURN n"),
    ("/cypher", {}, JSON, json.dumps({"query": PROGRAMMES, "limit": 3}).encode()),
    ("/cypher", {}, JSON, json.dumps({"query": "  "}).encode()),
    ("/cypher", {}, JSON, json.dumps({"query": PROGRAMMES, "params": [1]}).encode()),
    ("/cypher", {}, JSON, json.dumps({"query": PROGRAMMES, "params": "{no"}).encode()),
    ("/cypher", {"row_cap": "5000"}, JSON, json.dumps({"query": PROGRAMMES}).encode()),
    ("/cypher", {"row_cap": "2.5"}, JSON, json.dumps({"query": PROGRAMMES}).encode()),
    ("/cypher", {}, JSON, json.dumps({"query": PROGRAMMES, "timeout_s": 60}).encode()),
    ("/cypher", {}, JSON, json.dumps({"query": PROGRAMMES, "row_cap": True}).encode()),
    ("/cypher", {"format": "xml"}, JSON, json.dumps({"query": PROGRAMMES}).encode()),
    ("/cypher", {"shape": "columns"}, JSON, json.dumps({"query": PROGRAMMES}).encode()),
    ("/cypher", {}, {**JSON, "Accept": "image/png"}, json.dumps({"query": PROGRAMMES}).encode()),
    ("/cypher", {}, JSON, json.dumps({"query": "MATCH (n:Programme RETURN n"}).encode()),
    (
        "/cypher",
        {},
        JSON,
        json.dumps({"query": "MATCH (p:Programme) SET p.name = 'x' RETURN p"}).encode(),
    ),
    (
        "/cypher",
        {},
        JSON,
        json.dumps({"query": "MATCH (n) CALL { CREATE (:X) } RETURN n"}).encode(),
    ),
    (
        "/cypher",
        {},
        JSON,
        json.dumps({"query": "LOAD CSV FROM 'file:///etc/passwd' AS r RETURN r"}).encode(),
    ),
    (
        "/cypher",
        {},
        JSON,
        json.dumps({"query": "WITH 100000000 AS n UNWIND range(1, n) AS x RETURN x"}).encode(),
    ),
    ("/cypher", {}, JSON, json.dumps({"query": "x" * MAX_CYPHER_CHARS * 8}).encode()),
    # /sparql: answers
    ("/sparql", {}, {**SPARQL, "Accept": "application/sparql-results+json"}, SELECT.encode()),
    ("/sparql", {"format": "csv"}, SPARQL, SELECT.encode()),
    (
        "/sparql",
        {},
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"format=tsv&query=" + SELECT.replace(" ", "+").replace("#", "%23").encode(),
    ),
    # /sparql: mistakes
    (
        "/sparql",
        {},
        {"Content-Type": "application/sparql-update"},
        b"INSERT DATA { <a:b> <a:c> <a:d> }",
    ),
    (
        "/sparql",
        {},
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"update=DELETE+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D",
    ),
    ("/sparql", {}, {"Content-Type": "text/plain"}, SELECT.encode()),
    ("/sparql", {}, SPARQL, b"SELECT \xff"),
    ("/sparql", {}, SPARQL, b""),
    ("/sparql", {}, SPARQL, b"SELECT ?s WHERE { ?s ?p }"),
    ("/sparql", {}, SPARQL, b"SELECT ?s WHERE { ?s nope:p ?o }"),
    ("/sparql", {}, SPARQL, b"SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"),
    ("/sparql", {}, {**SPARQL, "Accept": "image/png"}, SELECT.encode()),
    ("/sparql", {}, SPARQL, b"#" * (MAX_QUERY_CHARS * 4 + 1)),
]


CHALLENGE = "MATCH (c:Challenge) WHERE c.id = $id RETURN c.id"
LEAN, ROUTE = "lean", "route"

#: (path, URL params, headers, who answers) of GET requests: the lean path, or the route
#: when FastAPI's validation of the query string must have its say (a 422 of its own).
GET_CASES: list[tuple[str, list[tuple[str, str]], dict[str, str], str]] = [
    # /cypher: answers
    ("/cypher", [("query", PROGRAMMES)], {}, LEAN),
    ("/cypher.csv", [("query", PROGRAMMES)], {}, LEAN),
    (
        "/cypher.json",
        [("query", CHALLENGE), ("params", '{"id": "challenge:eenzaamheid"}')],
        {},
        LEAN,
    ),
    (
        "/cypher",
        [("query", PROGRAMMES), ("shape", "objects"), ("row_cap", "3"), ("timeout_s", "2.5")],
        {},
        LEAN,
    ),
    ("/cypher", [("query", PROGRAMMES), ("format", "csv")], {"Accept": "application/json"}, LEAN),
    ("/cypher", [("query", PROGRAMMES)], {"Accept": "text/csv;q=0.5, application/json"}, LEAN),
    ("/cypher", [("query", "MATCH (n) RETURN n"), ("query", PROGRAMMES)], {}, LEAN),  # the last
    ("/cypher", [("query", PROGRAMMES), ("limit", "3")], {}, LEAN),  # unknown: ignored
    # /cypher: mistakes the route function refuses
    ("/cypher", [], {}, LEAN),
    ("/cypher", [("query", "  ")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES), ("params", "{no")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES), ("params", "[1]")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES), ("row_cap", "5000")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES), ("row_cap", "0")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES), ("timeout_s", "60")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES), ("timeout_s", "-1")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES), ("format", "xml")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES), ("shape", "")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES), ("shape", "columns")], {}, LEAN),
    ("/cypher", [("query", PROGRAMMES)], {"Accept": "image/png"}, LEAN),
    ("/cypher", [("query", "MATCH (n:Programme RETURN n")], {}, LEAN),
    ("/cypher", [("query", "MATCH (p:Programme) SET p.name = 'x' RETURN p")], {}, LEAN),
    ("/cypher", [("query", "MATCH (n) CALL { CREATE (:X) } RETURN n")], {}, LEAN),
    ("/cypher", [("query", "LOAD CSV FROM 'file:///etc/passwd' AS r RETURN r")], {}, LEAN),
    ("/cypher", [("query", "UNWIND range(1, 5000) AS x RETURN x")], {}, LEAN),
    # /cypher: FastAPI's validation answers
    ("/cypher", [("query", PROGRAMMES), ("row_cap", "2.5")], {}, ROUTE),
    ("/cypher", [("query", PROGRAMMES), ("row_cap", "three")], {}, ROUTE),
    ("/cypher", [("query", PROGRAMMES), ("row_cap", "")], {}, ROUTE),
    ("/cypher", [("query", PROGRAMMES), ("row_cap", "007")], {}, ROUTE),
    ("/cypher", [("query", PROGRAMMES), ("timeout_s", "1e0")], {}, ROUTE),
    ("/cypher", [("query", PROGRAMMES), ("timeout_s", "nan")], {}, ROUTE),
    ("/cypher", [("query", PROGRAMMES), ("timeout_s", " 2")], {}, ROUTE),
    # /sparql: answers
    ("/sparql", [("query", SELECT)], {"Accept": "application/sparql-results+json"}, LEAN),
    ("/sparql", [("query", SELECT), ("format", "csv")], {}, LEAN),
    ("/sparql", [("query", SELECT)], {"Accept": "text/tab-separated-values"}, LEAN),
    # /sparql: mistakes
    ("/sparql", [], {}, LEAN),
    ("/sparql", [("update", "DELETE WHERE { ?s ?p ?o }")], {}, LEAN),
    ("/sparql", [("query", "SELECT ?s WHERE { ?s ?p }")], {}, LEAN),
    ("/sparql", [("query", "SELECT ?s WHERE { ?s nope:p ?o }")], {}, LEAN),
    (
        "/sparql",
        [("query", "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")],
        {},
        LEAN,
    ),
    ("/sparql", [("query", SELECT)], {"Accept": "image/png"}, LEAN),
    ("/sparql", [("query", SELECT), ("format", "png")], {}, LEAN),
]


def _app(graph: DemoGraph, *, lean_path: bool, **update: Any) -> TestClient:
    settings = graph.settings.model_copy(update=update)
    return TestClient(
        create_app(settings, warm_up=False, warm_sparql=False, lean=lean_path),
        raise_server_exceptions=False,
    )


@pytest.fixture
def pair(demo_graph: DemoGraph) -> Iterator[tuple[TestClient, TestClient]]:  # noqa: F811
    with _app(demo_graph, lean_path=True) as a, _app(demo_graph, lean_path=False) as b:
        yield a, b


def _same(lean_r: Any, route_r: Any, what: str) -> None:
    """Errors: the same bytes. Answers: the same content but the time it took."""
    assert lean_r.status_code == route_r.status_code, (what, lean_r.text[:300], route_r.text[:300])
    timing = {"x-query-time-ms"}
    lean_h = [(k, v) for k, v in lean_r.headers.items() if k not in timing]
    route_h = [(k, v) for k, v in route_r.headers.items() if k not in timing]
    if lean_r.status_code >= 400:
        assert lean_r.headers["content-type"] == "application/problem+json", what
        assert lean_r.content == route_r.content, what
        assert lean_h == route_h, what
        return
    if lean_r.headers["content-type"] == "application/json":
        a, b = lean_r.json(), route_r.json()
        a.pop("elapsed_ms"), b.pop("elapsed_ms")
        assert a == b, what
        lean_h = [(k, v) for k, v in lean_h if k != "content-length"]
        route_h = [(k, v) for k, v in route_h if k != "content-length"]
    else:
        assert lean_r.content == route_r.content, what
    assert lean_h == route_h, what


def test_lean_path_answers_as_the_routes_do(
    pair: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []

    def counting(handler: Any) -> Any:
        async def wrapped(request: Any) -> Any:
            served.append(request.url.path)
            return await handler(request)

        return wrapped

    for path, handler in list(lean.HANDLERS.items()):
        monkeypatch.setitem(lean.HANDLERS, path, counting(handler))
    lean_c, route_c = pair
    statuses = set()
    for i, (path, params, headers, body) in enumerate(CASES):
        what = f"case {i}: POST {path} {params} {body[:80]!r}"
        before = len(served)
        a = lean_c.post(path, params=params, headers=headers, content=body)
        assert len(served) == before + 1, f"{what} did not take the lean path"
        b = route_c.post(path, params=params, headers=headers, content=body)
        assert len(served) == before + 1, f"{what}: the lean=False app took the lean path"
        _same(a, b, what)
        statuses.add(a.status_code)
    # The cases reach every kind of answer the endpoints give.
    assert {200, 400, 406, 413, 415, 422} <= statuses
    # Other paths are not taken by the lean path.
    slash = lean_c.post("/cypher/", json={"query": PROGRAMMES}, follow_redirects=False)
    assert slash.status_code == 307  # FastAPI's own redirect, as before
    assert len(served) == len(CASES)


def test_lean_path_answers_get_as_the_routes_do(
    pair: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GET /cypher and GET /sparql: the lean path answers what FastAPI's validation could
    not refuse, the same as the route; the rest it leaves to the route."""
    taken: list[str] = []

    def recording(handler: Any) -> Any:
        async def wrapped(request: Any) -> Any:
            try:
                answer = await handler(request)
            except Exception:  # a refusal (ProblemError) is the lean path's answer too
                taken.append(LEAN)
                raise
            taken.append(ROUTE if answer is None else LEAN)
            return answer

        return wrapped

    for path, handler in list(lean.GET_HANDLERS.items()):
        monkeypatch.setitem(lean.GET_HANDLERS, path, recording(handler))
    lean_c, route_c = pair
    statuses = set()
    for i, (path, params, headers, who) in enumerate(GET_CASES):
        what = f"GET case {i}: {path} {[(k, v[:60]) for k, v in params]}"
        before = len(taken)
        a = lean_c.get(path, params=params, headers=headers)
        assert taken[before:] == [who], f"{what}: answered by {taken[-1:]}, not the {who}"
        before = len(taken)
        b = route_c.get(path, params=params, headers=headers)
        assert len(taken) == before, f"{what}: the lean=False app took the lean path"
        _same(a, b, what)
        statuses.add((a.status_code, who))
    # Answers and refusals of each kind on the lean path; FastAPI's 422s on the route.
    assert {(200, LEAN), (400, LEAN), (406, LEAN), (422, LEAN), (422, ROUTE)} <= statuses
    # HEAD and other paths go to FastAPI's router, as before.
    before = len(taken)
    head = [c.head("/cypher", params={"query": PROGRAMMES}) for c in (lean_c, route_c)]
    assert head[0].status_code == head[1].status_code  # whatever FastAPI says (405 today)
    assert (
        lean_c.get("/cypher/", params={"query": PROGRAMMES}, follow_redirects=False).status_code
        == 307
    )
    assert lean_c.get("/queries").status_code == 200
    assert len(taken) == before


def _scope(
    method: str, path: str, query_string: bytes = b"", headers: list[Any] | None = None
) -> dict[str, Any]:
    """An HTTP request's ASGI scope, for calling an app past the test client."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query_string,
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }


def _raw_get(client: TestClient, path: str, query_string: bytes) -> tuple[int, bytes, bytes]:
    """GET through the ASGI interface, for a URL longer than the test client sends (its
    limit is 64 KiB; the query parameters' ``max_length`` is 100,000 characters)."""
    sent: dict[str, Any] = {"body": b""}

    async def call() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["type"] = dict(message["headers"]).get(b"content-type", b"")
            else:
                sent["body"] += message.get("body", b"")

        await client.app(_scope("GET", path, query_string), receive, send)

    assert client.portal is not None
    client.portal.call(call)
    return sent["status"], sent["type"], sent["body"]


def test_too_long_get_query_is_left_to_fastapi(
    pair: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``query`` past the route's ``max_length`` gets FastAPI's own 422 (the lean path
    steps aside), and one at the limit is the lean path's (and refused by its checks)."""
    from urllib.parse import urlencode

    taken: list[bool] = []

    def recording(handler: Any) -> Any:
        async def wrapped(request: Any) -> Any:
            try:
                answer = await handler(request)
            except Exception:  # a refusal (ProblemError) is the lean path's answer too
                taken.append(True)
                raise
            taken.append(answer is not None)
            return answer

        return wrapped

    for path, handler in list(lean.GET_HANDLERS.items()):
        monkeypatch.setitem(lean.GET_HANDLERS, path, recording(handler))
    lean_c, route_c = pair
    for path, limit, filler in (
        ("/cypher", MAX_CYPHER_CHARS, "x"),
        ("/sparql", MAX_QUERY_CHARS, "#"),
    ):
        for size, by_lean in ((limit + 1, False), (limit, True)):
            qs = urlencode({"query": filler * size}).encode()
            before = len(taken)
            a = _raw_get(lean_c, path, qs)
            assert taken[before:] == [by_lean], (path, size)
            b = _raw_get(route_c, path, qs)
            assert a[0] == b[0] and a[0] in (400, 422), (path, size, a[2][:300])
            assert a == b, (path, size)


def test_update_is_refused_with_the_same_sentence(pair: tuple[TestClient, TestClient]) -> None:
    lean_c, _ = pair
    r = lean_c.post(
        "/sparql", content=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"}
    )
    assert r.status_code == 400 and r.json()["detail"] == _READ_ONLY


def test_time_limit_holds_on_the_lean_path(demo_graph: DemoGraph) -> None:  # noqa: F811
    # 900M rows: seconds on either backend, so both apps must hit the 0.3 s limit (9M rows
    # once finished on Neo4j in 0.41 s with a 200, its time limit being checked now and then).
    slow = (
        "UNWIND range(1, 3000) AS a UNWIND range(1, 3000) AS b UNWIND range(1, 100) AS c "
        "RETURN count(*)"
    )
    with (
        _app(demo_graph, lean_path=True, query_timeout_s=0.3) as a,
        _app(demo_graph, lean_path=False, query_timeout_s=0.3) as b,
    ):
        ra, rb = (c.post("/cypher", json={"query": slow}) for c in (a, b))
        assert ra.status_code == 422 and ra.json()["type"].endswith("query-timeout")
        _same(ra, rb, "timeout")
        # and the server answers the next query
        assert a.post("/cypher", json={"query": PROGRAMMES}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": "Bearer "},
        {"X-API-Key": "wrong", "Authorization": f"Bearer {KEY}"},
        {"X-API-Key": KEY},
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": f"bearer {KEY}", "X-API-Key": ""},
    ],
)
def test_read_key_is_checked_as_the_dependency_does(
    demo_graph: DemoGraph,  # noqa: F811
    headers: dict[str, str],
) -> None:
    keyed = {"api_keys": hash_key(KEY), "api_read_key_required": True}
    with (
        _app(demo_graph, lean_path=True, **keyed) as a,
        _app(demo_graph, lean_path=False, **keyed) as b,
    ):
        valid = headers.get("X-API-Key") == KEY or (
            not headers.get("X-API-Key")
            and headers.get("Authorization", "").lower() == f"bearer {KEY}"
        )
        for path, ctype, body in (
            ("/cypher", JSON, json.dumps({"query": PROGRAMMES}).encode()),
            ("/cypher", {"Content-Type": "text/plain"}, b"{"),  # the key comes first
            ("/sparql", SPARQL, SELECT.encode()),
        ):
            ra, rb = (c.post(path, headers={**ctype, **headers}, content=body) for c in (a, b))
            _same(ra, rb, f"{path} {headers}")
            if not valid:
                assert ra.status_code == 401 and "WWW-Authenticate" in ra.headers
        for path, params in (
            ("/cypher", {"query": PROGRAMMES}),
            ("/cypher", {"query": PROGRAMMES, "row_cap": "2.5"}),  # the key comes first
            ("/sparql", {"query": SELECT}),
        ):
            ra, rb = (c.get(path, params=params, headers=headers) for c in (a, b))
            _same(ra, rb, f"GET {path} {params} {headers}")
            if not valid:
                assert ra.status_code == 401 and "WWW-Authenticate" in ra.headers


def test_read_key_required_without_keys_is_refused(demo_graph: DemoGraph) -> None:  # noqa: F811
    with (
        _app(demo_graph, lean_path=True, api_keys="", api_read_key_required=True) as a,
        _app(demo_graph, lean_path=False, api_keys="", api_read_key_required=True) as b,
    ):
        ra, rb = (
            c.post("/cypher", json={"query": PROGRAMMES}, headers={"X-API-Key": KEY})
            for c in (a, b)
        )
        assert ra.status_code == 403
        _same(ra, rb, "no keys configured")


def test_cors_headers_on_the_lean_path(demo_graph: DemoGraph) -> None:  # noqa: F811
    origin = "https://notebooks.example.org"
    with _app(demo_graph, lean_path=True, cors_origins=origin) as a:
        ok = a.post("/cypher", json={"query": PROGRAMMES}, headers={"Origin": origin})
        bad = a.post("/cypher", content=b"{", headers={**JSON, "Origin": origin})
        for r in (ok, bad):
            assert r.headers["access-control-allow-origin"] == origin
        assert ok.status_code == 200 and bad.status_code == 400


ORIGIN = "https://notebooks.example.org"


def test_lean_path_keeps_cors_headers_methods_and_size_limits(
    demo_graph: DemoGraph,  # noqa: F811
) -> None:
    """With CORS configured: allowed, other and no Origin, the preflight (OPTIONS), HEAD,
    a refusal and oversized bodies -- each the same status, headers and body (but the
    timing) from the lean app as from the stack and routes alone."""
    big_cypher = json.dumps({"query": "x" * MAX_CYPHER_CHARS * 8}).encode()
    big_sparql = b"#" * (MAX_QUERY_CHARS * 4 + 1)
    with (
        _app(demo_graph, lean_path=True, cors_origins=ORIGIN) as a,
        _app(demo_graph, lean_path=False, cors_origins=ORIGIN) as b,
    ):
        for origin in ({"Origin": ORIGIN}, {"Origin": "https://elsewhere.example"}, {}):
            requests: list[tuple[str, str, dict[str, Any]]] = [
                ("POST", "/cypher", {"json": {"query": PROGRAMMES}}),
                ("POST", "/cypher.csv", {"json": {"query": PROGRAMMES}}),
                ("GET", "/sparql", {"params": {"query": SELECT}}),
                ("GET", "/cypher", {"params": {"query": PROGRAMMES, "row_cap": "2.5"}}),
                ("POST", "/cypher", {"content": b"{", "headers": JSON}),
                ("POST", "/cypher", {"content": big_cypher, "headers": JSON}),
                ("POST", "/sparql", {"content": big_sparql, "headers": SPARQL}),
                ("HEAD", "/cypher", {"params": {"query": PROGRAMMES}}),
                ("OPTIONS", "/cypher", {}),
                (
                    "OPTIONS",
                    "/sparql",
                    {
                        "headers": {
                            "Access-Control-Request-Method": "POST",
                            "Access-Control-Request-Headers": "content-type, x-api-key",
                        }
                    },
                ),
            ]
            for method, path, kw in requests:
                kw = {**kw, "headers": {**kw.get("headers", {}), **origin}}
                ra, rb = (c.request(method, path, **kw) for c in (a, b))
                what = f"{method} {path} {origin}"
                if method in ("HEAD", "OPTIONS"):  # the stack's own answers, both apps
                    assert (ra.status_code, ra.headers, ra.content) == (
                        rb.status_code,
                        rb.headers,
                        rb.content,
                    ), what
                else:
                    _same(ra, rb, what)
                if kw.get("content") in (big_cypher, big_sparql):
                    assert ra.status_code == 413, what
                if origin.get("Origin") == ORIGIN:
                    assert ra.headers["access-control-allow-origin"] == ORIGIN, what
                else:
                    assert "access-control-allow-origin" not in ra.headers, what
                if method != "OPTIONS":
                    assert "Origin" in ra.headers.get("vary", ""), what


def test_failure_inside_the_lean_path_is_the_stacks_500(
    pair: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception in a lean handler: the app's own 500 problem, the same
    bytes as the stack gives when the route fails alike, and the next request is served."""
    from impact_graph.api.routers import cypher, sparql

    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the handler broke")

    def boom_sync(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the handler broke")

    lean_c, route_c = pair
    monkeypatch.setattr(cypher, "post_answer", boom)  # what the route calls
    monkeypatch.setitem(lean.HANDLERS, "/cypher", boom)  # what the lean path calls
    monkeypatch.setattr(sparql, "get_answer", boom)  # the lean GET /sparql
    monkeypatch.setattr(sparql, "_answer", boom_sync)  # the GET /sparql route
    for method, path, kw in (
        ("POST", "/cypher", {"json": {"query": PROGRAMMES}}),
        ("GET", "/sparql", {"params": {"query": SELECT}}),
        ("GET", "/sparql", {"params": {"query": SELECT}, "headers": {"Origin": ORIGIN}}),
    ):
        ra, rb = (c.request(method, path, **kw) for c in (lean_c, route_c))
        _same(ra, rb, f"{method} {path}")
        assert ra.status_code == 500, ra.text
        assert ra.json()["type"].endswith("/internal-error")
        assert "handler broke" not in ra.text  # no internals in the answer
    monkeypatch.undo()
    assert lean_c.post("/cypher", json={"query": PROGRAMMES}).status_code == 200
    assert lean_c.get("/sparql", params={"query": SELECT}).status_code == 200


@pytest.mark.parametrize(("flag", "logged"), [([], False), (["--access-log"], True)])
def test_serve_runs_uvicorn_without_the_access_log_unless_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, flag: list[str], logged: bool
) -> None:
    """`impact-graph serve` passes `server_options` to uvicorn: no access log by default,
    and (httptools installed) the protocol that sends a response in one write."""
    import uvicorn
    from typer.testing import CliRunner

    import impact_graph.api as api
    from impact_graph.api.app import server_options
    from impact_graph.cli import app as cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(api, "create_app", lambda settings: "the app")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    # A port nothing holds: `serve` checks that it can bind it before it starts.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["serve", "--port", str(port), "--data-dir", str(tmp_path), "--log-level", "WARNING"]
    r = CliRunner().invoke(cli, [*args, *flag])
    assert r.exit_code == 0, r.output
    assert seen == {
        "app": "the app",
        "host": "127.0.0.1",
        "port": port,
        **server_options(log_level="warning", access_log=logged),
    }
    assert seen["access_log"] is logged and seen["log_level"] == "warning"


@pytest.mark.parametrize("with_orjson", [True, False])
def test_json_bytes_writes_what_json_dumps_did(
    monkeypatch: pytest.MonkeyPatch, with_orjson: bool
) -> None:
    """orjson (when installed) or json: the same values back, UTF-8 kept, map keys and
    unknown types as text, integers past 64 bits through the fallback."""
    from impact_graph.api.routers import cypher

    if not with_orjson:
        monkeypatch.setattr(cypher, "orjson", None)
    value = {"rows": [["Zoë", 1, 2.5, None, True]], 7: "seven", "big": 2**70, "x": object}
    out = cypher.json_bytes(value)
    assert "Zoë".encode() in out
    assert json.loads(out) == {
        "rows": [["Zoë", 1, 2.5, None, True]],
        "7": "seven",
        "big": 2**70,
        "x": str(object),
    }
    nan = json.loads(cypher.json_bytes({"v": float("nan")}))["v"]
    assert nan is None if with_orjson else nan != nan


def test_lean_front_stands_before_the_stack_unless_cors_is_set(
    demo_graph: DemoGraph,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No CORS origins: `lean.LeanFront` answers before the app's middleware, and only a
    refusal goes through it (here seen passing `problems.TooLargeAsProblem`). CORS origins
    set: no front, the lean path answers inside the stack, as before."""
    from impact_graph.api import problems

    entered: list[str] = []
    passed_on = problems.TooLargeAsProblem.__call__

    async def counting(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            entered.append(scope["path"])
        await passed_on(self, scope, receive, send)

    monkeypatch.setattr(problems.TooLargeAsProblem, "__call__", counting)
    with _app(demo_graph, lean_path=True) as a:
        assert isinstance(a.app.middleware_stack, lean.LeanFront)  # type: ignore[attr-defined]
        assert a.post("/cypher", json={"query": PROGRAMMES}).status_code == 200
        assert a.get("/sparql", params={"query": SELECT}).status_code == 200
        assert entered == []
        assert a.post("/cypher", content=b"{", headers=JSON).status_code == 400
        assert a.get("/cypher", params={"query": PROGRAMMES, "row_cap": "2.5"}).status_code == 422
        assert entered == ["/cypher", "/cypher"]
    with _app(demo_graph, lean_path=True, cors_origins=ORIGIN) as c:
        assert not isinstance(c.app.middleware_stack, lean.LeanFront)  # type: ignore[attr-defined]
        del entered[:]
        assert c.post("/cypher", json={"query": PROGRAMMES}).status_code == 200
        assert entered == ["/cypher"]


def test_origin_header_without_cors_origins_is_answered_as_the_route_does(
    pair: tuple[TestClient, TestClient],
) -> None:
    """No CORS origins set: an ``Origin`` header changes nothing, on the front or not."""
    lean_c, route_c = pair
    for method, path, kw in (
        ("POST", "/cypher", {"json": {"query": PROGRAMMES}}),
        ("POST", "/cypher", {"content": b"{", "headers": JSON}),
        ("GET", "/sparql", {"params": {"query": SELECT}}),
    ):
        kw = {**kw, "headers": {**kw.get("headers", {}), "Origin": ORIGIN}}
        ra, rb = (c.request(method, path, **kw) for c in (lean_c, route_c))
        _same(ra, rb, f"{method} {path} with Origin")
        assert "access-control-allow-origin" not in ra.headers
        assert "vary" not in ra.headers


@pytest.mark.parametrize(
    ("failure", "status", "slug", "logged"),
    [
        (RuntimeError("the store broke"), 500, "internal-error", "unexpected error on /cypher"),
        (
            StoreError("the graph went away"),
            503,
            "store-error",
            "store error on /cypher: the graph went away",
        ),
    ],
)
def test_failure_inside_the_store_is_answered_and_logged_by_the_stack(
    pair: tuple[TestClient, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Exception,
    status: int,
    slug: str,
    logged: str,
) -> None:
    """An exception raised inside the store on the lean path: the app's own handler
    answers it (problem+json, the same bytes as the route's) and logs it once, as the
    route's failure is logged; nothing of the exception reaches the client."""
    from impact_graph.api.routers import cypher

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise failure

    async def broken_async(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(cypher, "run_cypher_async", broken_async)
    monkeypatch.setattr(cypher, "run_cypher", broken)
    lean_c, route_c = pair
    for method, path, kw in (
        ("POST", "/cypher", {"json": {"query": PROGRAMMES}}),
        ("GET", "/cypher", {"params": {"query": PROGRAMMES}}),
    ):
        answers = []
        for c in (lean_c, route_c):
            caplog.clear()
            with caplog.at_level("WARNING", logger="impact_graph.api.problems"):
                answers.append(c.request(method, path, **kw))
            records = [r for r in caplog.records if r.name == "impact_graph.api.problems"]
            assert [r.getMessage() for r in records] == [logged], method
            if status == 500:  # with the exception's traceback, in the log only
                assert records[0].exc_info and records[0].exc_info[1] is failure
        ra, rb = answers
        _same(ra, rb, f"{method} {path} {failure!r}")
        assert ra.status_code == status and ra.json()["type"].endswith("/" + slug)
        if status == 500:
            assert "the store broke" not in ra.text and "Traceback" not in ra.text
    monkeypatch.undo()
    assert lean_c.post("/cypher", json={"query": PROGRAMMES}).status_code == 200


def test_a_send_that_fails_mid_answer_is_logged_as_the_stack_logs_it(
    pair: tuple[TestClient, TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    """A client gone while the answer is being sent (the server's ``send`` raises after the
    head went out): the lean front logs it as the stack logs the route's -- the app's
    "unexpected error" line with the traceback, once -- and the exception goes on to the
    server, which closes the connection."""
    body = json.dumps({"query": PROGRAMMES}).encode()

    async def call(app: Any, gone: OSError) -> list[str]:
        sent: list[str] = []
        received = False

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                return {"type": "http.disconnect"}
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])
            if message["type"] == "http.response.body":
                raise gone

        scope = _scope("POST", "/cypher", headers=[(b"content-type", b"application/json")])
        with pytest.raises(OSError) as raised:
            await app(scope, receive, send)
        assert raised.value is gone
        return sent

    for client in pair:
        gone = OSError("the client went away")
        caplog.clear()
        with caplog.at_level("WARNING", logger="impact_graph.api.problems"):
            sent = client.portal.call(call, client.app, gone)  # type: ignore[union-attr]
        assert sent == ["http.response.start", "http.response.body"]
        records = [r for r in caplog.records if r.name == "impact_graph.api.problems"]
        assert [r.getMessage() for r in records] == ["unexpected error on /cypher"]
        assert records[0].exc_info and records[0].exc_info[1] is gone
    lean_c, _ = pair
    assert isinstance(lean_c.app.middleware_stack, lean.LeanFront)  # the front answered
    assert lean_c.post("/cypher", json={"query": PROGRAMMES}).status_code == 200


def test_accept_headers_are_read_once_and_refusals_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`cypher.choose_format` keeps what an Accept header chose (a client sends the same
    one each time), answers it the same way from then on, never keeps a 406, and keeps
    at most `cypher.ACCEPT_CACHE` headers."""
    from fastapi import Request

    from impact_graph.api.problems import ProblemError
    from impact_graph.api.routers import cypher

    monkeypatch.setattr(cypher, "_BY_ACCEPT", {})

    def fmt(accept: str) -> str:
        scope = {"type": "http", "headers": [(b"accept", accept.encode())]}
        return cypher.choose_format(Request(scope), None, None)

    csv_first = "Text/CSV;q=0.9, application/json;q=0.5"
    assert [fmt(csv_first), fmt(csv_first), fmt("*/*"), fmt("*/*")] == ["csv"] * 2 + ["json"] * 2
    kept = cypher._BY_ACCEPT
    assert kept == {csv_first: "csv", "*/*": "json"}
    for _ in range(2):
        with pytest.raises(ProblemError) as refused:
            fmt("image/png")
        assert refused.value.status == 406 and "image/png" in refused.value.detail
    assert "image/png" not in cypher._BY_ACCEPT
    for i in range(cypher.ACCEPT_CACHE + 5):
        assert fmt(f"application/json;v={i}") == "json"
        assert len(cypher._BY_ACCEPT) <= cypher.ACCEPT_CACHE
