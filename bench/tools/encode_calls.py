"""The model's CPU on the ingest's own encode calls, replayed alone, against other ways
of calling it on the same texts.

Why this exists (issue 3): inside a demo ingest the model spent more CPU than alone on
the same texts (bench/REPORT.md: 17.4 against 15.0 s). Three suspects: the calls
themselves (the ingest hands the model groups of 4-110 texts as documents come, and
sentence-transformers pads each batch of a call to its longest text, so every call
ends in a partial, badly padded batch: the demo's last seven calls of 5-12 texts waste
15-82% of their tokens on padding), the texts mixed in a call (chunks with short
entity texts), and contention with the ingest's other threads.

The calls come from a real ingest: ``bench/ingest.py --calls-out PREFIX`` saves each
model call's texts (cache misses only: what the model really encoded, shipped
vocabulary vectors and cache hits excluded) and the chunk texts its bound encodes.
Each run is a fresh subprocess that loads the model, warms it on two short texts and
then encodes one or more *patterns* in the order given, each timed apart (CPU of every
thread of the process but a competitor's, from /proc/self/task/*/schedstat):

* ``ingest``  -- the captured calls, one ``encode`` each, as the pipeline made them;
* ``bound``   -- what ``bench/ingest.py``'s bound encodes: the chunk texts in one call,
  then the entity texts in one call;
* ``one``     -- every distinct text the ingest encoded, in one call;
* ``split``   -- each captured call as two calls, its chunk texts and its entity texts;

Each pattern runs with sentence-transformers' own batching (a cut every 16 texts of a
call sorted by length: ``batching="count"``, the Embedder before 2026-11-28), or, with
``@budget`` after its name (``ingest@budget``), with `embed.plan_batches`' cut
(``batching="budget"``, the default since).

``--competitors extract`` runs a second thread extracting the demo corpus meanwhile
(``model_sharing.Competitor``): the contention the ingest's reading thread causes.

Measured 2026-11-28 (demo calls of a real ingest at 66a295d: 11 calls, 276 chunks and
44 entity texts; one child, patterns in this order, load 15-20, n=1)::

    ingest 16.88   ingest@budget 15.40   bound 14.44   bound@budget 14.92  CPU s

The ingest's calls alone cost 2.4 CPU s more than the bound's, the same gap as the model
inside the ingest against the bound in bench/REPORT.md (17.4 against 15.0): the extra
was the calls' shape (padding), not contention. The budget cut closes ~60% of it. Not
separated for lack of time: the order effect (``ingest`` ran first) and the
competitor rows; run ``--plans`` in both orders and ``--reps 3`` before leaning on it.

Usage::

    PYTHONPATH=src .venv/bin/python bench/ingest.py --generated 100 --calls-out /tmp/calls
    PYTHONPATH=src .venv/bin/python bench/tools/encode_calls.py /tmp/calls-demo.json \\
        --plans ingest,bound bound,ingest one --reps 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

PATTERNS = ("ingest", "bound", "one", "split")


def pattern_calls(name: str, calls: list[list[str]], chunks: list[str]) -> list[list[str]]:
    """The encode calls of pattern ``name`` over the captured ``calls`` and the bound's
    ``chunks`` (see the module docstring)."""
    chunk_set = set(chunks)
    entities = [t for c in calls for t in c if t not in chunk_set]
    if name == "ingest":
        return calls
    if name == "bound":
        return [c for c in (chunks, entities) if c]
    if name == "one":
        return [list(dict.fromkeys(t for c in calls for t in c))]
    if name == "split":
        out = []
        for c in calls:
            out += [
                part
                for part in ([t for t in c if t in chunk_set], [t for t in c if t not in chunk_set])
                if part
            ]
        return out
    raise ValueError(f"unknown pattern {name!r}; known: {', '.join(PATTERNS)}")


def child(plan: Sequence[str], competitor: str, calls_file: Path) -> list[dict[str, Any]]:
    """Encode the patterns of ``plan`` in order beside ``competitor``; one row each."""
    import torch  # before impact_graph, as in model_sharing (libgomp reads its env once)

    sys.setswitchinterval(0.001)  # as the pipeline sets it during a run
    from model_sharing import Competitor, task_ns

    from impact_graph.ingest.embed import TORCH_THREAD_ENV, Embedder

    data = json.loads(calls_file.read_text(encoding="utf-8"))
    emb = Embedder()
    emb.encode(["warm-up", "nog een zin om op te warmen"])
    rows = []
    comp = Competitor(competitor)
    comp.start()
    time.sleep(0.05)
    try:
        for position, name in enumerate(plan):
            base, _, batching = name.partition("@")
            calls = pattern_calls(base, data["calls"], data["chunk_texts"])
            emb.batching = batching or "count"
            before, t = task_ns(), time.perf_counter()
            for c in calls:
                emb.encode(c)
            wall = time.perf_counter() - t
            after = task_ns()
            model_ns = sum(v - before.get(tid, 0) for tid, v in after.items() if tid != comp.tid)
            print(f"{name}: {model_ns / 1e9:.2f} CPU s", file=sys.stderr, flush=True)
            rows.append(
                {
                    "pattern": name,
                    "position": position,
                    "competitor": competitor,
                    "calls": len(calls),
                    "texts": sum(len(c) for c in calls),
                    "model_cpu_s": model_ns / 1e9,
                    "wall_s": wall,
                    "load_1m": os.getloadavg()[0],
                    "omp": {k: os.environ.get(k) for k in TORCH_THREAD_ENV},
                    "torch_threads": torch.get_num_threads(),
                }
            )
    finally:
        comp.stop()
        emb.close()
    return rows


def run_child(plan: Sequence[str], competitor: str, calls_file: Path) -> list[dict[str, Any]]:
    env = dict(os.environ)
    # torch's OpenMP settings as in an ingest (`embed.TORCH_THREAD_ENV`, set by
    # impact_graph.ingest before torch loads): the child imports torch first, and
    # libgomp's default spin-wait alone cost the model ~3x its CPU on a loaded machine.
    from impact_graph.ingest.embed import TORCH_THREAD_ENV

    for name, value in TORCH_THREAD_ENV.items():
        env.setdefault(name, value)
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = str(root / "src") + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, __file__, str(calls_file), "--child", ",".join(plan), competitor]
    res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"child {plan}/{competitor} failed (its error is above)")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("calls", type=Path, help="a calls file of bench/ingest.py --calls-out")
    ap.add_argument(
        "--plans",
        nargs="+",
        default=["ingest,bound", "bound,ingest"],
        help="each plan is one subprocess encoding these patterns in this order",
    )
    ap.add_argument("--competitors", default="none", help="none, extract, pyloop, nogil")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (interleaved)")
    ap.add_argument("--json", type=Path, help="save every run's figures here")
    ap.add_argument("--child", nargs=2, metavar=("PLAN", "COMPETITOR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        plan, competitor = args.child
        print(json.dumps(child(plan.split(","), competitor, args.calls)))
        return
    if not args.calls.is_file():
        ap.error(f"{args.calls} is not a file; make one with bench/ingest.py --calls-out PREFIX")
    plans = [p.split(",") for p in args.plans]
    bad = sorted(
        {n for p in plans for n in p if n.partition("@")[0] not in PATTERNS}
        | {n for p in plans for n in p if n.partition("@")[2] not in ("", "budget", "count")}
    )
    if bad or args.reps < 1:
        ap.error(f"unknown pattern(s) {bad}; known: {', '.join(PATTERNS)}; --reps at least 1")
    competitors = [c for c in args.competitors.split(",") if c]
    rows: list[dict[str, Any]] = []
    for rep in range(args.reps):
        for plan in plans:
            for comp in competitors:
                for r in run_child(plan, comp, args.calls):
                    r["rep"], r["plan"] = rep, ",".join(plan)
                    rows.append(r)
                    print(
                        f"rep {rep} plan {r['plan']:20} {r['pattern']:7} #{r['position']} "
                        f"{comp:8} {r['calls']:3} calls {r['texts']:4} texts: model "
                        f"{r['model_cpu_s']:6.2f} CPU s, wall {r['wall_s']:6.2f} s, "
                        f"load {r['load_1m']:.1f}",
                        flush=True,
                    )
    print("\nmedian model CPU s by pattern, position in its plan and competitor (n runs)")
    keys = sorted({(r["pattern"], r["position"], r["competitor"]) for r in rows})
    for key in keys:
        sel = [
            r["model_cpu_s"] for r in rows if (r["pattern"], r["position"], r["competitor"]) == key
        ]
        print(f"  {key[0]:7} #{key[1]} {key[2]:8} {statistics.median(sel):6.2f}  (n={len(sel)})")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
