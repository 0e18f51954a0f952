"""The readers' faster paths give what the plain ones gave: libyaml's safe loader for
front matter, and the control-character share counted per distinct character."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import yaml

from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.readers._common import _control_ratio
from impact_graph.ingest.readers.markdown import _FRONT, split_front_matter

REPO = Path(__file__).resolve().parents[1]


def _plain_ratio(text: str) -> float:
    """The definition, one character at a time."""
    if not text:
        return 0.0
    bad = sum(
        1
        for ch in text
        if (unicodedata.category(ch) in {"Cc", "Co", "Cn", "Cs"} and ch not in "\t\n\r\f\v")
        or ch == "\ufffd"
    )
    return bad / len(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Gewoon Nederlands, met één accent en\ttab\r\n",
        "binary\x00\x01\x02junk\x7f" * 50,
        "private \ue000 use, unassigned \U000e0fff, replacement \ufffd\ufffd",
        "zachte\u00adscheiding en\u00a0harde spatie",
    ],
)
def test_control_ratio_counts_as_the_definition(text: str) -> None:
    assert _control_ratio(text) == pytest.approx(_plain_ratio(text), abs=0)


def test_demo_front_matter_reads_as_yaml_safe_load() -> None:
    files = sorted((REPO / "ingest" / "demo").rglob("*.md"))
    assert files, "the demo corpus has Markdown files"
    for path in files:
        text = path.read_text(encoding="utf-8")
        m = _FRONT.match(text)
        if m is None:
            continue
        expected = yaml.safe_load(m.group(1) or "") or {}
        meta, _ = split_front_matter(text, path)
        assert meta == {str(k).strip().lower(): v for k, v in expected.items()}, path.name


def test_malformed_front_matter_still_names_its_line(tmp_path: Path) -> None:
    text = "---\ntitle: ok\nauthors: [a, b\nkind: story\n---\nTekst.\n"
    with pytest.raises(IngestError) as err:
        split_front_matter(text, tmp_path / "kapot.md")
    assert "not valid YAML" in str(err.value)
    assert err.value.line in (3, 4)
