"""The ingest pipeline: files → Documents → Extractions → chunks + vectors → GraphBatches → store.

One writer path for every fact (ARCHITECTURE.md "Invariants"), so this module is where
the invariants are kept:

* **Idempotent.** A document whose content hash equals the stored one is skipped before
  any NLP or embedding, which is what makes re-ingesting an unchanged corpus cheap. A
  changed document is written with one ``upsert_batch``, which replaces its own facts.
  A file whose raw bytes hash as when it was last read whole is not even parsed: the
  file index (`impact_graph.ingest.file_index`) gives its documents' ids and hashes,
  which are checked against the store's exactly as a parsed file's would be. The
  store's schema is set up (`GraphStore.setup_schema`) and the known entities are read
  only once a document actually needs extraction: a run that writes nothing needs
  neither (on the demo corpus the schema's ~100 index statements and the RDF view's
  ontology check were most of an unchanged re-ingest's time).
* **Whole or nothing, resumable.** One ``upsert_batch`` per document (the store makes it
  atomic). After a kill, documents the store marks incomplete are rolled back first, and
  the rerun skips what is already written and finishes the rest.
* **Bad input never stops the batch and never disappears.** Every failure (reader errors,
  row errors of record files, and any unexpected exception in one document) becomes a
  line in the report with file, reason and hint, and a copy of the file is kept in
  ``<data_dir>/rejected/`` with a ``.reason.txt`` beside it.
* **Privacy first.** Stories, and every document whose front matter lists ``persons``,
  are pseudonymised before extraction; nothing downstream sees the original names.
* **Store upkeep at the end.** The run's writes are ``maintenance_deferred``: a write
  that makes upkeep due (FalkorDB: a vector index to rebuild after many deletes) leaves
  it, and the run asks the store for it once, after the last write and before the
  summary (`Pipeline._maintain`), with a line on the bar while it takes time and a note
  in the report. Before, the rebuild ran in the write that crossed the threshold, and
  that document and the ones after it waited for the build.

Throughput is bound by the embedding model on a CPU, so the work is a three-stage
pipeline that keeps the model busy: the calling thread reads, extracts and chunks
documents; an *embed* thread encodes the texts of several documents together
(``embedding.flush_texts``); a *write* thread maps each document to its GraphBatch and
writes it (graph store and RDF view). The stages hand over through bounded queues
(``embedding.queue_groups`` groups each), so memory stays bounded and a slow store holds
the readers back instead of piling up work. Writes stay one ``upsert_batch`` per
document, in input order, from one thread, so the invariants above hold unchanged; a
kill loses at most the documents in flight, which the rerun writes. torch and the store
client release the GIL while they work, which is what lets the NLP run meanwhile.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import os
import queue
import secrets
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from impact_graph.config import Settings
from impact_graph.ingest.chunking import Chunk, chunk_extraction
from impact_graph.ingest.document import Document, has_pseudonymous_ids, same_source_ids
from impact_graph.ingest.embed import DEFAULT_BATCH_SIZE
from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.extraction import EntityRef, Extraction
from impact_graph.ingest.file_index import (
    INDEX_FILE,
    FileIndex,
    IndexedDocument,
    IndexEntry,
    file_digest,
)
from impact_graph.ingest.mapping import batch_counts, entity_texts, to_batch
from impact_graph.ingest.report import DocumentOutcome, IngestReport, record_place
from impact_graph.schema import Schema
from impact_graph.store.port import GraphStore, StoreAuthError, StoreError, StoreUnavailable
from impact_graph.threadname import set_kernel_name

log = logging.getLogger(__name__)

#: The checked-in configuration (a checkout or editable install); defaults otherwise.
DEFAULT_CONFIG = Path(__file__).resolve().parents[3] / "ingest" / "pipeline.yaml"

#: Environment variable naming another pipeline configuration file.
CONFIG_ENV = "IMPACT_GRAPH_PIPELINE_CONFIG"

#: What users set to choose the pseudonymisation secret (else a key file is made).
SECRET_ENV = "IMPACT_GRAPH_PSEUDONYM_SECRET"

#: Labels that are not entities (never fed to resolution as known names).
STRUCTURAL_LABELS = ("Document", "Chunk")

#: Failures that mean the store itself is gone: the run stops (a rerun resumes).
FATAL_STORE_ERRORS = (StoreUnavailable, StoreAuthError)

#: The GIL switch interval while a run's threads work (Python's default is 5 ms). torch
#: releases the GIL inside each operation and needs it back between them; while the
#: NLP or the writes run Python code, the model thread waits up to the interval for it,
#: once per operation. At 1 ms the model thread slept less inside its calls and the
#: ingest took less wall and CPU (two interleaved A/B rounds of 30 documents at load
#: 15-20: model asleep 2.7/4.5 s against 5.5/11.7 s, model CPU 7.9/7.8 against
#: 12.0/8.3 s, ingest 35/67 s against 64/107 s). Restored when the run ends.
GIL_SWITCH_S = 0.001
_switch_lock = threading.Lock()
_switch_runs = [0, 0.005]  # runs in progress, the interval before the first began


def _gil_switch(step: int) -> None:
    """A run begins (+1) or ends (-1): the first sets `GIL_SWITCH_S`, the last restores
    the interval it found (runs may overlap, e.g. uploads through the API)."""
    with _switch_lock:
        if step > 0 and _switch_runs[0] == 0:
            _switch_runs[1] = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_runs[1], GIL_SWITCH_S))
        _switch_runs[0] += step
        if step < 0 and _switch_runs[0] == 0:
            sys.setswitchinterval(_switch_runs[1])


#: The write stage's item that sets the store's schema up (`Pipeline._schedule_schema`).
_SCHEMA = object()

#: Known entities for cross-document resolution: label -> [(key, name, aliases)].
KnownEntities = dict[str, list[tuple[str, str, list[str]]]]


@dataclass(slots=True)
class PipelineConfig:
    """Knobs of ``ingest/pipeline.yaml`` (all optional; these are the defaults)."""

    min_words: int = 150
    max_words: int = 250
    min_section_words: int = 40
    max_tokens: int = 0  # 0: the embedding model's own limit (see chunking)
    batch_size: int = DEFAULT_BATCH_SIZE  # see embed.DEFAULT_BATCH_SIZE for why 16
    flush_texts: int = 256
    queue_groups: int = 2
    max_bytes: int = 20_000_000
    known_row_cap: int = 1_000_000
    known_timeout_s: float = 60.0

    _YAML_KEYS: ClassVar[dict[tuple[str, str], str]] = {
        ("chunking", "min_words"): "min_words",
        ("chunking", "max_words"): "max_words",
        ("chunking", "min_section_words"): "min_section_words",
        ("chunking", "max_tokens"): "max_tokens",
        ("embedding", "batch_size"): "batch_size",
        ("embedding", "flush_texts"): "flush_texts",
        ("embedding", "queue_groups"): "queue_groups",
        ("reading", "max_bytes"): "max_bytes",
        ("known_entities", "row_cap"): "known_row_cap",
        ("known_entities", "timeout_s"): "known_timeout_s",
    }

    @classmethod
    def load(cls, path: Path | None = None) -> PipelineConfig:
        """Read ``path`` (default: ``$IMPACT_GRAPH_PIPELINE_CONFIG``, else the checkout's
        ``ingest/pipeline.yaml`` if present, else the built-in defaults).

        Unknown keys and non-numbers are refused with the file and key named, so a typo
        does not silently fall back to a default.
        """
        if path is None and os.environ.get(CONFIG_ENV):
            path = Path(os.environ[CONFIG_ENV])
            if not path.is_file():
                raise ValueError(f"{CONFIG_ENV} names {path}, which is not a file.")
        path = path or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
        cfg = cls()
        if path is None:
            return cfg
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ValueError(f"{path}: cannot read the pipeline configuration ({e}).") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the pipeline configuration must be a mapping of sections.")
        types = {f.name: f.type for f in fields(cls)}
        for section, values in data.items():
            if not isinstance(values, dict):
                raise ValueError(f"{path}: section '{section}' must be a mapping of keys.")
            for key, value in values.items():
                attr = cls._YAML_KEYS.get((section, key))
                if attr is None:
                    known = ", ".join(f"{s}.{k}" for s, k in cls._YAML_KEYS)
                    raise ValueError(f"{path}: unknown key '{section}.{key}'; known: {known}.")
                if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                    raise ValueError(f"{path}: '{section}.{key}' must be a positive number.")
                setattr(cfg, attr, float(value) if types[attr] == "float" else int(value))
        return cfg


class _Bar:
    """The run's progress bar: files read, then the documents still being embedded and
    written once the last file is read.

    Reading is the main thread's part; the model and the store finish later in their own
    threads (on the demo corpus ~30 s after the last file is read, and ~10 s at the start
    while the embedding model loads). A bar of files read alone sat at "51/52 <file>"
    through all that, so the last phase gets a second task ("write": N documents being
    embedded and written, advanced as each is written or fails) and the model's load a
    description of its own. Without a `Progress` (``progress=False``) nothing is drawn but
    ``shown`` is still kept. Called from the main and the write threads (rich's `Progress`
    locks itself; the counts here take their own lock).

    The write task counts every document queued in the run, those already written before
    the last file was read included (they start as completed): its total once counted
    only the documents still open then, so the demo's bar ended at "78/78" while the
    summary said 79 new documents (one was written while files were still being read).
    """

    def __init__(self, prog: Progress | None, total: int) -> None:
        self.prog = prog
        self.total = total
        #: Every description set, in order (what a user saw; tests read it).
        self.shown: list[str] = []
        self._lock = threading.Lock()
        self._read = 0
        self._reading = True
        self._open = 0  # documents queued for embedding and not yet written or failed
        self._queued = 0  # documents queued in the whole run
        self._task = prog.add_task("", total=total, stage="ingest") if prog is not None else None
        self._write_task: Any = None
        self._file = ""

    def _describe(self, task: Any, text: str) -> None:
        self.shown.append(text)
        if self.prog is not None and task is not None:
            self.prog.update(task, description=text)

    def read(self, file: Path) -> None:
        """``file`` is being read (the bar counts the files before it as read)."""
        if self._read and self.prog is not None:
            self.prog.advance(self._task)
        self._read += 1
        self._file = file.name
        self._describe(self._task, file.name)

    __call__ = read  # the bar was a plain ``advance(file)`` callable before

    def _end_reading(self) -> None:
        if self._reading and self._read and self.prog is not None:
            self.prog.advance(self._task)
        self._reading = False

    @contextmanager
    def note(self, text: str) -> Iterator[None]:
        """Show ``text`` while the block runs (the model's load), then the file again."""
        self._describe(self._task, text + "...")
        try:
            yield
        finally:
            self._describe(self._task, self._file)

    def queued(self) -> None:
        """One more document waits for the model and the store."""
        with self._lock:
            self._open += 1
            self._queued += 1

    def settled(self) -> None:
        """A queued document is written, found unchanged, or failed."""
        with self._lock:
            self._open -= 1
            if self._write_task is not None and self.prog is not None:
                self.prog.advance(self._write_task)

    def reading_done(self) -> None:
        """The last file is read: finish the read task, start the write task."""
        self._end_reading()
        self._describe(self._task, "all files read")
        with self._lock:
            n, done = self._queued, self._queued - self._open
            if self._open:
                text = f"embedding and writing {n} document{'s' if n != 1 else ''}"
                self.shown.append(text)
                if self.prog is not None:
                    self._write_task = self.prog.add_task(
                        text, total=n, completed=done, stage="write"
                    )
                else:
                    self._write_task = text

    def upkeep(self, text: str) -> None:
        """The store's upkeep at the run's end is about to take a while (``text``, e.g.
        "rebuilding the vector index of Chunk (20,000 vectors)"): say so, not "done"."""
        self._end_reading()
        self._describe(self._task, text + "...")

    def finish(self) -> None:
        """The run is over (the stages are drained)."""
        self._end_reading()
        self._describe(self._task, "done")


@dataclass(slots=True)
class _Pending:
    """A document extracted and chunked, waiting for its vectors."""

    file: Path
    doc: Document
    extraction: Extraction
    chunks: list[Chunk]
    outcome: DocumentOutcome
    entity_refs: list[EntityRef] = field(default_factory=list)
    entity_texts: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)  # same file stored under other ids

    @property
    def n_texts(self) -> int:
        return len(self.chunks) + len(self.entity_texts)


