"""How ``bench/search_quality.py`` decides which judged item a result is.

The judgements name items as the texts write them; the graph may hold one under the name
of the vocabulary concept its phrasing was merged into. These tests pin down when a
result earns a judgement's gain, so a change of the matcher cannot silently inflate or
deflate the benchmark.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from impact_graph.vocab import Vocabulary, load_vocabulary

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sq() -> ModuleType:
    """``bench/search_quality.py`` imported from its file (bench/ is scripts)."""
    sys.path.insert(0, str(ROOT / "bench"))  # it imports its sibling ``_common``
    spec = importlib.util.spec_from_file_location(
        "bench_search_quality", ROOT / "bench" / "search_quality.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def test_a_concept_node_answers_to_the_labels_it_was_merged_from(
    sq: ModuleType, vocab: Vocabulary
) -> None:
    """ "warme overdracht" is an altLabel of the working element "samenwerking tussen
    professionals": the pipeline writes that phrasing as this node, so the node earns
    the judgement; without the vocabulary it does not."""
    judged = {"warme overdracht": 2, "Welzijn op Recept": 3}
    name = "samenwerking tussen professionals"
    assert sq.judge_key("x", name, judged, vocab) == "warme overdracht"
    assert sq.judge_key("x", name, judged) is None


def test_a_result_matches_its_own_name_before_a_shared_label(
    sq: ModuleType, vocab: Vocabulary
) -> None:
    """The working element "persoonlijk energieadvies" also has the label "energiecoach"
    (the intervention's name): it is judged as itself, not as the intervention."""
    judged = {"energiecoach (huisbezoek)": 3, "persoonlijk energieadvies": 2}
    assert (
        sq.judge_key("x", "persoonlijk energieadvies", judged, vocab) == "persoonlijk energieadvies"
    )
    assert sq.judge_key("y", "energiecoach", judged, vocab) == "energiecoach (huisbezoek)"


def test_unrelated_names_and_other_kinds_do_not_match(sq: ModuleType, vocab: Vocabulary) -> None:
    judged = {"Gezonde Schoolkantine": 2, "ouderen": 1}
    assert sq.judge_key("x", "Gezonde School", judged, vocab) is None
    # "ouderen" is a target-group label: only intervention and working-element concepts
    # lend their labels, so no result becomes a target group.
    assert sq.concept_aliases("ouderen", vocab) == ()


def test_each_judged_item_earns_its_gain_once(sq: ModuleType, vocab: Vocabulary) -> None:
    judged = {"warme overdracht": 3}
    ranked = [("a", "samenwerking tussen professionals"), ("b", "warme overdracht")]
    ndcg, recall = sq.ndcg_recall(ranked, judged, vocab=vocab)
    assert ndcg == pytest.approx(1.0) and recall == 1.0
    # Second place only: the gain is discounted.
    ndcg2, _ = sq.ndcg_recall([("c", "iets anders"), *ranked[1:]], judged, vocab=vocab)
    assert ndcg2 < 1.0
