"""Pattern tables of the NLP stage: the Dutch-first words and regexes `ingest.nlp` uses.

Concept names (challenges, target groups, interventions, recognition levels, ...) come
from the SKOS vocabularies, never from here. What lives here is what no vocabulary holds:
how Dutch texts *name* organisations ("Stichting X", "GGD X", "X (gemeente)"), which
headings announce partner lists or working elements, effect verbs, study-design cue
words and the shapes of numbers, years and law references. Keeping the tables apart from
the rules makes them easy to review and extend without touching control flow.
"""

from __future__ import annotations

import re
import re._constants as _c  # the parsed form `start_lookahead` reads
import re._parser as _parser
from typing import Any

# --- names --------------------------------------------------------------------------

#: A capitalised name word ("Wadstede", "Lindenhoven-Oost", "ROC", "De"); pseudonyms of
#: private persons ("Persoon-3f2a") are never part of a name.
_CAP = r"(?!Persoon-)[A-ZÀ-Ý][\w'’&.-]*(?<![.-])"
#: Lower-case words allowed inside a name when a capitalised word follows ("Huis van de Wijk").
_LINK = r"(?:van|de|der|den|voor|op|het|'t)"
#: Space between name words: blanks, or one line break (PDF and wrapped Markdown text
#: break lines inside names: "GGD\nLindenhoven-Oost"); a blank line always ends a name.
_SP = r"(?:[ \t]+|[ \t]*\n[ \t]*)"
#: One to five name words.
NAME = rf"{_CAP}(?:{_SP}(?:{_LINK}{_SP})?{_CAP}){{0,4}}"
#: A name without lower-case link words (for "Welzijn X", so "Welzijn op Recept" is no org).
NAME_TIGHT = rf"{_CAP}(?:{_SP}{_CAP}){{0,3}}"

#: Words that, followed by a name, make an organisation ("Stichting Welzijn Wadstede").
ORG_HEADS: tuple[str, ...] = (
    "Stichting",
    "Vereniging",
    "Coöperatie",
    "GGD",
    "Politie",
    "Buurtteam",
    "Wijkteam",
    "Sociaal Wijkteam",
    "Jeugdteam",
    "Bibliotheek",
    "Hogeschool",
    "Universiteit",
    "ROC",
    "MBO",
    "OBS",
    "CBS",
    "PCBS",
    "RKBS",
    "IKC",
    "Basisschool",
    "Kindcentrum",
    "Zorggroep",
    "Jongerenwerk",
    "Huisartsenpraktijk",
    "Huisartsenpost",
    "Woningcorporatie",
    "Woonstichting",
    "Woningstichting",
    "Welzijn",
    "Sportbedrijf",
    "Werkbedrijf",
    "Zorgverzekeraar",
    "Ziekenhuis",
    "Gemeente",
    "Ministerie van",
    "Provincie",
    "Lectoraat",
    "Kenniscentrum",
    "Bureau",
    "Regionaal Bureau",
    "Samenwerkingsverband",
    "Veiligheidshuis",
    "Zorg- en Veiligheidshuis",
    "Energiecoöperatie",
    "Dorpsraad",
    "Wijkraad",
    "Buurtraad",
    "Regionaal Energieloket",
    "Energieloket",
    "Waterschap",
    "Jeugdfonds",
)

#: Endings of compound head words ("Ondernemersvereniging", "Havenbedrijf").
ORG_HEAD_SUFFIXES: tuple[str, ...] = (
    "stichting",
    "vereniging",
    "bedrijf",
    "praktijk",
    "groep",
    "verzekeraar",
    "corporatie",
    "fonds",
    "instituut",
    "centrum",
    "bureau",
    "platform",
    "coöperatie",
    "school",
    "college",
    "aanbieder",
)

#: Starts of compound organisation words ("Welzijnskwartier Lindenhoven",
#: "Jeugdzorgaanbieder De Wegwijzer"): a capitalised compound beginning with one of
#: these, followed by a name, names an organisation.
ORG_COMPOUND_PREFIXES: tuple[str, ...] = ("Welzijns", "Jeugdzorg", "Zorg")

#: Words that follow a name to make an organisation ("Kustland College", "Kustland Welzijn").
ORG_TAILS: tuple[str, ...] = ("Welzijn", "College", "Lyceum", "Wonen", "Zorg", "Thuiszorg")

#: Organisations known by a bare name (national institutes and services).
KNOWN_ORGS: tuple[str, ...] = (
    "Trimbos-instituut",
    "Movisie",
    "NJi",
    "Nederlands Jeugdinstituut",
    "RIVM",
    "Pharos",
    "ZonMw",
    "UWV",
    "Halt",
    "VluchtelingenWerk",
    "VluchtelingenWerk Nederland",
    "Vluchtelingenwerk",
    "COA",
    "DUO",
    "SCP",
    "Sociaal en Cultureel Planbureau",
    "Verwey-Jonker Instituut",
    "Kenniscentrum Sport & Bewegen",
    "Loket Gezond Leven",
    "Veilig Thuis",
    "Leger des Heils",
    "Humanitas",
    "Rode Kruis",
    "Nationale Ombudsman",
    "Raad voor de Kinderbescherming",
    "Zorginstituut Nederland",
    "Sociale Verzekeringsbank",
    "Centraal Bureau voor de Statistiek",
    "Nederlands Centrum Jeugdgezondheid",
    "JOGG",
)


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


