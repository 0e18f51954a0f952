"""Same facts both ways: research questions asked in Cypher and in SPARQL give identical
answers, on the demo corpus, on both backends.

The questions are the stored queries of ``queries/research.yaml`` (one source of truth
for the API, the notebooks and this suite), each with its defaults and with the extra
parameter sets below. The demo corpus is ingested through the real pipeline into the real
backend and its write-through RDF view (embedded Oxigraph) once per backend per session
(`demo_graph`, shared with the other researcher-access tests); a backend that another
test module cleared in the meantime gets the same batches written again.

Answers are compared as tables: same columns, same multiset of rows, where SPARQL
literals become Python values by datatype and node IRIs become node ids.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from impact_graph.config import Settings
from impact_graph.model import GraphBatch
from impact_graph.queries import Catalog, Table, load_catalog, run_stored
from impact_graph.rdf.mapping import default_prefixes
from impact_graph.rdf.view import OxigraphView
from impact_graph.store.port import GraphStore, WriteResult
from impact_graph.store.writethrough import WriteThroughStore

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "ingest" / "demo"

# ---------------------------------------------------------------------------------------
# The demo graph, once per backend per session
# ---------------------------------------------------------------------------------------


class RecordingStore(WriteThroughStore):
    """The write-through store that also keeps the batches it wrote (to rewrite them if
    another test module clears the shared Neo4j database)."""

    def __init__(self, inner: GraphStore, view: OxigraphView) -> None:
        super().__init__(inner, view)
        self.batches: dict[str, GraphBatch] = {}

    def upsert_batch(self, batch: GraphBatch) -> WriteResult:
        result = super().upsert_batch(batch)
        self.batches[batch.doc_id] = batch
        return result


@dataclass
class DemoGraph:
    """The demo corpus in one backend and its RDF view, plus API clients over them."""

    backend: str
    settings: Settings
    store: RecordingStore
    view: OxigraphView
    hashes: dict[str, str] = field(default_factory=dict)
    _clients: dict[tuple[float, int], Any] = field(default_factory=dict)
    _exits: list[Any] = field(default_factory=list)

    @property
    def prefixes(self) -> dict[str, str]:
        return default_prefixes(self.view.mapping.schema)

    def ensure_intact(self) -> None:
        """Rewrite the recorded batches if the store lost them (a cleared database)."""
        if self.store.document_hashes() == self.hashes:
            return
        self.store.inner.clear()
        for batch in self.store.batches.values():
            self.store.upsert_batch(batch)
        assert self.store.document_hashes() == self.hashes

    def client(self, *, timeout_s: float = 5.0, row_cap: int = 1000) -> Any:
        """A TestClient of the real app over this graph (its lifespan opens the store)."""
        key = (timeout_s, row_cap)
        if key not in self._clients:
            from fastapi.testclient import TestClient

            from impact_graph.api.app import create_app

            settings = self.settings.model_copy(
                update={"query_timeout_s": timeout_s, "query_row_cap": row_cap}
            )
            app = create_app(settings, warm_up=False)
            client = TestClient(app, raise_server_exceptions=False)
            client.__enter__()
            self._clients[key] = client
            self._exits.append(client)
        return self._clients[key]

    def close(self) -> None:
        for c in self._exits:
            with contextlib.suppress(Exception):
                c.__exit__(None, None, None)
        with contextlib.suppress(Exception):
            self.store.close()


_GRAPHS: dict[str, DemoGraph] = {}
_SHARED: dict[str, Any] = {}


def _embedder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if "embedder" not in _SHARED:
        from impact_graph.ingest.embed import Embedder

        cache = tmp_path_factory.mktemp("demo-embeddings") / "embeddings.sqlite"
        _SHARED["embedder"] = Embedder(cache_path=cache)
    return _SHARED["embedder"]


def load_demo(
    backend_settings: Settings,
    schema: Any,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> DemoGraph:
    """The demo corpus on ``backend_settings``' backend (ingested on first use)."""
    from impact_graph.ingest.pipeline import Pipeline
    from impact_graph.store import open_store

    backend = backend_settings.backend
    graph = _GRAPHS.get(backend)
    if graph is None:
        # The production wiring: open_store wraps the backend with the RDF view in
        # <data_dir>/rdf/<graph_name>; the API app opened with these settings sees it too.
        update: dict[str, Any] = {"rdf": "oxigraph"}
        if backend == "falkordb":  # its own graph (and view) in the session's server
            update["graph_name"] = "demo_corpus"
        else:  # Neo4j needs no data dir; the view does
            update["data_dir"] = tmp_path_factory.mktemp("demo-neo4j")
        settings = backend_settings.model_copy(update=update)
        opened = open_store(settings)
        assert isinstance(opened, WriteThroughStore), "open_store should add the RDF view"
        assert isinstance(opened.view, OxigraphView)
        store = RecordingStore(opened.inner, opened.view)
        store.clear()
        store.setup_schema(schema)
        work = settings.model_copy(
            update={
                "data_dir": tmp_path_factory.mktemp(f"demo-work-{backend}"),
                "pseudonym_secret": SecretStr("same-facts"),
            }
        )
        pipeline = Pipeline(work, store=store, embedder=_embedder(tmp_path_factory), schema=schema)
        with pipeline:
            report = pipeline.run([DEMO], progress=False)
        assert report.ok, report
        graph = DemoGraph(backend, settings, store, opened.view, hashes=store.document_hashes())
        assert len(graph.hashes) > 40  # the whole demo corpus
        _GRAPHS[backend] = graph
        request.config.add_cleanup(graph.close)
        if "embedder_cleanup" not in _SHARED:
            _SHARED["embedder_cleanup"] = True
            request.config.add_cleanup(lambda: _SHARED["embedder"].close())
    graph.ensure_intact()
    return graph


