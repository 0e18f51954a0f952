"""Readers: every format to `Document`, ids, kinds, languages, and every bad-input case.

Text fixtures live in tests/data; PDFs and Word files are generated here with pypdf and
python-docx so the tests show exactly what they contain.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.kinds import detect_kind, detect_language
from impact_graph.ingest.readers import (
    SUPPORTED_EXTENSIONS,
    iter_files,
    read_file,
    read_path,
)
from impact_graph.model import make_id

DATA = Path(__file__).parent / "data"
DEMO = DATA / "demo"


def make_pdf(texts: list[str], password: str | None = None) -> bytes:
    """A PDF with one line of Helvetica text per page (optionally RC4-encrypted)."""
    w = PdfWriter()
    font = w._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for text in texts:
        page = w.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = w._add_object(stream)
    if password:
        w.encrypt(user_password=password, algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def error_of(path: Path, **kw: object) -> IngestError:
    with pytest.raises(IngestError) as info:
        read_file(path, **kw)  # type: ignore[arg-type]
    return info.value


# --- Markdown -------------------------------------------------------------------------


def test_markdown_front_matter_sections_and_plain_text() -> None:
    path = DEMO / "verhalen" / "mevrouw-jansen.md"
    [doc] = read_path(path, root=DEMO)
    assert doc.id == make_id("Document", "demo/verhalen/mevrouw-jansen.md")
    assert doc.format == "md"
    assert doc.title == "Het verhaal van mevrouw Jansen"
    assert (doc.kind, doc.kind_reason) == ("story", "front matter kind: story")
    assert doc.meta["programme"] == "Samen Minder Alleen"
    assert doc.meta["date"] == "2024-03-01"  # YAML date made a plain string
    assert doc.meta["area"] == doc.meta["gemeente"] == "Wadstede"
    assert doc.meta["persons"] == ["Jansen", "Fatima El Amrani"]
    # Markup is gone, link text and table cells stay.
    for markup in ("**", "*vaak*", "](", "| ---", "# "):
        assert markup not in doc.text
    assert "Ik ben Fatima El Amrani en ik zie mevrouw Jansen" in doc.text
    assert "De buurtkamer van Stichting Welzijn Wadstede." in doc.text
    assert "Stichting Welzijn Wadstede | uitvoerder" in doc.text
    # Section offsets point at their headings in the plain text; nesting is by level.
    top, sub = doc.sections
    assert doc.text[top.start : top.start + len(top.heading)] == "Alleen in de flat"
    assert doc.text[sub.start : sub.start + len(sub.heading)] == "Wat hielp"
    assert (top.level, sub.level) == (1, 2)
    assert top.end == sub.end == len(doc.text)
    buurt = doc.text.index("buurtkamer")
    assert doc.section_at(buurt) == sub
    assert doc.section_at(doc.text.index("Fatima")) == top


def test_ids_do_not_depend_on_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    path = DEMO / "verhalen" / "mevrouw-jansen.md"
    [a] = read_path(path, root=DEMO)
    monkeypatch.chdir(DEMO / "verhalen")
    [b] = read_path(Path("mevrouw-jansen.md").resolve(), root=Path("..").resolve())
    [c] = read_path(Path("mevrouw-jansen.md"), root=Path(".."))
    assert a.id == b.id == c.id
    assert a.content_hash == b.content_hash


def test_content_hash_changes_with_text_and_meta_only(tmp_path: Path) -> None:
    p = write(tmp_path / "plan" / "a.md", "---\ntitle: A\n---\nTekst over de opdracht.\n")
    [one] = read_path(p, root=tmp_path)
    [two] = read_path(p, root=tmp_path)
    assert one.content_hash == two.content_hash
    write(p, "---\ntitle: B\n---\nTekst over de opdracht.\n")
    [meta_changed] = read_path(p, root=tmp_path)
    write(p, "---\ntitle: A\n---\nAndere tekst over de opdracht.\n")
    [text_changed] = read_path(p, root=tmp_path)
    assert len({one.content_hash, meta_changed.content_hash, text_changed.content_hash}) == 3
    assert one.id == meta_changed.id == text_changed.id


def test_malformed_front_matter_names_the_yaml_line() -> None:
    err = error_of(DATA / "bad" / "front-matter.md")
    assert err.line == 5
    assert "front-matter.md line 5: the front matter is not valid YAML" in str(err)
    assert str(err).endswith(".") and "\n" not in str(err)


def test_unclosed_front_matter(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "x.md", "---\ntitle: A\n\nTekst zonder einde.\n"))
    assert "no closing '---'" in err.reason


# --- kind -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "kind"),
    [("verhalen", "story"), ("klantreizen", "story"), ("beleid", "policy"),
     ("onderzoek", "research"), ("plannen", "plan"), ("programma", "plan")],
)  # fmt: skip
def test_kind_from_folder(tmp_path: Path, folder: str, kind: str) -> None:
    p = write(tmp_path / "corpus" / folder / "doc.txt", "Een neutrale tekst zonder aanwijzingen.")
    [doc] = read_path(p, root=tmp_path / "corpus")
    assert (doc.kind, doc.kind_reason) == (kind, f"folder '{folder}'")


def test_kind_argument_wins_and_unknown_kind_lists_allowed(tmp_path: Path) -> None:
    p = write(tmp_path / "verhalen" / "a.md", "---\nkind: policy\n---\nTekst.\n")
    [doc] = read_path(p, root=tmp_path, kind="research")
    assert (doc.kind, doc.kind_reason) == ("research", "--kind research")
    [doc] = read_path(p, root=tmp_path)
    assert doc.kind == "policy"  # front matter before folder
    with pytest.raises(ValueError, match="story, policy, research, plan"):
        read_path(p, kind="roman")


def test_folders_above_root_do_not_count(tmp_path: Path) -> None:
    p = write(tmp_path / "onderzoek" / "corpus" / "a.txt", "Het raadsvoorstel en de beleidsnota.")
    [doc] = read_path(p, root=tmp_path / "onderzoek" / "corpus")
    assert doc.kind == "policy"
    assert doc.kind_reason.startswith("detected: 2 policy cue words (")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Dit raadsvoorstel volgt op het coalitieakkoord en de beleidsnota.", "policy"),
        ("Abstract. In een RCT met 240 respondenten is de onderzoeksopzet getoetst.", "research"),
        ("De programma-aanpak beschrijft de werkzame elementen en het reisverslag.", "plan"),
        ("Ik woon al twintig jaar hier. Mijn buren ken ik niet, mijn kinderen wonen ver weg "
         "en ik ga weinig de deur uit.", "story"),
    ],
)  # fmt: skip
def test_kind_detection_by_cue_words(text: str, kind: str) -> None:
    assert detect_kind(text)[0] == kind


def test_kind_reason_lists_the_cues() -> None:
    kind, reason = detect_kind("RCT met respondenten; RCT; abstract; crct en rctx tellen niet.")
    assert kind == "research"
    assert reason == "detected: 4 research cue words (RCT, respondenten, abstract)"


def test_rct_is_case_sensitive_and_no_cues_default_to_plan() -> None:
    assert detect_kind("De rct-fabriek en de directe route.") == (
        "plan",
        "detected: no cue words found, so the default 'plan'",
    )


def test_language_from_front_matter_else_stop_words() -> None:
    assert (
        detect_language("The effect of the intervention was small and it was not significant.")
        == "en"
    )
    assert detect_language("Het effect van de interventie was klein en niet significant.") == "nl"
    assert detect_language("The effect of the intervention.", "nl") == "nl"


# --- text, html, pdf, docx ------------------------------------------------------------


def test_txt_cp1252_and_latin1_read_right(tmp_path: Path) -> None:
    text = (
        "Café ‘De Eendracht’ – ruimte voor €25 per maand; "
        "ook ideeën voor ruïnes en één coördinator."
    )
    cp = write(tmp_path / "cp.txt", text.encode("cp1252"))
    [doc] = read_path(cp)
    assert doc.text == text
    latin = "Ideeën van de coördinator: één café, geen ruïne. Naïef? Zeker niet, zegt Noël."
    lp = write(tmp_path / "latin.txt", latin.encode("latin-1"))
    [doc] = read_path(lp)
    assert doc.text == latin


def test_txt_utf8_bom_and_crlf(tmp_path: Path) -> None:
    p = write(tmp_path / "a.txt", "\ufeffTitel\r\n\r\nEen zin over eenzaamheid.\r\n".encode())
    [doc] = read_path(p)
    assert doc.text == "Titel\n\nEen zin over eenzaamheid."
    assert doc.title == "Titel"


def test_binary_junk_with_text_extension(tmp_path: Path) -> None:
    junk = bytes(range(256)) * 40
    err = error_of(write(tmp_path / "junk.txt", junk))
    assert "not text" in err.reason
    err = error_of(write(tmp_path / "junk.md", b"\x89PNG\r\n\x1a\n" + bytes(range(1, 32)) * 50))
    assert "not text" in err.reason


def test_html_title_sections_and_dropped_chrome(tmp_path: Path) -> None:
    html = """<!doctype html><html lang="nl"><head><title>Buurtkamer Wadstede</title>
    <style>.x{color:red}</style><script>var tracking = 1;</script></head><body>
    <nav><a href="/">Home</a> Menu-item</nav>
    <h1>Over de buurtkamer</h1><p>De buurtkamer is <b>elke</b> dag open.<br>Ook in het weekend.</p>
    <h2>Partners</h2><ul><li>Stichting Welzijn Wadstede</li><li>GGD Lindenhoven-Oost</li></ul>
    <footer>Cookies en privacy</footer></body></html>"""
    [doc] = read_path(write(tmp_path / "p.html", html))
    assert doc.title == "Buurtkamer Wadstede"
    assert doc.language == "nl"
    for gone in ("tracking", "Menu-item", "Cookies", "color"):
        assert gone not in doc.text
    assert "De buurtkamer is elke dag open.\nOok in het weekend." in doc.text
    assert "Stichting Welzijn Wadstede\n\nGGD Lindenhoven-Oost" in doc.text
    h1, h2 = doc.sections
    assert (h1.heading, h1.level, h2.heading, h2.level) == ("Over de buurtkamer", 1, "Partners", 2)
    assert doc.section_at(doc.text.index("GGD")) == h2


def test_pdf_pages(tmp_path: Path) -> None:
    pdf = write(tmp_path / "rapport.pdf", make_pdf(["Eerste pagina over eenzaamheid.", "Tweede."]))
    [doc] = read_path(pdf)
    assert doc.format == "pdf"
    assert doc.text == "Eerste pagina over eenzaamheid.\n\nTweede."
    assert doc.meta["pages"] == 2
    assert [doc.text[s:].split("\n")[0] for s in doc.meta["page_starts"]] == [
        "Eerste pagina over eenzaamheid.",
        "Tweede.",
    ]


def test_pdf_encrypted(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "geheim.pdf", make_pdf(["Geheim."], password="x")))
    assert str(err) == (
        f"{(tmp_path / 'geheim.pdf').as_posix()}: the PDF is encrypted; remove the password "
        "(e.g. print to PDF) and ingest it again."
    )


def test_pdf_corrupt(tmp_path: Path) -> None:
    good = make_pdf(["Tekst."])
    err = error_of(write(tmp_path / "kapot.pdf", good[: len(good) // 3]))
    assert "the PDF is damaged or not a PDF" in str(err)
    err = error_of(write(tmp_path / "nep.pdf", b"dit is geen pdf maar platte tekst\n"))
    assert "damaged or not a PDF" in err.reason


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "scan.pdf", make_pdf([""])))
    assert "no text layer" in err.reason and "OCR" in err.hint


def test_docx_headings_by_style_and_tables(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_heading("Programma-aanpak Samen Minder Alleen", level=0)
    d.add_heading("Met wie", level=1)
    d.add_paragraph("We werken samen met deze partners.")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Stichting Welzijn Wadstede", "uitvoerder"
    table.cell(1, 0).text, table.cell(1, 1).text = "Gemeente Wadstede", "opdrachtgever"
    d.add_heading("Middelen", level=2)
    d.add_paragraph("€ 120.000 per jaar.")
    path = tmp_path / "plan" / "aanpak.docx"
    path.parent.mkdir()
    d.save(str(path))
    [doc] = read_path(path, root=tmp_path)
    assert doc.title == "Programma-aanpak Samen Minder Alleen"
    assert (doc.kind, doc.format) == ("plan", "docx")
    assert "Stichting Welzijn Wadstede | uitvoerder" in doc.text
    assert "Gemeente Wadstede | opdrachtgever" in doc.text
    levels = [(s.heading, s.level) for s in doc.sections]
    assert levels == [("Programma-aanpak Samen Minder Alleen", 0), ("Met wie", 1), ("Middelen", 2)]
    met_wie = doc.sections[1]
    assert doc.section_at(doc.text.index("Gemeente Wadstede")) == met_wie
    assert doc.section_at(doc.text.index("120.000")).heading == "Middelen"


def test_docx_corrupt(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "kapot.docx", b"PK\x03\x04 niet echt een zip"))
    assert "damaged or not a .docx" in err.reason


# --- file-level errors ----------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "leeg.md", "  \n\n"))
    assert err.reason == "the file is empty"


def test_file_over_max_bytes(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "groot.txt", "woord " * 100), max_bytes=100)
    assert "600 bytes, over the limit of 100" in str(err)


def test_unknown_extension_lists_supported(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "sheet.xlsx", b"x"))
    assert "'.xlsx' are not supported" in err.reason
    for ext in (".md", ".pdf", ".csv", ".ris", ".bib"):
        assert ext in err.hint


def test_missing_path(tmp_path: Path) -> None:
    err = error_of(tmp_path / "bestaat-niet.md")
    assert str(err).endswith(
        "bestaat-niet.md: the file does not exist; check the path and try again."
    )


# --- records ----------------------------------------------------------------------------


def test_csv_records_mapped_with_dutch_columns_and_row_errors() -> None:
    result = read_file(DEMO / "records.csv", root=DEMO)
    kanjer, wor = result.documents
    assert kanjer.record_key == "kanjertraining-in-het-primair-onderwijs"
    assert kanjer.id == make_id("Document", f"demo/records.csv#{kanjer.record_key}")
    assert (kanjer.kind, kanjer.kind_reason) == ("research", "default for records: research")
    assert kanjer.meta["intervention"] == "Kanjertraining"
    assert kanjer.meta["direction"] == "−"
    assert kanjer.meta["effect_size"] == 0.3
    assert kanjer.meta["year"] == 2019
    assert kanjer.meta["authors"] == ["Vliek, L.", "Jansen, P."]
    assert kanjer.meta["source_url"] == "https://doi.org/10.1000/xyz"
    assert kanjer.meta["recognition"] == "Effectief volgens sterke aanwijzingen"
    assert kanjer.meta["ignored_columns"] == ["Opmerking"]  # extra column: noted, not used
    assert "Kanjertraining vermindert pestgedrag (effectgrootte 0,3)." in kanjer.text
    assert "Onderzoeksopzet: RCT." in kanjer.text
    assert wor.title == "Welzijn op Recept"
    [err] = result.errors
    assert err.row == 3
    assert str(err).startswith(
        f"{(DEMO / 'records.csv').as_posix()} row 3: the record has no title"
    )
    with pytest.raises(IngestError, match="row 3"):
        read_path(DEMO / "records.csv")  # the strict variant raises the row error


def test_csv_missing_required_column_names_it_and_the_mapping() -> None:
    err = error_of(DATA / "bad" / "no-title.csv")
    assert "required column title (one of: title, titel, naam" in err.reason
    assert "records.yaml" in err.hint


def test_csv_row_with_too_many_values_and_other_bad_values(tmp_path: Path) -> None:
    csv_text = (
        "title,year,direction,effect_size,kind\n"
        "Goed,2020,+,0.2,\n"
        "Te veel,2020,+,0.2,research,extra\n"
        "Slecht jaar,ooit,,,\n"
        "Slechte richting,2020,omhoog,,\n"
        "Slecht effect,2020,+,groot,\n"
        "Slecht soort,2020,,,roman\n"
        ",,,,\n"
        "Ook goed,2021,geen effect,,verhalen\n"
    )
    result = read_file(write(tmp_path / "r.csv", csv_text))
    assert [d.title for d in result.documents] == ["Goed", "Ook goed"]
    assert result.documents[1].meta["direction"] == "0"
    assert result.documents[1].kind == "story"
    assert result.documents[1].kind_reason == "record field kind: story"
    rows = {e.row: e.reason for e in result.errors}
    assert sorted(rows) == [3, 4, 5, 6, 7]
    assert "6 values for 5 columns" in rows[3]
    assert "'ooit' is not a four-digit year" in rows[4]
    assert "direction 'omhoog' is not known" in rows[5]
    assert "'groot' is not a number" in rows[6]
    assert "kind 'roman' is not known" in rows[7]


def test_csv_row_with_too_few_values_is_reported(tmp_path: Path) -> None:
    """A record split by an unquoted line break gives two short rows; neither may become
    a record (the second half's first value would be its title). Walk-through H38: the
    short row was ingested silently while a long one was reported."""
    csv_text = (
        "titel,interventie,samenvatting,jaar\n"
        "Goed,Halt,Een samenvatting,2020\n"
        "Gesplitst,Halt,Eerste regel\n"
        "tweede regel,2021\n"
        "Leeg mag,,,\n"
    )
    result = read_file(write(tmp_path / "r.csv", csv_text))
    assert [d.title for d in result.documents] == ["Goed", "Leeg mag"]
    rows = {e.row: e.reason for e in result.errors}
    assert rows == {
        3: "the row has 3 values for 4 columns",
        4: "the row has 2 values for 4 columns",
    }
    assert all("double quotes" in e.hint for e in result.errors)


def test_duplicate_titles_get_stable_distinct_keys(tmp_path: Path) -> None:
    p = write(tmp_path / "r.csv", "titel\nHalt\nHalt\n")
    keys = [d.record_key for d in read_path(p)]
    assert keys == ["halt", "halt-2"]


def test_jsonl_bad_lines_reported_with_their_number() -> None:
    result = read_file(DEMO / "studies.jsonl", root=DEMO)
    assert [d.record_key for d in result.documents] == ["s1", "s4"]
    cool, big = result.documents
    assert "De Gecombineerde Leefstijlinterventie CooL leidt tot gewichtsverlies." in cool.text
    assert big.language == "en"
    assert "Big Friends increases social contacts." in big.text
    assert [(e.row, "year" in e.reason or "JSON" in e.reason) for e in result.errors] == [
        (2, True),
        (3, True),
    ]


def test_outcome_list_of_objects_is_one_outcome_each_with_direction_and_size(
    tmp_path: Path,
) -> None:
    """A list of outcome objects is read key by key (synonyms of records.yaml), never
    as JSON text: each item keeps its own direction and size and gets its own sentence."""
    record = {
        "titel": "Energiecoach",
        "interventie": "energiecoach",
        "richting": "+",
        "uitkomsten": [
            {"uitkomst": "gasverbruik", "richting": "negatief", "effectgrootte": "-7%"},
            {"outcome": "elektriciteitsverbruik", "direction": "0"},
            "isolatiemaatregel genomen",
        ],
    }
    (doc,) = read_file(write(tmp_path / "a.jsonl", json.dumps(record))).documents
    assert doc.meta["outcomes"] == [
        {"outcome": "gasverbruik", "direction": "−", "effect_size": -7.0, "magnitude": "-7%"},
        {"outcome": "elektriciteitsverbruik", "direction": "0"},
        {"outcome": "isolatiemaatregel genomen", "direction": "+"},  # the record's direction
    ]
    assert "{" not in doc.text and "{" not in doc.meta["outcome"]
    assert "energiecoach vermindert gasverbruik (effectgrootte -7)." in doc.text
    assert "energiecoach heeft geen effect op elektriciteitsverbruik." in doc.text
    assert "energiecoach verhoogt isolatiemaatregel genomen." in doc.text


def test_outcome_object_without_outcome_text_is_a_row_error(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "Goed", "outcomes": [{"outcome": "werk", "direction": "+"}]}),
        json.dumps({"title": "Fout", "outcomes": [{"direction": "+", "effect_size": 0.2}]}),
        json.dumps({"title": "Richting", "outcomes": [{"outcome": "werk", "direction": "?"}]}),
    ]
    result = read_file(write(tmp_path / "a.jsonl", "\n".join(lines)))
    assert [d.title for d in result.documents] == ["Goed"]
    assert [e.row for e in result.errors] == [2, 3]
    assert "outcome 1 of the record has no outcome text" in result.errors[0].reason
    assert "records.yaml" in result.errors[0].hint
    assert "the direction '?' is not known" in result.errors[1].reason


def test_json_array_and_wrapped_records(tmp_path: Path) -> None:
    items = [{"titel": "A", "samenvatting": "Tekst A."}, 3, {"titel": "B"}]
    result = read_file(write(tmp_path / "a.json", json.dumps({"records": items})))
    assert [d.title for d in result.documents] == ["A", "B"]
    assert result.errors[0].row == 2 and "not an object" in result.errors[0].reason
    err = error_of(write(tmp_path / "b.json", '{"records": [}'))
    assert "invalid JSON at line 1" in err.reason


def test_ris_records() -> None:
    docs = read_path(DEMO / "refs.ris", root=DEMO)
    mst, pact = docs
    assert mst.record_key == "ris1"
    assert mst.meta["authors"] == ["Jansen, P.", "de Boer, K."]
    assert mst.meta["year"] == 2018
    assert "Multisysteemtherapie vermindert recidive bij jongeren." in mst.text
    assert pact.record_key == "thuiszitterspact-evaluatie"


def test_bib_records_with_latex_and_a_broken_entry() -> None:
    result = read_file(DEMO / "refs.bib", root=DEMO)
    halt, jogg = result.documents
    assert halt.record_key == "halt2017"
    assert halt.meta["authors"] == ["Ferwerda, Henk", "Müller, Anna"]
    assert jogg.record_key == "jogg2020"
    [err] = result.errors
    assert err.row == 8 and "cannot be parsed" in err.reason


def test_records_in_a_long_path_keep_distinct_ids(tmp_path: Path) -> None:
    long = tmp_path / ("databank-interventies-eenzaamheid-en-sociaal-isolement-" * 2 + ".csv")
    docs = read_path(write(long, "titel\nWelzijn op Recept\nZin in Vriendschap\n"), root=tmp_path)
    assert len({d.id for d in docs}) == 2


def test_header_only_csv_is_reported() -> None:
    assert "holds no records" in error_of(DATA / "bad" / "header-only.csv").reason


# --- iter_files -----------------------------------------------------------------------


def test_iter_files_sorted_skips_hidden_readme_and_unsupported(tmp_path: Path) -> None:
    for name in ("b/z.md", "a.txt", "README.md", ".hidden.md", ".git/x.md", "_src/y.md",
                 "b/a.pdf", "c.xlsx", "b/README.md"):  # fmt: skip
        write(tmp_path / name, "x")
    explicit = write(tmp_path.parent / f"{tmp_path.name}-los.xlsx", "x")
    got = list(iter_files([tmp_path, explicit, tmp_path / "a.txt"]))
    assert [p.relative_to(tmp_path.parent).as_posix() for p in got] == [
        f"{tmp_path.name}/a.txt",
        f"{tmp_path.name}/b/a.pdf",
        f"{tmp_path.name}/b/z.md",
        f"{tmp_path.name}-los.xlsx",  # named explicitly: kept, so it gets reported
    ]


def test_supported_extensions() -> None:
    assert {".md", ".txt", ".html", ".pdf", ".docx", ".csv", ".json", ".jsonl", ".ris", ".bib"} <= (
        SUPPORTED_EXTENSIONS
    )


def test_ingest_error_is_one_sentence_and_picklable() -> None:
    import pickle

    err = IngestError(Path("ingest/demo/x.csv"), "the row is bad.", "fix it.", row=4)
    assert str(err) == "ingest/demo/x.csv row 4: the row is bad; fix it."
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.row, str(again)) == (err.path, 4, str(err))
