"""The SPARQL query worker's answers (`impact_graph.rdf._worker.run`), on an in-memory store.

The worker writes results natively and cuts them at the row cap by counting lines of
SPARQL TSV / N-Triples (see `_FirstLines`). These tests pin what that must keep: the same
answer as pyoxigraph's own writer for awkward terms, the cap in every format (and only
when rows were really cut), and a query with billions of rows stopped right past the cap.
"""

from __future__ import annotations

import json
import time

import pyoxigraph as ox
import pytest

from impact_graph.rdf import _worker

EX = "http://example.com/"
XSD = "http://www.w3.org/2001/XMLSchema#"


def _lit(value: str, dt: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + dt))


AWKWARD = [
    _lit("042", "integer"),  # not canonical: must not come back as 42
    _lit("1.0E0", "double"),
    _lit("1.50", "decimal"),
    _lit("1", "boolean"),
    _lit("not a number", "integer"),
    _lit("2020-01-01", "date"),
    ox.Literal("a\r\nb\tc\\d\"e'f\x01\u2028 ,;<>#"),  # line breaks and tabs inside a value
    ox.Literal("x", language="nl-NL"),
    ox.Literal("hi", language="en", direction=ox.BaseDirection.LTR),
    ox.Literal("", datatype=ox.NamedNode(EX + "custom")),
    ox.BlankNode("b1"),
    ox.NamedNode("urn:x:\u00e9"),
]


@pytest.fixture(scope="module")
def store() -> ox.Store:
    st = ox.Store()
    p = ox.NamedNode(EX + "p")
    quads = [
        ox.Quad(ox.NamedNode(f"{EX}s{i}"), p, o, ox.DefaultGraph()) for i, o in enumerate(AWKWARD)
    ]
    quads += [
        ox.Quad(ox.NamedNode(f"{EX}n{i}"), ox.NamedNode(EX + "q"), ox.Literal(i), ox.DefaultGraph())
        for i in range(300)
    ]
    st.extend(quads)
    return st


def _run(store: ox.Store, query: str, media: str | None, cap: int = 1000) -> tuple[dict, bytes]:
    head, body = _worker.run(store, {"query": query, "row_cap": cap, "media": media})
    assert head["ok"], head
    return head, body


SELECTS = [
    f"SELECT ?s ?o ?unbound {{ ?s <{EX}p> ?o }} ORDER BY ?s",
    f"SELECT ?s ?o (<<( ?s <{EX}p> ?o )>> AS ?t) {{ ?s <{EX}p> ?o }} ORDER BY ?s",
    "SELECT * {}",  # no variables, one empty row
    "SELECT * { FILTER(false) }",  # no variables, no rows
    "SELECT ?x ?y { VALUES (?x ?y) { (UNDEF UNDEF) (1 UNDEF) } }",
    f"SELECT (COUNT(*) AS ?n) (SUM(1.5) AS ?d) (1e3 AS ?f) (true AS ?b) {{ ?s <{EX}q> ?o }}",
]


@pytest.mark.parametrize("query", SELECTS)
@pytest.mark.parametrize("media", sorted(_worker.RESULT_TYPES))
def test_select_answers_as_the_native_writer_does(store: ox.Store, query: str, media: str) -> None:
    head, body = _run(store, query, media)
    assert head["form"] == "select" and head["media"] == media and head["truncated"] is False
    assert body == store.query(query).serialize(format=_worker.RESULT_TYPES[media])


def test_no_media_means_sparql_json(store: ox.Store) -> None:
    head, body = _run(store, "SELECT * {}", None)
    assert head["media"] == _worker.JSON_MEDIA
    assert json.loads(body) == {"head": {"vars": []}, "results": {"bindings": [{}]}}


@pytest.mark.parametrize("media", sorted(_worker.RESULT_TYPES))
def test_row_cap_cuts_select_in_every_format(store: ox.Store, media: str) -> None:
    query = f"SELECT ?s ?o {{ ?s <{EX}q> ?o }} ORDER BY ?o"
    head, body = _run(store, query, media, cap=7)
    assert head["truncated"] is True
    if media == "text/csv":  # lossy, pyoxigraph does not read it back: read it as CSV
        lines = body.decode().splitlines()
        assert lines[0] == "s,o" and [int(x.split(",")[1]) for x in lines[1:]] == list(range(7))
        return
    parsed = ox.parse_query_results(body, format=_worker.RESULT_TYPES[media])
    assert [int(sol["o"].value) for sol in parsed] == list(range(7))


