"""The NLP stage on real spaCy, the real vocabularies and the Markdown reader.

Every test builds a small Dutch (or English) document the way the pipeline would (front
matter, headings, lists, tables) and checks what `extract` finds, including that every
mention span points at the text it claims to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from impact_graph.ingest.document import Document
from impact_graph.ingest.extraction import Entity, Extraction
from impact_graph.ingest.nlp import extract
from impact_graph.ingest.readers import read_path
from impact_graph.ingest.readers._common import make_document
from impact_graph.ingest.readers.markdown import read_markdown
from impact_graph.ontology import load_schema
from impact_graph.vocab import Vocabulary, load_vocabulary

DEMO = Path(__file__).resolve().parents[1] / "ingest" / "demo"


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def md_doc(tmp_path: Path, body: str, name: str = "doc.md", **front: object) -> Document:
    """A Document read from a Markdown file with the given front matter."""
    lines = ["---", *(f"{k}: {v}" for k, v in front.items()), "---", "", body]
    path = tmp_path / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return make_document(
        read_markdown(path.read_text(), path), path=path, root=tmp_path, fmt="md", kind=None
    )


def find(ext: Extraction, label: str, key: str) -> Entity:
    ent = ext.entities.get((label, key))
    assert ent is not None, (
        f"no {label} {key!r}; have {sorted(k for lb, k in ext.entities if lb == label)}"
    )
    return ent


def rels(ext: Extraction, type_: str) -> set[tuple[str, str]]:
    return {(r.src[1], r.dst[1]) for r in ext.relations if r.type == type_}


def assert_spans_point(ext: Extraction) -> None:
    text = ext.document.text
    for ent in ext.entities.values():
        for s, e in ent.mentions:
            assert 0 <= s < e <= len(text), (ent.key, s, e)
            assert text[s:e].strip() == text[s:e], (ent.key, text[s:e])
    for s, e in ext.sentences:
        assert text[s:e].strip() == text[s:e] and e > s


def test_altlabel_and_plural_reach_their_concept(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "Veel statushouders en ouderen zeggen dat zij zich alleen voelen. Ook gezinnen doen mee.",
        title="Test",
        kind="policy",
    )
    ext = extract(doc, vocab)
    loneliness = find(ext, "Challenge", "eenzaamheid")
    assert loneliness.status == "vocabulary" and loneliness.concept
    # The longest label wins: the vocabulary has "zich alleen voelen".
    assert [doc.text[s:e] for s, e in loneliness.mentions] in (
        ["alleen voelen"],
        ["zich alleen voelen"],
    )
    assert loneliness.merges[0].rule == "altLabel"
    sh = find(ext, "TargetGroup", "statushouders")
    assert [doc.text[s:e] for s, e in sh.mentions] == ["statushouders"]
    assert find(ext, "TargetGroup", "gezinnen").mentions
    assert_spans_point(ext)


def test_stem_variant_matches_a_singular_label(tmp_path: Path, vocab: Vocabulary) -> None:
    # "jongerenwerkers" is in no vocabulary; the Snowball stem meets "jongerenwerker".
    label = next(c.pref_nl for c in vocab.scheme("actor-roles") if c.pref_nl == "jongerenwerker")
    doc = md_doc(tmp_path, "De jongerenwerkers gaan de straat op.", title="T", kind="policy")
    ext = extract(doc, vocab)
    ent = find(ext, "Actor", label)
    assert ent.props["kind"] == "person-role"
    assert [doc.text[s:e] for s, e in ent.mentions] == ["jongerenwerkers"]


def test_organisation_patterns_and_kinds(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "De gemeente Utrecht werkt samen met GGD Hollands Midden, Stichting Buurtkracht, "
        "Kustland Welzijn, Welzijn Noord en Woningcorporatie Het Anker. "
        "Utrecht (gemeente) betaalt. Ook Halt, het Trimbos-instituut en OBS De Regenboog "
        "doen mee, net als het Erasmus College en politie Rotterdam. "
        "Wijkverpleegkundigen en inwoners praten mee.",
        title="Test",
        kind="policy",
    )
    ext = extract(doc, vocab)
    orgs = {
        k
        for (lb, k), e in ext.entities.items()
        if lb == "Actor" and e.props.get("kind") == "organisation"
    }
    for name in (
        "gemeente Utrecht",
        "GGD Hollands Midden",
        "Stichting Buurtkracht",
        "Kustland Welzijn",
        "Welzijn Noord",
        "Woningcorporatie Het Anker",
        "Trimbos-instituut",
        "OBS De Regenboog",
        "Erasmus College",
        "politie Rotterdam",
    ):
        assert name in orgs, (name, orgs)
    # "Utrecht (gemeente)" is the same actor as "gemeente Utrecht".
    utrecht = find(ext, "Actor", "gemeente Utrecht")
    assert len(utrecht.mentions) == 2
    assert {m.rule for m in utrecht.merges} >= {"new", "normalised"}
    persons = {
        k
        for (lb, k), e in ext.entities.items()
        if lb == "Actor" and e.props.get("kind") == "person-role"
    }
    assert "inwoner" in persons
    assert any("verpleegkundige" in p for p in persons), persons
    # Named organisations collaborate when the sentence says "werkt samen met".
    assert ("GGD Hollands Midden", "gemeente Utrecht") in rels(ext, "COLLABORATES_WITH") | {
        (b, a) for a, b in rels(ext, "COLLABORATES_WITH")
    }
    assert_spans_point(ext)


def test_pseudonyms_are_not_actors(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "Persoon-3f2a9c woont in Wadstede. Stichting Persoon-77aa helpt niet; "
        "Persoon-3f2a9c en Persoon-1b2c3d gaan naar Stichting Welzijn Wadstede.",
        title="Verhaal",
        kind="story",
    )
    ext = extract(doc, vocab)
    for (label, key), ent in ext.entities.items():
        assert "persoon-" not in key.lower(), (label, key)
        for s, e in ent.mentions:
            assert "Persoon-" not in doc.text[s:e]
    assert ("Actor", "Stichting Welzijn Wadstede") in ext.entities


PLAN = """# Programma Samen Sterk

