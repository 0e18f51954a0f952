"""Vectors of the vocabulary concepts' entity texts, shipped with the package.

Why: the SKOS vocabularies ship with the product, and so do the texts the ingest
embeds for their concepts ("name: definition", `impact_graph.ingest.mapping.entity_text`).
Without this file every new data directory paid the model for them on its first ingest
(demo corpus: 113 of the 157 entity texts, ~0.9 s of model time of a ~10 s ingest) and
only then had them in its embedding cache. `impact_graph.ingest.embed.Embedder` asks
this file before its cache and the model.

The file (``vectors.npz``) holds, for ONE model:

* ``model_id``: the `Embedder.model_id` it was made with (the cache's key part);
* ``fingerprint``: `model_fingerprint` of that model's directory, so a different model
  that happens to sit in a directory with the same last two path parts is not served
  these vectors;
* ``keys``: ``sha256(model id + "\\x00" + text)`` per text (`EmbeddingCache.key`), as
  ``uint8`` rows of 32;
* ``vectors``: the model's normalised vectors as float16 (half the size of float32;
  cosine to the model's own output > 0.9999), renormalised to length 1 when read.

It is derived, never edited: ``make vocab-vectors`` (``python -m impact_graph.vocab_vectors``)
rebuilds it from the vocabulary files; tests/test_vocab_vectors.py fails, naming that
command, when a vocabulary changed and the file was not rebuilt. A text the file lacks
(a vocabulary edited since, an entity's own description) simply falls through to the
cache and the model.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: The shipped file, next to this module (the wheel carries the whole package dir).
VECTORS_FILE = Path(__file__).with_name("vectors.npz")

#: The command that rebuilds `VECTORS_FILE` (named in test failures and warnings).
REBUILD_COMMAND = "make vocab-vectors"

#: Model files up to this size enter the fingerprint with their content (configs,
#: tokenizer settings); larger ones (the weights) with their size only, so the check
#: costs a directory listing, not a read of ~90 MB.
_CONTENT_LIMIT = 64 * 1024


def model_fingerprint(model_dir: str | Path) -> str | None:
    """A cheap identity of a local sentence-transformers model directory, or None when
    ``model_dir`` is not a directory (a hub name: such a model never matches).

    sha256 over every file's relative path and size, plus the content of the small
    ones (model, pooling and tokenizer configs). Files whose name starts
    with "." (``.gitattributes``) and the README are left out: they do not change the
    vectors.
    """
    root = Path(model_dir).expanduser()
    if not root.is_dir():
        return None
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or path.name == "README.md":
            continue
        size = path.stat().st_size
        h.update(f"{rel}\x00{size}\x00".encode())
        if size <= _CONTENT_LIMIT:
            h.update(path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class ShippedVectors:
    """The vectors of one `VECTORS_FILE`, looked up by cache key."""

    model_id: str
    fingerprint: str
    rows: dict[bytes, int]  # cache key -> row of ``vectors``
    vectors: np.ndarray  # float16, one row per key

    def __len__(self) -> int:
        return len(self.rows)

    def get_many(self, keys: list[bytes] | tuple[bytes, ...]) -> dict[bytes, np.ndarray]:
        """float32 unit vectors for the ``keys`` the file holds (others are left out)."""
        found = [(k, self.rows[k]) for k in keys if k in self.rows]
        if not found:
            return {}
        vecs = self.vectors[[r for _, r in found]].astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        return {k: vecs[i] for i, (k, _) in enumerate(found)}


def read(path: Path = VECTORS_FILE) -> ShippedVectors:
    """Read a vectors file; a malformed one raises ValueError naming it and the fix."""
    try:
        with np.load(path, allow_pickle=False) as z:
            model_id, fingerprint = str(z["model_id"]), str(z["fingerprint"])
            keys, vectors = np.asarray(z["keys"]), np.asarray(z["vectors"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(
            f"{path}: not a readable vocabulary vectors file ({type(e).__name__}: {e}); "
            f"run `{REBUILD_COMMAND}` to rebuild it."
        ) from None
    if keys.ndim != 2 or keys.shape[1] != 32 or vectors.ndim != 2 or len(keys) != len(vectors):
        raise ValueError(
            f"{path}: keys {keys.shape} and vectors {vectors.shape} do not fit together "
            f"(expected N x 32 and N x dimension); run `{REBUILD_COMMAND}` to rebuild it."
        )
    rows = {bytes(k): i for i, k in enumerate(keys.astype(np.uint8))}
    return ShippedVectors(model_id, fingerprint, rows, vectors)


@lru_cache(maxsize=1)
def shipped() -> ShippedVectors | None:
    """The package's `VECTORS_FILE`, read once per process; None (with a warning) when
    it is missing or unreadable -- the ingest then embeds those texts with the model, as
    it did before the file existed, instead of failing."""
    if not VECTORS_FILE.is_file():
        log.warning("%s is missing; run `%s` to rebuild it.", VECTORS_FILE, REBUILD_COMMAND)
        return None
    try:
        return read(VECTORS_FILE)
    except ValueError as e:
        log.warning("%s", e)
        return None