#: "Stichting X", "GGD X", "gemeente X" (head case-insensitive on its first letter).
_HEADS_ANY_CASE = "|".join(
    f"[{w[0].upper()}{w[0].lower()}]{re.escape(w[1:])}" for w in ORG_HEADS if w != "Welzijn"
)
#: Their first letters, both cases: the regex looks at a word's first letter before it
#: tries ~60 heads there (same matches, ~40% less time).
_HEADS_FIRST = "".join(
    sorted({c for w in ORG_HEADS if w != "Welzijn" for c in (w[0].upper(), w[0].lower())})
)
ORG_HEAD_RE = re.compile(
    rf"\b(?=[{_HEADS_FIRST}])(?P<head>(?:{_HEADS_ANY_CASE})){_SP}(?P<name>{NAME})"
)
#: "Welzijn X" (tight: no link words).
ORG_WELZIJN_RE = re.compile(rf"\bWelzijn[ \t]+(?P<name>{NAME_TIGHT})")
#: "Havenbedrijf Kustland", "Ondernemersvereniging Wadstede".
ORG_COMPOUND_RE = re.compile(
    rf"\b(?P<head>[A-Z][a-zà-ÿ]+(?:{_alt(ORG_HEAD_SUFFIXES)}))[ \t]+(?P<name>{NAME})"
)
#: "Welzijnskwartier Lindenhoven" (compound starting with an organisation stem).
ORG_PREFIX_RE = re.compile(
    rf"\b(?P<head>(?:{_alt(ORG_COMPOUND_PREFIXES)})[a-zà-ÿ]{{4,}})[ \t]+(?P<name>{NAME})"
)
#: "Politie, basisteam Lindenhoven-Noord": how Dutch texts name a police team.
POLICE_RE = re.compile(
    rf"\b[Pp]olitie,?[ \t]+(?:basisteam|district|eenheid|team)[ \t]+(?P<name>{NAME_TIGHT})"
)
#: "wethouder zorg en welzijn", "Wethouder Marloes Brink (zorg en welzijn)": an alderman
#: is named by portfolio; the portfolio is lower-case nouns, at most "x, y en z".
_PORTFOLIO = r"[a-zà-ÿ]{3,}(?:(?:,[ \t]*|[ \t]+en[ \t]+)(?!de\b|het\b|een\b)[a-zà-ÿ]{3,}){0,2}"
WETHOUDER_RE = re.compile(
    rf"\b[Ww]ethouder[ \t]+(?:(?P<portfolio>{_PORTFOLIO})"
    rf"|{NAME_TIGHT}[ \t]*\((?P<portfolio2>{_PORTFOLIO})\))"
)
#: Words that never start a portfolio ("wethouder is ...", "wethouder van ...").
_NOT_PORTFOLIO = """van voor die dat met is was heeft had wordt werd zal kan moet neemt gaat
zijn bespreekt stelt vraagt wil legt en of als ook"""
NOT_PORTFOLIO: frozenset[str] = frozenset(_NOT_PORTFOLIO.split())
#: A titled course or method: 'de training "Signaleren van eenzaamheid"'.
TITLED_INTERVENTION_RE = re.compile(
    r"\b(?P<head>training|cursus|workshop|methodiek|methode|programma)[ \t]+"
    r"[\"“„'‘](?P<title>[A-ZÀ-Ý][^\"”'’\n]{2,60})[\"”'’]"
)

#: "Kustland College", "Kustland Welzijn".
ORG_TAIL_RE = re.compile(rf"\b(?P<name>{NAME_TIGHT})[ \t]+(?P<tail>{_alt(ORG_TAILS)})\b")
#: "Utrecht (gemeente)".
GEMEENTE_PAREN_RE = re.compile(rf"\b(?P<name>{NAME_TIGHT})[ \t]*\((?:[Gg]emeente)\)")
#: Known organisations, case-sensitive (so "halt" the verb is no org).
KNOWN_ORG_RE = re.compile(rf"(?<![\w-])(?:{_alt(KNOWN_ORGS)})(?![\w-])")
#: "Universiteit Utrecht", "Erasmus Universiteit", "University of X".
UNIVERSITY_RE = re.compile(
    rf"\b(?:{NAME_TIGHT}[ \t]+(?:Universiteit|University|Hogeschool)"
    rf"|University of[ \t]+{NAME_TIGHT})"
)

