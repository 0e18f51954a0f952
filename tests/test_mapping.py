"""Mapping an Extraction to a GraphBatch: ids, properties, provenance, schema checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph.ingest.chunking import chunk_extraction
from impact_graph.ingest.document import Document
from impact_graph.ingest.extraction import Entity, Extraction, Relation
from impact_graph.ingest.mapping import MappingError, entity_texts, to_batch
from impact_graph.model import make_id, parse_span_ref

TEXT = (
    "Welzijn op Recept vermindert eenzaamheid bij ouderen. "
    "Het programma loopt in de gemeente Wadstede."
)


def _extraction() -> Extraction:
    doc = Document(
        id="document:plan-x-md",
        path=Path("plan/x.md"),
        text=TEXT,
        kind="plan",
        kind_reason="folder 'plan'",
        title="Plan X",
        content_hash="abc",
        format="md",
        meta={"gemeente": "Wadstede", "date": "2025-03-01", "source_url": "https://x.nl/p"},
    )
    s1 = (0, TEXT.index(".") + 1)
    s2 = (s1[1] + 1, len(TEXT))
    ex = Extraction(doc, sentences=[s1, s2])
    wor = TEXT.index("Welzijn op Recept")
    een = TEXT.index("eenzaamheid")
    wad = TEXT.index("gemeente Wadstede")
    ex.add_entity(
        Entity(
            "Intervention",
            "Welzijn op Recept",
            "Welzijn op Recept",
            "candidate",
            "section",
            mentions=[(wor, wor + 17)],
        )
    )
    ex.add_entity(
        Entity(
            "Challenge",
            "eenzaamheid",
            "eenzaamheid",
            "vocabulary",
            "phrase",
            concept="https://w3id.org/impact-graph/vocab/challenges/eenzaamheid",
            mentions=[(een, een + 11)],
        )
    )
    ex.add_entity(
        Entity(
            "Area", "Wadstede", "Wadstede", "metadata", "front matter", mentions=[(wad, wad + 17)]
        )
    )
    ex.add_entity(
        Entity(
            "Effect",
            "Welzijn op Recept → eenzaamheid",
            "minder eenzaamheid",
            "candidate",
            "effect-verb",
            mentions=[(wor, een + 11)],
            props={"direction": "−", "outcome": "eenzaamheid"},
        )
    )
    ex.add_relation(
        Relation(
            ("Intervention", "Welzijn op Recept"),
            "ADDRESSES",
            ("Challenge", "eenzaamheid"),
            "same-sentence",
            [s1],
        )
    )
    return ex


def test_batch_shape_ids_and_props(schema) -> None:  # type: ignore[no-untyped-def]
    ex = _extraction()
    chunks = chunk_extraction(ex, min_words=5, max_words=250)
    batch = to_batch(ex, chunks, [[0.1] * 384 for _ in chunks], schema)
    doc = batch.document
    assert doc.label == "Document" and doc.id == "document:plan-x-md"
    assert doc.props["title"] == "Plan X" and doc.props["kind_reason"] == "folder 'plan'"
    assert doc.props["content_hash"] == "abc" and doc.props["source_url"] == "https://x.nl/p"
    assert doc.props["year"] == 2025 and str(doc.props["created_at"]).endswith("Z")
    assert TEXT not in [v for v in doc.props.values()]  # never the raw text
    by_id = {n.id: n for n in batch.nodes}
    chunk = by_id["chunk:document:plan-x-md:0"]
    assert chunk.props["text"] == TEXT and chunk.props["position"] == 0
    assert chunk.vector is not None and len(chunk.vector) == 384
    wor = by_id[make_id("Intervention", "Welzijn op Recept")]
    assert wor.props["status"] == "candidate" and wor.props["mention_count"] == 1
    assert by_id[make_id("Challenge", "eenzaamheid")].props["concept"].endswith("eenzaamheid")
    types = sorted({e.type for e in batch.edges})
    assert types == ["ADDRESSES", "DERIVED_FROM", "HAS_CHUNK", "IN_AREA", "MENTIONS"]
    derived = [e for e in batch.edges if e.type == "DERIVED_FROM"]
    assert [(e.src, e.dst) for e in derived] == [
        (make_id("Effect", "Welzijn op Recept → eenzaamheid"), doc.id)
    ]
    area = [e for e in batch.edges if e.type == "IN_AREA"]
    assert [(e.src, e.dst) for e in area] == [(doc.id, make_id("Area", "Wadstede"))]


def test_mentions_and_provenance_point_at_the_text(schema) -> None:  # type: ignore[no-untyped-def]
    ex = _extraction()
    chunks = chunk_extraction(ex, min_words=5, max_words=250)
    batch = to_batch(ex, chunks, None, schema)
    mentions = [e for e in batch.edges if e.type == "MENTIONS"]
    assert len(mentions) == 4
    for m in mentions:
        s, e = int(m.props["start"]), int(m.props["end"])
        assert m.key == f"{s}-{e}" and TEXT[s:e] == m.props["surface"]
    for item in [*batch.all_nodes(), *batch.edges]:
        assert item.spans, f"{item} has no provenance"
        for ref in item.spans:
            doc_id, s, e = parse_span_ref(ref)
            assert doc_id == batch.doc_id and 0 <= s < e <= len(TEXT)
    addresses = next(e for e in batch.edges if e.type == "ADDRESSES")
    _, s, e = parse_span_ref(addresses.spans[0])
    assert TEXT[s:e] == "Welzijn op Recept vermindert eenzaamheid bij ouderen."


def test_entity_texts_use_definitions_and_only_vector_labels(schema) -> None:  # type: ignore[no-untyped-def]
    ex = _extraction()
    iri = "https://w3id.org/impact-graph/vocab/challenges/eenzaamheid"
    texts = entity_texts(ex, schema, {iri: "Een gemis aan contact."})
    assert texts[("Challenge", "eenzaamheid")] == "eenzaamheid: Een gemis aan contact."
    assert texts[("Intervention", "Welzijn op Recept")].startswith("Welzijn op Recept: ")
    assert ("Area", "Wadstede") not in texts  # Area carries no vector in the ontology


def test_unknown_label_and_relationship_are_refused(schema) -> None:  # type: ignore[no-untyped-def]
    ex = _extraction()
    ex.add_entity(Entity("Unicorn", "x", "x", "candidate", "bad-rule", mentions=[(0, 3)]))
    with pytest.raises(MappingError, match=r"'Unicorn'.*impact\.ttl"):
        to_batch(ex, chunk_extraction(ex), None, schema)

    ex = _extraction()
    ex.add_relation(
        Relation(("Challenge", "eenzaamheid"), "CURES", ("Area", "Wadstede"), "bad-rule", [(0, 5)])
    )
    with pytest.raises(MappingError, match="'bad-rule' made a 'CURES'"):
        to_batch(ex, chunk_extraction(ex), None, schema)

    ex = _extraction()
    ex.add_relation(
        Relation(("Challenge", "eenzaamheid"), "USES", ("Area", "Wadstede"), "wrong-ends", [(0, 5)])
    )
    with pytest.raises(MappingError, match="USES only from Programme"):
        to_batch(ex, chunk_extraction(ex), None, schema)
