"""An Effect's page says where its name and its outcome come from.

The ingest builds an Effect's name from the intervention and the outcome and stores it
with status "candidate"; the page said "kandidaat: in geen vocabulaire" even when the
outcome is a vocabulary concept (energiecoach → gasverbruik).
"""

from __future__ import annotations

from impact_graph.vocab import load_vocabulary
from impact_graph.web.pages import entity_properties

V = "https://w3id.org/impact-graph/vocab/"


def _shown(props: dict[str, object]) -> dict[str, str]:
    return dict(entity_properties(props, "Effect", load_vocabulary()))


def test_effect_on_a_vocabulary_outcome_names_its_concept() -> None:
    vocab = load_vocabulary()
    scheme = vocab.schemes[vocab[V + "outcomes/gasverbruik"].scheme].label_nl
    shown = _shown(
        {"name": "energiecoach → gasverbruik", "status": "candidate", "outcome": "gasverbruik"}
    )
    assert "vocabulaire" not in shown["Herkomst van de naam"]
    assert "kandidaat" not in shown["Herkomst van de naam"]
    assert shown["Uitkomst"] == f"gasverbruik (begrip uit {scheme})"


def test_effect_on_an_unknown_outcome_says_so() -> None:
    shown = _shown({"name": "X → spanning", "status": "candidate", "outcome": "spanning"})
    assert shown["Uitkomst"] == "spanning (in geen vocabulaire)"


def test_stored_concept_wins_and_other_nodes_keep_the_candidate_wording() -> None:
    vocab = load_vocabulary()
    lonely = V + "outcomes/eenzaamheidsgevoelens"
    shown = _shown({"status": "candidate", "outcome": "minder eenzaam", "concept": lonely})
    assert shown["Uitkomst"].endswith(f"(begrip uit {vocab.schemes['outcomes'].label_nl})")
    actor = dict(entity_properties({"status": "candidate"}, "Actor", vocab))
    assert actor["Herkomst van de naam"].startswith("kandidaat")
