"""Search on real stores (FalkorDB and Neo4j) over a small hand-built corpus.

The corpus is three documents written as GraphBatches with real embeddings of their
chunk texts (the offline all-MiniLM model), so every arm runs for real: vocabulary
expansion, the backend's fulltext index and its vector index.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

import pytest

from impact_graph.config import Settings
from impact_graph.model import Edge, GraphBatch, Node, make_id, span_ref
from impact_graph.schema import Schema
from impact_graph.search import SearchFilters, SearchRequest, SearchService
from impact_graph.search.query import parse_query
from impact_graph.store.port import GraphStore
from impact_graph.vocab import load_vocabulary
from tests.factories import schema_store

#: Graph names of this file's own FalkorDB graphs (see ``store``).
_graphs = itertools.count()

V = "https://w3id.org/impact-graph/vocab/"
EENZAAMHEID = V + "challenges/eenzaamheid"
SOCIALE_EENZAAMHEID = V + "challenges/sociale-eenzaamheid"
OUDEREN = V + "target-groups/ouderen"
JEUGDCRIMINALITEIT = V + "challenges/jeugdcriminaliteit"
JONGEREN = V + "target-groups/jongeren"

TEXT_WOR = (
    "Welzijn op Recept helpt ouderen die zich eenzaam voelen. "
    "De huisarts verwijst naar een welzijnscoach. "
    "Na zes maanden voelden deelnemers zich minder eenzaam."
)
TEXT_BUURTKAMER = (
    "De Buurtkamer is een ontmoetingsplek voor alleenwonende ouderen in de wijk. "
    "Een warme overdracht door de coach helpt mensen over de drempel."
)
TEXT_HALT = (
    "De Halt-afdoening is bedoeld voor jongeren die voor het eerst een strafbaar feit "
    "plegen. Jongeren die Halt afronden, komen minder vaak opnieuw met de politie in "
    "aanraking."
)


@pytest.fixture
def store(backend_settings: Settings, schema: Schema) -> Iterator[GraphStore]:
    """conftest's ``store``, but on FalkorDB a graph of this test's own, deleted whole
    afterwards.

    Why: the shared ``contract`` graph lives through the whole session and is only
    emptied between tests, so its vector index keeps the history of every chunk earlier
    modules wrote and deleted. In two full CI runs the floor test's nonsense query got
    no vector neighbour at all from it, the second time with ``service`` waiting for the
    index to answer; the test passes when this file runs alone. A fresh index makes the
    vector arm's answer depend on this file's corpus only.
    """
    from impact_graph.store import open_store

    if backend_settings.backend != "falkordb":
        with schema_store(open_store(backend_settings), schema) as st:
            yield st
        return
    own = backend_settings.model_copy(update={"graph_name": f"search-{next(_graphs)}"})
    with schema_store(open_store(own), schema, drop=lambda st: st.delete_graph()) as st:  # type: ignore[attr-defined]
        yield st


@pytest.fixture(scope="module")
def embedder() -> Iterator[object]:
    from impact_graph.ingest.embed import Embedder

    emb = Embedder()
    yield emb
    emb.close()


def _doc(
    key: str,
    text: str,
    embedder: object,
    entities: list[tuple[str, str, dict[str, object]]],
    edges: list[tuple[str, str, str]],
) -> GraphBatch:
    """One document with one chunk (the whole text) mentioning ``entities``
    [(label, name, props)] and ``edges`` [(src name, TYPE, dst name)]."""
    doc_id = make_id("Document", key)
    h = hashlib.sha256(f"{key}|{text}|{entities}|{edges}".encode()).hexdigest()
    document = Node(doc_id, "Document", {"title": key, "content_hash": h, "kind": "research"})
    vec = [float(x) for x in embedder.embed([text])[0]]  # type: ignore[attr-defined]
    whole = span_ref(doc_id, 0, len(text))
    chunk = Node(
        f"chunk:{doc_id}:0",
        "Chunk",
        {"text": text, "position": 0, "start": 0, "end": len(text)},
        vector=vec,
        spans=[whole],
    )
    nodes = [chunk]
    out = [Edge(doc_id, "HAS_CHUNK", chunk.id, spans=[whole])]
    ids: dict[str, str] = {}
    for label, name, props in entities:
        nid = str(props.pop("id", make_id(label, name)))
        ids[name] = nid
        nodes.append(Node(nid, label, {"name": name, **props}, spans=[whole]))
        if label in ("Intervention", "WorkingElement", "Challenge", "TargetGroup"):
            start = max(text.lower().find(name.lower()), 0)
            out.append(
                Edge(
                    chunk.id,
                    "MENTIONS",
                    nid,
                    {"start": start, "end": start + len(name)},
                    key=f"{start}",
                    spans=[whole],
                )
            )
    for src, typ, dst in edges:
        out.append(Edge(ids[src], typ, ids[dst], spans=[whole]))
    return GraphBatch(document=document, nodes=nodes, edges=out)


def corpus(embedder: object) -> list[GraphBatch]:
    eenzaam = ("Challenge", "eenzaam", {"concept": EENZAAMHEID, "id": "challenge:eenzaamheid"})
    ouderen = ("TargetGroup", "ouderen", {"concept": OUDEREN, "id": "targetgroup:ouderen"})
    warm = ("WorkingElement", "warme overdracht", {"id": "workingelement:warme-overdracht"})
    return [
        _doc(
            "wor",
            TEXT_WOR,
            embedder,
            [
                (
                    "Intervention",
                    "Welzijn op Recept",
                    {"rating_level": "Goed beschreven", "rating_rank": 1},
                ),
                eenzaam,
                ouderen,
                warm,
                (
                    "Effect",
                    "minder eenzaam",
                    {
                        "outcome": "eenzaamheidsgevoelens",
                        "direction": "−",
                        "concept": V + "outcomes/eenzaamheidsgevoelens",
                        "rating_level": "Goed beschreven",
                        "rating_rank": 1,
                    },
                ),
                (
                    "Evidence",
                    "pre-post wor",
                    {
                        "evidence_type": "pre-post",
                        "title": "Evaluatie Welzijn op Recept",
                        "concept": V + "evidence-types/pre-post",
                    },
                ),
                ("Programme", "Samen Minder Alleen", {}),
                ("Area", "Wadstede", {}),
            ],
            [
                ("Welzijn op Recept", "ADDRESSES", "eenzaam"),
                ("Welzijn op Recept", "TARGETS", "ouderen"),
                ("Welzijn op Recept", "HAS_ELEMENT", "warme overdracht"),
                ("Welzijn op Recept", "HAS_EFFECT", "minder eenzaam"),
                ("minder eenzaam", "SUPPORTED_BY", "pre-post wor"),
                ("Samen Minder Alleen", "USES", "Welzijn op Recept"),
                ("Samen Minder Alleen", "IN_AREA", "Wadstede"),
            ],
        ),
        _doc(
            "buurtkamer",
            TEXT_BUURTKAMER,
            embedder,
            [
                (
                    "Intervention",
                    "Buurtkamer",
                    {"rating_level": "Goed onderbouwd", "rating_rank": 2},
                ),
                ouderen,
                warm,
                ("Programme", "Zilver in de Wijk", {}),
            ],
            [
                ("Buurtkamer", "TARGETS", "ouderen"),
                ("Buurtkamer", "HAS_ELEMENT", "warme overdracht"),
                ("Zilver in de Wijk", "USES", "Buurtkamer"),
            ],
        ),
        _doc(
            "halt",
            TEXT_HALT,
            embedder,
            [
                ("Intervention", "Halt-afdoening", {}),
                (
                    "Challenge",
                    "jeugdcriminaliteit",
                    {"concept": JEUGDCRIMINALITEIT, "id": "challenge:jeugdcriminaliteit"},
                ),
                ("TargetGroup", "jongeren", {"concept": JONGEREN, "id": "targetgroup:jongeren"}),
                (
                    "Effect",
                    "minder recidive",
                    {"outcome": "recidive", "direction": "−", "concept": V + "outcomes/recidive"},
                ),
                (
                    "Evidence",
                    "rct halt",
                    {
                        "evidence_type": "RCT",
                        "title": "Halt RCT",
                        "concept": V + "evidence-types/rct",
                    },
                ),
            ],
            [
                ("Halt-afdoening", "ADDRESSES", "jeugdcriminaliteit"),
                ("Halt-afdoening", "TARGETS", "jongeren"),
                ("Halt-afdoening", "HAS_EFFECT", "minder recidive"),
                ("minder recidive", "SUPPORTED_BY", "rct halt"),
            ],
        ),
    ]


@pytest.fixture
def service(store: GraphStore, embedder: object) -> SearchService:
    for batch in corpus(embedder):
        store.upsert_batch(batch)
    if store.backend == "falkordb":  # indexes are built in the background
        import time

        probe = embedder.embed(["eenzaam"])[0]  # type: ignore[attr-defined]
        for _ in range(100):
            # Both arms' indexes: a test that needs the vector arm's hits (the floor
            # tests) once met an empty vector answer in a full CI run, not alone.
            if store.fulltext_search("Chunk", "eenzaam", 5) and store.vector_search(
                "Chunk", probe, 1
            ):
                break
            time.sleep(0.1)
    return SearchService(store, embedder=embedder)  # type: ignore[arg-type]


# --- query parsing (no store) --------------------------------------------------------


def test_expansion_reaches_loneliness_and_older_people() -> None:
    vocab = load_vocabulary()
    parsed = parse_query("ouderen die zich alleen voelen", vocab)
    direct = {c.iri for c in parsed.direct}
    assert EENZAAMHEID in direct and OUDEREN in direct
    assert parsed.concepts[SOCIALE_EENZAAMHEID].via == "narrower"
    # "ouders" stems like "ouderen"; exact words win, so families are not named.
    assert V + "target-groups/gezinnen" not in direct


def test_expansion_goes_broader_from_a_narrow_concept() -> None:
    parsed = parse_query("75-plussers", load_vocabulary())
    narrow = V + "target-groups/75-plussers"
    assert parsed.concepts[narrow].via == "label"
    assert parsed.concepts[OUDEREN].via == "broader"
    assert parsed.concepts[OUDEREN].weight < parsed.concepts[narrow].weight


def test_a_word_inside_a_longer_label_still_counts() -> None:
    parsed = parse_query("sociale eenzaamheid", load_vocabulary())
    assert parsed.concepts[SOCIALE_EENZAAMHEID].weight == 1.0
    assert 0 < parsed.concepts[EENZAAMHEID].weight < 1.0


def test_a_label_of_function_words_matches_only_whole() -> None:
    """ "niet naar school gaan" names school absenteeism; "school" alone does not."""
    vocab = load_vocabulary()
    verzuim = V + "challenges/schoolverzuim"
    whole = parse_query("jongeren die niet naar school gaan", vocab)
    assert whole.concepts[verzuim].via == "label"
    assert verzuim not in {c.iri for c in parse_query("gezond eten op school", vocab).direct}


def test_who_delivers_is_context_not_topic() -> None:
    """Actor roles weigh less than the topic and never widen to their categories."""
    parsed = parse_query("huisarts verwijst eenzame ouderen", load_vocabulary())
    huisarts = V + "actor-roles/huisarts"
    assert 0 < parsed.concepts[huisarts].weight < parsed.concepts[OUDEREN].weight
    assert not any(
        c.scheme == "actor-roles" and c.via == "broader" for c in parsed.concepts.values()
    )


def test_facets_are_the_named_parts_of_the_question() -> None:
    parsed = parse_query("kinderen met overgewicht", load_vocabulary())
    compound = parsed.concepts[V + "target-groups/kinderen-met-overgewicht"]
    assert compound.facets == ("kinderen", "overgewicht")
    assert parsed.concepts[V + "target-groups/kinderen"].facets == ("kinderen",)
    assert parsed.concepts[V + "challenges/overgewicht"].facets == ("overgewicht",)


def test_desirable_direction_reads_effects_as_good_news_or_not() -> None:
    vocab = load_vocabulary()
    assert vocab[V + "outcomes/eenzaamheidsgevoelens"].desirable_direction == "−"
    assert vocab[V + "outcomes/arbeidsparticipatie"].desirable_direction == "+"
    assert vocab.favourable("eenzaamheidsgevoelens", "−") is True  # less loneliness
    assert vocab.favourable("eenzaamheidsgevoelens", "-") is True  # ASCII minus accepted
    assert vocab.favourable("arbeidsparticipatie", "−") is False  # less work
    assert vocab.favourable("recidive", "0") is False  # no effect is no good news
    assert vocab.favourable("eenzaamheid", "−") is True  # a challenge, via its outcome
    assert vocab.favourable("welzijn", "+") is None  # a group of outcomes has no direction
    assert vocab.favourable("iets onbekends", "+") is None
    # Every outcome that is not a group says which way is good.
    for c in vocab.scheme("outcomes"):
        assert (c.desirable_direction in ("+", "−")) == bool(c.broader), c.slug


def test_a_bad_desirable_direction_names_file_and_concept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from impact_graph.ontology import OntologyError, ontology_dir

    root = tmp_path / "ontology"
    shutil.copytree(ontology_dir(), root)
    path = root / "vocabularies" / "outcomes.ttl"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            'oc:recidive ig:desirableDirection "−"', 'oc:recidive ig:desirableDirection "down"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(OntologyError, match=r"outcomes\.ttl.*recidive.*'down'.*U\+2212"):
        load_vocabulary(root)


def test_effects_say_whether_they_are_favourable() -> None:
    from impact_graph.search.models import EffectOut

    less_lonely = EffectOut(id="e1", outcome="eenzaamheidsgevoelens", direction="−")
    assert (
        less_lonely.favourable is True and less_lonely.summary == "vermindert eenzaamheidsgevoelens"
    )
    fewer_jobs = EffectOut(id="e2", outcome="arbeidsparticipatie", direction="−")
    assert fewer_jobs.favourable is False
    assert EffectOut(id="e3", outcome="zelfvertrouwen", direction="+").favourable is None
    assert EffectOut(id="e4", outcome="recidive", direction="").favourable is None
    assert less_lonely.model_dump()["favourable"] is True


def test_result_cards_list_each_piece_of_evidence_and_badge_once() -> None:
    from impact_graph.search.models import EvidenceOut, SearchResult

    def ev(i: str, typ: str, title: str, level: str = "Goed beschreven") -> EvidenceOut:
        return EvidenceOut(id=i, type=typ, title=title, level=level, rank=1, strength=2)

    r = SearchResult(
        id="intervention:x",
        type="intervention",
        name="X",
        score=1.0,
        recognition="Goed beschreven",
        evidence=[
            ev("a", "pre-post", "Social prescribing and loneliness among older adults"),
            ev("b", "pre-post", "Title: Social prescribing and loneliness among older adults"),
            ev("c", "pre-post", "Welzijn op Recept en huisartsbezoek"),
            ev("d", "procesevaluatie", "Social prescribing and loneliness among older adults"),
        ],
    )
    assert [e.id for e in r.evidence] == ["a", "c", "d"]  # the same study counts once
    badges = [(b.type, b.level, b.count) for b in r.evidence_badges]
    assert badges == [("pre-post", "Goed beschreven", 2), ("procesevaluatie", "Goed beschreven", 1)]
    assert len(r.model_dump()["evidence_badges"]) == 2


def test_the_web_card_shows_badges_once_and_favourable_effects() -> None:
    from impact_graph.search.models import EffectOut, EvidenceOut, SearchResponse, SearchResult
    from impact_graph.web.pages import templates

    same = {"type": "pre-post", "level": "Goed beschreven", "rank": 1, "strength": 2}
    result = SearchResult(
        id="intervention:wor",
        type="intervention",
        name="Welzijn op Recept",
        score=1.0,
        recognition="Goed beschreven",
        recognition_rank=1,
        evidence=[
            EvidenceOut(id="a", title="Evaluatie A", **same),
            EvidenceOut(id="b", title="Evaluatie B", **same),
        ],
        effects=[EffectOut(id="e", outcome="eenzaamheidsgevoelens", direction="−")],
    )
    resp = SearchResponse(q="eenzaamheid", total=1, limit=10, offset=0, results=[result])
    html = (
        templates()
        .get_template("home.html")
        .render(
            q="eenzaamheid",
            resp=resp,
            selected={},
            ladder=[],
            error=None,
            limit=10,
            offset=0,
            base_query="q=eenzaamheid",
            min_recognition="",
            result_cap=150,
        )
    )
    card = html[html.index('<article class="card"') : html.index("</article>")]
    assert card.count('class="badge ev') == 1 and "pre-post ×2" in card
    assert card.count("Goed beschreven") == 1  # the recognition badge, not again per study
    assert 'class="effect favourable"' in card and "vermindert eenzaamheidsgevoelens" in card


def test_quality_boosts_count_fully_only_for_results_that_fit_the_question() -> None:
    from impact_graph.search.boost import BoostFacts, boost

    strong = {"recognition_rank": 5, "evidence_strength": 5}
    fitting = boost(BoostFacts(**strong, matched_groups_or_challenges=1))  # type: ignore[arg-type]
    off_topic = boost(BoostFacts(**strong))  # type: ignore[arg-type]
    plain = boost(BoostFacts(matched_groups_or_challenges=1))
    assert fitting > plain > 1.0 and 1.0 < off_topic < fitting
    assert off_topic - 1.0 == pytest.approx((fitting - plain) / 2)


def test_a_group_only_match_gives_partial_quality_credit() -> None:
    """Recognition and evidence count fully for a result that fits what the question is
    about, half way for one that fits only the asked group, least for one that fits
    nothing."""
    from impact_graph.search.boost import (
        GROUP_ONLY,
        GROUP_ONLY_MATCH,
        OFF_TOPIC,
        BoostFacts,
        boost,
    )

    strong = {"recognition_rank": 5, "evidence_strength": 6, "matched_groups_or_challenges": 1}
    on_topic = boost(BoostFacts(**strong))  # type: ignore[arg-type]
    group_only = boost(BoostFacts(**strong, group_only=True))  # type: ignore[arg-type]
    plain = boost(BoostFacts(matched_groups_or_challenges=1))
    plain_group = boost(BoostFacts(matched_groups_or_challenges=1, group_only=True))
    off = boost(BoostFacts(recognition_rank=5, evidence_strength=6))
    assert on_topic > group_only > plain > plain_group > 1.0
    assert group_only - plain_group == pytest.approx(GROUP_ONLY * (on_topic - plain))
    # The match itself: for whom alone counts less than what about.
    assert plain_group - 1.0 == pytest.approx(GROUP_ONLY_MATCH * (plain - 1.0))
    assert off - 1.0 == pytest.approx(OFF_TOPIC * (on_topic - plain))
    # A favourable effect on the asked outcome is a full fit, whatever the group.
    with_effect = BoostFacts(**strong, group_only=True, positive_effect_on_query=True)  # type: ignore[arg-type]
    boost(with_effect)
    assert with_effect.parts["recognition"] == pytest.approx(0.15)


def test_group_only_is_a_result_for_the_asked_group_but_not_the_asked_challenge() -> None:
    """On "thuiszitters weer naar school krijgen" an anti-bullying training for pupils
    fits the group only; an approach against school absence fits the question; and in a
    question that names only a group, the group is the whole fit."""
    from impact_graph.search.boost import BoostFacts
    from impact_graph.search.profile import Profile

    vocab = load_vocabulary()
    service = SearchService.__new__(SearchService)  # no store needed for this step
    service.vocab = vocab
    [pupils] = vocab.lookup("thuiszittende leerlingen", scheme="target-groups")
    [bullying] = vocab.lookup("pesten", scheme="challenges")
    [absence] = vocab.lookup("thuiszitten", scheme="challenges")

    def facts(q: str, challenges: set[str]) -> BoostFacts:
        parsed = parse_query(q, vocab)
        p = Profile(
            id="i1",
            type="intervention",
            name="X",
            props={},
            challenges=challenges,
            target_groups={pupils.iri},
        )
        return service._boost_facts(p, parsed, service._expanded_direct(parsed))

    asked = "thuiszitters weer naar school krijgen"
    assert facts(asked, {bullying.iri}).group_only
    assert not facts(asked, {absence.iri}).group_only
    only_group = facts("thuiszittende leerlingen", {bullying.iri})
    assert only_group.matched_groups_or_challenges == 1 and not only_group.group_only


def test_one_entity_under_two_names_is_one_result() -> None:
    from impact_graph.search.arms import ArmHits, ChunkLinks, canonical_ids, spread_all

    names = {
        "intervention:cool": "CooL",
        "intervention:cool-coaching-op-leefstijl": "CooL (Coaching op Leefstijl",
        "intervention:mst-x": "Multisysteemtherapie (MST",
        "intervention:buurtkamer": "buurtkamer",
        "workingelement:cool": "CooL",
    }
    canon = canonical_ids(names)
    assert canon["intervention:cool-coaching-op-leefstijl"] == "intervention:cool"
    assert canon["intervention:mst-x"] == "intervention:mst-x"  # no plain twin here
    assert canon["workingelement:cool"] == "workingelement:cool"  # other kind, other entity
    hits = {
        "concept": ArmHits(
            direct={"intervention:cool": 3.0, "intervention:buurtkamer": 1.0},
            names={"intervention:cool": "CooL", "intervention:buurtkamer": "buurtkamer"},
        ),
        "fulltext": ArmHits(
            direct={"intervention:cool-coaching-op-leefstijl": 0.9},
            names={"intervention:cool-coaching-op-leefstijl": "CooL (Coaching op Leefstijl"},
        ),
    }
    scores = spread_all(hits, ChunkLinks())
    assert scores["fulltext"] == {"intervention:cool": 0.9}  # merged even where alone
    assert scores["concept"] == {"intervention:cool": 3.0, "intervention:buurtkamer": 1.0}


# --- search on real stores -----------------------------------------------------------


def test_a_programmes_own_working_element_inherits_its_challenge_and_programme(
    service: SearchService, embedder: object
) -> None:
    """A reisverslag's werkzame elementen belong to the programme (HAS_PROGRAMME_ELEMENT):
    the element is found for the programme's challenge, shows the programme, and its
    profile holds the programme's challenge though no text of it names one."""
    from impact_graph.search.profile import build_profiles

    eenzaam = ("Challenge", "eenzaam", {"concept": EENZAAMHEID, "id": "challenge:eenzaamheid"})
    element = "workingelement:bewoners-aan-het-stuur"
    service.store.upsert_batch(
        _doc(
            "reisverslag",
            "Bewoners aan het stuur: afspraken die bewoners zelf maakten, hielden stand.",
            embedder,
            [
                ("Programme", "Samen Minder Alleen", {}),
                eenzaam,
                ("WorkingElement", "bewoners aan het stuur", {"id": element}),
            ],
            [
                ("Samen Minder Alleen", "ADDRESSES", "eenzaam"),
                ("Samen Minder Alleen", "HAS_PROGRAMME_ELEMENT", "bewoners aan het stuur"),
            ],
        )
    )
    [p] = build_profiles(service.store, service.vocab, [element]).values()
    assert EENZAAMHEID in p.challenges
    assert [(r.name, r.via) for r in p.programmes.values()] == [("Samen Minder Alleen", "uses")]
    assert p.interventions == {}
    scores, _ = service.run_arms(parse_query("eenzaamheid", service.vocab), ["concept"])
    assert element in scores["concept"]


