"""The embedding model in a process of its own against in the ingest's process: demo
ingests side by side, CPU seconds and wall.

Why this exists (issue 3): inside the demo ingest the model spent more CPU than alone
(bench/REPORT.md: 15.9 against 14.6 s) and its calls took 11.7 s of wall against 8.0 s.
One suspect was the GIL: torch releases it inside each operation and needs it back
between operations, so the model thread waits for the NLP and write threads' Python
code, and they for it. In a child process (``ProcessEmbedder``: texts in and float32
vectors out through two pipes, the child running the same ``Embedder`` with the same
model, batch size and batching) nothing is shared but the cores. A second suspect was
libgomp's waits: since 2026-11-27 torch's OpenMP workers sleep at once
(``OMP_WAIT_POLICY=PASSIVE``, `embed.TORCH_THREAD_ENV`); a short spin before sleeping
(``GOMP_SPINCOUNT``, ~100,000 spins a millisecond, which libgomp takes over PASSIVE
when both are set) might save the wake-ups.

Each *variant* runs in a fresh Python: ``thread`` (the pipeline's own set-up),
``proc`` (the model in a child process), and either with ``@NAME=VALUE`` environment
added (``thread@GOMP_SPINCOUNT=10000``). One run: a fresh FalkorDB graph and embedding
cache, ``Pipeline.warm_up`` (and the child's start) outside the timings, the demo
ingest, then its bound: the distinct chunk texts encoded by the same embedder (the same
process set-up, as ``bench/ingest.py``'s bound). CPU: this process, the model's child
(/proc) and the FalkorDB server; ``model_cpu`` is the embed thread, torch's workers and
the child. Variants alternate within a round, the order reversed every other round.

Measured 2026-11-28 (demo corpus, 276 chunks, at 0542ea2-9ab72c7; the machine shared with
five other engineers, load 5-15 during the runs, so wall is noise; CPU seconds per run,
"x bound" = the model's CPU inside the ingest over its bound's CPU in the same run)::

    series 2 (this script's prototype), 3 interleaved rounds, load 5.4-15.5:
      thread            model 13.5 13.9 13.8   x bound 1.12 1.14 1.14   total 16.5 16.9 16.6
      proc              model 14.9 17.8 17.5   x bound 1.27 1.24 1.21   total 18.0 22.1 21.6
      thread, spin 10k  model 16.1 18.4 19.0   x bound 1.20 1.35 1.22   total 19.2 22.0 23.1
    series 1 (the prototype), 3-4 runs each, load 8.7-12.3 (another engineer's RDF
    view change landed mid-series: the non-model CPU fell from ~7 to ~3.4 s in both):
      thread            model 19.6 17.9 18.7   x bound 1.24 1.15 1.36
      proc              model 21.6 19.1 17.2 17.5   x bound 1.29 1.16 1.10 1.42
    series 3, this script, 1 round, load 9.2-9.7:
      thread            model 16.5   x bound 1.16   total 20.4   wall 38.6 s
      proc              model 15.6   x bound 1.16   total 19.4   wall 48.6 s
    series 4, this script, 2 rounds, load 10.6 -> 3.5:
      thread            model 13.3 13.5   x bound 1.10 1.05   total 16.1 16.1
      proc              model 14.1 13.8   x bound 1.17 1.22   total 16.8 16.3
      (the last round, load 4.7/3.5: wall 11.1 s proc, 9.2 s thread; ratio 0.72, 0.77)

Neither helped. The model in its own process cost as much CPU (series 1 and 3) or more
(series 2: +3.7 s median, x1.24 its bound against x1.14; series 4: x1.17-1.22 against
x1.05-1.10), and the ingest's own process did not get cheaper for it (read+NLP and
writes the same). Spinning 0.1 ms before sleeping cost more than PASSIVE's immediate
sleep. So the pipeline keeps its model
thread and PASSIVE. The child's vectors were identical to in-process ones (largest
difference 0.0 on 25 mixed texts, a prototype that also served ``max_tokens`` and
``count_tokens`` from a tokenizer the child pickled).

Usage::

    PYTHONPATH=src .venv/bin/python bench/tools/model_process.py thread,proc --rounds 3
    PYTHONPATH=src .venv/bin/python bench/tools/model_process.py \\
        thread,thread@GOMP_SPINCOUNT=10000 --rounds 3 --json /tmp/mp.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parents[1]
_HEADER = struct.Struct("<Q")


def send(stream: IO[bytes], obj: Any) -> None:
    """One message: an 8-byte length and a pickle (our own child on our own pipes)."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """One message; EOFError when the other side closed its end or died."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    data = stream.read(_HEADER.unpack(head)[0])
    return pickle.loads(data)


