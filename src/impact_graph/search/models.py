"""Inputs and outputs of the search service as pydantic models.

The API layer returns these as JSON directly, so every field carries a description and
the requests carry examples; validation errors of the service itself are ``ValueError``
sentences naming the parameter (see ``SearchService``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from impact_graph.model import slugify

ResultType = Literal["intervention", "working_element", "chunk"]
RESULT_TYPES: tuple[str, ...] = ("intervention", "working_element", "chunk")
#: Graph label of each result type.
TYPE_LABEL = {"intervention": "Intervention", "working_element": "WorkingElement", "chunk": "Chunk"}
LABEL_TYPE = {v: k for k, v in TYPE_LABEL.items()}
MAX_LIMIT = 200


class SearchFilters(BaseModel):
    """Narrow the answer. Concept filters accept a concept's label (nl/en), slug or IRI
    and include its narrower concepts ("eenzaamheid" also keeps "sociale eenzaamheid")."""

    model_config = ConfigDict(extra="forbid")

    challenge: list[str] = Field(
        default_factory=list,
        description="Challenges (maatschappelijke opgaven).",
        examples=[["eenzaamheid"]],
    )
    target_group: list[str] = Field(
        default_factory=list, description="Target groups (doelgroepen).", examples=[["ouderen"]]
    )
    area: list[str] = Field(
        default_factory=list,
        description="Areas (gemeente, wijk) by name or id.",
        examples=[["Wadstede"]],
    )
    programme: list[str] = Field(
        default_factory=list,
        description="Programmes by name or id.",
        examples=[["Samen Minder Alleen"]],
    )
    evidence_type: list[str] = Field(
        default_factory=list,
        description="Evidence types, e.g. RCT, quasi-experimenteel, procesevaluatie.",
        examples=[["RCT"]],
    )
    min_recognition: str | None = Field(
        None,
        description="Keep results recognised at least at this level of the recognition ladder.",
        examples=["Goed onderbouwd"],
    )
    type: list[ResultType] = Field(
        default_factory=list,
        description="Kinds of result to keep (default: all).",
        examples=[["intervention"]],
    )


class SearchRequest(BaseModel):
    """One "what works" question."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "q": "wat helpt tegen vereenzaming van ouderen",
                    "filters": {"type": ["intervention"]},
                    "limit": 10,
                }
            ]
        },
    )

    q: str = Field(
        ...,
        description="The question in Dutch or English (1-500 characters).",
        examples=["ouderen die zich alleen voelen"],
    )
    filters: SearchFilters = Field(default_factory=SearchFilters, description="Filters.")
    limit: int = Field(10, description=f"Results per page (1-{MAX_LIMIT}).")
    offset: int = Field(0, description="Results to skip (paging).")
    explain: bool = Field(False, description="Add each arm's rank and score to every result.")


class MatchedConceptOut(BaseModel):
    """A vocabulary concept that connects the query to a result."""

    iri: str = Field(..., description="Concept IRI.")
    label: str = Field(..., description="Dutch preferred label.")
    scheme: str = Field(..., description="Concept scheme, e.g. challenges or target-groups.")
    via: str = Field(
        ..., description="How the query reached it: label, narrower, broader or related."
    )


class Quote(BaseModel):
    """A sentence from a document that shows why the result matches."""

    text: str = Field(..., description="The sentence as written.")
    document_id: str = Field(..., description="Id of the document.")
    document_title: str = Field("", description="Title of the document.")
    chunk_id: str = Field(..., description="Id of the chunk the sentence is in.")
    start: int = Field(..., description="Character offset of the sentence in the document.")
    end: int = Field(..., description="Character offset just after the sentence in the document.")


class EvidenceOut(BaseModel):
    """One piece of evidence behind a result (or behind one of its effects)."""

    id: str
    type: str = Field("", description="Evidence type, e.g. RCT or procesevaluatie.")
    title: str = Field("", description="Title or citation of the source.")
    level: str = Field("", description="Recognition level of the rated effect it supports, if any.")
    rank: int | None = Field(
        None, description="Strength of the recognition level (higher is stronger)."
    )
    strength: int = Field(
        0, description="Strength of the study design (0 unknown ... 6 systematic review)."
    )


#: How a card says a direction of change in Dutch ("vermindert eenzaamheid").
DIRECTION_NL = {"+": "verhoogt", "−": "vermindert", "0": "geen effect op"}


