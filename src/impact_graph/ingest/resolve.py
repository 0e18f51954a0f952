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
4. ``restated`` — Goals only: one goal's words are the start of the other's, at least
   `MIN_GOAL_WORDS` words with a year among them ("in 2026 is het aantal meldingen van
   woonoverlast met 25% gedaald" and the same "ten opzichte van 2023"): the same target
   read in a plan and restated, with its baseline, in a council letter. Or their heads
   agree (`goal_head`: the words up to the first number that is not a year): the same
   year and target number ending both, and the shorter head's words found in order in
   the longer one with at most `MAX_HEAD_EXTRA` words more ("in 2027 is het aantal
   thuiszitters met 30% gedaald (ten opzichte van 94 in 2023) en ..." in the plan, "in
   2027 is het aantal thuiszitters in Lindenhoven met 30% gedaald ..." in its opdracht).
5. ``new`` — nothing matched: the cleaned surface becomes a new key.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
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

#: Words the shared start of two Goal names needs before they are one goal (rule 4):
#: fewer would join "in 2026 is het aantal ..." goals that differ in what they count.
MIN_GOAL_WORDS = 8
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
#: Words a goal's head may add to the other's and still state the same target: a place
#: ("in Lindenhoven") or a qualifier ("jaarlijks"), not a different thing counted.
MAX_HEAD_EXTRA = 3

_ARTICLES = re.compile(r"^(?:de|het|een|the|a|an|'t)\s+")
_NON_WORD = re.compile(r"[^\w&]+")
_DIGITS = re.compile(r"\d+")
_PAREN_GEMEENTE = re.compile(r"^(?P<name>.+?)\s*\(\s*gemeente\s*\)$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lower case without diacritics ("Cliënt" -> "client").

    Cached: the NLP rules fold the same words and labels over and over (~20,000 calls
    for the 79 demo documents, ~5% of extraction uncached)."""
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


def other_names(name: str, surfaces: Iterable[object]) -> list[str]:
    """The surfaces that are another name than ``name``, on one line, each once.

    A surface that normalises to the name or to an earlier one (another case, a hyphen
    for a space, the same words across a line break) tells a reader nothing:
    "GGD Lindenhoven-Oost" showed "ook: GGD Lindenhoven-Oost" on ``/kandidaten``. Used
    where aliases are made (`mapping.to_batch`) and where stored ones are read
    (`candidates.list_candidates`, for graphs written before).
    """
    seen = {normalise_name(name)}
    out: list[str] = []
    for surface in surfaces:
        text = " ".join(str(surface).split())
        norm = normalise_name(text)
        if text and norm not in seen:
            seen.add(norm)
            out.append(text)
    return out


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


class _LabelIndex:
    """Normalised names of one class, in first-registration order, for exact and fuzzy lookup.

    ``names[norm] = (seq, key, name)``; ``order`` lists the norms by ``seq``. For fuzzy
    matching, ``buckets`` groups the names by *shape* -- the norm's length and its
    numbers, the two things `_guard` requires to match -- each bucket holding parallel
    lists in registration order: ``seqs``, the norms, and each norm's words sorted
    (``token_sort_ratio(a, b)`` is ``ratio`` of the two word-sorted strings, so the
    sorting is done once per name instead of once per comparison).

    Why: a run's known names grow with every document, and fuzzy matching scans all
    names of an admissible shape for every new surface. Filtering them one by one in
    Python and letting rapidfuzz re-sort every candidate's words cost ~2.3 ms per
    surface at ~4,400 candidates (measured); with the buckets the scan is a slice per
    admissible shape and one C-level ``extractOne`` each. Still O(candidates) per
    surface, with a smaller constant. Only appends, so a reader that keeps to
    ``seq < n`` sees exactly the first ``n`` registrations while another thread adds.
    """

    __slots__ = ("buckets", "names", "order")

    def __init__(self) -> None:
        self.names: dict[str, tuple[int, str, str]] = {}
        self.order: list[str] = []
        self.buckets: dict[tuple[int, tuple[str, ...]], _Bucket] = {}

    def add(self, norm: str, key: str, name: str) -> None:
        """Register ``norm`` unless it is already known (first registration wins)."""
        if norm in self.names:
            return
        seq = len(self.order)
        self.names[norm] = (seq, key, name)
        shape = (len(norm), tuple(_DIGITS.findall(norm)))
        bucket = self.buckets.get(shape)
        if bucket is None:
            bucket = self.buckets[shape] = _Bucket()
        # Forms and norms before seqs: a reader bounds itself by seqs, so it never
        # indexes a form that is not there yet.
        bucket.forms.append(_sorted_words(norm))
        bucket.norms.append(norm)
        bucket.seqs.append(seq)
        self.order.append(norm)

    def add_row(self, key: str, name: str, aliases: Iterable[str]) -> None:
        for surface in (key, name, *aliases):
            norm = normalise_name(surface)
            if norm:
                self.add(norm, key, name)

    def get(self, norm: str, limit: int) -> tuple[str, str] | None:
        hit = self.names.get(norm)
        if hit is None or hit[0] >= limit:
            return None
        return hit[1], hit[2]

    def fuzzy_best(
        self, norm: str, digits: list[str], limit: int, cutoff: float
    ) -> tuple[float, int, str] | None:
        """``(score, seq, norm)`` of the best name among the first ``limit`` that pass
        the length and number guard, scoring ``token_sort_ratio`` at or above ``cutoff``;
        among equal scores the first registered (as one scan in registration order)."""
        size = len(norm)
        want = tuple(digits)
        form = _sorted_words(norm)
        best: tuple[float, int, str] | None = None
        lo, hi = math.ceil(size * LENGTH_RATIO), math.floor(size / LENGTH_RATIO)
        for length in range(max(lo - 1, 1), hi + 2):
            bucket = self.buckets.get((length, want))
            if bucket is None or not _length_ok(size, length):
                continue
            n = bisect_left(bucket.seqs, limit)
            if n == 0:
                continue
            # A better score than the best so far, or an equal one registered earlier.
            # extractOne refuses a score equal to its cutoff give or take ~1e-5 (checked:
            # 93.33 at cutoff 93.33 - 1e-6 is refused), so ask from a little below; it
            # returns the bucket's best, and a lower score loses the comparison below.
            floor = cutoff if best is None else max(cutoff, best[0] - 0.01)
            hit = process.extractOne(form, bucket.forms[:n], scorer=fuzz.ratio, score_cutoff=floor)
            if hit is None:
                continue
            score, seq = float(hit[1]), bucket.seqs[hit[2]]
            if best is None or score > best[0] or (score == best[0] and seq < best[1]):
                best = (score, seq, bucket.norms[hit[2]])
        return best


@lru_cache(maxsize=20_000)
def goal_head(norm: str) -> tuple[str, ...] | None:
    """The words of a normalised goal up to its first number that is not a year, when a
    year comes before that number ("in 2027 is het aantal thuiszitters met 30"); None
    for a goal without both. What a goal counts and its target, without its baseline,
    its explanation or a second target after it."""
    words = norm.split()
    seen_year = False
    for i, w in enumerate(words):
        if not w.isdigit():
            continue
        if _YEAR.fullmatch(w):
            seen_year = True
        elif seen_year:
            return tuple(words[: i + 1])
        else:
            return None
    return None


def _same_head(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> bool:
    """Rule 4's second test: the same year and target, the shorter head's words in order
    in the longer one, at least `MIN_GOAL_WORDS` of them, at most `MAX_HEAD_EXTRA` more."""
    if a is None or b is None:
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < MIN_GOAL_WORDS or len(long_) - len(short) > MAX_HEAD_EXTRA:
        return False
    if short[-1] != long_[-1] or [w for w in short if _YEAR.fullmatch(w)] != [
        w for w in long_ if _YEAR.fullmatch(w)
    ]:
        return False
    rest = iter(long_)
    return all(w in rest for w in short)  # a subsequence: each word found after the last


class _Bucket:
    """Names of one shape (length, numbers), registration order: see `_LabelIndex`."""

    __slots__ = ("forms", "norms", "seqs")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.forms: list[str] = []
        self.norms: list[str] = []


def _sorted_words(norm: str) -> str:
    """The words of ``norm`` sorted, as ``token_sort_ratio`` compares them."""
    return " ".join(sorted(norm.split()))


def _length_ok(a: int, b: int) -> bool:
    short, long_ = sorted((a, b))
    return short / long_ >= LENGTH_RATIO


class _KnownIndex:
    """`_LabelIndex` per class of one `KnownEntities` mapping, extended as it grows.

    The pipeline passes the same ``known`` mapping to every document and appends each
    document's entities to it; rebuilding the index per document made a run quadratic
    (every document re-normalised every name before it). This index remembers how many
    rows of each class it has taken and adds only the new ones. A class whose list
    shrank or whose last taken row changed (not an append) is rebuilt.
    """

    def __init__(self, known: KnownEntities) -> None:
        self.known = known
        self.labels: dict[str, _LabelIndex] = {}
        self._taken: dict[str, tuple[int, object]] = {}  # label -> (rows taken, last row)
        self._lock = threading.Lock()

    def sync(self) -> dict[str, int]:
        """Take the rows added since the last call; returns names visible per class."""
        with self._lock:
            for label, rows in list(self.known.items()):
                n, last = self._taken.get(label, (0, None))
                if len(rows) < n or (n and rows[n - 1] is not last):
                    n, self.labels[label] = 0, _LabelIndex()
                if len(rows) == n:
                    continue
                index = self.labels.setdefault(label, _LabelIndex())
                for key, name, aliases in rows[n:]:
                    index.add_row(key, name, aliases)
                self._taken[label] = (len(rows), rows[-1])
            return {label: len(index.order) for label, index in self.labels.items()}


_known_cache: dict[int, _KnownIndex] = {}
_known_lock = threading.Lock()


def _known_index(known: KnownEntities) -> _KnownIndex:
    """The index of ``known``, shared by every resolver given that same mapping."""
    with _known_lock:
        hit = _known_cache.get(id(known))
        if hit is not None and hit.known is known:
            return hit
        if len(_known_cache) >= 8:
            _known_cache.clear()
        built = _known_cache[id(known)] = _KnownIndex(known)
        return built


class Resolver:
    """Resolves surface forms to natural keys, per class label, remembering what it saw.

    One resolver serves one document: `ingest.nlp.extract` creates it with the
    vocabulary and the names the store already holds, and every entity the document
    yields is registered so later mentions merge into it.

    The known names live in a shared index (`_KnownIndex`) extended as ``known`` grows;
    this document's own names go to a private index consulted after it, which behaves
    exactly as one index filled with the known names first (first registration wins).
    """

    def __init__(
        self,
        vocab: Vocabulary | None = None,
        known: KnownEntities | None = None,
        threshold: float = FUZZY_THRESHOLD,
    ) -> None:
        self.vocab = vocab
        self.threshold = threshold
        self._concept_labels = _concept_index(vocab) if vocab is not None else {}
        self._known: dict[str, _LabelIndex] = {}
        self._limit: dict[str, int] = {}
        if known:
            shared = _known_index(known)
            self._limit = shared.sync()
            self._known = shared.labels
        # label -> this document's names (after the known ones)
        self._own: dict[str, _LabelIndex] = {}

    def _lookup(self, label: str, norm: str) -> tuple[str, str] | None:
        known = self._known.get(label)
        if known is not None:
            hit = known.get(norm, self._limit.get(label, 0))
            if hit is not None:
                return hit
        own = self._own.get(label)
        return own.get(norm, len(own.order)) if own is not None else None

    def _register(self, label: str, norm: str, key: str, name: str) -> None:
        if self._lookup(label, norm) is None:
            self._own.setdefault(label, _LabelIndex()).add(norm, key, name)

    def add(
        self, label: str, key: str, name: str, aliases: list[str] | tuple[str, ...] = ()
    ) -> None:
        """Make ``key`` known under its name and aliases (first registration wins)."""
        for surface in (key, name, *aliases):
            norm = normalise_name(surface)
            if norm:
                self._register(label, norm, key, name)

    def knows(self, label: str, surface: str) -> bool:
        """Whether ``surface`` names an entity of class ``label`` already known (store,
        earlier documents, this one), exactly or by rule 3; nothing is registered."""
        norm = normalise_name(surface)
        return bool(norm) and (
            self._lookup(label, norm) is not None or self._fuzzy(label, norm) is not None
        )

    def concept(self, label: str, surface: str) -> Concept | None:
        """The vocabulary concept of class ``label`` that ``surface`` names, if any."""
        index = self._concept_labels.get(label)
        if not index:
            return None
        return index.get(normalise_name(surface))

    def match(self, label: str, surface: str) -> Resolution:
        """Resolve ``surface`` for class ``label`` (see the module docstring for the rules)."""
        norm = normalise_name(surface)
        # The merge records the surface as one line: a name wrapped across a line break
        # ("GGD\nLindenhoven-Oost") is the same name, not an alias of it.
        written = " ".join(surface.split())
        concept = self.concept(label, surface)
        if concept is not None:
            name = concept.pref_nl or concept.pref_en
            pref = {normalise_name(concept.pref_nl), normalise_name(concept.pref_en)}
            rule = "prefLabel" if norm in pref else "altLabel"
            self.add(label, name, name)
            return Resolution(name, name, Merge(written, rule, 1.0), concept)
        hit = self._lookup(label, norm)
        if hit is not None:
            key, name = hit
            rule = "exact" if written in (key, name) else "normalised"
            return Resolution(key, name, Merge(written, rule, 1.0))
        fuzzy = self._fuzzy(label, norm)
        if fuzzy is not None:
            (key, name), score = fuzzy
            self._register(label, norm, key, name)
            return Resolution(key, name, Merge(written, "fuzzy", round(score / 100, 3)))
        if label == "Goal":
            restated = self._restated_goal(norm)
            if restated is not None:
                key, name = restated
                self._register(label, norm, key, name)
                return Resolution(key, name, Merge(written, "restated", 1.0))
        name = clean_surface(surface) or surface.strip()
        self.add(label, name, name, (surface,))
        return Resolution(name, name, Merge(written, "new", 1.0))

    def _restated_goal(self, norm: str) -> tuple[str, str] | None:
        """The Goal whose normalised name starts with ``norm`` or is the start of it
        (rule 4), known names first, then this document's; None if there is none."""
        words = norm.split()
        if len(words) < MIN_GOAL_WORDS:
            return None
        candidates: list[str] = []
        known = self._known.get("Goal")
        if known is not None:
            candidates += known.order[: self._limit.get("Goal", 0)]
        own = self._own.get("Goal")
        if own is not None:
            candidates += own.order[:]
        head = goal_head(norm)
        for other in candidates:
            short, long_ = (other, norm) if len(other) <= len(norm) else (norm, other)
            n = len(short.split())
            if n >= MIN_GOAL_WORDS and long_.split()[:n] == short.split() and _YEAR.search(short):
                return self._lookup("Goal", other)
            if head is not None and _same_head(head, goal_head(other)):
                return self._lookup("Goal", other)
        return None

    def resolve(self, label: str, surface: str) -> tuple[str, str, Merge]:
        """``(key, name, merge)`` for ``surface`` as an entity of class ``label``."""
        r = self.match(label, surface)
        return r.key, r.name, r.merge

    def _fuzzy(self, label: str, norm: str) -> tuple[tuple[str, str], float] | None:
        if len(norm) < MIN_FUZZY_LENGTH:
            return None
        digits = _DIGITS.findall(norm)
        # Known names first, then this document's: the order one index would list them,
        # so a known name wins a tie with one of this document's.
        best: tuple[float, str] | None = None
        known = self._known.get(label)
        if known is not None:
            hit = known.fuzzy_best(norm, digits, self._limit.get(label, 0), self.threshold)
            if hit is not None:
                best = (hit[0], hit[2])
        own = self._own.get(label)
        if own is not None:
            hit = own.fuzzy_best(norm, digits, len(own.order), self.threshold)
            if hit is not None and (best is None or hit[0] > best[0]):
                best = (hit[0], hit[2])
        if best is None:
            return None
        found = self._lookup(label, best[1])
        assert found is not None  # every candidate came from one of the two indexes
        return found, best[0]
