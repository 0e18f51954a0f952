"""The ontology loads, says what the architecture guide says, and drives the schema."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from impact_graph.ontology import (
    ANY,
    ONTOLOGY_FILE,
    OntologyError,
    load_graph,
    load_schema,
    load_shapes,
    ontology_dir,
    rel_type_name,
)

IG = Namespace("https://w3id.org/impact-graph/ontology#")
ID = Namespace("https://w3id.org/impact-graph/id/")

# The contract from ARCHITECTURE.md ("Core ontology"), restated here on purpose: the test
# is what notices when the ontology drifts away from the guide.
CORE_LABELS = {
    "Challenge", "TargetGroup", "Actor", "Intervention", "WorkingElement", "Effect",
    "Evidence", "Programme", "Area", "Document", "Chunk", "LegalBasis", "Goal",
}  # fmt: skip
RELATIONSHIPS = {
    "ADDRESSES": ({"Intervention", "Programme"}, {"Challenge"}),
    "TARGETS": ({"Intervention", "Programme"}, {"TargetGroup"}),
    "HAS_ELEMENT": ({"Intervention"}, {"WorkingElement"}),
    "HAS_EFFECT": ({"Intervention"}, {"Effect"}),
    "SUPPORTED_BY": ({"Effect", "WorkingElement"}, {"Evidence"}),
    "USES": ({"Programme"}, {"Intervention"}),
    "PARTICIPATES_IN": ({"Actor"}, {"Programme"}),
    "DELIVERS": ({"Actor"}, {"Intervention"}),
    "FUNDS": ({"Actor"}, {"Programme"}),
    "COLLABORATES_WITH": ({"Actor"}, {"Actor"}),
    "IN_AREA": ({"Programme", "Document"}, {"Area"}),
    "GROUNDED_IN": ({"Challenge", "Programme"}, {"LegalBasis"}),
    "HAS_CHUNK": ({"Document"}, {"Chunk"}),
    "MENTIONS": ({"Chunk"}, {ANY}),
    "DERIVED_FROM": ({ANY}, {"Document"}),
}


@pytest.fixture(scope="module")
def ttl_text() -> str:
    return (ontology_dir() / ONTOLOGY_FILE).read_text(encoding="utf-8")


def test_ontology_dir_is_found_in_checkout() -> None:
    d = ontology_dir()
    assert (d / "impact.ttl").is_file()
    assert (d / "shapes.ttl").is_file()
    assert list((d / "vocabularies").glob("*.ttl"))


def test_rel_type_name() -> None:
    assert rel_type_name("addresses") == "ADDRESSES"
    assert rel_type_name("hasElement") == "HAS_ELEMENT"
    assert rel_type_name("participatesIn") == "PARTICIPATES_IN"
    assert rel_type_name("collaboratesWith") == "COLLABORATES_WITH"
    assert rel_type_name("inArea") == "IN_AREA"
    assert rel_type_name("hasURLFor") == "HAS_URL_FOR"


def test_schema_has_every_core_class_with_labels_and_definition() -> None:
    schema = load_schema()
    assert set(schema.labels) >= CORE_LABELS
    g = load_graph()
    for label in CORE_LABELS:
        cls = schema.node_class(label)
        assert cls.iri == str(IG[label])
        assert cls.label_nl and cls.label_en and cls.definition, label
        langs = {o.language for o in g.objects(IG[label], SKOS.definition)}
        assert {"nl", "en"} <= langs, f"{label} needs a Dutch and an English definition"


def test_relationships_match_the_guide() -> None:
    schema = load_schema()
    for type_, (domain, range_) in RELATIONSHIPS.items():
        rel = schema.rel_type(type_)
        assert set(rel.domain) == domain, type_
        assert set(rel.range) == range_, type_
        assert rel.label_nl and rel.label_en and rel.definition, type_
    assert schema.rel_type("COLLABORATES_WITH").symmetric
    assert not schema.rel_type("ADDRESSES").symmetric


def test_properties_flags_and_edge_properties() -> None:
    schema = load_schema()
    common = {p.name for p in schema.common_properties}
    assert {"id", "name", "sources", "spans", "status", "created_at", "updated_at"} <= common
    id_prop = next(p for p in schema.common_properties if p.name == "id")
    assert id_prop.unique and id_prop.indexed
    sources = next(p for p in schema.common_properties if p.name == "sources")
    assert sources.many and sources.datatype == "string"

    chunk = schema.node_class("Chunk")
    assert "text" in chunk.fulltext_properties
    assert {p.name: p.datatype for p in chunk.properties}["position"] == "integer"
    assert {"name", "description", "aliases"} <= set(schema.fulltext_labels["Intervention"])
    assert {
        "Chunk", "Intervention", "WorkingElement", "Challenge", "TargetGroup", "Effect", "Programme"
    } <= set(schema.vector_labels)  # fmt: skip
    effect = {p.name for p in schema.node_class("Effect").properties}
    assert {"outcome", "direction", "magnitude", "rating_scheme", "rating_level"} <= effect
    assert "content_hash" in {p.name for p in schema.node_class("Document").properties}

    def edge_props(t: str) -> set[str]:
        return {p.name for p in schema.rel_type(t).properties}

    assert "role" in edge_props("PARTICIPATES_IN")
    assert {"start", "end"} <= edge_props("MENTIONS")
    assert "weight" in edge_props("COLLABORATES_WITH")
    for rel in schema.rel_types:
        assert {"sources", "spans"} <= edge_props(rel.type), rel.type
    assert schema.resource_base == "https://w3id.org/impact-graph/id/"
    assert schema.base_iri == str(IG)


def test_default_schema_is_cached() -> None:
    assert load_schema() is load_schema()


def test_extra_class_and_property_appear_in_derived_schema(tmp_path: Path, ttl_text: str) -> None:
    extra = """