#: "wijk Zeezicht", "de wijk Oude Haven".
WIJK_RE = re.compile(rf"\b(?:wijk|buurt|dorp|stadsdeel)[ \t]+(?P<name>{NAME_TIGHT})")
#: "in de gemeente Wadstede", "municipality of Wadstede".
IN_GEMEENTE_RE = re.compile(
    rf"\b(?:in|van|binnen)[ \t]+de[ \t]+gemeente[ \t]+(?P<name>{NAME_TIGHT})"
    rf"|\b[Mm]unicipality[ \t]+of[ \t]+(?P<name_en>{NAME_TIGHT})"
)
#: A group defined by a minimum age: "vrouwen van 55 jaar en ouder", "adults aged 65 and
#: over" (the head a plural word for people).
AGE_GROUP_RE = re.compile(
    r"(?i)\b(?:vrouwen|mannen|mensen|inwoners|bewoners|personen|ouders|huishoudens)"
    r"[ \t]+van[ \t]+\d{2}[ \t]+jaar[ \t]+(?:en|of)[ \t]+ouder\b"
    r"|\b(?:women|men|people|adults|residents)[ \t]+aged[ \t]+\d{2}[ \t]+"
    r"(?:and|or)[ \t]+(?:over|older)\b"
)
#: The age of a story's subject: "Mevrouw Jansen is 81 jaar", "ik ben 34 jaar", "he is 15
#: years old" (not "52 jaar geleden", "al 52 jaar").
STORY_AGE_RE = re.compile(
    r"(?i)\b(?:is|ben|was|am)[ \t]+(?P<age>\d{1,3})[ \t]+(?:jaar|years(?:[ \t]+old)?)\b"
    r"(?![ \t]+(?:geleden|ago|getrouwd|married))"
)
#: Age bands that name a target group (prefLabels in target-groups.ttl); adults none.
AGE_GROUPS: tuple[tuple[int, int, str], ...] = (
    (0, 11, "kinderen"),
    (12, 23, "jongeren"),
    (65, 130, "ouderen"),
)
#: "samen met", "in samenwerking met", "werkt samen met", "together with": what follows
#: are the partners of what precedes.
COLLAB_WITH_RE = re.compile(
    r"(?i)\bsamen[ \t]+met\b|\bsamenwerking[ \t]+met\b|\btogether[ \t]+with\b"
)
#: A collaboration without a "met": "Halt en het jongerenwerk werken samen".
COLLAB_RE = re.compile(r"(?i)\bwerk\w*[ \t]+samen\b|\bsamenwerk\w*|\bcollaborat\w*|\bpartners?\b")
#: The writer as subject ("we", "wij"): in a municipality's text, the municipality.
WE_RE = re.compile(r"(?i)\b(?:we|wij)\b")
#: Kinds of text in which a programme's interventions are the ones it uses (its plans).
USES_KINDS = frozenset({"plan"})
#: Headings of sections about knowledge or practice elsewhere, not the programme's own.
ELSEWHERE_SECTION_RE = re.compile(
    r"(?i)wetenschap|onderzoek|literatuur|elders|wat werkt|evidence|research|kennis"
)
#: Headings of the section that says whom an intervention or programme is for.
TARGET_SECTION_RE = re.compile(r"(?i)\bdoelgroepe?n?\b|voor wie|target group|population")
#: A programme's name may also join words with "en" and "in": programmes are named like
#: slogans ("Warm en Zuinig Bergveld", "Gezond Opgroeien in Lindenhoven"), and stopping
#: there made "Warm" and "Gezond Opgroeien" programmes of their own beside the full names.
#: (Organisation names keep `NAME`: "Gemeente X en GGD Y" are two.) The price: a place
#: adjunct after a name ("programma X in Wadstede") is read as part of it.
PROGRAMME_NAME = rf"{_CAP}(?:{_SP}(?:(?:{_LINK}|en|in){_SP})?{_CAP}){{0,5}}"
#: "het programma Samen Minder Alleen", "programme X".
PROGRAMME_RE = re.compile(
    rf"\b(?:[Pp]rogramma|[Pp]rogramme|[Pp]roject|[Aa]anpak)[ \t]+(?P<name>{PROGRAMME_NAME})"
)

#: Words that are capitalised but never a name on their own (sentence starts, months).
_NOT_NAMES = """de het een en of in op van voor met als dat die dit deze wij we ze zij hij ik
the a an and of in on for with this that januari februari maart april mei juni juli augustus
september oktober november december organisatie partner rol role naam"""
NOT_NAMES: frozenset[str] = frozenset(_NOT_NAMES.split())

# --- sections -----------------------------------------------------------------------

#: Heading cues (matched on the normalised heading) per section role.
SECTION_CUES: dict[str, tuple[str, ...]] = {
    "partners": (
        "met wie",
        "partners",
        "samenwerkingspartners",
        "netwerk",
        "betrokken partijen",
        "betrokken organisaties",
        "stakeholders",
        "uitvoerders",
        "wie doen mee",
        "samenwerking",
        "partnership",
    ),
    "elements": (
        "werkzame elementen",
        "werkzame factoren",
        "working elements",
        "active ingredients",
    ),
    "interventions": (
        "interventies",
        "wat we doen",
        "wat we deden",
        "wat doen we",
        "activiteiten",
        "aanbod",
        "maatregelen",
        "interventions",
        "what we do",
    ),
    "funding": (
        "financiering",
        "middelen",
        "met welke middelen",
        "begroting",
        "budget",
        "funding",
        "dekking",
    ),
    "goals": ("doelen", "doel", "ambitie", "ambities", "doelstellingen", "goals", "resultaten"),
}

