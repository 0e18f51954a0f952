"""The pages as a Dutch programme manager reads them (H68, after H66's walk through
``make demo``): incoming links in the reader's direction, no ids or character offsets up
front, no English field names or graph-theory words. No database: the functions and the
templates are called directly; tests/test_web.py has the same on the real pages."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from rdflib import Graph

from impact_graph.network.build import isolated_note, number_nl
from impact_graph.network.render import REL_NL, TYPE_NL, counted_nl, render_summary
from impact_graph.ontology import inverse_labels, load_schema
from impact_graph.vocab import load_vocabulary
from impact_graph.web.pages import (
    challenge_example,
    entity_properties,
    for_researchers,
    kind_reason_nl,
    network_note_nl,
    relation_nl,
    templates,
)


def test_every_relationship_has_a_dutch_reverse_reading() -> None:
    """Each object property carries an ig:inverseLabel@nl, so an incoming link is never
    shown as the forward label with "(inkomend)"; only a symmetric one reads the same
    both ways."""
    inverse = inverse_labels("nl")
    rels = load_schema().rel_types
    assert set(inverse) == {r.type for r in rels}
    for r in rels:
        assert inverse[r.type].strip(), r.type
        assert (inverse[r.type] == r.label_nl) == r.symmetric, r.type
    assert inverse["DELIVERS"] == "wordt uitgevoerd door"
    assert inverse_labels("en")["DELIVERS"] == "is delivered by"


def test_inverse_labels_come_from_the_ontology_graph() -> None:
    """Derived, not restated: a graph whose property has no ig:inverseLabel gives none,
    and one that has gets exactly its text."""
    ttl = """
    @prefix ig: <https://w3id.org/impact-graph/ontology#> .
    @prefix owl: <http://www.w3.org/2002/07/owl#> .
    ig:fundsTwice a owl:ObjectProperty ; ig:inverseLabel "wordt twee keer betaald door"@nl .
    ig:plain a owl:ObjectProperty .
    """
    g = Graph().parse(data=ttl, format="turtle")
    assert inverse_labels("nl", g) == {"FUNDS_TWICE": "wordt twee keer betaald door"}
    assert inverse_labels("en", g) == {}


def test_relation_reads_from_the_page_s_node() -> None:
    assert relation_nl("DELIVERS", "out") == REL_NL["DELIVERS"] == "voert uit"
    assert relation_nl("DELIVERS", "in") == "wordt uitgevoerd door"
    assert relation_nl("MENTIONS", "in") == "wordt genoemd in"
    # A type the ontology gives no reverse reading keeps the old wording.
    assert relation_nl("ONBEKEND", "in") == "ONBEKEND (inkomend)"


def _entity_html(
    label: str, props: dict[str, Any], links: list[Any], quotes: list[Any] | None = None
) -> str:
    e = SimpleNamespace(
        id="intervention:buurtkamer-wadstede",
        name="Buurtkamer Wadstede",
        label=label,
        properties=props,
        neighbours=SimpleNamespace(total=len(links), items=links),
        provenance=SimpleNamespace(total=len(quotes or []), items=quotes or []),
        documents=[],
    )
    return (
        templates()
        .get_template("entity.html")
        .render(
            e=e,
            props=entity_properties(props, label),
            links=links,
            links_cut=False,
            fragments=[],
            focusable=False,
            instance_of=[],
            instances=[],
            stated_in=[],
            research=for_researchers(e.id, label, props),
        )
    )


def test_entity_page_says_incoming_links_forwards_and_keeps_the_id_for_researchers() -> None:
    link = SimpleNamespace(
        relationship="DELIVERS",
        direction="in",
        id="actor:bibliotheek-wadstede",
        name="Bibliotheek <Wadstede>",
        label="Actor",
        documents=2,
    )
    html = _entity_html("Intervention", {"name": "Buurtkamer Wadstede"}, [link])
    row = re.search(r"<tr><td>([^<]*)</td>\s*<td><a [^>]*>([^<]*)</a>", html)
    assert row and row.groups() == ("wordt uitgevoerd door", "Bibliotheek &lt;Wadstede&gt;")
    assert "(inkomend)" not in html
    crumbs = re.search(r'<p class="crumbs">(.*?)</p>', html, re.S)
    assert crumbs and "intervention:buurtkamer-wadstede" not in crumbs.group(1)
    research = re.search(r'<details class="for-researchers">(.*?)</details>', html, re.S)
    assert research and "<summary>Voor onderzoekers</summary>" in research.group(1)
    assert "<code>intervention:buurtkamer-wadstede</code>" in research.group(1)
    assert 'href="/entities/intervention%3Abuurtkamer-wadstede"' in research.group(1)


def test_fragment_page_keeps_character_positions_for_researchers_only() -> None:
    props = {"name": "Reisverslag #2", "text": "De buurtkamer is open.", "start": 120, "end": 142}
    shown = dict(entity_properties(props, "Chunk"))
    assert "Tekst" in shown
    assert not any("teken" in name.lower() for name in shown), shown
    html = _entity_html("Chunk", props, [])
    before, _, research = html.partition('<details class="for-researchers">')
    assert "120" not in before and "142" not in before
    assert "<dt>Tekenposities in het document</dt><dd><code>120–142</code></dd>" in research
    # Only a fragment has positions to give.
    assert len(for_researchers("x:y", "Actor", {"start": 1, "end": 2})) == 1


@pytest.mark.parametrize(
    ("reason", "dutch"),
    [
        ("front matter kind: plan", "de kop van het bestand (soort: plan)"),
        ("front matter kind: story", "de kop van het bestand (soort: verhaal)"),
    ],
)
def test_document_kind_reason_names_the_field_in_dutch(reason: str, dutch: str) -> None:
    assert kind_reason_nl(reason) == dutch
    assert "kind:" not in kind_reason_nl(reason)


def test_network_counts_say_what_the_nodes_are() -> None:
    nodes = [{"type": "Actor"}] * 70 + [{"type": "Programme"}] * 16
    assert counted_nl(nodes) == "70 betrokkenen en 16 programma's"
    three = [{"type": "Intervention"}, {"type": "Effect"}, {"type": "Effect"}, {"type": "Evidence"}]
    assert counted_nl(three) == "2 effecten, 1 interventie en 1 onderbouwing"
    assert counted_nl([{"type": "Actor"}]) == "1 " + TYPE_NL["Actor"].lower()
    assert counted_nl([]) == "niets"
    assert "knopen" not in counted_nl(nodes)


def test_opgave_example_is_a_challenge_of_the_vocabulary() -> None:
    vocab = load_vocabulary()
    challenges = {c.pref_nl for c in vocab.for_class("Challenge")}
    assert challenges
    example = challenge_example(vocab, [])
    assert example in challenges
    # One the graph holds is preferred, so trying the example shows something.
    held = sorted(challenges)[-1]
    assert challenge_example(vocab, ["niet in het vocabulaire", held]) == held
    assert challenge_example(None, [held]) == ""


def test_quotes_name_their_document_without_character_positions() -> None:
    """Every quote on an entity page ended in ", tekens 2895–2962"; the positions stay
    only in the link's title, said to be for researchers."""
    quote = SimpleNamespace(
        text="Bibliotheek Wadstede organiseerde twee rondes.",
        document_id="document:reisverslag",
        document_title="Reisverslag 2025",
        start=2895,
        end=2962,
    )
    html = _entity_html("Actor", {"name": "Bibliotheek Wadstede"}, [], [quote])
    caption = re.search(r"<figcaption>(.*?)</figcaption>", html, re.S)
    assert caption, html
    visible = re.sub(r"<[^>]+>", "", caption.group(1))
    assert visible == "— Reisverslag 2025" and "2895" not in visible
    assert 'title="tekenposities 2895–2962 (voor onderzoekers)"' in caption.group(1)


