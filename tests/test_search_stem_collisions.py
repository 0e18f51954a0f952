"""The question parser's stem matching and its known Dutch stem collisions.

The Snowball stemmer gives "afval" (litter) the stem of the outcome label "afvallen"
(losing weight), and "ouder" (a parent) that of "ouderen" (older people): a liveability
question then reached an overweight programme. A colliding word reaches such a label
only when it is that very word; every other stem match still works.
"""

from __future__ import annotations

from impact_graph.search.query import STEM_COLLISIONS, parse_query, stem
from impact_graph.vocab import load_vocabulary

V = "https://w3id.org/impact-graph/vocab/"
BMI = V + "outcomes/bmi"


def _direct(q: str) -> set[str]:
    return {c.iri for c in parse_query(q, load_vocabulary()).direct}


def test_litter_is_not_losing_weight() -> None:
    parsed = parse_query("afval en overlast in de flat", load_vocabulary())
    assert BMI not in parsed.concepts
    # "afval" names litter (its own concept since session 10), nothing about weight.
    assert {c.iri for c in parsed.direct if c.surface == "afval"} == {V + "challenges/zwerfafval"}
    assert V + "challenges/overlast" in {c.iri for c in parsed.direct}


def test_the_label_itself_still_matches() -> None:
    assert BMI in _direct("volwassenen helpen afvallen")


def test_a_parent_is_not_an_older_person() -> None:
    direct = _direct("alleenstaande ouder")
    assert V + "target-groups/alleenstaande-ouderen" not in direct
    assert V + "target-groups/eenoudergezinnen" in direct


def test_stems_still_join_other_inflections() -> None:
    """The singular reaches the plural label through the stem, as before."""
    assert V + "target-groups/statushouders" in _direct("werk voor een statushouder")


def test_every_collision_group_is_one_stem() -> None:
    """A group lists words the stemmer conflates; one that does not is a typo."""
    for group in STEM_COLLISIONS:
        assert len({stem(w) for forms in group for w in forms}) == 1, group


def test_heating_with_gas_is_gas_use() -> None:
    parsed = parse_query("gezinnen met weinig geld helpen minder gas te stoken", load_vocabulary())
    assert parsed.concepts[V + "outcomes/gasverbruik"].via == "label"
