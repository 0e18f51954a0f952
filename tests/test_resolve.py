"""Entity resolution: every rule with its explanation, and the fuzzy threshold's pairs."""

from __future__ import annotations

import pytest
from rapidfuzz import fuzz

from impact_graph.ingest.resolve import FUZZY_THRESHOLD, Resolver, normalise_name
from impact_graph.vocab import Vocabulary, load_vocabulary


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def test_normalisation_case_accents_hyphens_articles() -> None:
    assert normalise_name("welzijn-op-recept") == normalise_name("Welzijn op Recept")
    assert normalise_name("Utrecht (gemeente)") == normalise_name("gemeente Utrecht")
    assert normalise_name("Gemeente Utrecht") == normalise_name("gemeente  Utrecht")
    assert normalise_name("de buurtkamer") == normalise_name("Buurtkamer")
    assert normalise_name("het Buurthuis") == normalise_name("buurthuis")
    assert normalise_name("Cliëntondersteuning") == normalise_name("clientondersteuning")


def test_rules_are_explained() -> None:
    r = Resolver()
    key, name, merge = r.resolve("Actor", "Utrecht (gemeente)")
    assert (key, name, merge.rule) == ("gemeente Utrecht", "gemeente Utrecht", "new")
    key2, _, merge2 = r.resolve("Actor", "Gemeente Utrecht")
    assert key2 == key and merge2.rule == "normalised" and merge2.score == 1.0
    key3, _, merge3 = r.resolve("Actor", "gemeente Utrecht")
    assert key3 == key and merge3.rule == "exact"
    # Same name, other class: no merge across labels.
    assert r.resolve("Area", "gemeente Utrecht")[2].rule == "new"


def test_hyphenated_intervention_merges_with_spaced(vocab: Vocabulary) -> None:
    r = Resolver()
    k1, _, _ = r.resolve("Intervention", "Buurt-maaltijd-plus")
    k2, _, m2 = r.resolve("Intervention", "buurt maaltijd plus")
    assert k1 == k2 and m2.rule == "normalised"
    # With the vocabulary, a hyphenated spelling of a known intervention is its prefLabel.
    rv = Resolver(vocab)
    key, name, merge = rv.resolve("Intervention", "welzijn-op-recept")
    assert key == name == "Welzijn op Recept"
    assert merge.rule in ("prefLabel", "altLabel")


def test_altlabel_resolves_to_preflabel(vocab: Vocabulary) -> None:
    r = Resolver(vocab)
    key, name, merge = r.resolve("Challenge", "sociaal isolement")
    assert key == name == "eenzaamheid"
    assert merge.rule == "altLabel" and merge.surface == "sociaal isolement"
    key, _, merge = r.resolve("Challenge", "Eenzaamheid")
    assert key == "eenzaamheid" and merge.rule == "prefLabel"
    # A label of another class's concept does not leak into this class.
    assert r.resolve("Programme", "eenzaamheid")[2].rule == "new"


def test_fuzzy_merge_with_known_store_names_records_score() -> None:
    known = {"Actor": [("Stichting Welzijn Wadstede", "Stichting Welzijn Wadstede", ["SWW"])]}
    r = Resolver(None, known)
    key, _, merge = r.resolve("Actor", "Stichting Welzijn Wadstde")
    assert key == "Stichting Welzijn Wadstede"
    assert merge.rule == "fuzzy" and FUZZY_THRESHOLD / 100 <= merge.score < 1.0
    # Aliases from the store merge exactly.
    assert r.resolve("Actor", "SWW")[0] == "Stichting Welzijn Wadstede"
    # Distinct names stay apart, numbers must agree, short names never fuzzy-merge.
    assert r.resolve("Actor", "Stichting Welzijn Kustland")[2].rule == "new"
    r.resolve("LegalBasis", "Wet inburgering 2021")
    assert r.resolve("LegalBasis", "Wet inburgering 2013")[2].rule == "new"
    r.resolve("Actor", "GGD")
    assert r.resolve("Actor", "GGZ")[2].rule == "new"


POSITIVE = [
    ("Stichting Welzijn Wadstede", "Stichting Welzijn Wadstde"),
    ("Woningstichting Kustwonen", "Woningstichting Kustwoonen"),
    ("Huisartsenpraktijk De Duinrand", "Huisartsenpraktijk Duinrand"),
    ("Hogeschool Kustland", "Hogeschool Kustlnd"),
    ("Zorggroep Duinhof", "Zorggroep Duinhoff"),
    ("Bibliotheek Wadstede", "Wadstede Bibliotheek"),
]
NEGATIVE = [
    ("Stichting Welzijn Wadstede", "Stichting Welzijn Kustland"),
    ("Bibliotheek Wadstede", "Bibliotheek Kustwonen"),
    ("GGD Lindenhoven-Oost", "GGD Lindenhoven-West"),
    ("Zorggroep Duinhof", "Zorggroep Duinrand"),
    ("Hogeschool Kustland", "Hogeschool Kustwonen"),
    ("ROC Kustland", "ROC Kustwind"),
    ("Buurtteam Noord", "Buurtteam Oost"),
]


@pytest.mark.parametrize(("known", "variant"), POSITIVE)
def test_threshold_merges_true_variants(known: str, variant: str) -> None:
    assert fuzz.token_sort_ratio(normalise_name(known), normalise_name(variant)) >= FUZZY_THRESHOLD
    r = Resolver(None, {"Actor": [(known, known, [])]})
    assert r.resolve("Actor", variant)[0] == known


@pytest.mark.parametrize(("known", "other"), NEGATIVE)
def test_threshold_keeps_distinct_names_apart(known: str, other: str) -> None:
    r = Resolver(None, {"Actor": [(known, known, [])]})
    key, _, merge = r.resolve("Actor", other)
    assert key != known and merge.rule == "new"