def test_a_document_s_file_on_the_server_is_for_researchers() -> None:
    props = {"title": "Reisverslag", "path": "/tmp/x/reisverslag-2025.md", "format": "md"}
    assert "/tmp/x/reisverslag-2025.md" not in dict(entity_properties(props, "Document")).values()
    rows = dict(for_researchers("document:x", "Document", props))
    assert rows["Bestand bij het inlezen"] == "/tmp/x/reisverslag-2025.md"


def test_network_notes_count_betrokkenen_in_words() -> None:
    # The note is counted at its source now (it said "betrokkene(n)", and only the page
    # put the number right; the JSON of /network kept it).
    note = isolated_note(12)
    assert "(n)" not in note and "(n)" not in isolated_note(1)
    assert network_note_nl(note).startswith("12 betrokkenen zonder verbinding weggelaten (vink")
    assert network_note_nl(isolated_note(1)).startswith("1 betrokkene zonder")


def test_dutch_numbers_in_the_network_notes_and_edge_titles() -> None:
    assert number_nl(1, "betrokkene", "betrokkenen") == "1 betrokkene"
    assert number_nl(0, "betrokkene", "betrokkenen") == "0 betrokkenen"
    assert number_nl(2, "programma", "programma's") == "2 programma's"


def test_the_evidence_map_counts_onderbouwingen_in_the_right_number() -> None:
    cell = SimpleNamespace(evidence=1, strongest_rank=2, strongest_level="", strongest_type="")
    many = SimpleNamespace(evidence=3, strongest_rank=2, strongest_level="", strongest_type="")
    rows = [SimpleNamespace(id="r1", name="A"), SimpleNamespace(id="r2", name="B")]
    m = SimpleNamespace(rows=rows, cols=["c"], cells=[])
    html = (
        templates()
        .get_template("evidence_map.html")
        .render(
            m=m, cells={("r1", "c"): cell, ("r2", "c"): many}, rows="intervention", cols="outcome"
        )
    )
    assert 'title="1 onderbouwing"' in html and 'title="3 onderbouwingen"' in html
    assert "onderbouwing(en)" not in html


