"""Ingest throughput: documents/s and chunks/s against the embedding-bound rate.

Figures, not a timed test. For the demo corpus and for N generated documents it
measures, in one run and on one machine state:

* full ingest (read → pseudonymise → extract → chunk → embed → map → write), on a fresh
  graph and a cold embedding cache;
* the *embedding-bound* rate: the same chunk texts (read back from the graph) encoded by
  the same model alone, without the cache, in the same process right after the ingest --
  the ceiling of ingest on a CPU; each distinct chunk text once, as the ingest encodes it
  once (its cache; until 2026-11-28 the bound encoded repeated texts again), cut into
  forward passes as the pipeline's embedder cuts them (``--batching``). Target: ingest
  chunks/s ≥ 0.8 × that rate (``ratio``).
  Ingest also embeds short entity texts: "name: definition" for vocabulary concepts
  (once per data directory, then cached) and "name: first sentence" for interventions and
  working elements without one (the search ranks those by their own vectors); every
  other entity takes the mean of its chunks' vectors, no model work (see
  ``ingest.mapping.entity_text``). Entity texts are NOT in the bound, so ``ratio``
  charges them to the pipeline. For
  reference ``ratio_model_work`` puts them in the bound too: the model alone on every
  text the ingest encoded (chunks + entity texts), divided by the ingest time. Above
  ``--bound-sample`` texts the bound is timed on a seeded random sample of them and
  scaled (``bound_sampled``), so a 10k run does not pay the model twice;
* re-ingest of the unchanged corpus (skipped by content hash) and its speed-up —
  target: ≥ 50×;
* peak memory: ``ru_maxrss`` of the process (model included), and the Python heap peak
  (tracemalloc, in a separate dry run, only up to ``--heap-max`` generated documents);
* where the CPU went (``cpu_*``): seconds per stage and per thread (the pipeline's
  ``RunTimes``), per part of the process by kernel thread name, sampled every 0.2 s
  during the run (`ThreadSampler`: the model -- the embed thread and torch's workers --,
  the write thread, the RDF view -- its bulk loader's threads and RocksDB's --, the main
  thread; until 2026-11-28 the model was the process less the threads living at the
  end, which held the ended bulk loader's threads), the FalkorDB server process
  (/proc), and ``cores_used`` (all of it ÷ the ingest's wall time; 2 is the machine).
  ``cpu_total_s / 2`` is the floor no scheduling can beat;
* when the model waited (``model_wait_first_s``: run start to its first call;
  ``model_wait_last_s``: its last call to the run's end, step by step in ``tail_*``:
  the last writes, upkeep, the RDF view's last journal load, the file index) and how its
  calls were spent (``model_run_s`` on a CPU, ``model_runnable_s`` waiting for one,
  ``model_asleep_s`` waiting for the GIL or its OpenMP partner);
* ``stretches``: every ``--progress-every`` documents, that stretch's seconds and CPU
  seconds per document (process and server): a growing CPU per document means some
  step costs more as the graph grows, whatever the machine's load did meanwhile.

Start-up is outside the timings and reported apart (``startup_s``): the model's load,
and the NLP's (vocabulary, spaCy pipelines and matchers, ~3 CPU s) via
``Pipeline.warm_up``. Until 2026-11-27 12:40 UTC the NLP's start-up was inside
``ingest_s`` (the model's was not), so earlier demo figures carry ~2-3 s more.

Usage::

    PYTHONPATH=src .venv/bin/python bench/ingest.py                      # demo + 100 generated
    PYTHONPATH=src .venv/bin/python bench/ingest.py --no-demo --generated 10000 \
        --progress-log /tmp/ingest-10k.log --json bench/results/ingest-10k.json

Runs on a throw-away data directory and graph (``bench-ingest``), never the user's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from rich.console import Console
from rich.table import Table

from impact_graph.config import Settings
from impact_graph.ingest.embed import BATCHING, Embedder
from impact_graph.ingest.pipeline import Pipeline, PipelineConfig
from impact_graph.ingest.report import DocumentOutcome, IngestReport

DEMO = Path(__file__).resolve().parents[1] / "ingest" / "demo"

THEMES = [
    ("eenzaamheid", "ouderen", "Welzijn op Recept", "ontmoeten"),
    ("schoolverzuim", "leerlingen", "het Thuiszitterspact", "betekenisvolle rol"),
    ("overgewicht", "kinderen", "de JOGG-aanpak", "bewegen"),
    ("jeugdcriminaliteit", "jongeren", "Halt", "sociale vaardigheden"),
    (
        "arbeidsparticipatie",
        "statushouders",
        "duale trajecten taal en werk",
        "praktisch ondersteunen",
    ),
    ("leefbaarheid", "bewoners", "buurtbemiddeling", "betekenisvol contact"),
    ("energiearmoede", "huishoudens", "energiecoaches", "bezigheden"),
]
PLACES = ["Wadstede", "Lindenhoven", "Bergveld", "Kustwonen", "Eikendaal"]
PARTNERS = ["Stichting Welzijn {p}", "GGD {p}", "Bibliotheek {p}", "Woonstichting {p}"]


def generate(folder: Path, n: int, seed: int = 7) -> None:
    """N plan-like Dutch documents of ~300–700 words with sections and partners."""
    rnd = random.Random(seed)
    for i in range(n):
        challenge, group, intervention, element = rnd.choice(THEMES)
        place = rnd.choice(PLACES)
        para = [
            f"In de gemeente {place} ervaren veel {group} {challenge}. "
            f"Het programma {place} Samen {i} wil dat veranderen met {intervention}. "
            f"Uit de monitor van {rnd.randint(2019, 2024)} blijkt dat {rnd.randint(10, 40)}% "
            f"van de {group} hiermee te maken heeft."
            for _ in range(rnd.randint(3, 7))
        ]
        work = [
            f"{intervention.capitalize()} vermindert {challenge} bij {group} doordat "
            f"deelnemers elkaar vaker zien. Het werkzame element is {element}."
            for _ in range(rnd.randint(2, 5))
        ]
        partners = "\n".join(
            f"- {p.format(p=place)} — {rnd.choice(['uitvoering', 'signalering', 'monitor'])}"
            for p in rnd.sample(PARTNERS, 3)
        )
        text = (
            f"---\ntitle: {place} Samen {i}\nkind: plan\nprogramme: {place} Samen {i}\n"
            f"gemeente: {place}\n---\n# {place} Samen {i}\n\n## Waarom\n\n"
            + "\n\n".join(para)
            + "\n\n## Wat we doen\n\n"
            + " ".join(work)
            + f"\n\n## Partners\n\n{partners}\n\n## Doel\n\n"
            f"In {rnd.randint(2026, 2030)} willen we {rnd.randint(10, 30)}% minder {challenge}.\n"
        )
        (folder / f"plan-{i:05d}.md").write_text(text, encoding="utf-8")


class RecordingEmbedder(Embedder):
    """The pipeline's embedder, remembering every text it sent to the model (cache misses),
    so the bound can be timed on exactly the texts the ingest encoded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.encoded: list[str] = []
        self.calls: list[list[str]] = []  # each model call's texts, for --calls-out
        self.recording = True

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.recording:
            self.encoded.extend(texts)
            self.calls.append(list(texts))
        return super().encode(texts)


