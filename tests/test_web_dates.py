"""Dates on the pages are written as a Dutch reader writes them (H66's walk-through).

The document page said "Ingelezen op 2026-11-28T17:18:15Z" and "Datum 2023-11-21", and
the upload form "(toegevoegd 2026-11-28T17:18:15Z)": a programmer's notation. The stored
values stay ISO (Cypher, SPARQL and the JSON API are the researchers' contract).
"""

from __future__ import annotations

import datetime as dt

import pytest

from impact_graph.web.pages import MONTHS_NL, dutch_date, entity_properties


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2023-11-21", "21 november 2023"),
        ("2024-03-01", "1 maart 2024"),
        # Winter: Dutch time is UTC+1; summer UTC+2, across midnight and a month's end.
        ("2026-11-28T17:18:15Z", "28 november 2026 om 18:18"),
        ("2026-06-30T22:30:00Z", "1 juli 2026 om 00:30"),
        ("2026-11-28T17:18:15.250+00:00", "28 november 2026 om 18:18"),
    ],
)
def test_iso_dates_are_written_in_dutch(value: str, shown: str) -> None:
    assert dutch_date(value) == shown


@pytest.mark.parametrize("value", ["2026", "21-11-2023", "gisteren", "", None, 2023, "2023-13-40"])
def test_what_is_no_iso_date_is_left_alone(value: object) -> None:
    assert dutch_date(value) is None


def test_the_month_names_are_dutch_and_in_order() -> None:
    assert [dutch_date(f"2025-{m:02d}-15") for m in (1, 5, 12)] == [
        "15 januari 2025",
        "15 mei 2025",
        "15 december 2025",
    ]
    assert len(MONTHS_NL) == 12


def test_a_document_page_shows_its_dates_in_dutch() -> None:
    now = dt.datetime(2026, 1, 5, 9, 7, tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    props = dict(
        entity_properties(
            {"title": "Opdracht", "date": "2023-11-21", "created_at": now, "year": 2023},
            "Document",
        )
    )
    assert props["Datum"] == "21 november 2023"
    assert props["Ingelezen op"] == "5 januari 2026 om 10:07"
    assert props["Jaar"] == "2023"
    # A date of another shape is shown as stored.
    assert dict(entity_properties({"date": "voorjaar 2024"}, "Document"))["Datum"] == (
        "voorjaar 2024"
    )