## Waarom

Eenzaamheid onder ouderen neemt toe in de wijk Zeezicht.

## Doelen

- In 2027 voelen 30% minder ouderen zich eenzaam.
- Uiterlijk 2030 hebben 200 inwoners een maatje.

## Met wie

- GGD Wadstede — gezondheidsmonitor
- Stichting Welzijn Wadstede: uitvoering van Welzijn op Recept
- Bibliotheek Wadstede

| Organisatie | Rol |
|---|---|
| Woningstichting Kustwonen | signaleren |

## Werkzame elementen

- Warme overdracht. De coach gaat binnen twee weken op huisbezoek.
- een gezellige ontvangst met koffie;

## Wat we doen

- Welzijn op Recept
- Buurtmaaltijden — samen eten in de buurtkamer

## Middelen

Zorgverzekeraar Zilverzee draagt € 40.000 bij. De gemeente zet middelen uit de Wmo 2015 in.

## Wettelijk kader

De aanpak rust op artikel 2.3.5 Wmo 2015 en de Participatiewet.
"""


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory, vocab: Vocabulary) -> Extraction:
    doc = md_doc(
        tmp_path_factory.mktemp("plan"),
        PLAN,
        title='"Programma-aanpak Samen Sterk"',
        kind="plan",
        programme="Samen Sterk",
        gemeente="Wadstede",
        date="2025-01-15",
        themes="[eenzaamheid]",
    )
    return extract(doc, vocab)


def test_partner_section_gives_participation_with_roles(plan: Extraction) -> None:
    roles = {
        r.src[1]: r.props.get("role")
        for r in plan.relations
        if r.type == "PARTICIPATES_IN" and r.dst == ("Programme", "Samen Sterk")
    }
    assert roles["GGD Wadstede"] == "gezondheidsmonitor"
    assert roles["Stichting Welzijn Wadstede"] == "uitvoering van Welzijn op Recept"
    assert roles["Woningstichting Kustwonen"] == "signaleren"
    assert "Bibliotheek Wadstede" in roles
    assert "Organisatie" not in roles  # the table header is no partner
    # The role names an intervention: the partner delivers it.
    assert ("Stichting Welzijn Wadstede", "Welzijn op Recept") in rels(plan, "DELIVERS")
    assert_spans_point(plan)


def test_programme_area_themes(plan: Extraction) -> None:
    prog = find(plan, "Programme", "Samen Sterk")
    assert prog.status == "metadata"
    assert ("Samen Sterk", "Wadstede") in rels(plan, "IN_AREA")
    assert ("Samen Sterk", "eenzaamheid") in rels(plan, "ADDRESSES")
    assert ("Samen Sterk", "ouderen") in rels(plan, "TARGETS")
    wijk = find(plan, "Area", "Zeezicht")
    assert wijk.props["kind"] == "wijk"


def test_working_elements_and_interventions_sections(plan: Extraction) -> None:
    elements = {k for (lb, k) in plan.entities if lb == "WorkingElement"}
    assert any("overdracht" in e.lower() or "samenwerking" in e.lower() for e in elements), elements
    candidate = find(plan, "WorkingElement", "gezellige ontvangst met koffie")
    assert candidate.status == "candidate" and candidate.props["mention_count"] == 1
    uses = rels(plan, "USES")
    assert ("Samen Sterk", "Welzijn op Recept") in uses
    # A new intervention named in "Wat we doen": a candidate used by the programme.
    new = find(plan, "Intervention", "Buurtmaaltijden")
    assert new.status == "candidate"
    assert ("Samen Sterk", "Buurtmaaltijden") in uses
    # A plan's own "Werkzame elementen" section names elements of the programme's whole
    # approach: they belong to the programme, not to its most mentioned intervention.
    own = rels(plan, "HAS_PROGRAMME_ELEMENT")
    assert ("Samen Sterk", "gezellige ontvangst met koffie") in own
    assert not rels(plan, "HAS_ELEMENT")


REISVERSLAG = """# Reisverslag Leefbaar Zuid 2025