def chunk_texts(settings: Settings) -> list[str]:
    """The chunk texts ingest embedded, read back from the graph (same run, same chunks)."""
    from impact_graph.store import open_store

    store = open_store(settings)
    try:
        res = store.read_query("MATCH (c:Chunk) RETURN c.text", timeout_s=600, row_cap=10**8)
    finally:
        store.close()
    return [r[0] for r in res.rows]


def encode_seconds(embedder: Embedder, texts: list[str], sample: int) -> tuple[float, bool, float]:
    """Seconds the model alone takes for ``texts``: timed on all of them, or on a seeded
    random sample of ``sample`` texts scaled by ``len(texts) / sample``; and the CPU
    seconds of the process meanwhile (the model's threads), scaled the same way -- the
    model's cost alone, to hold against its CPU inside the ingest."""
    if not texts:
        return 0.0, False, 0.0
    sampled = len(texts) > sample
    todo = random.Random(11).sample(texts, sample) if sampled else texts
    t, c = time.perf_counter(), time.process_time()
    embedder.encode(todo)
    s, cpu = time.perf_counter() - t, time.process_time() - c
    scale = len(texts) / len(todo)
    return (s * scale, sampled, cpu * scale)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of process ``pid`` (all its threads), from /proc."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": fields 3.. of proc(5)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


