"""Extraction quality against the hand-written gold: precision, recall and F1 per type.

Why: the graph is only as good as what the rule-based NLP stage finds in the texts, and
"looks plausible in the demo" hides both misses and over-extraction. This benchmark runs
the real extraction, in-process and without a store, on the documents annotated in
``bench/gold/extraction.yaml`` and compares what it finds with what a careful human
found, per entity type and per relation type.

What runs is what ingest runs: the reader (``readers.read_file`` with the demo folder as
root), pseudonymisation where the pipeline applies it (``pipeline.needs_pseudonymisation``,
with a fixed benchmark secret), then ``nlp.extract(doc, vocab, known={})``. Each document
is extracted on its own (no names carried over from other documents), so figures do not
depend on the order of files.

Matching (per document, per type, one-to-one):

1. **Canonical name.** Both sides go through the project's own normalisation: a name that
   the resolver maps to a vocabulary concept of that class becomes the concept's Dutch
   prefLabel, anything else ``resolve.normalise_name`` (folded, punctuation as spaces, no
   leading article). Gold names that collapse to one canonical name count once.
2. **Fuzzy fallback.** Names still unmatched are paired greedily by rapidfuzz
   ``token_sort_ratio`` >= `FUZZY` (92, the resolver's threshold) on the canonical
   names. This forgives a dropped article or a plural, not a different entity: a wrong
   entity is a false positive.

Special cases, each stated where it is scored:

* **Effect** = (intervention, outcome, direction). The intervention must be the one the
  Intervention matching paired; the outcome may equal the gold ``outcome`` or its
  ``measure`` (canonical through the outcomes vocabulary, or fuzzy >= 92); direction must
  be equal ("−" and "-" are the same).
* **Evidence** is matched on its type (evidence-types prefLabel), as a multiset.
* **Goal** matches when the years agree (where the gold gives one) and every number of the
  gold ``target_value`` occurs in the extracted goal text, or when the names are fuzzy
  equal (``token_set_ratio`` >= 92).
* **Relations**: the gold relation types (ADDRESSES, TARGETS, HAS_ELEMENT, USES,
  PARTICIPATES_IN, DELIVERS, FUNDS, COLLABORATES_WITH, IN_AREA, GROUNDED_IN, HAS_GOAL);
  an extracted relation is true when both ends were paired with gold entities and the gold
  lists that triple (COLLABORATES_WITH in either direction). Relations from or to the
  Document, HAS_EFFECT and SUPPORTED_BY (implied by Effects) are not scored.
* A label a gold document does not list counts as "none expected" there (strict).

Run::

    PYTHONPATH=src .venv/bin/python bench/extraction.py [--verbose] [--json FILE]

``--verbose`` prints, per document, the missed and spurious names: the work list.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz
from rich.markup import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_common_args, console, machine_info, make_table, save_json, timed

from impact_graph.ingest.document import Document
from impact_graph.ingest.extraction import EntityRef, Extraction
from impact_graph.ingest.resolve import FUZZY_THRESHOLD, Resolver, normalise_name
from impact_graph.vocab import Vocabulary, load_vocabulary

ROOT = Path(__file__).resolve().parent.parent
GOLD = Path(__file__).resolve().parent / "gold" / "extraction.yaml"
DEMO = ROOT / "ingest" / "demo"
#: rapidfuzz score (0-100) at or above which two canonical names are the same entity: the
#: resolver's own threshold (92), because at 90 "GGD Lindenhoven-West" would count as
#: "GGD Lindenhoven-Oost" (token_sort_ratio 90.0, see ``ingest.resolve``).
FUZZY = FUZZY_THRESHOLD
#: Secret for pseudonymisation in the benchmark (fixed: results must be reproducible).
SECRET = "bench-extraction"

#: Scored entity types, in report order.
ENTITY_TYPES = (
    "Challenge",
    "TargetGroup",
    "Actor",
    "Intervention",
    "WorkingElement",
    "Effect",
    "Evidence",
    "Programme",
    "Area",
    "LegalBasis",
    "Goal",
)
#: The types the issue sets a target for (precision and recall >= 0.8).
GUARDED = ("Challenge", "TargetGroup", "Actor", "Intervention")
#: Relation types the gold annotates.
RELATION_TYPES = (
    "ADDRESSES",
    "TARGETS",
    "HAS_ELEMENT",
    "USES",
    "PARTICIPATES_IN",
    "DELIVERS",
    "FUNDS",
    "COLLABORATES_WITH",
    "IN_AREA",
    "GROUNDED_IN",
    "HAS_GOAL",
)
SYMMETRIC = frozenset({"COLLABORATES_WITH"})
_NUM = re.compile(r"\d+(?:[.,]\d+)*")


# --- running the extraction -----------------------------------------------------------


def load_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    """The annotated documents of the gold file."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["documents"])