@dataclass(slots=True)
class RunTimes:
    """Where one run's CPU went, per stage and per thread, and when the model waited.

    For the benchmark (``bench/ingest.py``), and cheap enough to keep always (two clock
    reads per timed block). CPU seconds are each thread's own (``time.thread_time``):
    unlike the wall seconds of ``IngestReport.stage_seconds`` they do not grow when a
    stage waits for another or for other processes on the machine, so they say what
    each stage costs. torch's own worker threads and the store's server process are
    not in here (the benchmark reads those from /proc).
    """

    stage_cpu: Counter[str] = field(default_factory=Counter)
    thread_cpu: dict[str, float] = field(default_factory=dict)
    model_calls: int = 0
    #: Run start to the first encode call: the model waits for the first documents.
    model_wait_first_s: float = 0.0
    #: Last encode call to the run's end: the writes (and reads) after the model is done.
    model_wait_last_s: float = 0.0
    #: Wall seconds inside encode calls (``stage_seconds["embed"]`` less cache look-ups).
    model_busy_s: float = 0.0
    #: Of ``model_busy_s``, the embed thread's seconds on a CPU and runnable without one
    #: (`thread_schedstat`); the rest it slept (GIL, OpenMP partners). Linux only.
    model_run_s: float = 0.0
    model_runnable_s: float = 0.0
    #: The run's end, step by step (wall seconds; see `Pipeline.run`): ``writes`` (the
    #: model's last call to the write stage's end: the last part's writes, and the RDF
    #: view's journal loads the write thread still had in hand, `_settle_view`), ``upkeep``
    #: (`_maintain`), ``view_load`` (the store's deferral let go: the RDF view's journal
    #: bulk-loaded), ``file_index`` (its save). Together ``model_wait_last_s``.
    tail: dict[str, float] = field(default_factory=dict)
    #: Every file read to the model's last call: how long the tail's loads (see
    #: `Pipeline._settle_view`) had to overlap the model's last work.
    model_after_reading_s: float = 0.0
    _reading_done: float | None = None
    _first: float | None = None
    _last: float | None = None


