"""Mapping an Extraction to a GraphBatch: ids, properties, provenance, schema checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from impact_graph.ingest.chunking import chunk_extraction
from impact_graph.ingest.extraction import Entity, Extraction, Relation
from impact_graph.ingest.mapping import (
    CONTEXT_LABELS,
    MappingError,
    entity_texts,
    sentence_finder,
    to_batch,
)
from impact_graph.model import make_id, parse_span_ref
from impact_graph.search.arms import ENTITY_LABELS
from tests.factories import plan_document

TEXT = (
    "Welzijn op Recept vermindert eenzaamheid bij ouderen. "
    "Het programma loopt in de gemeente Wadstede."
)


def _extraction() -> Extraction:
    doc = plan_document(
        TEXT,
        id="document:plan-x-md",
        path=Path("plan/x.md"),
        kind_reason="folder 'plan'",
        title="Plan X",
        content_hash="abc",
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
    # A MENTIONS edge's span is the sentence holding the mention (the stores keep an
    # entity's sentences there, not on the shared node).
    for m in mentions:
        (ref,) = m.spans
        _, s, e = parse_span_ref(ref)
        assert s <= int(m.props["start"]) and int(m.props["end"]) <= e
        assert (s, e) == ex.sentence_of(int(m.props["start"]))
    wad = next(e for e in mentions if e.props["surface"] == "gemeente Wadstede")
    _, s, e = parse_span_ref(wad.spans[0])
    assert TEXT[s:e] == "Het programma loopt in de gemeente Wadstede."


def test_sentence_finder_answers_as_sentence_of() -> None:
    """The bisection `to_batch` uses gives `Extraction.sentence_of`'s answer for every
    offset: inside a sentence, between sentences, past the end, an empty sentence, and
    unsorted sentences (where it falls back to the walk)."""
    ex = _extraction()
    text_len = len(TEXT)
    for sentences in (
        ex.sentences,
        [(0, 10), (10, 10), (10, 30), (40, 60)],
        [(40, 60), (0, 10)],
        [(0, 30), (20, 50)],
        [],
    ):
        ex.sentences = list(sentences)
        find = sentence_finder(ex)
        for offset in range(-1, text_len + 2):
            assert find(offset) == ex.sentence_of(offset), (sentences, offset)


def test_entity_texts_use_definitions_and_only_vector_labels(schema) -> None:  # type: ignore[no-untyped-def]
    ex = _extraction()
    iri = "https://w3id.org/impact-graph/vocab/challenges/eenzaamheid"
    texts = entity_texts(ex, schema, {iri: "Een gemis aan contact."})
    assert texts[("Challenge", "eenzaamheid")] == "eenzaamheid: Een gemis aan contact."
    # The candidate intervention gets its sentence as context; the candidate effect
    # (not ranked by its vector) gets its chunks' mean instead of a model text.
    assert (
        texts[("Intervention", "Welzijn op Recept")]
        == "Welzijn op Recept: " + TEXT[: TEXT.index(".") + 1]
    )
    assert set(texts) == {("Challenge", "eenzaamheid"), ("Intervention", "Welzijn op Recept")}
    # An entity's own description is a stable text too; Area carries no vector at all.
    ex.entities[("Intervention", "Welzijn op Recept")].props["description"] = "Verwijzing."
    ex.entities[("Area", "Wadstede")].props["description"] = "Een gemeente."
    texts = entity_texts(ex, schema, {iri: "Een gemis aan contact."})
    assert texts[("Intervention", "Welzijn op Recept")] == "Welzijn op Recept: Verwijzing."
    assert ("Area", "Wadstede") not in texts


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


class FakeEmbedder:
    """Deterministic unit vectors per text (seeded by its hash), remembering what it was
    asked: enough to check which texts reach the model and what the entities get."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.asked: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.asked.extend(texts)
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


THREE = (
    "Het Buurtnetwerk brengt ouderen samen. "
    "Eenzaamheid is een groot probleem in de wijk. "
    "Vrijwilligers van het Buurtnetwerk bellen elke week."
)


