"""Check ``bench/gold/extraction.yaml`` for internal consistency.

Why: the gold is hand-written and is what extraction is scored against, so a typo in a
relation end point or an unknown evidence id would silently turn into a false negative for
every extractor. This script checks what can be checked mechanically:

* every document path exists and its kind matches its folder;
* every relation end point ("Label:name") is listed under that label in the same document;
* relation types and their end-point labels agree with ``ontology/impact.ttl``;
* every ``Effect.evidence`` id is defined, directions are "+", "0" or "-";
* recognition levels are exact ladder strings;
* which names are not prefLabels of the SKOS vocabularies (printed as information, since
  the gold may legitimately use the text's own phrase when no concept fits).

Run: ``.venv/bin/python bench/gold/check_gold.py`` (exit code 1 on errors).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rdflib import OWL, RDF, RDFS, Graph, Namespace
from rdflib.collection import Collection
from rdflib.namespace import SKOS

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "bench" / "gold" / "extraction.yaml"
IG = Namespace("https://w3id.org/impact-graph/ontology#")

LADDER = {
    "Goed beschreven",
    "Goed onderbouwd",
    "Effectief volgens eerste aanwijzingen",
    "Effectief volgens goede aanwijzingen",
    "Effectief volgens sterke aanwijzingen",
}
LABELS = {
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
}
#: Which vocabulary file holds the concepts for each label (for the information listing).
VOCAB_FOR = {
    "Challenge": "challenges.ttl",
    "TargetGroup": "target-groups.ttl",
    "WorkingElement": "working-elements.ttl",
    "Intervention": "interventions.ttl",
    "LegalBasis": "legal-bases.ttl",
}


def _upper_snake(name: str) -> str:
    out = "".join("_" + c if c.isupper() else c for c in name)
    return out.upper().lstrip("_")


def _classes(g: Graph, node: Any) -> set[str]:
    """Local names of a domain/range: one class or an owl:unionOf list."""
    if node is None:
        return {"*"}
    union = g.value(node, OWL.unionOf)
    if union is not None:
        return {str(c).rsplit("#", 1)[-1] for c in Collection(g, union)}
    local = str(node).rsplit("#", 1)[-1]
    return {"*"} if local == "Thing" else {local}


def load_relations() -> dict[str, tuple[set[str], set[str]]]:
    """Relationship type -> (allowed source labels, allowed target labels), from the ontology."""
    g = Graph()
    g.parse(ROOT / "ontology" / "impact.ttl")
    rels: dict[str, tuple[set[str], set[str]]] = {}
    for prop in g.subjects(RDF.type, OWL.ObjectProperty):
        local = str(prop).rsplit("#", 1)[-1]
        rels[_upper_snake(local)] = (
            _classes(g, g.value(prop, RDFS.domain)),
            _classes(g, g.value(prop, RDFS.range)),
        )
    return rels


def load_preflabels() -> dict[str, set[str]]:
    """Vocabulary file name -> Dutch prefLabels in it."""
    out: dict[str, set[str]] = {}
    for f in sorted((ROOT / "ontology" / "vocabularies").glob("*.ttl")):
        g = Graph()
        g.parse(f)
        out[f.name] = {
            str(lbl)
            for lbl in g.objects(None, SKOS.prefLabel)
            if getattr(lbl, "language", "") == "nl"
        }
    return out


def _name(item: Any) -> str:
    return str(item["name"]) if isinstance(item, dict) else str(item)


def check(gold: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Return (errors, information lines)."""
    errors: list[str] = []
    info: list[str] = []
    rels = load_relations()
    pref = load_preflabels()
    for doc in gold.get("documents", []):
        path = doc["path"]
        where = f"{path}:"
        if not (ROOT / path).is_file():
            errors.append(f"{where} file does not exist")
        if Path(path).parent.name != doc.get("kind"):
            errors.append(f"{where} kind '{doc.get('kind')}' does not match its folder")
        ents: dict[str, Any] = doc.get("entities", {}) or {}
        names: dict[str, set[str]] = {}
        for label, items in ents.items():
            if label not in LABELS:
                errors.append(f"{where} unknown entity label {label}")
                continue
            if label in ("Effect", "Evidence"):
                continue
            names[label] = {_name(i) for i in (items or [])}
        evidence_ids = {e["id"] for e in ents.get("Evidence", []) or []}
        for ev in ents.get("Evidence", []) or []:
            if "recognition" in ev and ev["recognition"] not in LADDER:
                errors.append(
                    f"{where} evidence {ev['id']} has unknown level {ev['recognition']!r}"
                )
        for iv in ents.get("Intervention", []) or []:
            if isinstance(iv, dict) and iv.get("rating_level") not in LADDER:
                errors.append(f"{where} intervention {iv['name']} has unknown level")
        for eff in ents.get("Effect", []) or []:
            if eff.get("direction") not in ("+", "0", "-"):
                errors.append(f"{where} effect {eff} has direction {eff.get('direction')!r}")
            if eff.get("intervention") not in names.get("Intervention", set()):
                errors.append(
                    f"{where} effect names unlisted intervention {eff.get('intervention')}"
                )
            if "evidence" in eff and eff["evidence"] not in evidence_ids:
                errors.append(f"{where} effect refers to unknown evidence id {eff['evidence']}")
        for rel in doc.get("relations", []) or []:
            if len(rel) not in (3, 4):
                errors.append(f"{where} relation {rel} needs 3 or 4 items")
                continue
            src, typ, dst = rel[0], rel[1], rel[2]
            if typ not in rels:
                errors.append(f"{where} relation type {typ} is not in the ontology")
                continue
            dom, rng = rels[typ]
            for end, allowed in ((src, dom), (dst, rng)):
                label, _, name = str(end).partition(":")
                if name not in names.get(label, set()):
                    errors.append(f"{where} {end} (in {typ}) is not listed under entities")
                if "*" not in allowed and label not in allowed:
                    errors.append(f"{where} {typ} does not allow {label} (allowed: {allowed})")
        extra = {
            "Effect.outcome": (
                "outcomes.ttl",
                {str(e["outcome"]) for e in ents.get("Effect") or []},
            ),
            "Evidence.type": (
                "evidence-types.ttl",
                {str(e["type"]) for e in ents.get("Evidence") or []},
            ),
        }
        for what, (vocab, used) in extra.items():
            off_terms = sorted(n for n in used if n not in pref.get(vocab, {n}))
            if off_terms:
                info.append(f"{path}: {what} not in {vocab}: {', '.join(off_terms)}")
        for label, vocab in VOCAB_FOR.items():
            labels = pref.get(vocab)
            if not labels:
                continue
            off = sorted(n for n in names.get(label, set()) if n not in labels)
            if off:
                info.append(f"{path}: {label} not in {vocab}: {', '.join(off)}")
    return errors, info


def main() -> int:
    gold = yaml.safe_load(GOLD.read_text(encoding="utf-8"))
    errors, info = check(gold)
    for line in info:
        print("info:", line)
    for line in errors:
        print("error:", line)
    docs = gold.get("documents", [])
    print(f"{len(docs)} documents, {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
