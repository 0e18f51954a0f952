"""Benchmark: the API under load, on loopback, with and without one slow researcher query.

What it does (bounded, 127.0.0.1 only; nothing else is contacted):

1. ingests the demo corpus (``ingest/demo``; ``--quick``: its ``plan`` folder) into a
   temporary data directory with ``impact-graph ingest``, and starts ``impact-graph serve``
   on a free loopback port (researcher time limit ``--query-timeout`` seconds);
2. **quiet**: ``--clients`` (20) concurrent httpx clients in one asyncio loop, each
   picking search / entity page / Cypher / SPARQL requests at random, until
   ``--requests`` requests were sent or ``--seconds`` (60) passed, whichever comes first;
3. **with a slow query**: the same mix, plus one more client that sends, over and over,
   a researcher query that runs into its time limit (a cross product; answered 503
   ``query-timeout``);
4. stops the server and the embedded store and deletes the data directory.

Printed and saved (``--json``): per endpoint and phase the count, errors (any answer that
is not 2xx, or a transport error), p50/p95/max latency and requests/s; per endpoint the
ratio of its p95 with the slow query to the quiet p95.

Targets (from the hardening issue): zero errors; with the slow query in the mix every
other endpoint's p95 within 2x of the quiet figure.

Run: ``python bench/load.py`` (``--quick``: 10 s per phase on a smaller corpus).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _common import (
    Latency,
    add_common_args,
    console,
    fmt,
    machine_info,
    make_table,
    save_json,
    verdict,
)

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DEMO = ROOT / "ingest" / "demo"

TARGET_RATIO = 2.0
ENDPOINTS = ("search", "entity", "cypher", "sparql")
WEIGHTS = (0.35, 0.30, 0.175, 0.175)

QUERIES = [
    "wat helpt tegen eenzaamheid bij ouderen",
    "schoolverzuim thuiszitters",
    "werk voor statushouders",
    "overgewicht bij kinderen",
    "jeugdcriminaliteit voorkomen",
    "leefbaarheid in dorpen",
    "sociaal isolement",
    "buurtbemiddeling",
    "taalmaatjes inburgering",
    "CO2 besparen warmte",
]
CYPHER = [
    "MATCH (i:Intervention)-[:ADDRESSES]->(c:Challenge) RETURN i.name, c.name LIMIT 25",
    "MATCH (a:Actor)-[:PARTICIPATES_IN]->(p:Programme) RETURN p.name, count(a) AS n "
    "ORDER BY n DESC LIMIT 10",
    "MATCH (d:Document) RETURN d.kind, count(*) AS n",
]
SPARQL = [
    "SELECT ?i ?n WHERE { ?i a ig:Intervention ; ig:name ?n } LIMIT 25",
    "SELECT ?p (COUNT(?a) AS ?n) WHERE { ?a ig:participatesIn ?p } GROUP BY ?p "
    "ORDER BY DESC(?n) LIMIT 10",
    "SELECT ?k (COUNT(?d) AS ?n) WHERE { ?d a ig:Document ; ig:kind ?k } GROUP BY ?k",
]
#: Slow researcher queries, tried in order until one runs into the time limit.
SLOW = [
    ("sparql", "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"),
    ("cypher", "MATCH (a), (b), (c) RETURN count(*)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "impact_graph.cli", *args]


@dataclass
class Server:
    """``impact-graph serve`` on a temp data dir holding the (ingested) demo corpus."""

    corpus: Path
    query_timeout_s: float
    data: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ig-load-")))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    ingest_s: float = 0.0

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "IMPACT_GRAPH_BACKEND": "falkordb",
            "IMPACT_GRAPH_DATA_DIR": str(self.data),
            "IMPACT_GRAPH_RDF": "oxigraph",
            "IMPACT_GRAPH_QUERY_TIMEOUT_S": str(self.query_timeout_s),
            "IMPACT_GRAPH_PSEUDONYM_SECRET": "load-benchmark",
            "IMPACT_GRAPH_API_READ_KEY_REQUIRED": "false",
        }

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        t0 = time.perf_counter()
        ing = subprocess.run(
            cli("ingest", str(self.corpus), "--no-progress"),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        self.ingest_s = time.perf_counter() - t0
        if ing.returncode not in (0, 1):  # 1: some files failed, the rest is in
            raise RuntimeError(f"ingest failed (exit {ing.returncode}): {ing.stderr[-2000:]}")
        self.proc = subprocess.Popen(
            cli("serve", "--port", str(self.port), "--log-level", "warning"),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"serve exited with {self.proc.returncode}: {err[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError("serve did not answer /health within 180 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(
            cli("db", "stop"), env=self.env, capture_output=True, timeout=120, check=False
        )
        shutil.rmtree(self.data, ignore_errors=True)


@dataclass
class Phase:
    """Latencies and errors per endpoint of one phase."""

    lat: dict[str, Latency] = field(default_factory=lambda: {e: Latency() for e in ENDPOINTS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENDPOINTS, 0))
    error_samples: list[str] = field(default_factory=list)
    slow_statuses: dict[str, int] = field(default_factory=dict)
    slow_lat: Latency = field(default_factory=Latency)
    seconds: float = 0.0
    sent: int = 0

    def summary(self) -> dict[str, Any]:
        per = {}
        for e in ENDPOINTS:
            s = self.lat[e].summary()
            s["max_ms"] = round(max(self.lat[e].samples_ms, default=float("nan")), 3)
            s["errors"] = self.errors[e]
            s["rps"] = round(s["n"] / self.seconds, 2) if self.seconds else None
            per[e] = s
        return {
            "seconds": round(self.seconds, 2),
            "requests": self.sent,
            "errors": sum(self.errors.values()),
            "error_samples": self.error_samples[:10],
            "endpoints": per,
            "slow_query": {**self.slow_lat.summary(), "statuses": self.slow_statuses},
        }


def request_for(kind: str, rng: random.Random, entity_ids: list[str]) -> tuple[str, dict]:
    if kind == "search":
        return "/search", {"q": rng.choice(QUERIES), "limit": 10}
    if kind == "entity":
        return f"/entities/{rng.choice(entity_ids)}", {}
    if kind == "cypher":
        return "/cypher", {"query": rng.choice(CYPHER)}
    return "/sparql", {"query": rng.choice(SPARQL), "format": "json"}


async def worker(
    client: httpx.AsyncClient,
    phase: Phase,
    kinds: list[str],
    weights: list[float],
    entity_ids: list[str],
    budget: list[int],
    deadline: float,
    seed: int,
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        kind = rng.choices(kinds, weights)[0]
        path, params = request_for(kind, rng, entity_ids)
        t0 = time.perf_counter()
        try:
            r = await client.get(path, params=params)
            ok = 200 <= r.status_code < 300
            why = f"{kind} {r.status_code}: {r.text[:160]}"
        except httpx.HTTPError as e:
            ok, why = False, f"{kind} {type(e).__name__}: {e}"
        phase.lat[kind].samples_ms.append((time.perf_counter() - t0) * 1000)
        phase.sent += 1
        if not ok:
            phase.errors[kind] += 1
            phase.error_samples.append(why)


async def slow_worker(
    client: httpx.AsyncClient, phase: Phase, slow: tuple[str, str], deadline: float
) -> None:
    kind, query = slow
    path = "/sparql" if kind == "sparql" else "/cypher"
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            r = await client.get(path, params={"query": query, "format": "json"})
            key = str(r.status_code)
        except httpx.HTTPError as e:
            key = type(e).__name__
        phase.slow_lat.samples_ms.append((time.perf_counter() - t0) * 1000)
        phase.slow_statuses[key] = phase.slow_statuses.get(key, 0) + 1


async def run_phase(
    base: str,
    *,
    clients: int,
    seconds: float,
    requests: int,
    kinds: list[str],
    weights: list[float],
    entity_ids: list[str],
    slow: tuple[str, str] | None,
) -> Phase:
    phase = Phase()
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    async with httpx.AsyncClient(base_url=base, timeout=60.0, limits=limits) as client:
        t0 = time.monotonic()
        deadline = t0 + seconds
        budget = [requests]
        tasks = [
            worker(client, phase, kinds, weights, entity_ids, budget, deadline, seed=i)
            for i in range(clients)
        ]
        if slow is not None:
            tasks.append(slow_worker(client, phase, slow, deadline))
        await asyncio.gather(*tasks)
        phase.seconds = time.monotonic() - t0
    return phase


def preflight(base: str, timeout_s: float) -> tuple[list[str], list[str], tuple[str, str] | None]:
    """Entity ids to ask for, the endpoints this build serves, and a slow query that
    really runs into the time limit (all checked once, before the clock starts)."""
    with httpx.Client(base_url=base, timeout=120) as c:
        paths = set(c.get("/openapi.json").json().get("paths", {}))
        kinds = [k for k in ENDPOINTS if k != "cypher" or "/cypher" in paths]
        ids: list[str] = []
        for q in QUERIES:
            r = c.get("/search", params={"q": q, "limit": 10})  # also warms the model
            r.raise_for_status()
            for item in r.json().get("items", []):
                if isinstance(item, dict) and item.get("id"):
                    ids.append(str(item["id"]))
        r = c.get("/documents", params={"limit": 50})
        ids += [str(d["id"]) for d in r.json().get("items", [])][:20]
        ids = list(dict.fromkeys(ids))
        if not ids:
            raise RuntimeError("the demo corpus gave no entity ids to ask for")
        slow = None
        for kind, query in SLOW:
            if kind not in kinds:
                continue
            path = "/sparql" if kind == "sparql" else "/cypher"
            r = c.get(path, params={"query": query, "format": "json"})
            if "query-timeout" in r.text:  # 422 or 503, by version
                slow = (kind, query)
                break
        # Warm every endpoint once.
        rng = random.Random(0)
        for k in kinds:
            for _ in range(3):
                path, params = request_for(k, rng, ids)
                c.get(path, params=params)
    return ids, kinds, slow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=20_000, help="request budget of each phase")
    parser.add_argument(
        "--query-timeout", type=float, default=2.0, help="researcher query time limit (s)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 10.0)
    corpus = DEMO / "plan" if args.quick else DEMO
    info = machine_info()
    console.print(
        f"Load: {args.clients} clients, {args.seconds:.0f} s per phase (budget "
        f"{args.requests:,} requests), corpus {corpus.relative_to(ROOT)}, load average "
        f"{info['load_avg_1m']}."
    )
    server = Server(corpus, args.query_timeout)
    try:
        server.start()
        console.print(f"Ingested and serving on {server.base} ({server.ingest_s:.0f} s to ingest).")
        ids, kinds, slow = preflight(server.base, args.query_timeout)
        weights = [WEIGHTS[ENDPOINTS.index(k)] for k in kinds]
        common = {
            "clients": args.clients,
            "seconds": args.seconds,
            "requests": args.requests,
            "kinds": kinds,
            "weights": weights,
            "entity_ids": ids,
        }
        quiet = asyncio.run(run_phase(server.base, slow=None, **common))
        loaded = asyncio.run(run_phase(server.base, slow=slow, **common)) if slow else None
    finally:
        server.stop()

    ratios: dict[str, float | None] = {}
    for e in kinds:
        q = quiet.lat[e].p95
        ratios[e] = round(loaded.lat[e].p95 / q, 2) if loaded and q == q and q > 0 else None
    for title, ph in (("quiet", quiet), ("with one slow query", loaded)):
        if ph is None:
            continue
        t = make_table(
            f"Load, {title}: {ph.sent:,} requests in {ph.seconds:.1f} s",
            ["endpoint", "n", "errors", "p50", "p95", "max", "req/s"],
        )
        for e in kinds:
            lat = ph.lat[e]
            t.add_row(
                e,
                f"{len(lat.samples_ms):,}",
                str(ph.errors[e]),
                fmt(lat.p50, "ms"),
                fmt(lat.p95, "ms"),
                fmt(max(lat.samples_ms, default=float("nan")), "ms"),
                fmt(len(lat.samples_ms) / ph.seconds if ph.seconds else None),
            )
        console.print(t)
        for s in ph.error_samples[:5]:
            console.print(f"  error: {s}", highlight=False)
    if loaded is not None and slow is not None:
        t = make_table(
            f"p95 with one slow {slow[0]} query (time limit {args.query_timeout:g} s) vs quiet",
            ["endpoint", "quiet p95", "slow-mix p95", "ratio", "target", "holds"],
        )
        for e in kinds:
            r = ratios[e]
            t.add_row(
                e,
                fmt(quiet.lat[e].p95, "ms"),
                fmt(loaded.lat[e].p95, "ms"),
                fmt(r, "x", 2),
                f"<= {TARGET_RATIO:g}x",
                verdict(None if r is None else r <= TARGET_RATIO),
            )
        console.print(t)
        console.print(
            f"slow query answers: {loaded.slow_statuses} (p50 {fmt(loaded.slow_lat.p50, 'ms')})",
            highlight=False,
        )
    else:
        console.print("No slow query ran into the time limit; the slow-mix phase was skipped.")
    missing = [e for e in ENDPOINTS if e not in kinds]
    if missing:
        console.print(f"Not served by this build (skipped): {', '.join(missing)}.")
    errors = sum(quiet.errors.values()) + (sum(loaded.errors.values()) if loaded else 0)
    console.print(f"errors: {errors} (target 0) {verdict(errors == 0)}")

    if args.json:
        save_json(
            args.json,
            {
                "benchmark": "load",
                "machine": info,
                "settings": {
                    "clients": args.clients,
                    "seconds": args.seconds,
                    "requests": args.requests,
                    "query_timeout_s": args.query_timeout,
                    "corpus": str(corpus.relative_to(ROOT)),
                    "quick": args.quick,
                    "ingest_s": round(server.ingest_s, 1),
                },
                "endpoints": kinds,
                "skipped_endpoints": missing,
                "slow_query": {"kind": slow[0], "query": slow[1]} if slow else None,
                "quiet": quiet.summary(),
                "slow_mix": loaded.summary() if loaded else None,
                "p95_ratio": ratios,
                "targets": {"errors": 0, "p95_ratio_max": TARGET_RATIO},
                "errors": errors,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
