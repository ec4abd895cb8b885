"""The export wizard's consent preview (app/export/consent_preview.py) says exactly what export() then
leaves out, including consent that reaches an exhibit only through its redacted copy."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from app.export.consent_gate import MAX_REASON, MIN_REASON, override_reason_acceptable
from app.export.consent_preview import consent_preview
from app.export.exporter import export
from app.vault import keys
from app.vault.vault import Vault
from tests.vault.vaultkit import _one_seal_identity, new_vault, speed_up


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    speed_up(monkeypatch)
    monkeypatch.setattr(keys, "new_seal_identity",
                        lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    opened = new_vault(tmp_path)
    yield opened
    opened.close()


def test_preview_and_export_leave_out_the_same_exhibits(vault: Vault, tmp_path: Path) -> None:
    case = vault.add_case("harbour")
    photos = {}
    for name, colour in (("a", (200, 10, 10)), ("b", (10, 200, 10)), ("c", (10, 10, 200))):
        photos[name] = vault.ingest_stream(io.BytesIO(_png(colour)), name=f"{name}.png", kind="photo",
                                           case_id=case).item_id
    # A witness who agreed to a court only, linked to photo a.
    court_only = vault.add_person(name="W One", pseudonym="Witness W-1", role="witness")
    vault.add_consent(court_only, scopes=["court"])
    vault.link(photos["a"], court_only)
    # A survivor with no consent recorded, linked only to the copy made of photo b.
    copy = vault.ingest_stream(io.BytesIO(_png((0, 0, 0))), name="b-copy.png", kind="photo", case_id=case,
                               derived_from=photos["b"], derivation={"note": "a copy"}).item_id
    nobody_asked = vault.add_person(name="S Two", pseudonym="Survivor S-2", role="survivor")
    vault.link(copy, nobody_asked)

    preview = consent_preview(vault, case_id=case, item_ids=None, audience="un", level="original")
    assert [item.id for item in preview.exhibits] == sorted(photos.values())
    assert preview.blocked_items == {photos["a"], photos["b"]} and preview.remaining == 1
    assert preview.auto_redact == []
    assert all("Witness W-1" in b.reason or "Survivor S-2" in b.reason for b in preview.blocked)

    result = export(vault, case_id=case, audience="un", level="original", out=tmp_path / "un.pdf",
                    leave_out_without_consent=True)
    assert {item_id for item_id, _ in result.excluded} == preview.blocked_items
    assert sorted(reason for _, reason in result.excluded) == sorted(b.reason for b in preview.blocked)
    assert result.exhibits == [photos["c"]]

    court = consent_preview(vault, case_id=None, item_ids=[photos["a"]], audience="court", level="original")
    assert court.blocked == [] and court.remaining == 1


def test_the_override_reason_rule_is_the_gate_s() -> None:
    assert not override_reason_acceptable("court", "see file")
    assert override_reason_acceptable("court", "Order 2026/17,\n  filed under seal")
    assert not override_reason_acceptable("un", "Order 2026/17, filed under seal")
    assert not override_reason_acceptable("court", "x" * (MAX_REASON + 1))
    assert override_reason_acceptable("court", " ".join(["x" * (MIN_REASON - 1), "y"]))
