"""The SKOS vocabularies: complete labels, consistent hierarchy, working lookups."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Namespace
from rdflib.namespace import SKOS

from impact_graph.ontology import OntologyError, load_graph, load_schema, ontology_dir
from impact_graph.vocab import Vocabulary, fold, load_vocabulary, normalise

V = "https://w3id.org/impact-graph/vocab/"
CH = Namespace(V + "challenges/")


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def test_all_schemes_load(vocab: Vocabulary) -> None:
    expected = {
        "challenges", "target-groups", "actor-roles", "working-elements", "outcomes",
        "evidence-types", "recognition", "legal-bases", "interventions",
    }  # fmt: skip
    assert expected <= set(vocab.schemes)
    for name in expected:
        assert len(vocab.scheme(name)) >= 8, name
    with pytest.raises(KeyError, match="not a concept scheme"):
        vocab.scheme("nope")


def test_seven_themes_with_narrower_concepts(vocab: Vocabulary) -> None:
    themes = {
        "eenzaamheid", "arbeidsparticipatie-statushouders", "schoolverzuim", "overgewicht",
        "jeugdcriminaliteit", "leefbaarheid", "energie-co2",
    }  # fmt: skip
    top = {c.slug for c in vocab.scheme("challenges") if not c.broader}
    assert top == themes
    for slug in themes:
        c = vocab[str(CH[slug])]
        assert len(c.narrower) >= 3, slug
        assert len(c.alt_nl) >= 5, slug
        assert c.pg_label == "Challenge"


def test_every_concept_has_dutch_and_english_labels_and_a_definition(vocab: Vocabulary) -> None:
    missing = [
        c.iri
        for c in vocab.concepts.values()
        if not (c.pref_nl and c.pref_en and c.definition and c.definition_en)
    ]
    assert not missing


def test_pref_labels_are_unique_within_a_scheme(vocab: Vocabulary) -> None:
    for name in vocab.schemes:
        seen: dict[tuple[str, str], str] = {}
        for c in vocab.scheme(name):
            # Recognition levels repeat across rating schemes ("Promising"), so the key
            # there is (rating scheme, level).
            key = (vocab.rating_scheme_of(c) if name == "recognition" else "", c.pref_nl.lower())
            assert key not in seen, f"{name}: '{c.pref_nl}' is the prefLabel of {seen[key]} too"
            seen[key] = c.iri


def test_pref_and_alt_labels_do_not_repeat_within_a_concept(vocab: Vocabulary) -> None:
    for c in vocab.concepts.values():
        for labels in ((c.pref_nl, *c.alt_nl), (c.pref_en, *c.alt_en)):
            keys = [normalise(x) for x in labels]
            assert len(keys) == len(set(keys)), c.iri


def test_alt_label_lookup(vocab: Vocabulary) -> None:
    eenzaamheid = str(CH.eenzaamheid)
    for term in ("alleen voelen", "Zich  alleen voelen", "sociaal isolement", "Vereenzaming"):
        assert [c.iri for c in vocab.lookup(term)] == [eenzaamheid], term
    assert [c.pref_nl for c in vocab.lookup("loneliness")] == ["eenzaamheid"]
    assert [c.pref_nl for c in vocab.lookup("client")] == ["cliënt"]  # without diacritics
    assert [c.pref_nl for c in vocab.lookup("Wmo")] == ["Wmo 2015"]
    assert [c.pref_nl for c in vocab.lookup("Wi2021")] == ["Wet inburgering 2021"]
    assert [c.pref_nl for c in vocab.lookup("Lpw")] == ["Leerplichtwet 1969"]
    assert [c.pref_nl for c in vocab.lookup("MST")] == ["Multisysteemtherapie"]
    assert vocab.lookup("statushouders", scheme="target-groups")[0].pg_label == "TargetGroup"
    assert vocab.lookup("geen bestaand begrip") == []


def test_terms_for_the_phrase_matcher(vocab: Vocabulary) -> None:
    nl = vocab.terms("nl")
    assert nl["alleen voelen"] == [str(CH.eenzaamheid)]
    assert str(CH.eenzaamheid) in nl["loneliness"]  # English names occur in Dutch text
    assert all(k == normalise(k) for k in nl)
    en = vocab.terms("en")
    assert "loneliness" in en and "vereenzaming" not in en
    assert set(nl) <= set(vocab.terms(None))


def test_broader_and_narrower_are_inverse_in_the_files() -> None:
    g = load_graph()
    for child, parent in g.subject_objects(SKOS.broader):
        assert (parent, SKOS.narrower, child) in g, f"{parent} lacks skos:narrower {child}"
    for parent, child in g.subject_objects(SKOS.narrower):
        assert (child, SKOS.broader, parent) in g, f"{child} lacks skos:broader {parent}"


def test_hierarchy_is_inverse_consistent_and_acyclic(vocab: Vocabulary) -> None:
    for c in vocab.concepts.values():
        for b in c.broader:
            assert c.iri in vocab[b].narrower
            assert vocab[b].scheme == c.scheme, "broader stays inside one scheme"
        for n in c.narrower:
            assert c.iri in vocab[n].broader
        seen, frontier = set(), set(c.broader)
        while frontier:
            assert c.iri not in frontier, f"cycle through {c.iri}"
            seen |= frontier
            frontier = {b for f in frontier for b in vocab[f].broader} - seen


def test_expand(vocab: Vocabulary) -> None:
    e = str(CH.eenzaamheid)
    down = vocab.expand(e, broader=False)
    assert e in down and str(CH["sociale-eenzaamheid"]) in down
    assert str(CH.schoolverzuim) not in down
    up = vocab.expand(str(CH["sociale-eenzaamheid"]), narrower=False)
    assert up == {str(CH["sociale-eenzaamheid"]), e}
    # depth 2 from a narrower concept reaches its siblings through the parent
    assert str(CH["emotionele-eenzaamheid"]) in vocab.expand(
        str(CH["sociale-eenzaamheid"]), depth=2
    )
    with pytest.raises(KeyError):
        vocab.expand(V + "challenges/nope")


def test_label(vocab: Vocabulary) -> None:
    assert vocab.label(str(CH.eenzaamheid)) == "eenzaamheid"
    assert vocab.label(str(CH.eenzaamheid), "en") == "loneliness"
    assert vocab.label(V + "challenges", "nl") == "Opgaven"
    assert vocab.label(V + "unknown/thing") == "thing"


def test_recognition_ranks_are_ordered(vocab: Vocabulary) -> None:
    ladder = [
        "Goed beschreven",
        "Goed onderbouwd",
        "Effectief volgens eerste aanwijzingen",
        "Effectief volgens goede aanwijzingen",
        "Effectief volgens sterke aanwijzingen",
    ]
    ranks = [vocab.recognition_rank(level) for level in ladder]
    assert ranks == sorted(ranks) and len(set(ranks)) == 5 and None not in ranks
    assert [c.pref_nl for c in vocab.recognition_levels("Erkenningstraject")] == [
        "niet erkend",
        *ladder,
    ]
    assert vocab.recognition_rank("niet erkend") == 0
    assert vocab.recognition_rank("in herbeoordeling") is None  # a status, not a level
    assert vocab.recognition_rank("bestaat niet") is None
    assert vocab.recognition_rank("goed onderbouwd") == vocab.recognition_rank("Goed onderbouwd")
    bp = [vocab.recognition_rank(x, "Blueprints") for x in ("Promising", "Model", "Model Plus")]
    assert bp == sorted(bp) and len(set(bp)) == 3
    cs = [
        vocab.recognition_rank(x, "CrimeSolutions")
        for x in ("No Effects", "Promising", "Effective")
    ]
    assert cs == sorted(cs) and len(set(cs)) == 3
    assert vocab.recognition_rank("Level 4", "EIF") > vocab.recognition_rank("Level 2", "EIF")  # type: ignore[operator]


def test_scheme_links_point_at_the_ontology(vocab: Vocabulary) -> None:
    schema = load_schema()
    props = {p.name for c in schema.node_classes for p in c.properties}
    for s in vocab.schemes.values():
        assert (s.pg_label is None) != (s.value_of is None), f"{s.name}: class or property"
        if s.pg_label:
            assert s.pg_label in schema.labels, s.name
        if s.value_of:
            assert s.value_of in props, s.name
    assert {c.pg_label for c in vocab.scheme("interventions")} == {"Intervention"}
    assert vocab.scheme("evidence-types")[0].pg_label is None


def test_actor_roles_carry_a_kind(vocab: Vocabulary) -> None:
    kinds = {c.kind for c in vocab.scheme("actor-roles")}
    assert kinds == {"organisation", "person-role", "network"}
    assert vocab.lookup("GGD")[0].kind == "organisation"
    assert vocab.lookup("vrijwilligers")[0].kind == "person-role"


def test_working_elements_for_loneliness(vocab: Vocabulary) -> None:
    group = vocab[V + "working-elements/eenzaamheid"]
    names = {vocab[n].pref_nl for n in group.narrower}
    assert names == {
        "bezigheden", "ontmoeten", "praktisch ondersteunen", "betekenisvol contact",
        "sociale vaardigheden", "realistische verwachtingen", "betekenisvolle rol",
    }  # fmt: skip
    assert str(CH.eenzaamheid) in group.related


def test_fold() -> None:
    assert fold("Cliënt") == "client"
    assert normalise("  Goed\u00a0onderbouwd ") == "goed onderbouwd"
    assert normalise("pre\u2013post") == "pre-post"


def _copy_ontology(tmp_path: Path) -> Path:
    target = tmp_path / "ontology"
    shutil.copytree(ontology_dir(), target)
    return target


def test_malformed_vocabulary_names_the_file(tmp_path: Path) -> None:
    target = _copy_ontology(tmp_path)
    bad = target / "vocabularies" / "broken.ttl"
    bad.write_text(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n<x> skos:prefLabel", "utf-8"
    )
    with pytest.raises(OntologyError) as err:
        load_vocabulary(target)
    assert str(bad) in str(err.value)


def test_concept_without_scheme_names_the_file(tmp_path: Path) -> None:
    target = _copy_ontology(tmp_path)
    bad = target / "vocabularies" / "orphan.ttl"
    bad.write_text(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        '<https://w3id.org/impact-graph/vocab/x/y> a skos:Concept ; skos:prefLabel "y"@nl .\n',
        "utf-8",
    )
    with pytest.raises(OntologyError, match=r"orphan\.ttl.*skos:inScheme"):
        load_vocabulary(target)


def test_new_concept_in_a_copy_is_found(tmp_path: Path) -> None:
    target = _copy_ontology(tmp_path)
    extra = target / "vocabularies" / "extra.ttl"
    extra.write_text(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "<https://w3id.org/impact-graph/vocab/challenges/armoede> a skos:Concept ;\n"
        "  skos:inScheme <https://w3id.org/impact-graph/vocab/challenges> ;\n"
        '  skos:prefLabel "armoede"@nl , "poverty"@en ; skos:altLabel "rondkomen"@nl .\n',
        "utf-8",
    )
    v = load_vocabulary(target)
    assert [c.pref_en for c in v.lookup("rondkomen")] == ["poverty"]
    assert v.lookup("rondkomen")[0].pg_label == "Challenge"
    assert load_vocabulary().lookup("rondkomen") == []