def _embedder_class() -> Any:
    """``ProcessEmbedder``, built after ``impact_graph.ingest`` is imported (which sets
    torch's OpenMP waits before torch loads)."""
    from impact_graph.ingest.embed import Embedder

    class ProcessEmbedder(Embedder):
        """`Embedder` whose ``encode`` runs in a child process (``worker`` mode of this
        script). The parent loads the model too, for the tokenizer chunking counts with;
        only the child's copy encodes."""

        _proc: subprocess.Popen[bytes] | None = None

        def start(self) -> None:
            if self._proc is None:
                self._proc = subprocess.Popen(
                    [sys.executable, __file__, "worker", self.model_name, str(self.batch_size)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
                assert self._proc.stdout is not None
                receive(self._proc.stdout)  # the child's model is loaded and warm

        def worker_cpu_s(self) -> float:
            return 0.0 if self._proc is None else proc_cpu_s(self._proc.pid)

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            if not texts:
                return np.zeros((0, 0), dtype=np.float32)
            self.start()
            assert self._proc is not None and self._proc.stdin and self._proc.stdout
            t = time.perf_counter()
            self.model_first = t if self.model_first is None else self.model_first
            try:
                send(self._proc.stdin, list(texts))
                return np.asarray(receive(self._proc.stdout), dtype=np.float32)
            finally:
                self.model_last = time.perf_counter()
                self.model_seconds += self.model_last - t
                self.model_calls += 1

        def close(self) -> None:
            if self._proc is not None:
                for stream in (self._proc.stdin, self._proc.stdout):
                    with contextlib.suppress(OSError):
                        stream.close()  # type: ignore[union-attr]
                self._proc.wait(timeout=60)
                self._proc = None
            super().close()

    return ProcessEmbedder


def worker(model: str, batch_size: str) -> None:
    """The child: encode each request with a plain `Embedder` until end of file."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into our replies
    inp = os.fdopen(os.dup(0), "rb")
    import impact_graph.ingest  # noqa: F401 - torch's OpenMP waits, before torch loads
    from impact_graph.ingest.embed import Embedder

    emb = Embedder(model, batch_size=int(batch_size), vocab_vectors=False)
    emb.encode(["warm-up", "nog een zin"])
    send(out, None)
    while True:
        try:
            texts = receive(inp)
        except EOFError:
            return
        send(out, emb.encode(texts))


def proc_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), from /proc."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(variant: str, n: int) -> dict[str, Any]:
    """One demo ingest and its bound with ``variant``'s embedder; CPU and wall."""
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(TOOLS))
    # bench/ingest.py imports impact_graph.ingest, whose __init__ sets torch's waits
    from ingest import chunk_texts
    from write_cost import DEMO, server_cpu_s

    from impact_graph.config import Settings
    from impact_graph.ingest.embed import Embedder
    from impact_graph.ingest.pipeline import Pipeline
    from impact_graph.store.falkordb_server import FalkorDBServer
    from impact_graph.store.falkordb_store import FalkorDBStore

    base = variant.split("@")[0]
    work = Path(tempfile.mkdtemp(prefix="model-process-"))
    settings = Settings(
        data_dir=work / "data", graph_name=f"model-process-{n}", falkordb_stop_on_close=False
    )
    cls = _embedder_class() if base == "proc" else Embedder
    emb = cls.from_settings(settings, batch_size=16)
    child = getattr(emb, "worker_cpu_s", lambda: 0.0)
    try:
        pipe = Pipeline(settings, embedder=emb)
        store = pipe.store
        inner = getattr(store, "inner", store)
        store.clear()
        spid = (
            inner.server.read_pid() if isinstance(inner, FalkorDBStore) and inner.server else None
        )
        pipe.warm_up()
        if base == "proc":
            emb.start()
        s0, c0, p0, w0 = server_cpu_s(spid), child(), time.process_time(), time.perf_counter()
        rep = pipe.run([str(DEMO)], progress=False)
        w1, p1, c1, s1 = time.perf_counter(), time.process_time(), child(), server_cpu_s(spid)
        t = pipe.times
        named = sum(t.thread_cpu.values())
        texts = chunk_texts(settings)
        distinct = list(dict.fromkeys(texts))
        b0, bc0, bp0 = time.perf_counter(), child(), time.process_time()
        emb.encode(distinct)
        bound_wall = time.perf_counter() - b0
        bound_cpu = time.process_time() - bp0 + child() - bc0
        out = {
            "variant": variant,
            "docs": rep.processed,
            "failed": rep.failed,
            "chunks": rep.chunks,
            "wall_s": round(w1 - w0, 3),
            "process_cpu_s": round(p1 - p0, 3),
            "child_cpu_s": round(c1 - c0, 3),
            "server_cpu_s": round(s1 - s0, 3),
            "total_cpu_s": round(p1 - p0 + c1 - c0 + s1 - s0, 3),
            "model_cpu_s": round(
                c1 - c0 + t.thread_cpu.get("embed", 0.0) + max(0.0, p1 - p0 - named), 3
            ),
            "main_cpu_s": round(t.thread_cpu.get("main", 0.0), 3),
            "write_cpu_s": round(t.thread_cpu.get("write", 0.0), 3),
            "model_busy_s": round(t.model_busy_s, 3),
            "bound_wall_s": round(bound_wall, 3),
            "bound_cpu_s": round(bound_cpu, 3),
            "ratio": round(rep.chunks / (w1 - w0) / (len(texts) / bound_wall), 3),
            "load_1m": os.getloadavg()[0],
        }
        out["model_to_bound_cpu"] = round(out["model_cpu_s"] / bound_cpu, 3)
        store.clear()
        pipe.close()
    finally:
        emb.close()
        FalkorDBServer(settings.data_path).stop(compact=False)  # this run's own server
        shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    if sys.argv[1:2] == ["worker"]:
        worker(*sys.argv[2:4])
        return
    if sys.argv[1:2] == ["one"]:
        print("RESULT " + json.dumps(one_run(sys.argv[2], int(sys.argv[3]))), flush=True)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("variants", help="comma-separated: thread, proc, with @NAME=VALUE env")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also save every run here")
    args = ap.parse_args()
    variants = args.variants.split(",")
    for v in variants:
        if v.split("@")[0] not in ("thread", "proc"):
            ap.error(f"variant {v!r}: must start with thread or proc")
    runs: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for v in variants if r % 2 == 0 else variants[::-1]:
            extra = dict(kv.split("=", 1) for kv in v.split("@")[1:])
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", **extra}
            res = subprocess.run(
                [sys.executable, __file__, "one", v, str(r)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            found = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
            if not found:
                print(f"{v} round {r} failed:\n{res.stderr[-3000:]}", file=sys.stderr)
                continue
            runs.append(json.loads(found[0].removeprefix("RESULT ")))
            print(json.dumps(runs[-1]), flush=True)
    for v in variants:
        mine = [d for d in runs if d["variant"] == v]
        if mine:
            keys = [k for k, x in mine[0].items() if isinstance(x, int | float)]
            print(v, {k: round(statistics.median(d[k] for d in mine), 3) for k in keys})
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
