"""Stored queries: the catalogue file, typed parameters, SPARQL binding, user files, and
``/queries`` over HTTP on both backends (same answer in Cypher and SPARQL, JSON and CSV,
4xx naming a bad parameter)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impact_graph.queries import CatalogError, ParamError, bind_sparql, load_catalog, load_file
from impact_graph.queries.catalog import default_file
from impact_graph.store.port import QuerySyntaxError
from tests.test_same_facts import DemoGraph, demo_graph  # noqa: F401 - shared fixture

CATALOG = load_catalog()
LONELY = "https://w3id.org/impact-graph/vocab/challenges/eenzaamheid"
SOCIAL = "https://w3id.org/impact-graph/vocab/challenges/sociale-eenzaamheid"

USER_FILE = """
queries:
  programme_by_name:
    title: One programme
    description: A programme by its exact name.
    params:
      name: {type: string, required: true, description: Exact name.}
    cypher: |
      MATCH (p:Programme {name: $name}) RETURN p.id AS id
    sparql: |
      SELECT ?id WHERE { ?p a ig:Programme ; ig:name $name ; ig:id ?id }
  funders:
    title: Replaced funders
    description: The user's file replaces a packaged query of the same name.
    cypher: |
      MATCH (a:Actor)-[:FUNDS]->(p) RETURN count(*) AS n
