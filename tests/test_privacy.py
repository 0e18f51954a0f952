"""AVG pseudonymisation: every pattern, the 11-proef both ways, stability across texts
and secrets, offsets in the new text, and that no original value survives."""

from __future__ import annotations

from pathlib import Path

import pytest

from impact_graph.ingest.privacy import (
    PLACEHOLDERS,
    Pseudonymiser,
    bsn_valid,
    pseudonymise_document,
)
from impact_graph.ingest.readers import read_path

DEMO = Path(__file__).parent / "data" / "demo"
P = Pseudonymiser("test-secret")


def check(text: str, originals: list[str], kind: str, known: tuple[str, ...] = ()) -> str:
    """Apply, assert no original survives anywhere, every replacement sits where it says."""
    result = P.apply(text, list(known))
    dumped = result.text + repr(result.replacements)
    for original in originals:
        assert original not in dumped, original
    assert result.replacements, "nothing was replaced"
    for r in result.replacements:
        assert result.text[r.start : r.end] == r.pseudonym
    assert kind in {r.kind for r in result.replacements}
    return result.text


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Vandaag sprak ik mevrouw Jansen bij de koffie.", "Jansen"),
        ("Gisteren belde meneer De Vries over de buurtkamer.", "De Vries"),
        ("Mijnheer van der Berg kwam niet.", "van der Berg"),
        ("Ik ben Fatima en ik woon hier sinds 2016.", "Fatima"),
        ("Hallo, ik heet Anouk.", "Anouk"),
        ("Mijn naam is Kees Bakker, ik ben mantelzorger.", "Kees Bakker"),
        ("Mijn zoon Ahmed gaat weer naar school.", "Ahmed"),
        ("Mijn dochter Sanne-Marie helpt me.", "Sanne-Marie"),
        ("Mijn man Henk is vorig jaar overleden.", "Henk"),
        ("Mijn vrouw Els kookt.", "Els"),
    ],
)
def test_name_patterns(text: str, name: str) -> None:
    out = check(text, [name], "name")
    assert P.pseudonym(name) in out


def test_meneer_with_surname_in_brackets() -> None:
    out = check("Meneer Piet (de Vries) is 82.", ["Piet", "de Vries", "Vries"], "name")
    assert out == f"Meneer {P.pseudonym('Piet')} ({P.pseudonym('de Vries')}) is 82."


def test_known_names_from_front_matter_including_their_parts() -> None:
    text = "Fatima El Amrani vertelt. Later zegt FATIMA EL AMRANI het nog eens. Fatima lacht."
    out = check(text, ["Fatima", "Amrani", "FATIMA"], "name", known=("Fatima El Amrani",))
    assert out.count(P.pseudonym("Fatima El Amrani")) == 2
    assert P.pseudonym("Fatima") in out


def test_email() -> None:
    out = check("Mail naar j.jansen+buurt@example-mail.nl of bel.", ["jansen", "example"], "email")
    assert out == "Mail naar [e-mail] of bel."


@pytest.mark.parametrize(
    "phone",
    [
        "06-12345678",
        "06 12345678",
        "0612345678",
        "06 1234 5678",
        "+31 6 12345678",
        "+31(0)6-12345678",
        "0031 6 12345678",
        "010-1234567",
        "020 123 4567",
        "0111-123456",
        "(010) 123 45 67",
        "+31 10 123 4567",
    ],
)
def test_phone_numbers(phone: str) -> None:
    out = check(f"Bel {phone} na tienen.", [phone], "phone")
    assert out == f"Bel {PLACEHOLDERS['phone']} na tienen."


def test_numbers_that_are_not_phones_stay() -> None:
    text = "In 2024 kostte het 1.250.000 euro voor 12345 inwoners (30%)."
    assert P.apply(text).text == text


