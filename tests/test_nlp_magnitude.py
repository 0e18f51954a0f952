"""An Effect's magnitude belongs to its own claim, as the source wrote it.

Found through ``impact-graph validate`` on the demo graph: the loneliness effect of
Welzijn op Recept took the "20%" of the GP visits named in the next clause, and a
databank row's "d = 0,3" became "0.3" while the text about the same study said "d = 0,3".
"""

from __future__ import annotations

from pathlib import Path

from impact_graph.ingest.nlp import extract
from impact_graph.ingest.readers import read_path
from impact_graph.vocab import load_vocabulary
from tests.test_nlp import md_doc

TEXT = """# Welzijn op Recept

Een pre-post-meting in een lokale evaluatie (n = 120) liet zien dat Welzijn op Recept
samengaat met minder eenzaamheidsgevoelens en met een daling van het aantal
huisartsbezoeken met 20%. Kanjertraining vermindert pestgedrag (d = 0,3).
"""


def effects(ext) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {k: e.props for (lb, k), e in ext.entities.items() if lb == "Effect"}


def test_a_size_in_the_next_clause_is_not_this_effects(tmp_path: Path) -> None:
    doc = md_doc(tmp_path, TEXT, title='"Welzijn op Recept"', kind="research")
    found = effects(extract(doc, load_vocabulary()))
    lonely = found["Welzijn op Recept → eenzaamheidsgevoelens"]
    assert lonely["direction"] == "−" and "magnitude" not in lonely, lonely
    pesten = next(p for k, p in found.items() if k.startswith("Kanjertraining"))
    assert pesten["magnitude"] == "d = 0,3" and pesten["effect_size"] == 0.3


def test_a_record_keeps_the_size_as_written(tmp_path: Path) -> None:
    f = tmp_path / "export.csv"
    f.write_text(
        "title,intervention,outcome,direction,effect_size\n"
        'Kanjertraining RCT,Kanjertraining,pestgedrag,-,"d = 0,3"\n'
        'CooL,CooL (Coaching op Leefstijl),lichaamsgewicht,-,"-3,9% na twee jaar"\n'
        "Plain,Halt,recidive,-,0.2\n",
        encoding="utf-8",
    )
    vocab = load_vocabulary()
    got = {}
    for doc in read_path(f, root=tmp_path, kind="research"):
        for props in effects(extract(doc, vocab)).values():
            got[doc.title] = (props.get("magnitude"), props.get("effect_size"))
    assert got == {
        "Kanjertraining RCT": ("d = 0,3", 0.3),
        "CooL": ("-3,9% na twee jaar", -3.9),
        "Plain": ("0.2", 0.2),
    }