"""


# -- the catalogue ------------------------------------------------------------------------


def test_packaged_file_is_found_and_documented() -> None:
    assert default_file().name == "research.yaml"
    assert len(CATALOG) >= 15
    for q in CATALOG:
        assert q.title and len(q.description) > 20, q.name
        assert q.cypher and q.sparql, q.name
        for p in q.params:
            assert p.description, (q.name, p.name)


def test_recognition_level_becomes_its_rank() -> None:
    q = CATALOG.get("interventions_for_challenge")
    assert q.bind({})["min_level"] == 4  # "Effectief volgens goede aanwijzingen"
    assert q.bind({"min_level": "Goed onderbouwd"})["min_level"] == 2
    assert q.bind({"min_level": "3"})["min_level"] == 3
    with pytest.raises(ParamError, match="min_level") as info:
        q.bind({"min_level": "heel erg goed"})
    assert "Goed beschreven" in str(info.value)


def test_concept_parameter_expands_to_narrower_concepts() -> None:
    q = CATALOG.get("interventions_for_challenge")
    lonely = q.bind({"challenge": "eenzaamheid"})["challenge"]
    assert LONELY in lonely and SOCIAL in lonely
    assert q.bind({"challenge": "sociaal isolement"})["challenge"] == lonely  # a synonym
    assert q.bind({"challenge": SOCIAL})["challenge"] == [SOCIAL]  # an IRI, no narrower
    with pytest.raises(ParamError, match=r"'challenge'.*not a concept"):
        q.bind({"challenge": "koffie"})


@pytest.mark.parametrize(
    ("name", "raw", "param"),
    [
        ("actors_in_several_programmes", {"min_programmes": "twee"}, "min_programmes"),
        ("actors_in_several_programmes", {"min_programmes": "2.5"}, "min_programmes"),
        ("actors_in_several_programmes", {"minimum": "2"}, "minimum"),
        ("effects_by_direction", {"direction": "-"}, "direction"),  # ASCII hyphen
    ],
)
def test_bad_parameters_name_the_parameter(name: str, raw: dict[str, str], param: str) -> None:
    with pytest.raises(ParamError) as info:
        CATALOG.get(name).bind(raw)
    assert info.value.param == param and f"'{param}'" in str(info.value)


def test_sparql_binding_escapes_values_and_lists_iris() -> None:
    text = 'SELECT ?x WHERE { ?x ig:name $name FILTER(?c IN ($c)) FILTER(?s != "$name") }'
    spec = CATALOG.get("interventions_for_challenge").params[0]  # a concept parameter
    bound = bind_sparql(
        text.replace("$c", "$challenge"),
        {"name": 'x" } ; DROP ALL ; #', "challenge": [LONELY, SOCIAL]},
        (spec,),
    )
    assert '"x\\" } ; DROP ALL ; #"' in bound  # one literal, quote escaped
    assert f"<{LONELY}>, <{SOCIAL}>" in bound
    assert '"$name"' in bound  # inside a string literal: untouched
    with pytest.raises(QuerySyntaxError, match=r"\$name"):
        bind_sparql("SELECT ?x WHERE { ?x ig:name $name }", {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("queries: [1, 2", "not valid YAML at line"),
        ("items: {}", "top-level 'queries:'"),
        ("queries:\n  q:\n    title: t\n    cypher: RETURN $x\n", "$x, which is not declared"),
        (
            "queries:\n  q:\n    cypher: RETURN 1\n    params:\n      format: {type: string}\n",
            "parameter 'format'",
        ),
        (
            "queries:\n  q:\n    cypher: RETURN $x\n    params:\n      x: {type: date}\n",
            "type must be one of",
        ),
        ("queries:\n  q:\n    title: no text\n", "give the query text"),
    ],
)
def test_broken_files_name_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_file(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_user_file_adds_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(USER_FILE, encoding="utf-8")
    cat = load_catalog(path)
    assert len(cat) == len(CATALOG) + 1
    assert cat.get("funders").title == "Replaced funders" and cat.get("funders").source == str(path)
    with pytest.raises(ParamError, match="needs the parameter 'name'"):
        cat.get("programme_by_name").bind({})


# -- /queries over HTTP ---------------------------------------------------------------------


@pytest.fixture
def client(demo_graph: DemoGraph):  # type: ignore[no-untyped-def]  # noqa: F811
    return demo_graph.client()


def test_list(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/queries").json()
    assert body["total"] == len(CATALOG)
    q = next(x for x in body["queries"] if x["name"] == "interventions_for_challenge")
    assert [p["name"] for p in q["params"]] == ["challenge", "min_level"]
    assert q["params"][1]["type"] == "recognition_level" and q["languages"] == ["cypher", "sparql"]
    assert q["links"]["csv"].endswith("/queries/interventions_for_challenge.csv")


def test_run_same_answer_in_both_languages(client) -> None:  # type: ignore[no-untyped-def]
    params = {"challenge": "overgewicht", "min_level": "Effectief volgens goede aanwijzingen"}
    cy = client.get("/queries/interventions_for_challenge", params=params)
    sp = client.get("/queries/interventions_for_challenge", params={**params, "lang": "sparql"})
    assert cy.status_code == 200 and sp.status_code == 200, (cy.text, sp.text)
    assert cy.json()["language"] == "cypher" and sp.json()["language"] == "sparql"
    assert cy.json()["rows"] and sorted(cy.json()["rows"]) == sorted(sp.json()["rows"])
    assert cy.json()["params"]["min_level"] == 4 and cy.json()["query"] == (
        "interventions_for_challenge"
    )


def test_run_csv(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/queries/actors_in_several_programmes.csv", params={"min_programmes": "2"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["id", "name", "programmes"]
    assert rows[1:] and all(int(row[2]) >= 2 for row in rows[1:])
    s = client.get("/queries/actors_in_several_programmes.csv", params={"lang": "sparql"})
    assert sorted(s.text.splitlines()) == sorted(r.text.splitlines())


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"bogus": "1"}, "bogus"),
        ({"min_programmes": "many"}, "min_programmes"),
        ({"lang": "gremlin"}, "lang"),
    ],
)
def test_bad_parameter_is_422_naming_it(client, params, name) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/queries/actors_in_several_programmes", params=params)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert f"'{name}'" in problem["detail"] or name in problem["detail"]
    if name != "lang":
        assert problem["errors"][0]["loc"] == ["query", name]


@pytest.fixture(scope="module")
def bare_client(falkordb_data_dir: Path) -> Iterator[TestClient]:
    """The app on the session's embedded FalkorDB with an empty graph: the answers below
    are given before any query reaches the store."""
    from impact_graph.api.app import create_app
    from impact_graph.config import Settings

    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="bare-queries")
    with TestClient(create_app(settings, warm_up=False)) as c:
        yield c


def test_unknown_query_is_404_naming_it_without_its_suffix(bare_client: TestClient) -> None:
    """'nope.csv' is the query 'nope' asked for as CSV: the 404 names 'nope', lists a few
    stored names (the closest when one is close) and points at GET /queries."""
    r = bare_client.get("/queries/nope.csv")
    assert r.status_code == 404, r.text
    detail = r.json()["detail"]
    assert "'nope'" in detail and "nope.csv" not in detail, detail
    assert f"the {len(CATALOG)} stored queries include 'actors_in_several_programmes'" in detail
    assert "GET http://testserver/queries lists them all" in detail and detail.endswith(".")
    # A typo gets the nearest names first, whatever the suffix.
    for name in ("interventions_for_chalenge", "interventions_for_chalenge.json"):
        detail = bare_client.get(f"/queries/{name}").json()["detail"]
        assert "'interventions_for_chalenge'; did you mean 'interventions_for_challenge'" in (
            detail
        ), detail


def test_bad_recognition_level_lists_each_scheme_once(bare_client: TestClient) -> None:
    """The levels are listed per rating scheme, the Dutch ladder first: a flat list named
    'Promising' twice (Blueprints and CrimeSolutions) without saying why."""
    r = bare_client.get(
        "/queries/interventions_for_challenge", params={"min_level": "heel erg goed"}
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "not 'heel erg goed'; levels (rank) per rating scheme: Erkenningstraject: " in detail
    assert "'Goed onderbouwd' (2)" in detail and "'Effectief volgens sterke aanwijzingen' (5)" in (
        detail
    )
    sections = detail.split("rating scheme: ", 1)[1].rstrip(".").split("; ")
    schemes = [s.split(":", 1)[0] for s in sections]
    assert schemes[0] == "Erkenningstraject" and len(schemes) == len(set(schemes)), schemes
    assert {"Blueprints", "CrimeSolutions"} <= set(schemes)
    for section in sections:  # within a scheme every level once
        levels = section.split(": ", 1)[1].split(", ")
        assert len(levels) == len(set(levels)), section
    assert detail.count("'Promising'") == 2  # once for each scheme that has it
    assert "Blueprints: 'Promising' (1)" in detail and "CrimeSolutions: 'No Effects' (0), " in (
        detail
    )


def test_user_file_served(demo_graph: DemoGraph, tmp_path: Path) -> None:  # noqa: F811
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app

    path = tmp_path / "mine.yaml"
    path.write_text(USER_FILE, encoding="utf-8")
    app = create_app(demo_graph.settings.model_copy(update={"queries_file": path}), warm_up=False)
    with TestClient(app) as c:
        names = {q["name"] for q in c.get("/queries").json()["queries"]}
        assert "programme_by_name" in names
        missing = c.get("/queries/programme_by_name")
        assert missing.status_code == 422 and "'name'" in missing.json()["detail"]
        ok = c.get("/queries/programme_by_name", params={"name": "Samen Minder Alleen"})
        assert ok.json()["rows"] == [["programme:samen-minder-alleen"]]
        sp = c.get(
            "/queries/programme_by_name", params={"name": "Samen Minder Alleen", "lang": "sparql"}
        )
        assert sp.json()["rows"] == ok.json()["rows"]
        only_cypher = c.get("/queries/funders", params={"lang": "sparql"})
        assert (
            only_cypher.status_code == 422 and "no sparql version" in only_cypher.json()["detail"]
        )


def test_broken_user_file_is_503_naming_it(demo_graph: DemoGraph, tmp_path: Path) -> None:  # noqa: F811
    from fastapi.testclient import TestClient

    from impact_graph.api.app import create_app

    path = tmp_path / "broken.yaml"
    path.write_text("queries: [", encoding="utf-8")
    app = create_app(demo_graph.settings.model_copy(update={"queries_file": path}), warm_up=False)
    with TestClient(app) as c:
        r = c.get("/queries")
        assert r.status_code == 503 and str(path) in r.json()["detail"]
        assert c.get("/cypher", params={"query": "RETURN 1 AS one"}).json()["rows"] == [[1]]
