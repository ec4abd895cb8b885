"""Load files of a production: a Concordance DAT, the same rows as CSV, and an Opticon (OPT) page map.

A court registry or a UN mechanism loads a production into its review platform with these:

- ``production.dat``: one row per document, fields quoted with þ (U+00FE) and separated by
  U+0014, UTF-8 with a byte-order mark, CRLF line ends (the Concordance convention);
- ``production.csv``: the same rows as RFC 4180 CSV (UTF-8, CRLF);
- ``production.opt``: one line per page, ``PAGE-ERN,VOLUME,IMAGE,DOCBREAK,,,PAGES``, where IMAGE is
  the dossier PDF with the page number as a fragment (``dossier.pdf#page=12``) and DOCBREAK is
  ``Y`` on the first page of each document.

Documents are the dossier's exhibits (begin/end = the first and last page ERN of the exhibit in the
dossier) followed by the dossier's own pages as one document.  Paths are relative to the bundle.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.export import ern

DAT_QUOTE = "\u00fe"
DAT_SEPARATOR = "\u0014"
FIELDS = ("BEGDOC", "ENDDOC", "ERN", "TITLE", "KIND", "LANGUAGE", "SHA256", "NATIVE", "TEXT",
          "CONFIDENTIALITY", "CONSENT", "CUSTODIAN", "PAGES", "DOSSIER_PAGES")
VOLUME = "VOL001"
DAT_NAME = "loadfiles/production.dat"
CSV_NAME = "loadfiles/production.csv"
OPT_NAME = "loadfiles/production.opt"


@dataclass(frozen=True)
class LoadDocument:
    begin: str  # first page ERN
    end: str  # last page ERN
    ern: str  # the document's ERN
    title: str
    kind: str
    language: str
    sha256: str  # of the file shipped as NATIVE (the redacted version at the redacted level), or ""
    native: str  # bundle path, or "" when no file is shipped
    text: str  # bundle path of the text (transcript), or ""
    confidentiality: str
    consent: str
    custodian: str
    first_page: int  # in dossier.pdf, from 1
    last_page: int
    page_erns: Sequence[str]  # one per page, in order
    page_numbers: Sequence[int] = ()  # the pages in dossier.pdf when not first_page..last_page in a row

    def values(self) -> list[str]:
        return [self.begin, self.end, self.ern, self.title, self.kind, self.language, self.sha256, self.native,
                self.text, self.confidentiality, self.consent, self.custodian,
                str(len(self.page_erns)), f"{self.first_page}-{self.last_page}"]


@dataclass(frozen=True)
class ExhibitFiles:
    """What a production ships for one exhibit besides its pages (each may be "")."""

    native: str
    sha256: str
    text: str = ""


def production_documents(dossier: Any, page_spans: Sequence[tuple[int, int]], pages: int,
                         files: Sequence[ExhibitFiles], *, own: ExhibitFiles, custodian: str) -> list[LoadDocument]:
    """One document per exhibit of ``dossier`` (an ``app.export.dossier_model.Dossier``; its pages in the
    dossier PDF, ``page_spans`` as rendered), then the dossier's own pages as one document (``own``)."""
    documents = []
    exhibit_pages: set[int] = set()
    for exhibit, shipped, (first, last) in zip(dossier.exhibits, files, page_spans, strict=True):
        count = max(1, last - first + 1)
        exhibit_pages.update(range(first, first + count))
        # An exhibit without a persistent ERN (a headquarters dossier) has its pages numbered like the
        # dossier's own pages: the renderer prints PREFIX-NNNNNN there.
        page_erns = [ern.page_ern(exhibit.ern, k) for k in range(1, count + 1)] if exhibit.ern else [
            f"{dossier.ern_prefix}-{p:06d}" for p in range(first, first + count)]
        documents.append(LoadDocument(
            begin=page_erns[0], end=page_erns[-1], ern=exhibit.ern or page_erns[0], title=exhibit.title,
            kind=exhibit.kind, language=exhibit.language, sha256=shipped.sha256, native=shipped.native,
            text=shipped.text, confidentiality=exhibit.confidentiality, consent=exhibit.consent_status,
            custodian=custodian, first_page=first, last_page=first + count - 1, page_erns=page_erns))
    own_pages = [p for p in range(1, pages + 1) if p not in exhibit_pages]
    if own_pages:
        own_erns = [f"{dossier.ern_prefix}-{p:06d}" for p in own_pages]
        documents.append(LoadDocument(
            begin=own_erns[0], end=own_erns[-1], ern=own_erns[0], title=f"Dossier pages: {dossier.case_title}",
            kind="dossier", language="en", sha256=own.sha256, native=own.native, text=own.text,
            confidentiality=dossier.confidentiality, consent="", custodian=custodian, first_page=own_pages[0],
            last_page=own_pages[-1], page_erns=own_erns, page_numbers=own_pages))
    return documents


def _clean(value: str) -> str:
    # Neither delimiter nor a line break may appear inside a field.
    return " ".join(str(value).replace(DAT_QUOTE, "").replace(DAT_SEPARATOR, " ").split())


def dat_bytes(documents: Sequence[LoadDocument]) -> bytes:
    lines = [DAT_SEPARATOR.join(f"{DAT_QUOTE}{_clean(v)}{DAT_QUOTE}" for v in row)
             for row in [list(FIELDS), *(d.values() for d in documents)]]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def csv_bytes(documents: Sequence[LoadDocument]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for d in documents:
        writer.writerow([_clean(v) for v in d.values()])
    return buffer.getvalue().encode("utf-8")


def opt_bytes(documents: Sequence[LoadDocument], pdf_name: str = "dossier.pdf") -> bytes:
    lines = []
    for d in documents:
        numbers = list(d.page_numbers) or [d.first_page + k for k in range(len(d.page_erns))]
        for offset, (page_ern, number) in enumerate(zip(d.page_erns, numbers, strict=True)):
            first = offset == 0
            image = f"{pdf_name}#page={number}"
            lines.append(",".join([_clean(page_ern).replace(",", " "), VOLUME, image, "Y" if first else "", "", "",
                                   str(len(d.page_erns)) if first else ""]))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def parse_dat(data: bytes) -> list[dict[str, str]]:
    """Read a DAT written by :func:`dat_bytes` back (for tests and for checking a production)."""
    text = data.decode("utf-8-sig")
    rows = [[field.strip(DAT_QUOTE) for field in line.split(DAT_SEPARATOR)] for line in text.split("\r\n") if line]
    header, body = rows[0], rows[1:]
    return [dict(zip(header, row, strict=True)) for row in body]