@pytest.mark.parametrize("cap", [299, 300, 301])
def test_cap_reported_only_when_rows_were_cut(store: ox.Store, cap: int) -> None:
    head, body = _run(store, f"SELECT ?o {{ ?s <{EX}q> ?o }}", None, cap=cap)
    assert head["truncated"] is (cap < 300)
    assert len(json.loads(body)["results"]["bindings"]) == min(cap, 300)


def test_a_huge_cartesian_product_stops_at_the_cap(store: ox.Store) -> None:
    # 312^4 (~9.5 billion) rows: only a stop right past the cap can answer this in time.
    started = time.perf_counter()
    head, body = _run(store, "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }", None, 50)
    assert time.perf_counter() - started < 5
    assert head["truncated"] is True
    assert len(json.loads(body)["results"]["bindings"]) == 50


def test_ask_in_every_format(store: ox.Store) -> None:
    for media, fmt in _worker.RESULT_TYPES.items():
        head, body = _run(store, f"ASK {{ ?s <{EX}p> ?o }}", media)
        assert head["form"] == "ask" and head["media"] == media
        assert body == store.query(f"ASK {{ ?s <{EX}p> ?o }}").serialize(format=fmt)


def _triple(t: ox.Triple | ox.Quad) -> ox.Triple:
    """JSON-LD parses into quads (of the default graph)."""
    return ox.Triple(t.subject, t.predicate, t.object)


@pytest.mark.parametrize("media", sorted(_worker.GRAPH_TYPES))
def test_construct_in_every_format_with_the_cap(store: ox.Store, media: str) -> None:
    query = f"CONSTRUCT {{ ?s <{EX}r> ?o }} WHERE {{ ?s <{EX}q> ?o }}"
    head, body = _run(store, query, media, cap=300)
    assert head == {**head, "form": "graph", "media": media, "truncated": False}
    got = {_triple(t) for t in ox.parse(body, format=_worker.GRAPH_TYPES[media])}
    assert got == set(store.query(query))
    head, body = _run(store, query, media, cap=10)
    assert head["truncated"] is True
    assert len(list(ox.parse(body, format=_worker.GRAPH_TYPES[media]))) == 10


def test_construct_with_awkward_terms_keeps_them(store: ox.Store) -> None:
    query = f"CONSTRUCT {{ ?s <{EX}p> ?o }} WHERE {{ ?s <{EX}p> ?o }}"
    # As the store holds them (it keeps numbers and booleans in canonical form).
    want = {t.object for t in store.query(query) if not isinstance(t.object, ox.BlankNode)}
    assert len(want) == len(AWKWARD) - 1
    for media in ("text/turtle", "application/n-triples", "application/rdf+xml"):
        _head, body = _run(store, query, media)
        got = {t.object for t in ox.parse(body, format=_worker.GRAPH_TYPES[media])}
        assert want <= got and len(got) == len(AWKWARD), media


def test_triple_terms_in_json_ld_fall_back_to_ntriples(store: ox.Store) -> None:
    query = f"CONSTRUCT {{ <{EX}x> <{EX}says> <<( ?s <{EX}p> ?o )>> }} WHERE {{ ?s <{EX}p> ?o }}"
    head, body = _run(store, query, "application/ld+json")
    assert head["media"] == _worker.NT_MEDIA  # the caller then says which formats can
    assert len(list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))) == len(AWKWARD)


def test_syntax_error_is_reported_not_raised(store: ox.Store) -> None:
    head, body = _worker.run(store, {"query": "SELECT ?x {", "row_cap": 10})
    assert head["ok"] is False and head["error"] == "syntax" and body == b""


def test_frames_sent_in_one_write_are_read_one_by_one() -> None:
    import os
    import threading
    from multiprocessing.connection import Connection

    r, w = os.pipe()
    recv, send = Connection(r, writable=False), Connection(w, readable=False)
    payloads = [b'{"ok": true}', b"", b"x" * 200_000]  # larger than a pipe's buffer
    writer = threading.Thread(target=_worker.send_frames, args=(send, *payloads))
    writer.start()
    try:
        assert [recv.recv_bytes() for _ in payloads] == payloads
    finally:
        writer.join(10)
        recv.close()
        send.close()
