"""``impact-graph validate`` on a corpus where documents share entities.

Two documents that mention one actor each state their own ``mention_count`` in their own
named graph, and two sources of one Effect each their own ``magnitude``: the union holds
two values, which is the model (see ``ontology/shapes.ttl``, "Two scopes"), not a
violation. A document that itself states two values still is one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph
from typer.testing import CliRunner

from impact_graph.cli import app
from impact_graph.model import Edge, Node, make_id, span_ref
from impact_graph.ontology import load_schema, load_shapes
from impact_graph.rdf.mapping import RdfMapping
from impact_graph.rdf.validate import split_shapes
from impact_graph.rdf.view import OxigraphView, view_dir
from tests.factories import doc_batch
from tests.test_sparql_http import build_settings

runner = CliRunner()
ACTOR = make_id("Actor", "Gemeente Utrecht")
EFFECT = make_id("Effect", "Welzijn op Recept → eenzaamheid")


def _document(key: str, mentions: int | list[int], magnitude: str) -> object:
    """A document that mentions the shared actor ``mentions`` times and reports the
    shared effect with ``magnitude``."""
    b = doc_batch(key, [("Actor", "Gemeente Utrecht"), ("Intervention", "Welzijn op Recept")])
    for n in b.nodes:
        if n.id == ACTOR:
            n.props["mention_count"] = mentions
    span = [span_ref(b.doc_id, 0, 5)]
    b.nodes.append(
        Node(
            EFFECT,
            "Effect",
            {"name": "Welzijn op Recept → eenzaamheid", "outcome": "eenzaamheid"}
            | {"direction": "−", "magnitude": magnitude, "mention_count": 1},
            spans=span,
        )
    )
    b.edges.append(
        Edge(make_id("Intervention", "Welzijn op Recept"), "HAS_EFFECT", EFFECT, spans=span)
    )
    return b


@pytest.fixture
def view(tmp_path: Path):  # type: ignore[no-untyped-def]
    v = OxigraphView(view_dir(build_settings(tmp_path)), RdfMapping(load_schema()))
    yield v
    v.close()


def invoke(data_dir: Path):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app, ["validate", "--data-dir", str(data_dir)], env={"IMPACT_GRAPH_RDF": "oxigraph"}
    )


def test_documents_sharing_an_entity_conform_and_a_real_violation_is_named(
    view: OxigraphView, tmp_path: Path
) -> None:
    view.write_batch(_document("a.md", 3, "d = 0,3"))  # type: ignore[arg-type]
    view.write_batch(_document("b.md", 1, "20%"))  # type: ignore[arg-type]
    both = view.select(
        f"SELECT (COUNT(DISTINCT ?n) AS ?k) WHERE {{ <{view.mapping.node_iri(ACTOR).value}> "
        f"<{view.mapping.prop('mention_count').value}> ?n }}"
    )
    assert both[0]["k"] == "2"  # the union holds one count per document
    view.close()
    r = invoke(tmp_path)
    assert r.exit_code == 0, r.output
    assert "conforms" in r.output

    # One document that states two counts for the actor and two magnitudes for the effect.
    view2 = OxigraphView(view_dir(build_settings(tmp_path)), RdfMapping(load_schema()))
    bad = _document("c.md", [2, 5], "d = 0,3")
    for n in bad.nodes:  # type: ignore[attr-defined]
        if n.id == EFFECT:
            n.props["magnitude"] = ["d = 0,3", "12%"]
    view2.write_batch(bad)  # type: ignore[arg-type]
    view2.close()
    r = invoke(tmp_path)
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    actor_lines = [ln for ln in lines if ln.startswith(f"Violation: {ACTOR} ")]
    assert len(actor_lines) == 1, lines
    assert "(from document:c-md)" in actor_lines[0] and "'mention_count'" in actor_lines[0]
    assert "found 2 in this document" in actor_lines[0] and "2 | 5" in actor_lines[0]
    effect_lines = [ln for ln in lines if EFFECT in ln]
    assert len(effect_lines) == 1 and "'magnitude'" in effect_lines[0], lines
    assert "document:c-md" in effect_lines[0] and "document:a-md" not in effect_lines[0]
    assert "2 violation(s)" in r.output


def test_union_checks_still_apply_to_per_document_properties(
    view: OxigraphView, tmp_path: Path
) -> None:
    """The union keeps the datatype and range of mention_count: a negative count is
    reported although the per-document shape only speaks of cardinality."""
    view.write_batch(_document("a.md", -1, "d = 0,3"))  # type: ignore[arg-type]
    view.close()
    r = invoke(tmp_path)
    assert r.exit_code == 1
    assert any(ACTOR in ln and "'mention_count'" in ln for ln in r.stdout.splitlines())


def test_split_shapes_takes_out_per_document_cardinalities() -> None:
    union, rules = split_shapes(load_shapes())
    by_path = {r.path.rsplit("#", 1)[-1]: r for r in rules}
    assert set(by_path) == {"mention_count", "magnitude", "measure"}
    assert by_path["mention_count"].max_count == 1
    assert any(c.endswith("#Actor") for c in by_path["mention_count"].classes)
    ttl = union.serialize(format="turtle")
    assert "EachDocument" not in ttl and "PerDocument" not in ttl
    assert "mention_count" in ttl  # its datatype and range stay in the union shapes


def test_a_per_document_shape_that_says_more_is_refused() -> None:
    shapes = load_shapes()
    extra = Graph().parse(
        data="""
        @prefix ig: <https://w3id.org/impact-graph/ontology#> .
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        @prefix igsh: <https://w3id.org/impact-graph/shapes#> .
        ig:BadShape a sh:NodeShape ; igsh:scope igsh:EachDocument ; sh:targetClass ig:Actor ;
            sh:property [ sh:path ig:name ; sh:maxCount 1 ; sh:datatype xsd:string ] .
        """,
        format="turtle",
    )
    with pytest.raises(ValueError, match="datatype") as e:
        split_shapes(shapes + extra)
    assert "shapes.ttl" in str(e.value) and "BadShape" in str(e.value)
