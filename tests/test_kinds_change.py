"""The same file read as another kind stays the same document.

A story is stored under a pseudonymous id (``document:story-<token>``: its file name may
carry a resident's name), every other kind under the id of its path. Reading a plan file
again with ``--kind story`` (or back) must replace the old version's facts, as a changed
text does, instead of leaving a second Document next to it. On both backends, with the
write-through RDF view.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from impact_graph.config import Settings
from impact_graph.ingest.document import (
    KINDS,
    has_pseudonymous_ids,
    pseudonymous_id,
    same_source_ids,
)
from impact_graph.ingest.embed import Embedder
from impact_graph.ingest.pipeline import Pipeline
from impact_graph.ingest.privacy import Pseudonymiser, pseudonymise_document
from impact_graph.ingest.readers import read_path
from impact_graph.store.port import GraphStore
from tests.test_pipeline import PLAN, embedder, rows, run_settings  # noqa: F401 - fixture

PLAIN_ID = "document:mine-plan-proef-md"


def documents(store: GraphStore) -> set[str]:
    return {r[0] for r in rows(store, "MATCH (d:Document) RETURN d.id")}


def sources(store: GraphStore) -> set[str]:
    """Every document any node or edge still names as its source."""
    found: set[str] = set()
    for q in (
        "MATCH (n) WHERE n.sources IS NOT NULL UNWIND n.sources AS s RETURN DISTINCT s",
        "MATCH ()-[r]->() WHERE r.sources IS NOT NULL UNWIND r.sources AS s RETURN DISTINCT s",
    ):
        found |= {r[0] for r in rows(store, q)}
    return found


def test_a_file_read_as_another_kind_replaces_its_old_version(
    store: GraphStore,
    backend_settings: Settings,
    embedder: Embedder,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "plan-proef.md").write_text(PLAN, encoding="utf-8")
    pipe = Pipeline(run_settings(backend_settings, tmp_path), store=store, embedder=embedder)

    first = pipe.run([mine], progress=False)
    assert (first.new, first.failed) == (1, 0) and documents(store) == {PLAIN_ID}
    plan_actors = rows(store, "MATCH (a:Actor) RETURN count(a)")[0][0]
    assert plan_actors >= 2

    as_story = pipe.run([mine], kind="story", progress=False)
    assert (as_story.new, as_story.changed, as_story.failed) == (0, 1, 0), as_story.failures
    (story_id,) = documents(store)
    assert story_id.startswith("document:story-") and story_id == as_story.documents[0].doc_id
    assert PLAIN_ID not in sources(store)  # none of the plan version's facts stayed
    view = getattr(store, "view", None)
    assert view is not None and set(view.document_hashes()) == {story_id}

    again = pipe.run([mine], kind="story", progress=False)
    assert (again.unchanged, again.changed) == (1, 0)  # stable: nothing to replace now

    back = pipe.run([mine], kind="plan", progress=False)
    assert (back.new, back.changed) == (0, 1)
    assert documents(store) == {PLAIN_ID} and story_id not in sources(store)
    assert set(view.document_hashes()) == {PLAIN_ID}
    assert rows(store, "MATCH (a:Actor) RETURN count(a)")[0][0] == plan_actors


def test_same_source_ids_match_what_pseudonymisation_gives(tmp_path: Path) -> None:
    """The ids the pipeline looks for are the ones `pseudonymise_document` gives, for
    every kind (a plan whose front matter lists persons is pseudonymised too)."""
    f = tmp_path / "mine" / "plan-proef.md"
    f.parent.mkdir()
    f.write_text(PLAN, encoding="utf-8")
    doc = read_path(f, root=f.parent)[0]
    assert doc.id == PLAIN_ID
    p = Pseudonymiser("test-secret")
    given = {k: pseudonymise_document(replace(doc, kind=k), p).id for k in KINDS}
    assert given["story"] == pseudonymous_id("story", p.token(PLAIN_ID))
    stored = set(given.values()) | {PLAIN_ID, "document:other-md"}
    assert has_pseudonymous_ids(stored) and not has_pseudonymous_ids({PLAIN_ID})
    for k, current in given.items():
        expect = sorted((set(given.values()) | {PLAIN_ID}) - {current})
        assert sorted(same_source_ids(PLAIN_ID, current, stored, p.token)) == expect, k
    # Without a pseudonymous id stored, the key is never asked for.
    assert same_source_ids(PLAIN_ID, given["story"], {PLAIN_ID}, None) == [PLAIN_ID]
    assert same_source_ids(PLAIN_ID, PLAIN_ID, {PLAIN_ID}, None) == []


@pytest.mark.parametrize("kind", ["policy", "research"])
def test_reading_a_file_as_two_unpseudonymised_kinds_keeps_one_id(
    tmp_path: Path, kind: str
) -> None:
    f = tmp_path / "mine" / "plan-proef.md"
    f.parent.mkdir()
    f.write_text(PLAN, encoding="utf-8")
    assert read_path(f, root=f.parent, kind=kind)[0].id == read_path(f, root=f.parent)[0].id