def test_every_arm_finds_something_and_agreement_ranks_first(service: SearchService) -> None:
    parsed = parse_query("ouderen die zich eenzaam voelen", service.vocab)
    scores, notes = service.run_arms(parsed)
    assert notes == []
    for arm in ("concept", "fulltext", "vector"):
        assert scores[arm], f"the {arm} arm found nothing"
    wor = make_id("Intervention", "Welzijn op Recept")
    res = service.search(
        SearchRequest(
            q="ouderen die zich eenzaam voelen",
            explain=True,
            filters=SearchFilters(type=["intervention"]),
        )
    )
    top = res.results[0]
    assert top.id == wor
    assert top.explain is not None
    assert all(top.explain[a].rank is not None for a in ("concept", "fulltext", "vector"))
    assert {c.label for c in top.matched_concepts} >= {"eenzaamheid", "ouderen"}
    assert top.programmes[0].name == "Samen Minder Alleen" and top.programmes[0].via == "uses"
    assert top.areas == ["Wadstede"]
    assert top.effects[0].outcome == "eenzaamheidsgevoelens"
    assert top.evidence[0].type == "pre-post" and top.evidence[0].level == "Goed beschreven"


def test_an_effect_the_right_way_counts_more_than_one_the_wrong_way(
    service: SearchService, embedder: object
) -> None:
    """Two interventions with an effect on loneliness: the one that lowers it is the
    answer (ig:desirableDirection "−"), the one that raises it only a weak match."""
    lonely = V + "outcomes/eenzaamheidsgevoelens"
    text = "Het Koffie-uurtje en het Contactcafe zijn onderzocht op eenzaamheidsgevoelens."
    effects = [
        (name, "Effect", f"{name} effect", {"outcome": "eenzaamheidsgevoelens", "direction": d})
        for name, d in (("Koffie-uurtje", "−"), ("Contactcafe", "+"))
    ]
    batch = _doc(
        "effecten",
        text,
        embedder,
        [("Intervention", name, {}) for name, *_ in effects]
        + [(label, ename, {**props, "concept": lonely}) for _, label, ename, props in effects],
        [(name, "HAS_EFFECT", ename) for name, _, ename, _ in effects],
    )
    service.store.upsert_batch(batch)
    scores, _ = service.run_arms(parse_query("eenzaamheidsgevoelens", service.vocab), ["concept"])
    good = scores["concept"][make_id("Intervention", "Koffie-uurtje")]
    bad = scores["concept"][make_id("Intervention", "Contactcafe")]
    assert good > bad > 0


