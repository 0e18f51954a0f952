"""`SearchService`: hybrid "what works" search with filters, facets and explanations.

Flow: parse and expand the query (``query``) -> three arms (``arms``: concept, fulltext,
vector) -> reciprocal rank fusion (``fuse``) -> profiles of the candidates from the graph
(``profile``) -> filters -> graph-fact boosts (``boost``) -> facets, paging and
explanations. No arm carries the ranking alone: the embedding model is weak on Dutch and
the fulltext stemmer misses plurals, while the vocabularies know the synonyms.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from impact_graph.schema import Schema
from impact_graph.search import arms as arms_mod
from impact_graph.search.boost import BoostFacts, boost
from impact_graph.search.fuse import fuse, rank
from impact_graph.search.models import (
    MAX_LIMIT,
    RESULT_TYPES,
    ArmScore,
    EvidenceMapResponse,
    FacetValue,
    InterventionRef,
    MatchedConceptOut,
    Quote,
    SearchFilters,
    SearchRequest,
    SearchResponse,
    SearchResult,
    WorkingElementsResponse,
)
from impact_graph.search.profile import Profile, build_profiles
from impact_graph.search.query import (
    TOPIC_SCHEMES,
    ParsedQuery,
    content_stems,
    parse_query,
    stem,
    words,
)
from impact_graph.store.port import GraphStore, StoreError
from impact_graph.vocab import Vocabulary

#: Arm weights in the fusion: the vector arm counts half (weak on Dutch, see ARCHITECTURE.md).
ARM_WEIGHTS = {"concept": 1.0, "fulltext": 1.0, "vector": 0.5}
#: Weight of the concept arm for a question the vocabulary understood whole (see
#: ``arm_weights``).
CONCEPT_TRUST = 3.0


def arm_weights(parsed: ParsedQuery) -> dict[str, float]:
    """The fusion's arm weights for one question: the concept arm counts up to
    ``CONCEPT_TRUST`` times as much as the vocabulary understood of the question
    (``ParsedQuery.understood``, squared: half understood is x1.5, whole x3).

    Why: in a question whose words all name concepts, the fulltext and vector arms see
    only the words ("jongeren die niet naar school gaan" is "jongeren school" to the
    fulltext index, and the English model shreds the Dutch), so they agree on what is
    about *jongeren* (jongerenwerk) and outvote the concept arm, which knows the
    question is about school absence and ranks the Thuiszitterspact and the
    doorbraakoverleg first. Where words are left that no label covers, those arms carry
    them, and the weights stay near the plain ones. Measured on the demo corpus
    (bench/search_quality.py, the 42 questions of session 8, one ingest, only the
    weights changed): fused nDCG@10 0.810 -> 0.857, MRR 0.805 -> 0.884, Recall@10 0.895
    -> 0.901. Linear in ``understood`` gave 0.849 but made the questions a third
    understood lean on the concept arm too (0.87 -> 0.46 for one of them).
    """
    trust = 1.0 + (CONCEPT_TRUST - 1.0) * parsed.understood**2
    return {**ARM_WEIGHTS, "concept": ARM_WEIGHTS["concept"] * trust}


#: Share of each arm's vote that follows its score gap (``fuse.fuse``). Only the concept
#: arm's scores say how well a result fits (4.5: it addresses the asked challenge; 0.5:
#: a chunk mentions a narrower concept); fulltext scores are normalised per query and
#: the vector arm's lie close together. Chosen on the demo corpus (49 questions of
#: bench/search_quality.py, one ingest, only the share changed): concept share 0, 0.25,
#: 0.5, 0.75, 1 gave fused nDCG@10 0.852, 0.861, 0.864, 0.858, 0.851 and MRR 0.890,
#: 0.895, 0.895, 0.874, 0.866; 0.5 on all three arms 0.862.
FUSION_GAP: dict[str, float] = {"concept": 0.5, "fulltext": 0.0, "vector": 0.0}

#: Candidates profiled per query (the fused top); everything after is too weak to show.
MAX_CANDIDATES = 150
#: Least similarity ((1 + cos) / 2, as both stores answer) at which a hit the vector arm
#: alone found is a result. The vector arm always answers its nearest neighbours, so
#: without a floor a query of nonsense listed nearly the full 150 ("xyzzy qwerty" 139,
#: "???" 148). A hit the concept or fulltext arm also found stays whatever its
#: similarity, and the weak ones keep their place in the vector ranking (the fused scores
#: of the rest do not change); chunks below the floor make nothing they mention a result.
#: Measured on the demo corpus (42 gold queries of bench/search_quality.py, types
#: intervention + working element): fused nDCG@10 0.813, Recall@10 0.895 and recall over
#: the whole list (up to 150) 0.960 are the same at floors 0, 0.6, 0.65, 0.7, 0.75 and
#: 0.8 (nDCG/Recall@10; whole-list recall checked up to 0.75): no judged result is a weak
#: vector-only hit. At 0.7 "xyzzy qwerty", "???", "asdf", "blablabla" and "lorem ipsum
#: dolor" find nothing (0.65 still left 10 for the last); real questions lose only their
#: tail ("thuiszitters" 150 -> 61, "overgewicht kinderen" 150 -> 123, "wat werkt tegen
#: armoede" 150 -> 142; "eenzaamheid ouderen" keeps 150). 0.7 is cos 0.4.
VECTOR_FLOOR = 0.7
QUOTES_PER_RESULT = 2
#: Chunks read per result to pick its quotes from.
CHUNKS_PER_QUOTE_SEARCH = 12
FACETS = ("type", "challenge", "target_group", "area", "programme", "evidence_type", "recognition")

#: Threads for the arms of concurrent searches (three arms each; the API serves a few
#: requests at a time, and the database, not Python, does the work).
_ARM_POOL = ThreadPoolExecutor(max_workers=6, thread_name_prefix="impact-graph-search-arm")

_sentence_re = re.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.MULTILINE)


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[tuple[int, str, frozenset[str]], ...]:
    """(offset, sentence, stems) of a chunk's sentences of 12+ characters. Cached on the
    text itself (not the chunk id), so a re-ingested chunk is never served stale; the
    stemming is what made quotes the slowest part of a search."""
    out: list[tuple[int, str, frozenset[str]]] = []
    for m in _sentence_re.finditer(text):
        raw = m.group(0)
        sentence = raw.strip()
        if len(sentence) < 12:
            continue
        lead = len(raw) - len(raw.lstrip())
        out.append((m.start() + lead, sentence, frozenset(stem(w) for w in words(sentence))))
    return tuple(out)


_vocab_caches: dict[int, tuple[Vocabulary, dict[tuple[str, str], frozenset[str]]]] = {}


def _vocab_cache(vocab: Vocabulary) -> dict[tuple[str, str], frozenset[str]]:
    """A per-vocabulary memo (what depends only on the vocabulary never changes while it
    lives); the vocabulary is kept with it so its ``id`` cannot be reused."""
    hit = _vocab_caches.get(id(vocab))
    if hit is None or hit[0] is not vocab:
        if len(_vocab_caches) > 8:
            _vocab_caches.clear()
        hit = _vocab_caches[id(vocab)] = (vocab, {})
    return hit[1]


#: Steps down the narrower chain at which a result's challenge or group still "matches"
#: the asked one for the boost's match part and its full recognition and evidence credit.
#: Two steps made Kanjertraining, against faalangst (eenzaamheid -> psychosociale
#: klachten -> sociale angst), a full match for "eenzaamheid" and "vereenzaming" (boost
#: x1.375; it ranked 6th and 2nd for them in session 9); the 49 questions of
#: bench/search_quality.py score the same at 1 and 2.
MATCH_DEPTH = 1


def _expand_narrower(vocab: Vocabulary, iri: str) -> frozenset[str]:
    memo = _vocab_cache(vocab)
    key = ("narrower", iri)
    if key not in memo:
        memo[key] = frozenset(vocab.expand(iri, broader=False, narrower=True, depth=MATCH_DEPTH))
    return memo[key]


def _label_stems(vocab: Vocabulary, iri: str) -> frozenset[str]:
    memo = _vocab_cache(vocab)
    key = ("label-stems", iri)
    if key not in memo:
        concept = vocab.get(iri)
        memo[key] = frozenset(
            s for label in (concept.labels if concept else ()) for s in content_stems(label)
        )
    return memo[key]


#: The start of the note a search that found nothing answers with (the web UI shows its
#: own Dutch sentence for it instead).
NOTHING_FOUND = "Nothing was found"
#: The note when the vector arm could not run (the web UI translates it).
NO_EMBEDDER = "The vector arm did not run: no embedding model was given."


def read_as_nl(parsed: ParsedQuery) -> list[str]:
    """The misspelled words of the question with the label each was read as, in Dutch
    (``SearchResponse.read_as``): a guess the user can see is one they can correct."""
    return [f'"{word}" gelezen als "{label}"' for word, label in parsed.read_as]


def _nothing_found(q: str, *, found: bool) -> str:
    """The note of an empty answer: why, and what to change."""
    if found:
        return (
            f"{NOTHING_FOUND} for '{q}' with these filters; remove a filter or widen it to "
            "see the results the question matches."
        )
    return (
        f"{NOTHING_FOUND} for '{q}': no word of it names a concept or occurs in the "
        "documents, and no passage is close enough in meaning; try other or fewer words."
    )


#: The note (English, for the API) and the hint (Dutch, for people) of a question of only
#: common words ("de het een"): it is not searched, because every document has them.
ONLY_COMMON_WORDS = (
    "{nothing} for '{q}': it has only common words (stop words such as 'de', 'het', "
    "'the'), which say nothing about what to look for; add a topic, target group or "
    "approach."
)
ONLY_COMMON_WORDS_NL = (
    "Uw zoekvraag bevat alleen veelvoorkomende woorden zoals 'de' en 'het'; probeer een "
    "onderwerp, doelgroep of aanpak."
)


#: The key the vector arm's hits above the floor are spread under (never an arm name).
STRONG_VECTOR = "vector>=floor"


def _above_floor(hits: arms_mod.ArmHits) -> arms_mod.ArmHits:
    """The vector arm's own finds with a similarity of at least ``VECTOR_FLOOR``."""
    return arms_mod.ArmHits(
        direct={i: v for i, v in hits.direct.items() if v >= VECTOR_FLOOR},
        chunks={i: v for i, v in hits.chunks.items() if v >= VECTOR_FLOOR},
        names=hits.names,
    )


