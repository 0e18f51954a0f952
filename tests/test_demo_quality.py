"""What the demo graph shows users: extraction of the demo corpus itself.

These guard faults a new user saw on the web pages (issue 3, H20's walk-through):
outcomes stored as JSON text, section words glued to place names, one programme split
in two nodes, and effect outcomes cut mid-phrase. They run the real reader and
extraction on the shipped demo files, without a store.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from impact_graph.ingest.extraction import Extraction
from impact_graph.ingest.nlp import extract
from impact_graph.ingest.pipeline import needs_pseudonymisation
from impact_graph.ingest.privacy import Pseudonymiser, pseudonymise_document
from impact_graph.ingest.readers import read_file
from impact_graph.vocab import Vocabulary, load_vocabulary

DEMO = Path(__file__).resolve().parents[1] / "ingest" / "demo"


@cache
def _vocab() -> Vocabulary:
    return load_vocabulary()


@cache
def _extractions(rel: str) -> tuple[Extraction, ...]:
    """Extractions of one demo file's documents, pseudonymised where the pipeline does
    (a pseudonym changes line lengths, which the name rules read)."""
    docs = read_file(DEMO / rel, root=DEMO).documents
    pseudo = Pseudonymiser("test-demo-quality")
    docs = [pseudonymise_document(d, pseudo) if needs_pseudonymisation(d) else d for d in docs]
    return tuple(extract(d, _vocab(), {}) for d in docs)


def _effects(ext: Extraction, rule: str | None = None) -> dict[str, dict[str, object]]:
    """Outcome → the Effect's props (and rule), of one rule or of all."""
    return {
        str(e.props["outcome"]): {**e.props, "rule": e.rule}
        for e in ext.entities.values()
        if e.label == "Effect" and rule in (None, e.rule)
    }


def test_record_outcome_lists_become_one_effect_each_never_json() -> None:
    exts = _extractions("research/studies.jsonl")
    outcomes = [o for ext in exts for o in _effects(ext)]
    assert outcomes and not [o for o in outcomes if o.lstrip().startswith(("{", "["))]
    by_title = {ext.document.title.split(":")[0]: _effects(ext, "meta:outcome") for ext in exts}
    meta = by_title["Energiecoaches en energiearmoede"]
    assert len(meta) == 3  # gasverbruik, elektriciteitsverbruik, isolatiemaatregel genomen
    assert {p["direction"] for p in meta.values()} == {"−", "0", "+"}
    assert meta["isolatiemaatregel genomen"]["magnitude"] == "19% tegen 6%"
    dual = by_title["Duale trajecten taal en werk voor statushouders in Kustland"]
    # Dutch free text holding a label names that concept; the wording is its measure.
    assert dual["taalniveau"]["direction"] == "0"
    assert dual["taalniveau"]["measure"] == "taalniveau B1"
    assert dual["arbeidsparticipatie"]["effect_size"] == 12.0
    assert dual["arbeidsparticipatie"]["measure"] == "betaald werk na 24 maanden"


def _names(rel: str, label: str) -> dict[str, str]:
    """Name → rule of every ``label`` entity extracted from one demo file."""
    return {
        e.name: e.rule
        for ext in _extractions(rel)
        for e in ext.entities.values()
        if e.label == label
    }


def test_a_header_line_after_a_municipality_is_no_part_of_its_name() -> None:
    # "Gemeente Lindenhoven\nOnderwerp: ..." and "..., gemeente Wadstede\nVerkenning ...":
    # the next line's first word is no part of the name; the organisation and its area
    # keep the place name alone.
    letter = "policy/lindenhoven-raadsinformatiebrief-eenzaamheid-2025.txt"
    assert "Lindenhoven" in _names(letter, "Area")
    assert "gemeente lindenhoven" in {n.lower() for n in _names(letter, "Actor")}
    story = "story/meneer-de-vries-klantreis.txt"
    assert "Wadstede" in _names(story, "Area")
    for rel in (letter, story):
        glued = [n for n in _names(rel, "Area") if n.endswith(("Onderwerp", "Verkenning"))]
        assert not glued, glued


def test_a_wrapped_line_still_joins_a_name(tmp_path: Path) -> None:
    """Hard-wrapped text breaks lines inside names: a break where the next word would not
    have fitted on the line is a wrap, and the name goes on after it."""
    from impact_graph.ingest.readers._common import make_document
    from impact_graph.ingest.readers.text import read_text

    line = "Het college werkt hierin nauw samen met de wijkteams en met Stichting Welzijn"
    body = f"{line}\nWadstede, die de buurtkamers runt.\nDaarna volgt een korte regel.\n"
    path = tmp_path / "brief.txt"
    path.write_text(body, encoding="utf-8")
    doc = make_document(read_text(body, path), path=path, root=tmp_path, fmt="txt", kind="policy")
    actors = {e.name for e in extract(doc, _vocab(), {}).entities.values() if e.label == "Actor"}
    assert "Stichting Welzijn Wadstede" in actors, actors


def test_programme_names_with_en_and_in_are_one_programme() -> None:
    assert _names("policy/bergveld-dorpsvisie-2030.docx", "Programme").get(
        "Warm en Zuinig Bergveld"
    ) == ("pattern:programme")
    for rel in ("research/jogg-aanpak.html", "research/cool-coaching-op-leefstijl.md"):
        assert set(_names(rel, "Programme")) == {"Gezond Opgroeien in Lindenhoven"}
    # A report's year dates the report: its programme is the plan's programme.
    assert set(_names("plan/lindenhoven-gezond-opgroeien-reisverslag-2025.docx", "Programme")) == {
        "Gezond Opgroeien in Lindenhoven"
    }
    assert set(_names("plan/wadstede-werkt-mee-reisverslag-2025.pdf", "Programme")) == {
        "Wadstede Werkt Mee"
    }


def test_effect_outcomes_are_noun_phrases_not_cut_mid_phrase() -> None:
    bad = ("ten opzichte van", " dus", " was found", " by ", " on average")
    for rel in (
        "plan/wadstede-werkt-mee-programma-aanpak.md",
        "research/duale-trajecten-taal-en-werk.md",
        "research/literatuur.ris",
        "research/mst-fft-mdft-gezinsbehandelingen.md",
    ):
        for ext in _extractions(rel):
            for outcome in _effects(ext):
                assert len(outcome) > 2 and not any(b in f" {outcome} " for b in bad), (
                    rel,
                    outcome,
                )
    duaal = _effects(_extractions("research/duale-trajecten-taal-en-werk.md")[0], "effect-verb")
    assert duaal["kans op werk"]["direction"] == "+"
    (ris,) = [
        x for x in _extractions("research/literatuur.ris") if "energy coach" in x.document.text
    ]
    coach = _effects(ris, "effect-verb")
    # The English abstract's "gas consumption" and "electricity use" are named by their
    # Dutch outcome concepts (English altLabels), each its own Effect.
    assert coach["gasverbruik"]["direction"] == "−"
    assert coach["gasverbruik"]["magnitude"] == "7%"
    assert coach["elektriciteitsverbruik"]["direction"] == "0"


def test_an_effect_verb_is_a_whole_word() -> None:
    """Effect phrases made of alternatives ("verbeter(t|de|den|en)") end at a word end:
    "verbeterden" was read as "verbeterde" with the outcome "n"."""
    from impact_graph.ingest import patterns as P

    words = [m.group(0) for m in P.EFFECT_RE.finditer("gezinsrelaties verbeterden sterk")]
    assert words == ["verbeterden"]
    assert not list(P.EFFECT_RE.finditer("de verbeterdeno en vermindertx"))
