"""Extraction quality must not fall below what it measured: the gold benchmark in-process.

Runs the scoring of ``bench/extraction.py`` (real readers, pseudonymisation, spaCy and the
vocabularies, no store) on the hand-annotated documents of ``bench/gold/extraction.yaml``
and checks precision and recall per guarded type against the levels measured when the
extraction rules were last improved, minus a small margin (`MARGIN`). A rule change that
costs precision or recall shows up here with the missed and spurious names, so the
regression can be seen, not just counted.

When the rules get better, raise the floors to the new measured level minus the margin
(``PYTHONPATH=src .venv/bin/python bench/extraction.py`` prints the table).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
#: How far a figure may fall below its measured level (noise of one or two entities).
MARGIN = 0.03
#: Measured on 16 gold documents: (precision, recall) per guarded type.
MEASURED: dict[str, tuple[float, float]] = {
    "Challenge": (0.915, 0.843),  # 43 of 47 found, 43 of 51 gold
    "TargetGroup": (0.829, 0.810),  # 34 / 41, 34 / 42
    "Actor": (0.883, 0.859),  # 128 / 145, 128 / 149
    "Intervention": (0.938, 0.849),  # 45 / 48, 45 / 53
    # Effects as (intervention, outcome, direction): 17 / 19, 17 / 26 (was 8 / 10, 8 / 26
    # before the effect phrasings of tests/test_nlp_effects.py).
    "Effect": (0.895, 0.654),
}
#: Relations, micro-averaged over the annotated types: 160 / 267, 160 / 331.
MEASURED_RELATIONS = (0.599, 0.483)


def _load_bench() -> ModuleType:
    """Import ``bench/extraction.py`` (bench/ is scripts, not a package)."""
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_extraction", BENCH / "extraction.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _load_bench()


@pytest.fixture(scope="module")
def result(bench: ModuleType) -> object:
    return bench.run()


def _worklist(result: object, label: str) -> str:
    lines = []
    for d in result.documents:  # type: ignore[attr-defined]
        s = d.types.get(label) or d.relations.get(label)
        if s is not None and (s.missed or s.spurious):
            lines.append(f"{d.path}: missed {s.missed}, spurious {s.spurious}")
    return "\n".join(lines)


def test_gold_covers_at_least_twelve_documents(bench: ModuleType) -> None:
    docs = bench.load_gold()
    assert len(docs) >= 12
    assert {d["kind"] for d in docs} == {"plan", "policy", "research", "story"}


@pytest.mark.parametrize("label", sorted(MEASURED))
def test_guarded_type_stays_at_its_measured_level(result: object, label: str) -> None:
    score = result.types[label]  # type: ignore[attr-defined]
    precision, recall = MEASURED[label]
    assert score.precision >= precision - MARGIN, (
        f"{label} precision {score.precision:.3f} < {precision - MARGIN:.3f}\n"
        + _worklist(result, label)
    )
    assert score.recall >= recall - MARGIN, (
        f"{label} recall {score.recall:.3f} < {recall - MARGIN:.3f}\n" + _worklist(result, label)
    )


def test_relations_stay_at_their_measured_level(result: object) -> None:
    total = result.relations_all  # type: ignore[attr-defined]
    precision, recall = MEASURED_RELATIONS
    assert total.precision >= precision - MARGIN
    assert total.recall >= recall - MARGIN


def test_scoring_counts_a_wrong_entity_as_a_false_positive(bench: ModuleType) -> None:
    """The matcher pairs one-to-one and only near-identical names: the scorer is strict."""
    pairs = bench.pair(
        {"gemeente wadstede": "Gemeente Wadstede", "ggd lindenhoven oost": "GGD Lindenhoven-Oost"},
        {
            "gemeente wadstede": "gemeente Wadstede",
            "ggd lindenhoven west": "GGD Lindenhoven-West",  # another GGD: not a match
            "gemeente wadsted": "Gemeente Wadsted",  # a typo of a name already paired
        },
    )
    assert pairs == {"gemeente wadstede": "gemeente wadstede"}