def test_a_working_element_inherits_the_challenge_of_its_intervention(
    service: SearchService,
) -> None:
    """No fact ties "warme overdracht" to loneliness itself; Welzijn op Recept, which
    has it, addresses loneliness, so the concept arm finds it (at a lower weight)."""
    from impact_graph.search import arms as arms_mod

    parsed = parse_query("eenzaamheid", service.vocab)
    hits = arms_mod.concept_hits(service.store, parsed, service.vocab, service._concept_labels)
    wor = hits.direct[make_id("Intervention", "Welzijn op Recept")]
    assert 0 < hits.direct["workingelement:warme-overdracht"] < wor
    assert hits.names["workingelement:warme-overdracht"] == "warme overdracht"


def test_quotes_carry_spans_that_match_the_chunk_text(service: SearchService) -> None:
    res = service.search(SearchRequest(q="eenzame ouderen huisarts", limit=20))
    quotes = [q for r in res.results for q in r.quotes]
    assert quotes
    chunks = {n["id"]: n for n in service.store.get_nodes([q.chunk_id for q in quotes])}
    for q in quotes:
        assert chunks[q.chunk_id]["text"][q.start : q.end] == q.text
        assert q.document_id.startswith("document:")


def test_filters_narrow_and_facets_count(service: SearchService) -> None:
    everything = service.search(SearchRequest(q="ouderen jongeren eenzaam strafbaar", limit=50))
    kinds = {r.type for r in everything.results}
    assert {"intervention", "chunk"} <= kinds
    for facet in everything.facets["type"]:
        assert facet.count == sum(r.type == facet.value for r in everything.results)
    narrowed = service.search(
        SearchRequest(
            q="ouderen jongeren eenzaam strafbaar",
            limit=50,
            filters=SearchFilters(challenge=["eenzaamheid"], type=["intervention"]),
        )
    )
    assert [r.name for r in narrowed.results] == ["Welzijn op Recept"]
    assert narrowed.total == 1
    [challenge] = [f for f in narrowed.facets["challenge"] if f.value == "eenzaamheid"]
    assert challenge.count == 1
    by_group = service.search(
        SearchRequest(
            q="ouderen jongeren eenzaam strafbaar",
            filters=SearchFilters(target_group=["jongeren"], type=["intervention"]),
        )
    )
    assert [r.name for r in by_group.results] == ["Halt-afdoening"]


