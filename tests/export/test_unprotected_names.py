"""A person entered without "protected" is still listed by pseudonym in a redacted dossier, so their name
must not stay in the texts beside it: the dossier would link the pseudonym to the real name.

Real vault, real export, the PDF read back with pdftotext and its embedded dossier text; the
original-level dossier for a court still names everyone as recorded.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.export.exporter import export
from app.export.pdf.inspect import extract_everything
from app.vault import db, keys
from app.vault.models import Segment
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

NAME = "Halima Bello"


@pytest.fixture()
def vault_with_unprotected_survivor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Vault, int]:
    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    monkeypatch.setattr(keys, "new_seal_identity",
                        lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    speech = shared_data_path("media", "audio_speech_librispeech_116-288045-0000.flac")
    vault = Vault.create(tmp_path / "case.vault", TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO")
    case_id = vault.add_case("Compound K")
    survivor = vault.add_person(name=NAME, pseudonym="Survivor H", role="survivor")  # not marked protected
    vault.add_consent(survivor, scopes="court,un,ngo")
    item = vault.ingest_file(speech, case_id=case_id, kind="interview", title="Interview").item_id
    vault.update_item(item, description=f"{NAME} describes the second compound.")
    vault.set_transcript(item, [Segment(start=0.0, end=2.0, speaker=NAME, language="en",
                                        text=f"My name is {NAME} and I was sold twice.")])
    vault.link(item, survivor)
    yield vault, case_id
    vault.close()


def _texts(pdf: Path) -> str:
    shown = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                           check=True).stdout.decode("utf-8")
    embedded = extract_everything(pdf).attachments["dossier-text.txt"].decode("utf-8")
    return shown + "\n" + embedded


def test_redacted_dossier_replaces_an_unprotected_persons_name_by_their_pseudonym(
        vault_with_unprotected_survivor: tuple[Vault, int], tmp_path: Path) -> None:
    vault, case_id = vault_with_unprotected_survivor
    pdf = tmp_path / "ngo.pdf"
    export(vault, case_id=case_id, audience="ngo", level="redacted", out=pdf)
    text = _texts(pdf)
    assert "Survivor H" in text
    for form in (NAME, "Halima", "Bello"):
        assert form not in text, f"{form!r} left beside the pseudonym"


def test_court_original_still_names_an_unprotected_person(
        vault_with_unprotected_survivor: tuple[Vault, int], tmp_path: Path) -> None:
    vault, case_id = vault_with_unprotected_survivor
    pdf = tmp_path / "court.pdf"
    export(vault, case_id=case_id, audience="court", level="original", out=pdf)
    assert f"My name is {NAME}" in " ".join(_texts(pdf).split())
