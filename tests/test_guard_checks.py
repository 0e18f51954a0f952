"""The guard's regular-expression rule (``=~``) and its one pass over parameter values.

Neo4j evaluates ``=~`` on one value without looking at the transaction's time limit
(measured: ``(a+)+b`` on 20,001 characters answered after 28 s under a 5 s limit,
``.*.*.*b`` on 2,001 characters ran past 40 s), so the guard refuses the shapes that
backtrack: a repeated group that repeats inside, and more than two variable repeats in one
alternative; a pattern it cannot read before the query runs is refused too. FalkorDB has
no ``=~``, so both backends give the guard's sentence.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from impact_graph.queries.guard import MAX_REGEX_REPEATS, _regex_trouble, check_cypher
from impact_graph.store.port import QueryRefused, QuerySyntaxError

REFUSED = [
    ("RETURN 'aaaa!' =~ '(a+)+b' AS m", None, "nested quantifiers"),
    ("MATCH (n) WHERE n.name =~ '(\\\\w+\\\\s?)+$' RETURN n", None, "nested quantifiers"),
    ("MATCH (n) WHERE n.name =~ '(.*a){20}' RETURN n", None, "nested quantifiers"),
    ("MATCH (n) WHERE n.name =~ '(x+x+)+y' RETURN n", None, "nested quantifiers"),
    ("MATCH (n) WHERE n.name =~ '(?:a|b+){2,}' RETURN n", None, "nested quantifiers"),
    ("MATCH (n) WHERE n.name =~ '.*.*.*b' RETURN n", None, "3 variable repeats"),
    ("MATCH (n) WHERE n.name =~ $p RETURN n", {"p": "(a+)+b"}, "nested quantifiers"),
    ("MATCH (n) WHERE n.name =~ '(?i).*' + $w + '.*' RETURN n", {"w": "a+b+"}, "4 variable"),
    ("MATCH (n) WHERE n.name =~ n.other RETURN n", None, "not a string or a parameter"),
    ("MATCH (n) WHERE n.name =~ toLower($p) RETURN n", None, "not a string or a parameter"),
    ("MATCH (n) WHERE n.name=~'x' + n.id RETURN n", None, "not a string or a parameter"),
]

ALLOWED = [
    ("MATCH (n) WHERE n.name =~ '(?i).*eenzaam.*' RETURN n", None),
    ("MATCH (n) WHERE n.name =~ '(?i).*(eenzaam|alleen).*' RETURN n", None),
    ("MATCH (n) WHERE n.name =~ '.*a.*|.*b.*|^c+$' RETURN n", None),
    ("MATCH (n) WHERE n.id =~ '^\\\\d{4}-\\\\d{2}-\\\\d{2}$' RETURN n", None),
    ("MATCH (n) WHERE n.name =~ '[a-z]+(?:-[a-z]+)?' RETURN n", None),
    ("MATCH (n) WHERE n.name =~ '\\\\Q(a+)+\\\\E.*' RETURN n", None),
    ("MATCH (n) WHERE n.name =~ '[(a+)+]*b' RETURN n", None),
    ("MATCH (n) WHERE n.name =~ '(?i).*' + $w + '.*' RETURN n", {"w": "eenzaam"}),
    ("MATCH (n) WHERE n.name =~ $p RETURN n", {"p": "(ab){3}c?"}),
    ("MATCH (n) WHERE n.name = '=~ (a+)+' RETURN n", None),  # in a string: no operator
    ("MATCH (n) WHERE n.name =~ $p RETURN n", None),  # missing: the store says so
]


@pytest.mark.parametrize(("query", "params", "why"), REFUSED)
def test_backtracking_patterns_are_refused_with_a_sentence(
    query: str, params: dict[str, Any] | None, why: str
) -> None:
    with pytest.raises(QueryRefused) as info:
        check_cypher(query, params)
    msg = str(info.value)
    assert why in msg and "=~ at line 1, column " in msg, msg
    # Says what to write instead.
    assert "CONTAINS" in msg and "(?i).*word.*" in msg and f"at most {MAX_REGEX_REPEATS}" in msg


@pytest.mark.parametrize(("query", "params"), ALLOWED)
def test_plain_patterns_pass(query: str, params: dict[str, Any] | None) -> None:
    check_cypher(query, params)


def test_the_same_text_is_judged_by_its_pattern_parameter_each_time() -> None:
    """The text's check is remembered; a pattern given as a parameter is not."""
    query = "MATCH (n) WHERE n.name =~ $p RETURN n"
    check_cypher(query, {"p": "(?i).*a.*"})
    with pytest.raises(QueryRefused):
        check_cypher(query, {"p": "(a+)+"})
    check_cypher(query, {"p": "(?i).*a.*"})


def test_the_regex_reading_is_linear() -> None:
    """A long pattern is read in one pass (the guard itself must not backtrack).

    The bound is generous on purpose: one pass takes ~0.1 s CPU here, a reading that went
    back over the pattern per character (~10^9 steps for these lengths) takes minutes, so
    20 s of this thread's CPU tells the two apart on any load (1.0 s of wall time failed
    once under load 20).
    """
    started = time.thread_time()
    assert _regex_trouble("(?:ab|cd)" * 20_000) is None
    assert _regex_trouble("[" * 50_000) is None
    assert time.thread_time() - started < 20.0


def test_parameter_values_are_checked_before_skip_and_limit() -> None:
    """One pass over the parameters: a value no store holds is named first, whatever the
    order of the parameters; then a SKIP/LIMIT parameter FalkorDB would misread."""
    query = "MATCH (n) WHERE n.x = $x RETURN n LIMIT $n"
    with pytest.raises(QuerySyntaxError, match=r"\$x holds nan"):
        check_cypher(query, {"n": 2**40, "x": float("nan")})
    with pytest.raises(QueryRefused, match=r"LIMIT \$n is 1,099,511,627,776"):
        check_cypher(query, {"n": 2**40, "x": 1})
    with pytest.raises(QuerySyntaxError, match="64-bit"):
        check_cypher(query, {"n": 2**70})
    check_cypher(query, {"n": 2**31, "x": [1, {"a": 2**40}]})