def test_minimum_recognition_level(service: SearchService) -> None:
    req = SearchRequest(
        q="ouderen",
        filters=SearchFilters(min_recognition="Goed onderbouwd", type=["intervention"]),
    )
    assert [r.name for r in service.search(req).results] == ["Buurtkamer"]
    req.filters.min_recognition = "Goed beschreven"
    names = {r.name for r in service.search(req).results}
    assert names == {"Buurtkamer", "Welzijn op Recept"}


def test_working_elements_across_programmes(service: SearchService) -> None:
    res = service.working_elements(target_group="ouderen")
    [warm] = [w for w in res.results if w.name == "warme overdracht"]
    assert {i.name for i in warm.interventions} == {"Welzijn op Recept", "Buurtkamer"}
    assert {p.name for p in warm.programmes} == {"Samen Minder Alleen", "Zilver in de Wijk"}
    assert service.working_elements(challenge="jeugdcriminaliteit").total == 0


def test_evidence_map_cells(service: SearchService) -> None:
    m = service.evidence_map("intervention", "outcome")
    cells = {(c.row, c.col): c for c in m.cells}
    wor = cells[(make_id("Intervention", "Welzijn op Recept"), "eenzaamheidsgevoelens")]
    assert wor.evidence == 1 and wor.strongest_level == "Goed beschreven"
    halt = cells[(make_id("Intervention", "Halt-afdoening"), "recidive")]
    assert halt.evidence == 1 and halt.strongest_type == "RCT"
    by_group = service.evidence_map("working_element", "target_group")
    assert {(c.row, c.col) for c in by_group.cells} == {
        ("workingelement:warme-overdracht", "ouderen")
    }


