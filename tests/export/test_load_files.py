"""Load files (DAT, CSV, OPT) and persistent ERNs, on their own: delimiters, page maps, legends."""

from __future__ import annotations

import csv
import io

import pytest

from app.errors import InvalidInput
from app.export.ern import item_ern, legend_text, page_ern
from app.export.load_files import DAT_QUOTE, DAT_SEPARATOR, LoadDocument, csv_bytes, dat_bytes, opt_bytes, parse_dat


def _doc(ern: str, pages: list[int], title: str = "Photo") -> LoadDocument:
    erns = [page_ern(ern, k) for k in range(1, len(pages) + 1)]
    return LoadDocument(begin=erns[0], end=erns[-1], ern=ern, title=title, kind="photo", language="km",
                        sha256="ab" * 32, native=f"exhibits/{ern}.jpg", text="", confidentiality="CONFIDENTIAL",
                        consent="consent covers a court", custodian="Test NGO", first_page=pages[0],
                        last_page=pages[-1], page_erns=erns, page_numbers=pages)


def test_erns_are_stable_and_redacted_versions_are_marked() -> None:
    assert item_ern("EV", 12) == "EV-00012" and item_ern("EV", 12, redacted=True) == "EV-00012-Red"
    assert page_ern("EV-00012-Red", 3) == "EV-00012-Red-0003"


def test_dat_keeps_delimiters_and_line_breaks_out_of_fields() -> None:
    hostile = f"A {DAT_QUOTE}quoted{DAT_QUOTE} title{DAT_SEPARATOR}with\r\nbreaks, and ខ្មែរ"
    data = dat_bytes([_doc("EV-00001", [4, 5], hostile), _doc("EV-00002-Red", [6])])
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n") and data.count(b"\r\n") == 3
    rows = parse_dat(data)
    assert [r["BEGDOC"] for r in rows] == ["EV-00001-0001", "EV-00002-Red-0001"]
    assert rows[0]["ENDDOC"] == "EV-00001-0002" and rows[0]["PAGES"] == "2" and rows[0]["DOSSIER_PAGES"] == "4-5"
    assert rows[0]["TITLE"] == "A quoted title with breaks, and ខ្មែរ"
    parsed = list(csv.DictReader(io.StringIO(csv_bytes([_doc("EV-00001", [4, 5], hostile)]).decode("utf-8"))))
    assert parsed[0]["TITLE"] == "A quoted title with breaks, and ខ្មែរ" and parsed[0]["LANGUAGE"] == "km"


def test_opt_maps_every_page_including_non_contiguous_ones() -> None:
    lines = opt_bytes([_doc("EV-00001", [4, 5]), _doc("EV-000001", [1, 2, 3, 9])]).decode().split("\r\n")[:-1]
    assert lines[0] == "EV-00001-0001,VOL001,dossier.pdf#page=4,Y,,,2"
    assert lines[1] == "EV-00001-0002,VOL001,dossier.pdf#page=5,,,,"
    assert lines[-1] == "EV-000001-0004,VOL001,dossier.pdf#page=9,,,,"
    assert len(lines) == 6


def test_legends_per_export() -> None:
    assert legend_text(None, audience="court", level="original") == "CONFIDENTIAL - UNDER SEAL"
    assert legend_text(None, audience="media", level="redacted") == "PUBLIC REDACTED VERSION"
    assert legend_text(None, audience="un", level="redacted") == "CONFIDENTIAL - REDACTED VERSION"
    assert legend_text("Confidential", audience="un", level="original") == "CONFIDENTIAL"
    with pytest.raises(InvalidInput, match="must be one of"):
        legend_text("secret", audience="un", level="original")