@pytest.fixture
def demo_graph(
    backend_settings: Settings,
    schema: Any,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> DemoGraph:
    """The demo corpus on this test's backend, ingested once per backend per session."""
    return load_demo(backend_settings, schema, request, tmp_path_factory)


# ---------------------------------------------------------------------------------------
# The questions
# ---------------------------------------------------------------------------------------

CATALOG: Catalog = load_catalog()

#: Extra parameter sets (beyond each query's defaults) and the fewest rows each must give
#: on the demo corpus, so that "identical" never means "both empty" by accident.
CASES: list[tuple[str, dict[str, Any], int]] = [
    ("interventions_for_challenge", {}, 0),  # loneliness is not rated that high in the demo
    ("interventions_for_challenge", {"min_level": "Goed beschreven"}, 2),
    ("interventions_for_challenge", {"challenge": "overgewicht"}, 1),
    (
        "interventions_for_challenge",
        {"challenge": "pesten", "min_level": "Effectief volgens sterke aanwijzingen"},
        1,
    ),
    ("actors_in_several_programmes", {}, 3),
    ("actors_in_several_programmes", {"min_programmes": 3}, 1),
    ("working_elements_across_programmes", {}, 1),
    ("effects_without_evidence", {}, 1),
    ("interventions_for_target_group", {}, 3),
    ("interventions_for_target_group", {"target_group": "kinderen"}, 1),
    ("programmes_for_challenge", {}, 1),
    ("programmes_for_challenge", {"challenge": "jeugdcriminaliteit"}, 1),
    ("who_delivers_what", {}, 5),
    ("funders", {}, 1),
    ("collaborations", {}, 5),
    ("evidence_for_intervention", {}, 3),
    ("evidence_for_intervention", {"intervention": "kanjertraining"}, 1),
    ("legal_bases", {}, 3),
    ("documents_about_programme", {}, 2),
    ("programmes_by_area", {}, 3),
    ("effects_by_direction", {}, 3),
    ("effects_by_direction", {"direction": "−"}, 3),
    ("effects_by_direction", {"direction": "+"}, 3),
    ("challenges_by_interventions", {}, 10),
    ("evidence_by_type", {}, 3),
    ("working_elements_of_programme", {}, 3),
    ("unrated_interventions", {}, 3),
]


def _case_id(case: tuple[str, dict[str, Any], int]) -> str:
    name, params, _ = case
    return name + ("[" + ",".join(f"{k}={v}" for k, v in params.items()) + "]" if params else "")


def as_multiset(table: Table) -> Counter[tuple[Any, ...]]:
    def cell(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(sorted(map(repr, v)))
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    return Counter(tuple(cell(v) for v in row) for row in table.rows)


def ask_both(graph: DemoGraph, name: str, params: dict[str, Any]) -> tuple[Table, Table]:
    q = CATALOG.get(name)
    bound = q.bind(params)
    cypher = run_stored(q, "cypher", bound, store=graph.store, timeout_s=30, row_cap=100_000)
    sparql = run_stored(
        q,
        "sparql",
        bound,
        view=graph.view,
        prefixes=graph.prefixes,
        timeout_s=30,
        row_cap=100_000,
    )
    return cypher, sparql


def test_at_least_15_questions_in_both_languages() -> None:
    both = [q.name for q in CATALOG if q.cypher and q.sparql]
    assert len(both) >= 15, both
    # Every stored question with both versions is compared below.
    assert set(both) <= {name for name, _, _ in CASES}


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_same_answer_in_cypher_and_sparql(
    demo_graph: DemoGraph, case: tuple[str, dict[str, Any], int]
) -> None:
    name, params, min_rows = case
    cypher, sparql = ask_both(demo_graph, name, params)
    assert cypher.columns == sparql.columns
    assert not cypher.truncated and not sparql.truncated
    assert len(cypher.rows) >= min_rows, (name, params, cypher.rows)
    only_cypher = as_multiset(cypher) - as_multiset(sparql)
    only_sparql = as_multiset(sparql) - as_multiset(cypher)
    assert not only_cypher and not only_sparql, (
        f"{name}: only in Cypher {list(only_cypher)[:5]}, only in SPARQL {list(only_sparql)[:5]}"
    )


@pytest.mark.neo4j
def test_both_backends_give_the_same_answers(
    request: pytest.FixtureRequest, schema: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """FalkorDB and Neo4j, each loaded by the pipeline, agree question by question."""
    from tests.conftest import settings_for

    falkor = load_demo(settings_for("falkordb", request), schema, request, tmp_path_factory)
    neo = load_demo(settings_for("neo4j", request), schema, request, tmp_path_factory)
    falkor.ensure_intact()
    for name, params, _ in CASES:
        a, _ = ask_both(falkor, name, params)
        b, _ = ask_both(neo, name, params)
        assert a.columns == b.columns, name
        assert as_multiset(a) == as_multiset(b), name


def test_interventions_against_loneliness_follow_the_ladder(demo_graph: DemoGraph) -> None:
    """The issue's example question reads the ladder: raising the level only removes rows,
    and every row is at least the level asked for."""
    previous: set[str] | None = None
    for level in (1, 2, 3, 4, 5):
        cypher, sparql = ask_both(
            demo_graph,
            "interventions_for_challenge",
            {"challenge": "eenzaamheid", "min_level": level},
        )
        ids = {r[0] for r in cypher.rows}
        assert ids == {r[0] for r in sparql.rows}
        assert all(r[2] >= level for r in cypher.rows)
        if previous is not None:
            assert ids <= previous
        previous = ids
