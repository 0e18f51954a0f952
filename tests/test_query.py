"""Query understanding without a store: Dutch compounds, topic before audience, and the
vocabulary relations and everyday labels search relies on.

Each test names a behaviour a user relies on; the questions are ordinary phrasings, not
the benchmark's (``bench/gold/search_queries.yaml``).
"""

from __future__ import annotations

import pytest

from impact_graph.search.query import GROUP_WITH_TOPIC, INNER_FACTOR, label_index, parse_query
from impact_graph.vocab import Vocabulary, load_vocabulary

V = "https://w3id.org/impact-graph/vocab/"
OVERLAST = V + "challenges/overlast"
JONGEREN = V + "target-groups/jongeren"
KINDEREN = V + "target-groups/kinderen"
UITKERING = V + "challenges/uitkeringsafhankelijkheid"
SCHOOLVERZUIM = V + "challenges/schoolverzuim"
PESTEN = V + "challenges/pesten"
MIDDELEN = V + "challenges/middelengebruik"


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def direct(q: str, vocab: Vocabulary) -> dict[str, float]:
    """Concepts named by ``q`` (not reached through a relation), with their weight."""
    return {c.iri: c.weight for c in parse_query(q, vocab).direct}


# --- Dutch compounds ------------------------------------------------------------------


def test_a_phrase_reaches_the_label_written_as_one_compound(vocab: Vocabulary) -> None:
    """ "ruzie met de buren" is what the vocabulary writes as "burenruzie"."""
    named = direct("wat te doen bij ruzie met de buren", vocab)
    assert OVERLAST in named and named[OVERLAST] == 1.0
    # The plural ending drops in the compound: "armoede bij kinderen" = "kinderarmoede".
    assert V + "target-groups/kinderen-in-armoede" in direct("armoede onder kinderen", vocab)
    # Words that only sit next to a preposition are not joined into nonsense.
    assert direct("koffie met de buren", vocab) == {}


def test_an_unknown_compound_is_understood_through_its_parts(vocab: Vocabulary) -> None:
    """ "jeugdwerkloosheid" is not a label: its head says what it is (werkloosheid, an
    altLabel of benefit dependency), its first part whom it concerns (jeugd)."""
    named = direct("jeugdwerkloosheid", vocab)
    assert UITKERING in named and JONGEREN in named
    assert named[UITKERING] < 1.0, "a part of a word is a weaker clue than the word"
    parsed = parse_query("jeugdwerkloosheid", vocab)
    assert parsed.concepts[UITKERING].facets != parsed.concepts[JONGEREN].facets


def test_a_compound_without_a_known_head_is_left_alone(vocab: Vocabulary) -> None:
    # "jeugd" is known, "herberg" is not: guessing from the first part alone would make
    # every "jeugd..." word a question about young people.
    assert direct("jeugdherberg", vocab) == {}
    assert label_index(vocab).split("jeugdherberg") == []
    # "rijk" names the national government (an actor): "belangrijk" is not about it.
    assert direct("wat is belangrijk", vocab) == {}


def test_a_known_word_is_not_split(vocab: Vocabulary) -> None:
    """A label that is itself a compound keeps its own meaning."""
    assert set(direct("energiearmoede", vocab)) == {V + "challenges/energiearmoede"}


# --- what the question is about before for whom -----------------------------------------


def test_a_group_weighs_less_beside_a_named_topic(vocab: Vocabulary) -> None:
    with_topic = direct("jongeren die spijbelen", vocab)
    assert with_topic[SCHOOLVERZUIM] == 1.0
    assert with_topic[JONGEREN] == pytest.approx(GROUP_WITH_TOPIC)
    # Asked on its own, a group is the whole question.
    assert direct("wat is er voor jongeren in de wijk", vocab)[JONGEREN] == 1.0


def test_a_group_that_is_part_of_the_topic_keeps_its_weight(vocab: Vocabulary) -> None:
    """ "kinderen met overgewicht" is one target group that names the topic itself."""
    named = direct("kinderen met overgewicht", vocab)
    assert named[V + "target-groups/kinderen-met-overgewicht"] == 1.0
    assert named[KINDEREN] == pytest.approx(INNER_FACTOR * GROUP_WITH_TOPIC)


# --- vocabulary: relations and everyday words ------------------------------------------


def test_bullying_is_associated_with_school_absence_not_a_kind_of_it(vocab: Vocabulary) -> None:
    parsed = parse_query("schoolverzuim", vocab)
    assert parsed.concepts[PESTEN].via == "related"
    assert PESTEN not in vocab.expand(SCHOOLVERZUIM, broader=False, narrower=True, depth=3)
    assert V + "challenges/jeugdcriminaliteit" in vocab[PESTEN].broader


@pytest.mark.parametrize(
    ("question", "concept"),
    [
        ("blowen", MIDDELEN),
        ("verslaving bij jongeren", MIDDELEN),
        ("burenconflict", OVERLAST),
        ("helpen afvallen", V + "outcomes/bmi"),
        ("gezond eten", V + "outcomes/voedingsgedrag"),
        ("nieuwe vriendschappen", V + "outcomes/sociaal-netwerk"),
        ("arme huishoudens", V + "target-groups/mensen-met-lage-inkomens"),
    ],
)
def test_everyday_words_reach_their_concept(question: str, concept: str, vocab: Vocabulary) -> None:
    assert concept in direct(question, vocab)


def test_known_interventions_are_related_to_what_they_address(vocab: Vocabulary) -> None:
    """Neighbour mediation for nuisance, MDFT for substance use: the vocabulary names
    them so a question can start from them before a document links them."""
    assert V + "interventions/buurtbemiddeling" in parse_query("burenruzie", vocab).concepts
    assert V + "interventions/mdft" in parse_query("cannabisgebruik", vocab).concepts
    assert V + "interventions/wijkbeheer" in parse_query("verloedering", vocab).concepts
    children = parse_query("overgewicht bij kinderen", vocab).concepts
    assert V + "working-elements/centrale-zorgverlener" in children
