"""The load files of a lone PDF dossier: ``NAME.dat``, ``NAME.csv`` and ``NAME.opt`` beside ``NAME.pdf``.

A bundle carries its load files inside (``loadfiles/production.*``, :func:`app.export.dossier_court.load_file_members`).
A dossier exported as one PDF gets the same three files (:mod:`app.export.load_files`) written beside it, with the
PDF's base name, so the PDF and its load files travel together as a production of one volume:

- the OPT's IMAGE is the PDF's own file name with the page number (``case-12.pdf#page=7``);
- ``SHA256`` is the hash printed in the PDF's exhibit index (of the original, or of the redacted version at the
  redacted level; empty when neither is shown, e.g. a withheld recording at the redacted level);
- ``NATIVE`` is ``NAME.pdf#attachment=FILE`` when the original file is embedded in the PDF (court originals), and
  empty otherwise: no native file is delivered, the exhibit is its pages.  The dossier's own pages are one more
  document whose NATIVE is the PDF and whose SHA256 is the PDF's SHA-256;
- ``TEXT`` is empty: a lone PDF's text is its own text layer (and the embedded ``dossier-text.txt``).

The files are written as hidden temporary files beside the PDF first, checked for protected names at the redacted
level (the same last check as the PDF's text), and only published, never replacing a file, once the PDF is sealed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import InvalidInput
from app.export.dossier_model import Dossier
from app.export.load_files import (
    ExhibitFiles,
    LoadDocument,
    csv_bytes,
    dat_bytes,
    opt_bytes,
    production_documents,
)

SUFFIXES = (".dat", ".csv", ".opt")


@dataclass(frozen=True)
class LoadFile:
    out: Path  # where it is published, beside the PDF
    temp: Path  # the finished temporary file
    sha256: str


def load_file_paths(pdf: Path) -> list[Path]:
    """Where the load files of the dossier ``pdf`` go: the same folder and base name."""
    return [pdf.with_suffix(suffix) for suffix in SUFFIXES]


def check_free(pdf: Path) -> None:
    """Refuse before any work when a load file's name is taken (an export never overwrites a file)."""
    if any(c == "," or ord(c) < 32 or ord(c) == 127 for c in pdf.name):
        raise InvalidInput("The dossier's file name must not contain a comma or a control character: its page map "
                           "(the .opt load file) names the PDF in comma-separated fields. Choose another name.")
    for path in load_file_paths(pdf):
        if os.path.lexists(path):
            raise InvalidInput(f"{path} already exists, and the dossier's load files would be written there. "
                               "Choose another name for the dossier; an export never overwrites a file.")


def _hash_shown(exhibit: Any) -> str:
    """The SHA-256 the exhibit index prints (app.export.pdf.render): the redacted version's, else the original's."""
    return str(exhibit.sha256_derivative or exhibit.sha256_original or "")


def pdf_documents(dossier: Dossier, page_spans: Sequence[tuple[int, int]], pages: int, *, pdf_name: str,
                  pdf_sha256: str, custodian: str) -> list[LoadDocument]:
    """One document per exhibit (its pages in the PDF), then the dossier's own pages as one document."""
    files = [ExhibitFiles(native=f"{pdf_name}#attachment={exhibit.attachment.name}"
                          if exhibit.attachment is not None else "", sha256=_hash_shown(exhibit))
             for exhibit in dossier.exhibits]
    return production_documents(dossier, page_spans, pages, files,
                                own=ExhibitFiles(native=pdf_name, sha256=pdf_sha256), custodian=custodian)


def prepare(dossier: Dossier, rendered: Any, pdf: Path, pdf_sha256: str, temp: Callable[[str], Path], *,
            redactor: Any | None) -> list[LoadFile]:
    """Write the load files of ``pdf`` to temporary files (``temp``: the exporter's, removed on the way out).

    ``redactor`` (the redacted level): the files' text is checked for protected names first, as the PDF's is;
    a leak stops the export (:class:`app.export.dossier_files.NameLeak`) before anything is published."""
    import hashlib

    from app.export.dossier_files import check_no_protected_names

    custodian = dossier.declaration.organisation or dossier.organisation
    documents = pdf_documents(dossier, list(rendered.exhibit_pages), rendered.pages, pdf_name=pdf.name,
                              pdf_sha256=pdf_sha256, custodian=custodian)
    contents = [dat_bytes(documents), csv_bytes(documents), opt_bytes(documents, pdf_name=pdf.name)]
    if redactor is not None:
        # The PDF's file name (chosen by the user, and already the PDF's) is left out of the check.
        text = "\n".join(c.decode("utf-8-sig") for c in contents).replace(pdf.name, " ")
        check_no_protected_names(text, redactor, "load files (DAT, CSV, OPT)")
    files = []
    for out, data in zip(load_file_paths(pdf), contents, strict=True):
        path = temp(f"load{out.suffix}")
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        files.append(LoadFile(out=out, temp=path, sha256=hashlib.sha256(data).hexdigest()))
    return files


def event_details(files: Sequence[LoadFile]) -> dict[str, str]:
    """For the ``exported`` event: load file name -> SHA-256."""
    return {f.out.name: f.sha256 for f in files}


@contextlib.contextmanager
def published(files: Sequence[LoadFile], publish: Callable[[Path, Path], None],
              remove: Callable[[Path], None]) -> Iterator[None]:
    """Publish the load files, then run the body (which publishes the PDF and records the export); if anything
    fails, the load files already published are removed again, so no half production is left behind."""
    done: list[Path] = []
    try:
        for f in files:
            publish(f.temp, f.out)
            done.append(f.out)
        yield
    except BaseException:
        for path in done:
            remove(path)
        raise