#: Words that name a theme or field of work, not a way of working: a list item led by one
#: of them ("**Renovatie.** Kustwonen begon met ...", "**Wonen**: ...") is a heading over
#: what was done, not the name of an intervention. Section headings and vocabulary
#: concepts of other classes ("**Jongeren.**": a target group) are refused by their own
#: rules (see ``nlp._Run._generic_item_name``); this list holds the ordinary nouns.
_GENERIC_THEMES = """renovatie renovaties onderhoud verbouwing nieuwbouw woningbouw sloop
wonen huisvesting woningen groen verlichting inrichting veiligheid handhaving zorg welzijn
onderwijs school werk sport cultuur communicatie monitoring evaluatie onderzoek organisatie
governance sturing planning vervolg overig algemeen inleiding achtergrond context
samenvatting conclusie conclusies aanleiding opbrengst opbrengsten lessen knelpunten
resultaat resultaten cijfers data housing renovation maintenance safety care education
research background summary conclusion results other general"""
GENERIC_THEMES: frozenset[str] = frozenset(
    [*_GENERIC_THEMES.split(), "openbare ruimte", "vrije tijd", "public space"]
)

#: A paragraph that announces a list of working elements ("komen vier werkzame elementen
#: naar voren:", "Werkzame elementen zijn:", "identified four working elements:").
ELEMENTS_INTRO_RE = re.compile(r"(?i)(werkzame elementen|working elements)[^.:]*:")

#: Separators between a partner's name and its role in a list item.
ROLE_SEP_RE = re.compile(r"\s+[—–-]\s+|\s*\|\s*|:\s+|\s+\(")

#: Verbs that state funding ("Zorgverzekeraar Zilverzee droeg € 40.000 bij").
_FUNDING_WORDS = (
    r"(financier\w*|gefinancierd|subsidie\w*|draagt\b.*\bbij|droeg\b.*\bbij|"
    r"bijdrage|betaalt|betaald door|funded|funds|sponsor\w*)"
)
#: First letters of `_FUNDING_WORDS`, checked before the alternatives (same matches,
#: less time per sentence; tests/test_nlp.py checks the set is complete).
FUNDING_FIRST_LETTERS = "bdfgs"
FUNDING_RE = re.compile(rf"(?i)\b(?=[{FUNDING_FIRST_LETTERS}]){_FUNDING_WORDS}")

# --- effects ------------------------------------------------------------------------

