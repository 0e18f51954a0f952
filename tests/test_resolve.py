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


def _fresh_and_shared(known: dict[str, list[tuple[str, str, list[str]]]], surfaces: list[str]):
    """Resolutions of ``surfaces`` by a resolver over ``known`` and over a copy of it."""
    copy = {label: list(rows) for label, rows in known.items()}
    shared = [Resolver(None, known).resolve("Actor", s) for s in surfaces]
    fresh = [Resolver(None, copy).resolve("Actor", s) for s in surfaces]
    return shared, fresh


def test_known_names_added_between_documents_are_seen() -> None:
    """The pipeline appends each document's entities to one ``known`` mapping; the
    resolver's shared index takes the new rows (it is not rebuilt per document), and
    resolves exactly as a resolver built from scratch on the same names."""
    known: dict[str, list[tuple[str, str, list[str]]]] = {"Actor": []}
    surfaces = ["Stichting Welzijn Wadstde", "SWW", "Zorggroep Duinhoff", "GGD Kustland"]
    first, fresh = _fresh_and_shared(known, surfaces)
    assert first == fresh and all(m.rule == "new" for _, _, m in first)
    known["Actor"].append(("Stichting Welzijn Wadstede", "Stichting Welzijn Wadstede", ["SWW"]))
    known["Actor"].append(("Zorggroep Duinhof", "Zorggroep Duinhof", []))
    second, fresh = _fresh_and_shared(known, surfaces)
    assert second == fresh
    assert [m.rule for _, _, m in second] == ["fuzzy", "normalised", "fuzzy", "new"]
    # A document's own names never leak into the shared index for the next document.
    assert Resolver(None, known).resolve("Actor", "GGD Kustland")[2].rule == "new"


def test_known_names_first_registration_wins_and_edits_rebuild() -> None:
    """Two known rows claiming one normalised name: the first wins, as in one index.
    A list edited in place (not appended to) is re-read, not served stale."""
    known = {"Actor": [("Buurtteam Noord", "Buurtteam Noord", ["BTN"])]}
    known["Actor"].append(("Buurtteam Noord-Oost", "Buurtteam Noord-Oost", ["BTN"]))
    assert Resolver(None, known).resolve("Actor", "btn")[0] == "Buurtteam Noord"
    known["Actor"][1] = ("Buurtteam Zuid", "Buurtteam Zuid", [])
    assert Resolver(None, known).resolve("Actor", "Buurtteam Zuid")[2].rule == "exact"
    known["Actor"].pop()
    assert Resolver(None, known).resolve("Actor", "Buurtteam Zuid")[2].rule == "new"


def test_fuzzy_choices_keep_registration_order_among_equal_scores() -> None:
    """Two known names of different lengths exactly as close to a surface: the first
    registered wins, as with one scan in registration order (the index groups names by
    length, and must not let that grouping reorder them)."""
    surface = "Stichting Welzijn Wadstede Kustland Zuidoostwijkhoekstra"
    longer, shorter = surface + "abcdefgh", surface[:-7]
    scores = {
        fuzz.token_sort_ratio(normalise_name(x), normalise_name(surface)) for x in (longer, shorter)
    }
    assert len(scores) == 1 and scores.pop() >= FUZZY_THRESHOLD  # a true tie
    for first, second in ((longer, shorter), (shorter, longer)):
        known = {"Actor": [(first, first, []), (second, second, [])]}
        key, _, merge = Resolver(None, known).resolve("Actor", surface)
        assert merge.rule == "fuzzy" and key == first