class EffectOut(BaseModel):
    """An outcome claim of an intervention."""

    id: str
    outcome: str = Field(..., description="The outcome, e.g. eenzaamheidsgevoelens.")
    direction: str = Field(
        "", description="Direction of change of the outcome: + (up), 0 (no effect) or − (down)."
    )
    magnitude: str = Field("", description="Size of the effect as reported, if given.")
    level: str = Field("", description="Recognition level of this effect, if rated.")
    favourable: bool | None = Field(
        None,
        description="Whether the change is good news: the direction agrees with the outcome's "
        "desirable direction in the vocabulary (ig:desirableDirection), so 'vermindert "
        "eenzaamheid' is favourable and 'vermindert participatie' is not; null when unknown.",
    )

    @model_validator(mode="after")
    def _judge(self) -> EffectOut:
        """Fill ``favourable`` from the installed vocabulary when the caller did not, so
        every producer of effects (search, working elements) reads directions alike."""
        if self.favourable is None and self.direction:
            from impact_graph.vocab import load_vocabulary

            self.favourable = load_vocabulary().favourable(self.outcome, self.direction)
        return self

    @computed_field(description="The effect in words, e.g. 'vermindert eenzaamheid'.")  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        verb = DIRECTION_NL.get({"-": "−"}.get(self.direction, self.direction), "")
        return f"{verb} {self.outcome}".strip()


class EvidenceBadge(BaseModel):
    """One badge of a result card: a study design at a recognition level, with how many
    distinct pieces of evidence back it (so a card never repeats the same badge)."""

    type: str = Field("", description="Evidence type, e.g. RCT or procesevaluatie.")
    level: str = Field("", description="Recognition level, if the evidence supports a rating.")
    rank: int | None = Field(None, description="Strength of that level (higher is stronger).")
    strength: int = Field(0, description="Strength of the study design.")
    count: int = Field(1, description="Distinct pieces of evidence behind this badge.")


_title_noise_re = re.compile(r"^(title|titel)-")


def _title_key(title: str) -> str:
    """A title as compared for duplicates: slugified, without a "Title:" label."""
    return _title_noise_re.sub("", slugify(title))


def dedupe_evidence(items: list[EvidenceOut]) -> list[EvidenceOut]:
    """The evidence without repeats: items of the same type and level whose titles are the
    same study (equal, or one contained in the other, as when one document cites
    "Title: X" and another "X") count once; the first, strongest, is kept."""
    kept: list[EvidenceOut] = []
    for e in items:
        key = _title_key(e.title)
        if any(
            k.type == e.type
            and k.level == e.level
            and (key == (kk := _title_key(k.title)) or (key and kk and (key in kk or kk in key)))
            for k in kept
        ):
            continue
        kept.append(e)
    return kept


class ProgrammeRef(BaseModel):
    """A programme where the result is used or discussed."""

    id: str
    name: str
    via: str = Field(
        ..., description="'uses' (the programme uses it) or 'mentions' (its documents mention it)."
    )


class InterventionRef(BaseModel):
    id: str
    name: str


class InstanceOut(BaseModel):
    """A local instance of a general intervention (``INSTANCE_OF``): a described version
    with a proper name, e.g. "Buurtkamer Wadstede" of "Buurtkamer". Its recognition and
    evidence belong to that version, so they are shown as its own and never copied to the
    general intervention (nor the general one's to it)."""

    id: str
    name: str
    recognition: str = Field("", description="The instance's own recognition level, if any.")
    programmes: list[ProgrammeRef] = Field(
        default_factory=list, description="Programmes that use this instance."
    )


class ArmScore(BaseModel):
    """Where one retrieval arm put the result."""

    rank: int | None = Field(
        None, description="1-based rank in this arm, None if the arm missed it."
    )
    score: float = Field(0.0, description="The arm's own score.")


