"""Ingest throughput: documents/s and chunks/s against the embedding-bound rate.

Figures, not a timed test. For the demo corpus and for N generated documents it
measures, in one run and on one machine state:

* full ingest (read → pseudonymise → extract → chunk → embed → map → write), on a fresh
  graph and a cold embedding cache;
* the *embedding-bound* rate: the same chunk texts encoded by the model alone (no cache),
  which is the ceiling of ingest on a CPU — target: ingest ≥ 0.8 × that rate;
* re-ingest of the unchanged corpus (skipped by content hash) and its speed-up —
  target: ≥ 50×;
* peak memory (``ru_maxrss``) and the Python heap peak (tracemalloc) of the ingest.

Usage::

    PYTHONPATH=src .venv/bin/python bench/ingest.py --docs 200
    PYTHONPATH=src .venv/bin/python bench/ingest.py --docs 10000 --backend neo4j

Runs on a throw-away data directory and graph (``bench-ingest``), never the user's.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

from rich.console import Console
from rich.table import Table

from impact_graph.config import Settings
from impact_graph.ingest.embed import Embedder
from impact_graph.ingest.pipeline import Pipeline
from impact_graph.ingest.report import IngestReport

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


def chunk_texts(settings: Settings, corpus: Path) -> list[str]:
    """The chunk texts ingest embeds, read back from the graph (same run, same chunks)."""
    from impact_graph.store import open_store

    store = open_store(settings)
    try:
        res = store.read_query("MATCH (c:Chunk) RETURN c.text", timeout_s=120, row_cap=10**7)
    finally:
        store.close()
    return [r[0] for r in res.rows]


def measure(name: str, corpus: Path, settings: Settings, console: Console) -> dict[str, float]:
    from impact_graph.store import open_store

    store = open_store(settings)
    store.clear()
    cache = settings.data_path / "cache" / "embeddings.sqlite"
    if cache.exists():
        cache.unlink()
    embedder = Embedder.from_settings(settings)
    embedder.model  # load outside the timings: a one-off start-up cost  # noqa: B018
    with Pipeline(settings, store=store, embedder=embedder) as pipe:
        first: IngestReport = pipe.run([corpus], progress=False)
        again = pipe.run([corpus], progress=False)
        texts = chunk_texts(settings, corpus)
        # The Python heap peak in a separate dry run (tracemalloc slows the NLP 2-3x, so
        # it must not run during the timed ingest); the cache is warm, the work the same.
        store.clear()
        tracemalloc.start()
        pipe.run([corpus], progress=False, dry_run=True)
        heap_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    t = time.perf_counter()
    embedder.encode(texts)
    embed_s = time.perf_counter() - t
    embedder.close()
    store.close()
    embed_rate = len(texts) / embed_s if embed_s else 0.0
    out = {
        "docs": first.processed,
        "failed": first.failed,
        "chunks": first.chunks,
        "texts_embedded": first.embedded,
        "ingest_s": first.seconds,
        "docs_per_s": first.docs_per_s,
        "chunks_per_s": first.chunks_per_s,
        "embed_bound_chunks_per_s": embed_rate,
        "ratio": first.chunks_per_s / embed_rate if embed_rate else 0.0,
        "reingest_s": again.seconds,
        "speedup": first.seconds / again.seconds if again.seconds else 0.0,
        "unchanged": again.unchanged,
        "heap_peak_mb": heap_peak / 2**20,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **{f"stage_{k}_s": v for k, v in first.stage_seconds.items()},
    }
    console.print(f"[bold]{name}[/bold]: {out}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=10_000, help="generated documents (0: skip)")
    ap.add_argument("--backend", default="falkordb", choices=["falkordb", "neo4j"])
    ap.add_argument("--no-demo", action="store_true", help="skip the demo corpus")
    ap.add_argument("--quick", action="store_true", help="smoke run: 10 generated, no demo")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also save the figures here")
    args = ap.parse_args()
    if args.quick:
        args.docs, args.no_demo = min(args.docs, 10), True
    console = Console(width=200)  # the table has 11 columns
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    settings = Settings(
        backend=args.backend,
        data_dir=work / "data",
        graph_name="bench-ingest",
        falkordb_stop_on_close=False,
    )
    results: dict[str, dict[str, float]] = {}
    try:
        if not args.no_demo:
            results["demo corpus"] = measure("demo corpus", DEMO, settings, console)
        if args.docs:
            gen = work / "generated" / "plan"
            gen.mkdir(parents=True)
            generate(gen, args.docs)
            results[f"{args.docs} generated"] = measure(
                f"{args.docs} generated", gen.parent, settings, console
            )
    finally:
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
        ("re-ingest s", "reingest_s", "{:.2f}"),
        ("speed-up (≥50×)", "speedup", "{:.0f}×"),
        ("heap peak MB", "heap_peak_mb", "{:.0f}"),
        ("max RSS MB", "maxrss_mb", "{:.0f}"),
    ]
    table.add_column("corpus")
    for title, _, _ in cols:
        table.add_column(title, justify="right")
    for name, r in results.items():
        table.add_row(name, *(fmt.format(r[key]) for _, key, fmt in cols))
    console.print(table)
    if args.json:
        from _common import machine_info, save_json

        save_json(args.json, {"machine": machine_info(), "backend": args.backend, **results})


if __name__ == "__main__":
    main()
