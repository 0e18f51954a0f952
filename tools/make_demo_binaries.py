"""Generate the PDF and DOCX documents of the demo corpus (``ingest/demo/``).

Why a generator: binary files cannot be reviewed in a diff, so their text lives here, in
plain sight, and the committed ``.pdf``/``.docx`` files are reproducible from it. The output
is deterministic (fixed creation dates, fixed zip timestamps), so re-running the script
without changing the text leaves ``git status`` clean.

Front matter cannot travel inside a PDF or DOCX, so each document's metadata (title,
author, subject = kind, keywords = programme/gemeente/themes) goes into the file's own
document properties, where readers can pick it up.

The text uses a tiny line format: ``# `` and ``## `` start headings, ``- `` starts a
bullet, a blank line ends a paragraph. Everything here is fictional except the laws and
interventions named (see ``ingest/demo/README.md``).

Run: ``.venv/bin/python tools/make_demo_binaries.py`` (needs fpdf2 and python-docx, both in
the ``dev``/``nlp`` extras).
"""

from __future__ import annotations

import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "ingest" / "demo"

#: Fixed timestamp so regenerated files are byte-identical.
FIXED = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)

#: A Unicode TTF font gives us €, ö and ş in PDFs; the core fonts only know Latin-1.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@dataclass(frozen=True)
class DemoDoc:
    """One binary demo document: where it goes, its metadata and its text."""

    path: str  # relative to ingest/demo
    title: str
    kind: str
    author: str
    date: str
    keywords: str
    text: str


