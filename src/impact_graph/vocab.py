"""The SKOS vocabularies as Python objects: concepts, synonyms, hierarchy, recognition ranks.

The NLP builds its PhraseMatcher/EntityRuler from `Vocabulary.terms`, search expands a
query concept to its narrower/broader neighbours with `Vocabulary.expand`, and filters
such as "at least 'Goed onderbouwd'" use `Vocabulary.recognition_rank`. Everything comes
from ``ontology/vocabularies/*.ttl``; the header of each file explains its scheme.

Vocabulary conventions (see ``impact.ttl`` for the ``ig:`` annotations):

* a concept scheme ``<.../vocab/<name>>`` links to the node class its concepts become
  with ``ig:conceptClass`` (so a Challenge concept yields a ``Challenge`` node), or to the
  datatype property its concepts are values of with ``ig:valueOf`` (evidence types,
  outcomes, recognition levels);
* recognition levels carry ``ig:rank`` (higher = stronger) and hang under a top concept
  per rating scheme ("Erkenningstraject", "Blueprints", ...);
* ``ig:nodeKind`` on an actor-role concept is the ``kind`` its Actor nodes get;
* ``skos:related`` links across schemes (a working element to its challenge);
* ``ig:desirableDirection`` on an outcome concept says which direction of change is good
  news ("+" more is better, "−" less is better), so an effect's direction can be read as
  favourable or not (`Vocabulary.favourable`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from impact_graph.ontology import (
    IG,
    OntologyError,
    local_name,
    ontology_dir,
    parse_turtle,
    vocabulary_files,
)

#: Effect/outcome direction spellings -> the canonical "+", "0", "−" (U+2212).
_DIRECTIONS = {"+": "+", "0": "0", "−": "−", "-": "−", "\u2013": "−"}

_space_re = re.compile(r"\s+")
_dash_re = re.compile(r"[\u2010-\u2015\u2212]")
_quote_re = re.compile(r"[\u2018\u2019\u201a\u201b\u2032`]")


def normalise(term: str) -> str:
    """The key terms are matched on: NFKC, lower case, one space, plain dashes and quotes.

    Diacritics are kept (spaCy's LOWER keeps them too); `Vocabulary.lookup` additionally
    tries a diacritic-free form so "client" finds "cliënt".
    """
    text = unicodedata.normalize("NFKC", term)
    text = _dash_re.sub("-", _quote_re.sub("'", text))
    return _space_re.sub(" ", text).strip().lower()


def fold(term: str) -> str:
    """`normalise` plus removal of diacritics ("cliënt" -> "client")."""
    decomposed = unicodedata.normalize("NFKD", normalise(term))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class Concept:
    """One SKOS concept with everything the pipeline needs about it."""

    iri: str
    scheme: str  # scheme name, e.g. "challenges"
    pg_label: str | None  # node label its mentions become, None for value vocabularies
    pref_nl: str
    pref_en: str
    alt_nl: tuple[str, ...] = ()
    alt_en: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()
    narrower: tuple[str, ...] = ()
    definition: str = ""  # Dutch definition, English if there is no Dutch one
    rank: int | None = None  # recognition levels only
    kind: str | None = None  # ig:nodeKind, e.g. "organisation" for actor-role concepts
    recognitions: tuple[str, ...] = ()  # IRIs of recognition levels (ig:recognisedAs)
    notation: str | None = None  # skos:notation, e.g. a CBS code or an abbreviation
    definition_en: str = ""
    related: tuple[str, ...] = ()  # skos:related, both directions, any scheme
    desirable_direction: str | None = None  # ig:desirableDirection, "+" or "−" (outcomes)

    @property
    def slug(self) -> str:
        return local_name(self.iri)

    @property
    def labels(self) -> tuple[str, ...]:
        """All labels, pref first, Dutch before English, without duplicates."""
        seen = dict.fromkeys(
            x for x in (self.pref_nl, *self.alt_nl, self.pref_en, *self.alt_en) if x
        )
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class Scheme:
    """A concept scheme and what its concepts mean in the graph."""

    name: str
    iri: str
    label_nl: str
    label_en: str
    pg_label: str | None = None  # ig:conceptClass
    value_of: str | None = None  # ig:valueOf, a property key
    top_concepts: tuple[str, ...] = ()


@dataclass
class Vocabulary:
    """All concept schemes, indexed for lookup by IRI and by surface term."""

    concepts: dict[str, Concept]
    schemes: dict[str, Scheme]
    _by_term: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _by_fold: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _extra_labels: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        by_term: dict[str, list[str]] = defaultdict(list)
        by_fold: dict[str, list[str]] = defaultdict(list)
        for c in self.concepts.values():
            for label in c.labels:
                for index, key in ((by_term, normalise(label)), (by_fold, fold(label))):
                    if c.iri not in index[key]:
                        index[key].append(c.iri)
        self._by_term, self._by_fold = dict(by_term), dict(by_fold)

    # -- browsing ------------------------------------------------------------------------

    def scheme(self, name: str) -> list[Concept]:
        """The concepts of scheme ``name`` ("challenges", "target-groups", ...)."""
        if name not in self.schemes:
            raise KeyError(
                f"'{name}' is not a concept scheme; known: {', '.join(sorted(self.schemes))}"
            )
        return [c for c in self.concepts.values() if c.scheme == name]

    def for_class(self, pg_label: str) -> list[Concept]:
        """Concepts whose mentions become nodes with label ``pg_label``."""
        return [c for c in self.concepts.values() if c.pg_label == pg_label]

    def get(self, iri: str) -> Concept | None:
        return self.concepts.get(iri)

    def __getitem__(self, iri: str) -> Concept:
        try:
            return self.concepts[iri]
        except KeyError:
            raise KeyError(f"'{iri}' is not a concept of the vocabularies") from None

    def __len__(self) -> int:
        return len(self.concepts)

    # -- matching ------------------------------------------------------------------------

    def terms(self, lang: str | None = "nl") -> dict[str, list[str]]:
        """Normalised surface term -> concept IRIs, for gazetteers such as the PhraseMatcher.

        ``lang="nl"`` gives the Dutch labels *and* the English ones, because Dutch texts
        borrow English names ("Housing First", "RCT"); ``lang="en"`` gives English labels
        only; ``None`` gives every label. A term may name several concepts (ambiguity is
        the caller's to resolve, e.g. by scheme or context).
        """
        out: dict[str, list[str]] = defaultdict(list)
        for c in self.concepts.values():
            labels = [c.pref_en, *c.alt_en]
            if lang != "en":
                labels += [c.pref_nl, *c.alt_nl]
            for label in labels:
                key = normalise(label)
                if key and c.iri not in out[key]:
                    out[key].append(c.iri)
        return dict(out)

    def lookup(self, term: str, scheme: str | None = None) -> list[Concept]:
        """Concepts with ``term`` as a pref or alt label in any language (exact after
        normalisation, then without diacritics)."""
        iris = self._by_term.get(normalise(term)) or self._by_fold.get(fold(term)) or []
        found = [self.concepts[i] for i in iris]
        return [c for c in found if scheme is None or c.scheme == scheme]

    def expand(
        self, iri: str, broader: bool = True, narrower: bool = True, depth: int = 1
    ) -> set[str]:
        """``iri`` plus its broader and/or narrower concepts up to ``depth`` steps away."""
        if iri not in self.concepts:
            raise KeyError(f"'{iri}' is not a concept of the vocabularies")
        found = {iri}
        frontier = {iri}
        for _ in range(max(depth, 0)):
            step: set[str] = set()
            for i in frontier:
                c = self.concepts.get(i)
                if c is None:  # a broader/narrower IRI outside the loaded vocabularies
                    continue
                if broader:
                    step.update(c.broader)
                if narrower:
                    step.update(c.narrower)
            frontier = step - found
            found |= step
            if not frontier:
                break
        return found

    def label(self, iri: str, lang: str = "nl") -> str:
        """Preferred label of a concept (or ontology term) in ``lang``, else any label."""
        c = self.concepts.get(iri)
        if c is not None:
            first, second = (c.pref_nl, c.pref_en) if lang == "nl" else (c.pref_en, c.pref_nl)
            return first or second or c.slug
        return (
            self._extra_labels.get((iri, lang))
            or self._extra_labels.get((iri, ""))
            or local_name(iri)
        )

    # -- outcomes ------------------------------------------------------------------------

    def desirable_direction(self, outcome: str | None) -> str | None:
        """The desirable direction, "+" or "−", of an outcome concept (IRI or label) or of
        its nearest broader concept with one; ``None`` when no concept or direction is known."""
        if not outcome:
            return None
        c = self.concepts.get(outcome)
        if c is None:
            found = self.lookup(outcome, scheme="outcomes")
            c = found[0] if found else None
        if c is None or c.scheme != "outcomes":
            # A challenge named as the outcome ("vermindert eenzaamheid"): the outcomes it
            # is measured by, when they agree.
            named = [c] if c is not None else self.lookup(outcome)
            wider = {i for n in named for i in self.expand(n.iri, narrower=False, depth=2)}
            dirs = {
                o.desirable_direction
                for n in wider
                for r in self.concepts[n].related
                if (o := self.concepts[r]).scheme == "outcomes" and o.desirable_direction
            }
            return dirs.pop() if len(dirs) == 1 else None
        seen: set[str] = set()
        while c is not None and c.iri not in seen:
            if c.desirable_direction:
                return c.desirable_direction
            seen.add(c.iri)
            c = self.concepts.get(c.broader[0]) if c.broader else None
        return None

    def favourable(self, outcome: str | None, direction: str | None) -> bool | None:
        """Whether an effect of ``direction`` ("+", "0", "−"; ASCII "-" accepted) on
        ``outcome`` is good news: ``True`` when it moves the desirable way ("vermindert
        eenzaamheid"), ``False`` when it moves the other way or not at all, ``None`` when
        the direction or the outcome's desirable direction is unknown."""
        d = _DIRECTIONS.get((direction or "").strip())
        want = self.desirable_direction(outcome)
        if d is None or want is None:
            return None
        return d == want

    # -- recognition ---------------------------------------------------------------------

    def recognition_levels(self, rating_scheme: str | None = None) -> list[Concept]:
        """Ranked recognition levels (of one rating scheme, by its label), weakest first."""
        levels = [c for c in self.scheme("recognition") if c.rank is not None]
        if rating_scheme is not None:
            levels = [c for c in levels if self.rating_scheme_of(c) == normalise(rating_scheme)]
        return sorted(levels, key=lambda c: (self.rating_scheme_of(c), c.rank or 0))

    def rating_scheme_of(self, level: Concept) -> str:
        """Normalised label of the rating scheme a recognition level belongs to."""
        for b in level.broader:
            return normalise(self.concepts[b].pref_nl)
        return ""

    def recognition_rank(self, level: str, rating_scheme: str | None = None) -> int | None:
        """``ig:rank`` of a recognition level string ("Goed onderbouwd" -> 2).

        ``None`` for unknown strings, for statuses without a rank ("in herbeoordeling"),
        and when the string names levels of different rank in several schemes and no
        ``rating_scheme`` says which one is meant.
        """
        ranks = {
            c.rank
            for c in self.lookup(level, scheme="recognition")
            if c.rank is not None
            and (rating_scheme is None or self.rating_scheme_of(c) == normalise(rating_scheme))
        }
        return ranks.pop() if len(ranks) == 1 else None


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _lit(g: Graph, s: URIRef, p: URIRef, lang: str) -> str:
    for o in g.objects(s, p):
        if isinstance(o, Literal) and o.language == lang:
            return str(o)
    return ""


def _lits(g: Graph, s: URIRef, p: URIRef, lang: str) -> tuple[str, ...]:
    return tuple(
        sorted(str(o) for o in g.objects(s, p) if isinstance(o, Literal) and o.language == lang)
    )


def _vocab_from_graph(g: Graph, files: dict[URIRef, Path]) -> Vocabulary:
    schemes: dict[str, Scheme] = {}
    scheme_of_iri: dict[URIRef, Scheme] = {}
    for s in g.subjects(RDF.type, SKOS.ConceptScheme):
        if not isinstance(s, URIRef):
            continue
        cls = g.value(s, IG.conceptClass)
        value_of = g.value(s, IG.valueOf)
        sch = Scheme(
            name=local_name(s),
            iri=str(s),
            label_nl=_lit(g, s, SKOS.prefLabel, "nl"),
            label_en=_lit(g, s, SKOS.prefLabel, "en"),
            pg_label=local_name(cls) if cls is not None else None,
            value_of=local_name(value_of) if value_of is not None else None,
            top_concepts=tuple(sorted(str(t) for t in g.objects(s, SKOS.hasTopConcept))),
        )
        schemes[sch.name] = sch
        scheme_of_iri[s] = sch

    # broader/narrower are inverses: read both directions so a file may state either.
    broader: dict[str, set[str]] = defaultdict(set)
    narrower: dict[str, set[str]] = defaultdict(set)
    for child, parent in g.subject_objects(SKOS.broader):
        broader[str(child)].add(str(parent))
        narrower[str(parent)].add(str(child))
    for parent, child in g.subject_objects(SKOS.narrower):
        broader[str(child)].add(str(parent))
        narrower[str(parent)].add(str(child))

    related: dict[str, set[str]] = defaultdict(set)
    for a, b in g.subject_objects(SKOS.related):
        related[str(a)].add(str(b))
        related[str(b)].add(str(a))

    concepts: dict[str, Concept] = {}
    for c in sorted(g.subjects(RDF.type, SKOS.Concept), key=str):
        if not isinstance(c, URIRef):
            continue
        in_schemes = [scheme_of_iri[s] for s in g.objects(c, SKOS.inScheme) if s in scheme_of_iri]
        if not in_schemes:
            where = files.get(c, "the vocabularies")
            raise OntologyError(
                f"{where}: concept {c} has no skos:inScheme naming a declared "
                "skos:ConceptScheme; add one."
            )
        sch = in_schemes[0]
        rank = g.value(c, IG.rank)
        kind = g.value(c, IG.nodeKind)
        notation = g.value(c, SKOS.notation)
        desirable = g.value(c, IG.desirableDirection)
        if desirable is not None and _DIRECTIONS.get(str(desirable).strip()) not in ("+", "−"):
            where = files.get(c, "the vocabularies")
            raise OntologyError(
                f"{where}: concept {c} has ig:desirableDirection {str(desirable)!r}; use "
                '"+" (more is better) or "−" (U+2212, less is better).'
            )
        concepts[str(c)] = Concept(
            iri=str(c),
            scheme=sch.name,
            pg_label=sch.pg_label,
            pref_nl=_lit(g, c, SKOS.prefLabel, "nl"),
            pref_en=_lit(g, c, SKOS.prefLabel, "en"),
            alt_nl=_lits(g, c, SKOS.altLabel, "nl"),
            alt_en=_lits(g, c, SKOS.altLabel, "en"),
            broader=tuple(sorted(broader[str(c)])),
            narrower=tuple(sorted(narrower[str(c)])),
            definition=_lit(g, c, SKOS.definition, "nl") or _lit(g, c, SKOS.definition, "en"),
            definition_en=_lit(g, c, SKOS.definition, "en"),
            rank=int(rank.toPython()) if isinstance(rank, Literal) else None,
            kind=str(kind) if kind is not None else None,
            recognitions=tuple(sorted(str(r) for r in g.objects(c, IG.recognisedAs))),
            notation=str(notation) if notation is not None else None,
            related=tuple(sorted(related[str(c)])),
            desirable_direction=(
                _DIRECTIONS[str(desirable).strip()] if desirable is not None else None
            ),
        )

    dangling = sorted(
        {
            i
            for c in concepts.values()
            for i in (*c.broader, *c.narrower, *c.related)
            if i not in concepts
        }
    )
    if dangling:
        raise OntologyError(
            f"the vocabularies refer to undeclared concepts via skos:broader/narrower/related: "
            f"{', '.join(dangling[:5])}; declare them or fix the IRIs."
        )
    vocab = Vocabulary(concepts=concepts, schemes=schemes)
    # Labels of non-concept terms (scheme IRIs) so `label()` works for them too.
    for sch in schemes.values():
        vocab._extra_labels[(sch.iri, "nl")] = sch.label_nl
        vocab._extra_labels[(sch.iri, "en")] = sch.label_en
    return vocab


def load_vocabulary(directory: Path | None = None) -> Vocabulary:
    """All vocabularies under ``<ontology dir>/vocabularies`` (cached for the default)."""
    if directory is None:
        return _default_vocabulary()
    return _load(Path(directory))


@lru_cache(maxsize=1)
def _default_vocabulary() -> Vocabulary:
    return _load(ontology_dir())


def _load(directory: Path) -> Vocabulary:
    """Parse each file on its own first so errors and orphan concepts name their file."""
    paths = vocabulary_files(directory)
    if not paths:
        raise OntologyError(f"{directory / 'vocabularies'}: holds no .ttl vocabulary files.")
    g = Graph()
    files: dict[URIRef, Path] = {}
    for path in paths:
        part = parse_turtle(path)
        for c in part.subjects(RDF.type, SKOS.Concept):
            if isinstance(c, URIRef):
                files[c] = path
        g += part
    return _vocab_from_graph(g, files)