## Wat we deden

- **Buurtbemiddeling.** Buurtbemiddeling Kustland bemiddelde in 39 burenconflicten; in 26
  daarvan kwamen de buren tot afspraken. Buurtbemiddeling blijft ons belangrijkste middel.
- **Jongeren.** Een jongerenwerker is twee avonden per week in de wijk.
- **Renovatie.** Kustwonen begon met de renovatie van 120 woningen.
- **Werkzame elementen.** Zie hieronder.
- **Portiekgesprekken.** Bewoners maakten samen afspraken over het trappenhuis.

## Wat we leerden – werkzame elementen

1. **Bewoners aan het stuur.** Waar bewoners zelf afspraken maakten, hielden die langer
   stand dan regels van bovenaf.
2. **Kleine zichtbare verbeteringen eerst.** Nieuwe verlichting gaf vertrouwen.
3. **Vroeg bemiddelen.** Burenruzies die binnen een maand bij buurtbemiddeling kwamen,
   werden vaker opgelost.
"""


@pytest.fixture(scope="module")
def reisverslag(tmp_path_factory: pytest.TempPathFactory, vocab: Vocabulary) -> Extraction:
    doc = md_doc(
        tmp_path_factory.mktemp("reis"),
        REISVERSLAG,
        title='"Reisverslag Leefbaar Zuid 2025"',
        kind="plan",
        programme="Leefbaar Zuid",
        gemeente="Bergveld",
    )
    return extract(doc, vocab)


def test_reisverslag_working_elements_belong_to_the_programme(reisverslag: Extraction) -> None:
    """Buurtbemiddeling is the most mentioned intervention, but the learned elements are
    the programme's; only the element whose own text names buurtbemiddeling is also its."""
    own = rels(reisverslag, "HAS_PROGRAMME_ELEMENT")
    for element in ("Bewoners aan het stuur", "Kleine zichtbare verbeteringen eerst"):
        find(reisverslag, "WorkingElement", element)
        assert ("Leefbaar Zuid", element) in own
    assert ("Leefbaar Zuid", "Vroeg bemiddelen") in own
    assert rels(reisverslag, "HAS_ELEMENT") == {("Buurtbemiddeling", "Vroeg bemiddelen")}
    assert_spans_point(reisverslag)


def test_bold_theme_leads_are_no_interventions(reisverslag: Extraction) -> None:
    """ "**Jongeren.**" (a target group), "**Renovatie.**" (a theme) and "**Werkzame
    elementen.**" (a heading) lead list items in "Wat we deden" but name no intervention;
    a real new name ("Portiekgesprekken") still becomes a candidate."""
    interventions = {k for lb, k in reisverslag.entities if lb == "Intervention"}
    assert not interventions & {"Jongeren", "Renovatie", "Werkzame elementen"}, interventions
    assert find(reisverslag, "Intervention", "Portiekgesprekken").status == "candidate"
    uses = {dst for _src, dst in rels(reisverslag, "USES")}
    assert {"Buurtbemiddeling", "Portiekgesprekken"} <= uses
    assert not uses & {"Jongeren", "Renovatie", "Werkzame elementen"}


def test_elements_of_a_named_intervention_stay_with_it(tmp_path: Path, vocab: Vocabulary) -> None:
    """In a plan, a list introduced as the elements of a named intervention belongs to
    that intervention, not to the programme."""
    doc = md_doc(
        tmp_path,
        "## Wat we weten over wat werkt\n\nUit onderzoek naar Welzijn op Recept blijkt dat "
        "het werkt. Werkzame elementen zijn: warme overdracht, een vast gezicht en "
        "aansluiten bij wat iemand zelf wil.\n",
        title='"Programma-aanpak Samen Sterk"',
        kind="plan",
        programme="Samen Sterk",
    )
    ext = extract(doc, vocab)
    assert {src for src, _ in rels(ext, "HAS_ELEMENT")} == {"Welzijn op Recept"}
    assert not rels(ext, "HAS_PROGRAMME_ELEMENT")