ig:Recognition a owl:Class ;
    rdfs:label "Erkenning"@nl , "Recognition"@en ;
    skos:definition "A rating of an intervention."@en .
ig:hasRecognition a owl:ObjectProperty ;
    rdfs:domain ig:Intervention ;
    rdfs:range ig:Recognition ;
    rdfs:label "heeft erkenning"@nl , "has recognition"@en .
ig:awarded_by a owl:DatatypeProperty ;
    ig:fulltext true ;
    rdfs:domain ig:Recognition ;
    rdfs:range xsd:string .
"""
    path = tmp_path / "impact.ttl"
    path.write_text(ttl_text + extra, encoding="utf-8")
    schema = load_schema(path)
    assert "Recognition" in schema.labels
    rec = schema.node_class("Recognition")
    assert rec.label_nl == "Erkenning" and rec.definition == "A rating of an intervention."
    assert "awarded_by" in rec.fulltext_properties
    assert "name" in {p.name for p in rec.properties}  # common properties come along
    rel = schema.rel_type("HAS_RECOGNITION")
    assert rel.domain == ("Intervention",) and rel.range == ("Recognition",)
    assert "Recognition" not in load_schema().labels  # the default schema is untouched


def test_load_schema_accepts_a_directory(tmp_path: Path) -> None:
    shutil.copy(ontology_dir() / ONTOLOGY_FILE, tmp_path / ONTOLOGY_FILE)
    assert load_schema(tmp_path).labels == load_schema().labels


def test_malformed_turtle_names_the_file(tmp_path: Path, ttl_text: str) -> None:
    path = tmp_path / "impact.ttl"
    path.write_text(ttl_text + "\nig:Broken a owl:Class ;; rdfs:label .\n", encoding="utf-8")
    with pytest.raises(OntologyError) as err:
        load_schema(path)
    assert str(path) in str(err.value) and "Turtle" in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OntologyError, match="file not found"):
        load_schema(tmp_path / "nope.ttl")


def test_domain_naming_an_unknown_class_is_refused(tmp_path: Path, ttl_text: str) -> None:
    path = tmp_path / "impact.ttl"
    path.write_text(
        ttl_text + "\nig:oops a owl:ObjectProperty ; rdfs:domain ig:Nope ; rdfs:range ig:Actor .\n",
        encoding="utf-8",
    )
    with pytest.raises(OntologyError, match=r"impact\.ttl: oops: .*Nope"):
        load_schema(path)


def test_two_properties_with_one_relationship_type_are_refused(
    tmp_path: Path, ttl_text: str
) -> None:
    path = tmp_path / "impact.ttl"
    path.write_text(ttl_text + "\nig:has_element a owl:ObjectProperty .\n", encoding="utf-8")
    with pytest.raises(OntologyError, match="HAS_ELEMENT"):
        load_schema(path)


def test_load_graph_holds_ontology_and_vocabularies() -> None:
    g = load_graph()
    assert (IG.Intervention, RDF.type, URIRef("http://www.w3.org/2002/07/owl#Class")) in g
    assert any(g.subjects(RDF.type, SKOS.ConceptScheme))


# --- SHACL -----------------------------------------------------------------------------------


def _sample() -> Graph:
    """A small, valid RDF view of one programme with an intervention and its evidence."""
    g = Graph()
    doc, chunk = ID["document:plan"], ID["chunk:document:plan:0"]
    g.add((doc, RDF.type, IG.Document))
    g.add((doc, IG.content_hash, Literal("abc")))
    g.add((doc, IG.kind, Literal("plan")))
    g.add((doc, IG.hasChunk, chunk))
    g.add((chunk, RDF.type, IG.Chunk))
    g.add((chunk, IG.text, Literal("Welzijn op Recept vermindert eenzaamheid.")))
    g.add((chunk, IG.position, Literal(0)))
    nodes = {
        "intervention:wor": (IG.Intervention, "Welzijn op Recept"),
        "challenge:eenzaamheid": (IG.Challenge, "eenzaamheid"),
        "effect:wor-eenzaamheid": (IG.Effect, None),
        "evidence:studie": (IG.Evidence, "Evaluatie 2019"),
        "actor:gemeente": (IG.Actor, "Gemeente Utrecht"),
        "programme:samen": (IG.Programme, "Samen tegen eenzaamheid"),
    }
    for key, (cls, name) in nodes.items():
        g.add((ID[key], RDF.type, cls))
        if name:
            g.add((ID[key], IG.name, Literal(name)))
        g.add((ID[key], IG.spans, Literal("document:plan#0-20")))
        g.add((chunk, IG.mentions, ID[key]))
    eff = ID["effect:wor-eenzaamheid"]
    g.add((eff, IG.outcome, Literal("eenzaamheidsgevoelens")))
    g.add((eff, IG.direction, Literal("−")))  # U+2212, the canonical minus
    g.add((eff, IG.rating_scheme, Literal("Erkenningstraject")))
    g.add((eff, IG.rating_level, Literal("Goed onderbouwd")))
    g.add((eff, IG.supportedBy, ID["evidence:studie"]))
    g.add((ID["evidence:studie"], IG.year, Literal(2019)))
    g.add((ID["evidence:studie"], IG.derivedFrom, doc))
    g.add((ID["intervention:wor"], IG.addresses, ID["challenge:eenzaamheid"]))
    g.add((ID["intervention:wor"], IG.hasEffect, eff))
    g.add((ID["actor:gemeente"], IG.kind, Literal("organisation")))
    g.add((ID["actor:gemeente"], IG.participatesIn, ID["programme:samen"]))
    g.add((ID["programme:samen"], IG.uses, ID["intervention:wor"]))
    return g


def _conforms(g: Graph) -> tuple[bool, str]:
    ok, _, text = validate(g, shacl_graph=load_shapes(), inference="none")
    return bool(ok), str(text)


def test_shapes_accept_a_conforming_graph() -> None:
    ok, text = _conforms(_sample())
    assert ok, text


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        # ADDRESSES pointing at a TargetGroup instead of a Challenge
        (
            lambda g: (
                g.set((ID["challenge:eenzaamheid"], RDF.type, IG.TargetGroup)),
                g.remove((ID["challenge:eenzaamheid"], RDF.type, IG.Challenge)),
            ),
            "ADDRESSES must point at a Challenge",
        ),
        (lambda g: g.set((ID["effect:wor-eenzaamheid"], IG.direction, Literal("-"))), "direction"),
        (lambda g: g.remove((ID["intervention:wor"], IG.name, None)), "name"),
        (
            lambda g: g.remove((ID["effect:wor-eenzaamheid"], IG.rating_scheme, None)),
            "rating_scheme",
        ),
        (lambda g: g.remove((ID["effect:wor-eenzaamheid"], IG.outcome, None)), "outcome"),
        (lambda g: g.set((ID["actor:gemeente"], IG.kind, Literal("company"))), "kind"),
        (lambda g: g.remove((ID["document:plan"], IG.content_hash, None)), "content_hash"),
        (lambda g: g.set((ID["evidence:studie"], IG.year, Literal("2019"))), "year"),
        (lambda g: g.set((ID["actor:gemeente"], IG.spans, Literal("no-span"))), "span"),
    ],
)
def test_shapes_reject_violations(mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    g = _sample()
    mutate(g)
    ok, text = _conforms(g)
    assert not ok
    assert expected in text


def test_shape_paths_and_classes_exist_in_the_ontology() -> None:
    """Shapes may only name properties and classes the ontology declares."""
    shapes, onto = load_shapes(), load_graph()
    sh = Namespace("http://www.w3.org/ns/shacl#")
    declared = set(onto.subjects(RDF.type, None))
    for term in {*shapes.objects(None, sh.path), *shapes.objects(None, sh["class"])}:
        if str(term).startswith(str(IG)):
            assert term in declared, f"shapes.ttl names {term}, which impact.ttl does not declare"
    for cls in shapes.objects(None, sh.targetClass):
        assert (cls, RDFS.label, None) in onto, cls


# --- /ontology over the API ---------------------------------------------------------------


@pytest.fixture(scope="module")
def api(falkordb_data_dir: Path) -> Iterator[TestClient]:
    """The app on the session's embedded FalkorDB (the ontology routes read no graph)."""
    from impact_graph.api.app import create_app
    from impact_graph.config import Settings

    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="bare-onto")
    with TestClient(create_app(settings, warm_up=False)) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/ontology.ttl", "text/turtle"),
        ("/ontology.turtle", "text/turtle"),
        ("/ontology.jsonld", "application/ld+json"),
        ("/ontology.json-ld", "application/ld+json"),
        ("/ontology.html", "text/html"),
    ],
)
def test_suffix_chooses_the_format_like_format_parameter(
    api: TestClient, path: str, media: str
) -> None:
    """/ontology.ttl is /ontology?format=ttl, whatever the Accept header says."""
    r = api.get(path, headers={"Accept": "image/png"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(media)
    fmt = path.rsplit(".", 1)[1]
    assert r.content == api.get("/ontology", params={"format": fmt}).content


def test_unknown_suffix_is_404_naming_the_offered_ones(api: TestClient) -> None:
    r = api.get("/ontology.png")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem")
    detail = r.json()["detail"]
    assert "/ontology.png" in detail and "/ontology.ttl" in detail and "/ontology.jsonld" in detail


def test_jsonld_context_binds_only_the_ontologys_own_prefixes(api: TestClient) -> None:
    """rdflib binds brick, csvw, doap, ... to every graph; the context lists only what
    impact.ttl and the vocabularies declare with @prefix."""
    declared: dict[str, str] = {}
    directory = ontology_dir()
    for path in [directory / ONTOLOGY_FILE, *sorted((directory / "vocabularies").glob("*.ttl"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("@prefix"):
                prefix, iri = line.split()[1:3]
                declared[prefix.rstrip(":")] = iri.strip("<>")
    context = api.get("/ontology.jsonld").json()["@context"]
    assert context == dict(sorted(declared.items()))
    assert "ig" in context and "skos" in context
    assert not {"brick", "csvw", "doap", "odrl", "sosa"} & set(context)
    # Still the whole ontology: as many triples as the Turtle.
    ttl = Graph().parse(data=api.get("/ontology.ttl").text, format="turtle")
    jsonld = Graph().parse(data=api.get("/ontology.jsonld").text, format="json-ld")
    assert len(jsonld) == len(ttl) > 1000


def test_ontology_page_shows_each_relationship_both_ways(api: TestClient) -> None:
    """The HTML page lists every relationship's Dutch label and its ig:inverseLabel (how
    the entity pages say an incoming link), so a researcher sees the wording the pages use."""
    from impact_graph.ontology import inverse_labels

    html = api.get("/ontology.html").text
    inverse = inverse_labels("nl")
    for r in load_schema().rel_types:
        row = re.search(rf"<code>{r.type}</code>.*?</tr>", html, re.S)
        assert row, r.type
        assert f'<td class="rel-nl">{r.label_nl}<br><span class="muted">← {inverse[r.type]}' in (
            row.group(0)
        ), r.type
    ttl = Graph().parse(data=api.get("/ontology.ttl").text, format="turtle")
    assert (
        IG.inverseLabel,
        RDF.type,
        URIRef("http://www.w3.org/2002/07/owl#AnnotationProperty"),
    ) in ttl