@contextmanager
def _stage(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    """Add the block's wall-clock milliseconds to ``timings[name]`` (when asked): the
    benchmark and the ``Server-Timing`` header show where a search spends its time."""
    if timings is None:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + (time.perf_counter() - t0) * 1000.0


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
        self._concept_labels = arms_mod.concept_labels(schema)

    # -- search ------------------------------------------------------------------------

    def run_arms(
        self, parsed: ParsedQuery, only: Iterable[str] | None = None
    ) -> tuple[dict[str, dict[str, float]], list[str]]:
        """Scores per arm (``only`` restricts the arms, for the benchmark) and notes."""
        scores, notes, _, _, _ = self._run_arms(parsed, only)
        return scores, notes

    def _run_arms(
        self,
        parsed: ParsedQuery,
        only: Iterable[str] | None = None,
        timings: dict[str, float] | None = None,
    ) -> tuple[dict[str, dict[str, float]], list[str], arms_mod.ChunkLinks, set[str], set[str]]:
        """Scores per arm, notes, what the arms' chunks mention, the chunk ids, and the
        ids only the vector arm found, below ``VECTOR_FLOOR`` (no results).

        The arms' own finds come first; then one query links the chunks of *all* arms to
        the entities they mention, and each arm lends its chunk scores from that.
        """
        wanted = set(only or ARM_WEIGHTS)
        # Each arm times itself into its own dict (they run in other threads); merged below.
        arm_times: dict[str, dict[str, float]] = {}

        def timed_arm(name: str, fn: Callable[[], arms_mod.ArmHits]) -> arms_mod.ArmHits:
            own = arm_times.setdefault(name, {}) if timings is not None else None
            with _stage(own, f"arm_{name}"):
                return fn()

        runs: dict[str, Callable[[], arms_mod.ArmHits]] = {
            "concept": lambda: arms_mod.concept_hits(
                self.store, parsed, self.vocab, self._concept_labels
            ),
            "fulltext": lambda: arms_mod.fulltext_hits(self.store, parsed),
        }
        if self.embedder is not None:
            emb = self.embedder

            def vector() -> arms_mod.ArmHits:
                own = arm_times.setdefault("vector", {}) if timings is not None else None
                with _stage(own, "embed"):
                    qvec = arms_mod.embed_query(parsed, emb)
                return arms_mod.vector_hits(self.store, qvec)

            runs["vector"] = vector
        notes: list[str] = []
        if "vector" in wanted and "vector" not in runs:
            notes.append(NO_EMBEDDER)
        # The arms wait on the database (and the vector arm on the embedding model), not
        # on each other, so they run side by side: the search waits for the slowest arm
        # instead of the sum (the stores are shared by the API's worker threads anyway).
        hits: dict[str, arms_mod.ArmHits] = {}
        with _stage(timings, "arms"):
            started = {
                name: _ARM_POOL.submit(timed_arm, name, fn)
                for name, fn in runs.items()
                if name in wanted
            }
            for name, future in started.items():
                try:
                    hits[name] = future.result()
                except StoreError as e:  # one arm failing must not fail the search
                    notes.append(f"The {name} arm failed and was left out: {e}")
        if timings is not None:
            for own in arm_times.values():
                timings.update(own)
        chunk_ids = {c for h in hits.values() for c in h.chunks}
        with _stage(timings, "chunk_links"):
            try:
                links = arms_mod.chunk_links(self.store, chunk_ids)
            except StoreError as e:  # chunks still count as results of their own
                notes.append(f"Chunks could not lend their score to what they mention: {e}")
                links = arms_mod.ChunkLinks()
        # One entity found under two spellings counts once, consistently in every arm.
        # The vector arm's hits at or above the floor are spread as an arm of their own
        # (so with the same canonical ids): what they reach is a result by the vector alone.
        strong = {STRONG_VECTOR: _above_floor(hits["vector"])} if "vector" in hits else {}
        scores = arms_mod.spread_all({**hits, **strong}, links)
        floor_ok = scores.pop(STRONG_VECTOR, {})
        found_otherwise = {i for a, s in scores.items() if a != "vector" for i in s}
        weak = {i for i in scores.get("vector", {}) if i not in floor_ok} - found_otherwise
        return scores, notes, links, chunk_ids, weak

    def search(
        self,
        request: SearchRequest,
        *,
        arms: Iterable[str] | None = None,
        timings: dict[str, float] | None = None,
    ) -> SearchResponse:
        """Answer one question; raises ``ValueError`` naming a bad parameter.

        ``timings``, when given, receives the milliseconds of each stage (``parse``,
        ``arms`` with ``arm_<name>`` and ``embed`` inside it, ``chunk_links``, ``fuse``,
        ``profiles``, ``boost``, ``quotes``, ``results``).
        """
        check_paging(request.limit, request.offset)
        with _stage(timings, "parse"):
            parsed = parse_query(request.q, self.vocab)
            filters = self._resolve_filters(request.filters)
        if parsed.only_common_words:
            return self._only_common_words(request, parsed)
        scores, notes, links, chunk_ids, weak = self._run_arms(parsed, arms, timings)
        with _stage(timings, "fuse"):
            rankings = {a: rank(s) for a, s in scores.items()}
            fused = fuse(rankings, scores, arm_weights(parsed), FUSION_GAP)
            # The weak vector-only hits keep their place in the vector arm's ranking (the
            # fused scores of the rest do not change), but are no results.
            candidates = [i for i in rank(fused) if i not in weak][:MAX_CANDIDATES]
        with _stage(timings, "profiles"):
            profiles = build_profiles(self.store, self.vocab, candidates, chunk_ids=chunk_ids)
        with _stage(timings, "boost"):
            kept = [profiles[i] for i in candidates if i in profiles and filters(profiles[i])]
            final: dict[str, float] = {}
            boosts: dict[str, BoostFacts] = {}
            expanded = self._expanded_direct(parsed)
            for p in kept:
                facts = self._boost_facts(p, parsed, expanded)
                final[p.id] = fused[p.id] * boost(facts)
                boosts[p.id] = facts
            ordered = rank(final)
            page = ordered[request.offset : request.offset + request.limit]
            by_id = {p.id: p for p in kept}
        if not ordered:
            notes.append(_nothing_found(parsed.text, found=bool(candidates)))
        with _stage(timings, "quotes"):
            chunk_scores = {cid: s for arm in scores.values() for cid, s in arm.items()}
            quotes = self._quotes([by_id[i] for i in page], parsed, chunk_scores, links)
        with _stage(timings, "results"):
            return self._response(
                request,
                parsed,
                page,
                by_id,
                final,
                fused,
                scores,
                rankings,
                quotes,
                kept,
                len(ordered),
                notes,
            )

    def _response(
        self,
        request: SearchRequest,
        parsed: ParsedQuery,
        page: list[str],
        by_id: dict[str, Profile],
        final: dict[str, float],
        fused: dict[str, float],
        scores: dict[str, dict[str, float]],
        rankings: dict[str, list[str]],
        quotes: dict[str, list[Quote]],
        kept: list[Profile],
        total: int,
        notes: list[str],
    ) -> SearchResponse:
        """The answer: result cards (with each arm's rank when explained) and facets."""
        results = [self._result(by_id[i], final[i], parsed, quotes.get(i, [])) for i in page]
        if request.explain:
            positions = {
                a: {rid: n for n, rid in enumerate(r, start=1)} for a, r in rankings.items()
            }
            for r in results:
                r.explain = {
                    a: ArmScore(
                        rank=positions[a].get(r.id) if r.id in scores[a] else None,
                        score=round(scores[a].get(r.id, 0.0), 6),
                    )
                    for a in rankings
                }
                r.explain["fused"] = ArmScore(rank=None, score=round(fused[r.id], 6))
                r.explain["boost"] = ArmScore(rank=None, score=round(final[r.id] / fused[r.id], 4))
        return SearchResponse(
            q=parsed.text,
            total=total,
            limit=request.limit,
            offset=request.offset,
            results=results,
            facets=self._facets(kept),
            matched_concepts=[
                MatchedConceptOut(iri=c.iri, label=c.label, scheme=c.scheme, via=c.via)
                for c in sorted(parsed.concepts.values(), key=lambda c: (-c.weight, c.label))
            ],
            arms=sorted(scores),
            read_as=read_as_nl(parsed),
            notes=notes,
        )

    def _only_common_words(self, request: SearchRequest, parsed: ParsedQuery) -> SearchResponse:
        """The empty answer to a question of only stop words, with why and what to do.

        No arm runs: the fulltext arm would match nearly every chunk on "de" or "het"
        (150 results), and the vector arm's neighbours of "de het een" mean nothing.
        """
        return SearchResponse(
            q=parsed.text,
            total=0,
            limit=request.limit,
            offset=request.offset,
            results=[],
            facets=self._facets([]),
            matched_concepts=[],
            arms=[],
            notes=[ONLY_COMMON_WORDS.format(nothing=NOTHING_FOUND, q=parsed.text)],
            hint=ONLY_COMMON_WORDS_NL,
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

    def _expanded_direct(self, parsed: ParsedQuery) -> set[str]:
        """The query's named concepts with their narrower ones (what "matches the asked
        group or challenge" means for the boost); computed once per query."""
        expanded: set[str] = set()
        for c in parsed.direct:
            expanded |= _expand_narrower(self.vocab, c.iri)
        return expanded

    def _boost_facts(self, p: Profile, parsed: ParsedQuery, expanded: set[str]) -> BoostFacts:
        q = set(parsed.concepts)
        qstems = set(parsed.stems)
        positive = False
        for eff, concept, _rank in p.effects:
            # Only news that is not known to be bad lifts a result: "verhoogt eenzaamheid"
            # is an effect on the asked outcome, but not one a programme manager wants.
            if eff.direction in ("", "0") or eff.favourable is False:
                continue
            if (concept and concept in q) or qstems & set(content_stems(eff.outcome)):
                positive = True
        on_challenge = len(p.challenges & expanded)
        on_group = len(p.target_groups & expanded)
        # "Group only": the question says what it is about (a challenge, outcome or
        # approach) and the result fits none of that, only the group it is for.
        own = p.props.get("concept")
        group_only = (
            on_group > 0
            and on_challenge == 0
            and not (isinstance(own, str) and own in expanded)
            and any(c.scheme in TOPIC_SCHEMES for c in parsed.direct)
        )
        strength = max((e.strength for e in p.evidence.values()), default=0)
        return BoostFacts(
            recognition_rank=p.recognition_rank,
            evidence_strength=strength,
            positive_effect_on_query=positive,
            matched_groups_or_challenges=on_challenge + on_group,
            group_only=group_only,
        )

    def _result(
        self, p: Profile, score: float, parsed: ParsedQuery, quotes: list[Quote]
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
            quotes=quotes,
            recognition=p.recognition,
            recognition_rank=p.recognition_rank,
            evidence=evidence,
            effects=[e for e, _, _ in p.effects],
            programmes=sorted(p.programmes.values(), key=lambda r: (r.via != "uses", r.name)),
            areas=sorted(set(p.areas.values())),
            challenges=sorted(self.vocab.label(c) for c in p.challenges),
            target_groups=sorted(self.vocab.label(c) for c in p.target_groups),
            instance_of=[InterventionRef(id=i, name=n) for i, n in sorted(p.instance_of.items())],
            instances=sorted(p.instances.values(), key=lambda x: x.name.lower()),
        )

    def _quote_terms(self, parsed: ParsedQuery) -> set[str]:
        """Stems a quote should share with the question: its words and the labels of the
        concepts it clearly reaches."""
        terms = set(parsed.stems)
        for c in parsed.concepts.values():
            if c.weight >= 0.7:
                terms |= _label_stems(self.vocab, c.iri)
        return terms

    def _quotes(
        self,
        page: list[Profile],
        parsed: ParsedQuery,
        chunk_scores: dict[str, float],
        links: arms_mod.ChunkLinks,
    ) -> dict[str, list[Quote]]:
        """Per result, the sentences of its chunks that share most with the question (and,
        for an entity, name it), with document offsets. One query reads the chunks of
        the whole page."""
        wanted: dict[str, list[str]] = {}
        for p in page:
            if p.type == "chunk":
                wanted[p.id] = [p.id]
                continue
            # Chunks the arms liked first, then the rest (bounded: quotes, not a dossier).
            pool = dict.fromkeys([*links.chunks_of(p.id), *p.chunks])
            wanted[p.id] = sorted(pool, key=lambda c: -chunk_scores.get(c, 0.0))[
                :CHUNKS_PER_QUOTE_SEARCH
            ]
        all_ids = sorted({c for cs in wanted.values() for c in cs})
        if not all_ids:
            return {}
        texts = {
            cid: (text, start, str(did), str(title or ""))
            for cid, text, start, did, title in self.store.read_query(
                "UNWIND $ids AS cid MATCH (d:Document)-[:HAS_CHUNK]->(c:Node {id: cid}) "
                "RETURN cid, c.text, c.start, d.id, d.title",
                {"ids": all_ids},
                timeout_s=10.0,
                row_cap=len(all_ids) * 4,
            ).rows
        }
        terms = self._quote_terms(parsed)
        return {
            p.id: self._best_sentences(p, wanted[p.id], texts, terms, chunk_scores) for p in page
        }

    def _best_sentences(
        self,
        p: Profile,
        chunk_ids: list[str],
        texts: dict[str, tuple[Any, Any, str, str]],
        terms: set[str],
        chunk_scores: dict[str, float],
    ) -> list[Quote]:
        name = p.name.lower() if p.type != "chunk" else ""
        scored: list[tuple[float, Quote]] = []
        for cid in chunk_ids:
            if cid not in texts or not isinstance(texts[cid][0], str):
                continue
            text, start, did, title = texts[cid]
            base = int(start or 0)
            for s_start, sentence, sstems in _sentences(text):
                overlap = len(terms & sstems)
                names_it = bool(name) and name in sentence.lower()
                if overlap == 0 and not names_it:
                    continue
                value = overlap + (1.5 if names_it else 0.0) + chunk_scores.get(cid, 0.0) * 0.1
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
