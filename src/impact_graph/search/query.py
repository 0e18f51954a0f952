"""Parse a user's question and expand it through the SKOS vocabularies.

Users ask "wat helpt tegen vereenzaming van ouderen" while documents say "eenzaamheid"
and "75-plussers"; the embedding model is weak on Dutch and the fulltext stemmer misses
plurals. So the query is matched against every pref/alt label of the vocabularies on
*Snowball-stemmed, stop-word-free* token sequences (so "ouderen die zich alleen voelen"
contains the label "zich alleen voelen"), and each matched concept is expanded to its
narrower, broader and related concepts with decreasing weights.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from impact_graph.vocab import Vocabulary, fold

#: Longest query the service accepts (characters).
MAX_QUERY_CHARS = 500

#: Weights of how a concept was reached: named in the query, or one step away from one
#: that was. Narrower concepts are what a user usually means too ("eenzaamheid" covers
#: "sociale eenzaamheid"); broader and related ones only hint.
WEIGHTS = {"label": 1.0, "narrower": 0.7, "broader": 0.4, "related": 0.5}

#: Weight factor of a narrower concept two steps down: each step of a chain weakens it
#: again (0.7 x 0.7). "eenzaamheid" -> "psychosociale klachten" -> "sociale angst" is
#: a kind of a kind; at the full 0.7 of one step, Kanjertraining (against faalangst in
#: class) was the concept arm's 5th answer to "eenzaamheid".
SECOND_STEP = WEIGHTS["narrower"]

#: Weight factor of a label found inside a longer matched label.
INNER_FACTOR = 0.8

#: Weight factor per scheme. Who delivers ("huisarts", "school") and which law applies
#: are context of a question, not its topic: a result is not relevant because a school
#: is mentioned near it. Challenges, target groups, outcomes, interventions and working
#: elements are topics (factor 1).
SCHEME_FACTOR = {"actor-roles": 0.3, "legal-bases": 0.3}

#: Weight factor of concepts related to a named concept of these schemes: the
#: interventions known for a *group* ("kinderen" -> Kanjertraining) say little about
#: what the question is about; those known for a challenge or outcome say much.
RELATED_FROM = {"target-groups": 0.5}

#: Schemes whose concepts say what a question is *about*: the problem to solve, the
#: outcome wanted, the approach asked for. Target groups say *for whom*.
TOPIC_SCHEMES = frozenset({"challenges", "outcomes", "interventions", "working-elements"})

#: Weight factor of a target group (and what is reached from it) in a question that also
#: names a topic: in "jongeren die niet naar school gaan" an approach against school
#: absence for another age group answers more of the question than any approach for
#: young people against something else (the benchmark's judgements follow the same rule:
#: same challenge = related, same group alone = not). Both facets still count, so a result
#: that fits both stays first. A question that names only a group keeps its full weight.
GROUP_WITH_TOPIC = 0.6

#: Schemes whose broader concepts are categories, not topics ("huisarts" -> "professional"
#: -> "persoonsrol"): never expanded upwards.
NO_BROADER = frozenset({"actor-roles", "legal-bases"})

# Function words that never carry the meaning of a label (Dutch and English).
STOP_WORDS = frozenset(
    """
    de het een en of van voor met aan op in uit bij naar die dat dit deze wat wie welke
    hoe waar wanneer er is zijn was waren wordt worden werd kan kunnen moet moeten heeft
    hebben tegen om te ook nog niet geen als dan zo zich hun hen hij zij ze we wij ik je
    jij u mijn onze ons door over tot al alle veel meer minder werkt werken helpt helpen
    gaan gaat doen doet the a an and or of for with to in on at by from what which who how
    does do is are was were be that this these those works work helps help against
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_word_re = re.compile(r"[\w][\w'-]*", re.UNICODE)


#: spaCy's stop-word lists read for the "only common words" check (Dutch and English).
STOP_WORD_LANGS = ("nl", "en")