TEXT_ZILVERHOF = (
    "In Zilverhof opende de Buurtkamer Zilverhof, een buurtkamer voor ouderen die "
    "zich alleen voelen. Het programma Zilverhof Samen zet de Buurtkamer Zilverhof in."
)


def test_local_instance_names_its_general_intervention_without_its_rating(
    service: SearchService, embedder: object
) -> None:
    """A local instance (INSTANCE_OF) shows which general intervention it is a version
    of; the general intervention lists its instances with the programmes that use them.
    Neither takes the other's recognition: "Buurtkamer" is rated, its instance is not."""
    service.store.upsert_batch(
        _doc(
            "zilverhof",
            TEXT_ZILVERHOF,
            embedder,
            [
                ("Intervention", "Buurtkamer Zilverhof", {}),
                ("Intervention", "Buurtkamer", {}),
                ("Programme", "Zilverhof Samen", {}),
            ],
            [
                ("Buurtkamer Zilverhof", "INSTANCE_OF", "Buurtkamer"),
                ("Zilverhof Samen", "USES", "Buurtkamer Zilverhof"),
            ],
        )
    )
    general, local = make_id("Intervention", "Buurtkamer"), "intervention:buurtkamer-zilverhof"
    res = service.search(
        SearchRequest(
            q="buurtkamer voor ouderen", limit=20, filters=SearchFilters(type=["intervention"])
        )
    )
    by_id = {r.id: r for r in res.results}
    assert {general, local} <= set(by_id)
    assert [(g.id, g.name) for g in by_id[local].instance_of] == [(general, "Buurtkamer")]
    assert by_id[local].recognition == "" and by_id[local].recognition_rank is None
    assert by_id[general].recognition == "Goed onderbouwd"
    [inst] = by_id[general].instances
    assert (inst.id, inst.name, inst.recognition) == (local, "Buurtkamer Zilverhof", "")
    assert [p.name for p in inst.programmes] == ["Zilverhof Samen"]
    assert by_id[general].instance_of == [] and by_id[local].instances == []
    # The minimum-recognition filter judges each by its own rating.
    rated = service.search(
        SearchRequest(
            q="buurtkamer voor ouderen",
            filters=SearchFilters(min_recognition="Goed onderbouwd", type=["intervention"]),
        )
    )
    assert [r.id for r in rated.results] == [general]


