"""Small extraction faults a programme manager saw in the demo's web UI (session 10).

Each test names what the page showed: a "Title:" label in a result card's title, an
organisation aliased by a plural ("gemeenten Bergveld"), an alias that is the name
itself wrapped across a line break, and one target listed twice because a council letter
restated it with its baseline.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph import candidates
from impact_graph.ingest import nlp, readers
from impact_graph.ingest.resolve import Resolver
from impact_graph.vocab import load_vocabulary


@pytest.mark.parametrize("label", ["Title:", "Titel :", "TITLE:"])
def test_a_title_label_is_no_part_of_a_text_files_title(tmp_path: Path, label: str) -> None:
    path = tmp_path / "abstract.txt"
    path.write_text(f"{label} Social prescribing and loneliness\n\nBackground. Text.\n")
    (doc,) = readers.read_file(path, root=tmp_path).documents
    assert doc.title == "Social prescribing and loneliness"


def test_a_first_line_that_only_mentions_a_title_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Titles: a list of books\n\nMore.\n")
    (doc,) = readers.read_file(path, root=tmp_path).documents
    assert doc.title == "Titles: a list of books"


def test_plural_organisation_head_gives_one_actor_per_name(tmp_path: Path) -> None:
    path = tmp_path / "evaluatie.md"
    path.write_text(
        "# Evaluatie\n\nIn opdracht van de gemeenten Bergveld en Wadstede heeft "
        "Hogeschool Kustland onderzocht wat de energiecoaches opleveren.\n"
    )
    (doc,) = readers.read_file(path, root=tmp_path).documents
    ext = nlp.extract(doc, load_vocabulary(), known={})
    actors = {e.name: e for e in ext.entities.values() if e.label == "Actor"}
    assert {"gemeente Bergveld", "gemeente Wadstede"} <= set(actors)
    surfaces = {m.surface for e in actors.values() for m in e.merges}
    assert not any(s.lower().startswith("gemeenten") for s in surfaces)
    assert not any(n.lower().startswith("gemeenten") for n in actors)


def test_a_name_wrapped_across_a_line_is_recorded_on_one_line() -> None:
    res = Resolver().match("Actor", "GGD\nLindenhoven-Oost")
    assert res.merge.surface == "GGD Lindenhoven-Oost"


def test_aliases_that_normalise_to_the_name_are_not_listed() -> None:
    name = "GGD Lindenhoven-Oost"
    stored = ["GGD\nLindenhoven-Oost", "ggd lindenhoven oost", "GGD Oost", "GGD  Oost"]
    assert candidates.other_names(name, stored) == ["GGD Oost"]
    assert candidates.other_names(name, None) == []
    assert candidates.other_names(name, "GGD Oost") == ["GGD Oost"]


def test_a_goal_restated_with_its_baseline_is_the_same_goal() -> None:
    plan = "In 2026 is het aantal meldingen van woonoverlast met 25% gedaald"
    resolver = Resolver(known={"Goal": [(plan, plan, [])]})
    res = resolver.match("Goal", plan + " ten opzichte van 2023")
    assert (res.key, res.merge.rule) == (plan, "restated")
    # The other way round too: the shorter wording after the longer one.
    longer = "In 2026 heeft 50% van de statushouders die drie jaar in Wadstede wonen betaald werk"
    resolver = Resolver(known={"Goal": [(longer + " (nu 31%)", longer + " (nu 31%)", [])]})
    assert resolver.match("Goal", longer).key == longer + " (nu 31%)"


def test_goals_that_only_start_alike_stay_apart() -> None:
    a = "In 2026 is het aantal meldingen van woonoverlast met 25% gedaald"
    b = "In 2026 is het aantal meldingen van jeugdoverlast met 15% gedaald"
    resolver = Resolver(known={"Goal": [(a, a, [])]})
    assert resolver.match("Goal", b).key == b
    # Short names never merge by their start.
    resolver = Resolver(known={"Goal": [("In 2026 minder", "In 2026 minder", [])]})
    assert resolver.match("Goal", "In 2026 minder armoede").merge.rule == "new"