#: Effect verb phrases → direction of change of the named outcome ("+", "−", "0").
#: Longer phrases first; ``{GAP}`` allows a few words between verb and particle.
_GAP = r"(?:\s+\S+){0,4}?"
#: A finding's verb between "geen effect" and its outcome ("er is geen effect gevonden op
#: de schoolprestaties", "no effect was found on ...").
_FOUND = r"(?:gevonden|aangetoond|vastgesteld|gemeten)"
_FOUND_EN = r"(?:was\s+|were\s+)?(?:found|observed|shown|detected)"
#: Nouns of a decrease or an increase after "leidt tot", "zorgt voor", "resulted in":
#: "leidde tot een afname van het verzuim", "resulted in a reduction in ...".
_DOWN_NOUN = r"(?:afname|daling|vermindering|reductie|verlaging)"
_UP_NOUN = r"(?:toename|stijging|verbetering|verhoging|groei)"
_CAUSE_NL = (
    rf"(?:leidt|leidde|leiden|leidden){_GAP}\s+tot|(?:zorgt|zorgde|zorgen|zorgden){_GAP}\s+voor"
    rf"|(?:resulteert|resulteerde|resulteren|resulteerden){_GAP}\s+in"
)
_REPORT = (
    r"rapporte(?:ert|erde|erden|ren)|meld(?:t|en|de|den)|ervaart|ervoeren|report(?:s|ed)?"
    rf"|experienc(?:es|ed)|(?:geeft|geven|gaf|gaven){_GAP}\s+aan\s+dat"
)
_CAUSE_EN = r"(?:leads?|led|results?|resulted)\s+(?:to|in)"
EFFECT_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"heeft\s+geen(?:\s+(?:significant|aantoonbaar|meetbaar))?e?\s+effect\s+op", "0"),
    (r"(?:had|hebben|hadden)\s+geen(?:\s+\w+)?\s+effect\s+op", "0"),
    (rf"geen(?:\s+(?:significant|aantoonbaar|meetbaar))?e?\s+effect\s+(?:{_FOUND}\s+)?op", "0"),
    (r"(?:had|has|have|showed)\s+no(?:\s+significant)?\s+effect\s+on", "0"),
    (rf"no(?:\s+significant)?\s+effect\s+(?:{_FOUND_EN}\s+)?on", "0"),
    # "leidde tot een afname van X", "zorgde voor een stijging van X", "resulted in a
    # reduction in X"; "leidt tot gewichtsverlies" (a compound that is itself a decrease).
    (rf"(?:{_CAUSE_NL})\s+(?:een\s+)?(?:\w+\s+)?{_DOWN_NOUN}\s+van", "−"),
    (rf"(?:{_CAUSE_NL})\s+(?:een\s+)?(?:\w+\s+)?{_UP_NOUN}\s+van", "+"),
    (rf"(?:{_CAUSE_NL})(?=\s+(?:een\s+)?\w+(?:verlies|daling|afname|reductie)\b)", "−"),
    (
        rf"{_CAUSE_EN}\s+(?:an?\s+)?(?:\w+\s+)?(?:decrease|reduction|decline|drop|fall)\s+(?:in|of)",
        "−",
    ),
    (rf"{_CAUSE_EN}\s+(?:an?\s+)?(?:\w+\s+)?(?:increase|improvement|rise)\s+(?:in|of)", "+"),
    # "gaven een lagere score op de eenzaamheidsschaal", "scoorden hoger op", "scored
    # lower on": the direction of the scale's outcome.
    (r"een\s+lagere\s+scores?\s+op|lagere\s+scores?\s+op|scoor(?:t|de|den|en)\s+lager\s+op", "−"),
    (r"een\s+hogere\s+scores?\s+op|hogere\s+scores?\s+op|scoor(?:t|de|den|en)\s+hoger\s+op", "+"),
    (r"a\s+lower\s+scores?\s+on|lower\s+scores?\s+on|scor(?:es|ed)\s+lower\s+on", "−"),
    (r"a\s+higher\s+scores?\s+on|higher\s+scores?\s+on|scor(?:es|ed)\s+higher\s+on", "+"),
    # What participants or others report: "Kinderen rapporteren na de training minder
    # angstklachten", "deelnemers geven aan dat zij meer sociale contacten hebben",
    # "deelnemers ervaren meer steun", "participants reported less stress".
    # ("ervaren" only right before the comparative: it is also the adjective "experienced".)
    (rf"(?:{_REPORT}){_GAP}\s+(?:minder|less|fewer)|ervaren\s+(?:\w+\s+)?minder", "−"),
    (rf"(?:{_REPORT}){_GAP}\s+(?:meer|more)|ervaren\s+(?:\w+\s+)?meer", "+"),
    (r"(?:heeft|hebben|had|hadden)\s+een\s+(?:\w+\s+)?positief\s+effect\s+op", "+"),
    (r"(?:heeft|hebben|had|hadden)\s+een\s+(?:\w+\s+)?negatief\s+effect\s+op", "−"),
    (r"positive\s+effect\s+on", "+"),
    (r"negative\s+effect\s+on", "−"),
    (rf"(?:{_CAUSE_NL})\s+(?:minder|lagere?|een\s+daling)", "−"),
    (
        rf"(?:{_CAUSE_NL})\s+(?:meer|hogere?|betere?|een\s+stijging)",
        "+",
    ),
    (
        r"(?:gaat|ging|gingen|samengaat|samenging)\s+(?:samen\s+)?met\s+(?:minder|lagere?|een\s+daling)",
        "−",
    ),
    (
        r"(?:gaat|ging|gingen|samengaat|samenging)\s+(?:samen\s+)?met\s+(?:meer|hogere?|een\s+stijging)",
        "+",
    ),
    (r"(?:draagt|droeg|dragen|droegen)\s+bij\s+aan\s+(?:minder|een\s+vermindering\s+van)", "−"),
    (r"(?:draagt|droeg|dragen|droegen)\s+bij\s+aan", "+"),
    (r"verminder(?:t|de|den|en)|verlaag(?:t|de|den|en)|reduceer(?:t|de)|voorkom(?:t|en)", "−"),
    (
        r"verhoog(?:t|de|den|en)|verbeter(?:t|de|den|en)|vergro(?:ot|otte|ten)|versterk(?:t|te|ten)",
        "+",
    ),
    (r"was\s+associated\s+with\s+(?:reduced|lower|less|decreased)", "−"),
    (r"was\s+associated\s+with\s+(?:improved|higher|more|increased|better)", "+"),
    (r"associated\s+with\s+(?:reduced|lower|less|decreased)", "−"),
    (r"associated\s+with\s+(?:improved|higher|more|increased|better)", "+"),
    (rf"{_CAUSE_EN}\s+(?:less|lower|fewer|reduced)", "−"),
    (rf"{_CAUSE_EN}\s+(?:more|higher|better|improved)", "+"),
    (r"reduc(?:es|ed)|decreas(?:es|ed)|lower(?:s|ed)|prevent(?:s|ed)", "−"),
    (r"improv(?:es|ed)|increas(?:es|ed)|strengthen(?:s|ed)|enhanc(?:es|ed)", "+"),
)


def _starts(items: list[Any], k: int) -> set[str]:
    """The lower-case texts of up to ``k`` characters a parsed regex can start with
    (" " for any whitespace); a construct this does not read ends the text there, so
    the set always covers every real start (it may be coarser, never too narrow)."""
    if k == 0 or not items:
        return {""}
    (op, av), rest = items[0], items[1:]
    if op is _c.LITERAL:
        first = " " if chr(av).isspace() else chr(av).lower()
        return {first + t for t in _starts(rest, k - 1)}
    if op is _c.IN and av == [(_c.CATEGORY, _c.CATEGORY_SPACE)]:
        return {" " + t for t in _starts(rest, k - 1)}
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):  # zero width: "\b", "(?=...)"
        return _starts(rest, k)
    if op is _c.SUBPATTERN:
        return _starts([*av[-1], *rest], k)
    if op is _c.BRANCH:
        return set().union(*(_starts([*alt, *rest], k) for alt in av[1]))
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        lo, hi, sub = av
        out = _starts(rest, k) if lo == 0 else set()
        if hi != 0:
            more = hi is _c.MAXREPEAT or hi > 1
            again = [(op, (max(lo - 1, 0), hi if hi is _c.MAXREPEAT else hi - 1, sub))]
            out |= _starts([*sub, *(again if more else []), *rest], k)
        return out
    return {""}