def test_evidence_map_reaches_programme_elements(service: SearchService, embedder: object) -> None:
    """A programme's own working element (HAS_PROGRAMME_ELEMENT) gets a row of the map
    through its programme's target groups, counting the evidence its programme's own
    documents state for it -- not the evidence another document gives the same element."""
    text = "Zilver in de Wijk leerde: vaste gezichten maken het verschil voor ouderen."
    service.store.upsert_batch(
        _doc(
            "zilver-reisverslag",
            text,
            embedder,
            [
                ("Programme", "Zilver in de Wijk", {}),
                ("TargetGroup", "ouderen", {"concept": OUDEREN, "id": "targetgroup:ouderen"}),
                ("WorkingElement", "vaste gezichten", {}),
                ("Evidence", "reisverslag zilver", {"evidence_type": "reisverslag"}),
            ],
            [
                ("Zilver in de Wijk", "TARGETS", "ouderen"),
                ("Zilver in de Wijk", "HAS_PROGRAMME_ELEMENT", "vaste gezichten"),
                ("vaste gezichten", "SUPPORTED_BY", "reisverslag zilver"),
            ],
        )
    )
    service.store.upsert_batch(
        _doc(
            "elders",
            "Elders bleken vaste gezichten ook te helpen.",
            embedder,
            [
                ("WorkingElement", "vaste gezichten", {}),
                ("Evidence", "studie elders", {"evidence_type": "RCT"}),
            ],
            [("vaste gezichten", "SUPPORTED_BY", "studie elders")],
        )
    )
    element = make_id("WorkingElement", "vaste gezichten")
    m = service.evidence_map("working_element", "target_group")
    cells = {(c.row, c.col): c for c in m.cells}
    cell = cells[(element, "ouderen")]
    assert (cell.evidence, cell.strongest_type, cell.strongest_level) == (1, "reisverslag", "")
    assert element in {r.id for r in m.rows}
    # The interventions' elements are still there, and outcomes stay interventions' facts.
    assert ("workingelement:warme-overdracht", "ouderen") in cells
    assert element not in {r.id for r in service.evidence_map("working_element", "outcome").rows}


@pytest.mark.parametrize(
    ("request_kwargs", "needle"),
    [
        ({"q": "   "}, "q:"),
        ({"q": "x" * 501}, "at most 500"),
        ({"q": "eenzaamheid", "limit": -1}, "limit:"),
        ({"q": "eenzaamheid", "limit": 10_000}, "limit:"),
        ({"q": "eenzaamheid", "offset": -5}, "offset:"),
        ({"q": "eenzaamheid", "filters": {"challenge": ["maanlanding"]}}, "e.g."),
        ({"q": "eenzaamheid", "filters": {"min_recognition": "heel goed"}}, "Goed onderbouwd"),
        ({"q": "eenzaamheid", "filters": {"area": ["Atlantis"]}}, "Wadstede"),
        ({"q": "eenzaamheid", "filters": {"evidence_type": ["horoscoop"]}}, "RCT"),
    ],
)
def test_bad_input_is_one_sentence_naming_the_parameter(
    service: SearchService, request_kwargs: dict[str, object], needle: str
) -> None:
    with pytest.raises(ValueError, match=needle):
        service.search(SearchRequest.model_validate(request_kwargs))


def test_bad_map_and_paging_parameters(service: SearchService) -> None:
    with pytest.raises(ValueError, match="rows: 'programme'"):
        service.evidence_map("programme", "outcome")
    with pytest.raises(ValueError, match="cols:"):
        service.evidence_map("intervention", "area")
    with pytest.raises(ValueError, match="limit:"):
        service.working_elements(limit=0)


# --- speed: round trips and query plans ------------------------------------------------


def _recorded_queries(service: SearchService, request: SearchRequest) -> list[tuple[str, dict]]:
    """The read_query calls one search makes (text and parameters)."""
    seen: list[tuple[str, dict]] = []
    store = service.store
    original = store.read_query

    def recording(query: str, params: dict | None = None, **kw: object):  # type: ignore[no-untyped-def]
        seen.append((query, dict(params or {})))
        return original(query, params, **kw)  # type: ignore[arg-type]

    store.read_query = recording  # type: ignore[method-assign]
    try:
        service.search(request)
    finally:
        del store.read_query  # back to the class's method
    return seen


