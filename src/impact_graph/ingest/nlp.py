"""The NLP stage: a `Document` in, an `Extraction` (entities, relations, sentences) out.

No trained Dutch spaCy model is installable here, so the stage is deliberately rule
based and explainable: spaCy ``blank("nl")``/``blank("en")`` for tokens and sentences
(sentencizer plus a blank-line boundary rule; no lemmatizer, see `pipeline`),
PhraseMatchers fed from the SKOS vocabularies (ORTH for abbreviations, LOWER, and a
Snowball stem in NORM so
"statushouders", "ouderen" and "gezinnen" find their singular labels), regexes for how
Dutch texts name organisations, laws, goals and effects (``ingest.patterns``), and
section-aware rules for plans ("Met wie", "Werkzame elementen", "Middelen", ...).

Every entity passes through the `Resolver` (``ingest.resolve``), so "Utrecht (gemeente)"
and "Gemeente Utrecht" share one key and each merge says why. Every relation type is
checked against the ontology's schema, so the stage cannot invent relationship names.

`extract` is a pure function of its inputs: it opens no files and no database (the
vocabulary and the known entities are passed in; the spaCy pipelines and matchers are
built once per language and vocabulary and cached).

Effect directions are the direction of change of the named outcome: "vermindert
eenzaamheid" is ``"−"``, "verbetert het welbevinden" is ``"+"``, "geen effect op" is
``"0"``; a negation in the verb phrase ("leidt niet tot minder ...") makes it ``"0"``.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from impact_graph.ingest import patterns as P
from impact_graph.ingest.document import Document, Section
from impact_graph.ingest.extraction import (
    Entity,
    EntityRef,
    Extraction,
    Merge,
    Relation,
    Span,
    Status,
)
from impact_graph.ingest.kinds import kind_was_defaulted
from impact_graph.ingest.resolve import KnownEntities, Resolver, fold, normalise_name
from impact_graph.model import PropValue
from impact_graph.ontology import load_schema
from impact_graph.schema import Schema
from impact_graph.vocab import Concept, Vocabulary

if TYPE_CHECKING:  # spaCy is imported lazily: it pulls in thinc and torch (seconds).
    from spacy.language import Language
    from spacy.matcher import PhraseMatcher
    from spacy.tokens import Doc

__all__ = ["KnownEntities", "extract", "pipeline"]

#: The next name of a list after a plural organisation head: ", Wadstede" / " en Wadstede".
_NEXT_CONJUNCT = re.compile(rf"(?:,[ \t]*|[ \t]+(?:en|and)[ \t]+)(?P<name>{P.NAME_TIGHT})")
_SECOND_ORG = re.compile(
    r"\s+(?:van|voor)\s+(?:de\s+)?(?=(?:"
    + "|".join(re.escape(h) for h in P.ORG_HEADS)
    + r"|[A-Z][a-z]+(?:"
    + "|".join(P.ORG_HEAD_SUFFIXES)
    + r"))\b)"
)
#: Words an outcome phrase never starts with ("decreased from 6.1", "verbeteren door ...").
_NOT_OUTCOME_START = frozenset(
    [
        "from",
        "to",
        "by",
        "with",
        "than",
        "van",
        "naar",
        "door",
        "met",
        "dan",
        "tot",
        "om",
        "te",
        "dat",
        "die",
        "wanneer",
        "als",
        "when",
    ]
)
_NAME_LINKS = frozenset(["van", "de", "der", "den", "voor", "op", "het", "en", "team"])
_FIRST_BARE_VERB = next(
    i for i, (p, _) in enumerate(P.EFFECT_PATTERNS) if p.startswith("reduc(?:es|ed)")
)
_STEMMERS = {"nl": "dutch_porter", "en": "english"}
_DOUBLE_END = re.compile(r"([bcdfgklmnprstvz])\1$")
#: Derivational endings that make another word class from a noun ("gemeentelijk(e)",
#: "professioneel", "netwerkend") -- never an inflection of the noun itself.
_DERIVED_END = re.compile(
    r"(?:lijk|lijke|lijks|isch|ische|baar|bare|heid|ig|ige|eel|ele|end|ende)$"
)
#: What a Dutch or English plural adds to a singular ("en", "nen" in "gezinnen", "s").
_PLURAL_TAIL = re.compile(r"(?:[a-z]?en|eren|'?s|es|n|e)")
#: Actor-role concepts that name the people an intervention serves ("cliënt",
#: "deelnemer", "participant"): they are its target group, not a party to the work, so
#: a mention of them makes no Actor.
_SERVED_ROLES = frozenset({"client"})
#: Possessives of one person (and, in a story, "our"): what follows is family.
_POSSESSIVES = frozenset(
    {"mijn", "m'n", "haar", "zijn", "z'n", "je", "jouw", "uw"} | {"my", "her", "his", "your"}
)
_OUR = frozenset({"onze", "ons", "our"})
#: Prepositions before which a bare singular organisation word is an activity or a
#: place ("naar school", "op school", "in school"), not an organisation.
_BARE_PLACE_PREPS = frozenset({"naar", "op", "in", "uit", "van"})
#: Where a hedging sentence turns to another claim, for the same-sentence ADDRESSES rule: a
#: semicolon, or a contrast led by a comma (", maar", ", but", ", echter"); "maar ook" /
#: "but also" adds to the claim and is no turn. "klein maar consistent" (no comma) stays.
_CLAUSE_BREAK_RE = re.compile(
    r";|,\s*(?:maar|echter|but|however)\b(?!\s+(?:ook|also)\b)", re.IGNORECASE
)
#: A clause that withholds the claim: the effect was not studied, not shown, not
#: measurable, is unknown, or absent ("een direct effect op verzuim is niet onderzocht",
#: "geen effect gevonden", "not studied", "no evidence").
_HEDGE_RE = re.compile(
    r"\b(?:niet|nog\s+niet|nauwelijks|not|never)\s+(?:\w+\s+){0,2}?"
    r"(?:onderzocht|aangetoond|bewezen|gemeten|meten|meetbaar|vastgesteld|geëvalueerd|"
    r"bekend|duidelijk|studied|tested|proven|measured|shown|demonstrated|established|"
    r"evaluated|known)\b"
    r"|\b(?:geen|no)\s+(?:\w+\s+){0,2}?(?:effect\w*|bewijs|aanwijzing\w*|verschil\w*|"
    r"evidence|difference)\b"
    r"|\b(?:onbekend|onduidelijk|onbewezen|unknown|unclear|unproven)\b",
    re.IGNORECASE,
)
#: Words that make a hedged clause without a challenge of its own about the claim ("het
#: effect is niet onderzocht"), not about something beside it ("de kosten zijn onbekend")
#: or an outcome it names ("een effect op zorggebruik is niet gemeten").
_CLAIM_WORD_RE = re.compile(
    r"\b(?:effect\w*|werking|werkzaam\w*|resulta\w*|bewijs|impact|evidence|outcome\w*)\b"
    r"(?!\s+(?:op|on)\b)",
    re.IGNORECASE,
)
_lock = threading.Lock()
_normed: dict[int, set[int]] = {}  # per spaCy vocab: word forms whose NORM is the stem

# -------------------------------------------------------------------------------------
# spaCy pipelines and matchers (built once, cached)
# -------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _stemmer(lang: str) -> Any:
    """The Snowball stemmer; snowballstemmer hands out PyStemmer's C build of the same
    algorithm when it is installed (the nlp extra): stemming each new word form in pure
    Python was ~15% of extracting the demo corpus. tests/test_nlp.py checks both agree."""
    import snowballstemmer

    return snowballstemmer.stemmer(_STEMMERS.get(lang, "dutch_porter"))


@lru_cache(maxsize=200_000)
def stem(word: str, lang: str = "nl") -> str:
    """Snowball stem of a folded word, with Dutch final double consonants undone
    ("gezinnen" -> "gezinn" -> "gezin"), so plural and inflected forms meet their label."""
    s = _stemmer(lang).stemWord(fold(word))
    return _DOUBLE_END.sub(r"\1", s) if lang == "nl" else s


def _register_components() -> None:
    from spacy.language import Language

    if "impact_graph_blocks" not in Language.factories:

        @Language.component("impact_graph_blocks")
        def blocks(doc: Doc) -> Doc:
            """A blank line ends a sentence: headings, list items and table rows are
            blocks of their own, and the sentencizer alone would glue them together."""
            # Only whitespace tokens can hold a blank line: look at those alone.
            n = len(doc)
            for i in doc.to_array("IS_SPACE").nonzero()[0].tolist():
                if i + 1 < n and "\n\n" in doc[i].text and not doc[i + 1].is_space:
                    doc[i + 1].is_sent_start = True
            return doc

        @Language.component("impact_graph_norm")
        def norm(doc: Doc) -> Doc:
            """NORM = stem of the lower-case form: what the second PhraseMatcher compares.

            Not the lemma: the lookup lemmatizer turns verbs into infinitives whose stems
            meet nouns ("gefinancierd" -> "financieren" ~ "financier")."""
            # Set on the lexeme, once per word form: tokens inherit the lexeme's NORM.
            lang = doc.lang_
            vocab = doc.vocab
            seen = _normed.setdefault(id(vocab), set())
            for orth in set(doc.to_array("ORTH").tolist()) - seen:
                lex = vocab[orth]
                if lex.is_alpha:
                    lex.norm_ = stem(lex.lower_, lang)
                seen.add(orth)
            return doc


@lru_cache(maxsize=4)
def pipeline(lang: str) -> Language:
    """The spaCy pipeline of a language ("nl" for anything but English)."""
    import spacy

    _register_components()
    lang = "en" if lang == "en" else "nl"
    nlp = spacy.blank(lang)
    nlp.add_pipe("impact_graph_blocks")
    nlp.add_pipe("sentencizer")
    # No lemmatizer: no rule reads LEMMA (the matchers compare ORTH, LOWER and a stem in
    # NORM, see `impact_graph_norm`), and the lookup lemmatizer cost ~4% of extraction.
    nlp.add_pipe("impact_graph_norm")
    nlp.initialize()
    nlp.max_length = 5_000_000
    # Every new word form becomes a lexeme, and spaCy computes ~20 lexical attributes
    # for it in Python (shape, stop word, like_num, ...): ~25% of tokenising a new text.
    # Only these are read here -- ORTH/LOWER/NORM by the matchers, IS_ALPHA by the norm
    # component, IS_SPACE by the blocks component, IS_PUNCT by the sentencizer -- so
    # only these are computed; the others stay False/empty on this pipeline's tokens.
    from spacy import attrs

    keep = {attrs.LOWER, attrs.NORM, attrs.IS_ALPHA, attrs.IS_SPACE, attrs.IS_PUNCT, attrs.LANG}
    getters = nlp.vocab.lex_attr_getters
    nlp.vocab.lex_attr_getters = {k: f for k, f in getters.items() if k in keep}
    return nlp


@dataclass
class _Matchers:
    orth: PhraseMatcher
    lower: PhraseMatcher
    norm: PhraseMatcher
    iris: dict[str, list[str]]  # match id string -> concept IRIs
    terms: dict[str, str]  # match id string -> the label it was built from
    recognition: re.Pattern[str] | None  # exact recognition level strings
    org_heads: re.Pattern[str] | None  # organisation types from the actor-roles vocabulary


def _is_abbreviation(term: str) -> bool:
    """Short upper-case labels ("OM", "GGD", "POH-GGZ") that must match case-sensitively."""
    letters = [ch for ch in term if ch.isalpha()]
    return len(term) <= 8 and sum(ch.isupper() for ch in letters) >= max(2, len(letters) - 1)


def _terms(vocab: Vocabulary, lang: str) -> dict[str, list[str]]:
    """Surface label -> concept IRIs, case kept (`Vocabulary.terms` lower-cases them).

    Dutch texts get Dutch and English labels (they borrow "Housing First"), English
    texts English labels only.
    """
    out: dict[str, list[str]] = {}
    grouping = {
        t
        for sch in vocab.schemes.values()
        if sch.name == "actor-roles"
        for t in sch.top_concepts
        if not (vocab.concepts[t].alt_nl or vocab.concepts[t].alt_en)
    }
    for c in vocab.concepts.values():
        if c.iri in grouping:
            continue  # "persoonsrol", "organisatie": groupings, not things texts name
        labels = [c.pref_en, *c.alt_en] if lang == "en" else list(c.labels)
        for label in labels:
            label = " ".join(label.split())
            if label and c.iri not in out.setdefault(label, []):
                out[label].append(c.iri)
    return out


_matcher_cache: dict[tuple[str, int], tuple[Vocabulary | None, _Matchers]] = {}


def _matchers(lang: str, vocab: Vocabulary | None) -> _Matchers:
    """PhraseMatchers for a language and a vocabulary, cached per vocabulary object."""
    key = (lang, id(vocab))
    with _lock:
        hit = _matcher_cache.get(key)
        if hit is not None and hit[0] is vocab:
            return hit[1]
    from spacy.matcher import PhraseMatcher

    nlp = pipeline(lang)
    orth = PhraseMatcher(nlp.vocab, attr="ORTH")
    lower = PhraseMatcher(nlp.vocab, attr="LOWER")
    norm = PhraseMatcher(nlp.vocab, attr="NORM")
    iris: dict[str, list[str]] = {}
    terms: dict[str, str] = {}
    recognition = org_heads = None
    if vocab is not None:
        norm_comp = nlp.get_pipe("impact_graph_norm")
        stems: dict[tuple[str, ...], set[str]] = {}
        stem_docs: list[tuple[str, Doc]] = []
        for i, (term, term_iris) in enumerate(sorted(_terms(vocab, lang).items())):
            mid = f"t{i}"
            iris[mid] = term_iris
            terms[mid] = term
            if _is_abbreviation(term):
                # "OM", "GGD", "RCT": case-sensitive, or "om" and "rct" would match words.
                orth.add(mid, [nlp.make_doc(term)])
                continue
            lower.add(mid, [nlp.make_doc(term)])
            nd = norm_comp(nlp.make_doc(term))
            # Stems of short single words match too much; those match on LOWER only.
            if len(nd) > 1 or len(term) >= 6:
                stems.setdefault(tuple(t.norm_ for t in nd), set()).update(term_iris)
                stem_docs.append((mid, nd))
        for mid, nd in stem_docs:
            # A stem shared by labels of different concepts ("ouderen", "ouders" -> "ouder")
            # is ambiguous: only the exact forms match then.
            if len(stems[tuple(t.norm_ for t in nd)]) == 1:
                norm.add(mid, [nd])
        # Levels only (concepts under a scheme), never the scheme names themselves: "een
        # erkende interventie" names the ladder, not a rung of it.
        levels = sorted(
            {
                lab
                for c in vocab.concepts.values()
                if c.scheme == "recognition" and c.broader
                for lab in c.labels
            },
            key=len,
            reverse=True,
        )
        if levels:
            recognition = re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(x) for x in levels) + r")(?!\w)"
            )
        heads = sorted(
            {
                lab[:1].upper() + lab[1:]
                for c in vocab.concepts.values()
                if c.pg_label == "Actor" and c.kind == "organisation"
                for lab in (c.pref_nl, *c.alt_nl)
                if lab and " " not in lab and len(lab) > 2
            },
            key=len,
            reverse=True,
        )
        if heads:
            # A word's first letter is checked before the heads are tried there.
            first = "".join(sorted({c for h in heads for c in (h[0], h[0].lower())}))
            org_heads = re.compile(
                rf"\b(?=[{re.escape(first)}])(?P<head>"
                + "|".join(f"[{h[0]}{h[0].lower()}]{re.escape(h[1:])}" for h in heads)
                + rf")[ \t]+(?P<name>{P.NAME})"
            )
    built = _Matchers(orth, lower, norm, iris, terms, recognition, org_heads)
    with _lock:
        if len(_matcher_cache) > 8:
            _matcher_cache.clear()
        _matcher_cache[key] = (vocab, built)
    return built


def _same_word_class(surface: str, label: str) -> bool:
    """Whether a stem match is an inflection of the label, not another word built on it.

    The Snowball stem joins "gemeentelijke" with "gemeente" and "Research" with
    "researcher": an adjective, or a word the label extends by more than a plural ending,
    is no mention of the noun. So the last word may not carry a derivational suffix the
    label's last word lacks, and where it is shorter than the label's last word the rest
    must be a plural ending ("traject" for "trajecten", "gezin" for "gezinnen").
    """
    word = fold(surface.split()[-1]) if surface.split() else ""
    last = fold(label.split()[-1]) if label.split() else ""
    if len(word) < len(last) and not (
        last.startswith(word) and _PLURAL_TAIL.fullmatch(last[len(word) :])
    ):
        return False
    m = _DERIVED_END.search(word)
    return m is None or _DERIVED_END.search(last) is not None


def _is_plural_of(surface: str, c: Concept) -> bool:
    """Whether ``surface`` is a plural of one of the concept's labels ("leerkrachten")."""
    word = fold(surface)
    return any(
        word != fold(lab)
        and word.startswith(fold(lab))
        and _PLURAL_TAIL.fullmatch(word[len(fold(lab)) :]) is not None
        for lab in c.labels
    ) or any(word == fold(lab) and lab.endswith(("en", "s")) for lab in c.alt_nl)