def start_lookahead(patterns: list[str], k: int = 4) -> str:
    """A case-insensitive lookahead that holds wherever one of ``patterns`` can match:
    a trie of their first ``k`` characters ("(?=h(?:a(?:d\\s|...)|e...)|...)"), or ""
    when one of them can start with anything.

    Why: the regex engine tries every alternative of a long alternation at every
    position. The trie fails at once where no phrase starts, so only the few places
    that begin like a phrase try them: the same matches in a fraction of the time."""
    starts = set().union(*(_starts(list(_parser.parse(p)), k) for p in patterns))
    trie: dict[str, Any] = {}
    for text in sorted(starts, key=len):
        node = trie
        for ch in text:
            if node.get("") is not None:
                break  # a shorter start already covers this one
            node = node.setdefault(ch, {})
        else:
            node.clear()
            node[""] = {}
    if "" in trie:
        return ""

    def alternatives(node: dict[str, Any]) -> str:
        parts = []
        for ch, sub in sorted(node.items()):
            if ch == "":
                return ""  # a covered start: nothing more to check
            rest = alternatives(sub)
            head = r"\s" if ch == " " else re.escape(ch)
            parts.append(head + (f"(?:{rest})" if "|" in rest else rest))
        return "|".join(parts)

    return f"(?=(?:{alternatives(trie)}))"


#: `EFFECT_RE` checks `EFFECT_START` (the phrases' possible first four characters, as a
#: trie) before trying its ~35 alternatives: the same matches, ~3x less time than trying
#: them at every word that starts with one of their first letters (that was ~5% of
#: extracting a generated plan, ~8% of the demo corpus). Derived from the phrases, so a
#: new phrase needs nothing else; tests/test_nlp.py compares it with the plain regex.
EFFECT_START = start_lookahead([p for p, _ in EFFECT_PATTERNS])
#: The same alternatives without the lookahead (what `EFFECT_RE` must equal).
EFFECT_ALTERNATIVES = (
    # Each phrase is grouped before the word boundaries: a phrase of alternatives
    # ("verhoog(...)|verbeter(...)|...") would otherwise bind them to its first and last
    # alternative only, and "verbeterden" matched as "verbeterde" with outcome "n".
    "|".join(f"(?P<e{i}>\\b(?:{p})\\b)" for i, (p, _) in enumerate(EFFECT_PATTERNS))
)
EFFECT_RE = re.compile(rf"\b{EFFECT_START}(?:{EFFECT_ALTERNATIVES})", re.IGNORECASE)

#: Negations that turn a stated effect into "no effect" when they sit in the verb phrase.
NEGATION_RE = re.compile(r"(?i)\b(niet|geen|not|no|nauwelijks|never|nooit)\b")

#: Magnitudes: effect sizes, percentages, percentage points, before/after scores.
MAGNITUDE_RE = re.compile(
    r"(?i)(?:cohen'?s\s+)?\b(?:d|g|OR|RR|HR|r)\s*=\s*-?\d+(?:[.,]\d+)?"
    r"|\b\d+(?:[.,]\d+)?\s*(?:procentpunt(?:en)?|percentage\s*points?)"
    r"|-?\d+(?:[.,]\d+)?\s*(?:%|procent|percent)"
    r"|\bvan\s+\d+(?:[.,]\d+)?\s+naar\s+\d+(?:[.,]\d+)?"
    r"|\bfrom\s+\d+(?:[.,]\d+)?\s+to\s+\d+(?:[.,]\d+)?"
)

#: Where an outcome noun phrase ends after an effect verb: punctuation, conjunctions and
#: prepositions; the size ("by 7%", "met 12 procentpunt"); a comparison ("ten opzichte
#: van eerst taal": what it is compared with, no outcome); an adverb after the object
#: ("de kans op werk dus met ..."); the verb of a passive clause ("No effect on
#: electricity use was found").
OUTCOME_STOP_RE = re.compile(
    r"(?i)[,;:.()\[\]|]|\s(?:en|maar|omdat|doordat|bij|onder|in|dan|terwijl|and|but|among|in|"
    r"than|because|with|met|na|after|volgens|zodat|waardoor|by|door|"
    r"ten\s+opzichte\s+van|vergeleken\s+met|compared\s+(?:to|with)|relative\s+to|"
    r"dus|ook|daardoor|daarmee|echter|wel|thus|also|however|"
    r"was|were|is|are|werd|werden|wordt|worden)\s"
)

