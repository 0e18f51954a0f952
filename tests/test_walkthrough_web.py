"""The web UI's Dutch wording for what the stores and the ingest say in English or in
codes (walk-through of a new user, H20): no database needed, the functions and the
templates are called directly. The pages themselves are tested in tests/test_web.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from impact_graph.web.pages import (
    distinct_neighbours,
    entity_properties,
    kind_reason_nl,
    network_error_nl,
    network_note_nl,
    templates,
    type_names_nl,
)


@pytest.mark.parametrize(
    ("reason", "dutch"),
    [
        ("folder 'research'", "de map 'research'"),
        ("front matter kind: plan", "de kop van het bestand (soort: plan)"),
        ("--kind story", "de keuze bij het inlezen (--kind story)"),
        ("default for records: research", "de standaard voor records (onderzoek)"),
        (
            "detected: no cue words found, so the default 'plan'",
            "de standaard 'plan' (geen kenmerkende woorden gevonden)",
        ),
        (
            "detected: 3 policy cue words (raad, college, besluit)",
            "3 kenmerkende woorden (raad, college, besluit)",
        ),
        (
            "detected: 9 first-person words (ik, mijn)",
            "9 woorden in de ik-vorm (ik, mijn)",
        ),
        ("iets anders", "iets anders"),
    ],
)
def test_kind_reasons_are_said_in_dutch(reason: str, dutch: str) -> None:
    assert kind_reason_nl(reason) == dutch


def test_entity_properties_are_dutch_ordered_and_without_bookkeeping() -> None:
    props = {
        "name": "Halt-afdoening",
        "key": "halt-afdoening",
        "rule": "phrase:lower",
        "status": "vocabulary",
        "aliases": ["Halt-straf", "naar Halt"],
        "mention_count": 4,
        "kind": "story",
        "language": "en",
        "direction": "-",
        "sample_size": 57,
        "new_property": "x",
        "source_url": "https://a.example/plan",
        "url": "https://a.example/plan",
        "empty": "",
    }
    shown = entity_properties(props)
    assert shown == [
        ("Soort document", "verhaal"),
        ("Herkomst van de naam", "uit een vocabulaire"),
        ("Andere namen", "Halt-straf, naar Halt"),
        ("Richting", "negatief (−)"),
        ("Aantal deelnemers", "57"),
        ("Taal", "Engels"),
        ("Bron op internet", "https://a.example/plan"),
        ("new_property", "x"),  # a property the page has no name for still shows
    ]


def test_every_node_class_has_a_dutch_name() -> None:
    from impact_graph.ontology import load_schema

    names = type_names_nl()
    for c in load_schema().node_classes:
        assert names[c.label] != c.label or c.label in ("Effect", "Document", "Actor")
    assert names["Actor"] == "Betrokkene" and names["TargetGroup"] == "Doelgroep"


def test_distinct_neighbours_keeps_one_row_per_link() -> None:
    def n(rel: str, nid: str, docs: int, direction: str = "out") -> SimpleNamespace:
        return SimpleNamespace(relationship=rel, direction=direction, id=nid, documents=docs)

    rows = [n("MENTIONS", "tg:jongeren", 1), n("MENTIONS", "tg:jongeren", 3), n("MENTIONS", "x", 1)]
    rows.append(n("MENTIONS", "tg:jongeren", 1, "in"))
    out = distinct_neighbours(rows)
    assert [(r.id, r.direction, r.documents) for r in out] == [
        ("tg:jongeren", "out", 3),
        ("x", "out", 1),
        ("tg:jongeren", "in", 1),
    ]


def test_network_notes_and_errors_in_dutch() -> None:
    # The notes are Dutch at their source (network.build, H60); the page only names the
    # API's parameter as its checkbox.
    assert "isolated=true" not in network_note_nl(
        "3 betrokkene(n) zonder verbinding weggelaten (isolated=true toont ze)."
    )
    form = {"focus": "", "programme": "Nergens", "area": "", "challenge": "", "role": "", "q": ""}
    choices = {"programmes": ["Samen Minder Alleen"], "areas": [], "challenges": [], "nodes": []}
    msg = network_error_nl(
        ValueError("programme: 'Nergens' is not a known programme"), form, choices
    )
    assert msg.startswith("Programma 'Nergens' komt in de kennisgraaf niet voor")
    assert "Samen Minder Alleen" in msg
    # A sentence of another shape is passed on, as a sentence.
    assert network_error_nl(ValueError("something else."), form, choices) == "Something else."


@pytest.mark.parametrize(
    ("total", "summary"),
    [(150, "De 150 best passende resultaten"), (1, "1 resultaat"), (7, "7 resultaten")],
)
def test_search_summary_says_when_the_list_is_capped(total: int, summary: str) -> None:
    """The search keeps the 150 best candidates, so a total of 150 means "at least":
    the page said "150 resultaten" for every broad question."""
    resp = SimpleNamespace(
        total=total, q="eenzaamheid", matched_concepts=[], notes=[], results=[], facets={}
    )
    html = (
        templates()
        .get_template("home.html")
        .render(
            q="eenzaamheid",
            selected={
                k: []
                for k in ("type", "challenge", "target_group", "area", "programme", "evidence_type")
            },
            min_recognition="",
            ladder=[],
            resp=resp,
            error=None,
            limit=10,
            offset=0,
            base_query="q=eenzaamheid",
            result_cap=150,
        )
    )
    assert f'role="status">{summary} voor <strong>eenzaamheid</strong>' in html


def test_home_page_offers_an_example_for_each_of_the_seven_themes() -> None:
    """The home page had four examples (loneliness, refugees at work, school absence,
    overweight); youth crime, liveability and CO2 had none."""
    import re

    html = (
        templates()
        .get_template("home.html")
        .render(q="", selected={}, min_recognition="", ladder=[], resp=None, error=None)
    )
    examples = re.findall(r'<a href="/\?q=([^"]+)">', html)
    assert len(examples) == 7
    for word in (
        "eenzaamheid",
        "statushouders",
        "thuiszitters",
        "overgewicht",
        "criminaliteit",
        "leefbaarheid",
        "CO2",
    ):
        assert any(word in e for e in examples), word
