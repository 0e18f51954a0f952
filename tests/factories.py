"""Small builders of real `GraphBatch`es for store tests (data, not fakes), of plan
`Document`s for extraction-side unit tests (`plan_document`), of a streamed upload body
(`streamed_upload`), and the one way a store fixture prepares a real store for a test
(`schema_store`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from impact_graph.ingest.document import Document
from impact_graph.model import Edge, GraphBatch, Node, make_id, span_ref
from impact_graph.schema import Schema
from impact_graph.store.port import GraphStore

DIM = 384


def plan_document(text: str, name: str = "t", **fields: Any) -> Document:
    """A plan `Document` of ``text`` as the readers would give it (id and path from
    ``name``); ``fields`` override any other field (title, meta, sections, ...)."""
    values: dict[str, Any] = {
        "id": f"document:{name}",
        "path": Path(f"{name}.md"),
        "text": text,
        "kind": "plan",
        "kind_reason": "test",
        "title": name.upper(),
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        "format": "md",
    }
    return Document(**{**values, **fields})


S = TypeVar("S", bound=GraphStore)


#: The multipart boundary of `streamed_upload`'s body.
UPLOAD_BOUNDARY = "grens"


def streamed_upload(blocks: int, block: bytes = b"b" * 10_000) -> Iterator[bytes]:
    """A multipart/form-data body of one file ``s.md`` sent as ``blocks`` pieces with no
    Content-Length, as a client streams it: the server can only learn its size while
    reading (the upload tests' way past a Content-Length check)."""
    yield (
        f'--{UPLOAD_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        'filename="s.md"\r\nContent-Type: text/markdown\r\n\r\n'
    ).encode()
    for _ in range(blocks):
        yield block
    yield f"\r\n--{UPLOAD_BOUNDARY}--\r\n".encode()


@contextmanager
def schema_store(
    store: S, schema: Schema, *, drop: Callable[[S], object] | None = None
) -> Iterator[S]:
    """``store`` cleared and with ``schema`` set up, for one test; emptied and closed after
    it, even when the test fails.

    Why one helper: the store fixtures (tests/conftest.py ``store``, the backend-specific
    ones in test_falkordb_backend.py, test_neo4j_backend.py, test_search_speed_paths.py)
    open different stores but must all start from an empty graph with the indexes in
    place and leave nothing behind for the next test on the same server. ``drop`` empties
    it afterwards instead of ``clear()`` (a graph made for one test is deleted whole).
    """
    try:
        store.clear()
        store.setup_schema(schema)
        yield store
    finally:
        try:
            if drop is None:
                store.clear()
            else:
                drop(store)
        finally:
            store.close()


def unit_vector(seed: int, dim: int = DIM) -> list[float]:
    """A deterministic random unit vector."""
    v = np.random.default_rng(seed).normal(size=dim)
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


def near(vec: list[float], seed: int, eps: float = 0.05) -> list[float]:
    """A unit vector close to ``vec``."""
    v = np.asarray(vec) + eps * np.asarray(unit_vector(seed, len(vec)))
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


def doc_batch(
    key: str,
    entities: list[tuple[str, str]],
    edges: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    *,
    text: str = "",
    version: str = "1",
    chunk_vectors: bool = True,
) -> GraphBatch:
    """A document with one chunk that mentions ``entities`` [(label, name)], plus ``edges``
    [(src name, TYPE, dst name)] between those entities."""
    doc_id = make_id("Document", key)
    chash = hashlib.sha256(f"{key}|{version}|{text}|{entities}|{edges}".encode()).hexdigest()
    document = Node(
        doc_id,
        "Document",
        {"title": key, "content_hash": chash, "kind": "plan", "created_at": "2026-11-27T06:00:00Z"},
    )
    text = text or " ".join(name for _, name in entities)
    chunk = Node(
        f"chunk:{doc_id}:0",
        "Chunk",
        {"text": text, "position": 0},
        vector=unit_vector(int(chash[:8], 16)) if chunk_vectors else None,
        spans=[span_ref(doc_id, 0, len(text))],
    )
    nodes = [chunk]
    ids: dict[str, str] = {}
    out_edges = [Edge(doc_id, "HAS_CHUNK", chunk.id, spans=[span_ref(doc_id, 0, len(text))])]
    for i, (label, name) in enumerate(entities):
        nid = make_id(label, name)
        ids[name] = nid
        start = text.find(name) if name in text else 0
        span = span_ref(doc_id, start, start + len(name))
        nodes.append(Node(nid, label, {"name": name, "aliases": [name.lower()]}, spans=[span]))
        out_edges.append(
            Edge(
                chunk.id,
                "MENTIONS",
                nid,
                {"start": start, "end": start + len(name)},
                key=f"{start}-{start + len(name)}",
                spans=[span],
            )
        )
        del i
    for src, typ, dst in edges:
        out_edges.append(Edge(ids[src], typ, ids[dst], spans=[span_ref(doc_id, 0, len(text))]))
    return GraphBatch(document=document, nodes=nodes, edges=out_edges)
