"""Search quality on the demo corpus: nDCG@10, Recall@10 and MRR per arm and fused.

Why: the embedding model is weak on Dutch and the fulltext stemmer misses plurals, so
"what works" search fuses a concept arm (vocabulary expansion), a fulltext arm and a
vector arm. This benchmark shows whether the fusion earns its keep: each arm alone
against the fused and boosted ranking, on Dutch questions phrased as users ask them, with
graded judgements written from the corpus texts (``bench/gold/search_queries.yaml``).
MRR is the mean reciprocal rank of the first direct answer (a result of the question's
highest grade; 0 when none is in the top 10): whether what a user asked for comes first.
A question may also list ``unwanted`` items, known wrong answers that once ranked high
(Kanjertraining for "eenzaamheid"): the fused top ``UNWANTED_K`` must not hold them, and
the benchmark counts those that do.
The questions marked ``set: plain`` (problems described in plain Dutch, few vocabulary
words) are also summed up apart.

It ingests ``ingest/demo/`` into a temporary data directory itself (``--data-dir`` reuses
an existing one, e.g. ``/tmp/search-data``, to skip the ~2 minute ingest). Figures, not a
timed test; results count interventions and working elements only (chunks are evidence).

    PYTHONPATH=src .venv/bin/python bench/search_quality.py [--data-dir DIR] [--quick] [--json F]
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_common_args, console, make_table, save_json, timed

from impact_graph.config import Settings
from impact_graph.model import slugify
from impact_graph.vocab import Vocabulary

ROOT = Path(__file__).resolve().parent.parent
GOLD = Path(__file__).resolve().parent / "gold" / "search_queries.yaml"
DEMO = ROOT / "ingest" / "demo"
K = 10
ARMS: list[str | None] = ["concept", "fulltext", "vector", None]  # None = fused
#: How high an ``unwanted`` item of a question may not rank in the fused results.
UNWANTED_K = 5
#: Slugs shorter than this never match by prefix (too ambiguous).
MIN_PREFIX = 8


def load_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    """The queries with their graded judgements (name or ``id:...`` -> grade) and the
    names of their ``unwanted`` answers."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        {
            "q": e["q"],
            "relevant": dict(e["relevant"]),
            "set": e.get("set", ""),
            "unwanted": list(e.get("unwanted", [])),
        }
        for e in data["queries"]
    ]


_paren_re = re.compile(r"\s*\(.*$")
_article_re = re.compile(r"^(de|het|een)\s+", re.IGNORECASE)


def name_forms(name: str) -> set[str]:
    """Slugs a name is judged by: as written, without a trailing parenthesis (an
    abbreviation or gloss, often cut off by the extractor: "CooL (Coaching op Leefstijl"
    is "CooL") and without a leading article ("Een centrale zorgverlener ...")."""
    plain = _article_re.sub("", name.strip())
    forms = {slugify(name), slugify(plain), slugify(_paren_re.sub("", plain))}
    return {f for f in forms if f}


def concept_aliases(name: str, vocab: Vocabulary | None) -> tuple[str, ...]:
    """Every label of the intervention or working-element concept a result is named
    after: the pipeline merges the phrasings of one element into the concept's node
    ("warme overdracht" and "terugkoppeling aan de verwijzer" become the node of
    "samenwerking tussen professionals", whose altLabels they are), so that node is what
    the texts call by those names, and a judgement written with one of them judges it."""
    if vocab is None:
        return ()
    return tuple(
        label
        for c in vocab.lookup(name)
        if c.pg_label in ("Intervention", "WorkingElement")
        for label in c.labels
    )


def judge_key(
    result_id: str, result_name: str, judged: dict[str, int], vocab: Vocabulary | None = None
) -> str | None:
    """The judged item a result is, if any: same node id, or same name after slugifying
    (equal, or one the other's first whole words, so "Multisysteemtherapie" matches
    "Multisysteemtherapie (MST)" but "Gezonde School" not "Gezonde Schoolkantine"), in
    any of its ``name_forms``; failing that, in those of its concept's labels
    (``concept_aliases``), so its own name always wins over a label it shares."""
    for key in judged:
        if key.startswith("id:") and key[3:] == result_id:
            return key
    own = name_forms(result_name)
    aliases = {f for a in concept_aliases(result_name, vocab) for f in name_forms(a)} - own
    for forms in (own, aliases):
        for key in judged:
            if not key.startswith("id:") and _forms_match(forms, name_forms(key)):
                return key
    return None


