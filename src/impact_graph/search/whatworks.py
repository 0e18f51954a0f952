"""Working elements across programmes, and the evidence-and-gap map.

Both answer "what works, where has it been tried, on what evidence" without a query
text: they read the graph's facts (HAS_ELEMENT, HAS_PROGRAMME_ELEMENT, USES, HAS_EFFECT,
SUPPORTED_BY, TARGETS) through the same ``Profile`` as search, so a working element shows
the same programmes and evidence in both places.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from impact_graph.search.boost import evidence_strength
from impact_graph.search.models import (
    EvidenceCell,
    EvidenceMapResponse,
    InterventionRef,
    WorkingElementOut,
    WorkingElementsResponse,
)
from impact_graph.search.profile import build_profiles

if TYPE_CHECKING:
    from impact_graph.search.service import SearchService

ROW_KINDS = {"intervention": "Intervention", "working_element": "WorkingElement"}
COL_KINDS = ("outcome", "target_group")


def _rows(svc: SearchService, query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    return svc.store.read_query(query, params or {}, timeout_s=20.0, row_cap=200000).rows


def working_elements(
    svc: SearchService,
    challenge: str | None,
    target_group: str | None,
    limit: int,
    offset: int,
) -> WorkingElementsResponse:
    """Working elements (optionally for a challenge/target group), those that appear in
    most programmes and interventions first."""
    from impact_graph.search.service import check_paging

    check_paging(limit, offset)
    challenges = svc._concept_filter([challenge], "challenges", "challenge") if challenge else None
    groups = (
        svc._concept_filter([target_group], "target-groups", "target_group")
        if target_group
        else None
    )
    ids = [r[0] for r in _rows(svc, "MATCH (w:WorkingElement) RETURN w.id ORDER BY w.id")]
    profiles = build_profiles(svc.store, svc.vocab, ids)
    kept = [
        p
        for p in profiles.values()
        if (challenges is None or p.challenges & challenges)
        and (groups is None or p.target_groups & groups)
    ]
    kept.sort(key=lambda p: (-len(p.programmes), -len(p.interventions), -len(p.evidence), p.name))
    page = kept[offset : offset + limit]
    return WorkingElementsResponse(
        total=len(kept),
        limit=limit,
        offset=offset,
        results=[
            WorkingElementOut(
                id=p.id,
                name=p.name,
                concept=p.props.get("concept") if isinstance(p.props.get("concept"), str) else None,
                interventions=[
                    InterventionRef(id=i, name=n) for i, n in sorted(p.interventions.items())
                ],
                programmes=sorted(p.programmes.values(), key=lambda r: (r.via != "uses", r.name)),
                evidence=sorted(
                    p.evidence.values(), key=lambda e: (-(e.rank or -1), -e.strength, e.id)
                ),
                documents=len(p.documents),
            )
            for p in page
        ],
    )


#: A programme's own working elements (a reisverslag's "werkzame elementen") reach the
#: target groups of their programme; a cell counts the evidence for the element that the
#: programme's own documents state (the SUPPORTED_BY edge's sources), so evidence for the
#: same shared element found in other programmes' documents is not counted here again.
#: Programmes carry no rated effects, so these cells have no recognition level, and there
#: are no outcome cells for them (outcomes are facts of interventions' effects).
PROGRAMME_ELEMENT_GROUPS = (
    "MATCH (p:Programme)-[:HAS_PROGRAMME_ELEMENT]->(r:WorkingElement) "
    "MATCH (p)-[:TARGETS]->(t:TargetGroup) "
    "OPTIONAL MATCH (r)-[sb:SUPPORTED_BY]->(ev:Evidence) "
    "WHERE any(s IN sb.sources WHERE s IN p.sources) "
    "RETURN r.id, r.name, coalesce(t.concept, t.name), null AS level, null AS rank, "
    "ev.id, ev.evidence_type, ev.concept"
)


def evidence_map(svc: SearchService, rows: str, cols: str) -> EvidenceMapResponse:
    """Rows (interventions or working elements) × columns (outcomes or target groups):
    per cell the number of distinct evidence items and the strongest level and design.

    A working element reaches its columns through the interventions that have it and,
    for target groups, also through the programmes that name it as their own
    (``PROGRAMME_ELEMENT_GROUPS``)."""
    if rows not in ROW_KINDS:
        raise ValueError(f"rows: '{rows}' is unknown; use one of {', '.join(ROW_KINDS)}.")
    if cols not in COL_KINDS:
        raise ValueError(f"cols: '{cols}' is unknown; use one of {', '.join(COL_KINDS)}.")
    # Each row reaches its columns through interventions: itself, or for a working
    # element the interventions that have it.
    via = (
        "MATCH (r:Intervention) WITH r, r AS i "
        if rows == "intervention"
        else "MATCH (i:Intervention)-[:HAS_ELEMENT]->(r:WorkingElement) "
    )
    if cols == "outcome":
        q = (
            via + "MATCH (i)-[:HAS_EFFECT]->(e:Effect) "
            "OPTIONAL MATCH (e)-[:SUPPORTED_BY]->(ev:Evidence) "
            "RETURN r.id, r.name, coalesce(e.concept, e.outcome, e.name), e.rating_level, "
            "e.rating_rank, ev.id, ev.evidence_type, ev.concept"
        )
    else:
        q = (
            via + "MATCH (i)-[:TARGETS]->(t:TargetGroup) "
            "OPTIONAL MATCH (i)-[:HAS_EFFECT]->(e:Effect) "
            "OPTIONAL MATCH (e)-[:SUPPORTED_BY]->(ev:Evidence) "
            "RETURN r.id, r.name, coalesce(t.concept, t.name), "
            "coalesce(e.rating_level, i.rating_level), coalesce(e.rating_rank, i.rating_rank), "
            "ev.id, ev.evidence_type, ev.concept"
        )
    found = _rows(svc, q)
    if rows == "working_element" and cols == "target_group":
        found += _rows(svc, PROGRAMME_ELEMENT_GROUPS)
    names: dict[str, str] = {}
    evidence: dict[tuple[str, str], set[str]] = defaultdict(set)
    best: dict[tuple[str, str], tuple[int, str]] = {}
    design: dict[tuple[str, str], tuple[int, str]] = {}
    for rid, rname, col, level, rank, evid, etype, econcept in found:
        if col is None:
            continue
        col_label = svc.vocab.label(col) if svc.vocab.get(col) else str(col)
        key = (rid, col_label)
        names[rid] = str(rname or rid)
        if evid:
            evidence[key].add(evid)
            s = evidence_strength(svc.vocab, etype, econcept)
            if s > design.get(key, (-1, ""))[0]:
                design[key] = (s, str(etype or ""))
        else:
            evidence.setdefault(key, set())
        r_ = int(rank) if isinstance(rank, int | float) else None
        if level and r_ is None:
            r_ = svc.vocab.recognition_rank(str(level))
        if r_ is not None and r_ > best.get(key, (-1, ""))[0]:
            best[key] = (r_, str(level or ""))
    cells = [
        EvidenceCell(
            row=rid,
            col=col,
            evidence=len(evs),
            strongest_level=best.get((rid, col), (None, ""))[1],
            strongest_rank=best.get((rid, col), (None, ""))[0],
            strongest_type=design.get((rid, col), (0, ""))[1],
        )
        for (rid, col), evs in sorted(evidence.items())
    ]
    return EvidenceMapResponse(
        rows=[
            InterventionRef(id=i, name=n)
            for i, n in sorted(names.items(), key=lambda kv: kv[1].lower())
        ],
        cols=sorted({c.col for c in cells}, key=str.lower),
        row_kind=rows,
        col_kind=cols,
        cells=cells,
    )
