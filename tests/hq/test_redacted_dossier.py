"""`hq export --level redacted`: a redacted PDF dossier from headquarters, made only from the redacted
copies the field vault made (real face redaction in a real field vault, a real transfer and import into
PostgreSQL), parsed back with pypdf: the protected name absent, the redacted copy's picture shown."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat
from pypdf import PdfReader

from app.cli.main import main
from app.hq.archive import import_package
from app.hq.dossier import _seal_identity
from app.hq.headquarters import Headquarters
from app.redact.derive import redact_item
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.hq.fieldkit import field_vault, transfer
from tests.vault.vaultkit import speed_up

FACE_PHOTO = "13_Interview_Interview_On_Location_13_513.jpg"  # one annotated face [492, 100, 136, 216]
FACE_BOX = (492, 100, 492 + 136, 100 + 216)
NAME = "Nguyễn Văn An"


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)


def _args(hq: Headquarters, *rest: str) -> list[str]:
    return ["hq", "export", "--dir", str(hq.folder), "--db", hq.conn.info.dsn, *rest]


def _text(pdf: Path) -> str:
    return "".join(page.extract_text() or "" for page in PdfReader(pdf).pages)


def _field(hq: Headquarters, tmp_path: Path, *, redact: bool) -> tuple[bytes, bytes]:
    """A field vault: a statement naming the protected witness, and a photo of a face linked to them,
    redacted in the field when ``redact``.  Transferred and imported.  (original, redacted copy) bytes."""
    vault, case_id = field_vault(tmp_path / "field", texts=(f"Statement by {NAME} about the bridge",))
    try:
        photo = vault.ingest_file(shared_data_path("faces", FACE_PHOTO), case_id=case_id).item_id
        vault.update_item(photo, title=f"{NAME} at the checkpoint",
                          description=f"Photographed after {NAME} was released.")
        person = vault.list_persons()[0].id
        vault.link(photo, person)
        copy = b""
        if redact:
            made = redact_item(vault, photo, faces=True, names=True, method="fill")
            with vault.open_original(made.item_id) as stream:
                copy = stream.read()
        with vault.open_original(photo) as stream:
            original = stream.read()
        import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "field.evt"), actor="a")
    finally:
        vault.close()
    return original, copy


def _pictures(pdf: Path) -> list[Image.Image]:
    return [Image.open(io.BytesIO(image.data)).convert("RGB") for page in PdfReader(pdf).pages for image in page.images]


def _face_difference(shown: Image.Image, reference: bytes) -> float:
    """Mean difference, in the face's box, between a picture in the PDF and a file (scaled alike)."""
    expected = Image.open(io.BytesIO(reference)).convert("RGB")
    scale = shown.width / expected.width
    left, top, right, bottom = (round(v * scale) for v in FACE_BOX)
    box = (left, top, right, bottom)
    expected = expected.resize(shown.size)
    means: list[float] = ImageStat.Stat(ImageChops.difference(shown.crop(box), expected.crop(box))).mean
    return float(sum(means)) / len(means)


def test_redacted_dossier_uses_the_field_made_copy_and_no_protected_name(
        hq: Headquarters, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original, copy = _field(hq, tmp_path, redact=True)
    out = tmp_path / "redacted.pdf"
    capsys.readouterr()
    # "all" includes the redacted copy itself: it stands for its original, so two exhibits.
    assert main(_args(hq, "--items", "all", "--out", str(out), "--level", "redacted")) == 0
    assert "Dossier of 2 exhibits (redacted level)" in capsys.readouterr().out
    text = _text(out)
    flat = re.sub(r"\s+", "", text)
    for part in ("Nguyễn", "Văn An", "Nguyen"):
        assert part not in text and re.sub(r"\s+", "", part) not in flat
    assert "[WitnessA]" in flat  # where the name was, its pseudonym in brackets
    assert "Statementby[WitnessA]aboutthebridge" in flat
    assert hashlib.sha256(copy).hexdigest() in flat  # the redacted copy's hash is printed ...
    assert hashlib.sha256(original).hexdigest() not in flat  # ... the original's is not: a commitment is
    assert "hmac-sha256:" in flat
    pictures = _pictures(out)
    assert len(pictures) == 1
    to_copy, to_original = _face_difference(pictures[0], copy), _face_difference(pictures[0], original)
    assert to_copy < 8 < to_original, (to_copy, to_original)  # the covered face, not the face
    from app.export.pdf.verify_pdf import verify_pdf

    checked = verify_pdf(out, seal_cert_pem=_seal_identity(hq).cert_pem)
    assert checked.ok, checked.problems
    assert checked.exhibits == 2 and checked.proofs_checked >= 2


def test_redacted_dossier_refused_without_a_field_made_copy(
        hq: Headquarters, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _field(hq, tmp_path, redact=False)
    out = tmp_path / "redacted.pdf"
    capsys.readouterr()
    assert main(_args(hq, "--items", "all", "--out", str(out), "--level", "redacted")) == 2
    err = capsys.readouterr().err
    assert "redacted copies made in the field" in err and "Nothing was exported" in err
    assert "2 (photo" in err and NAME not in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    # The statement alone needs no picture redaction: its redacted dossier is written, names replaced.
    assert main(_args(hq, "--items", "1", "--out", str(out), "--level", "redacted")) == 0
    flat = re.sub(r"\s+", "", _text(out))
    assert "Statementby[WitnessA]aboutthebridge" in flat and "Nguyễn" not in flat
    assert _pictures(out) == []