def _forms_match(result_forms: set[str], key_forms: set[str]) -> bool:
    """Equal slugs, or one the other's first whole words (``MIN_PREFIX`` or longer)."""
    for rs in result_forms:
        for ks in key_forms:
            if rs == ks:
                return True
            short, long_ = sorted((rs, ks), key=len)
            if len(short) >= MIN_PREFIX and long_.startswith(short + "-"):
                return True
    return False


def ndcg_recall(
    ranked: list[tuple[str, str]],
    judged: dict[str, int],
    k: int = K,
    vocab: Vocabulary | None = None,
) -> tuple[float, float]:
    """nDCG@k (gain 2^grade - 1) and Recall@k (of items graded >= 1); each judged item
    earns its gain once, at its best rank. With ``vocab``, a result also matches the
    judgements that name one of its concept's labels (``concept_aliases``)."""
    got: set[str] = set()
    dcg = 0.0
    for i, (rid, name) in enumerate(ranked[:k], start=1):
        key = judge_key(rid, name, judged, vocab)
        if key is not None and key not in got:
            got.add(key)
            dcg += (2 ** judged[key] - 1) / math.log2(i + 1)
    ideal = sorted(judged.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    relevant = [key for key, g in judged.items() if g >= 1]
    recall = len(got & set(relevant)) / len(relevant) if relevant else 0.0
    return (dcg / idcg if idcg else 0.0), recall


def reciprocal_rank(
    ranked: list[tuple[str, str]],
    judged: dict[str, int],
    k: int = K,
    vocab: Vocabulary | None = None,
) -> float:
    """1 / the rank of the first result judged at the question's highest grade (a direct
    answer) in the top ``k``; 0 when there is none."""
    if not judged:
        return 0.0
    best = max(judged.values())
    for i, (rid, name) in enumerate(ranked[:k], start=1):
        key = judge_key(rid, name, judged, vocab)
        if key is not None and judged[key] == best:
            return 1.0 / i
    return 0.0


def unwanted_hits(
    ranked: list[tuple[str, str]],
    unwanted: list[str],
    k: int = UNWANTED_K,
    vocab: Vocabulary | None = None,
) -> list[str]:
    """The ``unwanted`` names that a result in the top ``k`` is (matched as judgements are)."""
    marks = dict.fromkeys(unwanted, 0)
    found = [judge_key(rid, name, marks, vocab) for rid, name in ranked[:k]]
    return [u for u in unwanted if u in found]


def ingest_demo(settings: Settings) -> float:
    """Ingest the demo corpus; seconds taken."""
    from impact_graph.ingest.pipeline import Pipeline

    with timed() as t, Pipeline(settings) as pipeline:
        result = pipeline.run([DEMO], progress=False)
    if not result.ok:
        console.print("[yellow]some demo files were not ingested; see the report above[/yellow]")
    return t.s


def run(settings: Settings, queries: list[dict[str, Any]], verbose: bool) -> dict[str, Any]:
    from impact_graph.ingest.embed import Embedder
    from impact_graph.search import SearchFilters, SearchRequest, SearchService
    from impact_graph.store import open_store

    store = open_store(settings)
    embedder = Embedder.from_settings(settings)
    svc = SearchService(store, embedder=embedder)
    figures: dict[str, dict[str, list[float]]] = {
        str(a or "fused"): {"ndcg": [], "recall": [], "rr": [], "ms": []} for a in ARMS
    }
    per_query: list[dict[str, Any]] = []
    try:
        for item in queries:
            row: dict[str, Any] = {"q": item["q"], "set": item.get("set", "")}
            for arm in ARMS:
                name = str(arm or "fused")
                req = SearchRequest(
                    q=item["q"],
                    limit=K,
                    filters=SearchFilters(type=["intervention", "working_element"]),
                )
                with timed() as t:
                    res = svc.search(req, arms=[arm] if arm else None)
                ranked = [(r.id, r.name) for r in res.results]
                nd, rc = ndcg_recall(ranked, item["relevant"], vocab=svc.vocab)
                rr = reciprocal_rank(ranked, item["relevant"], vocab=svc.vocab)
                figures[name]["ndcg"].append(nd)
                figures[name]["recall"].append(rc)
                figures[name]["rr"].append(rr)
                figures[name]["ms"].append(t.s * 1000)
                row[name] = round(nd, 3)
                row[f"{name}_rr"] = round(rr, 3)
                row[f"{name}_recall"] = round(rc, 3)
                if arm is None:
                    row["unwanted"] = unwanted_hits(ranked, item["unwanted"], vocab=svc.vocab)
                if verbose and arm is None:
                    console.print(
                        f"[bold]{item['q']}[/bold] nDCG {nd:.2f}: "
                        + "; ".join(n for _, n in ranked[:5])
                    )
            per_query.append(row)
    finally:
        embedder.close()
        store.close()
    summary = {
        arm: {
            "ndcg@10": statistics.fmean(f["ndcg"]),
            "recall@10": statistics.fmean(f["recall"]),
            "mrr": statistics.fmean(f["rr"]),
            "median_ms": statistics.median(f["ms"]),
        }
        for arm, f in figures.items()
    }
    summary["fused"]["unwanted"] = sum(len(r["unwanted"]) for r in per_query)
    plain = [r for r in per_query if r["set"] == "plain"]
    if plain:
        summary["fused (plain)"] = {
            "ndcg@10": statistics.fmean(r["fused"] for r in plain),
            "recall@10": statistics.fmean(r["fused_recall"] for r in plain),
            "mrr": statistics.fmean(r["fused_rr"] for r in plain),
            "median_ms": statistics.median(
                ms
                for r, ms in zip(per_query, figures["fused"]["ms"], strict=True)
                if r["set"] == "plain"
            ),
        }
    return {"summary": summary, "per_query": per_query}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_args(parser)
    parser.add_argument(
        "--data-dir", type=Path, help="Reuse a data dir that holds the ingested demo corpus."
    )
    parser.add_argument("--verbose", action="store_true", help="Print the fused top 5 per query.")
    args = parser.parse_args()
    queries = load_gold()
    if args.quick:
        queries = queries[:8]
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="search-quality-")
        settings = Settings(data_dir=Path(tmp.name), graph_name="search_quality")
        secs = ingest_demo(settings)
        console.print(f"Ingested the demo corpus in {secs:.0f} s.")
    else:
        settings = Settings(data_dir=args.data_dir)
    try:
        out = run(settings, queries, args.verbose)
    finally:
        if tmp is not None:
            from impact_graph.store.falkordb_server import FalkorDBServer

            FalkorDBServer(settings.data_path).stop()
            tmp.cleanup()
    table = make_table(
        f"Search quality on {len(queries)} queries (demo corpus)",
        ["arm", "nDCG@10", "Recall@10", "MRR", "median ms"],
    )
    for arm, s in out["summary"].items():
        table.add_row(
            arm,
            f"{s['ndcg@10']:.3f}",
            f"{s['recall@10']:.3f}",
            f"{s['mrr']:.3f}",
            f"{s['median_ms']:.0f}",
        )
    console.print(table)
    fused = out["summary"]["fused"]["ndcg@10"]
    best_single = max(v["ndcg@10"] for a, v in out["summary"].items() if not a.startswith("fused"))
    console.print(
        f"fused nDCG@10 {fused:.3f} (target >= 0.8: {'met' if fused >= 0.8 else 'NOT met'}); "
        f"best single arm {best_single:.3f} "
        f"(fused better: {'yes' if fused > best_single else 'NO'})"
    )
    bad = [f"{u} for '{r['q']}'" for r in out["per_query"] for u in r["unwanted"]]
    console.print(
        f"unwanted answers in the fused top {UNWANTED_K}: {len(bad)}"
        + (f" ({'; '.join(bad)})" if bad else "")
    )
    if args.json:
        save_json(args.json, {"queries": len(queries), **out})


if __name__ == "__main__":
    main()