def _names_one_person(surface: str, c: Concept) -> bool:
    """Whether a target-group match is the singular of the group's name ("kind",
    "volwassene", "mantelzorger" for "kinderen", "volwassenen", "mantelzorgers").

    A target group is named in the plural ("ouderen", "statushouders"); the singular
    speaks of one person ("Geen kind zit thuis", "een vaste volwassene", "Elke jongere
    krijgt een mentor"), which the plural mentions of the same text already cover.
    """
    words = fold(surface).split()
    if not words:
        return False
    for lab in c.labels:
        lw = fold(lab).split()
        if len(lw) == len(words) and lw[:-1] == words[:-1] and lw[-1] != words[-1]:
            last = lw[-1]
            if last.startswith(words[-1]) and _PLURAL_TAIL.fullmatch(last[len(words[-1]) :]):
                return True
    return False


def _actor_kind(vocab: Vocabulary, c: Concept) -> str:
    """``kind`` of an actor-role concept, inherited from its broader concepts."""
    seen: set[str] = set()
    todo = [c]
    while todo:
        cur = todo.pop(0)
        if cur.kind:
            return cur.kind
        seen.add(cur.iri)
        todo += [vocab.concepts[b] for b in cur.broader if b not in seen and b in vocab.concepts]
    return "person-role"


_groups_cache: dict[int, tuple[Vocabulary, dict[str, list[Concept]]]] = {}


def _groups_named_in(vocab: Vocabulary, challenge: Concept) -> list[Concept]:
    """Target-group concepts whose Dutch label is a whole-word part of the challenge's
    Dutch label ("arbeidsparticipatie statushouders" -> statushouders), in vocabulary
    order. Cached per vocabulary and challenge: the answer never changes, and testing
    every group label against every challenge of every document was ~2% of extraction."""
    hit = _groups_cache.get(id(vocab))
    if hit is None or hit[0] is not vocab:
        if len(_groups_cache) > 8:
            _groups_cache.clear()
        hit = _groups_cache[id(vocab)] = (vocab, {})
    found = hit[1].get(challenge.iri)
    if found is None:
        name = fold(challenge.pref_nl)
        found = [
            g
            for g in vocab.concepts.values()
            if g.pg_label == "TargetGroup"
            and g.pref_nl
            and g.iri != challenge.iri
            and re.search(rf"(?<!\w){re.escape(fold(g.pref_nl))}(?!\w)", name)
        ]
        hit[1][challenge.iri] = found
    return found


@lru_cache(maxsize=1)
def _schema() -> Schema:
    return load_schema()


# -------------------------------------------------------------------------------------
# helpers
# -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Cand:
    """A candidate entity mention before overlap resolution."""

    start: int
    end: int
    label: str
    priority: int  # breaks ties between equally long candidates
    rule: str
    concept: str | None = None
    props: dict[str, PropValue] = field(default_factory=dict)
    surface: str | None = None  # name to resolve, if not the covered text


@dataclass(slots=True)
class _Block:
    """A blank-line separated block of text (paragraph, heading, list item, table row)."""

    start: int
    end: int
    text: str

    @property
    def is_table_row(self) -> bool:
        return " | " in self.text

    @property
    def is_item(self) -> bool:
        """List items and table rows: short blocks that are not a lead-in ("...:")."""
        words = len(self.text.split())
        return self.is_table_row or (words <= 25 and not self.text.rstrip().endswith(":"))


def _blocks(text: str) -> list[_Block]:
    out: list[_Block] = []
    for m in re.finditer(r"[^\n]+(?:\n(?!\n)[^\n]*)*", text):
        raw = m.group(0)
        stripped = raw.strip()
        if stripped:
            s = m.start() + (len(raw) - len(raw.lstrip()))
            out.append(_Block(s, s + len(stripped), stripped))
    return out


def _section_role(heading: str) -> str | None:
    h = fold(heading).strip(" :?")
    for role, cues in P.SECTION_CUES.items():
        for cue in cues:
            if h == cue or h.startswith(cue + " ") or (len(cue) > 6 and cue in h):
                return role
    return None


def _doc_year(doc: Document) -> int | None:
    for key in ("year", "date", "published"):
        v = doc.meta.get(key)
        if v is None:
            continue
        m = P.YEAR_RE.search(str(v))
        if m:
            return int(m.group(0))
    m = re.search(r"(?im)^(?:year|jaar)\s*:\s*((?:19|20)\d\d)", doc.text[:1000])
    return int(m.group(1)) if m else None


def _title_is_a_guess(doc: Document) -> bool:
    """Whether a plan's title is too weak to name its programme: the kind was only
    defaulted (`kinds.kind_was_defaulted`) and the title is the reader's fallback -- the
    file name, or a plain-text file's first line -- not one the document marks as its
    title (front matter ``title``, a heading, a format's own title field).

    Why: "Windows.txt" with a few unrelated lines became a Programme "Windows" in the
    search facets, the network and the entity pages. A plan's title names its programme
    ("Programma-aanpak Wadstede Werkt Mee"), but a document that nothing says is a plan,
    titled by its file name, names nothing; its text may still name a programme
    ("het programma X"), which the text scan finds.
    """
    if not kind_was_defaulted(doc.kind_reason) or _meta_str(doc, "title"):
        return False
    title = doc.title.strip()
    if any(s.heading.strip() == title for s in doc.sections):
        return False
    if doc.format == "txt":
        return True  # plain text has no title markup: its title is a first line or the name
    # Lazy: the extractor needs only the readers' rule for a title from a file name.
    from impact_graph.ingest.readers._common import title_from_stem

    return title == title_from_stem(doc.path)


def _name_shaped(text: str) -> bool:
    """Whether a title reads as a proper name: at most six words, each capitalised, a
    number or a linking word ("Wijkkracht Zuid", "Iedereen op School"), not a sentence-case
    description ("Verslag werkbezoek buurtkamer")."""
    words = text.split()
    return (
        0 < len(words) <= 6
        and any(w[:1].isupper() for w in words)
        and all(w[:1].isupper() or w[:1].isdigit() or w.lower() in _NAME_LINKS for w in words)
    )


def _goal_text(sent: str) -> str:
    """A goal's own words: the sentence without a leading label or bullet ("Doel: in
    2028 ..." -> "In 2028 ...", see `patterns.GOAL_LABEL_RE`) and its final stop."""
    text = sent.strip().rstrip(".;")
    m = P.GOAL_LABEL_RE.match(text)
    if m and m.end() < len(text):
        text = text[m.end() :]
        text = text[:1].upper() + text[1:]
    return text


def _meta_str(doc: Document, *keys: str) -> str | None:
    return _field_str(doc.meta, *keys)


