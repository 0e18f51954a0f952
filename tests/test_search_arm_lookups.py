"""The fulltext and vector arms ask their three labels side by side and keep the answer
they gave one after the other (H57: the vector arm's three round trips after the query
embedding were the last arm to finish at 100k chunks).

A fake store stands in for the database: what is tested is the order of the hits, the
overlap of the lookups and the error path, not a backend.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from impact_graph.model import SearchHit
from impact_graph.search import arms
from impact_graph.search.query import ParsedQuery
from impact_graph.store.port import StoreError

#: What the fake store answers per label: (id, score, name).
ANSWERS: dict[str, list[tuple[str, float, str]]] = {
    "Intervention": [("int:b", 0.9, "Buurtkamer"), ("int:a", 0.9, "Aanpak")],
    "WorkingElement": [("we:x", 0.7, "ontmoeting"), ("int:a", 0.95, "Aanpak")],
    "Chunk": [("chunk:2", 0.8, ""), ("chunk:1", 0.6, "")],
}


class FakeStore:
    """Answers ``ANSWERS``; with ``meet`` set, every lookup waits until all three of the
    arm have started (a barrier), so lookups made one after the other time out."""

    def __init__(self, meet: bool = False, fail: str | None = None) -> None:
        self.barrier = threading.Barrier(len(arms.ARM_LABELS), timeout=5.0) if meet else None
        self.fail = fail
        self.calls: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def _answer(self, label: str, asked: Any) -> list[SearchHit]:
        with self._lock:
            self.calls.append((label, asked))
        if self.barrier is not None:
            self.barrier.wait()  # BrokenBarrierError when the others never come
        if label == self.fail:
            raise StoreError(f"the {label} index is gone")
        return [
            SearchHit(i, label, s, {"id": i, "name": n} if n else {"id": i})
            for i, s, n in ANSWERS[label]
        ]

    def fulltext_search(
        self, label: str, text: str, k: int = 10, *, props: Sequence[str] | None = None
    ) -> list[SearchHit]:
        assert k == arms.ARM_K and props == arms.HIT_PROPS
        return self._answer(label, text)

    def vector_search(
        self, label: str, vector: Sequence[float], k: int = 10, *, props: Any = None
    ) -> list[SearchHit]:
        assert k == arms.ARM_K and props == arms.HIT_PROPS
        return self._answer(label, list(vector))


def _one_after_the_other() -> arms.ArmHits:
    """What the arms answered before: each label in turn, split in that order."""
    out = arms.ArmHits()
    store = FakeStore()
    for label in arms.ARM_LABELS:
        arms._split(store._answer(label, None), out)
    return out


def _parsed(text: str) -> ParsedQuery:
    return ParsedQuery(text=text, words=text.split(), stems=text.split())


@pytest.mark.parametrize("arm", ["fulltext", "vector"])
def test_side_by_side_gives_the_hits_in_label_order(arm: str) -> None:
    """Same ids, scores, names and dict order as one label after the other (an entity
    found under two labels keeps the later label's score, as before)."""
    store = FakeStore(meet=True)
    if arm == "fulltext":
        hits = arms.fulltext_hits(store, _parsed("eenzaamheid ouderen"))  # type: ignore[arg-type]
    else:
        hits = arms.vector_hits(store, [0.1, 0.2])  # type: ignore[arg-type]
    want = _one_after_the_other()
    assert list(hits.direct.items()) == list(want.direct.items())
    assert list(hits.chunks.items()) == list(want.chunks.items())
    assert hits.names == want.names
    assert hits.direct["int:a"] == 0.95  # WorkingElement's answer came after Intervention's
    assert sorted(label for label, _ in store.calls) == sorted(arms.ARM_LABELS)


def test_the_lookups_overlap() -> None:
    """Every label's lookup is under way before any answers: the barrier of the fake
    store breaks (and the arm fails) when they run one after the other."""
    store = FakeStore(meet=True)
    hits = arms.vector_hits(store, [1.0])  # type: ignore[arg-type]
    assert set(hits.chunks) == {"chunk:1", "chunk:2"}
    assert all(asked == [1.0] for _, asked in store.calls)


def test_a_failing_label_fails_the_arm() -> None:
    """A store error of one label is the arm's error (the service leaves the arm out and
    says so), not a silently smaller answer."""
    store = FakeStore(fail="WorkingElement")
    with pytest.raises(StoreError, match="WorkingElement index is gone"):
        arms.fulltext_hits(store, _parsed("taal werk"))  # type: ignore[arg-type]