def test_a_local_instance_links_to_the_general_intervention(
    tmp_path: Path, vocab: Vocabulary
) -> None:
    """ "Buurtkamer De Meeuw" is one buurtkamer: its own intervention (its facts are its
    own), linked to the vocabulary's buurtkamer by INSTANCE_OF; a name that is itself a
    vocabulary intervention gets no such link."""
    doc = md_doc(
        tmp_path,
        "Buurtkamer De Meeuw is een huiskamer in de flat voor alleenwonende ouderen. "
        "Erkenning: Goed beschreven.\n",
        title='"Buurtkamer De Meeuw"',
        kind="research",
        intervention="Buurtkamer De Meeuw",
        erkenning="Goed beschreven",
    )
    ext = extract(doc, vocab)
    local = find(ext, "Intervention", "Buurtkamer De Meeuw")
    assert local.concept is None and local.props["rating_level"] == "Goed beschreven"
    general = find(ext, "Intervention", "buurtkamer")
    assert general.concept and general.concept.endswith("/buurtkamer")
    assert "rating_level" not in general.props  # the local recognition stays local
    assert rels(ext, "INSTANCE_OF") == {("Buurtkamer De Meeuw", "buurtkamer")}

    plain = md_doc(
        tmp_path,
        "Welzijn op Recept helpt eenzame ouderen.\n",
        name="wor.md",
        title='"Welzijn op Recept"',
        kind="research",
        intervention="Welzijn op Recept",
    )
    assert not rels(extract(plain, vocab), "INSTANCE_OF")


def test_funding_goal_and_law(plan: Extraction) -> None:
    assert ("Zorgverzekeraar Zilverzee", "Samen Sterk") in rels(plan, "FUNDS")
    goals = [e for (lb, _k), e in plan.entities.items() if lb == "Goal"]
    by_year = {g.props["year"]: g for g in goals}
    assert by_year[2027].props["target_value"] == "30%"
    assert by_year[2030].props["target_value"] == "200"
    assert all(("Samen Sterk", g.key) in rels(plan, "HAS_GOAL") for g in goals)
    laws = {k for (lb, k) in plan.entities if lb == "LegalBasis"}
    assert "Participatiewet" in laws
    wmo = next(k for k in laws if k.lower().startswith("wmo"))
    assert ("Samen Sterk", wmo) in rels(plan, "GROUNDED_IN")
    assert ("Samen Sterk", "Participatiewet") in rels(plan, "GROUNDED_IN")


def test_relation_types_all_exist_in_the_ontology(plan: Extraction) -> None:
    schema = load_schema()
    for r in plan.relations:
        rt = schema.rel_type(r.type)
        assert r.src[0] in rt.domain or "*" in rt.domain
        assert r.dst[0] in rt.range or "*" in rt.range


@pytest.mark.parametrize(
    ("sentence", "outcome", "direction", "magnitude"),
    [
        (
            "Welzijn op Recept vermindert eenzaamheid met 12 procentpunt.",
            "eenzaamheid",
            "−",
            "12 procentpunt",
        ),
        ("Welzijn op Recept heeft geen effect op eenzaamheid.", "eenzaamheid", "0", None),
        ("Welzijn op Recept leidt niet tot minder eenzaamheid.", "eenzaamheid", "0", None),
        ("Welzijn op Recept verbetert het welbevinden (d = 0,3).", "welzijn", "+", "d = 0,3"),
        (
            "Welzijn op Recept leidt bij deelnemers tot minder eenzaamheid (30%).",
            "eenzaamheid",
            "−",
            "30%",
        ),
    ],
)
def test_effect_statements(
    tmp_path: Path,
    vocab: Vocabulary,
    sentence: str,
    outcome: str,
    direction: str,
    magnitude: str | None,
) -> None:
    doc = md_doc(tmp_path, sentence, title="Onderzoek", kind="research")
    ext = extract(doc, vocab)
    effects = [e for (lb, _k), e in ext.entities.items() if lb == "Effect"]
    assert len(effects) == 1, [e.key for e in effects]
    eff = effects[0]
    assert eff.props["direction"] == direction
    assert eff.props.get("magnitude") == magnitude
    assert eff.props["outcome"] == outcome or outcome in str(eff.props["outcome"])
    assert ("Welzijn op Recept", eff.key) in rels(ext, "HAS_EFFECT")
    rel = next(r for r in ext.relations if r.type == "HAS_EFFECT")
    s, e = rel.spans[0]
    assert doc.text[s:e] == sentence