class SearchResult(BaseModel):
    """One answer, with everything that explains it."""

    id: str = Field(..., description="Node id.")
    type: ResultType = Field(..., description="intervention, working_element or chunk.")
    name: str = Field(..., description="Name (for chunks: the document title).")
    score: float = Field(
        ..., description="Fused and boosted score (only comparable within one answer)."
    )
    matched_concepts: list[MatchedConceptOut] = Field(default_factory=list)
    quotes: list[Quote] = Field(
        default_factory=list, description="Best sentences, with document and span."
    )
    recognition: str = Field("", description="Strongest recognition level found.")
    recognition_rank: int | None = Field(
        None, description="Rank of that level (higher is stronger)."
    )
    evidence: list[EvidenceOut] = Field(
        default_factory=list, description="Evidence, strongest first."
    )
    effects: list[EffectOut] = Field(default_factory=list)
    programmes: list[ProgrammeRef] = Field(default_factory=list)
    areas: list[str] = Field(
        default_factory=list, description="Areas of those programmes and documents."
    )
    challenges: list[str] = Field(
        default_factory=list, description="Challenges it addresses (labels)."
    )
    target_groups: list[str] = Field(default_factory=list, description="Target groups (labels).")
    instance_of: list[InterventionRef] = Field(
        default_factory=list,
        description="The general intervention(s) this result is a local instance of "
        "(INSTANCE_OF); their recognition is theirs, not this result's.",
    )
    instances: list[InstanceOut] = Field(
        default_factory=list,
        description="Local instances of this general intervention, each with its own "
        "recognition and the programmes that use it.",
    )
    explain: dict[str, ArmScore] | None = Field(
        None, description="Per arm rank and score (explain=true)."
    )

    @field_validator("evidence")
    @classmethod
    def _distinct_evidence(cls, items: list[EvidenceOut]) -> list[EvidenceOut]:
        """The same study found in several documents is one piece of evidence."""
        return dedupe_evidence(items)

    @computed_field(  # type: ignore[prop-decorator]
        description="Evidence badges for a card: one per study design and level, with a count."
    )
    @property
    def evidence_badges(self) -> list[EvidenceBadge]:
        badges: dict[tuple[str, str], EvidenceBadge] = {}
        for e in self.evidence:
            b = badges.get((e.type, e.level))
            if b is None:
                badges[(e.type, e.level)] = EvidenceBadge(
                    type=e.type, level=e.level, rank=e.rank, strength=e.strength
                )
            else:
                b.count += 1
        return sorted(badges.values(), key=lambda b: (-(b.rank or -1), -b.strength, b.type))


class FacetValue(BaseModel):
    """One value of a facet and how many results carry it."""

    value: str = Field(..., description="Value to pass back as a filter.")
    label: str = Field(..., description="Human label.")
    count: int


class SearchResponse(BaseModel):
    """The answer to a SearchRequest."""

    q: str
    total: int = Field(..., description="Results matching the query and filters (before paging).")
    limit: int
    offset: int
    results: list[SearchResult]
    facets: dict[str, list[FacetValue]] = Field(
        default_factory=dict, description="Facet counts over all matching results."
    )
    matched_concepts: list[MatchedConceptOut] = Field(
        default_factory=list, description="Concepts the query named or reached."
    )
    arms: list[str] = Field(default_factory=list, description="Retrieval arms that ran.")
    read_as: list[str] = Field(
        default_factory=list,
        description="Words of the question read as another vocabulary word because they "
        'looked misspelled, in Dutch for people, e.g. \'"eenzaamhied" gelezen als '
        '"eenzaamheid"\'; the web UI shows them next to the concepts.',
    )
    notes: list[str] = Field(
        default_factory=list, description="Warnings, e.g. an arm that could not run."
    )
    hint: str | None = Field(
        None,
        description="Advice in Dutch for the person who asked, when the question itself "
        "explains an empty answer (it has only common words such as 'de' and 'het'); "
        "the web UI shows it. Null otherwise.",
    )


class WorkingElementOut(BaseModel):
    """A working element with where it appears across programmes."""

    id: str
    name: str
    concept: str | None = Field(None, description="Vocabulary concept IRI, if it has one.")
    interventions: list[InterventionRef] = Field(default_factory=list)
    programmes: list[ProgrammeRef] = Field(default_factory=list)
    evidence: list[EvidenceOut] = Field(default_factory=list)
    documents: int = Field(0, description="Documents that mention it.")


class WorkingElementsResponse(BaseModel):
    total: int
    limit: int
    offset: int
    results: list[WorkingElementOut]


class EvidenceCell(BaseModel):
    """One cell of the evidence-and-gap map."""

    row: str = Field(..., description="Row node id.")
    col: str = Field(..., description="Column value (outcome or target group).")
    evidence: int = Field(..., description="Number of distinct evidence items.")
    strongest_level: str = Field("", description="Strongest recognition level in the cell.")
    strongest_rank: int | None = None
    strongest_type: str = Field("", description="Strongest study design in the cell.")


class EvidenceMapResponse(BaseModel):
    """Rows × columns with evidence counts; empty cells are the gaps."""

    rows: list[InterventionRef]
    cols: list[str]
    row_kind: str
    col_kind: str
    cells: list[EvidenceCell]
