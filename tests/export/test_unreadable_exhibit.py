"""Issue 9: an iPhone HEIC photo is exported like any photo; a picture that cannot be read stops the export
with a message naming the item (ERN, item number -- never its title), and nothing is left behind.
Issue 15: that check comes first (before any redaction work), and ``damaged_as_native`` includes the file
unchanged with a placeholder page instead (withheld at the redacted level: it cannot be redacted).

Real SQLCipher vaults, the real HEIC and damaged JPEG of ../shared/data/media, the real PDF parsed back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.errors import CorruptMedia
from app.export.ern import item_ern
from app.export.exporter import export
from app.export.pdf.inspect import extract_everything
from app.export.unreadable import DamagedExhibits
from app.vault.vault import Vault
from tests.conftest import shared_data_path
from tests.vault.vaultkit import new_vault, speed_up

SECRET_TITLE = "Lan at the pier"  # a title may name someone: messages never repeat it


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    speed_up(monkeypatch)
    with new_vault(tmp_path) as v:
        yield v


def _case(vault: Vault, *names: str) -> tuple[int, list[int]]:
    case_id = vault.add_case("Harbour case")
    ids = [vault.ingest_file(shared_data_path("media", name), case_id=case_id, title=SECRET_TITLE).item_id
           for name in names]
    return case_id, ids


def _left_behind(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith((".pdf", ".partial")))


@pytest.mark.parametrize(("audience", "level"), [
    ("court", "original"),
    # Face detection over the 8.5-megapixel photo with its retries: about 90 s on 2 shared cores.
    pytest.param("ngo", "redacted", marks=pytest.mark.slow),
])
def test_heic_photo_is_shown_in_the_dossier(vault: Vault, tmp_path: Path, audience: str, level: str) -> None:
    case_id, (item_id,) = _case(vault, "heic_iphone_gps_IMG_5195.heic")
    out = tmp_path / f"{level}.pdf"
    result = export(vault, case_id=case_id, audience=audience, level=level, out=out)
    assert result.exhibits == [item_id]
    pictures = [image for image in extract_everything(out).images if image.page > 0]
    assert len(pictures) == 1
    picture = pictures[0]
    # 2566 x 3313 as stored (upright): the page shows the whole photo, scaled, without its GPS.
    assert abs(picture.width / picture.height - 2566 / 3313) < 0.02
    assert not picture.has_gps and not picture.exif


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def test_damaged_photo_stops_the_export_first_naming_its_item_and_leaves_nothing(vault: Vault,
                                                                                 tmp_path: Path) -> None:
    case_id, (good, damaged) = _case(vault, "jpeg_exif_gps_DSCN0010.jpg", "broken_truncated_50pct.jpg")
    out = tmp_path / "court.pdf"
    with pytest.raises(DamagedExhibits) as caught:
        export(vault, case_id=case_id, audience="court", level="original", out=out)
    assert isinstance(caught.value, CorruptMedia) and caught.value.item_ids == [damaged]
    message = caught.value.user_message()
    assert message.startswith("An exhibit picture could not be read: ")
    assert f"item {damaged} (ERN {item_ern('EV', damaged)})" in message, message
    assert "damaged or truncated" in message and "--damaged-as-native" in message
    assert f"item {good}" not in message and SECRET_TITLE not in message
    assert _left_behind(tmp_path) == []
    assert not [e for e in vault.events() if e.action == "exported"]


def test_damaged_photo_stops_a_redacted_export_before_any_redacted_copy_is_made(vault: Vault,
                                                                               tmp_path: Path) -> None:
    case_id, (_good, damaged) = _case(vault, "jpeg_exif_gps_DSCN0010.jpg", "broken_truncated_50pct.jpg")
    with pytest.raises(DamagedExhibits) as caught:
        export(vault, case_id=case_id, audience="ngo", level="redacted", out=tmp_path / "ngo.pdf",
               accept_automatic_redaction="Reviewer Dara")
    assert caught.value.item_ids == [damaged] and SECRET_TITLE not in caught.value.user_message()
    # The check comes before the long redaction work: nothing was redacted, so nothing was kept.
    assert not [item for item in vault.list_items() if item.derived_from is not None]
    assert "Nothing was written." in caught.value.user_message()
    assert _left_behind(tmp_path) == []


def test_damaged_photo_as_native_in_a_court_bundle(vault: Vault, tmp_path: Path) -> None:
    case_id, (good, damaged) = _case(vault, "jpeg_exif_gps_DSCN0010.jpg", "broken_truncated_50pct.jpg")
    out = tmp_path / "court-bundle"
    result = export(vault, case_id=case_id, audience="court", level="original", out=out, bundle=True,
                    damaged_as_native=True)
    assert result.exhibits == [good, damaged] and [i for i, _ in result.damaged] == [damaged]
    ern = item_ern("EV", damaged)
    native = out / "exhibits" / f"{ern}.jpg"
    source = shared_data_path("media", "broken_truncated_50pct.jpg")
    assert native.is_file() and _sha256(native) == _sha256(source)  # the file unchanged, named by ERN
    text = " ".join(_pdf_text(out / "dossier.pdf").split())
    assert f"EXHIBIT {ern}: the file could not be displayed" in text, text[:3000]
    compact = "".join(text.split())  # the PDF's lines break inside the path and the hash
    assert f"nativefileexhibits/{ern}.jpginthebundle" in compact
    assert f"SHA-256{_sha256(source)}" in compact
    exported = [e for e in vault.events() if e.action == "exported"][-1]
    assert exported.details["damaged_items"] == [damaged]


def test_damaged_photo_as_native_in_a_court_pdf_is_attached(vault: Vault, tmp_path: Path) -> None:
    from app.export.pdf.inspect import extract_everything

    case_id, (_good, damaged) = _case(vault, "jpeg_exif_gps_DSCN0010.jpg", "broken_truncated_50pct.jpg")
    out = tmp_path / "court.pdf"
    export(vault, case_id=case_id, audience="court", level="original", out=out, damaged_as_native=True)
    text = " ".join(_pdf_text(out).split())
    ern = item_ern("EV", damaged)
    assert f"EXHIBIT {ern}: the file could not be displayed" in text and "attached to this PDF" in text
    pictures = [image for image in extract_everything(out).images if image.page > 0]
    assert len(pictures) == 1  # the good photo only: no broken picture drawn
    assert _left_behind(tmp_path) == ["court.pdf"]


def test_damaged_photo_is_withheld_from_a_redacted_bundle(vault: Vault, tmp_path: Path) -> None:
    _case_id, (damaged,) = _case(vault, "broken_truncated_50pct.jpg")
    out = tmp_path / "ngo-bundle"
    result = export(vault, item_ids=[damaged], audience="ngo", level="redacted", out=out, bundle=True,
                    damaged_as_native=True)
    assert result.derivatives_created == [] and [i for i, _ in result.damaged] == [damaged]
    ern = item_ern("EV", damaged)
    exhibits = sorted(p.name for p in (out / "exhibits").iterdir())
    assert exhibits == [f"{ern}-WITHHELD.txt"]  # never shipped unredacted
    placeholder = (out / "exhibits" / f"{ern}-WITHHELD.txt").read_text()
    assert "could not be read" in placeholder and "cannot be redacted" in placeholder
    text = " ".join(_pdf_text(out / "dossier.pdf").split())
    assert "WITHHELD: the photo could not be read" in text and "shipped unredacted" in text
    assert [i for i, _ in result.withheld_files] == [damaged]