def test_english_effect_and_study_design(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "We conducted a randomised controlled trial. Social prescribing reduces loneliness "
        "among older adults (d = 0.4). Peer support had no effect on loneliness.",
        title="Trial",
        kind="research",
        language="en",
        date="2023-05-01",
    )
    assert doc.language == "en"
    ext = extract(doc, vocab)
    effects = {e.props["outcome"]: e for (lb, _k), e in ext.entities.items() if lb == "Effect"}
    eff = effects["eenzaamheid"]
    assert eff.props["direction"] == "−" and eff.props["effect_size"] == 0.4
    evidence = [e for (lb, _k), e in ext.entities.items() if lb == "Evidence"]
    assert any(
        e.props["evidence_type"].lower() in ("rct", "gerandomiseerd onderzoek")
        or "rct" in (e.concept or "").lower()
        for e in evidence
    ), [e.props for e in evidence]
    assert all(e.props.get("year") == 2023 for e in evidence)
    assert (eff.key, evidence[0].key) in rels(ext, "SUPPORTED_BY")


def keys(ext: Extraction, label: str) -> set[str]:
    return {k for (lb, k) in ext.entities if lb == label}


def test_generic_words_are_no_actors(tmp_path: Path, vocab: Vocabulary) -> None:
    """Stem matches must be inflections, the people served are no party, umbrella roles
    name a category, and "naar school" is an activity; "De school" still acts."""
    doc = md_doc(
        tmp_path,
        "De gemeentelijke bijdrage is € 320.000. Deelnemers en professionals waren "
        "tevreden. Ik moest naar school. De school hanteert vaste afspraken. Criminele "
        "netwerken ronselen kinderen.",
        title="Evaluatie",
        kind="research",
    )
    actors = keys(extract(doc, vocab), "Actor")
    assert actors == {"school"}, actors


def test_target_groups_are_groups(tmp_path: Path, vocab: Vocabulary) -> None:
    """A singular ("Geen kind"), a possessive ("onze kinderen" in a story) and a role a
    group visits ("hun huisarts") are no target group; plural roles in a Doelgroep
    section, age-defined groups and the subject's age in a story are."""
    story = md_doc(
        tmp_path,
        "Greet is 81 jaar. In dit huis hebben we onze kinderen grootgebracht. Geen kind "
        "hoeft alleen te zijn.",
        name="story.md",
        title="Verhaal",
        kind="story",
    )
    assert keys(extract(story, vocab), "TargetGroup") == {"ouderen"}
    research = md_doc(
        tmp_path,
        "# Kanjertraining\n\n## Doelgroep\n\nLeerlingen in het basisonderwijs, hun "
        "leerkrachten en hun huisarts.\n\n## Aanbod\n\nVoor vrouwen van 55 jaar en ouder.",
        name="research.md",
        title="Kanjertraining",
        kind="research",
    )
    ext = extract(research, vocab)
    groups = keys(ext, "TargetGroup")
    assert groups == {"leerlingen", "leerkrachten", "vrouwen van 55 jaar en ouder"}, groups
    assert ("Kanjertraining", "leerkrachten") in rels(ext, "TARGETS")


def test_collaboration_pairs_the_parties_a_sentence_pairs(
    tmp_path: Path, vocab: Vocabulary
) -> None:
    """ "We ... samen met B en C" pairs the municipality with B and with C, not B with C;
    a list of signatories whose names hold "Samenwerkingsverband" pairs nobody."""
    doc = md_doc(
        tmp_path,
        "Het pact wordt ondertekend door Samenwerkingsverband VO Noord, GGD Kustland en "
        "Stichting Halt Noord.\n\nWe starten het programma samen met Stichting Welzijn "
        "Wadstede en Woningstichting Kustwonen.",
        title="Coalitieakkoord",
        kind="policy",
        gemeente="Wadstede",
        authors="[Gemeente Wadstede]",
    )
    found = rels(extract(doc, vocab), "COLLABORATES_WITH")
    pairs = {tuple(sorted(x.lower() for x in p)) for p in found}
    assert pairs == {
        ("gemeente wadstede", "stichting welzijn wadstede"),
        ("gemeente wadstede", "woningstichting kustwonen"),
    }, pairs


def test_a_plan_uses_the_interventions_it_names(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "# Programma-aanpak Samen Sterk\n\n## Wat\n\nWe breiden Welzijn op Recept uit.\n\n"
        "## Wetenschappelijke kennis\n\nElders werkt Kanjertraining goed.",
        title="Programma-aanpak Samen Sterk",
        kind="plan",
        programme="Samen Sterk",
    )
    assert rels(extract(doc, vocab), "USES") == {("Samen Sterk", "Welzijn op Recept")}


def test_recognition_level_exact_string_and_design(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "# Kanjertraining\n\nErkenning: Effectief volgens goede aanwijzingen.\n\n"
        "In een quasi-experimenteel onderzoek verminderde Kanjertraining pesten. "
        "Een voor- en nameting liet hetzelfde zien. Dit is goed beschreven in de handleiding.",
        title="Kanjertraining",
        kind="research",
        date="2022-03-01",
    )
    ext = extract(doc, vocab)
    evidence = [e for (lb, _k), e in ext.entities.items() if lb == "Evidence"]
    assert evidence
    assert {e.props.get("rating_level") for e in evidence} == {
        "Effectief volgens goede aanwijzingen"
    }
    assert all(e.props.get("rating_scheme") for e in evidence)
    types = {str(e.props["evidence_type"]).lower() for e in evidence}
    assert any("quasi" in t for t in types), types
    # Lower-case "goed beschreven" in prose is no recognition level.
    assert "Goed beschreven" not in {e.props.get("rating_level") for e in evidence}


