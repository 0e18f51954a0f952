"""Entity resolution: which natural key does a surface form belong to?

Texts name the same thing in many ways: "Welzijn op Recept" and "welzijn-op-recept",
"Gemeente Utrecht", "gemeente Utrecht" and "Utrecht (gemeente)", "sociaal isolement"
for the concept eenzaamheid, "Stichting Welzijn Wadstde" with a typo. Every one of them
must become the same node, and every merge must be explainable afterwards, so the
resolver returns the rule that decided and its score (`Merge`) with every key.

Rules, in order (the first that fires wins):

1. ``prefLabel`` / ``altLabel`` — the surface is a SKOS label of a concept whose scheme
   becomes this class: the key is the concept's Dutch prefLabel.
2. ``exact`` / ``normalised`` — the surface equals a name or alias already known (this
   document's entities and ``known`` from the store) after normalisation: case, accents,
   hyphens and spacing, leading articles, "X (gemeente)" → "gemeente X".
3. ``fuzzy`` — rapidfuzz ``token_sort_ratio`` against the known normalised names of the
   same class, at or above `FUZZY_THRESHOLD`, with a length guard and equal numbers (so
   "Wmo 2015" never merges with "Wmo 2007").
4. ``new`` — nothing matched: the cleaned surface becomes a new key.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from impact_graph.ingest.extraction import Merge
from impact_graph.vocab import Concept, Vocabulary

#: Names the store already holds, per class label: ``[(key, name, aliases), ...]``.
KnownEntities = dict[str, list[tuple[str, str, list[str]]]]

#: token_sort_ratio (0-100) at or above which two names of one class are merged.
#: Measured on the pairs in tests/test_resolve.py: true variants (a typo, a doubled or
#: dropped letter, swapped words, a dropped "De") scored 94.7-100; the closest distinct
#: names scored at most 90.0 ("GGD Lindenhoven-Oost" vs "GGD Lindenhoven-West"), then
#: 83.3 ("ROC Kustland" vs "ROC Kustwind") and 82.8 ("Buurtteam Noord" vs "Buurtteam Oost").
FUZZY_THRESHOLD = 92.0
#: Shorter / longer normalised length at or above which fuzzy matching is tried at all;
#: short names ("GGD", "Halt") only ever merge exactly.
LENGTH_RATIO = 0.85
MIN_FUZZY_LENGTH = 6

_ARTICLES = re.compile(r"^(?:de|het|een|the|a|an|'t)\s+")
_NON_WORD = re.compile(r"[^\w&]+")
_DIGITS = re.compile(r"\d+")
_PAREN_GEMEENTE = re.compile(r"^(?P<name>.+?)\s*\(\s*gemeente\s*\)$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case without diacritics ("Cliënt" -> "client")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def clean_surface(surface: str) -> str:
    """A display form of a surface: one space, no surrounding punctuation or quotes,
    "X (gemeente)" and "Gemeente X" as "gemeente X", no leading article."""
    text = _SPACE.sub(" ", surface).strip()
    m = _PAREN_GEMEENTE.match(text)
    if m:
        text = f"gemeente {m['name'].strip()}"
    text = text.strip(" \t\n.,;:!?\"'“”‘’()[]*-–—|")
    if text[:9].lower() == "gemeente ":
        text = "gemeente " + text[9:]
    stripped = _ARTICLES.sub("", text, count=1) if text[:1].islower() else text
    if stripped[:4] in ("Het ", "The "):
        stripped = stripped[4:]
    return stripped or text


@lru_cache(maxsize=100_000)
def normalise_name(surface: str) -> str:
    """The comparison key of a name: folded, hyphens and punctuation as spaces, no
    leading article, "X (gemeente)" = "gemeente X" ("Welzijn-op-Recept" = "welzijn op recept")."""
    text = fold(clean_surface(surface))
    text = _ARTICLES.sub("", text, count=1)
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


_index_cache: dict[int, tuple[Vocabulary, dict[str, dict[str, Concept]]]] = {}


def _concept_index(vocab: Vocabulary) -> dict[str, dict[str, Concept]]:
    """Class label -> normalised SKOS label -> concept, built once per vocabulary."""
    hit = _index_cache.get(id(vocab))
    if hit is not None and hit[0] is vocab:
        return hit[1]
    index: dict[str, dict[str, Concept]] = {}
    for c in vocab.concepts.values():
        if c.pg_label is None:
            continue
        by_label = index.setdefault(c.pg_label, {})
        for label in c.labels:
            by_label.setdefault(normalise_name(label), c)
    if len(_index_cache) > 8:
        _index_cache.clear()
    _index_cache[id(vocab)] = (vocab, index)
    return index


@dataclass(slots=True)
class Resolution:
    """The outcome of resolving one surface form."""

    key: str
    name: str
    merge: Merge
    concept: Concept | None = None


class Resolver:
    """Resolves surface forms to natural keys, per class label, remembering what it saw.

    One resolver serves one document: `ingest.nlp.extract` creates it with the
    vocabulary and the names the store already holds, and every entity the document
    yields is registered so later mentions merge into it.
    """

    def __init__(
        self,
        vocab: Vocabulary | None = None,
        known: KnownEntities | None = None,
        threshold: float = FUZZY_THRESHOLD,
    ) -> None:
        self.vocab = vocab
        self.threshold = threshold
        # label -> normalised name -> (key, display name)
        self._exact: dict[str, dict[str, tuple[str, str]]] = {}
        self._concept_labels = _concept_index(vocab) if vocab is not None else {}
        for label, rows in (known or {}).items():
            for key, name, aliases in rows:
                self.add(label, key, name, aliases)

    def add(
        self, label: str, key: str, name: str, aliases: list[str] | tuple[str, ...] = ()
    ) -> None:
        """Make ``key`` known under its name and aliases (first registration wins)."""
        index = self._exact.setdefault(label, {})
        for surface in (key, name, *aliases):
            norm = normalise_name(surface)
            if norm:
                index.setdefault(norm, (key, name))

    def concept(self, label: str, surface: str) -> Concept | None:
        """The vocabulary concept of class ``label`` that ``surface`` names, if any."""
        index = self._concept_labels.get(label)
        if not index:
            return None
        return index.get(normalise_name(surface))

    def match(self, label: str, surface: str) -> Resolution:
        """Resolve ``surface`` for class ``label`` (see the module docstring for the rules)."""
        norm = normalise_name(surface)
        concept = self.concept(label, surface)
        if concept is not None:
            name = concept.pref_nl or concept.pref_en
            pref = {normalise_name(concept.pref_nl), normalise_name(concept.pref_en)}
            rule = "prefLabel" if norm in pref else "altLabel"
            self.add(label, name, name)
            return Resolution(name, name, Merge(surface, rule, 1.0), concept)
        index = self._exact.setdefault(label, {})
        hit = index.get(norm)
        if hit is not None:
            key, name = hit
            rule = "exact" if surface.strip() in (key, name) else "normalised"
            return Resolution(key, name, Merge(surface, rule, 1.0))
        fuzzy = self._fuzzy(index, norm)
        if fuzzy is not None:
            (key, name), score = fuzzy
            index.setdefault(norm, (key, name))
            return Resolution(key, name, Merge(surface, "fuzzy", round(score / 100, 3)))
        name = clean_surface(surface) or surface.strip()
        self.add(label, name, name, (surface,))
        return Resolution(name, name, Merge(surface, "new", 1.0))

    def resolve(self, label: str, surface: str) -> tuple[str, str, Merge]:
        """``(key, name, merge)`` for ``surface`` as an entity of class ``label``."""
        r = self.match(label, surface)
        return r.key, r.name, r.merge

    def _fuzzy(
        self, index: dict[str, tuple[str, str]], norm: str
    ) -> tuple[tuple[str, str], float] | None:
        if len(norm) < MIN_FUZZY_LENGTH or not index:
            return None
        digits = _DIGITS.findall(norm)

        def guard(other: str) -> bool:
            short, long_ = sorted((len(norm), len(other)))
            return short / long_ >= LENGTH_RATIO and _DIGITS.findall(other) == digits

        choices = [n for n in index if guard(n)]
        if not choices:
            return None
        best = process.extractOne(
            norm, choices, scorer=fuzz.token_sort_ratio, score_cutoff=self.threshold
        )
        if best is None:
            return None
        return index[best[0]], float(best[1])