#: Thread names (``comm``) of the RDF view's storage engine: RocksDB's background flush
#: and compaction threads ("rocksdb:low", "rocksdb:high"), started by the embedded
#: Oxigraph view in this process.
RDF_THREAD_PREFIX = "rocksdb:"


def threads_cpu() -> dict[str, float]:
    """CPU seconds of this process's living threads, summed by thread name (``comm``:
    the Python threads are all "python"; RocksDB's background threads, used by the
    embedded RDF view, name themselves ``rocksdb:*``). Threads that ended are not in it."""
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


#: How the sampler books a thread by its kernel name (``comm``): the pipeline names its
#: stages' threads ``ig-embed`` and ``ig-write`` (`impact_graph.threadname`), the RDF
#: view its bulk loader ``ig-rdf-load``, and Linux gives every thread they start the
#: same name (torch's OpenMP workers, pyoxigraph's loader threads); RocksDB names its
#: own background threads ``rocksdb:*``.
THREAD_PARTS = (
    ("ig-embed", "model"),
    ("ig-write", "write"),
    ("ig-rdf-load", "rdf_view"),
    (RDF_THREAD_PREFIX, "rdf_view"),
)
#: The sampler's own thread, booked apart.
SAMPLER_NAME = "bench-sampler"


def task_cpu() -> dict[int, tuple[str, float]]:
    """Each living thread of this process: thread id -> (kernel name, CPU seconds)."""
    out: dict[int, tuple[str, float]] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        out[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return out


class ThreadSampler:
    """Reads every thread's CPU from /proc every ``every`` seconds while the ingest runs,
    from a thread of its own, and books it by kernel name (`THREAD_PARTS`).

    Why sample: a thread that ends during the run (the RDF view's bulk loader) is gone
    from /proc by the end, and reading only then booked its CPU as the model's (the
    process less the threads still there). Sampled, an ended thread keeps what it had
    at its last sample; what it did after that, and threads that lived less than one
    interval, are in ``unbooked`` (the process's CPU less everything sampled), not
    in any part."""

    def __init__(self, every: float = 0.2) -> None:
        import threading

        self.every = every
        self.main = os.getpid()
        self._start = task_cpu()
        self._last = dict(self._start)
        self._stop = threading.Event()
        self._tid: int | None = None
        self._thread = threading.Thread(target=self._loop, name=SAMPLER_NAME, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import threading

        try:
            from impact_graph.threadname import set_kernel_name
        except ImportError:  # a source tree from before 2026-11-28 (paired runs)
            pass
        else:
            set_kernel_name(SAMPLER_NAME)
        self._tid = threading.get_native_id()
        while not self._stop.wait(self.every):
            self._last.update(task_cpu())

    def stop(self) -> dict[str, float]:
        """Stop sampling (one last read) and return CPU seconds by part since the start:
        ``model``, ``write``, ``rdf_view``, ``main``, ``other`` (threads of no part),
        ``sampler``, and ``threads`` (how many threads were seen)."""
        self._stop.set()
        self._thread.join()
        self._last.update(task_cpu())
        parts: dict[str, float] = {"model": 0.0, "write": 0.0, "rdf_view": 0.0, "main": 0.0}
        parts["other"] = parts["sampler"] = 0.0
        for tid, (name, cpu) in self._last.items():
            spent = cpu - self._start.get(tid, (name, 0.0))[1]
            if tid == self.main:
                part = "main"
            elif tid == self._tid:
                part = "sampler"
            else:
                part = next((p for prefix, p in THREAD_PARTS if name.startswith(prefix)), "other")
            parts[part] += spent
        parts["threads"] = float(len(set(self._last) - set(self._start)))
        return parts


def server_pid(settings: Settings) -> int | None:
    """The FalkorDB server the benchmark's store runs on (None for Neo4j)."""
    if settings.backend != "falkordb":
        return None
    from impact_graph.store.falkordb_server import FalkorDBServer

    return FalkorDBServer(settings.data_path).read_pid()


def cpu_figures(
    pipe: Pipeline,
    report: IngestReport,
    process_cpu_s: float,
    server_cpu_s: float | None,
    sampled: dict[str, float],
    view: Any = None,
) -> dict[str, Any]:
    """Where the ingest's CPU went: per stage and thread (the pipeline's own clocks), per
    part of the process as the `ThreadSampler` booked it by thread name (``sampled``:
    the model -- the embed thread and torch's OpenMP workers it started --, the write
    thread, the RDF view -- its bulk loader's threads and RocksDB's --, the main
    thread, the rest), the store's server process, when the model thread waited
    instead of encoding, and the run's end step by step (``tail_*``, `RunTimes.tail`;
    ``view`` gives the RDF view's bulk loads).

    Until 2026-11-28 ``cpu_model_s`` was the process less the threads living at the
    end, and so held the ended bulk loader's threads too (~1 s of the demo, estimated).

    Wall time says little on a shared 2-core machine; CPU seconds say what each part
    costs. ``cpu_total_s`` against ``2 × ingest_s`` is how full the two cores were.
    """
    t = pipe.times
    threads = {k: round(v, 3) for k, v in t.thread_cpu.items()}
    # The sampler is the benchmark's, not the ingest's (~4 ms of CPU a second at load ~8).
    process_cpu_s -= sampled["sampler"]
    total = process_cpu_s + (server_cpu_s or 0.0)
    wall = report.seconds
    booked = sum(v for k, v in sampled.items() if k not in ("threads", "sampler"))
    return {
        **{f"cpu_stage_{k}_s": round(v, 3) for k, v in t.stage_cpu.items()},
        **{f"cpu_thread_{k}_s": v for k, v in threads.items()},
        "cpu_model_s": round(sampled["model"], 3),
        "cpu_write_s": round(sampled["write"], 3),
        "cpu_rdf_view_s": round(sampled["rdf_view"], 3),
        "cpu_main_s": round(sampled["main"], 3),
        # Threads of no part (e.g. the garbage collector has none: it runs in whichever
        # thread allocates), and what ended between two samples (see ThreadSampler).
        "cpu_other_threads_s": round(sampled["other"], 3),
        "cpu_unbooked_s": round(process_cpu_s - booked, 3),
        "cpu_sampler_s": round(sampled["sampler"], 3),
        "threads_started": int(sampled["threads"]),
        "cpu_process_s": round(process_cpu_s, 3),
        "cpu_server_s": None if server_cpu_s is None else round(server_cpu_s, 3),
        "cpu_total_s": round(total, 3),
        "cores_used": round(total / wall, 2) if wall else None,
        "model_calls": t.model_calls,
        "model_busy_s": round(t.model_busy_s, 3),
        "model_idle_s": round(max(0.0, wall - t.model_busy_s), 3),
        "model_wait_first_s": round(t.model_wait_first_s, 3),
        "model_wait_last_s": round(t.model_wait_last_s, 3),
        # The embed thread inside encode calls: on a CPU, runnable (waiting for a CPU),
        # asleep (the GIL, its OpenMP partner). Compare with `bound_sched`.
        "model_run_s": round(t.model_run_s, 3),
        "model_runnable_s": round(t.model_runnable_s, 3),
        "model_asleep_s": round(max(0.0, t.model_busy_s - t.model_run_s - t.model_runnable_s), 3),
        # model_wait_last_s step by step (wall s): the last group's writes, the store's
        # upkeep, the RDF view's last journal load, the file index's save.
        **{f"tail_{k}_s": round(v, 3) for k, v in getattr(t, "tail", {}).items()},
        "model_after_reading_s": round(getattr(t, "model_after_reading_s", 0.0), 3),
        "rdf_bulk_loads": getattr(view, "bulk_loads", None),
        "rdf_bulk_load_s": None if view is None else round(getattr(view, "bulk_load_s", 0.0), 3),
    }


class ProgressLog:
    """Writes ``elapsed docs chunks`` every ``every`` documents (and at the end), so a long
    run shows its rate as it goes and a run stopped early still has figures.

    Each line also gives the stretch since the previous line: its documents/s and the
    CPU seconds per document of this process and of the store's server. On a loaded
    machine the rate moves with the load, the CPU per document does not: if it grows
    from the first stretches to the last, some step costs more as the graph grows.
    The stretches are kept in ``stretches`` for the JSON figures.
    """

    def __init__(self, out: TextIO | None, every: int = 250, server: int | None = None) -> None:
        self.out, self.every, self.server = out, every, server
        self.t0 = time.perf_counter()
        self.docs = self.chunks = 0
        self.stretches: list[dict[str, float]] = []
        self._mark = (self.t0, 0, time.process_time(), proc_cpu_s(server) or 0.0)

    def __call__(self, outcome: DocumentOutcome) -> None:
        self.docs += 1
        self.chunks += outcome.chunks
        if self.docs % self.every == 0:
            self.line()

    def line(self, note: str = "") -> None:
        now, cpu, srv = time.perf_counter(), time.process_time(), proc_cpu_s(self.server) or 0.0
        t, d, c, sv = self._mark
        n = self.docs - d
        if n > 0:
            self.stretches.append(
                {
                    "docs": self.docs,
                    "stretch_docs": n,
                    "s": round(now - t, 3),
                    "cpu_per_doc_s": round((cpu - c) / n, 4),
                    "server_cpu_per_doc_s": round((srv - sv) / n, 4),
                    "load_1m": round(os.getloadavg()[0], 2),
                }
            )
        self._mark = (now, self.docs, cpu, srv)
        if self.out is None:
            return
        el = now - self.t0
        st = self.stretches[-1] if n > 0 else None
        stretch = (
            f"stretch: docs/s={n / st['s']:.2f} cpu/doc={st['cpu_per_doc_s']:.3f}s "
            f"server cpu/doc={st['server_cpu_per_doc_s']:.3f}s "
            if st and st["s"]
            else ""
        )
        self.out.write(
            f"{time.strftime('%H:%M:%S')} elapsed={el:.1f}s docs={self.docs} "
            f"chunks={self.chunks} docs/s={self.docs / el:.2f} chunks/s={self.chunks / el:.2f} "
            f"{stretch}load={os.getloadavg()[0]:.2f} {note}\n"
        )
        self.out.flush()


def measure(
    name: str,
    corpus: Path,
    settings: Settings,
    console: Console,
    *,
    heap: bool = True,
    bound_sample: int = 4000,
    log: TextIO | None = None,
    time_budget_s: float | None = None,
    progress_every: int = 250,
    calls_out: Path | None = None,
    batching: str = "budget",
) -> dict[str, Any]:
    """Ingest ``corpus`` fresh, re-ingest it, time the model alone on its texts.

    ``batching``: how the model cuts each call into forward passes, for the ingest and
    the bound alike (`Embedder`'s ``batching``; "count" is the cut before 2026-11-28).
    ``calls_out``: save the texts of each model call the ingest made, and the chunk
    texts the bound encodes, as JSON (``bench/tools/encode_calls.py`` replays them).

    With ``time_budget_s`` the ingest reads no new file after that many seconds; the
    re-ingest and the bound then cover exactly the documents it wrote.
    """
    from impact_graph.store import open_store

    store = open_store(settings)
    store.clear()
    cache = settings.data_path / "cache" / "embeddings.sqlite"
    for f in cache.parent.glob(cache.name + "*"):  # the SQLite file and its WAL
        f.unlink()
    # The pipeline's own batch size, for the ingest and for the bound alike (the bound
    # is the model alone at the setting it encodes best at; see embed.DEFAULT_BATCH_SIZE).
    embedder = RecordingEmbedder.from_settings(
        settings, batch_size=PipelineConfig.load().batch_size, batching=batching
    )
    assert isinstance(embedder, RecordingEmbedder)
    heap_peak = None
    with Pipeline(settings, store=store, embedder=embedder) as pipe:
        # One-off start-up outside the timings, reported apart: the model's load and
        # the NLP's (vocabulary, spaCy pipelines, matchers; ~3 CPU s, which the first
        # document would otherwise pay while the model waits).
        startup_s = pipe.warm_up()
        load_start = os.getloadavg()[0]
        spid = server_pid(settings)
        progress = ProgressLog(log, progress_every, spid)
        if log is not None:
            log.write(f"# {name}: ingest of {corpus}\n")
        t0 = time.perf_counter()
        budget: dict[str, Any] = (
            {}
            if time_budget_s is None
            else {"stop": lambda: time.perf_counter() - t0 > time_budget_s}
        )
        sampler = ThreadSampler()
        server0, cpu0 = proc_cpu_s(spid), time.process_time()
        first: IngestReport = pipe.run([corpus], progress=False, on_document=progress, **budget)
        cpu1, server1 = time.process_time(), proc_cpu_s(spid)
        cpu = cpu_figures(
            pipe,
            first,
            cpu1 - cpu0,
            None if server0 is None or server1 is None else server1 - server0,
            sampler.stop(),
            getattr(store, "view", None),
        )
        progress.line("ingest done")
        embedder.recording = False
        load_ingest_end = os.getloadavg()[0]
        stopped = bool(first.notes and first.notes[-1].startswith("stopped early"))
        # Stopped early: the rest covers the files the ingest got to -- the same root
        # (document ids depend on it) and the first n files, in the same order.
        n_read = len(first.documents)

        def same_files() -> dict[str, Any]:
            if not stopped:
                return {}
            asked = [0]

            def enough() -> bool:
                asked[0] += 1
                return asked[0] > n_read

            return {"stop": enough}

        again = pipe.run([corpus], progress=False, **same_files())
        texts = chunk_texts(settings)
        if heap:
            # The Python heap peak in a separate dry run (tracemalloc slows the NLP 2-3x,
            # so it must not run during the timed ingest); the cache is warm, the work the
            # same.
            store.clear()
            tracemalloc.start()
            pipe.run([corpus], progress=False, dry_run=True, **same_files())
            heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    store.close()
    chunk_set = set(texts)
    entity_texts = [t for t in embedder.encoded if t not in chunk_set]
    # Each distinct chunk text once, as the ingest encodes it once (its cache): the
    # generated corpus repeats chunk texts (100 documents: 376 chunks, 347 distinct),
    # and until 2026-11-28 the bound encoded the repeats too.
    distinct = list(dict.fromkeys(texts))
    embed_s, sampled, embed_cpu = encode_seconds(embedder, distinct, bound_sample)
    entity_s, ent_sampled, entity_cpu = encode_seconds(embedder, entity_texts, bound_sample)
    embedder.close()
    if calls_out is not None:
        calls_out.write_text(
            json.dumps({"calls": embedder.calls, "chunk_texts": texts}, ensure_ascii=False),
            encoding="utf-8",
        )
    embed_rate = len(texts) / embed_s if embed_s else 0.0
    out: dict[str, Any] = {
        "docs": first.processed,
        "stopped_early": stopped,
        "failed": first.failed,
        "chunks": first.chunks,
        "texts_embedded": first.embedded,
        "entity_texts_embedded": len(entity_texts),
        "startup_s": startup_s,
        "ingest_s": first.seconds,
        "docs_per_s": first.docs_per_s,
        "chunks_per_s": first.chunks_per_s,
        "embed_bound_chunks_per_s": embed_rate,
        "bound_chunk_texts": len(texts),
        "bound_distinct_chunk_texts": len(distinct),
        "bound_sampled": sampled or ent_sampled,
        "bound_chunks_s": embed_s,
        "bound_entity_texts_s": entity_s,
        # The model alone, in CPU seconds (chunks + entity texts), against its CPU inside
        # the ingest (``cpu_model_s``): the share the ingest's scheduling wastes (OpenMP
        # spinning, GIL hand-overs), which the load of the machine moves far less than
        # the wall-time ratio.
        "bound_cpu_s": round(embed_cpu + entity_cpu, 3),
        "bound_chunks_cpu_s": round(embed_cpu, 3),
        "ratio": first.chunks_per_s / embed_rate if embed_rate else 0.0,
        # The ratio in CPU seconds: the model alone on the chunk texts against all the
        # ingest's CPU (process and server). What ``ratio`` would be if both ran on two
        # otherwise idle cores and used them equally fully; unlike ``ratio`` it hardly
        # moves with the machine's load. The model alone keeps two cores busier than the
        # ingest does (quiet run in bench/REPORT.md: the ingest used 1.84 cores), so it
        # reads somewhat above a quiet machine's wall-time ratio.
        "ratio_cpu": embed_cpu / cpu["cpu_total_s"] if cpu["cpu_total_s"] else 0.0,
        "ratio_model_work": (embed_s + entity_s) / first.seconds if first.seconds else 0.0,
        # Share of the ingest's wall time the model thread spent in encode calls. Near 1
        # says the model thread never waited for work -- NOT that the ingest runs at the
        # model's speed: beside the NLP and the writes on 2 cores each call runs slower
        # (at load ~1 the demo's embed stage took 1.7x the model-alone time).
        "embed_busy": first.stage_seconds.get("embed", 0.0) / first.seconds
        if first.seconds
        else 0.0,
        "reingest_s": again.seconds,
        "speedup": first.seconds / again.seconds if again.seconds else 0.0,
        "unchanged": again.unchanged,
        "heap_peak_mb": heap_peak,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_1m_start": load_start,
        "load_1m_ingest_end": load_ingest_end,
        "load_1m_end": os.getloadavg()[0],
        **{f"stage_{k}_s": v for k, v in first.stage_seconds.items()},
        **cpu,
        "stretches": progress.stretches,
    }
    console.print(f"[bold]{name}[/bold]: {out}")
    if log is not None:
        log.write(f"# {name}: {out}\n")
        log.flush()
    return out


def calls_path(prefix: Path | None, corpus: str) -> Path | None:
    """Where ``--calls-out PREFIX`` saves one corpus's model calls."""
    return None if prefix is None else prefix.with_name(f"{prefix.name}-{corpus}.json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--generated",
        "--docs",
        dest="generated",
        type=int,
        default=100,
        help="how many documents to generate and ingest after the demo corpus (0: none); "
        "100 keeps `make bench` within minutes, 10000 is the issue's size (about an hour)",
    )
    ap.add_argument("--backend", default="falkordb", choices=["falkordb", "neo4j"])
    ap.add_argument("--no-demo", action="store_true", help="skip the demo corpus")
    ap.add_argument("--quick", action="store_true", help="smoke run: 10 generated, no demo")
    ap.add_argument(
        "--bound-sample",
        type=int,
        default=4000,
        help="time the embedding bound on a random sample of this many texts when there are "
        "more (scaled to all of them)",
    )
    ap.add_argument(
        "--heap-max",
        type=int,
        default=1000,
        help="measure the Python heap peak (an extra dry run under tracemalloc) only up to "
        "this many generated documents",
    )
    ap.add_argument(
        "--time-budget",
        type=float,
        metavar="S",
        help="stop reading generated documents after S seconds of ingest and measure what "
        "was written (the result names how many of --generated that was)",
    )
    ap.add_argument("--progress-log", type=Path, metavar="FILE", help="append progress lines")
    ap.add_argument(
        "--progress-every",
        type=int,
        default=250,
        metavar="N",
        help="a progress line every N documents (the rate of each stretch shows whether a "
        "long run slows down as the graph grows)",
    )
    ap.add_argument("--json", type=Path, metavar="FILE", help="also save the figures here")
    ap.add_argument(
        "--batching",
        default="budget",
        choices=BATCHING,
        help="how the model cuts a call into forward passes, ingest and bound alike "
        "(budget: embed.plan_batches; count: every 16 texts, as before 2026-11-28)",
    )
    ap.add_argument(
        "--calls-out",
        type=Path,
        metavar="PREFIX",
        help="save each corpus's model calls (texts per call) to PREFIX-demo.json and "
        "PREFIX-generated.json, for bench/tools/encode_calls.py",
    )
    args = ap.parse_args()
    if args.generated < 0 or args.bound_sample < 1 or args.progress_every < 1:
        ap.error("--generated must be 0 or more, --bound-sample and --progress-every at least 1")
    if args.quick:
        args.generated, args.no_demo = min(args.generated, 10), True
    console = Console(width=230)  # the table has 16 columns
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    settings = Settings(
        backend=args.backend,
        data_dir=work / "data",
        graph_name="bench-ingest",
        falkordb_stop_on_close=False,
    )
    log = args.progress_log.open("a", encoding="utf-8") if args.progress_log else None
    results: dict[str, dict[str, Any]] = {}
    try:
        if not args.no_demo:
            results["demo corpus"] = measure(
                "demo corpus",
                DEMO,
                settings,
                console,
                bound_sample=args.bound_sample,
                log=log,
                calls_out=calls_path(args.calls_out, "demo"),
                batching=args.batching,
            )
        if args.generated:
            gen = work / "generated" / "plan"
            gen.mkdir(parents=True)
            generate(gen, args.generated)
            name = f"{args.generated} generated"
            r = measure(
                name,
                gen.parent,
                settings,
                console,
                heap=args.generated <= args.heap_max,
                bound_sample=args.bound_sample,
                log=log,
                time_budget_s=args.time_budget,
                progress_every=args.progress_every,
                calls_out=calls_path(args.calls_out, "generated"),
                batching=args.batching,
            )
            if r["stopped_early"]:
                name = f"{r['docs']} of {args.generated} generated (time budget)"
            results[name] = r
    finally:
        if log is not None:
            log.close()
        if args.backend == "falkordb":
            from impact_graph.store.falkordb_server import FalkorDBServer

            FalkorDBServer(settings.data_path).stop()
        shutil.rmtree(work, ignore_errors=True)

    table = Table(title=f"Ingest benchmark ({args.backend})")
    cols = [
        ("docs", "docs", "{:.0f}"),
        ("chunks", "chunks", "{:.0f}"),
        ("docs/s", "docs_per_s", "{:.2f}"),
        ("chunks/s", "chunks_per_s", "{:.2f}"),
        ("embed-bound chunks/s", "embed_bound_chunks_per_s", "{:.2f}"),
        ("ratio (≥0.8)", "ratio", "{:.2f}"),
        ("incl. entity texts", "ratio_model_work", "{:.2f}"),
        ("CPU ratio", "ratio_cpu", "{:.2f}"),
        ("model busy", "embed_busy", "{:.0%}"),
        ("CPU s", "cpu_total_s", "{:.1f}"),
        ("cores used", "cores_used", "{:.2f}"),
        ("re-ingest s", "reingest_s", "{:.2f}"),
        ("speed-up (≥50×)", "speedup", "{:.0f}×"),
        ("heap peak MB", "heap_peak_mb", "{:.0f}"),
        ("max RSS MB", "maxrss_mb", "{:.0f}"),
    ]
    table.add_column("corpus")
    for title, _, _ in cols:
        table.add_column(title, justify="right")
    for name, r in results.items():
        table.add_row(
            name, *("–" if r[key] is None else fmt.format(r[key]) for _, key, fmt in cols)
        )
    console.print(table)
    console.print(
        "ratio: ingest chunks/s ÷ the model alone on the same chunk texts; 'incl. entity "
        "texts': the model alone on every text ingest encoded (chunks + entity names) ÷ "
        "ingest time; 'CPU ratio': the model's CPU alone on the chunk texts ÷ the ingest's "
        "CPU (process + server), steady under load; 'model busy': share of the ingest the "
        "model thread was encoding."
    )
    if args.json:
        from _common import machine_info, save_json

        save_json(
            args.json,
            {
                "machine": machine_info(),
                "backend": args.backend,
                "batching": args.batching,
                **results,
            },
        )


if __name__ == "__main__":
    main()