DOCS: list[DemoDoc] = [
    DemoDoc(
        path="plan/wadstede-samen-minder-alleen-programma-aanpak.docx",
        title="Programma-aanpak Samen Minder Alleen 2025-2027",
        kind="plan",
        author="Programmateam Samen Minder Alleen, gemeente Wadstede",
        date="2024-10-01",
        keywords=(
            "programme: Samen Minder Alleen; gemeente: Wadstede; doc_type: programma-aanpak; "
            "themes: eenzaamheid; fictional: true"
        ),
        text="""
# Programma-aanpak Samen Minder Alleen 2025-2027

## Waarom

In Wadstede voelt 12% van de 65-plussers zich ernstig eenzaam; in Zeezicht en Oude Haven is
dat rond de 16%. Eenzaamheid maakt mensen ongelukkig en ongezond: eenzame ouderen bezoeken
vaker de huisarts, slapen slechter en hebben een grotere kans op depressie. De verkenning
(zie de foto van juni 2024) liet zien dat er veel aanbod is, maar dat verwijzingen stranden
omdat een warme overdracht en terugkoppeling ontbreken, en dat het aanbod mannen slecht bereikt.

## Wat

Samen Minder Alleen werkt langs drie lijnen: signaleren, verbinden en versterken.

- Signaleren: huismeesters van Woningstichting Kustwonen, medewerkers van de Bibliotheek
Wadstede en huisartsen volgen de training "Signaleren van eenzaamheid" en weten naar wie ze
kunnen doorverwijzen.
- Verbinden: Welzijn op Recept wordt uitgebreid naar alle huisartsenpraktijken in Wadstede.
Een welzijnscoach van Stichting Welzijn Wadstede gaat binnen twee weken na verwijzing op
huisbezoek. In Zeezicht en Oude Haven komen buurtkamers.
- Versterken: de Bibliotheek Wadstede biedt de vriendschapscursus Zin in Vriendschap aan voor
vrouwen van 55 jaar en ouder.

Doelen:

- In 2027 is het aandeel ernstig eenzame 65-plussers in Wadstede gedaald van 12% naar 9%.
- In 2026 verwijzen alle huisartsenpraktijken in Wadstede naar Welzijn op Recept.
- In 2026 is er in elke wijk een ontmoetingsplek.

## Voor wie

Inwoners van 65 jaar en ouder die zich eenzaam voelen of sociaal geïsoleerd zijn, met extra
aandacht voor alleenwonende ouderen in Zeezicht en Oude Haven en voor oudere mannen.

## Met wie

- Stichting Welzijn Wadstede: penvoerder en uitvoerder; welzijnscoaches, buurtkamers.
- Huisartsenpraktijk De Duinrand en de andere huisartsenpraktijken: verwijzers.
- Woningstichting Kustwonen: signaleren achter de voordeur, ruimte voor buurtkamers.
- Bibliotheek Wadstede: Zin in Vriendschap, Taalcafé en Digicafé.
- GGD Lindenhoven-Oost: monitoring via de Gezondheidsmonitor.
- Hogeschool Kustland, lectoraat Sociale Veerkracht: evaluatie.
- Zorgverzekeraar Zilverzee: medefinancier van Welzijn op Recept.

## Met welke middelen

Het programma kost € 400.000 per jaar uit het budget sociaal domein (Wmo). Zorgverzekeraar
Zilverzee draagt jaarlijks € 40.000 bij aan Welzijn op Recept. Ruimtes voor de buurtkamers
worden om niet beschikbaar gesteld door Woningstichting Kustwonen.

## Organisatie en governance

Wethouder zorg en welzijn Marloes Brink is bestuurlijk opdrachtgever. Een kernteam van de
gemeente, Stichting Welzijn Wadstede en Huisartsenpraktijk De Duinrand stuurt de uitvoering
en komt maandelijks bijeen. Twee keer per jaar is er een netwerkbijeenkomst voor alle
partners en inwoners. Het programma legt elk jaar verantwoording af in een reisverslag.

## Wettelijke basis

Wet maatschappelijke ondersteuning 2015; Verordening maatschappelijke ondersteuning Wadstede
2023; coalitieakkoord 2022-2026.
""",
    ),
    DemoDoc(
        path="plan/lindenhoven-gezond-opgroeien-reisverslag-2025.docx",
        title="Reisverslag Gezond Opgroeien in Lindenhoven 2025",
        kind="plan",
        author="Sportbedrijf Lindenhoven, JOGG-regisseur",
        date="2025-12-01",
        keywords=(
            "programme: Gezond Opgroeien in Lindenhoven; gemeente: Lindenhoven; "
            "doc_type: reisverslag; themes: overgewicht; fictional: true"
        ),
        text="""
# Reisverslag Gezond Opgroeien in Lindenhoven 2025

## Wat we deden

In 2025, het tweede jaar van het programma, hebben alle zes basisscholen in
Lindenhoven-Noord een watertappunt gekregen en hebben vier van de zes scholen een gezonde
schoolkantine of een gezond traktatiebeleid. Twee schoolpleinen zijn groen ingericht. De
buurtsportcoaches van Sportbedrijf Lindenhoven organiseerden elke schooldag naschoolse sport;
gemiddeld deden 140 kinderen per week mee. 38 kinderen met overgewicht kregen een centrale
zorgverlener, en 22 ouders zijn begonnen met de gecombineerde leefstijlinterventie CooL.

## Netwerk

- Sportbedrijf Lindenhoven: JOGG-regie, buurtsportcoaches.
- GGD Lindenhoven-Oost: jeugdgezondheidszorg, metingen, centrale zorgverlener.
- Basisscholen Lindenhoven-Noord: gezonde school, watertappunten.
- Supermarkt Vers & Dichtbij: actie "Gezond voordeel" met korting op groente en fruit.
- Woningcorporatie Lindenstede: groene binnenterreinen.
- Jeugdfonds Sport: contributie voor kinderen uit gezinnen met een laag inkomen.

## Resultaten

Het percentage kinderen met overgewicht in Noord daalde bij de jeugdgezondheidszorg-metingen
van 24% (2023) naar 22% (2025). Bij kinderen van 4 tot 6 jaar was de daling het grootst. Bij
kinderen van 10 tot 12 jaar zagen we geen effect op BMI. Omdat er geen vergelijkingsgroep is,
weten we niet zeker of de daling door het programma komt.

Kinderen die meedoen aan de naschoolse sport bewegen volgens hun ouders meer en zitten
minder achter een scherm. Op de scholen met een watertappunt nam het aantal kinderen dat
zoete drankjes meeneemt af van 61% naar 38% (telling door leerkrachten).

## Werkzame elementen

- Een vaste buurtsportcoach die kinderen en ouders kennen.
- De gezonde keuze makkelijk maken in de omgeving (water op school, gezond aanbod).
- Een centrale zorgverlener die thuis komt en naar het hele gezin kijkt.
- Gratis en dichtbij: sport op het plein naast school, geen contributie.

## Wat niet werkte

De ouderbijeenkomsten over voeding trokken weinig ouders (gemiddeld zes). Ouders bereiken we
beter via de buurtsportcoach en het schoolplein. De snackbars bij de scholen blijven een
punt; met de Omgevingswet kijken we naar mogelijkheden in het omgevingsplan.

## Middelen en governance

In 2025 is € 470.000 besteed. De kerngroep (Sportbedrijf, GGD, twee schooldirecteuren) kwam
zes keer bij elkaar. Wethouder Ilse Kramer bezocht alle scholen.
""",
    ),
    DemoDoc(
        path="policy/bergveld-dorpsvisie-2030.docx",
        title="Dorpsvisie Bergveld 2030: samen zorgen voor ons dorp",
        kind="policy",
        author="Gemeente Bergveld en Dorpsraad Bergveld-Zuid",
        date="2023-06-26",
        keywords=(
            "gemeente: Bergveld; doc_type: visie; themes: leefbaarheid, energie; fictional: true"
        ),
        text="""
# Dorpsvisie Bergveld 2030

## Inleiding

Deze dorpsvisie is in 2023 samen met ruim 400 inwoners opgesteld in bewonersavonden,
een enquête en gesprekken op straat. Ze is een bouwsteen voor de omgevingsvisie die Bergveld
onder de Omgevingswet moet vaststellen. De gemeenteraad van Bergveld heeft de visie op
26 juni 2023 vastgesteld.

## Opgaven

Bergveld (ruim 30.000 inwoners) vergrijst: in 2030 is een kwart van de inwoners 65 jaar of
ouder. Jongeren trekken weg omdat er weinig betaalbare woningen zijn. In Bergveld-Zuid staat
de leefbaarheid onder druk: verloedering rond de flats, overlast en weinig ontmoeting. De
voorzieningen in de kernen staan onder druk, en veel woningen zijn slecht geïsoleerd.

## Ambities

- Bergveld blijft een dorp waar mensen elkaar kennen en naar elkaar omkijken.
- In 2030 heeft elke kern een ontmoetingsplek.
- In 2030 scoort geen buurt in Bergveld "onvoldoende" op de Leefbaarometer.
- In 2030 is de CO2-uitstoot van woningen gehalveerd ten opzichte van 2019.
- Er komen 600 woningen bij, waarvan een derde sociale huur en levensloopbestendig.

## Hoe we dat doen

- Bewoners beslissen mee: elk jaar is er een bewonersbudget per kern, en bij grote plannen
worden bewoners vooraf betrokken (participatie onder de Omgevingswet).
- Wijkgericht werken in Bergveld-Zuid, samen met Woningstichting Kustwonen, Stichting Welzijn
Wadstede en de Dorpsraad Bergveld-Zuid, in het programma Leefbaar Bergveld.
- Energie van en voor het dorp: samen met Energiecoöperatie BergStroom werken we aan
zonnedaken, isolatie en een warmtenet, in het programma Warm en Zuinig Bergveld.
- Groen en spelen: meer groen in de wijken tegen hittestress en voor ontmoeting.

## Rollen

De gemeente Bergveld is regisseur en zorgt voor de openbare ruimte. Woningstichting
Kustwonen is verantwoordelijk voor de kwaliteit van de huurwoningen. Stichting Welzijn
Wadstede voert het welzijnswerk uit. De Dorpsraad Bergveld-Zuid vertegenwoordigt bewoners.
Energiecoöperatie BergStroom is partner voor de energietransitie.

## Wettelijk kader

Omgevingswet (omgevingsvisie, participatie); Wet maatschappelijke ondersteuning 2015
(sociale samenhang); Woningwet (prestatieafspraken met de corporatie).
""",
    ),
    DemoDoc(
        path="plan/wadstede-werkt-mee-reisverslag-2025.pdf",
        title="Reisverslag Wadstede Werkt Mee 2025",
        kind="plan",
        author="Werkbedrijf Wadstede",
        date="2025-11-18",
        keywords=(
            "programme: Wadstede Werkt Mee; gemeente: Wadstede; doc_type: reisverslag; "
            "themes: arbeidsparticipatie statushouders; fictional: true"
        ),
        text="""
# Reisverslag Wadstede Werkt Mee 2025

## Wat we deden

In 2025 startten 64 statushouders met een duaal traject: 31 in de zorg bij Zorggroep Duinhof,
18 in logistiek en techniek bij Havenbedrijf Kustland en 15 bij andere werkgevers. Sinds de
start van het programma in 2024 zijn in totaal 98 trajecten gestart en 41 afgerond. ROC
Kustland verzorgde de taallessen en de beroepsopleidingen; de jobcoaches van Werkbedrijf
Wadstede bezochten elke deelnemer minstens eens per maand op de werkplek. VluchtelingenWerk
koppelde 57 statushouders aan een taalmaatje.

## Resultaten

- Van de statushouders die drie jaar in Wadstede wonen, heeft nu 39% betaald werk (2023: 31%).
- Van de deelnemers die een duaal traject afrondden, heeft 71% een arbeidscontract.
- De brede intake vond in 86% van de gevallen binnen tien weken plaats.
- Deelnemers aan een duaal traject halen niet sneller taalniveau B1 dan anderen.

## Werkzame elementen

- Taal leren op de werkplek, met een werkbegeleider bij de werkgever.
- Een jobcoach die zowel de deelnemer als de werkgever ondersteunt.
- Vroeg beginnen: binnen zes maanden na de brede intake.
- Erkenning van eerdere opleiding en werkervaring in het PIP.

## Wat ging moeizaam

Vrouwen met jonge kinderen stromen minder vaak in door een gebrek aan kinderopvang. Sommige
deelnemers gingen er financieel niet op vooruit door het wegvallen van toeslagen (armoedeval).
Deelnemers moesten hun gegevens bij meerdere organisaties opnieuw aanleveren.

## Netwerk

- Werkbedrijf Wadstede: penvoerder, jobcoaching.
- ROC Kustland: taal en beroepsonderwijs.
- VluchtelingenWerk, team Wadstede: maatschappelijke begeleiding, taalmaatjes.
- Zorggroep Duinhof en Havenbedrijf Kustland: werkgevers met leerwerkplekken.
- Stichting Welzijn Wadstede: Z-route en vrijwilligerswerk.
- Hogeschool Kustland: quasi-experimentele evaluatie van de duale trajecten.

## Middelen

Uitgegeven in 2025: € 1,41 miljoen, waarvan € 560.000 voor duale trajecten.

## Hoe verder

In 2026 regelen we kinderopvang bij de start van een traject en maken we één gedeeld
deelnemersdossier, zodat statushouders hun verhaal niet vijf keer hoeven te vertellen.
""",
    ),
    DemoDoc(
        path="policy/lindenhoven-raadsvoorstel-thuiszitters-2024.pdf",
        title="Raadsvoorstel: Lokaal Thuiszitterspact Lindenhoven en programma Iedereen op School",
        kind="policy",
        author="College van burgemeester en wethouders van Lindenhoven",
        date="2024-06-04",
        keywords=(
            "programme: Iedereen op School; gemeente: Lindenhoven; doc_type: raadsvoorstel; "
            "themes: thuiszitters; fictional: true"
        ),
        text="""
# Raadsvoorstel Lokaal Thuiszitterspact Lindenhoven

Registratienummer: RV-2024-061
Portefeuillehouder: wethouder onderwijs en jeugd Hanneke Verbeek
Datum raadsvergadering: 4 juli 2024

## Voorgesteld besluit

De raad besluit:
- in te stemmen met het Lokaal Thuiszitterspact Lindenhoven 2024-2027;
- voor de uitvoering van het programma Iedereen op School voor de jaren 2024 tot en met 2027
jaarlijks € 320.000 beschikbaar te stellen, als gemeentelijk deel van het totale budget van
€ 640.000 per jaar;
- het college op te dragen jaarlijks te rapporteren over het aantal thuiszitters.

## Aanleiding

Op 1 augustus 2023 zaten in Lindenhoven 94 leerplichtige kinderen thuis, tegen 63 in 2019.
38 van hen zaten langer dan drie maanden thuis. Daarnaast hadden 61 kinderen een vrijstelling
van de leerplicht. Ouders en jongeren lopen vast tussen onderwijs en jeugdhulp.

## Beoogd effect

In 2027 is het aantal thuiszitters in Lindenhoven met 30% gedaald ten opzichte van 2023. Geen
kind zit langer dan drie maanden thuis zonder passend aanbod.

## Argumenten

1. Een gezamenlijke aanpak is nodig omdat geen partij het alleen kan. Het Lokaal
Thuiszitterspact wordt ondertekend door de gemeente Lindenhoven, het Samenwerkingsverband VO
Lindenhoven e.o., het Samenwerkingsverband PO Lindenhoven, het Regionaal Bureau Leerplicht
Lindenhoven-Oost, GGD Lindenhoven-Oost en Jeugdzorgaanbieder De Wegwijzer.
2. Het doorbraakoverleg werkt: in 2023 had 23 van de 31 ingebrachte jongeren binnen drie
maanden weer onderwijs. Het voorstel breidt het doorbraakoverleg uit naar het primair
onderwijs en geeft het een doorzettingsbudget van € 150.000.
3. Voorkomen is beter: met de Kanjertraining, die effectief is gebleken in het verminderen van
pestgedrag, investeren scholen in een veilig klimaat. Pesten is een veelgenoemde aanleiding
voor verzuim.
4. Vroegsignalering door leerplicht bij 16 uur verzuim voorkomt dat verzuim uitgroeit tot
thuiszitten.

## Wettelijk kader

De raad is bevoegd op grond van de Gemeentewet (budgetrecht). De taken van de gemeente
volgen uit de Leerplichtwet 1969 (toezicht op de naleving door de leerplichtambtenaar) en de
Jeugdwet (jeugdhulpplicht). Samenwerkingsverbanden hebben hun taken op grond van de Wet
passend onderwijs.

## Financiën

De gemeentelijke bijdrage van € 320.000 per jaar wordt gedekt uit de reserve sociaal domein
(2024) en de jeugdbegroting (2025-2027). De samenwerkingsverbanden dragen samen € 320.000 per
jaar bij uit hun ondersteuningsbudget.

## Risico's

Het aantal thuiszitters hangt ook af van factoren buiten de invloed van de partners, zoals
wachtlijsten in de jeugd-ggz en het lerarentekort.
""",
    ),
    DemoDoc(
        path="policy/bergveld-transitievisie-warmte-2021.pdf",
        title="Transitievisie Warmte Bergveld 2021",
        kind="policy",
        author="Gemeente Bergveld",
        date="2021-12-14",
        keywords=(
            "gemeente: Bergveld; doc_type: transitievisie warmte; themes: energie; fictional: true"
        ),
        text="""
# Transitievisie Warmte Bergveld

## Waarom een transitievisie warmte

In het Klimaatakkoord van 2019 is afgesproken dat alle gemeenten uiterlijk eind 2021 een
Transitievisie Warmte vaststellen. Daarin staat wanneer welke wijken van het aardgas af gaan
en welke alternatieven in beeld zijn. Voor Bergveld is dit een eerste stap: de visie wordt
elke vijf jaar herzien.

## Uitgangssituatie

Bergveld telt ruim 13.000 woningen. 94% wordt verwarmd met aardgas. De gebouwde omgeving is
verantwoordelijk voor 34% van de CO2-uitstoot in de gemeente. 38% van de woningen heeft
energielabel E, F of G, vooral in de wijken uit de jaren zestig en zeventig, zoals
Bergveld-Zuid.

## Doelen

- In 2030 is de CO2-uitstoot van de gebouwde omgeving met 50% gedaald ten opzichte van 2019.
- In 2030 zijn 2.500 woningen aardgasvrij of aardgasvrij-klaar.
- In 2040 is Bergveld klimaatneutraal.

## Strategie: isoleren eerst

Voor alle wijken geldt: eerst isoleren. Isolatie verlaagt de energierekening direct, is nodig
voor elk duurzaam alternatief en helpt huishoudens met een laag inkomen tegen energiearmoede.

- Bergveld-Zuid: na isolatie door Woningstichting Kustwonen zijn (hybride) warmtepompen of
een collectief warmtenet mogelijk. Starten vóór 2030.
- Centrum: kansrijk voor een warmtenet op aquathermie uit het Bergveldse Kanaal, samen met
Waterschap Kustland. Haalbaarheidsonderzoek in 2024.
- Buitengebied: individuele oplossingen (warmtepompen).

## Participatie en betaalbaarheid

Bewoners worden per wijk betrokken. Energiecoöperatie BergStroom is partner voor
bewonersparticipatie en een mogelijk coöperatief warmtenet. De gemeente hanteert het
principe van woonlastenneutraliteit: de overstap mag de woonlasten niet verhogen. Voor
huishoudens met een laag inkomen zet de gemeente energiecoaches in en verwijst zij naar het
Warmtefonds.

## Wettelijk kader

Klimaatakkoord (2019); Klimaatwet; Omgevingswet (vanaf de inwerkingtreding: vastleggen in
omgevingsvisie en omgevingsplan); Gaswet.

## Vervolg

De gemeente stelt per wijk een uitvoeringsplan op, te beginnen met Bergveld-Zuid en het
centrum. Het programma Warm en Zuinig Bergveld voert de eerste stappen uit.
""",
    ),
]