def test_recognition_attaches_to_the_intervention_it_rates(vocab: Vocabulary) -> None:
    """The foto rates only Welzijn op Recept ("Goed beschreven"); Zin in Vriendschap, named
    in the next sentence, and the foto's own evidence (local data, a klantreis) are not
    rated by it."""
    path = DEMO / "plan" / "wadstede-samen-minder-alleen-foto.md"
    (doc,) = read_path(path, root=DEMO)
    ext = extract(doc, vocab)
    assert find(ext, "Intervention", "Welzijn op Recept").props.get("rating_level") == (
        "Goed beschreven"
    )
    assert "rating_level" not in find(ext, "Intervention", "Zin in Vriendschap").props
    rated = {k for (lb, k), e in ext.entities.items() if "rating_level" in e.props}
    assert rated == {"Welzijn op Recept"}, rated


def test_recognition_nearest_intervention_before_it(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "# Aanpak\n\nWe zetten Kanjertraining in. Naast Welzijn op Recept gebruiken we "
        'ook CooL, in de databank erkend als "Effectief volgens goede aanwijzingen". '
        "Kanjertraining is een erkende interventie. Effective teamwork matters.",
        title="Programma-aanpak",
        kind="plan",
    )
    ext = extract(doc, vocab)
    rated = {
        k: e.props["rating_level"]
        for (lb, k), e in ext.entities.items()
        if "rating_level" in e.props
    }
    # "erkende interventie" names the ladder, not a level; "Effective" without any
    # databank or rating in its sentence is an ordinary word.
    assert rated == {"CooL": "Effectief volgens goede aanwijzingen"}, rated


def test_recognition_on_a_databank_page_goes_to_its_intervention(vocab: Vocabulary) -> None:
    """A research text about one intervention: a level in a sentence that names none
    ("**Erkenning:** ...") belongs to that intervention, its effects and its evidence."""
    (doc,) = read_path(DEMO / "research" / "kanjertraining.md", root=DEMO)
    ext = extract(doc, vocab)
    level = "Effectief volgens sterke aanwijzingen"
    assert find(ext, "Intervention", "Kanjertraining").props["rating_level"] == level
    effects = [e for (lb, _k), e in ext.entities.items() if lb == "Effect"]
    assert effects and all(e.props.get("rating_level") == level for e in effects)
    evidence = [e for (lb, _k), e in ext.entities.items() if lb == "Evidence"]
    assert evidence and all(e.props.get("rating_level") == level for e in evidence)


def test_story_is_practice_evidence(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "Persoon-ab12cd vertelt over de buurtkamer. Ze voelt zich minder alleen.",
        title="Verhaal van een bewoner",
        kind="story",
    )
    ext = extract(doc, vocab)
    ev = [e for (lb, _k), e in ext.entities.items() if lb == "Evidence"]
    assert [e.props["evidence_type"] for e in ev] == ["praktijkverhaal"]


def test_research_record_fields_are_used_directly(tmp_path: Path, vocab: Vocabulary) -> None:
    doc = md_doc(
        tmp_path,
        "Samenvatting van een studie.",
        title="Studie",
        kind="research",
        intervention="Housing First",
        design="RCT",
        outcome="dakloosheid",
        direction='"-"',
        effect_size="0.45",
        recognition='"Effectief volgens sterke aanwijzingen"',
    )
    ext = extract(doc, vocab)
    effects = [e for (lb, _k), e in ext.entities.items() if lb == "Effect"]
    assert len(effects) == 1
    eff = effects[0]
    assert eff.status == "metadata"
    assert eff.props["direction"] == "−" and eff.props["effect_size"] == 0.45
    assert eff.props["rating_level"] == "Effectief volgens sterke aanwijzingen"
    iv = next(e for (lb, _k), e in ext.entities.items() if lb == "Intervention")
    assert iv.status in ("metadata", "vocabulary")


def test_demo_corpus_extracts_cleanly(vocab: Vocabulary) -> None:
    """Every demo document yields entities whose spans point at their text.

    Speed is measured by bench/extraction.py, not asserted here: a timed test fails on a
    loaded machine without anything being wrong.
    """
    docs = [d for p in sorted(DEMO.rglob("*")) if p.is_file() for d in read_path(p, root=DEMO)]
    assert docs
    for lang in {d.language for d in docs}:  # build each pipeline and matcher once
        extract(next(d for d in docs if d.language == lang), vocab)
    results = [extract(d, vocab) for d in docs]
    for ext in results:
        assert_spans_point(ext)
        assert ext.entities