def read_document(path: Path) -> Document:
    """Read one demo file and pseudonymise it where the pipeline would."""
    from impact_graph.ingest.pipeline import needs_pseudonymisation
    from impact_graph.ingest.privacy import Pseudonymiser, pseudonymise_document
    from impact_graph.ingest.readers import read_path

    docs = read_path(path, root=DEMO)
    if len(docs) != 1:
        raise ValueError(f"{path} gave {len(docs)} documents; the gold annotates whole files")
    doc = docs[0]
    if needs_pseudonymisation(doc):
        doc = pseudonymise_document(doc, Pseudonymiser(SECRET))
    return doc


def extract_file(path: Path, vocab: Vocabulary) -> Extraction:
    """Read, pseudonymise (as the pipeline decides) and extract one demo file."""
    from impact_graph.ingest.nlp import extract

    return extract(read_document(path), vocab, {})


def warm_up(vocab: Vocabulary) -> None:
    """Build the spaCy pipelines and vocabulary matchers once, outside the timing."""
    from impact_graph.ingest.nlp import _matchers, pipeline

    for lang in ("nl", "en"):
        pipeline(lang)
        _matchers(lang, vocab)


# --- canonical names and one-to-one matching ----------------------------------------------


class Canon:
    """Canonical names per class: the vocabulary prefLabel, else ``normalise_name``.

    A gold name is looked up as written and, failing that, by the word stems the
    extraction's stem matcher uses (only when the stems name one concept), so a gold
    "huisartsenpraktijken" is the concept of "huisartsenpraktijk" exactly as the
    extraction's match of the same word is.
    """

    def __init__(self, vocab: Vocabulary) -> None:
        from impact_graph.ingest.nlp import stem

        self.vocab = vocab
        self.resolver = Resolver(vocab)
        self._stem = stem
        self._stems: dict[tuple[str, tuple[str, ...]], set[str]] = {}
        for c in vocab.concepts.values():
            if c.pg_label is None:
                continue
            for lab in c.labels:
                key = (c.pg_label, self._stem_key(lab))
                self._stems.setdefault(key, set()).add(c.iri)

    def _stem_key(self, text: str) -> tuple[str, ...]:
        return tuple(self._stem(w) for w in normalise_name(text).split())

    def name(self, label: str, name: str) -> str:
        c = self.resolver.concept(label, name)
        if c is None:
            iris = self._stems.get((label, self._stem_key(name)), set())
            if len(iris) == 1:
                c = self.vocab.concepts[next(iter(iris))]
        if c is not None:
            return normalise_name(c.pref_nl or c.pref_en)
        return normalise_name(name)

    def outcome(self, name: str) -> str:
        for scheme in ("outcomes", "challenges"):
            found = self.vocab.lookup(name, scheme=scheme)
            if found:
                return normalise_name(found[0].pref_nl or found[0].pref_en)
        return normalise_name(name)