#: Outcome-first statements: "<outcome> daalde/nam af" with the document's intervention.
#: Present tense too ("de kwaliteit van leven verbetert"), a comparison with the period
#: before ("The number of GP consultations ... was 14% lower", "lag 10% hoger") and the
#: infinitive after a perception verb ("zagen het aantal consulten met 14% dalen").
#: "verbetert"/"improved" only where the clause ends or a size follows: with an object
#: after it ("X verbetert de Y") the subject is no outcome, and the effect-verb rule reads it.
_CLAUSE_END = r"(?=\s*(?:[.,;:)]|$)|\s+(?:met|van|na|bij|sterk|flink|licht|duidelijk|by|after)\b)"
_OUTCOME_CHANGE_WORDS = (
    r"(?P<verb>daalde|daalden|daalt|dalen|nam\s+af|namen\s+af|neemt\s+af|nemen\s+af|"
    r"steeg|stegen|stijgt|stijgen|nam\s+toe|namen\s+toe|neemt\s+toe|nemen\s+toe|"
    rf"(?:verbeter|verslechter)(?:t|de|den){_CLAUSE_END}|"
    r"(?:was|were|waren|lag|lagen)\s+(?:\S+\s+){0,3}?(?:lower|higher|lager|hoger)|"
    rf"(?:improved|worsened){_CLAUSE_END}|"
    r"decreased|declined|fell|increased|rose)"
)
OUTCOME_CHANGE_FIRST_LETTERS = "dfilnrsvw"  # as FUNDING_FIRST_LETTERS
OUTCOME_CHANGE_RE = re.compile(
    rf"(?i)\b(?=[{OUTCOME_CHANGE_FIRST_LETTERS}]){_OUTCOME_CHANGE_WORDS}\b"
)
OUTCOME_CHANGE_DIRECTION: dict[str, str] = {
    "daalde": "−",
    "daalden": "−",
    "nam af": "−",
    "namen af": "−",
    "decreased": "−",
    "declined": "−",
    "fell": "−",
    "steeg": "+",
    "stegen": "+",
    "nam toe": "+",
    "namen toe": "+",
    "increased": "+",
    "rose": "+",
}
#: The last word of the other outcome-first verbs → direction.
_OUTCOME_CHANGE_LAST: dict[str, str] = {
    "daalt": "−",
    "dalen": "−",
    "af": "−",
    "lower": "−",
    "lager": "−",
    "worsened": "−",
    "stijgt": "+",
    "stijgen": "+",
    "toe": "+",
    "higher": "+",
    "hoger": "+",
    "improved": "+",
}


def outcome_change_direction(verb: str) -> str:
    """Direction of an `OUTCOME_CHANGE_RE` verb (lower-cased, single-spaced), "" if none."""
    if verb in OUTCOME_CHANGE_DIRECTION:
        return OUTCOME_CHANGE_DIRECTION[verb]
    if verb.startswith("verbeter"):
        return "+"
    if verb.startswith("verslechter"):
        return "−"
    return _OUTCOME_CHANGE_LAST.get(verb.rsplit(" ", 1)[-1], "")


#: A second claim coordinated after an effect's outcome ("samengaat met minder
#: eenzaamheidsgevoelens en met een daling van het aantal huisartsbezoeken", "reduced
#: loneliness and fewer GP visits"): its direction word; the outcome follows.
COORDINATED_EFFECT_RE = re.compile(
    r"(?i)\s*,?\s*(?:en|and)\s+(?:met\s+|with\s+|tot\s+|to\s+)?(?:"
    r"(?P<down>minder|lagere?|fewer|less|lower|reduced|"
    r"een\s+(?:daling|afname|vermindering)\s+van|an?\s+(?:decrease|reduction|decline)\s+in)"
    r"|(?P<up>meer|hogere?|betere?|more|higher|better|improved|increased|"
    r"een\s+(?:stijging|toename|verbetering)\s+van|an?\s+(?:increase|improvement)\s+in))\b"
)

#: A statement that is no finding: a question, a goal or a possibility ("zou kunnen
#: leiden tot", "we willen dat ... daalt", "this could reduce"). Checked on the sentence
#: up to the effect's verb, where Dutch and English put the modal.
UNREAL_RE = re.compile(
    r"(?i)\b(?:zou|zouden|zal|zullen|kan|kunnen|moet|moeten|wil|willen|mogen|hopen|hoop|"
    r"verwacht\w*|beoog\w*|streven|streeft|doel|doelen|doelstelling\w*|ambitie\w*|indien|"
    r"mits|could|would|should|might|may|will|can|aims?|hopes?|expect\w*|goals?|if|"
    r"targets?(?!\s+groups?))\b"
)
#: "Op het elektriciteitsverbruik werd geen effect gevonden": the outcome before a
#: finding of no effect (the effect phrases read "geen effect (gevonden) op X" after it).
NO_EFFECT_ON_RE = re.compile(
    r"(?i)\b(?:op|on)\s+(?P<outcome>[^,;:.()]{2,80}?)\s+(?:werd|werden|is|zijn|was|were)\s+"
    r"(?:er\s+)?geen(?:\s+(?:significant|aantoonbaar|meetbaar))?e?\s+effect\w*\s+"
    r"(?:gevonden|aangetoond|vastgesteld|gemeten)\b"
)

# --- evidence -----------------------------------------------------------------------

#: Study-design cue → (evidence type label, as in the evidence-types vocabulary).
DESIGN_CUES: tuple[tuple[str, str], ...] = (
    (r"\bmeta-?analys[ei]s?\b|\bmeta-?analyse\b", "meta-analyse"),
    (r"\bsystematische\s+review\b|\bsystematic\s+review\b", "systematische review"),
    (r"\bRCTs?\b|\bgerandomiseerd\w*|\brandomi[sz]ed\s+controlled\s+trial", "RCT"),
    (r"\bquasi-?experimente\w*", "quasi-experimenteel onderzoek"),
    (
        r"\bpre-?post\w*|\bvoor-\s*en\s+nameting|\bvoormeting\b.*\bnameting\b|\bbefore-?and-?after\b",
        "voor- en nameting",
    ),
    (r"\bprocesevaluatie\b|\bprocess\s+evaluation\b", "procesevaluatie"),
    (r"\bcohort\w*", "cohortonderzoek"),
    (
        r"\bkwalitatie\w*\s+onderzoek|\bqualitative\s+(?:study|research)|\binterviews\b",
        "kwalitatief onderzoek",
    ),
    (r"\bpraktijkverha\w+", "praktijkverhaal"),
    (r"\bklantreis\w*|\bcustomer\s+journey", "klantreis"),
)
DESIGN_RE = [(re.compile(p, re.IGNORECASE), label) for p, label in DESIGN_CUES]
#: Any design cue: one scan tells whether a sentence needs the ten separate ones.
DESIGN_ANY_RE = re.compile("|".join(f"(?:{p})" for p, _ in DESIGN_CUES), re.IGNORECASE)

