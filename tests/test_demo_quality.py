"""What the demo graph shows users: extraction of the demo corpus itself.

These guard faults a new user saw on the web pages (issue 3, H20's walk-through):
outcomes stored as JSON text, section words glued to place names, one programme split
in two nodes, and effect outcomes cut mid-phrase. They run the real reader and
extraction on the shipped demo files, without a store.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from impact_graph.ingest.extraction import Extraction
from impact_graph.ingest.nlp import extract
from impact_graph.ingest.readers import read_file
from impact_graph.vocab import Vocabulary, load_vocabulary

DEMO = Path(__file__).resolve().parents[1] / "ingest" / "demo"


@cache
def _vocab() -> Vocabulary:
    return load_vocabulary()


@cache
def _extractions(rel: str) -> tuple[Extraction, ...]:
    docs = read_file(DEMO / rel, root=DEMO).documents
    return tuple(extract(d, _vocab(), {}) for d in docs)


def _effects(ext: Extraction, rule: str | None = None) -> dict[str, dict[str, object]]:
    """Outcome → the Effect's props (and rule), of one rule or of all."""
    return {
        str(e.props["outcome"]): {**e.props, "rule": e.rule}
        for e in ext.entities.values()
        if e.label == "Effect" and rule in (None, e.rule)
    }


def test_record_outcome_lists_become_one_effect_each_never_json() -> None:
    exts = _extractions("research/studies.jsonl")
    outcomes = [o for ext in exts for o in _effects(ext)]
    assert outcomes and not [o for o in outcomes if o.lstrip().startswith(("{", "["))]
    by_title = {ext.document.title.split(":")[0]: _effects(ext, "meta:outcome") for ext in exts}
    meta = by_title["Energiecoaches en energiearmoede"]
    assert len(meta) == 3  # gasverbruik, elektriciteitsverbruik, isolatiemaatregel genomen
    assert {p["direction"] for p in meta.values()} == {"−", "0", "+"}
    assert meta["isolatiemaatregel genomen"]["magnitude"] == "19% tegen 6%"
    dual = by_title["Duale trajecten taal en werk voor statushouders in Kustland"]
    assert dual["taalniveau B1"]["direction"] == "0"
    assert dual["betaald werk na 24 maanden"]["effect_size"] == 12.0