def _blocks(text: str) -> list[tuple[str, str]]:
    """Split the line format into (kind, text) blocks: h1, h2, bullet, para."""
    blocks: list[tuple[str, str]] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(("para", " ".join(para)))
            para.clear()

    for raw in text.strip().splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("## "):
            flush()
            blocks.append(("h2", line[3:]))
        elif line.startswith("# "):
            flush()
            blocks.append(("h1", line[2:]))
        elif line.startswith("- "):
            flush()
            blocks.append(("bullet", line[2:]))
        elif blocks and blocks[-1][0] == "bullet" and not para:
            # continuation line of a bullet
            blocks[-1] = ("bullet", blocks[-1][1] + " " + line)
        else:
            para.append(line)
    flush()
    return blocks


def write_docx(doc: DemoDoc, out: Path) -> None:
    """Write a DOCX with real heading and list styles, so readers see its sections."""
    import docx  # python-docx

    d = docx.Document()
    props = d.core_properties
    props.title = doc.title
    props.author = doc.author
    props.subject = doc.kind
    props.category = doc.kind
    props.keywords = doc.keywords
    props.language = "nl"
    props.created = FIXED.replace(tzinfo=None)
    props.modified = FIXED.replace(tzinfo=None)
    props.last_modified_by = doc.author
    props.revision = 1
    for kind, text in _blocks(doc.text):
        if kind == "h1":
            d.add_heading(text, level=1)
        elif kind == "h2":
            d.add_heading(text, level=2)
        elif kind == "bullet":
            d.add_paragraph(text, style="List Bullet")
        else:
            d.add_paragraph(text)
    tmp = out.with_suffix(".tmp")
    d.save(str(tmp))
    _normalise_zip(tmp, out)
    tmp.unlink()