def _spacy_stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words of ``lang`` (``spacy.lang.<lang>.stop_words``), folded.

    The module is loaded from its file when spaCy itself is not imported yet: importing
    the ``spacy`` package loads thinc and torch (~2.2 s CPU here), which the search
    never needs otherwise. Empty when spaCy is not installed (the hand list still holds).
    """
    name = f"spacy.lang.{lang}.stop_words"
    if name in sys.modules or "spacy" in sys.modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            return frozenset()
    else:
        spec = importlib.util.find_spec("spacy")
        if spec is None or not spec.submodule_search_locations:
            return frozenset()
        path = Path(next(iter(spec.submodule_search_locations))) / "lang" / lang / "stop_words.py"
        file_spec = importlib.util.spec_from_file_location(f"_impact_graph_{lang}_stop_words", path)
        if file_spec is None or file_spec.loader is None or not path.is_file():
            return frozenset()
        module = importlib.util.module_from_spec(file_spec)
        file_spec.loader.exec_module(module)
    return frozenset(
        fold(w.replace("\u2019", "'").replace("\u2018", "'")) for w in module.STOP_WORDS
    )


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Words that say nothing about what a question is about: spaCy's Dutch and English
    stop words (the lists the NLP ships with) and the search's own ``STOP_WORDS`` (which
    adds the question verbs "werkt", "helpt", "works", ...)."""
    out = set(STOP_WORDS)
    for lang in STOP_WORD_LANGS:
        out |= _spacy_stop_words(lang)
    return frozenset(out)