def _field_str(fields: Mapping[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` with a real string value (not empty, not "null"/"none")."""
    for k in keys:
        v = fields.get(k)
        if isinstance(v, str) and v.strip() and v.strip().lower() not in ("null", "none"):
            return v.strip()
    return None


def _meta_list(doc: Document, *keys: str) -> list[str]:
    out: list[str] = []
    for k in keys:
        v = doc.meta.get(k)
        if isinstance(v, str) and v.strip() and v.strip().lower() not in ("null", "none"):
            out += [x.strip() for x in re.split(r"[;,]", v) if x.strip()]
        elif isinstance(v, list):
            out += [str(x).strip() for x in v if x is not None and str(x).strip()]
    return out


def _split_list(text: str) -> list[tuple[int, str]]:
    """Split "a, b en c" / "a, b, and c" into (offset, item) pairs; a separator inside
    brackets does not split ("herstel (excuses, schadevergoeding), c" is two items)."""
    out: list[tuple[int, str]] = []
    pos = 0
    for m in re.finditer(
        r",\s*(?:en|and|of|or)\s+|,\s*|\s+(?:en|and)\s+(?=een\s|de\s|het\s|a\s|the\s)|;\s*", text
    ):
        if _depth(text, pos, m.start()) > 0:
            continue
        part = text[pos : m.start()]
        if part.strip():
            out.append((pos + len(part) - len(part.lstrip()), part.strip()))
        pos = m.end()
    rest = text[pos:]
    if rest.strip():
        out.append((pos + len(rest) - len(rest.lstrip()), rest.strip().rstrip(".;")))
    return out


#: Where the name part of a list item ends ("Warme overdracht. Wanneer ...", "X: ...").
_ITEM_HEAD = re.compile(r"(?<=[a-zà-ÿ)])\.\s|:\s|;\s|\s[—–]\s")


def _short_lead(text: str) -> bool:
    """A list item led by a short title sentence ("Warme overdracht. Wanneer ...")."""
    head = _ITEM_HEAD.split(text, maxsplit=1)
    return len(head) == 2 and len(head[0].split()) <= 6


def _trim_item(text: str) -> str:
    return text.strip().strip("•*-–—·").strip().rstrip(".;,:").strip()


def _depth(text: str, start: int, end: int) -> int:
    """How many round brackets opened in ``text[start:end]`` are still open at ``end``."""
    depth = 0
    for ch in text[start:end]:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
    return depth


def _trailing_parenthetical(surface: str) -> tuple[str, str] | None:
    """``(outside, inside)`` when ``surface`` ends with one balanced bracket group
    ("CooL (Coaching op Leefstijl)." -> ("CooL", "Coaching op Leefstijl")), else None."""
    text = surface.rstrip(" .,;:")
    if not text.endswith(")"):
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                outside, inside = text[:i].strip(), text[i + 1 : -1].strip()
                return (outside, inside) if outside and inside else None
    return None


def _abbreviates(short: str, full: str) -> bool:
    """Whether ``short`` reads as an abbreviation of ``full``: one token of 2-8
    characters with at least two capitals, starting with ``full``'s first letter and
    whose letters occur in ``full`` in order ("MST" of "Multisysteemtherapie", "CooL" of
    "Coaching op Leefstijl", "GLI" of "gecombineerde leefstijlinterventie")."""
    if not 2 <= len(short) <= 8 or not short.isalnum():
        return False
    if sum(ch.isupper() for ch in short) < 2:
        return False
    letters, target = fold(short), fold(full)
    if letters[:1] != target[:1]:
        return False
    pos = 0
    for ch in letters:
        pos = target.find(ch, pos) + 1
        if pos == 0:
            return False
    return True


def _partner_parts(text: str) -> tuple[str, str] | None:
    """``(name, role)`` of a partner list item, or None when it has no role.

    The first separator outside brackets ends the name ("X – rol", "X: rol", "X | rol");
    a bracket group that ends the name then qualifies it and goes with the role
    ("Basisscholen in Noord (zes scholen) – gezonde school" is Basisscholen in Noord,
    role "gezonde school (zes scholen)"), unless it is an abbreviation, which
    `Extractor.entity` keeps as an alias. Without such a separator the bracket group is
    the role ("Politie (wijkagent)").
    """
    for m in P.ROLE_SEP_RE.finditer(text):
        if m.group(0).endswith("(") or _depth(text, 0, m.start()) > 0:
            continue
        name, role = text[: m.start()], text[m.end() :].strip()
        split = _trailing_parenthetical(name)
        if split is not None and _name_and_alias(name)[1] is None:
            name, role = split[0], f"{role} ({split[1]})" if role else split[1]
        return name, role
    m = re.search(r"\s+\(", text)
    if m is None:
        return None
    return text[: m.start()], text[m.end() :].strip().rstrip(".;,").rstrip(")").strip()


def _name_and_alias(surface: str) -> tuple[str, str | None]:
    """The name to resolve and an alias, for a surface that ends in brackets.

    An abbreviation in brackets, or a name with its abbreviation in front, is an alias:
    "Multisysteemtherapie (MST)" is Multisysteemtherapie also known as MST, "CooL
    (Coaching op Leefstijl)" is CooL also known as Coaching op Leefstijl, so both merge
    with the plain mentions elsewhere. Any other bracket group is part of the name
    ("wijkwarmte (warmtenet op aquathermie)") and stays whole (see `_balanced`).
    """
    split = _trailing_parenthetical(surface)
    if split is None:
        return surface, None
    outside, inside = split
    if _abbreviates(inside, outside) or _abbreviates(outside, inside):
        return outside, inside
    return surface, None


#: Where the next coordinated claim of a sentence starts (for `_Run._magnitude`).
_NEXT_CLAUSE = re.compile(r"(?i)\s(?:en|maar|terwijl|and|but|while|whereas)\s|;")

#: Closing quote for an opening one, to close a quote the resolver's clean-up cut off.
_CLOSING_QUOTE = {'"': '"', "“": "”", "‘": "’", "'": "'"}


def _balanced(name: str) -> str:
    """``name`` with the closing brackets the resolver's clean-up took off its end.

    `resolve.clean_surface` strips brackets and quotes from both ends of a surface,
    which cut "Langdurige inzet (minimaal vier jaar)" to "Langdurige inzet (minimaal
    vier jaar" (and registers that form, so later mentions resolve to it too): every
    resolved name that opens more brackets than it closes is closed again, a quote that
    opens the bracket group too ('afspraken ("we vertrouwen elkaar")'). It depends on
    the name alone, so every mention of one entity gets the same key."""
    missing = name.count("(") - name.count(")")
    if missing <= 0:
        return name
    inner = name[name.rfind("(") + 1 :]
    close = _CLOSING_QUOTE.get(inner[:1], "")
    if close and inner.count(close) >= (2 if close == inner[:1] else 1):
        close = ""  # the quote is closed already
    return name + close + ")" * missing


# -------------------------------------------------------------------------------------
# the extraction run
# -------------------------------------------------------------------------------------


class _Run:
    """All state of one `extract` call; methods are the rules, in the order they run."""

    def __init__(self, doc: Document, vocab: Vocabulary | None, known: KnownEntities | None):
        self.doc = doc
        self.text = doc.text
        self.vocab = vocab
        self.lang = "en" if doc.language == "en" else "nl"
        self.schema = _schema()
        self.resolver = Resolver(vocab, known)
        self.ext = Extraction(document=doc)
        self.year = _doc_year(doc)
        self.blocks = _blocks(doc.text)
        self.programme: EntityRef | None = None
        self.value_hits: list[tuple[int, int, Concept]] = []  # evidence types, outcomes
        self.mentions: list[tuple[int, int, EntityRef]] = []  # selected mention spans
        self.zones: list[tuple[str, int, int, str]] = []  # (role, start, end, heading)
        self._sorted: list[tuple[int, int, EntityRef]] = []
        self._starts: list[int] = []
        self._rels: dict[tuple[EntityRef, str, EntityRef], Relation] = {}
        self.main_override: EntityRef | None = None  # from a research record's fields
        # recognition level per rated intervention (see `_recognition`)
        self.ratings: dict[EntityRef, dict[str, PropValue]] = {}
        self._sample: str | None = None  # the sample size text (see `_evidence`)
        self._wrap: int | None = None  # the text's longest line (see `_name_to_line_end`)

    # -- entity and relation plumbing ---------------------------------------------------

    def entity(
        self,
        label: str,
        surface: str,
        span: Span | None,
        status: Status,
        rule: str,
        concept: str | None = None,
        props: dict[str, PropValue] | None = None,
    ) -> EntityRef:
        name, alias = _name_and_alias(surface) if "(" in surface else (surface, None)
        res = self.resolver.match(label, name)
        if alias is not None:  # later mentions of the alias are this entity too
            self.resolver.add(label, res.key, res.name, (alias,))
        if res.concept is None and "(" in res.key + res.name:
            res.key, res.name = _balanced(res.key), _balanced(res.name)
        if res.concept is not None:
            concept = res.concept.iri
            if status == "candidate":
                status = "vocabulary"
        elif status == "vocabulary" and concept and self.vocab is not None:
            # A stem match ("gezinnen") of a concept label: the concept's key, not the form.
            c = self.vocab.concepts[concept]
            res.key = res.name = c.pref_nl or c.pref_en
            res.merge.rule, res.merge.score = "stem", 1.0
            self.resolver.add(label, res.key, res.name, (surface,))
        ent = Entity(
            label=label,
            key=res.key,
            name=res.name,
            status=status,
            rule=rule,
            concept=concept,
            mentions=[span] if span else [],
            props=dict(props or {}),
            merges=[res.merge] if alias is None else [res.merge, Merge(alias, "abbreviation")],
        )
        stored = self.ext.add_entity(ent)
        if span:
            self.mentions.append((span[0], span[1], stored.ref))
        return stored.ref

    def rel(
        self,
        src: EntityRef | None,
        type_: str,
        dst: EntityRef | None,
        rule: str,
        spans: Iterable[Span] = (),
        props: dict[str, PropValue] | None = None,
    ) -> None:
        """Add a relation after checking it against the ontology (type and end points)."""
        if src is None or dst is None or src == dst:
            return
        rt = self.schema.rel_type(type_)  # KeyError names the known types
        if src[0] not in rt.domain and "*" not in rt.domain:
            raise ValueError(f"{type_} may not start at {src[0]} (allowed: {rt.domain})")
        if dst[0] not in rt.range and "*" not in rt.range:
            raise ValueError(f"{type_} may not end at {dst[0]} (allowed: {rt.range})")
        if rt.symmetric and src > dst:
            src, dst = dst, src
        have = self._rels.get((src, type_, dst))
        if have is not None:  # as Extraction.add_relation, without its linear scan
            have.spans.extend(sp for sp in spans if sp not in have.spans)
            for k, v in (props or {}).items():
                have.props.setdefault(k, v)
            return
        rel = Relation(
            src=src, type=type_, dst=dst, rule=rule, spans=list(spans), props=dict(props or {})
        )
        self._rels[(src, type_, dst)] = rel
        self.ext.relations.append(rel)

    def named_org(self, ref: EntityRef) -> bool:
        """A named organisation ("Zorgverzekeraar Zilverzee", "Openbaar Ministerie"), not a
        type of organisation ("welzijnsorganisatie"): only those take part, fund, deliver."""
        ent = self.ext.entities[ref]
        if ref[0] != "Actor" or ent.props.get("kind") != "organisation":
            return False
        return not (ent.status == "vocabulary" and ent.name[:1].islower())

    def _sorted_mentions(self, start: int, end: int) -> list[tuple[int, int, EntityRef]]:
        """Mentions starting in [start, end), from a sorted copy rebuilt only on change."""
        if len(self._sorted) != len(self.mentions):
            self._sorted = sorted(self.mentions)
            self._starts = [m[0] for m in self._sorted]
        lo = bisect.bisect_left(self._starts, start)
        hi = bisect.bisect_left(self._starts, end)
        return self._sorted[lo:hi]

    def refs_in(self, start: int, end: int, *labels: str) -> list[EntityRef]:
        """Entities (of ``labels``) with a mention inside [start, end), in text order."""
        out: list[EntityRef] = []
        for _s, e, ref in self._sorted_mentions(start, end):
            if e <= end and (not labels or ref[0] in labels) and ref not in out:
                out.append(ref)
        return out

    def refs_by_label(self, start: int, end: int) -> dict[str, list[EntityRef]]:
        """`refs_in` for every label at once: one pass over the span's mentions."""
        out: dict[str, list[EntityRef]] = {}
        for _s, e, ref in self._sorted_mentions(start, end):
            if e <= end:
                refs = out.setdefault(ref[0], [])
                if ref not in refs:
                    refs.append(ref)
        return out

    def mentions_in(self, start: int, end: int, *labels: str) -> list[tuple[int, int, EntityRef]]:
        return [m for m in self._sorted_mentions(start, end) if m[1] <= end and m[2][0] in labels]

    def sentences(self) -> Iterator[tuple[int, int, str]]:
        for s, e in self.ext.sentences:
            yield s, e, self.text[s:e]

    def zone_at(self, offset: int) -> tuple[str, int, int, str] | None:
        best = None
        for z in self.zones:
            if z[1] <= offset < z[2] and (best is None or z[1] >= best[1]):
                best = z
        return best

    # -- 1. tokens, sentences, mentions -------------------------------------------------

    def run(self) -> Extraction:
        nlp = pipeline(self.lang)
        sdoc = nlp(self.text)
        text = self.text
        for sent in sdoc.sents:
            # Offsets and a slice of the text (spaCy keeps it whole), not ``sent.text``:
            # that builds a Token object per word, ~10% of extraction.
            start = sent.start_char
            span = text[start : sent.end_char]
            lead = len(span) - len(span.lstrip())
            s, e = start + lead, start + len(span.rstrip())
            if e > s:
                self.ext.sentences.append((s, e))
        self.find_mentions(sdoc)
        self.metadata()
        self._corefer_orgs()
        self.find_zones()
        self.section_rules()
        self.sentence_rules()
        self.evidence_rules()
        self.finish()
        return self.ext

    def find_mentions(self, sdoc: Doc) -> None:
        cands: list[_Cand] = []
        if self.vocab is not None:
            m = _matchers(self.lang, self.vocab)
            seen: set[tuple[int, int, str]] = set()
            if len(sdoc):
                starts, lengths = sdoc.to_array(["IDX", "LENGTH"]).T.tolist()
            keys: dict[int, str] = {}
            for matcher, prio, rule in (
                (m.orth, 5, "phrase:exact"),
                (m.lower, 4, "phrase:lower"),
                (m.norm, 3, "phrase:stem"),
            ):
                for mid, ts, te in matcher(sdoc):
                    # Character offsets as Span.start_char/end_char give them, from
                    # arrays: no Span or Token object per match.
                    s, e = starts[ts], starts[te - 1] + lengths[te - 1]
                    surface = self.text[s:e]  # = span.text
                    key = keys.get(mid) or keys.setdefault(mid, sdoc.vocab.strings[mid])
                    if rule == "phrase:stem" and not _same_word_class(surface, m.terms[key]):
                        continue
                    for iri in m.iris[key]:
                        if (s, e, iri) in seen:
                            continue
                        seen.add((s, e, iri))
                        c = self.vocab.concepts[iri]
                        if c.pg_label is None:
                            self.value_hits.append((s, e, c))
                            continue
                        if c.pg_label == "TargetGroup" and (
                            _names_one_person(surface, c) or self._relatives(sdoc, ts)
                        ):
                            continue
                        props: dict[str, PropValue] = {}
                        if c.pg_label == "Actor":
                            if not self._stakeholder_mention(c, sdoc, ts, te):
                                continue
                            props["kind"] = _actor_kind(self.vocab, c)
                        cands.append(_Cand(s, e, c.pg_label, prio, rule, iri, props))
            if m.org_heads is not None:
                for mt in m.org_heads.finditer(self.text):
                    plural = self._plural_org_head(mt)
                    if plural is None:
                        cands.append(self._org(mt.start(), mt.end(), "org:actor-role"))
                    else:
                        cands += plural
        cands += self.pattern_candidates()
        # Longest wins; on equal length the higher priority; earlier first.
        cands.sort(key=lambda c: (-(c.end - c.start), -c.priority, c.start))
        taken: list[tuple[int, int]] = []
        chosen: list[_Cand] = []
        # Overlap tests in C instead of a scan of every taken span per candidate (that
        # scan was quadratic): ``covered`` marks the characters of taken spans, ``points``
        # holds empty ones, ``kept`` the (start, end, priority) of chosen candidates.
        covered = bytearray(len(self.text) + 1)
        points: list[int] = []
        kept: set[tuple[int, int, int]] = set()
        for c in cands:
            if c.start < c.end:
                overlaps = covered.find(1, c.start, c.end) != -1 or any(
                    c.start < p < c.end for p in points
                )
            else:  # an empty candidate overlaps a span strictly around it
                overlaps = any(s < c.start < e for s, e in taken)
            # On overlap, only the same span naming another concept survives (ambiguous term).
            if overlaps and not (c.concept and (c.start, c.end, c.priority) in kept):
                continue
            taken.append((c.start, c.end))
            chosen.append(c)
            kept.add((c.start, c.end, c.priority))
            if c.start < c.end:
                covered[c.start : c.end] = b"\x01" * (c.end - c.start)
            else:
                points.append(c.start)
        for c in sorted(chosen, key=lambda c: c.start):
            surface = c.surface or self.text[c.start : c.end]
            status: Status = "vocabulary" if c.concept else "candidate"
            props = {k: v for k, v in c.props.items() if not k.startswith("_")}
            ref = self.entity(c.label, surface, (c.start, c.end), status, c.rule, c.concept, props)
            ent = self.ext.entities[ref]
            if ent.concept is None and c.props.get("_type"):
                # A named organisation points at its type ("GGD X" -> the concept GGD).
                ent.concept = str(c.props["_type"])
            if c.props.get("area"):
                self.entity(
                    "Area",
                    str(c.props["area"]),
                    (c.end - len(str(c.props["area"])), c.end),
                    "candidate",
                    c.rule,
                    props={"kind": "gemeente"},
                )

    def _relatives(self, sdoc: Doc, ts: int) -> bool:
        """Whether a target-group word follows a possessive: "mijn ouders", "haar
        kinderen" (in a story also "onze kinderen") are someone's relatives, not a group
        a programme targets. "hun ouders" (the parents of the pupils) and a policy
        text's "onze 65-plussers" (the town's) still are groups."""
        if ts == 0:
            return False
        prev = sdoc[ts - 1].lower_
        return prev in _POSSESSIVES or (self.doc.kind == "story" and prev in _OUR)

    def _stakeholder_mention(self, c: Concept, sdoc: Doc, ts: int, te: int) -> bool:
        """Whether a vocabulary match of an actor role names a party in the text.

        Not so: the people served (`_SERVED_ROLES`); an umbrella role that has narrower
        ones ("professionals", "netwerk": a category, the text names the specific role
        where a party acts); and a bare organisation word used for an activity or place
        ("naar school", "op school")."""
        if c.slug in _SERVED_ROLES or c.narrower:
            return False
        if te - ts == 1 and ts > 0 and c.kind == "organisation":
            prev = sdoc[ts - 1].lower_
            if prev in _BARE_PLACE_PREPS and not sdoc[ts].lower_.endswith("en"):
                return False
        return True

    def _name_to_line_end(self, start: int, name: str) -> str:
        """``name`` (found at ``start``) up to a line break that ends its line for real.

        Name patterns read one line break as a blank, since hard-wrapped text (PDF,
        wrapped Markdown) breaks lines inside names. A break is a wrap only when the next
        word would not have fitted on the line: "Gemeente Lindenhoven" followed by the
        line "Onderwerp: ..." is a letter's header line, not the name "Lindenhoven
        Onderwerp". The width is the text's longest line; PDFs get 15% slack for
        proportional fonts (a line of wide letters holds fewer characters). Plain text
        gets none: the demo story's header line (72 characters after pseudonymisation,
        plus "Verkenning", in a text wrapped at 94) was read as wrapped with it.
        """
        if "\n" not in name:
            return name
        if self._wrap is None:
            self._wrap = max((len(line) for line in self.text.split("\n")), default=0)
        for m in re.finditer(r"[ \t]*\n[ \t]*", name):
            line_start = self.text.rfind("\n", 0, start + m.start()) + 1
            used = start + m.start() - line_start
            next_word = name[m.end() :].split(None, 1)[0]
            if used + 1 + len(next_word) <= (0.85 if self.doc.format == "pdf" else 1) * self._wrap:
                return name[: m.start()]
        return name

    def _plural_org_head(self, mt: re.Match[str]) -> list[_Cand] | None:
        """One organisation per name after a plural head ("gemeenten Bergveld en Wadstede"),
        each under the singular head ("gemeente Bergveld", "gemeente Wadstede"); None for a
        singular head.

        The plural is an alternative label of the organisation type, so the head pattern
        finds it; kept as written, "gemeenten Bergveld" became an Actor of its own and,
        fuzzy-equal to "gemeente Bergveld", that Actor's alias in the graph.
        """
        head = mt["head"]
        concept = self.resolver.concept("Actor", head)
        if concept is None or not concept.pref_nl:
            return None
        word, sing = fold(head), fold(concept.pref_nl)
        if word == sing or word[len(sing) :] not in ("n", "en", "s") or not word.startswith(sing):
            return None
        out = [self._org(mt.start(), mt.end(), "org:actor-role", f"{concept.pref_nl} {mt['name']}")]
        pos = mt.end()
        while nxt := _NEXT_CONJUNCT.match(self.text, pos):
            out.append(
                self._org(
                    nxt.start("name"),
                    nxt.end("name"),
                    "org:actor-role",
                    f"{concept.pref_nl} {nxt['name']}",
                )
            )
            pos = nxt.end()
        return out

    def _org(self, start: int, end: int, rule: str, surface: str | None = None) -> _Cand:
        if surface is None:
            end = start + len(self._name_to_line_end(start, self.text[start:end]))
        text = surface or self.text[start:end]
        # "lectoraat X van Hogeschool Y": two organisations, cut before the second.
        cut = _SECOND_ORG.search(text)
        if cut:
            text = text[: cut.start()]
            end = start + len(text)
        props: dict[str, PropValue] = {"kind": "organisation"}
        head = re.split(r"[ \t]+", text, maxsplit=1)[0]
        type_concept = self.resolver.concept("Actor", head)
        if type_concept is None and " " in text:
            type_concept = self.resolver.concept("Actor", text.rsplit(" ", 1)[-1])
        if type_concept is not None and type_concept.scheme == "actor-roles":
            props["_type"] = type_concept.iri
        if text.lower().startswith("gemeente "):
            props["area"] = text[9:].strip()
        if re.match(r"(?i)basisteam\s", text):
            # Every basisteam is a team of the national police: "Politie, basisteam X".
            surface = "Politie, basisteam " + text.split(None, 1)[1]
        return _Cand(start, end, "Actor", 2, rule, None, props, surface or text)

    def _role_candidates(self) -> list[_Cand]:
        """Aldermen by portfolio ("wethouder zorg en welzijn"): one person-role per
        portfolio, typed as the policy-maker concept the bare word "wethouder" names."""
        out: list[_Cand] = []
        type_iri = None
        c = self.resolver.concept("Actor", "wethouder")
        if c is not None:
            type_iri = c.iri
        for m in P.WETHOUDER_RE.finditer(self.text):
            portfolio = m.group("portfolio") or m.group("portfolio2")
            if not portfolio or fold(portfolio.split()[0].rstrip(",")) in P.NOT_PORTFOLIO:
                continue
            props: dict[str, PropValue] = {"kind": "person-role"}
            if type_iri:
                props["_type"] = type_iri
            end = m.end() if m.group("portfolio2") else m.start("portfolio") + len(portfolio)
            out.append(
                _Cand(
                    m.start(),
                    end,
                    "Actor",
                    2,
                    "role:wethouder",
                    props=props,
                    surface=f"wethouder {portfolio}",
                )
            )
        return out

    def _corefer_orgs(self) -> None:
        """Resolve short references to the organisation the document names in full.

        Dutch texts name an organisation once ("Gemeente Wadstede", "Politie, basisteam
        Lindenhoven-Noord", "Stichting Welzijn Wadstede") and then refer to it as "de
        gemeente", "basisteam Lindenhoven-Noord" or "Welzijn Wadstede". Without this
        every short form becomes an Actor of its own (a generic "gemeente" in every plan).
        Two rules, both only when exactly one named organisation fits:

        * a named organisation whose name is the tail of another one's ("basisteam X" of
          "Politie, basisteam X") is that one;
        * a bare type word ("gemeente", "GGD", "bibliotheek") that is the head word of
          a named organisation ("Gemeente X") refers to it.
        """
        ents = self.ext.entities
        town = _meta_str(self.doc, "gemeente", "municipality")
        # The front matter names the municipality the document is about: "de gemeente" in
        # it is that one ("Gemeente Wadstede"), as a reader understands it.
        if (
            town
            and not any(
                r[0] == "Actor" and fold(e.name).startswith("gemeente ") for r, e in ents.items()
            )
            and any(
                fold(self.text[a:b]) == "gemeente"
                for r, e in ents.items()
                if r[0] == "Actor" and e.status == "vocabulary"
                for a, b in e.mentions
            )
        ):
            self.entity(
                "Actor",
                f"Gemeente {town}",
                None,
                "candidate",
                "meta:gemeente",
                props={"kind": "organisation"},
            )
        named = [
            r
            for r, e in ents.items()
            if r[0] == "Actor"
            and e.status in ("candidate", "metadata")
            and e.props.get("kind") == "organisation"
        ]
        if not named:
            return
        norms = {r: normalise_name(ents[r].name) for r in named}
        redirect: dict[tuple[EntityRef, Span], EntityRef] = {}
        for a in named:
            na = norms[a]
            longer = [b for b in named if b != a and norms[b].endswith(" " + na)]
            if len(na.split()) >= 2 and len(longer) == 1:
                for sp in ents[a].mentions:
                    redirect[(a, sp)] = longer[0]
        heads: dict[str, set[EntityRef]] = {}
        for b in named:
            if any(k[0] == b for k in redirect):
                continue
            head = fold(ents[b].name.split()[0].rstrip(","))
            heads.setdefault(head, set()).add(b)
        for r, e in ents.items():
            if r[0] != "Actor" or e.status != "vocabulary" or e.props.get("kind") != "organisation":
                continue
            for sp in e.mentions:
                targets = heads.get(fold(self.text[sp[0] : sp[1]]), set())
                if len(targets) == 1:
                    redirect[(r, sp)] = next(iter(targets))
        if not redirect:
            return
        for (src, sp), dst in redirect.items():
            ents[src].mentions.remove(sp)
            if sp not in ents[dst].mentions:
                ents[dst].mentions.append(sp)
            # A shorter name ("basisteam X" of "Politie, basisteam X") is another name
            # of it; a bare type word ("gemeente", "GGD") is not: a merge's surface
            # becomes an alias (the store's, and the next documents' known names), and
            # "gemeente" was listed as an alias of every municipality.
            if ents[src].status != "vocabulary":  # the tail rule; type words are concepts
                ents[dst].merges.append(Merge(self.text[sp[0] : sp[1]], "coreference", 1.0))
        self.mentions = [(s, e, redirect.get((ref, (s, e)), ref)) for s, e, ref in self.mentions]
        for src in {k[0] for k in redirect}:
            if not ents[src].mentions:
                del ents[src]

    def pattern_candidates(self) -> list[_Cand]:
        t = self.text
        out: list[_Cand] = []
        for rx, rule in (
            (P.ORG_HEAD_RE, "org:head"),
            (P.ORG_WELZIJN_RE, "org:welzijn"),
            (P.ORG_COMPOUND_RE, "org:compound"),
            (P.ORG_TAIL_RE, "org:tail"),
            (P.UNIVERSITY_RE, "org:university"),
        ):
            if not P.may_match(rx, t):
                continue
            for m in rx.finditer(t):
                name = m.groupdict().get("name") or ""
                first = name.split(" ")[0] if name else ""
                if name and fold(first) in P.NOT_NAMES and " " not in name:
                    continue
                out.append(self._org(m.start(), m.end(), rule))
        for m in P.ORG_PREFIX_RE.finditer(t):
            out.append(self._org(m.start(), m.end(), "org:compound-prefix"))
        for m in P.POLICE_RE.finditer(t):
            out.append(self._org(m.start(), m.end(), "org:police"))
        for m in P.KNOWN_ORG_RE.finditer(t):
            out.append(self._org(m.start(), m.end(), "org:known"))
        out += self._role_candidates()
        for m in P.TITLED_INTERVENTION_RE.finditer(t):
            # 'de training "Signaleren van eenzaamheid"': the course by its title.
            out.append(
                _Cand(
                    m.start(),
                    m.end(),
                    "Intervention",
                    2,
                    "intervention:titled",
                    surface=f"{m.group('head').lower()} {m.group('title').strip()}",
                )
            )
        for m in P.AGE_GROUP_RE.finditer(t):
            # "vrouwen van 55 jaar en ouder": a group defined by age.
            out.append(
                _Cand(
                    m.start(),
                    m.end(),
                    "TargetGroup",
                    1,
                    "target-group:age",
                    surface=m.group(0).lower(),
                )
            )
        for m in P.GEMEENTE_PAREN_RE.finditer(t) if P.may_match(P.GEMEENTE_PAREN_RE, t) else ():
            out.append(self._org(m.start(), m.end(), "org:gemeente-paren"))
        for m in P.WIJK_RE.finditer(t):
            out.append(
                _Cand(
                    m.start("name"), m.end("name"), "Area", 1, "area:wijk", props={"kind": "wijk"}
                )
            )
        for m in P.IN_GEMEENTE_RE.finditer(t) if P.may_match(P.IN_GEMEENTE_RE, t) else ():
            g = "name" if m.group("name") else "name_en"
            out.append(
                _Cand(m.start(g), m.end(g), "Area", 1, "area:gemeente", props={"kind": "gemeente"})
            )
        for m in P.LAW_RE.finditer(t):
            law = m.group("law")
            if law in P.NOT_LAWS:
                continue
            props: dict[str, PropValue] = {}
            if m.group("article"):
                props["description"] = f"artikel {m.group('article')}"
            out.append(
                _Cand(m.start("law"), m.end("law"), "LegalBasis", 1, "law:pattern", props=props)
            )
        return out

    # -- 2. front matter and record fields ----------------------------------------------

    def metadata(self) -> None:
        doc = self.doc
        name = _meta_str(doc, "programme", "programma", "program")
        rule = "meta:programme"
        if name is None:
            m = P.PROGRAMME_RE.search(doc.title)
            if m:
                name, rule = m.group("name"), "title:programme"
            elif doc.kind == "plan" and not _title_is_a_guess(doc):
                name = re.split(r"\s+[–—-]\s+|:\s+", doc.title)[0]
                name = re.sub(
                    r"(?i)^(programma-?aanpak|programma|reisverslag|opdracht|foto)\s+", "", name
                )
                # "Reisverslag Wadstede Werkt Mee 2025": the year dates the document; the
                # programme is the same one its plan names ("Wadstede Werkt Mee").
                name = re.sub(r"\s+(?:19|20)\d\d(?:\s*[-–]\s*(?:19|20)?\d\d)?$", "", name)
                rule = "title"
                if (
                    kind_was_defaulted(doc.kind_reason)
                    and not _name_shaped(name)
                    and not self.resolver.knows("Programme", name)
                ):
                    # Nothing says this is a plan (an uploaded note, say): its heading
                    # ("Verslag werkbezoek buurtkamer Samen Minder Alleen") is a title,
                    # not a programme's name, unless it reads as a name or is one known.
                    name = None
        if name:
            self.programme = self.entity("Programme", name, None, "metadata", rule)
            self._mention_name(self.programme, name)
        if self.programme is None:
            for m in P.PROGRAMME_RE.finditer(self.text):
                found = self._name_to_line_end(m.start("name"), m.group("name"))
                if self._concept_of_other_class(found, "Programme"):
                    continue  # "het programma De Gezonde Schoolkantine": an intervention
                ref = self.entity(
                    "Programme",
                    found,
                    (m.start("name"), m.start("name") + len(found)),
                    "candidate",
                    "pattern:programme",
                )
                self.programme = self.programme or ref
        area = _meta_str(doc, "area", "gemeente", "municipality")
        if area:
            aref = self.entity(
                "Area", area, None, "metadata", "meta:area", props={"kind": "gemeente"}
            )
            self._mention_name(aref, area)
            self.rel(self.programme, "IN_AREA", aref, "meta:area")
        for theme in _meta_list(doc, "themes", "theme", "challenge", "challenges"):
            self._meta_concept(theme, "Challenge")
        for group in _meta_list(doc, "target_groups", "doelgroepen", "doelgroep"):
            self._meta_concept(group, "TargetGroup")
        for author in _meta_list(doc, "authors", "author", "auteurs"):
            self._author(author)
        self._research_record()

    def _mention_name(self, ref: EntityRef, name: str) -> None:
        """Add the plain occurrences of a metadata name as mentions of its entity."""
        if len(name) < 3:
            return
        ent = self.ext.entities[ref]
        # Other entities' spans by start, with the furthest end up to each: a match lies
        # inside one of them when the furthest end of those starting at or before it
        # reaches its end. (A scan of every mention per match was ~5% of extracting a
        # generated plan, whose place name occurs a few dozen times.)
        others = sorted((s, e) for s, e, r in self.mentions if r != ref)
        starts = [s for s, _ in others]
        reach: list[int] = []
        for _, e in others:
            reach.append(max(e, reach[-1]) if reach else e)
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", self.text, re.IGNORECASE):
            span = (m.start(), m.end())
            i = bisect.bisect_right(starts, span[0])
            if i and reach[i - 1] >= span[1]:
                continue  # inside another entity's name ("Stichting Welzijn Wadstede")
            if span not in ent.mentions:
                ent.mentions.append(span)
                self.mentions.append((span[0], span[1], ref))

    def _meta_concept(self, term: str, label: str) -> list[EntityRef]:
        """A front-matter theme (a Challenge) or target group (a TargetGroup) concept;
        free text is skipped. Only the field's own class: the theme "thuiszitters" is
        the challenge of school absence, not a statement that pupils are targeted."""
        refs: list[EntityRef] = []
        if self.vocab is None:
            return refs
        for c in self.vocab.lookup(term):
            if c.pg_label == label:
                ref = self.entity(c.pg_label, term, None, "metadata", "meta:themes", c.iri)
                refs.append(ref)
                rel = "ADDRESSES" if c.pg_label == "Challenge" else "TARGETS"
                self.rel(self.programme, rel, ref, "meta:themes")
        return refs

    def _author(self, author: str) -> None:
        """An author that is a named organisation ("Gemeente Bergveld"; "Team Werk en
        Inkomen, gemeente Wadstede" -> its last part) is an Actor: it made the plan.

        People and teams named as authors are bibliographic data about the document (kept
        in its metadata), not stakeholders the text speaks of, so they are no Actors.
        """
        if re.match(r"(?i)^persoon-", author):
            return
        for part in reversed([p.strip() for p in author.split(",")]):
            if part and any(
                rx.fullmatch(part) for rx in (P.ORG_HEAD_RE, P.ORG_COMPOUND_RE, P.KNOWN_ORG_RE)
            ):
                ref = self.entity(
                    "Actor", part, None, "metadata", "meta:authors", props={"kind": "organisation"}
                )
                self._mention_name(ref, part)
                return

    def _research_record(self) -> None:
        """Structured research fields (intervention, design, outcome, ...) used directly."""
        doc = self.doc
        iv = _meta_str(doc, "intervention", "interventie")
        if iv is None:
            return
        iref = self.entity("Intervention", iv, None, "metadata", "meta:intervention")
        self._mention_name(iref, iv)
        self.main_override = iref
        design = _meta_str(doc, "design", "study_design", "opzet")
        items = doc.meta.get("outcomes")
        if isinstance(items, list) and all(isinstance(i, dict) for i in items):
            # One Effect per outcome of a record's list (the records reader's items).
            for item in items:
                self._meta_effect(iref, item)
        else:
            self._meta_effect(iref, doc.meta)
        if design:
            self._evidence(design, None, "metadata", "meta:design")
        rec = _meta_str(doc, "recognition", "erkenning", "rating_level")
        if rec:
            self._recognition(rec, None, _meta_str(doc, "rating_scheme"))

    def _meta_effect(self, iref: EntityRef, fields: dict[str, Any]) -> None:
        """The Effect one outcome of structured metadata states (rule ``meta:outcome``):
        its outcome, direction and size as the fields give them."""
        outcome = _field_str(fields, "outcome", "uitkomst")
        if not outcome:
            return
        direction = _field_str(fields, "direction", "richting") or ""
        direction = {"-": "−", "+": "+", "0": "0", "−": "−"}.get(direction, direction)
        name, concept, measure = self._outcome_name(outcome)
        props: dict[str, PropValue] = {"outcome": name}
        if measure:
            # The source's own wording of what was measured, kept whether or not a size
            # comes with it ("eenzaamheid (De Jong Gierveld-schaal)" without a size lost it).
            props["measure"] = measure
        if direction:
            props["direction"] = direction
        es = fields.get("effect_size")
        written = _field_str(fields, "magnitude")  # as the source wrote it (records reader)
        if written is not None:
            props["magnitude"] = written
        if es is not None:
            props.setdefault("magnitude", str(es))
            with contextlib.suppress(ValueError):
                props["effect_size"] = float(str(es).replace(",", "."))
        if measure and "magnitude" in props and measure != " ".join(outcome.split()):
            # A size on a bracketed measure reads "d = 0.5 (De Jong ...)" where views show
            # the size alone; an outcome read whole as the measure adds nothing to it.
            props["magnitude"] = f"{props['magnitude']} ({measure})"
        self._effect(iref, name, props, None, "meta:outcome", concept)

    # -- 3. sections --------------------------------------------------------------------

    def find_zones(self) -> None:
        """Zones of the text with a role: from headings, and from lead-in paragraphs that
        end in ":" ("Doelen:", "... vier werkzame elementen naar voren:") up to the end
        of the list that follows them."""
        for sec in self.doc.sections:
            role = _section_role(sec.heading)
            if role:
                self.zones.append((role, sec.start + len(sec.heading), sec.end, sec.heading))
        for i, b in enumerate(self.blocks):
            if not b.text.endswith(":"):
                continue
            role = None
            if P.ELEMENTS_INTRO_RE.search(b.text):
                role = "elements"
            else:
                words = b.text.rstrip(":").split()
                if len(words) <= 6:
                    role = _section_role(b.text.rstrip(":"))
            if role is None:
                continue
            end = b.end
            for nb in self.blocks[i + 1 :]:
                if not (nb.is_item or _short_lead(nb.text)) or self._is_heading(nb):
                    break
                end = nb.end
            if end > b.end:
                self.zones.append((role, b.end, end, b.text))

    def _is_heading(self, b: _Block) -> bool:
        return any(s.start == b.start for s in self.doc.sections)

    def section_rules(self) -> None:
        for role, start, end, heading in self.zones:
            rule = f"section:{heading}"[:80]
            blocks = [
                b
                for b in self.blocks
                if b.start >= start and b.end <= end and not self._is_heading(b)
            ]
            if role == "partners":
                self._partners(blocks, rule)
            elif role == "elements":
                self._elements(blocks, start, rule)
            elif role == "interventions":
                self._interventions(blocks, rule)
            elif role == "funding":
                self._funding(blocks, rule)
        # Inline lists: "Werkzame elementen zijn: a, b, en c."
        for s, e, sent in self.sentences():
            m = P.ELEMENTS_INTRO_RE.search(sent)
            if m and sent[m.end() :].strip() and not self.zone_at(s + m.end()):
                tail_start = s + m.end()
                tail = self.text[tail_start:e].rstrip(". ")
                for off, item in _split_list(tail):
                    self._element(item, tail_start + off, (s, e), "inline-list:werkzame elementen")

    def _partners(self, blocks: list[_Block], rule: str) -> None:
        first_row = True
        for b in blocks:
            sent = self.ext.sentence_of(b.start)
            if b.is_table_row:
                cells = [c.strip() for c in b.text.split(" | ")]
                # A header cell may say more than the word: "Rol in 2025" made an Actor
                # "Partner" taking part in Leefbaar Bergveld (demo reisverslag).
                header = first_row and all(
                    (fold(c).split() or [""])[0]
                    in {
                        "organisatie",
                        "partner",
                        "partners",
                        "rol",
                        "role",
                        "naam",
                        "wie",
                        "wat",
                        "taak",
                        "organisation",
                    }
                    for c in cells
                    if c
                )
                first_row = False
                if header:
                    continue
                name, role = cells[0], " | ".join(cells[1:]).strip()
                self._partner(name, b.start, role, sent, rule)
            elif b.is_item:
                parts = _partner_parts(b.text)
                if parts is not None:
                    self._partner(parts[0], b.start, parts[1], sent, rule)
                else:
                    # "GGD, Stichting X en de bibliotheek": only parts that are names.
                    for off, item in _split_list(b.text):
                        if self.refs_in(b.start + off, b.start + off + len(item), "Actor") or (
                            item[:1].isupper() and len(item.split()) <= 5
                        ):
                            self._partner(item, b.start + off, "", sent, rule)
            else:
                for s, e, _ in self._sentences_in(b.start, b.end):
                    for ref in self.refs_in(s, e, "Actor"):
                        if self.named_org(ref):
                            self.rel(ref, "PARTICIPATES_IN", self.programme, rule, [(s, e)])

    def _partner(self, raw: str, offset: int, role: str, sent: Span, rule: str) -> None:
        lead = _trim_item(raw)
        at = self.text.find(lead, offset) if lead else -1
        whole = (
            [
                (e, ref)
                for s, e, ref in self.mentions_in(at, at + len(raw) + 1, "Actor")
                if s == at and e - s > len(lead.split(",")[0])
            ]
            if at >= 0
            else []
        )
        if whole:
            # A name with a comma in it ("Politie, basisteam Noord") found by a pattern.
            ref = max(whole)[1]
            role = _trim_item(role)
            props: dict[str, PropValue] = {"role": role} if role else {}
            self.rel(ref, "PARTICIPATES_IN", self.programme, rule, [sent], props)
            return
        name = _trim_item(raw.split(",")[0])
        if not name or name.lower().startswith("persoon-"):
            return
        start = self.text.find(name, offset)
        span = (start, start + len(name)) if start >= 0 else None
        lower_words = [w for w in name.split() if w[:1].islower() and w not in _NAME_LINKS]
        if (
            len(name.split()) > 6
            or len(lower_words) >= 2
            or not (name[:1].isupper() or self.resolver.concept("Actor", name))
        ):
            # Prose, not a name: the named organisations inside it take part.
            for ref in self.refs_in(span[0], span[1], "Actor") if span else []:
                if self.named_org(ref):
                    self.rel(ref, "PARTICIPATES_IN", self.programme, rule, [sent])
            return
        # An organisation the matchers already found inside the name wins (its resolved key).
        inner = self.refs_in(span[0], span[1], "Actor") if span else []
        if (
            inner
            and span
            and any(
                (s, e) == span or (e - s) >= len(name) - 2
                for s, e, r in self.mentions_in(span[0], span[1], "Actor")
            )
        ):
            ref = inner[0]
        else:
            kind = "organisation"
            concept = self.resolver.concept("Actor", name)
            if concept is not None and concept.kind:
                kind = concept.kind
            ref = self.entity("Actor", name, span, "candidate", rule, props={"kind": kind})
        role = _trim_item(role)
        if not role:
            ent = self.ext.entities[ref]
            if ent.concept and self.vocab is not None:
                role = self.vocab.label(ent.concept)
            elif ent.props.get("role"):
                role = str(ent.props["role"])
        props: dict[str, PropValue] = {"role": role} if role else {}
        self.rel(ref, "PARTICIPATES_IN", self.programme, rule, [sent], props)
        # "uitvoering Welzijn op Recept, buurtkamers": the partner delivers those.
        if role and span:
            rs = self.text.find(role, span[1])
            if rs >= 0:
                for iv in self.refs_in(rs, rs + len(role), "Intervention"):
                    self.rel(ref, "DELIVERS", iv, rule, [sent])

    def _elements(self, blocks: list[_Block], zone_start: int, rule: str) -> None:
        for b in blocks:
            if b.is_item or _short_lead(b.text):
                self._element(b.text, b.start, self.ext.sentence_of(b.start), rule, zone_start)

    def _element(
        self, raw: str, offset: int, sent: Span, rule: str, zone_start: int | None = None
    ) -> None:
        first = _ITEM_HEAD.split(raw, maxsplit=1)[0]
        refs = self.refs_in(offset, offset + len(first), "WorkingElement")
        if not refs:
            name = _trim_item(first)
            words = name.split()
            if not name or len(words) > 14 or name.lower().startswith("persoon-"):
                return
            start = self.text.find(name, offset)
            span = (start, start + len(name)) if start >= 0 else None
            refs = [self.entity("WorkingElement", name, span, "candidate", rule)]
        for owner, rel in self._owners_of_element(offset, offset + len(raw), zone_start):
            for ref in refs:
                self.rel(owner, rel, ref, rule, [sent])

    def _owners_of_element(
        self, offset: int, end: int, zone_start: int | None
    ) -> list[tuple[EntityRef, str]]:
        """Who a working element (the list item at ``offset``..``end``) belongs to.

        An intervention when the text says so: named before the element in the same
        block ("Uit onderzoek naar duale trajecten blijkt ... Werkzame elementen zijn:
        ..."), or in the section before the list. A plan document (programma-aanpak,
        reisverslag) otherwise names the elements of the programme's whole approach
        ("Wat we leerden – werkzame elementen"): they go to the programme
        (HAS_PROGRAMME_ELEMENT), plus any intervention the item itself names ("Vroeg
        bemiddelen. Burenruzies die ... bij buurtbemiddeling kwamen"). Giving them to the
        most mentioned intervention, as before, made Buurtbemiddeling the owner of
        "Bewoners aan het stuur". Other documents (a databank page about one
        intervention) fall back to their main intervention.
        """
        block = next((b for b in self.blocks if b.start <= offset <= b.end), None)
        if block is not None:
            found = self.refs_in(block.start, offset, "Intervention")
            if found:
                return [(found[-1], "HAS_ELEMENT")]
        programme = self.programme if self.doc.kind == "plan" else None
        plan = programme is not None
        sec = self.doc.section_at(offset)
        if sec is not None and sec.level > 1:
            # In a plan, only the heading and lead-in count: an intervention named in an
            # earlier item's description is not the owner of the next item.
            upto = zone_start if plan and zone_start is not None else offset
            found = self.refs_in(sec.start, min(upto, offset), "Intervention")
            if found:
                return [(found[-1], "HAS_ELEMENT")]
        if programme is not None:
            own = dict.fromkeys(self.refs_in(offset, end, "Intervention"))
            return [(programme, "HAS_PROGRAMME_ELEMENT"), *((iv, "HAS_ELEMENT") for iv in own)]
        main = self.main_intervention()
        return [(main, "HAS_ELEMENT")] if main else []

    def _sentence_intervention(self, s: int, e: int) -> EntityRef | None:
        """The intervention a finding in sentence ``s..e`` is about: the first one named in
        it, else (in research texts only, which report on one study) the document's own."""
        ivs = self.refs_in(s, e, "Intervention")
        if ivs:
            return ivs[0]
        return self.main_intervention() if self.doc.kind == "research" else None

    def main_intervention(self) -> EntityRef | None:
        """What the document is about: record field, title, else the most mentioned one."""
        if self.main_override is not None:
            return self.main_override
        title_end = len(self.doc.title)
        first = self.blocks[0] if self.blocks else None
        for s, _e, ref in sorted(self.mentions):
            if (
                ref[0] == "Intervention"
                and first is not None
                and s < first.end
                and s < title_end + 5
            ):
                return ref
        counts = Counter(ref for _s, _e, ref in self.mentions if ref[0] == "Intervention")
        if self.doc.title:
            for ref in counts:
                if fold(self.ext.entities[ref].name) in fold(self.doc.title):
                    return ref
        if not counts:
            return None
        (ref, n), *rest = [*counts.most_common(2), (None, 0)]
        return ref if n >= 2 and (not rest or rest[0][1] < n) else None

    def _interventions(self, blocks: list[_Block], rule: str) -> None:
        for b in blocks:
            sent = self.ext.sentence_of(b.start)
            # The item's name part ("Buurtmaaltijden — samen eten in de buurtkamer"):
            # interventions in the description are not what the item names.
            head_end = b.end
            if b.is_item and not b.is_table_row:
                cut = re.search(r"\s[—–-]\s|:\s", b.text)
                head_end = b.start + cut.start() if cut else b.end
            refs = self.refs_in(b.start, head_end, "Intervention")
            if not refs and b.is_item and not b.is_table_row:
                parts = re.split(r"\s[—–-]\s|:\s", b.text, maxsplit=1)
                name = _trim_item(parts[0])
                if len(parts) == 1:
                    name = _trim_item(re.split(r"\.\s", b.text, maxsplit=1)[0])
                if (
                    name
                    and len(name.split()) <= 6
                    and not name.lower().startswith("persoon-")
                    and not self._generic_item_name(name)
                ):
                    start = self.text.find(name, b.start)
                    refs = [
                        self.entity(
                            "Intervention", name, (start, start + len(name)), "candidate", rule
                        )
                    ]
            for iv in refs:
                self.rel(self.programme, "USES", iv, rule, [sent])
                for actor in self.refs_in(b.start, b.end, "Actor"):
                    if self.named_org(actor):
                        self.rel(actor, "DELIVERS", iv, rule, [sent])

    def _concept_of_other_class(self, name: str, label: str) -> bool:
        """Whether a vocabulary holds ``name`` as a concept of another class than
        ``label``. Dutch texts call interventions "programma" too ("het programma De
        Gezonde Schoolkantine van het Voedingscentrum"); the vocabulary's class wins over
        the word before the name, or the name becomes a candidate programme beside the
        vocabulary intervention."""
        if self.vocab is None:
            return False
        return any(c.pg_label != label for c in self.vocab.lookup(name))

    def _generic_item_name(self, name: str) -> bool:
        """A list item's lead that is not the name of an intervention: a section heading
        ("Werkzame elementen"), a word for a theme ("Renovatie", see
        ``patterns.GENERIC_THEMES``) or a vocabulary concept of another class ("Jongeren":
        a target group; "Ontmoeting": a working element). Plans list what they did under
        such bold leads; as candidates they became interventions nobody runs."""
        folded = fold(name).strip(" :.")
        if folded in P.GENERIC_THEMES or _section_role(name) is not None:
            return True
        if self.vocab is None:
            return False
        return any(c.scheme != "interventions" for c in self.vocab.lookup(name))

    def _funding(self, blocks: list[_Block], rule: str) -> None:
        for b in blocks:
            for s, e, sent in self._sentences_in(b.start, b.end):
                if not (P.FUNDING_RE.search(sent) or "€" in sent):
                    continue
                for ref in self.refs_in(s, e, "Actor"):
                    if self.named_org(ref):
                        self.rel(ref, "FUNDS", self.programme, rule, [(s, e)])

    def _sentences_in(self, start: int, end: int) -> list[tuple[int, int, str]]:
        return [(s, e, t) for s, e, t in self.sentences() if s >= start and e <= end]

    # -- 4. sentence rules ---------------------------------------------------------------

    def sentence_rules(self) -> None:
        for s, e, sent in self.sentences():
            self._effects(s, e, sent)
            self._goals(s, e, sent)
            self._same_sentence(s, e, sent)
        self._groups_of_challenges()
        if self.doc.kind == "story":
            self._story_age_groups()

    def _story_age_groups(self) -> None:
        """A story says how old its subject is ("Mevrouw Jansen is 81 jaar", "Jordy is 15
        jaar"): a child, young person or older person is of that target group even when
        the story never names the group. Adult ages name no group."""
        if self.vocab is None:
            return
        for m in P.STORY_AGE_RE.finditer(self.text):
            age = int(m.group("age"))
            group = next((g for lo, hi, g in P.AGE_GROUPS if lo <= age <= hi), None)
            found = self.vocab.lookup(group, scheme="target-groups") if group else []
            if found:
                c = found[0]
                span = (m.start(), m.end())
                self.entity("TargetGroup", c.pref_nl, span, "vocabulary", "story:age", c.iri)

    def _groups_of_challenges(self) -> None:
        """A challenge named after the group it affects ("arbeidsparticipatie
        statushouders") names that target group too, so a story filed under it says
        whom it is about even when the narrator never uses the word."""
        if self.vocab is None:
            return
        for ref in [r for r in self.ext.entities if r[0] == "Challenge"]:
            c = self.vocab.concepts.get(self.ext.entities[ref].concept or "")
            if c is None or not c.pref_nl:
                continue
            for g in _groups_named_in(self.vocab, c):
                self.entity("TargetGroup", g.pref_nl, None, "vocabulary", "challenge-name", g.iri)

    def _outcome_name(self, text: str) -> tuple[str, str | None, str | None]:
        """The outcome a record's field names, the IRI of its concept, and the measure.

        The outcome is the Dutch prefLabel of the outcome or challenge concept the text
        names, else the text; the measure is the source's own, more specific wording where
        it differs from that concept (``ig:measure``), else ``None``. In order:

        1. The whole text is a label: that concept, no measure.
        2. "loneliness (De Jong Gierveld scale)": each part names a concept; the bracket is
           the measure, whose outcome concept (eenzaamheidsgevoelens) is more precise than
           the challenge "loneliness" outside it. An outcome concept of either part wins
           over a challenge, the bracket part first; the bracket text is the measure.
        3. Dutch free text that holds a label: "aantal huisartsbezoeken" (zorggebruik),
           "kans op betaald werk" (arbeidsparticipatie). The concept named inside is the
           outcome (an outcome concept before a challenge, then the longest label); the
           whole text is the measure. Not for a negated text ("geen nieuw politiecontact"):
           the label inside would name the opposite outcome.

        Without a concept the text stays whole and has no measure.
        """
        if self.vocab is None:
            return text, None, None
        split = _trailing_parenthetical(text)
        parts = [(text, None)] + ([] if split is None else [(split[1], 1), (split[0], 2)])
        found = [
            (i is not None, c.scheme != "outcomes" if i else False, i or 0, c)
            for part, i in parts
            for c in self.vocab.lookup(part)
            if c.scheme == "outcomes" or c.pg_label == "Challenge"
        ]
        if found:
            # The whole text first (in lookup order, as before), then an outcome of a part.
            from_part, *_, c = min(found, key=lambda f: f[:3])
            concept = self._outcome_concept(c)
            return (
                concept.pref_nl or concept.pref_en,
                concept.iri,
                split[1] if from_part and split else None,
            )
        inside = None if P.NEGATION_RE.search(text) else self._outcome_inside(text)
        if inside is None:
            return text, None, None
        concept = self._outcome_concept(inside)
        return concept.pref_nl or concept.pref_en, concept.iri, " ".join(text.split())

    def _outcome_inside(self, text: str) -> Concept | None:
        """The outcome (else challenge) concept a label inside ``text`` names, by the same
        matchers as the text's mentions (exact, lower case, and a stem that only inflects
        the label: "huisartsbezoeken" for "huisartsbezoek"). An outcome concept before a
        challenge, then the longest label, then the first."""
        assert self.vocab is not None
        m = _matchers(self.lang, self.vocab)
        sdoc = pipeline(self.lang)(text)
        hits: list[tuple[bool, int, int, Concept]] = []
        for matcher, stemmed in ((m.orth, False), (m.lower, False), (m.norm, True)):
            for mid, ts, te in matcher(sdoc):
                span = sdoc[ts:te]
                key = sdoc.vocab.strings[mid]
                if stemmed and not _same_word_class(span.text, m.terms[key]):
                    continue
                for iri in m.iris[key]:
                    c = self.vocab.concepts[iri]
                    if c.scheme == "outcomes" or c.pg_label == "Challenge":
                        hits.append((c.scheme != "outcomes", -len(span.text), span.start_char, c))
        return min(hits, key=lambda h: h[:3])[3] if hits else None

    def _outcome_concept(self, c: Concept) -> Concept:
        """The concept an Effect on ``c`` carries: ``c`` when it is an outcome, else (a
        challenge named as the outcome, "vermindert pesten") the outcome concept with the
        same label where there is one, so an Effect on "pesten" carries the outcome
        pesten as it did when the name was looked up again.

        A challenge's ``skos:related`` outcome is not taken ("verminderde eenzaamheid"
        keeps ch:eenzaamheid, not oc:eenzaamheidsgevoelens): related is an association,
        not "measured as" (ch:leefbaarheid ~ oc:sociale-cohesie, ch:jeugdcriminaliteit ~
        oc:recidive), and the search expands related concepts both ways anyway. Measured
        on the demo (session 10, H46): taking the one related outcome left
        bench/search_quality.py unchanged (concept arm nDCG@10 0.777 both, fused 0.865
        both) and merged evidence-map columns 36 -> 34, one of them wrongly (MDFT's
        "jeugdcriminaliteit en veiligheid" under recidive). An equivalence the
        vocabularies state (e.g. skos:closeMatch) would be the way to merge them."""
        if c.scheme == "outcomes" or self.vocab is None:
            return c
        same = [o for o in self.vocab.lookup(c.pref_nl or c.pref_en) if o.scheme == "outcomes"]
        return same[0] if same else c

    def _free_outcome_concept(self, name: str) -> str | None:
        """IRI of the outcome (else challenge) concept a free outcome phrase is a label of,
        for the one path that has no concept yet (`_outcome_after` without a hit)."""
        if self.vocab is None:
            return None
        found = [
            c
            for c in self.vocab.lookup(name)
            if c.scheme == "outcomes" or c.pg_label == "Challenge"
        ]
        return (
            self._outcome_concept(min(found, key=lambda c: c.scheme != "outcomes")).iri
            if found
            else None
        )

    def _outcome_after(self, pos: int, end: int) -> tuple[str, Span, str | None] | None:
        """The outcome named right after an effect verb, its span and its concept's IRI: a
        vocabulary concept (outcome or challenge) starting within a few words, else the
        noun phrase up to a stop word (with the concept it is a label of, if any)."""
        window = self.text[pos:end]
        near = pos + len(" ".join(window.split()[:5])) + 2
        hits = [
            (s, ee, c) for s, ee, c in self.value_hits if c.scheme == "outcomes" and pos <= s < near
        ]
        hits += (
            [
                (s, ee, self.vocab.concepts[self.ext.entities[r].concept])  # type: ignore[union-attr,index]
                for s, ee, r in self.mentions_in(pos, end, "Challenge", "TargetGroup")
                if s < near and r[0] == "Challenge" and self.ext.entities[r].concept
            ]
            if self.vocab is not None
            else []
        )
        if hits:
            s, ee, c = min(hits, key=lambda h: h[0])
            return (c.pref_nl or c.pref_en), (s, ee), self._outcome_concept(c).iri
        stop = P.OUTCOME_STOP_RE.search(window)
        phrase = window[: stop.start()] if stop else window
        words = phrase.split()
        if not words:
            return None
        words = words[:6]
        while words and fold(words[0]) in {"de", "het", "een", "the", "a", "an", "op", "on", "aan"}:
            words = words[1:]
        if not words or words[0][:1].isdigit() or fold(words[0]) in _NOT_OUTCOME_START:
            return None
        name = " ".join(words).strip(" .,;:")
        start = self.text.find(name, pos)
        return name, (start, start + len(name)), self._free_outcome_concept(name)

    def _unreal(self, s: int, sent: str, upto: int) -> bool:
        """A sentence that states no finding: a question, or a modal, goal or condition
        before the effect's verb (``upto``, an offset into ``sent``): "zou kunnen leiden
        tot minder ...", "we willen dat het verzuim daalt", "could reduce"; or a year after
        the document's ("in 2027 daalt het aantal thuiszitters met 30%" is a Goal, not an
        Effect). The goals section is no cue: its headings include "Resultaten"."""
        if sent.rstrip().endswith("?") or P.UNREAL_RE.search(sent, 0, upto):
            return True
        if self.year is None or not P.may_match(P.GOAL_YEAR_RE, sent):
            return False
        return any(int(y.group("year")) > self.year for y in P.GOAL_YEAR_RE.finditer(sent))

    def _effects(self, s: int, e: int, sent: str) -> None:
        for m in P.EFFECT_RE.finditer(sent):
            idx = next(int(k[1:]) for k, v in m.groupdict().items() if v is not None)
            direction = P.EFFECT_PATTERNS[idx][1]
            vs, ve = s + m.start(), s + m.end()
            if self._unreal(s, sent, m.end()):
                continue
            ivs = [r for ms, _me, r in self.mentions_in(s, vs, "Intervention")]
            iv = ivs[-1] if ivs else None
            if (
                iv is None
                and self.doc.kind == "research"
                and idx < _FIRST_BARE_VERB
                and not re.search(r"\s[A-Z]", m.group(0))
            ):
                # No subject named: the study's intervention, but only for phrases that
                # state a cause ("was associated with reduced"), not bare "decreased",
                # and not when a name the vocabulary does not know sits inside the verb
                # phrase ("leidde MDFT tot een afname"): that name is the subject.
                iv = self.main_intervention()
            if iv is None:
                continue
            out = self._outcome_after(ve, e)
            if out is None:
                continue
            outcome, (_, out_end), concept = out
            # Negation in the verb phrase (between the subject and the verb, or right after).
            iv_end = max(
                (me for ms, me, r in self.mentions_in(s, vs, "Intervention") if r == iv), default=vs
            )
            # "leidt niet tot minder", "X niet vermindert", "vermindert X niet".
            after = self.text[ve : min(e, ve + 40)].split(",")[0]
            negated = bool(
                P.NEGATION_RE.search(self.text[iv_end:ve])
                or re.search(r"(?i)\b(niet|not)\b", after)
            )
            if direction != "0" and negated:
                direction = "0"
            props: dict[str, PropValue] = {"outcome": outcome, "direction": direction}
            self._magnitude(sent, m.end(), props, max(out_end - s, m.end()))
            self._effect(iv, outcome, props, (s, e), "effect-verb", concept)
            if not negated:
                self._coordinated_effect(iv, s, e, sent, out_end)
        for m in P.NO_EFFECT_ON_RE.finditer(sent) if "geen" in sent else ():
            if self._unreal(s, sent, m.end()):
                continue
            iv = self._sentence_intervention(s, e)
            out = self._outcome_after(s + m.start("outcome"), s + m.end("outcome"))
            if iv is None or out is None:
                continue
            props = {"outcome": out[0], "direction": "0"}
            self._effect(iv, out[0], props, (s, e), "no-effect-on", out[2])
        for m in P.OUTCOME_CHANGE_RE.finditer(sent):
            vs = s + m.start()
            if self._unreal(s, sent, m.end()):
                continue
            outcomes = [(ms, me, r) for ms, me, r in self.mentions_in(s, vs, "Challenge")] + [
                (hs, he, c)
                for hs, he, c in self.value_hits
                if s <= hs < vs and c.scheme == "outcomes"
            ]
            if not outcomes:
                continue
            iv = self._sentence_intervention(s, e)
            if iv is None:
                continue
            _, _, o = outcomes[-1]
            if isinstance(o, tuple):  # a Challenge mention: its name, and its concept's
                ent = self.ext.entities[o]
                outcome = ent.name
                known = self.vocab.concepts.get(ent.concept) if self.vocab and ent.concept else None
            else:
                outcome, known = o.pref_nl or o.pref_en, o
            concept = self._outcome_concept(known).iri if known is not None else None
            verb = re.sub(r"\s+", " ", m.group("verb").lower())
            props = {"outcome": outcome, "direction": P.outcome_change_direction(verb)}
            self._magnitude(sent, 0, props, m.end())
            self._effect(iv, outcome, props, (s, e), "outcome-change", concept)

    def _coordinated_effect(self, iv: EntityRef, s: int, e: int, sent: str, out_end: int) -> None:
        """The second claim of a coordinated effect: "samengaat met minder
        eenzaamheidsgevoelens en met een daling van het aantal huisartsbezoeken" states
        two effects of one intervention; "and fewer GP visits" likewise."""
        m = P.COORDINATED_EFFECT_RE.match(self.text, out_end, e)
        if m is None:
            return
        out = self._outcome_after(m.end(), e)
        if out is None:
            return
        outcome, (_, end2), concept = out
        direction = "−" if m.group("down") else "+"
        props: dict[str, PropValue] = {"outcome": outcome, "direction": direction}
        self._magnitude(sent, m.end() - s, props, end2 - s)
        self._effect(iv, outcome, props, (s, e), "effect-verb:coordinated", concept)

    def _magnitude(
        self, sent: str, after: int, props: dict[str, PropValue], claim_end: int | None = None
    ) -> None:
        """The size of the claim that ends at ``claim_end`` (offsets into ``sent``).

        A size after the next coordinated clause belongs to that clause: in "samengaat
        met minder eenzaamheidsgevoelens en met een daling van het aantal
        huisartsbezoeken met 20%" the 20% is the GP visits', not the loneliness effect's.
        """
        found = list(P.MAGNITUDE_RE.finditer(sent))
        if found and claim_end is not None:
            nxt = next(
                (
                    c.start()
                    for c in _NEXT_CLAUSE.finditer(sent, claim_end)
                    if _depth(sent, 0, c.start()) == 0  # "(mean difference 1.3; 95% CI ...)"
                ),
                None,
            )
            if nxt is not None:
                found = [m for m in found if m.start() < nxt]
        if not found:
            return
        sizes = [m for m in found if "=" in m.group(0)]
        best = sizes[0] if sizes else next((m for m in found if m.start() >= after), found[0])
        props["magnitude"] = re.sub(r"\s+", " ", best.group(0)).strip()
        if sizes:
            num = re.search(r"-?\d+(?:[.,]\d+)?$", sizes[0].group(0))
            if num:
                props["effect_size"] = float(num.group(0).replace(",", "."))

    def _effect(
        self,
        iv: EntityRef,
        outcome: str,
        props: dict[str, PropValue],
        sent: Span | None,
        rule: str,
        concept: str | None,
    ) -> EntityRef:
        """One outcome claim of ``iv``. ``concept`` is the IRI of the outcome's concept as
        the caller found it: without it on the Effect the search's concept arm, which finds
        Effects by ``concept``, never reached one ("energiecoach → gasverbruik" did not
        count for a question about gasverbruik)."""
        iv_name = self.ext.entities[iv].name
        key = f"{iv_name} → {outcome}"
        ent = Entity(
            label="Effect",
            key=key,
            name=key,
            status="metadata" if rule.startswith("meta") else "candidate",
            rule=rule,
            concept=concept,
            props=dict(props),
        )
        # An Effect's key is built, not resolved: it is one outcome claim of one intervention.
        ref = self.ext.add_entity(ent).ref
        self.rel(iv, "HAS_EFFECT", ref, rule, [sent] if sent else [])
        return ref

    def _goals(self, s: int, e: int, sent: str) -> None:
        ym = P.GOAL_YEAR_RE.search(sent) if P.may_match(P.GOAL_YEAR_RE, sent) else None
        if ym is None:
            return
        year = int(ym.group("year"))
        zone = self.zone_at(s)
        in_goals = zone is not None and zone[0] == "goals"
        future = self.year is not None and year > self.year
        cue = re.search(
            r"(?i)\b(doel\w*|ambitie\w*|streven|streeft|willen|wil|uiterlijk|zal|zullen|aim|target|goal)\b",
            sent,
        )
        if not (in_goals or cue or future):
            return
        value = None
        for vm in P.GOAL_VALUE_RE.finditer(sent):
            v = vm.group("value").strip()
            if v == str(year) or P.YEAR_RE.fullmatch(v):
                continue
            value = v
            break
        if value is None:
            return
        text = _goal_text(sent)
        props: dict[str, PropValue] = {"text": text, "target_value": value, "year": year}
        challenges = self.refs_in(s, e, "Challenge", "TargetGroup")
        if challenges:
            props["indicator"] = self.ext.entities[challenges[0]].name
        ref = self.entity("Goal", text, (s, e), "candidate", "goal:year-number", props=props)
        if self.programme is not None:
            self.rel(self.programme, "HAS_GOAL", ref, "goal:year-number", [(s, e)])
        else:
            for c in self.refs_in(s, e, "Challenge") or self._doc_challenges():
                self.rel(c, "HAS_GOAL", ref, "goal:year-number", [(s, e)])

    def _doc_challenges(self) -> list[EntityRef]:
        return [r for r in self.ext.entities if r[0] == "Challenge"]

    def _same_sentence(self, s: int, e: int, sent: str) -> None:
        rule = "same-sentence"
        here = self.refs_by_label(s, e)
        challenges = here.get("Challenge", [])
        groups = list(here.get("TargetGroup", []))
        ivs = here.get("Intervention", [])
        laws = here.get("LegalBasis", [])
        actors = [r for r in here.get("Actor", []) if self.named_org(r)]
        for iv, c in self._addressed_pairs(s, e, sent, ivs, challenges):
            self.rel(iv, "ADDRESSES", c, rule, [(s, e)])
        for iv in ivs:
            for g in groups:
                self.rel(iv, "TARGETS", g, rule, [(s, e)])
        prog_here = self.programme is not None and self.programme in here.get("Programme", [])
        zone = self.zone_at(s)
        sec = self.doc.section_at(s)
        who = sec is not None and re.search(
            r"(?i)voor wie|doelgroep|waarom|opgave|vraag|target", sec.heading
        )
        if sec is not None and P.TARGET_SECTION_RE.search(sec.heading):
            groups += self._served_roles(s, e)
            main = self.main_intervention() if self.doc.kind == "research" else None
            for g in groups:
                self.rel(main, "TARGETS", g, "section:doelgroep", [(s, e)])
        if self.programme is not None and (
            prog_here
            or who
            or (self.doc.kind == "plan" and (challenges or groups) and zone is None)
        ):
            for c in challenges:
                self.rel(
                    self.programme, "ADDRESSES", c, rule if prog_here else "plan-mention", [(s, e)]
                )
            for g in groups:
                self.rel(
                    self.programme, "TARGETS", g, rule if prog_here else "plan-mention", [(s, e)]
                )
        if self.programme is not None and prog_here:
            for iv in ivs:
                self.rel(self.programme, "USES", iv, rule, [(s, e)])
            # (`_served_roles` above adds TargetGroup mentions only: ``here`` still holds.)
            for a in here.get("Area", []):
                self.rel(self.programme, "IN_AREA", a, rule, [(s, e)])
        elif (
            self.programme is not None
            and self.doc.kind in P.USES_KINDS
            and not (sec is not None and P.ELSEWHERE_SECTION_RE.search(sec.heading))
        ):
            # A programme's own plan names the interventions it uses; a section on
            # research or practice elsewhere names what others use.
            for iv in ivs:
                self.rel(self.programme, "USES", iv, "plan-mention", [(s, e)])
        # Law references ground the programme (or, in policy texts, the challenges).
        for law in laws:
            if self.programme is not None:
                self.rel(self.programme, "GROUNDED_IN", law, "law-reference", [(s, e)])
            for c in challenges:
                self.rel(c, "GROUNDED_IN", law, "law-reference", [(s, e)])
        # Funding named outside a funding section.
        if (
            self.programme is not None
            and P.FUNDING_RE.search(sent)
            and not (zone and zone[0] == "funding")
        ):
            funders = [a for a in actors if self._subject_of_funding(a, s, e, sent)]
            for a in funders:
                self.rel(a, "FUNDS", self.programme, "funding-verb", [(s, e)])
        # Collaboration and delivery between organisations and interventions.
        self._collaboration(s, e, sent, actors)
        if (
            actors
            and ivs
            and re.search(
                r"(?i)\b(voert|voeren|uitgevoerd|uitvoering|organiseert|organiseerde|biedt|bieden|verzorgt|begeleidt|delivers|runs|provides)\b",
                sent,
            )
        ):
            for a in actors:
                for iv in ivs:
                    self.rel(a, "DELIVERS", iv, "delivery-verb", [(s, e)])

    def _addressed_pairs(
        self, s: int, e: int, sent: str, ivs: list[EntityRef], challenges: list[EntityRef]
    ) -> list[tuple[EntityRef, EntityRef]]:
        """(intervention, challenge) pairs the sentence claims: ADDRESSES from co-occurrence.

        Co-occurrence is the rule's only evidence, so it is read per clause and not where
        the text withholds the claim: "zetten de Kanjertraining in als preventieve lijn in
        hun aanpak van thuiszitten; een direct effect op verzuim is niet onderzocht" is no
        claim that the training works against school absence, and search would rank it as
        a thuiszitten intervention. An intervention and a challenge pair only inside one
        clause (`_CLAUSE_BREAK_RE`) of a sentence that hedges (`_HEDGE_RE`); a hedged
        clause doubts the challenges it names and, through the vocabulary, their broader
        and narrower concepts in the sentence (doubt about "verzuim" covers
        "thuiszitten"); one that names no challenge but speaks of the effect without
        naming another target ("het effect is niet onderzocht", not "een effect op
        zorggebruik ...") doubts them all. A sentence without a hedge pairs as before.
        """
        if not ivs or not challenges:
            return []
        cuts = [s + m.start() for m in _CLAUSE_BREAK_RE.finditer(sent)]
        bounds = list(zip([s, *cuts], [*cuts, e], strict=True))
        hedged = [(cs, ce) for cs, ce in bounds if _HEDGE_RE.search(self.text[cs:ce])]
        if not hedged:
            # A semicolon alone is no turn ("vermindert het gasverbruik met 7%; dat komt
            # neer op 170 kg CO2"): without a hedge the sentence's pairs stand.
            return [(iv, c) for iv in ivs for c in challenges]
        doubted: set[EntityRef] = set()
        for cs, ce in hedged:
            clause = self.text[cs:ce]
            named = self.refs_in(cs, ce, "Challenge")
            if named:
                doubted.update(self._kin_challenges(named, challenges))
            elif _CLAIM_WORD_RE.search(clause):
                doubted.update(challenges)
        pairs: list[tuple[EntityRef, EntityRef]] = []
        for cs, ce in bounds:
            here = self.refs_by_label(cs, ce)
            for iv in here.get("Intervention", []):
                pairs += [(iv, c) for c in here.get("Challenge", []) if c not in doubted]
        return pairs

    def _kin_challenges(self, named: list[EntityRef], among: list[EntityRef]) -> list[EntityRef]:
        """``named`` and those of ``among`` whose concept is broader or narrower (at any
        depth) than one of theirs: a doubt about a challenge is a doubt about its kin."""
        out = list(named)
        if self.vocab is None:
            return out
        everything = len(self.vocab.concepts)  # "at any depth"
        kin: set[str] = set()
        for ref in named:
            start = self.ext.entities[ref].concept
            if not start:
                continue
            kin.add(start)
            if start not in self.vocab.concepts:
                continue
            # Up the broader chain and down the narrower one, each on its own (the
            # narrower concepts of a broader one are siblings, not kin).
            kin |= self.vocab.expand(start, narrower=False, depth=everything)
            kin |= self.vocab.expand(start, broader=False, depth=everything)
        out += [r for r in among if self.ext.entities[r].concept in kin and r not in out]
        return out

    def _served_roles(self, s: int, e: int) -> list[EntityRef]:
        """People named by their role, in the plural, in a "Doelgroep" section ("hun
        leerkrachten") are also a target group: the section says whom the intervention
        is for. A singular role there is whom they visit ("hun huisarts"), no group."""
        out: list[EntityRef] = []
        for ms, me, ref in self.mentions_in(s, e, "Actor"):
            ent = self.ext.entities[ref]
            if ent.status != "vocabulary" or ent.props.get("kind") != "person-role":
                continue
            surface = self.text[ms:me]
            c = self.vocab.concepts.get(ent.concept or "") if self.vocab else None
            if c is not None and _is_plural_of(surface, c):
                out.append(
                    self.entity("TargetGroup", surface, (ms, me), "candidate", "section:doelgroep")
                )
        return out

    def _collaboration(self, s: int, e: int, sent: str, named: list[EntityRef]) -> None:
        """COLLABORATES_WITH from a sentence that says so, between the parties it pairs.

        "A werkt samen met B en C" / "A, in samenwerking met B": A with B and A with C,
        not B with C; "We ... samen met B" in a municipality's own text: the municipality
        with B. Parties here are named organisations and the roles a text names ("de
        leefstijlcoach werkt samen met de huisarts"). Without such a "met" the sentence
        must name two or three organisations that "werken samen" (a list of six
        signatories is no claim that each pair collaborates). The cue is looked for
        outside the names themselves ("Samenwerkingsverband VO" is a name, no verb).
        """
        masked = list(sent)
        for ms, me, _r in self._sorted_mentions(s, e):
            a, b = ms - s, min(me, e) - s
            if b > a:
                masked[a:b] = " " * (b - a)
        text = "".join(masked)
        cue = P.COLLAB_WITH_RE.search(text)
        rule = "collaboration"
        if cue is None:
            if P.COLLAB_RE.search(text) and 2 <= len(named) <= 3:
                for i, a in enumerate(named):
                    for b in named[i + 1 :]:
                        self.rel(a, "COLLABORATES_WITH", b, rule, [(s, e)])
            return
        parties = [
            (ms, ref)
            for ms, _me, ref in self.mentions_in(s, e, "Actor")
            if self.named_org(ref) or self.ext.entities[ref].status == "vocabulary"
        ]
        before = list(dict.fromkeys(r for ms, r in parties if ms < s + cue.start()))
        after = list(dict.fromkeys(r for ms, r in parties if ms >= s + cue.end()))
        if not before and P.WE_RE.search(text[: cue.start()]):
            own = self._own_municipality()
            before = [own] if own else []
        for a in before[-1:]:
            for b in after:
                if b != a:
                    self.rel(a, "COLLABORATES_WITH", b, rule, [(s, e)])

    def _own_municipality(self) -> EntityRef | None:
        """The "we" of a municipality's own text: its Gemeente actor, if extracted."""
        town = _meta_str(self.doc, "gemeente", "municipality")
        if not town:
            return None
        want = fold(f"gemeente {town}")
        return next(
            (
                r
                for r, ent in self.ext.entities.items()
                if r[0] == "Actor" and fold(ent.name) == want
            ),
            None,
        )

    def _subject_of_funding(self, actor: EntityRef, s: int, e: int, sent: str) -> bool:
        """A named organisation funds when it is the subject of the funding verb (before it)."""
        fm = P.FUNDING_RE.search(sent)
        if fm is None:
            return False
        starts = [ms for ms, _me, r in self.mentions if r == actor and s <= ms < e]
        if not starts:
            return False
        if re.search(
            r"(?i)gefinancierd|betaald door|funded by|subsidie van",
            fm.group(0) + sent[fm.end() : fm.end() + 15],
        ):
            return any(ms > s + fm.start() for ms in starts)
        return any(ms < s + fm.start() for ms in starts)

    # -- 5. evidence --------------------------------------------------------------------

    def evidence_rules(self) -> None:
        doc = self.doc
        if doc.kind == "story":
            cue = f"{doc.meta.get('doc_type', '')} {doc.title} {doc.path.name}"
            etype = (
                "klantreis"
                if re.search(r"(?i)klantreis|customer journey", cue)
                else "praktijkverhaal"
            )
            self._evidence(etype, None, "metadata", f"kind:story ({etype})")
        else:
            for s, e, c in self.value_hits:
                if c.scheme == "evidence-types":
                    self._evidence(
                        c.pref_nl or c.pref_en, (s, e), "vocabulary", "phrase:evidence-type", c.iri
                    )
            for s, _e, sent in self.sentences():
                if not P.DESIGN_ANY_RE.search(sent):  # one scan instead of ten
                    continue
                for rx, label in P.DESIGN_RE:
                    m = rx.search(sent)
                    if m:
                        span = (s + m.start(), s + m.end())
                        self._evidence(label, span, "candidate", "pattern:design")
        m = self._matchers()
        if m is not None and m.recognition is not None:
            for rm in m.recognition.finditer(self.text):
                span = (rm.start(), rm.end())
                if self._is_recognition(rm.group(0), span):
                    self._recognition(rm.group(0), span, None)
        self._link_evidence()

    def _is_recognition(self, label: str, span: Span) -> bool:
        """Whether a level label found in the text is a recognition, not an ordinary word.

        The Dutch ladder's own strings (a level's Dutch prefLabel with its own English
        translation) and labels of three or more words are; a short label such as
        "Effective", "Model" or "Level 2" only in a sentence about a databank or rating.
        """
        if self.vocab is not None:
            for c in self.vocab.lookup(label, scheme="recognition"):
                if label == c.pref_nl and c.pref_nl != c.pref_en:
                    return True
        if len(label.split()) >= 3:
            return True
        s, e = self.ext.sentence_of(span[0])
        return P.RECOGNITION_CUE_RE.search(self.text[s:e]) is not None

    def _matchers(self) -> _Matchers | None:
        return _matchers(self.lang, self.vocab) if self.vocab is not None else None

    def _evidence(
        self, etype: str, span: Span | None, status: Status, rule: str, concept: str | None = None
    ) -> EntityRef:
        if concept is None and self.vocab is not None:
            found = self.vocab.lookup(etype, scheme="evidence-types")
            if found:
                concept = found[0].iri
                etype = found[0].pref_nl or found[0].pref_en
                status = "vocabulary" if status == "candidate" else status
        title = self.doc.title or self.doc.path.name
        key = f"{etype}: {title}"
        props: dict[str, PropValue] = {"evidence_type": etype, "title": title}
        if self.year is not None:
            props["year"] = self.year
        if self._sample is None:  # the text's first "n = ...", looked up once per document
            n = P.SAMPLE_RE.search(self.text)
            self._sample = n.group(1) if n else ""
        if self._sample:
            with contextlib.suppress(ValueError):
                props["sample_size"] = int(self._sample.replace(".", ""))
        ent = Entity("Evidence", key, key, status, rule, concept, [span] if span else [], props)
        ref = self.ext.add_entity(ent).ref
        if span:
            self.mentions.append((span[0], span[1], ref))
        return ref

    def _recognition(self, level: str, span: Span | None, scheme: str | None) -> None:
        """A recognition level string: onto the one intervention it is about.

        That is the intervention named in the same sentence (the nearest one before the
        level if several, else the first after it), or, when the sentence names none, the
        main intervention of a research text or record, which is about that intervention
        (a databank page: "**Erkenning:** Goed beschreven"). A plan or policy text that
        rates one intervention in passing ("Welzijn op Recept staat in de databank als
        'Goed beschreven'") says nothing about its other interventions, so a level never
        spreads over the document; a level no intervention can be found for is dropped.
        The rating also goes onto that intervention's effects and, when it is the main
        intervention of a research text, onto the text's evidence (whose subject it is).
        """
        rank: int | None = None
        if self.vocab is not None:
            found = self.vocab.lookup(level, scheme="recognition")
            if found:
                c = found[0]
                level = c.pref_nl or c.pref_en
                rank = c.rank
                if scheme is None and c.broader:
                    top = self.vocab.concepts.get(c.broader[0])
                    scheme = top.pref_nl if top else None
        props: dict[str, PropValue] = {"rating_level": level}
        if scheme:
            props["rating_scheme"] = scheme
        if rank is not None:
            props["rating_rank"] = rank
        target = self._rated_intervention(span)
        if target is None:
            return
        for k, v in props.items():
            self.ext.entities[target].props.setdefault(k, v)
        self.ratings.setdefault(target, props)
        if self.doc.kind != "research" or target != self.main_intervention():
            return
        if not any(r[0] == "Evidence" for r in self.ext.entities):
            self._evidence("erkenning", span, "candidate", "recognition-level")
        for ref, ent in self.ext.entities.items():
            if ref[0] == "Evidence":
                for k, v in props.items():
                    if k != "rating_rank":
                        ent.props.setdefault(k, v)
                if span and span not in ent.mentions and ent.rule == "recognition-level":
                    ent.mentions.append(span)

    def _rated_intervention(self, span: Span | None) -> EntityRef | None:
        """The intervention a recognition level at ``span`` belongs to (see `_recognition`)."""
        if span is not None:
            s, e = self.ext.sentence_of(span[0])
            named = self.mentions_in(s, e, "Intervention")
            before = [m[2] for m in named if m[1] <= span[0]]
            if before:
                return before[-1]
            if named:
                return named[0][2]
        if self.doc.kind == "research" or self.main_override is not None:
            return self.main_intervention()
        return None

    def _link_evidence(self) -> None:
        evidence = [r for r in self.ext.entities if r[0] == "Evidence"]
        effects = [r for r in self.ext.entities if r[0] == "Effect"]
        if self.ratings:
            for rel in self.ext.relations:
                rating = self.ratings.get(rel.src)
                if rel.type == "HAS_EFFECT" and rating:
                    for k, v in rating.items():
                        self.ext.entities[rel.dst].props.setdefault(k, v)
        if not evidence:
            return
        sources = effects or [r for r in self.ext.entities if r[0] == "WorkingElement"]
        for src in sources:
            for ev in evidence:
                self.rel(src, "SUPPORTED_BY", ev, "same-document")

    # -- 6. finishing -------------------------------------------------------------------

    def _local_instances(self) -> None:
        """ "Buurtkamer Wadstede": a named intervention whose name is a vocabulary
        intervention ("buurtkamer") followed by a proper name (a place, neighbourhood or
        organisation) is a local instance of it (INSTANCE_OF). It stays its own node,
        because its recognition and evidence belong to that described version and not
        to every buurtkamer; the link lets a reader of either find the other."""
        for ent in list(self.ext.entities.values()):
            if ent.label != "Intervention" or ent.concept is not None:
                continue
            words = ent.name.split()
            for k in range(len(words) - 1, 0, -1):
                head, rest = " ".join(words[:k]), words[k:]
                # The rest is a proper name ("Wadstede", "De Meeuw"), not a description.
                if not rest[0][:1].isupper() or not any(
                    w[:1].isupper() and fold(w) not in P.NOT_NAMES for w in rest
                ):
                    continue
                concept = self.resolver.concept("Intervention", head)
                if concept is None:
                    continue
                general = self.entity(
                    "Intervention", head, None, "vocabulary", "instance-of", concept.iri
                )
                spans = [self.ext.sentence_of(ent.mentions[0][0])] if ent.mentions else []
                self.rel(ent.ref, "INSTANCE_OF", general, "instance-of", spans)
                break

    def finish(self) -> None:
        self._local_instances()
        for ent in self.ext.entities.values():
            ent.mentions.sort()
            if ent.label not in ("Effect", "Evidence") and (
                ent.mentions or ent.status == "candidate"
            ):
                ent.props["mention_count"] = len(ent.mentions)


def extract(
    doc: Document, vocab: Vocabulary | None = None, known: KnownEntities | None = None
) -> Extraction:
    """Entities, relations and sentence spans of one document.

    ``vocab`` feeds the concept matchers (without it only the name patterns run);
    ``known`` are names the store already holds (``{label: [(key, name, aliases)]}``),
    so a new spelling of a known organisation resolves to its existing key.
    """
    return _Run(doc, vocab, known).run()


def section_of(doc: Document, offset: int) -> Section | None:
    """The innermost section containing ``offset`` (re-exported for callers' convenience)."""
    return doc.section_at(offset)