def thread_schedstat() -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for one) of the calling thread,
    from Linux's /proc/thread-self/schedstat; None where there is none.

    A thread's wall time is these two plus the time it slept: waiting for the GIL,
    for a lock, for OpenMP partners or for I/O. That split is what says whether the
    model thread is slowed by a lack of CPU (runnable) or by the other threads of the
    process (asleep), which wall and CPU time alone cannot tell apart.
    """
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as f:
            run_ns, wait_ns, _ = f.read().split()
    except (OSError, ValueError):
        return None
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


class _Stage:
    """One worker thread fed through a bounded queue, for the embed and write stages.

    Why a thread and not a process: the heavy parts (torch, the store's socket, the
    Oxigraph writer) release the GIL, and a thread shares the model, the store
    connection and the report without copying. The first exception that must stop the
    run (``fatal``) is kept and re-raised in the calling thread by `check`/`close`;
    after it, queued items are dropped so the run ends quickly.
    """

    _DONE = object()

    def __init__(self, name: str, work: Callable[[Any], None], depth: int) -> None:
        self.name = name
        self._work = work
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self.fatal: BaseException | None = None
        self._aborted = False
        self._busy = False
        self.cpu_s = 0.0  # the thread's own CPU seconds, set when it ends
        self._thread = threading.Thread(target=self._loop, name=f"ingest-{name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        # Named in the kernel too, and so the threads it starts (torch's OpenMP workers
        # for "ig-embed", the RDF view's bulk loader for "ig-write"): bench/ingest.py
        # books CPU by these names.
        set_kernel_name(f"ig-{self.name}")
        try:
            self._serve()
        finally:
            self.cpu_s = time.thread_time()  # a fresh thread: its whole life is this run

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if self.fatal is not None or self._aborted:
                continue  # stopping: drop what is still queued
            self._busy = True
            try:
                self._work(item)
            except BaseException as e:  # handed to the calling thread by check()
                self.fatal = e
            finally:
                self._busy = False

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing in hand: the worker waits for work."""
        return not self._busy and self._queue.empty()

    @property
    def queued(self) -> bool:
        """Items wait behind the one in hand."""
        return not self._queue.empty()

    @property
    def has_work(self) -> bool:
        """Items wait behind the one in hand, not counting `close`'s end mark."""
        with self._queue.mutex:
            return any(item is not self._DONE for item in self._queue.queue)

    def check(self) -> None:
        """Raise the worker's fatal exception, if any, in the calling thread."""
        if self.fatal is not None:
            raise self.fatal

    def put(self, item: Any) -> None:
        """Queue ``item``; blocks while the queue is full (back-pressure)."""
        self.check()
        while True:
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                self.check()  # the worker died: do not wait for it forever

    def abort(self) -> None:
        """Drop queued items instead of working on them (the current one still ends)."""
        self._aborted = True

    def close(self) -> None:
        """Let the worker finish what is queued, then stop it."""
        while self._thread.is_alive():
            try:
                self._queue.put(self._DONE, timeout=0.5)
                break
            except queue.Full:
                continue
        self._thread.join()


def pseudonym_secret(settings: Settings) -> str:
    """The secret that keys pseudonyms: ``settings.pseudonym_secret``, else a key file.

    The key file (``<data_dir>/pseudonym.key``, mode 600) is created once, so the same
    person gets the same pseudonym in every run against this data directory.
    """
    configured = getattr(settings, "pseudonym_secret", None)
    if configured:
        getter = getattr(configured, "get_secret_value", None)  # SecretStr or plain str
        return str(getter() if getter else configured)
    key_file = settings.data_path / "pseudonym.key"
    try:
        if key_file.is_file():
            return key_file.read_text(encoding="utf-8").strip()
        key_file.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_hex(32)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secret + "\n")
        return secret
    except FileExistsError:  # another process made it just now
        return key_file.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ValueError(
            f"cannot read or create the pseudonymisation key {key_file} ({e.strerror}); "
            f"set {SECRET_ENV} or make the data directory writable."
        ) from None


def needs_pseudonymisation(doc: Document) -> bool:
    """Stories always; any other document whose front matter lists ``persons``."""
    return doc.kind == "story" or bool(doc.meta.get("persons"))


def _sentence(e: BaseException) -> str:
    """The first line of an exception's message, as a sentence fragment."""
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return msg.rstrip(".") or "no message"