def _normalise_zip(src: Path, dst: Path) -> None:
    """Rewrite a zip with fixed timestamps and order, so the bytes are reproducible."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in sorted(zin.namelist()):
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, zin.read(name))


def write_pdf(doc: DemoDoc, out: Path) -> None:
    """Write a text PDF (extractable text, not an image) with its metadata set."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED)
    pdf.set_title(doc.title)
    pdf.set_author(doc.author)
    pdf.set_subject(doc.kind)
    pdf.set_keywords(doc.keywords)
    pdf.set_creator("tools/make_demo_binaries.py")
    pdf.set_producer("fpdf2")
    pdf.set_lang("nl-NL")
    unicode_font = DEJAVU.exists() and DEJAVU_BOLD.exists()
    if unicode_font:
        pdf.add_font("DejaVu", "", str(DEJAVU))
        pdf.add_font("DejaVu", "B", str(DEJAVU_BOLD))
        family = "DejaVu"
    else:
        family = "Helvetica"

    def clean(s: str) -> str:
        # Core fonts are Latin-1 only; keep the text readable without DejaVu.
        return (
            s
            if unicode_font
            else s.replace("€", "EUR").encode("latin-1", "replace").decode("latin-1")
        )

    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for kind, text in _blocks(doc.text):
        pdf.set_x(pdf.l_margin)
        if kind == "h1":
            pdf.set_font(family, "B", 16)
            pdf.multi_cell(width, 8, clean(text), align="L")
            pdf.ln(3)
        elif kind == "h2":
            pdf.ln(2)
            pdf.set_font(family, "B", 13)
            pdf.multi_cell(width, 7, clean(text), align="L")
            pdf.ln(1)
        elif kind == "bullet":
            pdf.set_font(family, "", 11)
            bullet = "• " if unicode_font else "- "
            pdf.multi_cell(width, 5.5, bullet + clean(text), align="L")
            pdf.ln(1)
        else:
            pdf.set_font(family, "", 11)
            pdf.multi_cell(width, 5.5, clean(text), align="L")
            pdf.ln(2)
    pdf.output(str(out))


def main() -> int:
    """Write every binary demo document; report what was written."""
    for doc in DOCS:
        out = DEMO / doc.path
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".docx":
            write_docx(doc, out)
        elif out.suffix == ".pdf":
            write_pdf(doc, out)
        else:
            print(f"{doc.path}: unknown output type; use .pdf or .docx", file=sys.stderr)
            return 1
        print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