@dataclass(slots=True)
class Score:
    """Counts of one type (or relation type), with the names behind them."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    missed: list[str] = field(default_factory=list)
    spurious: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        if p != p or r != r or p + r == 0:
            return float("nan") if (p != p or r != r) else 0.0
        return 2 * p * r / (p + r)

    def summary(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
        }


def pair(
    gold: dict[str, str],
    pred: dict[str, str],
    same: Callable[[str, str], float] | None = None,
) -> dict[str, str]:
    """One-to-one pairing of canonical names: ``{pred canonical: gold canonical}``.

    ``gold`` and ``pred`` map canonical name -> display name. Equal canonical names pair
    first; then the rest greedily by ``same`` (default: token_sort_ratio), best first,
    at or above `FUZZY`.
    """
    out = {p: p for p in pred if p in gold}
    rest_g = [g for g in gold if g not in out.values()]
    rest_p = [p for p in pred if p not in out]
    scorer = same or (lambda a, b: fuzz.token_sort_ratio(a, b))
    scored = sorted(
        ((scorer(p, g), p, g) for p in rest_p for g in rest_g),
        key=lambda t: -t[0],
    )
    used_g: set[str] = set()
    for s, p, g in scored:
        if s < FUZZY:
            break
        if p in out or g in used_g:
            continue
        out[p] = g
        used_g.add(g)
    return out


def _name(item: Any) -> str:
    return str(item["name"]) if isinstance(item, dict) else str(item)


def _dir(d: Any) -> str:
    return {"−": "-", "–": "-"}.get(str(d), str(d))


# --- scoring one document -------------------------------------------------------------------


@dataclass(slots=True)
class DocScore:
    path: str
    types: dict[str, Score] = field(default_factory=dict)
    relations: dict[str, Score] = field(default_factory=dict)


def score_document(gdoc: dict[str, Any], ext: Extraction, canon: Canon) -> DocScore:
    """Compare one document's extraction with its gold annotation."""
    out = DocScore(gdoc["path"])
    ents: dict[str, Any] = gdoc.get("entities") or {}
    # gold "Label:name" -> canonical name; pred ref -> gold canonical name (when paired)
    gold_canon: dict[str, dict[str, str]] = {}
    ref_to_gold: dict[EntityRef, str] = {}
    pred_by_label: dict[str, list[EntityRef]] = {}
    for ref in ext.entities:
        pred_by_label.setdefault(ref[0], []).append(ref)

    for label in ENTITY_TYPES:
        if label in ("Effect", "Evidence", "Goal"):
            continue
        gold_items = [_name(i) for i in ents.get(label) or []]
        g = {canon.name(label, n): n for n in gold_items}
        gold_canon[label] = {n: canon.name(label, n) for n in gold_items}
        refs = pred_by_label.get(label, [])
        p: dict[str, str] = {}
        canon_of_ref: dict[EntityRef, str] = {}
        for ref in refs:
            ent = ext.entities[ref]
            c = canon.name(label, ent.name)
            canon_of_ref[ref] = c
            p.setdefault(c, ent.name)
        pairs = pair(g, p)
        for ref, c in canon_of_ref.items():
            if c in pairs:
                ref_to_gold[ref] = pairs[c]
        out.types[label] = Score(
            tp=len(pairs),
            fp=len(p) - len(pairs),
            fn=len(g) - len(pairs),
            missed=sorted(g[x] for x in g if x not in pairs.values()),
            spurious=sorted(p[x] for x in p if x not in pairs),
        )

    out.types["Goal"] = _score_goals(ents.get("Goal") or [], ext, pred_by_label.get("Goal", []))
    out.types["Evidence"] = _score_evidence(
        ents.get("Evidence") or [], ext, pred_by_label.get("Evidence", []), canon
    )
    out.types["Effect"] = _score_effects(ents.get("Effect") or [], ext, ref_to_gold, canon)
    out.relations = _score_relations(gdoc, ext, gold_canon, ref_to_gold)
    return out


def _score_goals(gold: list[dict[str, Any]], ext: Extraction, refs: list[EntityRef]) -> Score:
    """Goals: same year (where the gold gives one) and the target's numbers in the text,
    or fuzzy-equal names (token_set_ratio, since goal sentences carry extra words)."""
    g = {normalise_name(x["name"]): x for x in gold}
    p = {normalise_name(ext.entities[r].name): ext.entities[r] for r in refs}

    def same(pn: str, gn: str) -> float:
        gi, pe = g[gn], p[pn]
        text = normalise_name(str(pe.props.get("text") or pe.name))
        if gi.get("year") is not None and pe.props.get("year") not in (None, gi["year"]):
            return 0.0
        target = str(gi.get("target_value", ""))
        nums = [n.replace(".", "").replace(",", "") for n in _NUM.findall(target)]
        have = {n.replace(".", "").replace(",", "") for n in _NUM.findall(text)}
        if nums and all(n in have for n in nums):
            return 100.0
        return fuzz.token_set_ratio(pn, gn)

    pairs = pair({k: k for k in g}, {k: k for k in p}, same)
    return Score(
        tp=len(pairs),
        fp=len(p) - len(pairs),
        fn=len(g) - len(pairs),
        missed=sorted(g[x]["name"] for x in g if x not in pairs.values()),
        spurious=sorted(p[x].name for x in p if x not in pairs),
    )


def _score_evidence(
    gold: list[dict[str, Any]], ext: Extraction, refs: list[EntityRef], canon: Canon
) -> Score:
    """Evidence by type, as a multiset (two pre-post studies are two)."""

    def etype(name: str) -> str:
        found = canon.vocab.lookup(name, scheme="evidence-types")
        return normalise_name(found[0].pref_nl if found else name)

    g = Counter(etype(str(e["type"])) for e in gold)
    p = Counter(
        etype(str(ext.entities[r].props.get("evidence_type") or ext.entities[r].name)) for r in refs
    )
    tp = g & p
    return Score(
        tp=sum(tp.values()),
        fp=sum((p - g).values()),
        fn=sum((g - p).values()),
        missed=sorted((g - p).elements()),
        spurious=sorted((p - g).elements()),
    )


