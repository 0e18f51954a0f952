"""How the ingest hands texts to the embedding model: one call per group of documents,
chunk texts and entity texts together, at the batch size the model encodes cheapest at
(``embed.DEFAULT_BATCH_SIZE``); each document still gets its own vectors back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from impact_graph.config import Settings
from impact_graph.ingest.chunking import Chunk
from impact_graph.ingest.embed import DEFAULT_BATCH_SIZE, Embedder
from impact_graph.ingest.pipeline import DEFAULT_CONFIG, Pipeline, PipelineConfig, _Pending
from impact_graph.ingest.report import DocumentOutcome


class CallLog:
    """An embedder that records each call and gives every text a vector of its own."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.vectors: dict[str, np.ndarray] = {}

    def vector(self, text: str) -> np.ndarray:
        if text not in self.vectors:
            v = np.zeros(8, dtype=np.float32)
            v[len(self.vectors) % 8] = 1.0 + len(self.vectors)  # distinct per text
            self.vectors[text] = v
        return self.vectors[text]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.stack([self.vector(t) for t in texts])


def pending(name: str, chunks: list[str], entities: list[str]) -> _Pending:
    return _Pending(
        file=Path(f"{name}.md"),
        doc=None,  # type: ignore[arg-type]  # not read: the write step is recorded
        extraction=None,  # type: ignore[arg-type]
        chunks=[Chunk(index=i, start=0, end=len(t), text=t) for i, t in enumerate(chunks)],
        outcome=DocumentOutcome(file=f"{name}.md", doc_id=name, status="new"),
        entity_refs=[("Intervention", f"{name}-{i}") for i in range(len(entities))],
        entity_texts=entities,
    )


def test_chunk_and_entity_texts_of_a_group_go_to_the_model_in_one_call(
    tmp_path: Path,
) -> None:
    log = CallLog()
    pipe = Pipeline(Settings(data_dir=tmp_path, rdf="off"), store=None, embedder=log)  # type: ignore[arg-type]
    written: list[tuple[str, list[np.ndarray], dict[Any, np.ndarray]]] = []
    pipe._write = lambda p, cv, ev: written.append((p.outcome.doc_id, list(cv), ev))  # type: ignore[method-assign]
    group = [
        pending("a", ["een lange tekst over eenzaamheid", "nog een stuk"], ["Buurtkamer: x"]),
        pending("b", ["derde stuk tekst"], []),
        pending("c", ["vierde stuk", "vijfde stuk"], ["Welzijn op Recept: y", "Halt: z"]),
    ]
    pipe._embed_group(group)

    # One model call for the whole group: every chunk text, then every entity text.
    assert log.calls == [
        [
            "een lange tekst over eenzaamheid",
            "nog een stuk",
            "derde stuk tekst",
            "vierde stuk",
            "vijfde stuk",
            "Buurtkamer: x",
            "Welzijn op Recept: y",
            "Halt: z",
        ]
    ]
    # ... and each document gets the vectors of its own texts, in order.
    assert [w[0] for w in written] == ["a", "b", "c"]
    for (_, chunk_vecs, ent_vecs), p in zip(written, group, strict=True):
        assert len(chunk_vecs) == len(p.chunks)
        for v, c in zip(chunk_vecs, p.chunks, strict=True):
            assert np.array_equal(v, log.vectors[c.text])
        assert set(ent_vecs) == set(p.entity_refs)
        for ref, text in zip(p.entity_refs, p.entity_texts, strict=True):
            assert np.array_equal(ent_vecs[ref], log.vectors[text])


def test_a_group_without_entity_texts_is_one_call_too(tmp_path: Path) -> None:
    log = CallLog()
    pipe = Pipeline(Settings(data_dir=tmp_path, rdf="off"), store=None, embedder=log)  # type: ignore[arg-type]
    written: list[int] = []
    pipe._write = lambda p, cv, ev: written.append(len(cv) + len(ev))  # type: ignore[method-assign]
    pipe._embed_group([pending("a", ["een", "twee"], []), pending("b", ["drie"], [])])
    assert log.calls == [["een", "twee", "drie"]] and written == [2, 1]


def test_the_batch_size_is_the_measured_one_everywhere() -> None:
    """The embedder's default, the pipeline's default and the checked-in configuration
    agree, so neither a bare `Embedder` (search, the benchmark's bound) nor the ingest
    falls back to the 64-text batches that cost 13-25% more model CPU."""
    assert Embedder(model="unused").batch_size == DEFAULT_BATCH_SIZE == 16
    assert PipelineConfig().batch_size == DEFAULT_BATCH_SIZE
    shipped = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    assert shipped["embedding"]["batch_size"] == DEFAULT_BATCH_SIZE
    assert PipelineConfig.load(DEFAULT_CONFIG).batch_size == DEFAULT_BATCH_SIZE
