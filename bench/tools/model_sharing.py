"""The embedding model's CPU alone and while another thread shares the two cores.

Why this exists: inside an ingest the model spent more CPU seconds on the same texts
than alone (demo corpus 22.9 against 16.9 s, 10,000 documents 2,027 against 1,255 s;
issue 3). Candidate causes: torch's OpenMP worker spin-waiting (libgomp spins up to
``GOMP_SPINCOUNT`` iterations before it sleeps) while the thread that drives the model
waits for the GIL or for a core, torch's inter-op pool, or the texts being encoded in
smaller, worse-padded batches in the ingest than in the bound. This script separates
them: each *setting* (environment variables set before torch's first import, or
``torch.set_num_threads``/``set_num_interop_threads``) runs in a subprocess of its own
that encodes a fixed list of model calls, once per *competitor*:

* ``none``    -- the model alone;
* ``extract`` -- a second thread extracts the demo corpus over and over (the ingest's
  main-thread work: Python and Cython holding the GIL most of the time);
* ``pyloop``  -- a second thread runs a pure-Python loop (holds the GIL, 1 ms switches);
* ``nogil``   -- a second thread hashes a large buffer (takes a core without the GIL, as
  another process would).

Per run it prints the model's CPU seconds: every thread of the process but the
competitor's (``/proc/self/task/*/schedstat``, nanoseconds), over the encode calls only.
The calls are the ingest's own: the texts the pipeline sends to ``Embedder.embed`` for
the demo corpus, call by call (captured once with pseudo-random vectors and a store that
only records), so padding is the same alone and shared. ``--bound-style`` adds a row
that encodes the same chunk texts in one call (as ``bench/ingest.py``'s bound does).

The machine is shared: settings and competitors are interleaved, several repetitions,
and CPU seconds (not wall) are the figure; the table gives medians.

Data parallelism (``dp2``, 2026-11-28, issue 3) -- two single-threaded workers (torch
intra-op threads 1 in each) taking whole batches from one queue, against one forward
pass over torch's 2 OpenMP threads. ``cut2`` is its control: one intra-op worker, each
call cut into the same batches (near-equal, at least two: 17 texts = 9 + 8, not 16 + 1).
The demo ingest's first 8 captured calls (124 texts), 2 interleaved repetitions, load
8-18 (medians, model CPU s x alone | wall s)::

    passive  none 6.66 | 24.5   extract 6.98 x1.05 | 40.6   nogil 6.83 x1.03 | 37.0
    cut2     none 4.91 | 14.6   extract 5.00 x1.02 | 24.4   nogil 4.92 x1.00 | 20.5
    dp2      none 4.66 | 13.8   extract 4.80 x1.03 | 29.2   nogil 4.58 x0.98 | 25.1

Data parallelism did NOT win: its CPU is that of ``cut2`` (the 28% less than
``passive`` is padding, not parallelism), its inflation beside a competitor is the same
(x1.03), and its wall time beside one was longer, not shorter. Each small call ends
with a wait for both workers, so a preempted worker still stalls the call. In one call
of all texts (``--bound-style``, 258 texts, load 11) dp2 and passive cost the same
(5.80 and 5.94 CPU s, 15.6 and 14.9 s wall). Beside the demo ingest in bench/ingest.py
(Embedder with two workers, load 13-17, 2 runs each) the model's CPU inside the
ingest was 15.1 and 14.4 s against 15.0 and 16.4 intra-op, within the noise. So the
Embedder stayed intra-op. Caveat: the captured calls come from a pseudo-random
embedder, which serves no text from the shipped vocabulary vectors, so they hold more
short entity texts and smaller calls (873 texts in 78 calls for the demo) than a
real ingest sends to the model (320 texts in 10-14 calls). The padding gain of
``cut2`` is real for small calls but did not show in the real ingest (model CPU 15.4
and 14.8 s).

Usage::

    PYTHONPATH=src .venv/bin/python bench/tools/model_sharing.py --reps 3
    PYTHONPATH=src .venv/bin/python bench/tools/model_sharing.py --settings default,passive \\
        --competitors none,extract --reps 4 --json /tmp/sharing.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
DEMO = ROOT / "ingest" / "demo"

#: name -> (environment set before torch's import, torch.set_num_threads,
#: torch.set_num_interop_threads); None leaves torch's own choice.
SETTINGS: dict[str, tuple[dict[str, str], int | None, int | None]] = {
    "default": ({}, None, None),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, None, None),
    "active": ({"OMP_WAIT_POLICY": "ACTIVE"}, None, None),
    "spin0": ({"GOMP_SPINCOUNT": "0"}, None, None),
    "spin10k": ({"GOMP_SPINCOUNT": "10000"}, None, None),
    "threads1": ({}, 1, None),
    "interop1": ({}, None, 1),
    # data parallelism: two single-threaded workers (`DataParallelEncoder`), each running
    # whole forward passes of its own batches, instead of one pass over 2 OpenMP threads
    "dp2": ({"OMP_WAIT_POLICY": "PASSIVE"}, None, None),
    # the control for dp2: one intra-op worker, but each call cut into the batches dp2
    # cuts (never fewer than 2, so a 17-text call is 9 + 8 instead of 16 + 1), encoded
    # one after the other: what dp2 gains by padding less, without its parallelism
    "cut2": ({"OMP_WAIT_POLICY": "PASSIVE"}, None, None),
}
#: Settings that run N data-parallel model workers (`DataParallelEncoder`).
WORKERS: dict[str, int] = {"dp2": 2}
#: Settings that cut each call into the batches ``workers=N`` would, on one worker.
CUTS: dict[str, int] = {"cut2": 2}
COMPETITORS = ("none", "extract", "pyloop", "nogil")
#: Variables that would change the settings under test if inherited from the shell.
CLEARED = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# --- capturing the ingest's model calls ------------------------------------------------


def capture_calls(out: Path, limit: int) -> None:
    """Run the pipeline over the demo corpus with a recording store and an embedder that
    returns pseudo-random vectors, and save every ``embed`` call's texts (in order).

    The chunks are cut with the model's tokenizer, as in a real ingest.
    """
    sys.path.insert(0, str(BENCH / "tools"))
    from write_cost import HashEmbedder, RecordingStore

    from impact_graph.config import Settings
    from impact_graph.ingest.pipeline import Pipeline
    from impact_graph.ontology import load_schema

    class CallRecorder(HashEmbedder):
        """HashEmbedder that remembers each call's texts."""

        def __init__(self, dim: int) -> None:
            super().__init__(dim)
            self.calls: list[list[str]] = []

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            self.calls.append(list(texts))
            return super().embed(texts)

    schema = load_schema()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), graph_name="model-sharing", rdf="off")
        emb = CallRecorder(schema.vector_dimensions)
        with Pipeline(settings, store=RecordingStore(), embedder=emb, schema=schema) as pipe:
            pipe.run([str(DEMO)], progress=False)
    calls, n = [], 0
    for c in emb.calls:
        if n >= limit:
            break
        calls.append(c[: limit - n])
        n += len(calls[-1])
    out.write_text(json.dumps(calls, ensure_ascii=False), encoding="utf-8")