def test_every_file_format_has_a_dutch_name_on_the_document_page() -> None:
    """Every format a reader assigns (readers._FORMATS) reads as a file type a policy
    adviser knows, not as the reader's short code ("Bestandsvorm md")."""
    from impact_graph.ingest.readers import _FORMATS

    for fmt in set(_FORMATS.values()):
        shown = dict(entity_properties({"title": "x", "format": fmt}, "Document"))
        assert shown["Bestandsvorm"] != fmt, fmt
    shown = dict(entity_properties({"title": "x", "format": "md"}, "Document"))
    assert shown["Bestandsvorm"] == "tekst met opmaak (Markdown)"


def test_modularity_for_researchers_has_a_dutch_decimal_comma() -> None:
    metrics = {"communities": 3, "modularity": 0.53012, "betweenness": "exact"}
    html = str(render_summary({"metrics": SimpleNamespace(**metrics)}))
    assert "modulariteit 0,53 " in html and "0.53" not in html


def test_the_ontology_page_fits_a_phone_and_leads_back_to_the_pages() -> None:
    """/ontology had no viewport line, so a phone drew it 1001 px wide; its tables now
    scroll inside the page, and a link leads back to the search and network pages."""
    from impact_graph.api.routers.ontology import _html

    html = _html().decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert html.count("<table>") == html.count('<div class="wrap"><table>') > 0
    assert '<a href="/">' in html


def test_a_document_without_links_is_not_told_no_document_links_it() -> None:
    """A freshly uploaded document with no facts yet read "geen document legt een verband
    tussen <the document> en iets anders" on its own page."""
    html = _entity_html("Document", {"title": "Plan Buurtkamer Noord"}, [])
    assert "geen document legt een verband" not in html
    assert "uit dit document is (nog) niets afgeleid" in html
    assert "geen document legt een verband" in _entity_html("Intervention", {}, [])
