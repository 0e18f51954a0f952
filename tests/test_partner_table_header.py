"""A partner table's header row is no partner, even when a header cell says more than
one word: the demo's "| Partner | Rol in 2025 |" made an Actor "Partner" that took part
in Leefbaar Bergveld, on its page and in its network focus view (H47's walk-through)."""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph.ingest.nlp import extract
from impact_graph.vocab import load_vocabulary
from tests.test_nlp import md_doc

PLAN = """# Programma Buurt Samen

## Met wie

| Partner | Rol in 2025 |
|---|---|
| Woningstichting Kustwonen | signaleren |
| Dorpsraad Zuid | bewonersbudget |
"""


@pytest.mark.parametrize("header", ["| Partner | Rol in 2025 |", "| Partner | Rol |"])
def test_a_header_row_makes_no_partner(tmp_path: Path, header: str) -> None:
    text = PLAN.replace("| Partner | Rol in 2025 |", header)
    doc = md_doc(tmp_path, text, kind="plan", programme="Buurt Samen")
    ents = extract(doc, load_vocabulary()).entities.values()
    actors = {e.name for e in ents if e.label == "Actor"}
    assert "Woningstichting Kustwonen" in actors
    assert not {"Partner", "partner"} & actors, actors