@lru_cache(maxsize=2)
def _stemmer(lang: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("dutch" if lang == "nl" else "english")


def words(text: str) -> list[str]:
    """Lower-case, diacritic-free word tokens ("Cliënten-raad" -> ["clienten-raad"])."""
    return _word_re.findall(fold(text))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Dutch Snowball stem (cached: the pure-Python stemmer costs ~5 µs a word, and
    quotes stem every sentence of a result's chunks)."""
    return _stemmer("nl").stemWord(word)


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning (stop words dropped)."""
    out: list[str] = []
    for w in words(text):
        if w in STOP_WORDS or (len(w) < 2 and not w.isdigit()):
            continue
        out.append(stem(w))
    return out


@dataclass(frozen=True, slots=True)
class MatchedConcept:
    """A vocabulary concept the query reached, and how."""

    iri: str
    label: str  # Dutch preferred label
    scheme: str
    weight: float
    via: str  # "label" | "narrower" | "broader" | "related"
    surface: str = ""  # the words of the query that named it (or named its neighbour)
    #: The parts of the question it answers (see ``parse_query``); the concept arm
    #: scores a result once per part, so naming more parts of a question counts more.
    facets: tuple[str, ...] = ()


@dataclass(slots=True)
class ParsedQuery:
    """The query's words, stems and the concepts it reaches."""

    text: str
    words: list[str]
    stems: list[str]
    concepts: dict[str, MatchedConcept] = field(default_factory=dict)
    #: Share of the question's content words that lie inside a label of a named topic
    #: or target-group concept, or 0 when no topic (challenge, outcome, approach) is
    #: named at all: how much of the question the vocabulary understood. "jongeren die
    #: niet naar school gaan" is understood whole (a group and a challenge); "kinderen
    #: die veel te dik zijn" not at all when "te dik" is no label (a group alone says
    #: for whom, not what about). The fusion trusts the concept arm by it.
    understood: float = 0.0
    #: Misspelled question words read as a vocabulary word (question word, label word),
    #: e.g. ("eenzaamhied", "eenzaamheid"): said in the answer so a guess stays visible.
    read_as: list[tuple[str, str]] = field(default_factory=list)

    @property
    def direct(self) -> list[MatchedConcept]:
        """Concepts named in the query itself."""
        return [c for c in self.concepts.values() if c.via == "label"]

    def weight(self, iri: str | None) -> float:
        c = self.concepts.get(iri or "")
        return c.weight if c else 0.0

    @property
    def only_common_words(self) -> bool:
        """True when the question has words, all of them stop words (`common_words`), and
        names no vocabulary concept: "de het een", "van de", "the a". Searched, such a
        question answered results that had nothing to do with it (demo corpus, "de het
        een": 150; the fulltext arm alone 120, "de" is in every chunk, and the vector arm
        alone 118 above its floor)."""
        if not self.words or self.concepts:
            return False
        common = common_words()
        return all(w in common for w in self.words)

    @property
    def fulltext_text(self) -> str:
        """What the fulltext arm searches: the meaningful words of the query. (Adding
        stems or the labels of named concepts made the demo benchmark's fulltext arm
        worse: 0.55 -> 0.50-0.54 nDCG@10; the concept arm carries the synonyms.)"""
        kept = [w for w in self.words if w not in STOP_WORDS]
        return " ".join(kept or self.words)


class LabelIndex:
    """Vocabulary labels keyed by their content-word sequence, exact and stemmed.

    Exact (diacritic-free) words are tried before stems because the Dutch stemmer
    conflates some words that matter ("ouderen" and "ouders" both stem to "ouder").
    """

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.exact: dict[tuple[str, ...], set[str]] = {}
        self.stemmed: dict[tuple[str, ...], set[str]] = {}
        # Labels that are mostly function words ("niet naar school gaan", "aan het werk",
        # "op maat") keep their meaning only whole: without the stop words they would
        # shrink to one generic word ("school") and match every question that has it.
        self.phrase_exact: dict[tuple[str, ...], set[str]] = {}
        self.phrase_stemmed: dict[tuple[str, ...], set[str]] = {}
        # The label word sequences behind each stem key, per concept: a stem match is
        # checked against them (``_by_stem``) so that a stem collision does not count.
        self._forms: dict[tuple[str, ...], dict[str, set[tuple[str, ...]]]] = {}
        for c in vocab.concepts.values():
            if c.scheme == "recognition":
                continue  # levels are filters, not topics
            for label in c.labels:
                toks = content_words(label)
                every = words(label)
                if len(toks) <= 1 < len(every):
                    key = tuple(stem(t) for t in every)
                    self.phrase_exact.setdefault(tuple(every), set()).add(c.iri)
                    self.phrase_stemmed.setdefault(key, set()).add(c.iri)
                    self._forms.setdefault(key, {}).setdefault(c.iri, set()).add(tuple(every))
                elif toks:
                    key = tuple(stem(t) for t in toks)
                    self.exact.setdefault(tuple(toks), set()).add(c.iri)
                    self.stemmed.setdefault(key, set()).add(c.iri)
                    self._forms.setdefault(key, {}).setdefault(c.iri, set()).add(tuple(toks))
        self.max_len = max((len(k) for k in self.exact), default=1)
        self.max_phrase = max((len(k) for k in self.phrase_exact), default=1)
        self._fuzzy_choices: list[str] | None = None

    def match_phrases(self, every: list[str]) -> list[tuple[str, str, set[int]]]:
        """(concept IRI, surface, word positions) of the whole-phrase labels in the
        query's words (stop words included), longest first."""
        stems = [stem(t) for t in every]
        found: list[tuple[str, str, set[int]]] = []
        for n in range(min(self.max_phrase, len(every)), 1, -1):
            for i in range(len(every) - n + 1):
                iris = self.phrase_exact.get(tuple(every[i : i + n])) or self._by_stem(
                    every[i : i + n], stems[i : i + n], self.phrase_stemmed
                )
                for iri in sorted(iris or ()):
                    found.append((iri, " ".join(every[i : i + n]), set(range(i, i + n))))
        return found

    def glued(self, every: list[str]) -> list[tuple[str, str, int, int]]:
        """(concept IRI, surface, first position, second position) for two neighbouring
        words that a label writes as one compound: people often write a Dutch compound
        apart ("thuis zitten" is the label "thuiszitten", "school verzuim" is
        "schoolverzuim"). Both words must carry meaning and the whole must be a one-word
        label; positions index ``every``."""
        found: list[tuple[str, str, int, int]] = []
        for i in range(len(every) - 1):
            a, b = every[i], every[i + 1]
            if a in STOP_WORDS or b in STOP_WORDS or not (a.isalpha() and b.isalpha()):
                continue
            if min(len(a), len(b)) < MIN_MODIFIER:
                continue
            for iri in sorted(self.single(a + b)):
                found.append((iri, f"{a} {b}", i, i + 1))
        return found

    def single(self, word: str) -> set[str]:
        """Concepts with a one-word label equal to ``word`` (exact, else stemmed)."""
        return set(self.exact.get((word,)) or self._by_stem([word], [stem(word)], self.stemmed))

    def _by_stem(
        self, toks: list[str], stems: list[str], table: dict[tuple[str, ...], set[str]]
    ) -> set[str]:
        """Concepts whose label stems to ``stems``, leaving out a label reached only
        through a known stem collision (``STEM_COLLISIONS``): "afval" (litter) stems as
        "afvallen" (losing weight) does, but names another thing."""
        iris = table.get(tuple(stems))
        if not iris:
            return set()
        forms = self._forms.get(tuple(stems), {})
        return {
            iri
            for iri in iris
            if any(not _collides(toks, label) for label in forms.get(iri, {tuple(toks)}))
        }

    def joined(self, every: list[str]) -> list[tuple[str, str, int, int]]:
        """(concept IRI, surface, head position, modifier position) for "head <preposition>
        [article] modifier" phrases whose compound "modifier+head" is a one-word label:
        "ruzie met de buren" finds the label "burenruzie". Positions index ``every``."""
        found: list[tuple[str, str, int, int]] = []
        for i, w in enumerate(every[1:-1], start=1):
            if w not in COMPOUND_PREPOSITIONS:
                continue
            j = i + 2 if every[i + 1] in _ARTICLES and i + 2 < len(every) else i + 1
            head, mod = every[i - 1], every[j]
            if head in STOP_WORDS or mod in STOP_WORDS or not head.isalpha() or not mod.isalpha():
                continue
            for form in _modifier_forms(mod):
                iris = self.single(form + head)
                if iris:
                    surface = " ".join(every[i - 1 : j + 1])
                    found += [(iri, surface, i - 1, j) for iri in sorted(iris)]
                    break
        return found

    def split(self, word: str) -> list[tuple[str, str, str]]:
        """(concept IRI, part, "head" | "modifier") for a Dutch compound the labels do not
        know whole: the longest known last part is what it is a kind of
        ("jeugdwerkloosheid" is werkloosheid), a known first part what it concerns
        ("jeugd"). Nothing when no head is known: a modifier alone is too weak a guess.
        Only topic and group labels take part: the short names of actors and laws
        ("rijk", "boa") end too many ordinary words ("belangrijk")."""
        if not word.isalpha():
            return []
        for i in range(MIN_MODIFIER, len(word) - MIN_HEAD + 1):
            head = word[i:]
            head_iris = self._part(head)
            if not head_iris:
                continue
            out = [(iri, head, "head") for iri in sorted(head_iris)]
            for form in _word_forms(word[:i]):
                mod_iris = self._part(form)
                if mod_iris:
                    out += [(iri, form, "modifier") for iri in sorted(mod_iris - head_iris)]
                    break
            return out
        return []

    def fuzzy(self, word: str) -> tuple[str, set[str]] | None:
        """(label word, concepts) for a question word that is a likely typo of one
        one-word topic or group label ("eenzaamhied" -> "eenzaamheid"), else None.

        Strict on purpose, since a wrong guess adds a topic the user never asked about
        (measured on the 2,128 distinct words of 6+ letters of the demo corpus, which are
        real words): words of at least ``FUZZY_MIN_LEN`` letters, the same first letter,
        and either one swap of neighbours, one missing or one extra letter (not one letter
        for another: "bewezen" / "bewegen" are both words), or, from 9 letters, up to
        two edits all in the last three letters ("overgewigt" / "overgewicht"; not
        "monitoring" / "mentoring"). A tie between two label words is no reading.
        """
        if len(word) < FUZZY_MIN_LEN or not word.isalpha() or word in _MEANING:
            return None
        if self._fuzzy_choices is None:
            self._fuzzy_choices = sorted(
                {
                    k[0]
                    for k in self.exact
                    if len(k) == 1 and len(k[0]) >= FUZZY_MIN_LEN - 1 and k[0].isalpha()
                }
            )
        hits = process.extract(
            word,
            [c for c in self._fuzzy_choices if c[0] == word[0]],
            scorer=OSA.distance,
            score_cutoff=2,
            limit=5,
        )
        hits = [h for h in hits if _typo(word, h[0], int(h[1]))]
        if not hits:
            return None
        best = min(d for _, d, _ in hits)
        nearest = [c for c, d, _ in hits if d == best]
        iris = {i for c in nearest for i in self._part(c)}
        if len(nearest) != 1 or not iris:
            return None
        return nearest[0], iris

    def _part(self, word: str) -> set[str]:
        """``single`` restricted to concepts a part of a compound may stand for."""
        return {i for i in self.single(word) if self.vocab[i].scheme not in NO_BROADER}

    def match(
        self, tokens: list[str], covered: set[int] | None = None
    ) -> list[tuple[str, str, bool, frozenset[int]]]:
        """(concept IRI, surface, inner, token positions) for every label whose words
        occur contiguously in the query, longest first. ``inner`` marks a label found
        inside a longer match ("overgewicht" in "kinderen met overgewicht"): still
        relevant, weighted lower. ``covered`` are token positions a whole-phrase label
        already took."""
        stems = [stem(t) for t in tokens]
        found: list[tuple[str, str, bool, frozenset[int]]] = []
        seen: set[str] = set()
        covered = set(covered or ())
        for n in range(min(self.max_len, len(tokens)), 0, -1):
            for i in range(len(tokens) - n + 1):
                span = set(range(i, i + n))
                iris = self.exact.get(tuple(tokens[i : i + n]))
                if not iris and not span & covered:
                    iris = self._by_stem(tokens[i : i + n], stems[i : i + n], self.stemmed)
                if not iris:
                    continue
                inner = span <= covered
                covered |= span
                surface = " ".join(tokens[i : i + n])
                for iri in sorted(iris - seen):
                    seen.add(iri)
                    found.append((iri, surface, inner, frozenset(span)))
        return found


def _typo(word: str, label: str, distance: int) -> bool:
    """``LabelIndex.fuzzy``'s rule: is ``word`` (``distance`` OSA edits from ``label``)
    a plausible misspelling of it rather than another real word?"""
    if distance == 1:
        # One letter for another in a word of the same length makes real words.
        return len(word) != len(label) or Levenshtein.distance(word, label) != 1
    prefix = next(
        (i for i, (a, b) in enumerate(zip(word, label, strict=False)) if a != b), len(word)
    )
    return distance == 2 and len(word) >= 9 and prefix >= len(word) - 3


#: Dutch words the Snowball stemmer gives one stem although they name different things;
#: each group lists the forms of each meaning. A question word reaches a label word of
#: another meaning in its group only when the label is that very word (exact match), never
#: through the shared stem: "afval en overlast in de flat" is about litter, not about
#: "afvallen" (losing weight), and "alleenstaande ouder" is a parent, not "alleenstaande
#: ouderen" (older people living alone). Add a group when the bench shows a collision.
STEM_COLLISIONS: tuple[tuple[frozenset[str], ...], ...] = (
    (frozenset({"afval"}), frozenset({"afvallen"})),
    (frozenset({"ouder", "ouders"}), frozenset({"ouderen"})),
)
_MEANING: dict[str, tuple[int, int]] = {
    w: (g, m)
    for g, group in enumerate(STEM_COLLISIONS)
    for m, forms in enumerate(group)
    for w in forms
}


def _collides(query: list[str] | tuple[str, ...], label: tuple[str, ...]) -> bool:
    """True when some word of ``query`` and the label word at its place share a stem
    but belong to different meanings of one ``STEM_COLLISIONS`` group."""
    for q, w in zip(query, label, strict=False):
        a, b = _MEANING.get(q), _MEANING.get(w)
        if a and b and a[0] == b[0] and a[1] != b[1]:
            return True
    return False


#: Prepositions that link a head noun to its modifier in a phrase Dutch often writes as
#: one compound the other way round: "ruzie met de buren" = "burenruzie", "armoede bij
#: kinderen" = "kinderarmoede", "verzuim op school" = "schoolverzuim".
COMPOUND_PREPOSITIONS = frozenset({"met", "van", "op", "bij", "onder", "tussen", "in"})
_ARTICLES = frozenset({"de", "het", "een"})
#: Shortest head and modifier a compound is split into ("zorg" in "ouderenzorg").
MIN_HEAD = 4
MIN_MODIFIER = 3
#: Shortest question word the typo fallback (``LabelIndex.fuzzy``) reads as a label:
#: shorter words are too close to other real words ("gezien" / "gezin" at 6 letters).
FUZZY_MIN_LEN = 7


def _modifier_forms(word: str) -> list[str]:
    """How ``word`` is written as the first part of a compound: as is ("buren-ruzie",
    "jongeren-overlast"), without its plural ending ("kinder-armoede" from "kinderen"),
    each with and without the linking "s" ("geluid-s-overlast")."""
    bases = [word]
    if word.endswith("en") and len(word) - 2 >= MIN_MODIFIER:
        bases.append(word[:-2])
    if word.endswith("s") and len(word) - 1 >= MIN_MODIFIER:
        bases.append(word[:-1])
    return list(dict.fromkeys(f for b in bases for f in (b, b + "s")))


def _word_forms(part: str) -> list[str]:
    """Words a compound's first part may stand for: itself, without a linking "s" or
    "e", and with a plural ending ("jeugd", "geluids" -> "geluid", "kinder" -> "kinderen",
    "ouder" -> "ouderen")."""
    forms = [part]
    if part.endswith(("s", "e")) and len(part) - 1 >= MIN_MODIFIER:
        forms.append(part[:-1])
    forms += [part + "en", part + "eren", part + "s"]
    return forms


def _understood(
    vocab: Vocabulary, direct: list[tuple[str, str, bool, frozenset[int]]], n_tokens: int
) -> float:
    """``ParsedQuery.understood``: the share of the ``n_tokens`` content words inside a
    label of a named topic or target group (``direct``: IRI, surface, inner, content
    positions), or 0 when no topic concept is named. Actors and laws are context and do
    not count; a compound's modifier has a position of its own outside the words."""
    schemes = {iri: vocab[iri].scheme for iri, *_ in direct}
    if not n_tokens or not any(s in TOPIC_SCHEMES for s in schemes.values()):
        return 0.0
    covered = {
        p
        for iri, _, _, span in direct
        if schemes[iri] in TOPIC_SCHEMES or schemes[iri] == "target-groups"
        for p in span
        if 0 <= p < n_tokens
    }
    return len(covered) / n_tokens


def content_words(text: str) -> list[str]:
    """Folded words without stop words and stray letters."""
    return [w for w in words(text) if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())]


_indexes: dict[int, tuple[Vocabulary, LabelIndex]] = {}


def label_index(vocab: Vocabulary) -> LabelIndex:
    """The (cached) label index of ``vocab``; the vocabulary object is kept alive with it
    so its ``id`` cannot be reused by another one."""
    hit = _indexes.get(id(vocab))
    if hit is None or hit[0] is not vocab:
        if len(_indexes) > 8:
            _indexes.clear()
        hit = _indexes[id(vocab)] = (vocab, LabelIndex(vocab))
    return hit[1]


def parse_query(text: str, vocab: Vocabulary) -> ParsedQuery:
    """Validate, tokenise and expand ``text``; raises ``ValueError`` for bad input."""
    q = (text or "").strip()
    if not q:
        raise ValueError("q: the query is empty; type a few words, e.g. 'eenzaamheid ouderen'.")
    if len(q) > MAX_QUERY_CHARS:
        raise ValueError(
            f"q: the query has {len(q)} characters; shorten it to at most {MAX_QUERY_CHARS}."
        )
    every = words(q)
    tokens = content_words(q)
    stems = [stem(w) for w in tokens]
    parsed = ParsedQuery(text=q, words=every, stems=stems)
    index = label_index(vocab)

    # Whole-phrase labels first; the content words inside them are taken.
    kept = set(tokens)
    content_pos = {i: n for n, i in enumerate(i for i, w in enumerate(every) if w in kept)}
    taken: set[int] = set()
    direct: list[tuple[str, str, bool, frozenset[int]]] = []
    for iri, surface, span in index.match_phrases(every):
        inner = bool(span & taken)
        taken |= span
        at = frozenset(content_pos[i] for i in span if i in content_pos)
        direct.append((iri, surface, inner, at or frozenset({-1 - min(span)})))
    direct += index.match(tokens, {content_pos[i] for i in taken if i in content_pos})

    # Dutch compounds: a phrase the labels know as one word ("ruzie met de buren" ->
    # "burenruzie"), and a compound the labels do not know, through its parts.
    for iri, surface, head, mod in index.joined(every):
        at = frozenset(content_pos[i] for i in (head, mod) if i in content_pos)
        direct.append((iri, surface, False, at))
    for iri, surface, first, second in index.glued(every):
        at = frozenset(content_pos[i] for i in (first, second) if i in content_pos)
        direct.append((iri, surface, False, at))
    named = {p for *_, span in direct for p in span}
    for pos, word in enumerate(tokens):
        if pos in named or len(word) < MIN_MODIFIER + MIN_HEAD:
            continue
        for iri, part, role in index.split(word):
            # The modifier is its own part of the question (its own facet): a distinct
            # pseudo-position keeps it apart from the head's.
            at = frozenset({pos}) if role == "head" else frozenset({-1_000_000 - pos})
            direct.append((iri, part, True, at))

    # Typos: a long word that reached no concept at all is tried against the one-word
    # labels ("eenzaamhied"); a stop word or a word inside a named label never is.
    named = {p for *_, span in direct for p in span}
    common = common_words()
    for pos, word in enumerate(tokens):
        if pos in named or word in common:
            continue
        hit = index.fuzzy(word)
        if hit is None:
            continue
        label_word, iris = hit
        parsed.read_as.append((word, label_word))
        direct += [(iri, label_word, False, frozenset({pos})) for iri in sorted(iris)]

    parsed.understood = _understood(vocab, direct, len(tokens))

    # Facets: the smallest named parts of the question. "kinderen met overgewicht" names
    # "kinderen" and "overgewicht"; the compound concept answers both, each part alone one.
    spans = {span: surface for _, surface, _, span in direct}
    atoms = {sp: sf for sp, sf in spans.items() if not any(o < sp for o in spans)}

    def facets_of(span: frozenset[int], surface: str) -> tuple[str, ...]:
        return tuple(sorted(sf for sp, sf in atoms.items() if sp <= span)) or (surface,)

    def add(iri: str, via: str, surface: str, facets: tuple[str, ...], factor: float) -> None:
        c = vocab.get(iri)
        if c is None or c.scheme == "recognition":
            return
        w = WEIGHTS[via] * factor * SCHEME_FACTOR.get(c.scheme, 1.0)
        old = parsed.concepts.get(iri)
        if old is None or old.weight < w:
            parsed.concepts[iri] = MatchedConcept(
                iri, vocab.label(iri), c.scheme, w, via, surface, facets
            )

    # Facets named by a topic concept; a target group that names none of them is context.
    topic_facets = {
        f
        for iri, surface, _, span in direct
        if vocab[iri].scheme in TOPIC_SCHEMES
        for f in facets_of(span, surface)
    }

    def source_factor(iri: str, inner: bool, facets: tuple[str, ...]) -> float:
        factor = INNER_FACTOR if inner else 1.0
        if topic_facets and vocab[iri].scheme == "target-groups" and not topic_facets & set(facets):
            factor *= GROUP_WITH_TOPIC
        return factor

    for iri, surface, inner, span in direct:
        facets = facets_of(span, surface)
        add(iri, "label", surface, facets, source_factor(iri, inner, facets))
    for iri, surface, inner, span in direct:
        c = vocab[iri]
        facets = facets_of(span, surface)
        factor = source_factor(iri, inner, facets)
        near = vocab.expand(iri, broader=False, narrower=True, depth=1) - {iri}
        for n in near:
            add(n, "narrower", surface, facets, factor)
        for n in vocab.expand(iri, broader=False, narrower=True, depth=2) - near - {iri}:
            add(n, "narrower", surface, facets, factor * SECOND_STEP)
        if c.scheme not in NO_BROADER:
            for b in c.broader:
                add(b, "broader", surface, facets, factor)
        for r in c.related:
            add(r, "related", surface, facets, factor * RELATED_FROM.get(c.scheme, 1.0))
    return parsed