def _scans(store: GraphStore, query: str, params: dict) -> list[str]:
    """Plan operators that read every node (or every node of a label) for ``query``."""
    inner = getattr(store, "inner", store)
    if store.backend == "falkordb":
        plan = str(inner.graph.explain(query, params))  # type: ignore[attr-defined]
        return [
            line.strip() for line in plan.splitlines() if "Scan" in line and "Index" not in line
        ]
    with inner.driver.session() as session:  # type: ignore[attr-defined]
        summary = session.run("EXPLAIN " + query, params).consume()
    found, stack = [], [summary.plan or {}]
    while stack:
        op = stack.pop()
        stack.extend(op.get("children", []))
        name = str(op.get("operatorType", "")).split("@")[0]
        if name in ("AllNodesScan", "NodeByLabelScan"):
            found.append(f"{name} {(op.get('args') or {}).get('Details', '')}")
    return found


#: Labels small enough to read whole (a municipality has a handful of programmes).
SMALL_LABELS = ("Programme",)


def test_a_search_is_a_few_round_trips_without_full_scans(service: SearchService) -> None:
    """Cost must not grow with the graph: a search is a fixed handful of queries, and none
    of them reads every node (FalkorDB plans a label test on an unbound node as a scan
    of all nodes unless it comes after a WITH; Neo4j shows it as AllNodesScan)."""
    request = SearchRequest(q="wat helpt tegen eenzaamheid bij ouderen", limit=10)
    queries = _recorded_queries(service, request)
    # concept nodes + concept paths + chunk links + three profile queries (the first in
    # two halves sent side by side) + quotes
    assert len(queries) <= 7, [q[:60] for q, _ in queries]
    for query, params in queries:
        scans = [
            s for s in _scans(service.store, query, params) if not any(x in s for x in SMALL_LABELS)
        ]
        assert scans == [], f"{query[:80]}... plans {scans}"


def test_results_do_not_depend_on_the_candidate_hint(service: SearchService) -> None:
    """Profiles built with and without knowing which ids are chunks agree."""
    from impact_graph.search.profile import build_profiles

    res = service.search(SearchRequest(q="ouderen eenzaam huisarts jongeren", limit=50))
    ids = [r.id for r in res.results]
    chunks = {r.id for r in res.results if r.type == "chunk"}
    assert chunks and len(chunks) < len(ids)
    hinted = build_profiles(service.store, service.vocab, ids, chunk_ids=chunks)
    plain = build_profiles(service.store, service.vocab, ids)
    assert hinted.keys() == plain.keys()
    for i in ids:
        a, b = hinted[i], plain[i]
        assert (a.type, a.challenges, a.target_groups, a.documents, a.programmes, a.areas) == (
            b.type,
            b.challenges,
            b.target_groups,
            b.documents,
            b.programmes,
            b.areas,
        )
        assert sorted(a.chunks) == sorted(b.chunks)


def test_working_elements_inherit_from_interventions_and_name_their_documents(
    service: SearchService,
) -> None:
    from impact_graph.search.profile import build_profiles

    warm = "workingelement:warme-overdracht"
    [p] = build_profiles(service.store, service.vocab, [warm]).values()
    assert p.type == "working_element"
    assert set(p.interventions.values()) == {"Welzijn op Recept", "Buurtkamer"}
    assert EENZAAMHEID in p.challenges and OUDEREN in p.target_groups
    assert {r.via for r in p.programmes.values()} == {"uses"}
    assert set(p.documents.values()) == {"wor", "buurtkamer"}
    assert p.areas == {make_id("Area", "Wadstede"): "Wadstede"}


@pytest.mark.parametrize(
    ("direction", "boosted"),
    [("−", True), ("+", False), ("0", False)],
)
def test_only_favourable_effects_on_the_asked_outcome_boost(direction: str, boosted: bool) -> None:
    """Lower loneliness is what the asker wants; higher loneliness or no change is not."""
    from impact_graph.search.models import EffectOut
    from impact_graph.search.profile import Profile

    vocab = load_vocabulary()
    service = SearchService.__new__(SearchService)  # no store needed for this step
    service.vocab = vocab
    parsed = parse_query("eenzaamheidsgevoelens verminderen", vocab)
    concept = "http://example.org/unused"
    eff = EffectOut(id="e1", outcome="eenzaamheidsgevoelens", direction=direction)
    p = Profile(id="i1", type="intervention", name="X", props={}, effects=[(eff, concept, None)])
    facts = service._boost_facts(p, parsed, set())
    assert facts.positive_effect_on_query is boosted


# --- nothing found: the vector arm's floor ---------------------------------------------


def test_a_nonsense_query_finds_nothing_and_says_so(service: SearchService) -> None:
    """The vector arm always has nearest neighbours; below the floor, alone, they are no
    results, so a query no arm really matches answers an empty list with a sentence."""
    res = service.search(SearchRequest(q="xyzzy qwerty", limit=50))
    assert "vector" in res.arms  # the arm ran; its hits were too far
    assert res.total == 0 and res.results == []
    assert any(
        n.startswith("Nothing was found for 'xyzzy qwerty'") and "other or fewer words" in n
        for n in res.notes
    ), res.notes