def test_bsn_eleven_test_both_ways() -> None:
    assert bsn_valid("111222333")
    assert bsn_valid("123456782")
    assert not bsn_valid("123456789")
    assert not bsn_valid("000000000")
    assert not bsn_valid("12345678")
    out = check("BSN 111222333, ook 1234.56.782; dossier 123456789.", ["111222333", "782"], "bsn")
    assert out == "BSN [BSN], ook [BSN]; dossier 123456789."


def test_postcode_and_house_number() -> None:
    out = check(
        "Zij woont op 1234 AB 12, haar buurman op 2511CV 7a en de zaal op Lindelaan 14.",
        ["1234", "2511", "Lindelaan"],
        "address",
    )
    assert out == "Zij woont op [adres], haar buurman op [adres] en de zaal op [adres]."


def test_postcode_needs_capitals() -> None:
    text = "In 2024 en 2025 daalde het aantal."
    assert P.apply(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        "Zij is geboren op 3 maart 1948 in Wadstede.",
        "Hij is geb. 03-03-1948 en woont alleen.",
        "Geboortedatum: 12/11/1950.",
        "Ze werd geboren 1 jan. 1939.",
    ],
)
def test_birth_dates(text: str) -> None:
    out = check(text, ["1948", "1950", "1939"], "birth_date")
    assert "[geboortedatum]" in out


def test_other_dates_stay() -> None:
    text = "Op 3 maart 2024 startte de buurtkamer."
    assert P.apply(text).text == text


def test_stable_per_secret_and_across_documents() -> None:
    a = P.apply("Ik sprak mevrouw Jansen.").text
    b = Pseudonymiser("test-secret").apply("Later belde Mevrouw Jansen terug.").text
    other = Pseudonymiser("een-ander-geheim").apply("Ik sprak mevrouw Jansen.").text
    pseudo = P.pseudonym("Jansen")
    assert pseudo.startswith("Persoon-") and len(pseudo) == len("Persoon-") + 6
    assert pseudo in a
    assert P.pseudonym("jansen") == pseudo  # case does not matter
    assert pseudo not in other
    assert pseudo in b  # same secret, another text: the same pseudonym


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty secret"):
        Pseudonymiser("")


def test_map_offset_moves_offsets_past_replacements() -> None:
    text = "Mevrouw Jansen belt 06-12345678. Daarna volgt de rest."
    result = P.apply(text)
    old = text.index("Daarna")
    assert result.text[result.map_offset(old) :].startswith("Daarna")
    assert result.map_offset(0) == 0
    inside = text.index("Jansen") + 2
    assert result.map_offset(inside) == result.replacements[0].start
    assert result.map_offset(inside, end=True) == result.replacements[0].end


def test_pseudonymise_document_keeps_sections_in_place() -> None:
    [doc] = read_path(DEMO / "verhalen" / "mevrouw-jansen.md", root=DEMO)
    clean = pseudonymise_document(doc, P)
    everything = repr(clean)
    for original in ("Jansen", "Fatima", "Amrani", "Lindelaan 12", "1234 AB"):
        assert original not in everything, original
    assert clean.title == f"Het verhaal van mevrouw {P.pseudonym('Jansen')}"
    assert clean.meta["persons"] == [P.pseudonym("Jansen"), P.pseudonym("Fatima El Amrani")]
    assert clean.meta["pseudonymised"] is True
    for old, new in zip(doc.sections, clean.sections, strict=True):
        assert clean.text[new.start : new.start + len(new.heading)] == new.heading
        assert new.end == len(clean.text) if old.end == len(doc.text) else True
    # The file is named after the resident: neither the id nor the stored path may say so.
    assert "jansen" in doc.id
    for stored in (clean.id, clean.meta["stored_path"]):
        assert "jansen" not in stored.lower(), stored
    assert clean.id.startswith("document:story-")
    assert clean.content_hash != doc.content_hash
    again = pseudonymise_document(doc, P)
    assert (again.id, again.content_hash) == (clean.id, clean.content_hash), "stable"
    assert pseudonymise_document(doc, Pseudonymiser("other")).id != clean.id
