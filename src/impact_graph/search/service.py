"""`SearchService`: hybrid "what works" search with filters, facets and explanations.

Flow: parse and expand the query (``query``) -> three arms (``arms``: concept, fulltext,
vector) -> reciprocal rank fusion (``fuse``) -> profiles of the candidates from the graph
(``profile``) -> filters -> graph-fact boosts (``boost``) -> facets, paging and
explanations. No arm carries the ranking alone: the embedding model is weak on Dutch and
the fulltext stemmer misses plurals, while the vocabularies know the synonyms.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from impact_graph.schema import Schema
from impact_graph.search import arms as arms_mod
from impact_graph.search.boost import BoostFacts, boost
from impact_graph.search.fuse import rank, rrf
from impact_graph.search.models import (
    MAX_LIMIT,
    RESULT_TYPES,
    ArmScore,
    EvidenceMapResponse,
    FacetValue,
    MatchedConceptOut,
    Quote,
    SearchFilters,
    SearchRequest,
    SearchResponse,
    SearchResult,
    WorkingElementsResponse,
)
from impact_graph.search.profile import Profile, build_profiles
from impact_graph.search.query import ParsedQuery, content_stems, parse_query, stem, words
from impact_graph.store.port import GraphStore, StoreError
from impact_graph.vocab import Vocabulary

#: Arm weights in the fusion: the vector arm counts half (weak on Dutch, see ARCHITECTURE.md).
ARM_WEIGHTS = {"concept": 1.0, "fulltext": 1.0, "vector": 0.5}
#: Candidates profiled per query (the fused top); everything after is too weak to show.
MAX_CANDIDATES = 150
QUOTES_PER_RESULT = 2
FACETS = ("type", "challenge", "target_group", "area", "programme", "evidence_type", "recognition")

_sentence_re = re.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.MULTILINE)


def check_paging(limit: int, offset: int, max_limit: int = MAX_LIMIT) -> None:
    """Shared validation of limit/offset with sentences that name the parameter."""
    if not isinstance(limit, int) or limit < 1 or limit > max_limit:
        raise ValueError(f"limit: must be a whole number from 1 to {max_limit}, got {limit!r}.")
    if not isinstance(offset, int) or offset < 0 or offset > 100_000:
        raise ValueError(f"offset: must be a whole number from 0 to 100000, got {offset!r}.")


class SearchService:
    """The search API of the knowledge graph (the FastAPI routes call this).

    ``vocab`` defaults to the installed vocabularies, ``schema`` to the ontology's;
    without an ``embedder`` (anything with ``embed(texts) -> array``) the vector arm is
    skipped and the response says so in ``notes``.
    """

    def __init__(
        self,
        store: GraphStore,
        vocab: Vocabulary | None = None,
        embedder: arms_mod.Embedder | None = None,
        schema: Schema | None = None,
    ) -> None:
        if vocab is None:
            from impact_graph.vocab import load_vocabulary

            vocab = load_vocabulary()
        if schema is None:
            from impact_graph.ontology import load_schema

            schema = load_schema()
        self.store = store
        self.vocab = vocab
        self.embedder = embedder
        self.schema = schema

    # -- search ------------------------------------------------------------------------

    def run_arms(
        self, parsed: ParsedQuery, only: Iterable[str] | None = None
    ) -> tuple[dict[str, dict[str, float]], list[str]]:
        """Scores per arm (``only`` restricts the arms, for the benchmark) and notes."""
        wanted = set(only or ARM_WEIGHTS)
        runs: dict[str, Callable[[], dict[str, float]]] = {
            "concept": lambda: arms_mod.concept_arm(self.store, parsed, self.vocab),
            "fulltext": lambda: arms_mod.fulltext_arm(self.store, parsed),
        }
        if self.embedder is not None:
            emb = self.embedder
            runs["vector"] = lambda: arms_mod.vector_arm(self.store, parsed, emb)
        notes: list[str] = []
        if "vector" in wanted and "vector" not in runs:
            notes.append("The vector arm did not run: no embedding model was given.")
        out: dict[str, dict[str, float]] = {}
        for name, fn in runs.items():
            if name not in wanted:
                continue
            try:
                out[name] = fn()
            except StoreError as e:  # one arm failing must not fail the search
                notes.append(f"The {name} arm failed and was left out: {e}")
        return out, notes

    def search(
        self, request: SearchRequest, *, arms: Iterable[str] | None = None
    ) -> SearchResponse:
        """Answer one question; raises ``ValueError`` naming a bad parameter."""
        check_paging(request.limit, request.offset)
        parsed = parse_query(request.q, self.vocab)
        filters = self._resolve_filters(request.filters)
        scores, notes = self.run_arms(parsed, arms)
        rankings = {a: rank(s) for a, s in scores.items()}
        fused = rrf(rankings, ARM_WEIGHTS)
        candidates = rank(fused)[:MAX_CANDIDATES]
        profiles = build_profiles(self.store, self.vocab, candidates)
        kept = [profiles[i] for i in candidates if i in profiles and filters(profiles[i])]
        final: dict[str, float] = {}
        boosts: dict[str, BoostFacts] = {}
        for p in kept:
            facts = self._boost_facts(p, parsed)
            final[p.id] = fused[p.id] * boost(facts)
            boosts[p.id] = facts
        ordered = rank(final)
        page = ordered[request.offset : request.offset + request.limit]
        by_id = {p.id: p for p in kept}
        chunk_scores = {cid: s for arm in scores.values() for cid, s in arm.items()}
        results = [self._result(by_id[i], final[i], parsed, chunk_scores) for i in page]
        if request.explain:
            for r in results:
                r.explain = {
                    a: ArmScore(
                        rank=rankings[a].index(r.id) + 1 if r.id in scores[a] else None,
                        score=round(scores[a].get(r.id, 0.0), 6),
                    )
                    for a in rankings
                }
                r.explain["fused"] = ArmScore(rank=None, score=round(fused[r.id], 6))
                r.explain["boost"] = ArmScore(rank=None, score=round(final[r.id] / fused[r.id], 4))
        return SearchResponse(
            q=parsed.text,
            total=len(ordered),
            limit=request.limit,
            offset=request.offset,
            results=results,
            facets=self._facets(kept),
            matched_concepts=[
                MatchedConceptOut(iri=c.iri, label=c.label, scheme=c.scheme, via=c.via)
                for c in sorted(parsed.concepts.values(), key=lambda c: (-c.weight, c.label))
            ],
            arms=sorted(scores),
            notes=notes,
        )

    def ranked_ids(
        self,
        q: str,
        arm: str | None = None,
        types: Iterable[str] = ("intervention", "working_element"),
        k: int = 10,
    ) -> list[str]:
        """Top ``k`` result ids of one arm alone (``arm``) or fused (``None``): the
        benchmark's view, without profiles of what it does not rank."""
        req = SearchRequest(q=q, limit=k, filters=SearchFilters(type=list(types)))  # type: ignore[arg-type]
        return [r.id for r in self.search(req, arms=[arm] if arm else None).results]

    # -- pieces ------------------------------------------------------------------------

    def _boost_facts(self, p: Profile, parsed: ParsedQuery) -> BoostFacts:
        q = set(parsed.concepts)
        qstems = set(parsed.stems)
        positive = False
        for eff, concept, _rank in p.effects:
            if eff.direction in ("", "0"):
                continue
            if (concept and concept in q) or qstems & set(content_stems(eff.outcome)):
                positive = True
        direct = {c.iri for c in parsed.direct}
        expanded = set()
        for iri in direct:
            expanded |= self.vocab.expand(iri, broader=False, narrower=True, depth=2)
        matched = len((p.challenges | p.target_groups) & expanded)
        strength = max((e.strength for e in p.evidence.values()), default=0)
        return BoostFacts(
            recognition_rank=p.recognition_rank,
            evidence_strength=strength,
            positive_effect_on_query=positive,
            matched_groups_or_challenges=matched,
        )

    def _result(
        self, p: Profile, score: float, parsed: ParsedQuery, chunk_scores: dict[str, float]
    ) -> SearchResult:
        matched = [
            MatchedConceptOut(iri=c.iri, label=c.label, scheme=c.scheme, via=c.via)
            for c in sorted(parsed.concepts.values(), key=lambda c: (-c.weight, c.label))
            if c.iri in p.concepts
        ]
        evidence = sorted(
            p.evidence.values(), key=lambda e: (-(e.rank or -1), -e.strength, e.type, e.id)
        )
        return SearchResult(
            id=p.id,
            type=p.type,  # type: ignore[arg-type]
            name=p.name or p.id,
            score=round(score, 6),
            matched_concepts=matched,
            quotes=self._quotes(p, parsed, chunk_scores),
            recognition=p.recognition,
            recognition_rank=p.recognition_rank,
            evidence=evidence,
            effects=[e for e, _, _ in p.effects],
            programmes=sorted(p.programmes.values(), key=lambda r: (r.via != "uses", r.name)),
            areas=sorted(set(p.areas.values())),
            challenges=sorted(self.vocab.label(c) for c in p.challenges),
            target_groups=sorted(self.vocab.label(c) for c in p.target_groups),
        )

    def _quotes(
        self, p: Profile, parsed: ParsedQuery, chunk_scores: dict[str, float]
    ) -> list[Quote]:
        """The sentences of the result's chunks that share most with the question (and,
        for an entity, name it), with document offsets."""
        if not p.chunks:
            return []
        # Chunks the arms liked first, then the rest (bounded: quotes, not a dossier).
        chunk_ids = sorted(p.chunks, key=lambda c: -chunk_scores.get(c, 0.0))[:12]
        nodes = {n["id"]: n for n in self.store.get_nodes(chunk_ids)}
        docs = (
            self._chunk_docs(chunk_ids)
            if p.type != "chunk"
            else {chunk_ids[0]: next(iter(p.documents.items()), ("", ""))}
        )
        terms = set(parsed.stems)
        for c in parsed.concepts.values():
            if c.weight >= 0.7:
                concept = self.vocab.get(c.iri)
                for label in concept.labels if concept else ():
                    terms.update(content_stems(label))
        name = p.name.lower() if p.type != "chunk" else ""
        scored: list[tuple[float, Quote]] = []
        for cid in chunk_ids:
            n = nodes.get(cid)
            if not n or not isinstance(n.get("text"), str):
                continue
            text: str = n["text"]
            base = int(n.get("start") or 0)
            did, title = docs.get(cid, ("", ""))
            for m in _sentence_re.finditer(text):
                raw = m.group(0)
                lead = len(raw) - len(raw.lstrip())
                sentence = raw.strip()
                if len(sentence) < 12:
                    continue
                s_start = m.start() + lead
                sstems = {stem(w) for w in words(sentence)}
                overlap = len(terms & sstems)
                names_it = bool(name) and name in sentence.lower()
                value = overlap + (1.5 if names_it else 0.0) + chunk_scores.get(cid, 0.0) * 0.1
                if overlap == 0 and not names_it:
                    continue
                scored.append(
                    (
                        value,
                        Quote(
                            text=sentence,
                            document_id=did,
                            document_title=title,
                            chunk_id=cid,
                            start=base + s_start,
                            end=base + s_start + len(sentence),
                        ),
                    )
                )
        scored.sort(key=lambda t: (-t[0], t[1].chunk_id, t[1].start))
        out: list[Quote] = []
        for _, q in scored:
            if all(q.text != o.text for o in out):
                out.append(q)
            if len(out) == QUOTES_PER_RESULT:
                break
        return out

    def _chunk_docs(self, chunk_ids: list[str]) -> dict[str, tuple[str, str]]:
        rows = self.store.read_query(
            "UNWIND $ids AS cid MATCH (d:Document)-[:HAS_CHUNK]->(c:Node {id: cid}) "
            "RETURN cid, d.id, d.title",
            {"ids": chunk_ids},
            timeout_s=10.0,
            row_cap=10000,
        ).rows
        return {cid: (str(did), str(title or "")) for cid, did, title in rows}

    # -- filters and facets ------------------------------------------------------------

    def _concept_filter(self, values: list[str], scheme: str, param: str) -> set[str]:
        """Filter values -> concept IRIs with their narrower concepts."""
        found: set[str] = set()
        for v in values:
            c = self.vocab.get(v)
            hits = [c] if c is not None and c.scheme == scheme else []
            hits = hits or self.vocab.lookup(v, scheme=scheme)
            hits = hits or [x for x in self.vocab.scheme(scheme) if x.slug == v]
            if not hits:
                some = ", ".join(sorted(x.pref_nl for x in self.vocab.scheme(scheme))[:8])
                raise ValueError(
                    f"{param}: '{v}' is not a known value; use a label or slug from the "
                    f"{scheme} vocabulary, e.g. {some}."
                )
            for h in hits:
                found |= self.vocab.expand(h.iri, broader=False, narrower=True, depth=3)
        return found

    def _graph_filter(self, values: list[str], label: str, param: str) -> set[str]:
        """Area/programme filter values (id or name, case-insensitive) -> node ids."""
        rows = self.store.read_query(
            f"MATCH (n:{label}) RETURN n.id, n.name", {}, timeout_s=10.0, row_cap=100000
        ).rows
        ids: set[str] = set()
        for v in values:
            hit = {i for i, name in rows if v == i or v.lower() == str(name or "").lower()}
            if not hit:
                some = ", ".join(sorted({str(n) for _, n in rows if n})[:8]) or "none yet"
                raise ValueError(
                    f"{param}: '{v}' is not a known {label.lower()}; known ones include {some}."
                )
            ids |= hit
        return ids

    def _resolve_filters(self, f: SearchFilters) -> Callable[[Profile], bool]:
        """Check every filter value now (bad input fails before any search work)."""
        challenges = (
            self._concept_filter(f.challenge, "challenges", "challenge") if f.challenge else None
        )
        groups = (
            self._concept_filter(f.target_group, "target-groups", "target_group")
            if f.target_group
            else None
        )
        areas = self._graph_filter(f.area, "Area", "area") if f.area else None
        programmes = (
            self._graph_filter(f.programme, "Programme", "programme") if f.programme else None
        )
        etypes: set[str] | None = None
        if f.evidence_type:
            etypes = set()
            for v in f.evidence_type:
                hits = self.vocab.lookup(v, scheme="evidence-types")
                if not hits:
                    some = ", ".join(sorted(c.pref_nl for c in self.vocab.scheme("evidence-types")))
                    raise ValueError(
                        f"evidence_type: '{v}' is not a known evidence type; use one of {some}."
                    )
                etypes |= {h.iri for h in hits}
        min_rank: int | None = None
        if f.min_recognition is not None:
            min_rank = self.vocab.recognition_rank(f.min_recognition)
            if min_rank is None:
                some = ", ".join(
                    c.pref_nl for c in self.vocab.recognition_levels("Erkenningstraject")
                )
                raise ValueError(
                    f"min_recognition: '{f.min_recognition}' is not a ranked recognition "
                    f"level; use one of {some}."
                )
        types = set(f.type) if f.type else None
        bad = [t for t in f.type if t not in RESULT_TYPES]
        if bad:
            raise ValueError(f"type: '{bad[0]}' is unknown; use one of {', '.join(RESULT_TYPES)}.")

        def keep(p: Profile) -> bool:
            if types is not None and p.type not in types:
                return False
            if challenges is not None and not p.challenges & challenges:
                return False
            if groups is not None and not p.target_groups & groups:
                return False
            if areas is not None and not set(p.areas) & areas:
                return False
            if programmes is not None and not set(p.programmes) & programmes:
                return False
            if etypes is not None and not self._etype_iris(p) & etypes:
                return False
            return min_rank is None or (
                p.recognition_rank is not None and p.recognition_rank >= min_rank
            )

        return keep

    def _etype_iris(self, p: Profile) -> set[str]:
        out = set(p.evidence_concepts)
        for t in p.evidence_types:
            out |= {c.iri for c in self.vocab.lookup(t, scheme="evidence-types")}
        return out

    def _facets(self, kept: list[Profile]) -> dict[str, list[FacetValue]]:
        counts: dict[str, Counter[str]] = {f: Counter() for f in FACETS}
        labels: dict[tuple[str, str], str] = {}
        for p in kept:
            counts["type"][p.type] += 1
            for field_, iris in (("challenge", p.challenges), ("target_group", p.target_groups)):
                for iri in iris:
                    c = self.vocab.get(iri)
                    slug = c.slug if c else iri
                    counts[field_][slug] += 1
                    labels[(field_, slug)] = self.vocab.label(iri)
            for aid, name in p.areas.items():
                counts["area"][aid] += 1
                labels[("area", aid)] = name
            for pid, ref in p.programmes.items():
                counts["programme"][pid] += 1
                labels[("programme", pid)] = ref.name
            for iri in self._etype_iris(p):
                lab = self.vocab.label(iri)
                counts["evidence_type"][lab] += 1
            if p.recognition:
                counts["recognition"][p.recognition] += 1
        return {
            f: [
                FacetValue(value=v, label=labels.get((f, v), v), count=n)
                for v, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            for f, c in counts.items()
        }

    # -- what works across programmes ---------------------------------------------------

    def working_elements(
        self,
        challenge: str | None = None,
        target_group: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> WorkingElementsResponse:
        """Working elements with the interventions and programmes where they appear."""
        from impact_graph.search.whatworks import working_elements

        return working_elements(self, challenge, target_group, limit, offset)

    def evidence_map(
        self, rows: str = "intervention", cols: str = "outcome"
    ) -> EvidenceMapResponse:
        """Evidence-and-gap map: evidence count and strongest level per cell."""
        from impact_graph.search.whatworks import evidence_map

        return evidence_map(self, rows, cols)