def _score_effects(
    gold: list[dict[str, Any]], ext: Extraction, ref_to_gold: dict[EntityRef, str], canon: Canon
) -> Score:
    """Effects as (intervention, outcome, direction); outcome may match the gold measure."""
    owner: dict[EntityRef, EntityRef] = {
        r.dst: r.src for r in ext.relations if r.type == "HAS_EFFECT"
    }
    preds: list[tuple[str, str, str, str]] = []  # (gold iv canon or "", outcome, dir, shown)
    for ref, ent in ext.entities.items():
        if ref[0] != "Effect":
            continue
        iv = owner.get(ref)
        iv_c = ref_to_gold.get(iv, "") if iv else ""
        outcome = str(ent.props.get("outcome", ""))
        d = _dir(ent.props.get("direction", ""))
        preds.append((iv_c, canon.outcome(outcome), d, f"{ent.name} ({d})"))
    golds = []
    for e in gold:
        iv_c = canon.name("Intervention", str(e["intervention"]))
        outs = {canon.outcome(str(e["outcome"]))}
        if e.get("measure"):
            outs.add(canon.outcome(str(e["measure"])))
        shown = f"{e['intervention']} → {e['outcome']} ({e['direction']})"
        golds.append((iv_c, outs, _dir(e["direction"]), shown))
    used: set[int] = set()
    tp = 0
    spurious: list[str] = []
    for iv_c, out_c, d, shown in preds:
        hit = None
        for i, (giv, gouts, gd, _s) in enumerate(golds):
            if i in used or giv != iv_c or gd != d:
                continue
            if out_c in gouts or any(fuzz.token_sort_ratio(out_c, o) >= FUZZY for o in gouts):
                hit = i
                break
        if hit is None:
            spurious.append(shown)
        else:
            used.add(hit)
            tp += 1
    missed = [golds[i][3] for i in range(len(golds)) if i not in used]
    return Score(tp, len(spurious), len(missed), sorted(missed), sorted(spurious))


def _score_relations(
    gdoc: dict[str, Any],
    ext: Extraction,
    gold_canon: dict[str, dict[str, str]],
    ref_to_gold: dict[EntityRef, str],
) -> dict[str, Score]:
    def key(src: tuple[str, str], typ: str, dst: tuple[str, str]) -> tuple[Any, ...]:
        if typ in SYMMETRIC and dst < src:
            src, dst = dst, src
        return (src, typ, dst)

    gold: dict[tuple[Any, ...], str] = {}
    for rel in gdoc.get("relations") or []:
        src, typ, dst = str(rel[0]), str(rel[1]), str(rel[2])
        sl, _, sn = src.partition(":")
        dl, _, dn = dst.partition(":")
        if sl in ("Effect", "Evidence", "Goal") or dl in ("Effect", "Evidence"):
            continue  # not canonicalised by name (Goal ends are scored via Goal matching)
        s = (sl, gold_canon.get(sl, {}).get(sn, normalise_name(sn)))
        d = (dl, gold_canon.get(dl, {}).get(dn, normalise_name(dn)))
        if dl == "Goal":
            d = (dl, "goal:" + normalise_name(dn))
        gold[key(s, typ, d)] = f"{src} {typ} {dst}"
    goal_pairs = _goal_ref_pairs(gdoc, ext)
    pred: dict[tuple[Any, ...], str] = {}
    for r in ext.relations:
        if r.type not in RELATION_TYPES or r.src[0] == "Document":
            continue
        s = (r.src[0], ref_to_gold.get(r.src, "?" + r.src[1]))
        if r.dst[0] == "Goal":
            g = goal_pairs.get(r.dst)
            d = (r.dst[0], "goal:" + g if g else "?" + r.dst[1])
        else:
            d = (r.dst[0], ref_to_gold.get(r.dst, "?" + r.dst[1]))
        src_name, dst_name = ext.entities[r.src].name, ext.entities[r.dst].name
        shown = f"{r.src[0]}:{src_name} {r.type} {r.dst[0]}:{dst_name}"
        pred.setdefault(key(s, r.type, d), shown)
    out: dict[str, Score] = {t: Score() for t in RELATION_TYPES}
    for k, shown in pred.items():
        sc = out[k[1]]
        if k in gold:
            sc.tp += 1
        else:
            sc.fp += 1
            sc.spurious.append(shown)
    for k, shown in gold.items():
        if k not in pred:
            out[k[1]].fn += 1
            out[k[1]].missed.append(shown)
    return out