class Pipeline:
    """Reads, extracts, embeds and writes documents; see the module docstring.

    ``store`` and ``embedder`` are opened from ``settings`` when not given (and closed
    by :meth:`close`); pass your own to share them (tests, benchmarks).
    """

    def __init__(
        self,
        settings: Settings,
        store: GraphStore | None = None,
        embedder: Any = None,
        *,
        config: PipelineConfig | None = None,
        schema: Schema | None = None,
        vocab: Any = None,
        console: Console | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or PipelineConfig.load()
        self._store = store
        self._own_store = store is None
        self._embedder = embedder
        self._own_embedder = embedder is None
        self._schema = schema
        self._vocab = vocab
        self._pseudonymiser: Any = None
        self._checked_dimension = False
        self._defs: dict[str, str] | None = None
        self._budget: tuple[int | None, Any] | None = None
        self.console = console or Console(stderr=True)
        self.known: KnownEntities = {}
        self._known_seen: set[tuple[str, str]] = set()
        self._known_loaded = False
        self._schema_ready = False  # setup_schema done in this run (see _ensure_schema)
        # Run state (reset by run()).
        self._report = IngestReport()
        self._lock = threading.RLock()  # the report and the rejected/ folder, across stages
        self._embed_stage: _Stage | None = None
        self._write_stage: _Stage | None = None
        self._pending: list[_Pending] = []
        self._bar = _Bar(None, 0)
        self.times = RunTimes()
        self._hashes: dict[str, str] = {}
        self._stored_pseudonymous = False
        self._dry_run = False
        self._defer_upkeep = True
        self._kept: dict[Path, Path] = {}
        self._file_index: FileIndex | None = None
        #: Files read (parsed) this run that may get a file index entry at its end:
        #: (key, file, raw digest, documents, whether any was pseudonymised).
        self._index_candidates: list[tuple[str, Path, str, tuple[IndexedDocument, ...], bool]] = []
        self._failed_files: set[Path] = set()
        self._secret_fp: str | None = None
        #: Texts that must wait before an idle embed stage gets them (1: any document).
        self._idle_flush = 1
        #: Every file of the run is read (set before the last flush; see `_embed_group`).
        self._reading_done = False

    # --- lazily opened collaborators -------------------------------------------------

    @property
    def schema(self) -> Schema:
        if self._schema is None:
            from impact_graph.ontology import load_schema

            self._schema = load_schema()
        return self._schema

    @property
    def vocab(self) -> Any:
        if self._vocab is None:
            from impact_graph.vocab import load_vocabulary

            self._vocab = load_vocabulary()
        return self._vocab

    @property
    def store(self) -> GraphStore:
        if self._store is None:
            from impact_graph.store import open_store

            self._store = open_store(self.settings)
        return self._store

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from impact_graph.ingest.embed import Embedder

            self._embedder = Embedder.from_settings(
                self.settings, batch_size=self.config.batch_size
            )
        if not self._checked_dimension:
            check = getattr(self._embedder, "check_dimension", None)
            if check is not None:
                check(self.schema.vector_dimensions)
            self._checked_dimension = True
        return self._embedder

    @property
    def pseudonymiser(self) -> Any:
        if self._pseudonymiser is None:
            from impact_graph.ingest.privacy import Pseudonymiser

            self._pseudonymiser = Pseudonymiser(pseudonym_secret(self.settings))
        return self._pseudonymiser

    def warm_up(self, languages: Sequence[str] = ("nl", "en")) -> float:
        """Load what a run otherwise loads on its first document; returns the seconds.

        The ontology, the vocabulary, the NLP pipelines and matchers (about 3 CPU
        seconds, built on the first `extract`), the embedding model and its tokenizer,
        and with an RDF view the ontology graph its set-up reads (~0.4 CPU s).
        A run works without it (everything loads lazily, and a re-ingest of an
        unchanged corpus loads neither NLP nor model); it exists so a benchmark can
        keep this one-off start-up out of the throughput it times, as it does with the
        model's load, and report it apart. The NLP and the model load side by side
        (the model's load is mostly torch's import and file reads). The readers'
        libraries (pypdf, python-docx, lxml: ~0.3 CPU s to import) load here too, and
        the heap is frozen at the end (see below).
        """
        import impact_graph.ingest.readers  # noqa: F401 - imported for its one-off cost
        from impact_graph.ingest.nlp import extract

        t = time.perf_counter()
        errors: list[BaseException] = []

        def load_model() -> None:
            try:
                _, count = self._token_budget()
                if count is not None:
                    count(["warm-up"])  # the tokenizer copy chunking counts with
            except BaseException as e:  # re-raised below, in the caller's thread
                errors.append(e)

        model = threading.Thread(target=load_model, name="ingest-warm-up", daemon=True)
        model.start()
        self._definitions()
        for lang in languages:
            doc = Document(
                id=f"warm-up-{lang}",
                path=Path(f"warm-up-{lang}.md"),
                text="De gemeente Wadstede werkt met Stichting Welzijn Wadstede aan "
                "eenzaamheid onder ouderen.",
                kind="plan",
                kind_reason="warm-up",
                title="warm-up",
                content_hash="",
                format="md",
                language=lang,
            )
            extract(doc, self.vocab, {})
        if getattr(self.settings, "rdf", "off") != "off" or hasattr(self._store, "view"):
            # The RDF view's set-up (before the run's first write) reads the ontology and
            # vocabularies as one rdflib graph to find the ontology's IRI: ~0.4 CPU s of
            # Turtle parsing, once per process, that otherwise lands in the run's main
            # thread before its first extraction (the model waits for it).
            from impact_graph.ontology import load_graph

            load_graph()
        model.join()
        if errors:
            raise errors[0]
        # torch, spaCy and the vocabulary leave ~560k long-lived objects; every full
        # collection walked them all (~0.33 CPU s each, the first one inside the run's
        # main thread). Frozen, later collections only walk what the run makes.
        gc.collect()
        gc.freeze()
        return time.perf_counter() - t

    def close(self) -> None:
        """Close what this pipeline opened itself."""
        if self._own_store and self._store is not None:
            self._store.close()
            self._store = None
        if self._own_embedder and self._embedder is not None:
            self._embedder.close()
            self._embedder = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the run ---------------------------------------------------------------------

    def run(
        self,
        paths: Sequence[Path | str],
        kind: str | None = None,
        dry_run: bool = False,
        report_path: Path | None = None,
        progress: bool = True,
        on_document: Callable[[DocumentOutcome], None] | None = None,
        stop: Callable[[], bool] | None = None,
        defer_upkeep: bool = True,
    ) -> IngestReport:
        """Ingest files and folders; returns the report (also written to ``report_path``).

        ``kind`` forces the kind of every document (``--kind``); ``dry_run`` does
        everything but the write and the copies into ``rejected/``. A path that does not
        exist is reported and the rest goes on. ``stop`` is asked before each file: when
        it says True the run reads no more files, finishes the ones in flight and says so
        in ``report.notes`` (a time budget, a cancelled upload); a rerun does the rest.
        Raises ``ValueError`` for an unknown kind and `StoreUnavailable`/`StoreAuthError`
        when the store itself fails.

        ``defer_upkeep=False`` (an API upload) leaves the store's upkeep to the write
        that makes it due, which starts it without waiting for it: deferred, the run's
        end would wait for a rebuilt vector index inside the request (~8 s at 5,000
        vectors, ~69 s at 50,000, measured in session 8).
        """
        from impact_graph.ingest.kinds import check_kind

        explicit = check_kind(kind)
        started = time.perf_counter()
        cpu_started = time.thread_time()
        self._report = report = IngestReport(dry_run=dry_run)
        self.times = times = RunTimes()
        self._pending, self._dry_run, self._kept = [], dry_run, {}
        self._index_candidates, self._failed_files = [], set()
        self._on_document = on_document
        emb_before = self._embed_counts()

        store = self.store
        # The run's writes leave the store's upkeep (FalkorDB: rebuilding a vector index
        # after many deletes) to its end (`_maintain`): done in a write, the build made
        # that document's write, and those after it, wait (~4 s at 20,000 vectors).
        self._defer_upkeep = defer_upkeep
        with store.maintenance_deferred() if defer_upkeep else contextlib.nullcontext():
            self._run(store, paths, explicit, dry_run, progress, stop)
            ran = time.perf_counter()
        loaded = time.perf_counter()
        if not dry_run:
            self._save_file_index()
        saved = time.perf_counter()
        times.tail["view_load"] = loaded - ran
        times.tail["file_index"] = saved - loaded

        hits, misses = self._embed_counts()
        report.embed_cached, report.embedded = hits - emb_before[0], misses - emb_before[1]
        report.failed = len(report.failures)
        report.seconds = time.perf_counter() - started
        times.thread_cpu["main"] = time.thread_time() - cpu_started
        if times._first is not None and times._last is not None:
            times.model_wait_first_s = times._first - started
            times.model_wait_last_s = started + report.seconds - times._last
            if times._reading_done is not None:
                times.model_after_reading_s = times._last - times._reading_done
        if report_path is not None:
            report.write_json(report_path)
        return report

    def _run(
        self,
        store: GraphStore,
        paths: Sequence[Path | str],
        explicit: str | None,
        dry_run: bool,
        progress: bool,
        stop: Callable[[], bool] | None,
    ) -> None:
        """The run's reads and writes, in `run`'s deferral of store upkeep, ending with
        that upkeep (`_maintain`)."""
        report, times = self._report, self.times
        self._schema_ready = False  # set up before this run's first write, if any
        if not dry_run:
            self._roll_back_incomplete(store)
        self._hashes = dict(store.document_hashes())
        self._stored_pseudonymous = has_pseudonymous_ids(self._hashes)
        # Read from the store by the first document that needs extraction (`_prepare`):
        # a run of unchanged files never needs them.
        self.known, self._known_seen, self._known_loaded = {}, set(), False
        self._file_index = FileIndex(self.settings.data_path / INDEX_FILE)

        files = list(self._files(paths))
        report.files = len(files)
        self._reading_done = False
        _gil_switch(+1)
        self._start_stages()
        try:
            with self._progress(progress, len(files)) as bar:
                for n, (file, root, resolved) in enumerate(files):
                    if stop is not None and stop():
                        report.notes.append(
                            f"stopped early: {n} of {len(files)} files were read; run the "
                            "same command again to ingest the rest."
                        )
                        break
                    bar.read(file)
                    self._ingest_file(file, root, explicit, resolved)
                # Every file is read; what is left is the model and the writes (the
                # demo's last ~30 s): say so, or the bar sits at "51/52 <file>".
                bar.reading_done()
                self._flush(last=True)
                # After the last flush: a group taken from now on with nothing behind
                # it is the run's last (`_tail_parts`).
                self._reading_done = True
                times._reading_done = time.perf_counter()
                stages = (self._embed_stage, self._write_stage)
                self._stop_stages()  # waits for the last writes (the bar ends with them)
                written = time.perf_counter()
                for stage in stages:
                    if stage is not None:
                        times.thread_cpu[stage.name] = stage.cpu_s
                self._maintain(store, bar)
                times.tail["upkeep"] = time.perf_counter() - written
                if times._last is not None:
                    times.tail["writes"] = written - times._last
        except BaseException:
            # Ctrl-C or a fatal store error: drop queued documents (the rerun writes
            # them); a write in progress still ends whole, as one transaction.
            self._stop_stages(abort=True)
            raise
        finally:
            _gil_switch(-1)

    # --- steps -----------------------------------------------------------------------

    def _files(self, paths: Sequence[Path | str]) -> Iterator[tuple[Path, Path, tuple[Path, Path]]]:
        """(file, root, (file resolved, root resolved)): each file with the path given on
        the command line, or with the folder it was first ingested from (`_earlier_root`);
        the resolved paths go into the file index's key. Says in the report's notes which
        files kept an earlier folder."""
        from impact_graph.ingest.readers import iter_files

        seen: set[Path] = set()
        kept: dict[str, int] = {}
        for given in paths:
            root = Path(given)
            root_resolved = root.resolve()
            for f in iter_files([root]):
                key = f.resolve()
                if key in seen:
                    continue
                seen.add(key)
                earlier = self._earlier_root(key, root_resolved)
                if earlier is None:
                    yield f, root, (key, root_resolved)
                else:
                    folder = earlier[0].as_posix()
                    kept[folder] = kept.get(folder, 0) + 1
                    yield f, earlier[0], (key, earlier[1])
        for folder, n in kept.items():
            self._report.notes.append(
                f"{n} file{'s were' if n != 1 else ' was'} ingested before from the folder "
                f"{folder}; {'they keep' if n != 1 else 'it keeps'} the ids and kinds given "
                "then, so nothing is added twice."
            )

    def _earlier_root(self, real_file: Path, real_root: Path) -> tuple[Path, Path] | None:
        """The folder (as listed, resolved) a file was ingested from before, when that
        was another folder containing it and its documents are still stored; else None.

        Why: a document's id and a folder's kind come from the file's path below the
        folder named, so ingesting ``corpus/stories`` after ``corpus`` (or the other way
        round) would add each story again under a second id. A file keeps the folder
        the store knows it from: unchanged, it is skipped as in any re-ingest; changed,
        it replaces its own facts. Known from the file index, so a data directory
        without one (or files never ingested whole) is read as named.
        """
        index = self._file_index
        if index is None:
            return None
        earlier = index.roots_of(real_file)
        if any(real == real_root for _, real, _ in earlier):
            return None  # ingested from this very folder before: nothing to keep
        for listed, real, ids in earlier:
            if ids and all(i in self._hashes for i in ids) and real_file.is_relative_to(real):
                return listed, real
        return None

    def _ingest_file(
        self,
        file: Path,
        root: Path,
        kind: str | None,
        resolved: tuple[Path, Path] | None = None,
    ) -> None:
        from impact_graph.ingest.readers import read_file

        if not file.exists():  # nothing to keep aside; say so and go on
            self._report.fail(
                file.as_posix(),
                "the path does not exist",
                "check the spelling and the folder; the other paths were ingested",
            )
            self._done(DocumentOutcome(file=file.as_posix(), doc_id="", status="failed"))
            return
        key = FileIndex.key(file, root, kind, resolved)
        try:
            with self._timed("read"):
                digest = file_digest(file, self.config.max_bytes)
                if digest is not None and self._unchanged_by_index(file, key, digest):
                    return
                result = read_file(file, root=root, kind=kind, max_bytes=self.config.max_bytes)
                # Hashed before and after the read: an entry must never pair bytes with
                # documents read from other bytes (a file being rewritten meanwhile).
                if digest is not None and file_digest(file, self.config.max_bytes) != digest:
                    digest = None
        except IngestError as e:
            self._fail(file, e.reason, e.hint, row=e.row, line=e.line)
            return
        except FATAL_STORE_ERRORS:
            raise
        except Exception as e:  # a reader bug must not stop the batch
            self._fail_unexpected(file, e, "reading")
            return
        for err in result.errors:
            self._fail(file, err.reason, err.hint, row=err.row, line=err.line)
        seen: list[tuple[IndexedDocument, bool]] = []
        for doc in result.documents:
            self._prepare(file, doc, seen)
            waiting = sum(p.n_texts for p in self._pending)
            # Hand over at flush_texts, or at once when the embed stage has nothing to
            # do: the model never waits for a group to fill (at the start of a run it
            # gets the first document alone), and large groups form by themselves while
            # it is busy.
            idle = self._embed_stage is not None and self._embed_stage.idle
            if waiting >= self.config.flush_texts or (idle and waiting >= self._idle_flush):
                self._flush()
        if digest is not None and not result.errors and len(seen) == len(result.documents):
            docs = tuple(d for d, _ in seen)
            self._index_candidates.append((key, file, digest, docs, any(p for _, p in seen)))

    def _prepare(
        self, file: Path, doc: Document, seen: list[tuple[IndexedDocument, bool]] | None = None
    ) -> None:
        """Pseudonymise, skip if unchanged, extract, chunk; queue for embedding.

        ``seen`` gets the document as stored (id, hash, kind) and whether it was
        pseudonymised, for the file index, once it got that far."""
        stage = "pseudonymising"
        source_id = doc.id
        try:
            pseudonymised = needs_pseudonymisation(doc)
            if pseudonymised:
                from impact_graph.ingest.privacy import pseudonymise_document

                with self._timed("pseudonymise"):
                    doc = pseudonymise_document(doc, self.pseudonymiser)
            if seen is not None:
                indexed = IndexedDocument(
                    doc.id, doc.content_hash, source_id, doc.kind, doc.kind_reason
                )
                seen.append((indexed, pseudonymised))
            outcome = DocumentOutcome(
                file=file.as_posix(),
                doc_id=doc.id,
                status="",
                kind=doc.kind,
                kind_reason=doc.kind_reason,
            )
            stored = self._hashes.get(doc.id)
            replaces = self._other_versions(source_id, doc.id)
            if stored == doc.content_hash and not replaces:
                self._unchanged(outcome)
                return
            outcome.status = "changed" if stored is not None or replaces else "new"
            stage = "extracting"
            if not self._known_loaded:
                if not self._dry_run:
                    stage = "setting up the store's schema"
                    self._schedule_schema()
                stage = "reading the known entities"
                self._load_known(self.store)
                stage = "extracting"
            with self._timed("extract"):
                extraction = self._extract(doc)
            stage = "chunking"
            with self._timed("chunk"):
                max_tokens, count_tokens = self._token_budget()
                chunks = chunk_extraction(
                    extraction,
                    min_words=self.config.min_words,
                    max_words=self.config.max_words,
                    min_section_words=self.config.min_section_words,
                    max_tokens=max_tokens,
                    count_tokens=count_tokens,
                )
                texts = entity_texts(extraction, self.schema, self._definitions())
            self._pending.append(
                _Pending(
                    file,
                    doc,
                    extraction,
                    chunks,
                    outcome,
                    list(texts.keys()),
                    list(texts.values()),
                    replaces,
                )
            )
            self._bar.queued()
            self._remember(extraction)
        except FATAL_STORE_ERRORS:
            raise
        except IngestError as e:
            self._fail(file, e.reason, e.hint, row=e.row, line=e.line)
        except Exception as e:
            self._fail_unexpected(file, e, stage, doc_id=doc.id)

    def _load_embedder(self) -> Any:
        """``self.embedder``; while it loads and checks the model (the first document's
        chunking asks for its tokenizer: ~10 s on 2 cores) the bar says so instead of
        sitting on the first file's name."""
        if self._checked_dimension:
            return self.embedder
        with self._bar.note("loading the embedding model"):
            return self.embedder

    def _token_budget(self) -> tuple[int | None, Any]:
        """(max word pieces per chunk, counter) from the embedding model, so every chunk
        fits what the model reads; ``chunking.max_tokens`` may lower it, never raise it.
        (None, None) for an embedder without a tokenizer: chunks are sized in words."""
        if self._budget is None:
            emb = self._load_embedder()
            limit = getattr(emb, "max_tokens", None)
            counter = getattr(emb, "count_tokens", None)
            if isinstance(limit, int) and limit > 0 and counter is not None:
                if self.config.max_tokens:
                    limit = min(limit, self.config.max_tokens)
                self._budget = (limit, counter)
            else:
                self._budget = (None, None)
        return self._budget

    def _definitions(self) -> dict[str, str]:
        """Concept IRI -> definition, for stable entity embedding texts (built once)."""
        if self._defs is None:
            concepts = getattr(self.vocab, "concepts", {}) or {}
            self._defs = {
                iri: c.definition for iri, c in concepts.items() if getattr(c, "definition", "")
            }
        return self._defs

    def _extract(self, doc: Document) -> Extraction:
        from impact_graph.ingest.nlp import extract

        return extract(doc, self.vocab, self.known)

    # --- the embed and write stages --------------------------------------------------

    def _start_stages(self) -> None:
        depth = self.config.queue_groups
        self._write_stage = _Stage("write", self._write_group, depth)
        self._embed_stage = _Stage("embed", self._embed_group, depth)

    def _stop_stages(self, abort: bool = False) -> None:
        """Drain and stop both stages (embed first: it feeds write) and re-raise a fatal
        error of either; ``abort`` drops what is still queued instead of finishing it."""
        embed, write = self._embed_stage, self._write_stage
        # Stop embed before forgetting write: the embed thread hands its last groups to
        # the write stage, and must never write them itself (out of order, wrong thread).
        for stage in (embed, write):
            if stage is not None:
                if abort:
                    stage.abort()
                stage.close()
        self._embed_stage = self._write_stage = None
        if not abort:
            for stage in (embed, write):
                if stage is not None:
                    stage.check()

    def _flush(self, last: bool = False) -> None:
        """Hand the queued documents to the embed stage (or embed here if none runs).

        ``last`` (no more documents come): hand them over in groups of about one model
        batch, so the write stage starts on the first while the model encodes the
        rest; the model then waits at the end only for the writes of the last small
        group, not of a whole ``flush_texts`` group.
        """
        pending, self._pending = self._pending, []
        if not pending:
            return
        groups = [pending]
        if last and self._embed_stage is not None:
            groups, group, n = [], [], 0
            for p in pending:
                group.append(p)
                n += p.n_texts
                if n >= self.config.batch_size:
                    groups.append(group)
                    group, n = [], 0
            if group:
                groups.append(group)
        if self._embed_stage is None:
            self._embed_group(pending)
            return
        try:
            self._load_embedder()  # load and check the model here, once, not in the worker
        except Exception as e:  # e.g. the model is missing: these documents fail
            for p in pending:
                self._fail_unexpected(p.file, e, "embedding", doc_id=p.doc.id)
                self._bar.settled()
            return
        for group in groups:
            self._embed_stage.put(group)
        if self._write_stage is not None:
            self._write_stage.check()

    def _embed_group(self, pending: list[_Pending]) -> None:
        """Embed a group's documents (`_embed_part`), in one call or, for the run's last
        group, in parts that shrink by half (`_tail_parts`)."""
        for part in self._tail_parts(pending):
            self._embed_part(part)

    def _tail_parts(self, pending: list[_Pending]) -> list[list[_Pending]]:
        """``pending`` in one part, or -- when it is the run's last group (every file is
        read and nothing waits behind it) -- in parts of about half the chunks of what
        is left each, down to one of at most ``batch_size`` chunks.

        Why: the write stage writes a group only once the model has encoded all of it,
        and after the run's last model call only writes are left, on one core. When the
        reading keeps ahead of the model, the last group is a full ``flush_texts`` group
        (`_flush`'s small groups at the end are then empty), e.g. 95 texts of ~30
        documents whose writes (~50 ms of CPU each with the store's server) then ran
        with the model done and a core idle (``model_wait_last_s`` 0.9 s of the 100
        generated documents' 14 s in bench/REPORT.md). In halves, each part's writes
        overlap the next, smaller part's encoding (the model takes about twice as long
        per document as its writes), and only the last few documents' writes are left.
        Counted in chunks: entity texts are mostly served by the shipped vectors and the
        cache. The vectors are those of one call (each text is encoded alone up to
        padding, see `embed.plan_batches`).
        """
        stage = self._embed_stage
        if not self._reading_done or stage is None or stage.queued:
            return [pending]
        parts: list[list[_Pending]] = []
        rest = pending
        while len(rest) > 1:
            total = sum(len(p.chunks) for p in rest)
            if total <= self.config.batch_size:
                break
            n = taken = 0
            while n < len(rest) - 1 and taken < total / 2:
                taken += len(rest[n].chunks)
                n += 1
            parts.append(rest[:n])
            rest = rest[n:]
        parts.append(rest)
        return parts

    def _embed_part(self, pending: list[_Pending]) -> None:
        """Embed the texts of several documents, then hand them to writing.

        Chunk texts and entity texts (a name and a definition, a quarter of a chunk's
        length) go to the model in one call: it sorts them by length, and with
        batches of `embed.DEFAULT_BATCH_SIZE` texts the short ones fill batches of
        their own instead of being padded to a chunk's length. (At 64 texts a batch,
        two calls were cheaper; at 16, one call and two cost the same CPU on the
        demo corpus's groups, 13.2-14.6 s, and one call saves a round of Python.) The
        embedder cuts each call by padded tokens (`embed.plan_batches`), so a small group
        whose chunks differ in length no longer pads them all to its longest.
        """
        texts = [c.text for p in pending for c in p.chunks]
        texts += [t for p in pending for t in p.entity_texts]
        try:
            emb, t = self.embedder, time.perf_counter()
            calls, busy = getattr(emb, "model_calls", 0), getattr(emb, "model_seconds", 0.0)
            sched = thread_schedstat()
            with self._timed("embed"):
                vectors = emb.embed(texts) if texts else np.zeros((0, 0), dtype=np.float32)
            if getattr(emb, "model_calls", 0) > calls:  # the model ran (not all cached)
                times = self.times
                after = thread_schedstat()
                if sched is not None and after is not None:
                    times.model_run_s += after[0] - sched[0]
                    times.model_runnable_s += after[1] - sched[1]
                times.model_calls += emb.model_calls - calls
                times.model_busy_s += emb.model_seconds - busy
                times._first = t if times._first is None else times._first
                times._last = emb.model_last
        except FATAL_STORE_ERRORS:
            raise
        except Exception as e:
            for p in pending:
                self._fail_unexpected(p.file, e, "embedding", doc_id=p.doc.id)
                self._bar.settled()
            return
        if self._write_stage is not None:
            self._write_stage.put((pending, vectors))
        else:
            self._write_group((pending, vectors))

    def _write_group(self, item: Any) -> None:
        """Map and write each document of an embedded group ``(pending, vectors)``, one
        transaction each; or `_SCHEMA`: set the store's schema up."""
        if item is _SCHEMA:
            self._setup_in_writer()
            return
        pending, vectors = item
        i = 0
        n_chunks = sum(len(p.chunks) for p in pending)
        j = n_chunks
        for p in pending:
            chunk_vecs = vectors[i : i + len(p.chunks)]
            i += len(p.chunks)
            ent_vecs = dict(zip(p.entity_refs, vectors[j : j + len(p.entity_refs)], strict=True))
            j += len(p.entity_refs)
            self._write(p, chunk_vecs, ent_vecs)
        self._settle_view()

    def _settle_view(self) -> None:
        """Once every file is read and the write stage has nothing queued (it waits for
        the model's next part), have the RDF view bulk-load what it journaled so far
        (`RdfView.load_journal`), in this thread, while the model encodes.

        Why: the view journals the run's new documents and loaded them all at the run's
        end (`RdfView.held_for_ingest`), after the model's last call, with the model done
        and a core idle: that load was the whole tail (100 generated documents: 2.9 of
        3.0 s from the last call to the run's end at load ~8). Loaded here, the end loads
        only the last part's documents. Not before every file is read: each load costs
        the view a compaction, so mid-run it loads in large groups as before."""
        stage = self._write_stage
        if not self._reading_done or self._dry_run or stage is None or stage.has_work:
            return
        view = getattr(self.store, "view", None)
        load = getattr(view, "load_journal", None)
        if load is not None:
            with self._timed("view_load"):
                load()

    def _write(self, p: _Pending, chunk_vecs: Any, ent_vecs: dict[EntityRef, Any]) -> None:
        try:
            self._write_one(p, chunk_vecs, ent_vecs)
        finally:
            self._bar.settled()  # written, unchanged or failed: no longer in flight

    def _write_one(self, p: _Pending, chunk_vecs: Any, ent_vecs: dict[EntityRef, Any]) -> None:
        stage = "mapping"
        try:
            if not self._dry_run and not self._schema_ready:  # `_schedule_schema` failed
                stage = "setting up the store's schema"
                self._ensure_schema()
                stage = "mapping"
            with self._timed("map"):
                batch = to_batch(
                    p.extraction, p.chunks, chunk_vecs, self.schema, entity_vectors=ent_vecs
                )
            if not self._dry_run:
                stage = "writing"
                with self._timed("write"):
                    result = self.store.upsert_batch(batch)
                    for old in p.replaces:  # after the new version is in: nothing lost
                        self.store.delete_document(old)
                        self._hashes.pop(old, None)
                if result.skipped:  # written meanwhile by another run with the same hash
                    self._hashes[p.doc.id] = p.doc.content_hash
                    with self._lock:
                        p.outcome.status = "unchanged"
                        self._report.unchanged += 1
                        self._done(p.outcome)
                    return
                self._hashes[p.doc.id] = p.doc.content_hash
        except FATAL_STORE_ERRORS:
            raise
        except Exception as e:
            self._fail_unexpected(p.file, e, stage, doc_id=p.doc.id)
            return
        nodes, edges = batch_counts(batch)
        with self._lock:
            r = self._report
            r.chunks += len(p.chunks)
            r.nodes.update(nodes)
            r.edges.update(edges)
            r.entities.update({k: v for k, v in nodes.items() if k not in STRUCTURAL_LABELS})
            if p.outcome.status == "changed":
                r.changed += 1
            else:
                r.new += 1
            p.outcome.chunks = len(p.chunks)
            self._done(p.outcome)

    # --- known entities (cross-document resolution) ---------------------------------

    def _load_known(self, store: GraphStore) -> None:
        """One read query per entity label: what the graph already knows by name.

        Called by the run's first document that needs extraction, not at the run's
        start: before it nothing was written, so it reads what the start would have."""
        self.known, self._known_seen, self._known_loaded = {}, set(), True
        for label in self.schema.labels:
            if label in STRUCTURAL_LABELS:
                continue
            res = store.read_query(
                f"MATCH (n:`{label}`) RETURN n.key, n.name, n.aliases",
                timeout_s=self.config.known_timeout_s,
                row_cap=self.config.known_row_cap,
            )
            for key, name, aliases in res.rows:
                if name:
                    self._add_known(label, str(key or name), str(name), aliases)

    def _add_known(self, label: str, key: str, name: str, aliases: Any) -> None:
        if (label, key) in self._known_seen:
            return
        self._known_seen.add((label, key))
        al = [str(a) for a in aliases] if isinstance(aliases, list) else []
        self.known.setdefault(label, []).append((key, name, al))

    def _remember(self, extraction: Extraction) -> None:
        """Entities of this document become known to the next ones in the run."""
        for ent in extraction.entities.values():
            if ent.label not in STRUCTURAL_LABELS:
                self._add_known(ent.label, ent.key, ent.name, [m.surface for m in ent.merges])

    # --- the file index (unchanged files skipped without parsing) ---------------------

    def _unchanged_by_index(self, file: Path, key: str, digest: str) -> bool:
        """Report ``file``'s documents unchanged if its bytes are those the index knows
        and the store holds each document with the same hash and no other version of
        its source -- the same test `_prepare` makes on a parsed file. False (read it)
        on any doubt."""
        from impact_graph.ingest.readers import format_of

        index = self._file_index
        entry = index.get(key) if index is not None else None
        if index is None or entry is None or entry.raw != digest or not entry.documents:
            return False
        try:
            fmt = format_of(file)
        except IngestError:
            return False
        if entry.stamp != index.stamp(fmt):
            return False
        if entry.secret is not None and entry.secret != self._secret_fingerprint():
            return False
        for d in entry.documents:
            if self._hashes.get(d.id) != d.content_hash:
                return False
            if self._other_versions(d.source_id, d.id):
                return False
        for d in entry.documents:
            self._unchanged(
                DocumentOutcome(
                    file=file.as_posix(),
                    doc_id=d.id,
                    status="",
                    kind=d.kind,
                    kind_reason=d.kind_reason,
                )
            )
        return True

    def _other_versions(self, source_id: str, doc_id: str) -> list[str]:
        """Stored ids of other versions of the same file or record: read as another
        kind it has another id (stories are stored under a pseudonymous one), and the
        new version replaces the old one. The one test for a parsed file (`_prepare`)
        and an indexed one (`_unchanged_by_index`)."""
        pseudonymous = self._stored_pseudonymous or self._pseudonymiser is not None
        return same_source_ids(
            source_id,
            doc_id,
            self._hashes,
            (lambda s: self.pseudonymiser.token(s)) if pseudonymous else None,
        )

    def _unchanged(self, outcome: DocumentOutcome) -> None:
        """Report a document skipped because the store holds it with the same hash."""
        outcome.status = "unchanged"
        with self._lock:
            self._report.unchanged += 1
            self._done(outcome)

    def _secret_fingerprint(self) -> str:
        """A keyed token of a fixed text: the same for the same pseudonym secret, so an
        index entry of a pseudonymised document is used only under the secret it was
        made with (ids and text depend on it); it does not reveal the secret."""
        if self._secret_fp is None:
            self._secret_fp = self.pseudonymiser.token("impact-graph file index", 32)
        return self._secret_fp

    def _save_file_index(self) -> None:
        """Give an index entry to each file read whole this run whose every document is
        now stored with its hash (written or found unchanged); then save the index."""
        index = self._file_index
        if index is None:
            return
        from impact_graph.ingest.readers import format_of

        for key, file, digest, docs, pseudonymised in self._index_candidates:
            if file in self._failed_files:
                continue
            if any(self._hashes.get(d.id) != d.content_hash for d in docs):
                continue
            fmt = format_of(file)
            stamp = index.stamp(fmt)
            if stamp is None or not index.may_record(fmt):
                continue
            secret = self._secret_fingerprint() if pseudonymised else None
            index.put(key, IndexEntry(digest, stamp, secret, docs))
        index.save()

    def _ensure_schema(self) -> None:
        """Set up the store's schema (indexes, constraints; with the RDF view also its
        ontology graph and orphan repair) once per run, before the run's first write.

        Not at the run's start: a re-ingest of an unchanged corpus writes nothing and
        reads only the document hashes, which need no index, and the setup was most of
        its time (FalkorDB: one statement per index, ~100 round trips; the view: an
        ontology check and two reads). Always before a write: the first document that
        needs extraction queues it as the write thread's first item (`_schedule_schema`),
        a roll-back calls it before its first delete (in the main thread, before the
        stages start). The API sets the schema up when it opens the store, as before."""
        if not self._schema_ready:
            self.store.setup_schema(self.schema)
            self._schema_ready = True

    def _schedule_schema(self) -> None:
        """`_ensure_schema` in the write thread, as its first item, so the main thread goes
        on to extract the first document and the model encodes it meanwhile.

        Why: the setup is ~100 round trips to the server plus the RDF view's ontology
        check (~0.5 CPU s of the main thread; 0.3-0.4 s of wall on a quiet machine, 3.9 s
        at load 9), and in the main thread it came before the first extraction, so both
        cores waited for it before the model got its first text (``model_wait_first_s``
        in bench/ingest.py). In the write thread it still runs before the first write
        (writes are one thread, in order). A failure there is not the run's end: the
        first document's write sets the schema up again and fails with that stage, as
        the first extraction did before (`_write_one`); a fatal store error stops the run.
        Without a write stage it runs here."""
        if self._write_stage is None:
            self._ensure_schema()
        elif not self._schema_ready:
            self._write_stage.put(_SCHEMA)

    def _setup_in_writer(self) -> None:
        """The write stage's `_SCHEMA` item: `_ensure_schema`, errors left to the first
        write's own attempt (see `_schedule_schema`)."""
        try:
            self._ensure_schema()
        except FATAL_STORE_ERRORS:
            raise
        except Exception as e:
            log.debug("schema set-up failed in the write stage; the first write retries: %s", e)

    # --- resume ----------------------------------------------------------------------

    def _roll_back_incomplete(self, store: GraphStore) -> None:
        """Remove documents a killed run left half-written (stores that can tell)."""
        incomplete = getattr(store, "incomplete_documents", None)
        if incomplete is None:
            return
        for doc_id in incomplete():
            self._ensure_schema()
            store.delete_document(doc_id)
            self._report.rolled_back.append(doc_id)

    # --- failures --------------------------------------------------------------------

    def _fail(
        self,
        file: Path,
        reason: str,
        hint: str,
        *,
        row: int | None = None,
        line: int | None = None,
    ) -> None:
        """Report ``file`` as failed; ``row``/``line`` name the record of a multi-record
        file (kept apart from the path, which scripts reading the report open)."""
        with self._lock:  # the write stage fails documents too
            self._failed_files.add(file)  # no file index entry: tried again next time
            at = record_place(row, line)
            kept = None if self._dry_run else self._keep_aside(file, reason, hint, at)
            self._report.fail(file.as_posix(), reason, hint, kept, row=row, line=line)
            self._done(DocumentOutcome(file=file.as_posix(), doc_id="", status="failed"))

    def _fail_unexpected(
        self, file: Path, e: BaseException, stage: str, doc_id: str | None = None
    ) -> None:
        log.debug("ingest of %s failed while %s", file, stage, exc_info=e)
        what = f" (document {doc_id})" if doc_id else ""
        reason = f"{type(e).__name__} while {stage}{what}: {_sentence(e)}"
        hint = (
            "fix the input if the reason names it; otherwise report it as a bug with the "
            "copy kept in the rejected folder"
        )
        self._fail(file, reason, hint)

    def _keep_aside(self, file: Path, reason: str, hint: str, at: str = "") -> str | None:
        """Copy a failed file into ``<data_dir>/rejected/`` with a ``.reason.txt``.

        The copy's name starts with a hash of the original path, so same-named files
        from different folders do not overwrite each other; several reasons for one file
        (bad rows) go into one reason file, each with its row (``at``: "row 3").
        """
        rejected = self.settings.data_path / "rejected"
        tag = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:8]
        target = rejected / f"{tag}-{file.name}"
        reason_file = target.with_name(target.name + ".reason.txt")
        line = f"file: {file.as_posix()}\n" + (f"where: {at}\n" if at else "")
        line += f"reason: {reason}\nwhat to do: {hint}\n"
        try:
            rejected.mkdir(parents=True, exist_ok=True)
            first = file not in self._kept
            if first and file.is_file():
                shutil.copy2(file, target)
            with reason_file.open("w" if first else "a", encoding="utf-8") as f:
                f.write(line if first else "\n" + line)
            self._kept[file] = target
        except OSError as e:
            log.warning("could not keep %s aside in %s: %s", file, rejected, e)
            return None
        return (target if target.exists() else reason_file).as_posix()

    # --- progress and bookkeeping -----------------------------------------------------

    def _maintain(self, store: GraphStore, bar: _Bar) -> None:
        """The store's upkeep the run's writes left due (FalkorDB: rebuilding a vector
        index once half its vectors were deleted), after the last write and before the
        summary. The bar shows what takes time (a 20,000-vector index took ~8 s to build)
        and each thing done is a note of the report, with its seconds. A failure is a
        note too: every document is written, and the next run tries again."""
        if self._dry_run or not self._defer_upkeep:
            return
        started = time.perf_counter()
        try:
            notes = store.maintain(progress=bar.upkeep)
        except StoreError as e:
            notes = [
                f"The graph store's upkeep after the run failed ({e}); the next run tries again."
            ]
        if notes:
            self._report.stage_seconds["upkeep"] += time.perf_counter() - started
            self._report.notes.extend(notes)

    def _done(self, outcome: DocumentOutcome) -> None:
        """Record a finished document (the write stage calls this too, hence the lock)."""
        with self._lock:
            self._report.documents.append(outcome)
            if self._on_document is not None:
                self._on_document(outcome)

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        """Add the block's wall time to ``stage``. Stages overlap (they run in three
        threads), so the stage times add up to more than the run's time."""
        t, c = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            cpu = time.thread_time() - c
            with self._lock:
                self._report.stage_seconds[stage] += time.perf_counter() - t
                self.times.stage_cpu[stage] += cpu

    def _embed_counts(self) -> tuple[int, int]:
        e = self._embedder
        return (getattr(e, "hits", 0), getattr(e, "misses", 0)) if e is not None else (0, 0)

    @contextmanager
    def _progress(self, show: bool, total: int) -> Iterator[_Bar]:
        """The run's `_Bar` (``self._bar`` while it runs; draws nothing when ``show`` is off)."""
        if not show:
            self._bar = _Bar(None, total)
            yield self._bar
            self._bar.finish()
            return
        with Progress(
            TextColumn("[bold]{task.fields[stage]}[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=False,
            # rich's default 10 Hz re-render costs ~1.3% of a core and takes the GIL
            # from the model thread ten times a second; 2 Hz costs ~0.4%.
            refresh_per_second=2,
        ) as prog:
            self._bar = _Bar(prog, total)
            yield self._bar
            self._bar.finish()