def _facts(ext: Extraction) -> tuple[object, ...]:
    """Everything an extraction says, in order: entities with mentions, merges and
    props, relations with spans, sentences."""
    ents = [
        (e.ref, e.name, e.status, e.rule, e.concept, e.mentions, e.props, e.merges)
        for e in ext.entities.values()
    ]
    rels = [(r.src, r.type, r.dst, r.rule, r.spans, r.props) for r in ext.relations]
    return (ents, rels, ext.sentences)


def test_demo_corpus_with_growing_known_names_as_from_scratch(vocab: Vocabulary) -> None:
    """The pipeline passes one ``known`` mapping to every document and appends each
    document's entities to it; the resolver keeps one index of it and only adds the new
    rows. Every document must extract exactly as with an index built from scratch (a
    copy of the mapping), and later documents must really resolve to earlier names."""
    docs = [d for p in sorted(DEMO.rglob("*")) if p.is_file() for d in read_path(p, root=DEMO)]
    known: dict[str, list[tuple[str, str, list[str]]]] = {}
    seen: set[tuple[str, str]] = set()
    reused = 0
    for d in docs:
        shared = extract(d, vocab, known)
        fresh = extract(d, vocab, {label: list(rows) for label, rows in known.items()})
        assert _facts(shared) == _facts(fresh), d.path
        reused += sum(
            1
            for e in shared.entities.values()
            if e.ref in seen and e.merges and e.merges[0].rule in ("exact", "normalised", "fuzzy")
        )
        for e in shared.entities.values():  # as Pipeline._remember
            if e.ref not in seen and e.label not in ("Document", "Chunk"):
                seen.add(e.ref)
                known.setdefault(e.label, []).append((e.key, e.name, [m.surface for m in e.merges]))
    assert reused >= 5, reused


def _first_letters(pattern: str) -> set[str]:
    """Lower-case letters a regex can start with (literals, groups and branches only)."""
    import re._constants as c
    import re._parser as sp

    def first(items: list[Any]) -> set[str]:
        op, av = items[0]
        if op is c.LITERAL:
            return {chr(av).lower()}
        if op is c.SUBPATTERN:
            return first(list(av[-1]))
        if op is c.BRANCH:
            return set().union(*(first(list(alt)) for alt in av[1]))
        raise AssertionError(f"{pattern!r} starts with {op}: extend this check")

    return first(list(sp.parse(pattern)))


def test_effect_regex_start_lookahead_changes_no_match() -> None:
    """`EFFECT_RE` tries its alternatives only where `EFFECT_START` (a trie of the
    phrases' first characters, derived from them) holds, a speed-up: it must find
    exactly what the bare alternation finds -- same spans, same phrase -- on every
    sentence and whole text of the demo corpus and on sentences made for the phrases
    whose starts are hard ("a lower score", "no effect", a gap before "tot")."""
    import re

    from impact_graph.ingest import patterns as P

    plain = re.compile(rf"\b(?:{P.EFFECT_ALTERNATIVES})", re.IGNORECASE)
    texts = [
        "Deelnemers hadden een lagere score op de schaal; ze scoorden LAGER OP angst.",
        "The programme had no significant effect on truancy, and a  lower score on stress.",
        "Dit leidde\nbij ouderen tot minder eenzaamheid. Het resulteerde in een afname van.",
        "Geen aantoonbaar effect gevonden op verzuim. Participants reported less stress.",
        "Verbeterden, vermindertx, verbeterdeno, INCREASED wellbeing, was associated with lower.",
    ]
    for f in sorted(DEMO.rglob("*")):
        if f.is_file() and f.suffix in (".md", ".txt", ".html", ".pdf", ".docx"):
            for d in read_path(f, root=DEMO):
                texts.append(d.text)
                texts += [d.text[s:e] for s, e in extract(d).sentences]
    found = 0
    for t in texts:
        want = [(m.span(), m.lastgroup) for m in plain.finditer(t)]
        assert [(m.span(), m.lastgroup) for m in P.EFFECT_RE.finditer(t)] == want, t[:80]
        found += len(want)
    assert found > 100, found  # the corpus holds effect phrases: the check is not empty
    assert P.EFFECT_START  # and the lookahead is in use