def test_candidate_vector_is_the_normalised_mean_of_its_chunks(schema) -> None:  # type: ignore[no-untyped-def]
    doc = plan_document(
        THREE,
        id="document:plan-y-md",
        path=Path("plan/y.md"),
        kind_reason="folder 'plan'",
        title="Plan Y",
        content_hash="def",
    )
    ends = [THREE.index(".", i) + 1 for i in (0, 40, 90)]
    ex = Extraction(doc, sentences=[(0, ends[0]), (ends[0] + 1, ends[1]), (ends[1] + 1, ends[2])])
    net = [i for i in range(len(THREE)) if THREE.startswith("Buurtnetwerk", i)]
    een = THREE.index("Eenzaamheid")
    iri = "https://w3id.org/impact-graph/vocab/challenges/eenzaamheid"
    cand = ex.add_entity(
        Entity(
            "Programme",
            "Buurtnetwerk",
            "Buurtnetwerk",
            "candidate",
            "programme-name",
            mentions=[(s, s + 12) for s in net],
        )
    )
    vrij = THREE.index("Vrijwilligers")
    ex.add_entity(
        Entity(
            "Intervention",
            "Vrijwilligers",
            "Vrijwilligers",
            "candidate",
            "section",
            mentions=[(vrij, vrij + 13)],
        )
    )
    ex.add_entity(
        Entity(
            "Challenge",
            "eenzaamheid",
            "eenzaamheid",
            "vocabulary",
            "phrase",
            concept=iri,
            mentions=[(een, een + 11)],
        )
    )
    ex.add_entity(Entity("Programme", "Samen Y", "Samen Y", "metadata", "meta:programme"))
    ex.add_entity(
        Entity("Area", "Wadstede", "Wadstede", "metadata", "front matter", mentions=[(0, 3)])
    )
    chunks = chunk_extraction(ex, min_words=1, max_words=8, min_section_words=1)
    assert len(chunks) == 3  # one sentence each: the candidate is in the first and last

    fake = FakeEmbedder()
    texts = entity_texts(ex, schema, {iri: "Een gemis aan contact."})
    # To the model: the concept's "name: definition", and the candidate intervention's
    # name with its sentence (search ranks interventions by their own vectors).
    assert texts == {
        ("Challenge", "eenzaamheid"): "eenzaamheid: Een gemis aan contact.",
        ("Intervention", "Vrijwilligers"): "Vrijwilligers: " + THREE[ends[1] + 1 :],
    }
    chunk_vecs = fake.embed([c.text for c in chunks])
    ent_vecs = dict(zip(texts, fake.embed(list(texts.values())), strict=True))
    assert fake.asked == [c.text for c in chunks] + list(texts.values())
    batch = to_batch(ex, chunks, chunk_vecs, schema, entity_vectors=ent_vecs)
    by_id = {n.id: n for n in batch.nodes}

    mean = chunk_vecs[[0, 2]].mean(axis=0)
    got = np.asarray(by_id[make_id(*cand.ref)].vector)
    assert np.isclose(np.linalg.norm(got), 1.0, atol=1e-6)
    assert np.allclose(got, mean / np.linalg.norm(mean), atol=1e-6)
    assert not np.allclose(got, chunk_vecs[0], atol=1e-3)  # a mean, not one chunk
    # The concept keeps the model's vector of its definition.
    concept = np.asarray(by_id[make_id("Challenge", "eenzaamheid")].vector)
    assert np.allclose(concept, ent_vecs[("Challenge", "eenzaamheid")])
    # A metadata name the text never repeats: the mean of the whole document.
    whole = chunk_vecs.mean(axis=0)
    prog = np.asarray(by_id[make_id("Programme", "Samen Y")].vector)
    assert np.allclose(prog, whole / np.linalg.norm(whole), atol=1e-6)
    assert by_id[make_id("Area", "Wadstede")].vector is None  # no vector in the ontology

    # A chunk written without a vector does not count; without chunk vectors no means.
    partial = to_batch(ex, chunks, [chunk_vecs[0], chunk_vecs[1], None], schema)
    got = np.asarray({n.id: n for n in partial.nodes}[make_id(*cand.ref)].vector)
    assert np.allclose(got, chunk_vecs[0], atol=1e-6)
    bare = to_batch(ex, chunks, None, schema)
    assert all(n.vector is None for n in bare.nodes)


def test_context_labels_are_the_labels_search_ranks_by_their_vectors() -> None:
    """Which entities keep a model text is decided for the vector arm's labels; if the
    arm ranks other labels, their texts must be measured again (see entity_text)."""
    assert set(CONTEXT_LABELS) == set(ENTITY_LABELS)


def test_aliases_are_other_names_only(schema) -> None:  # type: ignore[no-untyped-def]
    """A merged surface that normalises to the name or to an earlier alias (case, a name
    wrapped across a line) is no alias; other surfaces are, on one line, once each."""
    from impact_graph.ingest.extraction import Merge

    ex = _extraction()
    wor = ex.entities[("Intervention", "Welzijn op Recept")]
    wor.merges = [
        Merge("welzijn op recept", "normalised"),
        Merge("Welzijn\nop Recept", "exact"),
        Merge("WoR", "altLabel"),
        Merge("wor", "normalised"),
        Merge("Welzijn-op-Recept\taanpak", "fuzzy", 0.9),
    ]
    batch = to_batch(ex, chunk_extraction(ex, min_words=5, max_words=250), None, schema)
    node = {n.id: n for n in batch.nodes}[make_id("Intervention", "Welzijn op Recept")]
    assert node.props["aliases"] == ["WoR", "Welzijn-op-Recept aanpak"]