def cut_size(n: int, batch_size: int, parts: int) -> int:
    """Batch size for a call of ``n`` texts: at least ``parts`` batches (so every worker
    gets one), at most ``batch_size`` texts each, near-equal (17 texts: 9 + 8)."""
    if n <= 1:
        return 1
    return max(1, math.ceil(n / max(parts, math.ceil(n / batch_size))))


# --- data parallelism (the dp2 setting) ----------------------------------------------


class _Call:
    """One `DataParallelEncoder.encode` call's batches, results and first error."""

    def __init__(self, batches: int) -> None:
        self.left = batches
        self.results: dict[int, np.ndarray] = {}
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.lock = threading.Lock()

    def finish(self, start: int, vecs: np.ndarray | None, error: BaseException | None) -> None:
        with self.lock:
            if error is not None and self.error is None:
                self.error = error
            if vecs is not None:
                self.results[start] = vecs
            self.left -= 1
            if self.left == 0:
                self.done.set()


class DataParallelEncoder:
    """Encode a call's texts on ``workers`` threads, each running whole forward passes
    with torch's intra-op threads set to 1 (data parallelism instead of intra-op).

    Texts are sorted by length (as sentence-transformers does) and cut into batches of
    at most ``batch_size``, and never fewer batches than workers, so a short call still
    uses every worker; the workers take batches from one queue, so a preempted worker
    leaves the rest to the others instead of stalling them at a barrier. The outputs
    come back in the input order (checked against one intra-op worker on 260 demo
    texts: largest element difference 1.3e-7). ``encode_batch`` is one batch's model call.

    torch keeps the thread count per thread once a thread has run an operation, and a
    global value that threads read on their first operation: each worker runs one
    operation, sets 1, and then the global is put back, so the caller's thread (a
    search query's single text) and threads started later keep torch's own count.
    """

    def __init__(
        self,
        encode_batch: Callable[[list[str]], np.ndarray],
        *,
        workers: int,
        batch_size: int,
    ) -> None:
        if workers < 2:
            raise ValueError(f"DataParallelEncoder needs at least 2 workers, got {workers}")
        self.encode_batch = encode_batch
        self.workers = workers
        self.batch_size = batch_size
        self._jobs: queue.SimpleQueue[tuple[_Call, int, list[str]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()

    def _start(self) -> None:
        with self._start_lock:
            if self._threads:
                return
            import torch

            global_threads = torch.get_num_threads()
            ready = threading.Barrier(self.workers + 1)
            for i in range(self.workers):
                t = threading.Thread(
                    target=self._work, args=(ready,), name=f"embed-worker-{i}", daemon=True
                )
                t.start()
                self._threads.append(t)
            ready.wait()  # every worker has its own count of 1 now
            torch.set_num_threads(global_threads)  # the global (and this thread's) back

    def _work(self, ready: threading.Barrier) -> None:
        import torch

        torch.get_num_threads()  # torch's per-thread set-up, which reads the global
        torch.set_num_threads(1)
        ready.wait()
        while (job := self._jobs.get()) is not None:
            call, start, texts = job
            if call.error is not None:  # an earlier batch failed: the call fails anyway
                call.finish(start, None, None)
                continue
            try:
                vecs = np.asarray(self.encode_batch(texts), dtype=np.float32)
            except BaseException as e:  # handed to the caller, which raises it
                call.finish(start, None, e)
            else:
                call.finish(start, vecs, None)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts`` in order; a worker's exception is raised here."""
        n = len(texts)
        order = sorted(range(n), key=lambda i: -len(texts[i]))
        size = cut_size(n, self.batch_size, self.workers)
        self._start()
        starts = list(range(0, n, size))
        call = _Call(len(starts))
        for start in starts:
            self._jobs.put((call, start, [texts[i] for i in order[start : start + size]]))
        call.done.wait()
        if call.error is not None:
            raise call.error
        sorted_vecs = np.concatenate([call.results[s] for s in starts])
        out = np.empty_like(sorted_vecs)
        out[order] = sorted_vecs
        return out

    def close(self) -> None:
        """Stop and join the workers (a later `encode` starts new ones)."""
        with self._start_lock:
            for _ in self._threads:
                self._jobs.put(None)
            for t in self._threads:
                t.join()
            self._threads = []


def data_parallel(emb: Any, workers: int) -> DataParallelEncoder:
    """``workers`` single-threaded workers over ``emb``'s model. The fast tokenizer is
    shared, so its calls are serialised (concurrent use while one call changes its
    settings fails: "Already borrowed")."""
    model = emb.model
    preprocess = model.preprocess
    token_lock = threading.Lock()

    def locked_preprocess(*args: Any, **kwargs: Any) -> Any:
        with token_lock:
            return preprocess(*args, **kwargs)

    model.preprocess = locked_preprocess

    def one_batch(texts: list[str]) -> np.ndarray:
        return model.encode(
            texts,
            batch_size=len(texts),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    return DataParallelEncoder(one_batch, workers=workers, batch_size=emb.batch_size)


def encode_cut(emb: Any, texts: list[str], parts: int) -> np.ndarray:
    """``emb.encode`` batch by batch, cut as ``DataParallelEncoder`` cuts for ``parts``
    workers (longest first, at most the batch size, at least ``parts`` batches)."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    size = cut_size(len(texts), emb.batch_size, parts)
    vecs = np.concatenate(
        [emb.encode([texts[i] for i in order[s : s + size]]) for s in range(0, len(order), size)]
    )
    out = np.empty_like(vecs)
    out[order] = vecs
    return out


# --- the child: one setting, one competitor ---------------------------------------------


def task_ns(field: int = 0) -> dict[int, int]:
    """Nanoseconds per thread of this process from schedstat: ``field`` 0 on a CPU,
    1 runnable but waiting for one."""
    out: dict[int, int] = {}
    for d in Path("/proc/self/task").iterdir():
        try:
            out[int(d.name)] = int((d / "schedstat").read_text().split()[field])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
    return out


class Competitor:
    """A second thread doing a fixed kind of CPU work until told to stop."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.tid: int | None = None
        self.rounds = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._docs: list[Any] = []
        self._vocab: Any = None
        if kind == "extract":
            from impact_graph.ingest.nlp import extract
            from impact_graph.ingest.readers import iter_files, read_file
            from impact_graph.vocab import load_vocabulary

            self._vocab = load_vocabulary()
            for f in iter_files([DEMO]):
                try:
                    self._docs.extend(read_file(f, root=DEMO).documents)
                except Exception:  # a reader error: that file is skipped
                    continue
            extract(self._docs[0], self._vocab, {})  # build the NLP before timing
        self._thread = threading.Thread(target=self._run, name=f"competitor-{kind}", daemon=True)

    def _run(self) -> None:
        self.tid = threading.get_native_id()
        self._ready.set()
        if self.kind == "none":
            return
        if self.kind == "extract":
            from impact_graph.ingest.nlp import extract

            while not self._stop.is_set():
                for doc in self._docs:
                    if self._stop.is_set():
                        break
                    extract(doc, self._vocab, {})
                self.rounds += 1
        elif self.kind == "pyloop":
            while not self._stop.is_set():
                x = 0
                for i in range(20_000):
                    x += i * i
                self.rounds += 1
        elif self.kind == "nogil":
            buf = os.urandom(8 << 20)
            while not self._stop.is_set():
                hashlib.sha256(buf).digest()  # releases the GIL for buffers > 2 KB
                self.rounds += 1

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def child(setting: str, competitor: str, calls_file: Path, bound_style: bool) -> dict[str, Any]:
    """Encode the captured calls under ``setting`` beside ``competitor``; the figures."""
    _env, threads, interop = SETTINGS[setting]  # the environment is set by the parent
    # torch before impact_graph: importing impact_graph.ingest sets OMP_WAIT_POLICY
    # (setdefault) and would turn "default" into "passive"; libgomp reads its
    # environment once, here, so the parent's environment is what each setting runs with.
    import torch

    if interop is not None:
        torch.set_num_interop_threads(interop)
    if threads is not None:
        torch.set_num_threads(threads)
    sys.setswitchinterval(0.001)  # as the pipeline sets it during a run
    from impact_graph.ingest.embed import Embedder

    calls: list[list[str]] = json.loads(calls_file.read_text(encoding="utf-8"))
    if bound_style:  # all texts in one call: sorted by length over the whole set
        calls = [[t for c in calls for t in c]]
    # the pipeline's batch size (embed.DEFAULT_BATCH_SIZE)
    emb = Embedder()
    emb.encode(["warm-up", "nog een zin om op te warmen"])  # load, first-call set-up
    dp = data_parallel(emb, WORKERS[setting]) if setting in WORKERS else None
    if dp is not None:
        dp.encode(["warm-up", "nog een zin om op te warmen"])  # start the workers
    comp = Competitor(competitor)
    comp.start()
    time.sleep(0.05)
    before, t, sched = task_ns(), time.perf_counter(), Path("/proc/thread-self/schedstat")
    waiting0 = task_ns(1)
    run0, wait0, _ = (int(x) for x in sched.read_text().split())
    parts = CUTS.get(setting)
    for c in calls:
        if parts:
            encode_cut(emb, c, parts)
        elif dp is not None:
            dp.encode(c)
        else:
            emb.encode(c)
    wall = time.perf_counter() - t
    run1, wait1, _ = (int(x) for x in sched.read_text().split())
    after, waiting1 = task_ns(), task_ns(1)
    comp.stop()
    if dp is not None:
        dp.close()
    emb.close()
    model_ns = sum(v - before.get(tid, 0) for tid, v in after.items() if tid != comp.tid)
    comp_ns = after.get(comp.tid or -1, 0) - before.get(comp.tid or -1, 0)
    return {
        "setting": setting,
        "competitor": competitor,
        "bound_style": bound_style,
        "texts": sum(len(c) for c in calls),
        "calls": len(calls),
        "model_cpu_s": model_ns / 1e9,
        "driver_run_s": (run1 - run0) / 1e9,
        "driver_runnable_s": (wait1 - wait0) / 1e9,
        # every model thread's time runnable but waiting for a CPU (dp2: the workers)
        "model_runnable_s": sum(
            v - waiting0.get(tid, 0) for tid, v in waiting1.items() if tid != comp.tid
        )
        / 1e9,
        "competitor_cpu_s": comp_ns / 1e9,
        "competitor_rounds": comp.rounds,
        "wall_s": wall,
        "threads": len(after),
        "torch_threads": torch.get_num_threads(),
        "torch_interop": torch.get_num_interop_threads(),
        "load_1m": os.getloadavg()[0],
    }


# --- the parent: interleaved runs and the table ------------------------------------------


def run_child(setting: str, competitor: str, calls_file: Path, bound_style: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(SETTINGS[setting][0])
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, __file__, "--child", setting, competitor, str(calls_file)]
    if bound_style:
        cmd.append("--bound-style")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"child {setting}/{competitor} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--settings", default="default,passive,spin0,active,threads1,interop1")
    ap.add_argument("--competitors", default="none,extract,nogil")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (interleaved)")
    ap.add_argument("--texts", type=int, default=260, help="first N texts of the ingest's calls")
    ap.add_argument("--calls-file", type=Path, help="reuse (or save) the captured calls here")
    ap.add_argument("--bound-style", action="store_true", help="add the one-call bound rows")
    ap.add_argument("--json", type=Path, help="save every run's figures here")
    ap.add_argument(
        "--child", nargs=3, metavar=("SETTING", "COMPETITOR", "CALLS"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.child:
        setting, competitor, calls = args.child
        print(json.dumps(child(setting, competitor, Path(calls), args.bound_style)))
        return
    settings = [s for s in args.settings.split(",") if s]
    competitors = [c for c in args.competitors.split(",") if c]
    bad = [s for s in settings if s not in SETTINGS] + [
        c for c in competitors if c not in COMPETITORS
    ]
    if bad or args.reps < 1 or args.texts < 1:
        ap.error(
            f"unknown setting/competitor {bad}; settings: {', '.join(SETTINGS)}; competitors: "
            f"{', '.join(COMPETITORS)}; --reps and --texts must be at least 1"
        )
    calls_file = args.calls_file or Path(tempfile.gettempdir()) / f"model-sharing-{args.texts}.json"
    if not calls_file.is_file():
        print(f"capturing the ingest's model calls into {calls_file} ...", flush=True)
        capture_calls(calls_file, args.texts)
    runs: list[dict[str, Any]] = []
    combos = [(s, c, False) for s in settings for c in competitors]
    if args.bound_style:
        combos += [(s, "none", True) for s in settings]
    for rep in range(args.reps):
        for s, c, bound in combos:
            r = run_child(s, c, calls_file, bound)
            r["rep"] = rep
            runs.append(r)
            print(
                f"rep {rep} {s:9} {c:8}{' bound' if bound else ''}: model {r['model_cpu_s']:.2f} "
                f"CPU s, wall {r['wall_s']:.2f} s, competitor {r['competitor_cpu_s']:.2f} CPU s, "
                f"model runnable {r['model_runnable_s']:.2f} s, load {r['load_1m']:.1f}",
                flush=True,
            )
    print("\nmedian model CPU s (x the same setting alone) | median wall s")
    for s in settings:
        alone = (
            statistics.median(
                r["model_cpu_s"]
                for r in runs
                if r["setting"] == s and r["competitor"] == "none" and not r["bound_style"]
            )
            if "none" in competitors
            else None
        )
        cells = []
        for c, bound in [(c, False) for c in competitors] + (
            [("none", True)] if args.bound_style else []
        ):
            sel = [
                r
                for r in runs
                if r["setting"] == s and r["competitor"] == c and r["bound_style"] == bound
            ]
            m = statistics.median(r["model_cpu_s"] for r in sel)
            w = statistics.median(r["wall_s"] for r in sel)
            rel = f" x{m / alone:.2f}" if alone else ""
            cells.append(f"{c}{'(bound)' if bound else ''} {m:.2f}{rel} | {w:.1f}")
        print(f"{s:9} " + "  ".join(cells))
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