def test_start_lookahead_covers_every_start() -> None:
    """`patterns.start_lookahead` may be coarser than the regexes it guards, never
    narrower: every match starts where the lookahead holds. A construct it does not
    read ends the prefix there; one that can start anywhere gives no lookahead at all."""
    import re

    from impact_graph.ingest.patterns import start_lookahead

    pats = [r"ab+c", r"x\s+yz", r"(?:foo|fo)\b", r"q(?:rs)?t", r"m[no]p", r"\bhe(?=y)"]
    look = start_lookahead(pats, k=3)
    assert look
    text = "abbbc abc x \t yz foo fo qt qrst mop mnp hey ab xy qr"
    for p in pats:
        for m in re.finditer(p, text):
            assert re.compile(look, re.IGNORECASE).match(text, m.start()), (p, m.group(0))
    guarded = re.compile(f"{look}(?:{'|'.join(pats)})")
    plain = re.compile("|".join(pats))
    assert [m.span() for m in guarded.finditer(text)] == [m.span() for m in plain.finditer(text)]
    assert not re.match(look, "zzz") and not re.match(look, "ac ")  # it does narrow
    assert start_lookahead([r"a+", r".x"]) == ""  # "." can be anything: no lookahead
    assert start_lookahead([r"ab"], k=4) == "(?=(?:ab))"


def test_effect_regex_first_letters_cover_every_effect_phrase() -> None:
    """`FUNDING_RE` and `OUTCOME_CHANGE_RE` only try their alternatives where a word
    starts with one of their first letters (a speed-up): a new phrase starting with
    another letter would silently never match, so the set must hold every phrase's
    first letters."""
    from impact_graph.ingest import patterns as P

    for words, letters in [
        (P._FUNDING_WORDS, P.FUNDING_FIRST_LETTERS),
        (P._OUTCOME_CHANGE_WORDS, P.OUTCOME_CHANGE_FIRST_LETTERS),
    ]:
        assert _first_letters(words) <= set(letters), (words, letters)
    assert P.OUTCOME_CHANGE_RE.search("Het verzuim nam af.").group("verb") == "nam af"
    assert P.FUNDING_RE.search("Het fonds draagt financieel bij.") is not None
    for sentence, direction in [
        ("Het programma vermindert eenzaamheid.", "−"),
        ("Dit leidde bij ouderen tot minder eenzaamheid.", "−"),
        ("Enhanced wellbeing was reported.", "+"),
        ("De training heeft geen effect op schooluitval.", "0"),
    ]:
        m = P.EFFECT_RE.search(sentence)
        assert m is not None, sentence
        idx = next(int(k[1:]) for k, v in m.groupdict().items() if v is not None)
        assert P.EFFECT_PATTERNS[idx][1] == direction, sentence


@pytest.mark.parametrize(
    "text",
    [
        "Utrecht (gemeente) en Wadstede (Gemeente) werken samen.",
        "Onderzoekers van de Erasmus Universiteit en de University of Amsterdam.",
        "Kustland Hogeschool leidt op.",
        "Wij wonen in de gemeente Wadstede; the municipality of Wadstede agrees.",
    ],
)
def test_required_literals_never_hide_a_match(text: str) -> None:
    """`patterns.may_match` skips a regex on a text without any of its required literals;
    wherever the regex matches, one of them must be inside the match (else the skip
    would lose it). Checked on texts made to match and on the whole demo corpus."""
    from impact_graph.ingest import patterns as P

    texts = [text] + [d.text for f in sorted(DEMO.rglob("*.md")) for d in read_path(f, root=DEMO)]
    matched = 0
    for rx, literals in P.REQUIRED_LITERALS.items():
        for t in texts:
            found = [m.group(0) for m in rx.finditer(t)]
            matched += bool(found) and t is text
            assert all(any(lit in m for lit in literals) for m in found), (rx.pattern, found)
            assert P.may_match(rx, t) or not found
    assert matched, f"no required-literal regex matched {text!r}"


def test_c_and_python_stemmers_agree_on_vocabulary_and_demo_words(vocab: Vocabulary) -> None:
    """`nlp.stem` runs PyStemmer's C stemmer when installed and snowballstemmer's pure
    Python one otherwise: the NORM matches may only get faster, never different."""
    import re

    import Stemmer
    from snowballstemmer.dutch_porter_stemmer import DutchPorterStemmer
    from snowballstemmer.english_stemmer import EnglishStemmer

    from impact_graph.ingest.nlp import _stemmer

    assert isinstance(_stemmer("nl"), Stemmer.Stemmer)  # the fast one is in use
    words = {w.lower() for c in vocab.concepts.values() for lab in c.labels for w in lab.split()}
    for f in sorted(DEMO.rglob("*.md")):
        words |= set(re.findall(r"\w+", f.read_text(encoding="utf-8").lower()))
    assert len(words) > 3000
    for name, py in (("dutch_porter", DutchPorterStemmer()), ("english", EnglishStemmer())):
        c = Stemmer.Stemmer(name)
        differ = [w for w in sorted(words) if c.stemWord(w) != py.stemWord(w)]
        assert not differ, (name, differ[:10])
