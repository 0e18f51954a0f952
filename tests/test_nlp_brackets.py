"""Names with brackets: kept whole and balanced, or an abbreviation kept as an alias.

A new user found "CooL (Coaching op Leefstijl", "Multisysteemtherapie (MST" and
"Langdurige inzet (minimaal vier jaar" in the demo graph (the closing bracket cut off),
"CooL" and "CooL (Coaching op Leefstijl" as two interventions, and partner roles that
began mid-bracket ("zes scholen) – gezonde school"). These run the real extraction.
"""

from __future__ import annotations

import pytest

from impact_graph.ingest.extraction import Extraction
from impact_graph.ingest.nlp import _partner_parts, _split_list, extract
from impact_graph.vocab import Vocabulary, load_vocabulary
from tests.test_nlp import assert_spans_point, find, md_doc

BODY = """# CooL in Noord

CooL (Coaching op Leefstijl) is een gecombineerde leefstijlinterventie. In Noord bieden
twee coaches CooL aan. Jongeren met ernstig gedragsproblemen krijgen Multisysteemtherapie (MST).

## Met wie

- Basisscholen in Lindenhoven-Noord (zes scholen) – gezonde school, beweegonderwijs
- Sportbedrijf Lindenhoven (JOGG-regisseur, buurtsportcoaches) – trekker

## Werkzame elementen

- Langdurige inzet (minimaal vier jaar).
- herstel naar het slachtoffer (excuses, schadevergoeding);
- Schoolbrede afspraken over gedrag ("we vertrouwen elkaar").
"""


@pytest.fixture(scope="module")
def ext(tmp_path_factory: pytest.TempPathFactory) -> Extraction:
    vocab: Vocabulary = load_vocabulary()
    doc = md_doc(
        tmp_path_factory.mktemp("brackets"),
        BODY,
        title='"Programma-aanpak Gezond Noord"',
        kind="plan",
        programme="Gezond Noord",
        intervention='"CooL (Coaching op Leefstijl)"',
    )
    return extract(doc, vocab)


def names(ext: Extraction, label: str) -> set[str]:
    return {e.name for (lb, _), e in ext.entities.items() if lb == label}


def test_no_name_keeps_an_unclosed_bracket(ext: Extraction) -> None:
    for (label, key), ent in ext.entities.items():
        for text in (key, ent.name):
            assert text.count("(") == text.count(")"), (label, text)
    assert_spans_point(ext)


def test_an_abbreviation_in_brackets_is_an_alias(ext: Extraction) -> None:
    interventions = names(ext, "Intervention")
    assert not [n for n in interventions if "Coaching" in n or "(" in n], interventions
    cool = find(ext, "Intervention", "CooL")
    surfaces = {m.surface for m in cool.merges}
    assert "Coaching op Leefstijl" in surfaces  # written as an alias by the mapping
    mst = [n for n in interventions if n.lower().startswith("multisysteemtherapie")]
    assert mst == ["Multisysteemtherapie"], interventions


def test_other_brackets_stay_whole(ext: Extraction) -> None:
    elements = names(ext, "WorkingElement")
    assert "Langdurige inzet (minimaal vier jaar)" in elements, elements
    assert "herstel naar het slachtoffer (excuses, schadevergoeding)" in elements, elements
    assert 'Schoolbrede afspraken over gedrag ("we vertrouwen elkaar")' in elements, elements


def test_partner_roles_start_at_the_separator_outside_brackets(ext: Extraction) -> None:
    roles = {
        r.src[1]: r.props.get("role")
        for r in ext.relations
        if r.type == "PARTICIPATES_IN" and r.dst[0] == "Programme"
    }
    assert roles.get("Sportbedrijf Lindenhoven") == "trekker (JOGG-regisseur, buurtsportcoaches)"
    assert not [r for r in roles.values() if r and r.count("(") != r.count(")")], roles
    assert _partner_parts(
        "Basisscholen in Lindenhoven-Noord (zes scholen) – gezonde school, beweegonderwijs"
    ) == ("Basisscholen in Lindenhoven-Noord", "gezonde school, beweegonderwijs (zes scholen)")
    assert _partner_parts("Politie (wijkagent Bergveld)") == ("Politie", "wijkagent Bergveld")
    # An abbreviation stays with the name, for the alias rule.
    assert _partner_parts("Gemeentelijke Gezondheidsdienst (GGD) – monitor") == (
        "Gemeentelijke Gezondheidsdienst (GGD)",
        "monitor",
    )


def test_lists_do_not_split_inside_brackets() -> None:
    assert [t for _, t in _split_list("herstel (excuses, schadevergoeding), een vast gezicht")] == [
        "herstel (excuses, schadevergoeding)",
        "een vast gezicht",
    ]