def test_without_the_floor_the_vector_arm_alone_would_answer(
    service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The floor, not an arm failing, is what empties the nonsense query."""
    from impact_graph.search import service as service_mod

    monkeypatch.setattr(service_mod, "VECTOR_FLOOR", 0.0)
    res = service.search(SearchRequest(q="xyzzy qwerty", limit=50))
    assert res.total > 0
    assert not any(n.startswith(service_mod.NOTHING_FOUND) for n in res.notes)


def test_a_weak_vector_hit_stays_when_another_arm_found_it(
    service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a floor no hit reaches, the results are exactly what the concept and
    fulltext arms found, in the same order as without the floor among themselves."""
    from impact_graph.search import service as service_mod

    q = "ouderen die zich eenzaam voelen"
    req = SearchRequest(q=q, limit=50, explain=True)
    monkeypatch.setattr(service_mod, "VECTOR_FLOOR", 0.0)
    open_ = service.search(req)
    monkeypatch.setattr(service_mod, "VECTOR_FLOOR", 1.01)
    floored = service.search(req)
    assert floored.results, "the concept and fulltext arms found nothing"
    other_arms = [
        r.id
        for r in open_.results
        if r.explain and (r.explain["concept"].rank or r.explain["fulltext"].rank)
    ]
    assert [r.id for r in floored.results] == other_arms
    assert len(other_arms) < len(open_.results), "no vector-only result to drop"
    for r in floored.results:
        assert r.explain is not None and r.explain["vector"] == next(
            o.explain["vector"] for o in open_.results if o.id == r.id and o.explain
        )  # the vector arm's own ranking (and so the fused score) is unchanged


def test_nothing_left_after_filters_says_to_remove_one(service: SearchService) -> None:
    res = service.search(
        SearchRequest(
            q="ouderen die zich eenzaam voelen",
            filters=SearchFilters(challenge=["jeugdcriminaliteit"], target_group=["ouderen"]),
        )
    )
    assert res.total == 0
    assert any("with these filters" in n and "remove a filter" in n for n in res.notes)


def test_the_web_page_says_niets_gevonden_in_dutch() -> None:
    """The page shows the service's English notes in Dutch, and an empty answer's note as
    the sentence of the empty list (no store: the template renders a made-up answer)."""
    from impact_graph.search.models import SearchResponse
    from impact_graph.search.service import NO_EMBEDDER, _nothing_found
    from impact_graph.web.pages import page, search_notes_nl

    notes = [NO_EMBEDDER, _nothing_found("xyzzy", found=False)]
    shown, nothing = search_notes_nl(notes)
    assert nothing is not None and nothing.startswith("Niets gevonden: geen woord")
    assert len(shown) == 1 and "taalmodel" in shown[0] and "vector arm" not in shown[0]
    filtered = search_notes_nl([_nothing_found("x", found=True)])[1]
    assert filtered is not None and "filter" in filtered
    failed, _ = search_notes_nl(["The fulltext arm failed and was left out: timeout."])
    assert failed == [
        "Zoeken op woorden mislukte en deed niet mee (timeout.); de overige resultaten "
        "staan hieronder. Probeer het later opnieuw."
    ]
    resp = SearchResponse(q="xyzzy", total=0, limit=10, offset=0, results=[], notes=notes)
    html = page(
        "home.html",
        q="xyzzy",
        resp=resp,
        notes=shown,
        nothing_found=nothing,
        selected={k: [] for k in ("challenge", "target_group", "area", "programme")}
        | {"evidence_type": [], "type": []},
        min_recognition="",
        ladder=[],
        error=None,
        limit=10,
        offset=0,
        result_cap=150,
        base_query="q=xyzzy",
    ).body.decode()
    assert "Niets gevonden: geen woord van de zoekvraag" in html
    assert "The vector arm" not in html and "Nothing was found" not in html
    assert "Zoeken op betekenis (het taalmodel) deed niet mee" in html


# --- questions of only common words ----------------------------------------------------


@pytest.mark.parametrize("q", ["de het een", "van de", "the a", "De, het?", "wat werkt"])
def test_a_question_of_only_stop_words_is_recognised(q: str) -> None:
    assert parse_query(q, load_vocabulary()).only_common_words


@pytest.mark.parametrize("q", ["de eenzaamheid", "eenzaamheid", "xyzzy", "???", "aan het werk"])
def test_a_question_with_a_word_that_means_something_is_searched(q: str) -> None:
    """A topic word beside stop words, an unknown word, no words at all ("???": the
    vector floor's case), and a label made mostly of function words ("aan het werk")."""
    assert not parse_query(q, load_vocabulary()).only_common_words


def test_the_stop_words_are_spacys_lists() -> None:
    """spaCy's Dutch and English lists are read, not a new hand list: "echter" and
    "afgelopen" are only in spaCy's Dutch list, "whereafter" only in its English one."""
    from impact_graph.search.query import STOP_WORDS, common_words

    for w in ("echter", "afgelopen", "whereafter"):
        assert w not in STOP_WORDS and w in common_words()
        assert parse_query(w, load_vocabulary()).only_common_words


def test_spacys_stop_words_are_read_without_importing_spacy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The list is read from spaCy's file (importing spaCy loads torch, ~2 s CPU) and is
    the same as the one spaCy's own module holds."""
    import sys

    from spacy.lang.nl.stop_words import STOP_WORDS as SPACY_NL

    from impact_graph.search import query as query_mod
    from impact_graph.vocab import fold

    for name in [m for m in sys.modules if m == "spacy" or m.startswith("spacy.")]:
        monkeypatch.delitem(sys.modules, name)
    from_file = query_mod._spacy_stop_words("nl")
    assert "spacy" not in sys.modules
    assert from_file == {fold(w.replace("\u2019", "'")) for w in SPACY_NL}


def test_only_stop_words_find_nothing_and_say_why_in_dutch(
    service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No arm runs and the answer says why (English note for the API, Dutch hint for
    people). Without the check the same question is searched: the corpus's chunks all
    hold "de", so it answered them."""
    from impact_graph.search import query as query_mod
    from impact_graph.search import service as service_mod

    res = service.search(SearchRequest(q="de het een", limit=50))
    assert res.total == 0 and res.results == [] and res.arms == []
    assert res.hint == service_mod.ONLY_COMMON_WORDS_NL
    assert res.hint.startswith("Uw zoekvraag bevat alleen veelvoorkomende woorden")
    assert len(res.notes) == 1 and res.notes[0].startswith(service_mod.NOTHING_FOUND)
    assert "only common words" in res.notes[0]
    assert set(res.facets) == set(service_mod.FACETS)

    monkeypatch.setattr(query_mod.ParsedQuery, "only_common_words", property(lambda self: False))
    assert service.search(SearchRequest(q="de het een", limit=50)).total > 0


def test_a_stop_word_beside_a_topic_is_searched_as_before(service: SearchService) -> None:
    res = service.search(SearchRequest(q="de eenzaamheid", limit=50))
    assert res.hint is None
    assert make_id("Intervention", "Welzijn op Recept") in {r.id for r in res.results}
    assert not any(n.startswith("Nothing was found") for n in res.notes)
    nonsense = service.search(SearchRequest(q="xyzzy qwerty"))
    assert nonsense.hint is None  # the floor's empty answer keeps its own sentence


def test_bad_filters_are_refused_before_the_stop_word_answer(service: SearchService) -> None:
    with pytest.raises(ValueError, match="challenge"):
        service.search(SearchRequest(q="de het", filters=SearchFilters(challenge=["bestaatniet"])))