#: Words that show a sentence speaks of a recognition (a databank, a rating, a register).
#: A level label that is also an ordinary word or phrase ("Effective", "Model",
#: "Promising", "Level 2", "under review") counts only in such a sentence; the Dutch
#: ladder's own strings ("Goed beschreven", "Effectief volgens goede aanwijzingen") and
#: labels of three or more words count anywhere.
RECOGNITION_CUE_RE = re.compile(
    r"(?i)erken|databank|database|recogni[sz]|\brated\b|\brating|beoordeel|register"
    r"|blueprints|crimesolutions|\bEIF\b|foundations|guidebook"
)

#: Publication years in research texts ("Year: 2025", "(2023)").
YEAR_RE = re.compile(r"\b(?:19[5-9]\d|20[0-4]\d)\b")
SAMPLE_RE = re.compile(r"(?i)\bn\s*=\s*(\d[\d.]*)")

# --- goals --------------------------------------------------------------------------

#: A goal: a year with a target ("In 2027 30% minder thuiszitters", "uiterlijk 2030 ...").
GOAL_YEAR_RE = re.compile(
    r"(?i)\b(?:in|uiterlijk|vóór|voor|tegen|eind|einde|per|by|in\s+het\s+jaar)\s+(?P<year>20[2-5]\d)\b"
)
GOAL_VALUE_RE = re.compile(
    r"(?i)(?P<value>\d+(?:[.,]\d+)?\s*(?:%|procent|procentpunt(?:en)?)|\b\d{1,3}(?:\.\d{3})*\b(?!\s*(?:jaar|maanden|weken|dagen)))"
)
#: A label or bullet before a goal's own words: "Doel: in 2028 ...", "Doelstelling: ...",
#: "Doelen • In 2030 ..." (a PDF's heading and bullet read as one line), "Ambitie – ...".
#: The goal is what follows it: a Goal named "Doel: in 2028 ..." showed the label on
#: every page, and the same goal without it elsewhere was another Goal.
GOAL_LABEL_RE = re.compile(
    r"(?i)^(?:(?:hoofd|streef|sub)?doel(?:en|stelling(?:en)?)?|ambities?|streven|"
    r"targets?|goals?|aims?)\s*(?::|[•·▪–—-](?=\s))\s*(?:[•·▪–—-]\s+)?"
)
GOAL_CUE_RE = re.compile(
    r"(?i)\b(doel\w*|ambitie\w*|streven|streeft|willen|wil|moet|moeten|uiterlijk|zal|zullen|"
    r"heeft\b|hebben\b|haalt|halen|minder|meer|daalt|stijgt|aim|target|goal|will)\b"
)

# --- law ----------------------------------------------------------------------------

#: Law names: "Wmo 2015", "Participatiewet", "Wet inburgering 2021", "Jeugdwet".
LAW_NAME = (
    r"(?:Wmo(?:\s+20(?:07|15))?|[A-Z][a-z]+wet(?:\s+(?:BES|19\d\d|20\d\d))?|"
    r"Wet\s+(?:[a-z]+\s+){0,4}(?:19|20)\d\d)"
)
LAW_RE = re.compile(
    # Every match starts with "artikel"/"art." or a capital (the law's name): checking
    # that first keeps the engine from trying both branches at every character.
    rf"(?=[aA-Z])(?:\b(?:artikel|art\.)\s+(?P<article>\d+(?:[.:]\d+)*[a-z]?)(?:,?\s+(?:lid\s+\d+,?\s+)?"
    rf"(?:van\s+de\s+)?)?)?\b(?P<law>{LAW_NAME})"
)
#: Words ending in "wet" that are not laws.
NOT_LAWS: frozenset[str] = frozenset({"Zowet", "Eenwet"})


#: Literal strings of which every match of a regex contains at least one: where a text
#: has none of them the regex cannot match and is not run at all (`may_match`). Only
#: for regexes whose scans are costly and whose literals are rare.
REQUIRED_LITERALS: dict[re.Pattern[str], tuple[str, ...]] = {
    GEMEENTE_PAREN_RE: ("emeente)",),
    UNIVERSITY_RE: ("Universiteit", "University", "Hogeschool"),
    IN_GEMEENTE_RE: ("gemeente", "unicipality"),
    GOAL_YEAR_RE: ("20",),  # the year
}


def may_match(rx: re.Pattern[str], text: str) -> bool:
    """False only when ``rx`` cannot match ``text`` (none of its required literals occur)."""
    need = REQUIRED_LITERALS.get(rx)
    return need is None or any(lit in text for lit in need)