def _goal_ref_pairs(gdoc: dict[str, Any], ext: Extraction) -> dict[EntityRef, str]:
    """Extracted Goal ref -> normalised gold goal name, with the Goal matching rule."""
    gold = (gdoc.get("entities") or {}).get("Goal") or []
    refs = [r for r in ext.entities if r[0] == "Goal"]
    if not gold or not refs:
        return {}
    g = {normalise_name(x["name"]): x for x in gold}
    out: dict[EntityRef, str] = {}
    for gn, gi in g.items():
        for r in refs:
            if r in out:
                continue
            sub = _score_goals([gi], ext, [r])
            if sub.tp:
                out[r] = gn
                break
    return out


# --- the whole gold ----------------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    documents: list[DocScore]
    types: dict[str, Score]
    relations: dict[str, Score]
    relations_all: Score
    seconds: float
    words: int


def run(gold_path: Path = GOLD, vocab: Vocabulary | None = None) -> Result:
    """Extract every gold document and score it; totals are micro-averaged."""
    vocab = vocab or load_vocabulary()
    canon = Canon(vocab)
    docs: list[DocScore] = []
    seconds, words = 0.0, 0
    from impact_graph.ingest.nlp import extract

    warm_up(vocab)
    for gdoc in load_gold(gold_path):
        doc = read_document(ROOT / gdoc["path"])
        with timed() as t:
            ext = extract(doc, vocab, {})
        seconds += t.s
        words += len(ext.document.text.split())
        docs.append(score_document(gdoc, ext, canon))
    types = {t: Score() for t in ENTITY_TYPES}
    rels = {t: Score() for t in RELATION_TYPES}
    for d in docs:
        for t, s in d.types.items():
            types[t].add(s)
        for t, s in d.relations.items():
            rels[t].add(s)
    total = Score()
    for s in rels.values():
        total.add(s)
    return Result(docs, types, rels, total, seconds, words)


def _cell(x: float) -> str:
    return "-" if x != x else f"{x:.2f}"


def _rows(table: Any, scores: Iterable[tuple[str, Score]]) -> None:
    for name, s in scores:
        table.add_row(
            name,
            str(s.tp + s.fn),
            str(s.tp + s.fp),
            str(s.tp),
            _cell(s.precision),
            _cell(s.recall),
            _cell(s.f1),
        )


def print_result(res: Result, verbose: bool) -> None:
    cols = ["type", "gold", "found", "TP", "P", "R", "F1"]
    t = make_table(f"Extraction quality, {len(res.documents)} gold documents (entities)", cols)
    _rows(t, res.types.items())
    console.print(t)
    t = make_table("Relations", cols)
    _rows(t, [*res.relations.items(), ("all (micro)", res.relations_all)])
    console.print(t)
    rate = res.words / res.seconds if res.seconds else float("nan")
    console.print(
        f"extraction: {res.words:,} words in {res.seconds:.2f} s ({rate:,.0f} words/s, "
        "extract() only, after building the matchers)"
    )
    if not verbose:
        return
    for d in res.documents:
        console.rule(d.path)
        for name, s in [*d.types.items(), *d.relations.items()]:
            if not (s.missed or s.spurious):
                continue
            console.print(f"[bold]{name}[/bold] TP {s.tp} FP {s.fp} FN {s.fn}")
            for m in s.missed:
                console.print(f"  [red]missed[/red]   {escape(m)}", highlight=False)
            for m in s.spurious:
                console.print(f"  [yellow]spurious[/yellow] {escape(m)}", highlight=False)


def as_json(res: Result) -> dict[str, Any]:
    return {
        "machine": machine_info(),
        "documents": len(res.documents),
        "words": res.words,
        "seconds": round(res.seconds, 3),
        "types": {t: s.summary() for t, s in res.types.items()},
        "relations": {t: s.summary() for t, s in res.relations.items()},
        "relations_all": res.relations_all.summary(),
        "per_document": {
            d.path: {
                "types": {
                    t: {**s.summary(), "missed": s.missed, "spurious": s.spurious}
                    for t, s in d.types.items()
                },
                "relations": {
                    t: {**s.summary(), "missed": s.missed, "spurious": s.spurious}
                    for t, s in d.relations.items()
                },
            }
            for d in res.documents
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--verbose", action="store_true", help="missed/spurious per document")
    parser.add_argument("--gold", type=Path, default=GOLD, help="gold file (default: %(default)s)")
    args = parser.parse_args(argv)
    res = run(args.gold)
    print_result(res, args.verbose)
    if args.json:
        save_json(args.json, as_json(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
