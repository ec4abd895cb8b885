"""Issue 9: the README's alias "An" must not block a redacted export by chance.

A short alias is matched case-sensitively as a whole word, also at digit and camel-case boundaries, so the
random base64 of a key the dossier prints ("...Uf3AnOoTW1...") matched about one seal certificate in five.
The leak check now leaves out exactly the dossier's own key material; a name in evidence text is still
found.  Real Ed25519 keys and real signed checkpoints, the real redactor and the real leak check.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.export.dossier_files import NameLeak, check_no_protected_names
from app.export.key_material import without_key_material
from app.redact.names import redactor_from_persons
from app.vault import keys
from app.vault.checkpoint import sign_checkpoint
from app.vault.models import Person

REDACTOR = redactor_from_persons([Person(1, "Nguyễn Văn An", ("An",), "Survivor S-1", "survivor", True)])


def _pem_matching_an() -> str:
    """A real public key whose PEM holds "An" as the redactor's whole word (about one key in 200)."""
    for _ in range(20_000):
        pem = keys.public_key_pem(keys.new_signing_key()).decode("ascii")
        if REDACTOR.find(pem):
            return pem
    pytest.fail("no key with an 'An' in its PEM among 20,000")


def _checkpoint_matching_an() -> str:
    key = keys.new_signing_key()
    for size in range(1, 20_000):
        text = sign_checkpoint(origin=f"evidence-vault/{keys.key_id(key)}", tree_size=size,
                               root=size.to_bytes(32, "big"), time="2026-12-07T12:00:00.000000Z", key=key)
        if REDACTOR.find(text.splitlines()[-1]):
            return text
    pytest.fail("no signature with an 'An' among 20,000")


def _dossier_text(dossier: SimpleNamespace, evidence: str) -> str:
    """Laid out as the renderer records it: one text line per paragraph, the PEM and checkpoint verbatim."""
    return "\n".join(["EVIDENCE DOSSIER (plain text copy)", "Description: " + evidence, "Checkpoint",
                      dossier.checkpoint_text.strip(), "Vault public key", dossier.public_key_pem.strip(),
                      "Seal certificate", dossier.seal_certificate_pem.strip()]) + "\n"


@pytest.fixture(scope="module")
def dossier() -> SimpleNamespace:
    return SimpleNamespace(public_key_pem=_pem_matching_an(), seal_certificate_pem=_pem_matching_an(),
                           checkpoint_text=_checkpoint_matching_an())


def test_key_material_holding_an_no_longer_blocks_the_export(dossier: SimpleNamespace) -> None:
    text = _dossier_text(dossier, "Survivor S-1 told us about the boat; an engine was broken.")
    with pytest.raises(NameLeak):  # what happened before: the key material alone blocked the export
        check_no_protected_names(text, REDACTOR, "dossier text")
    check_no_protected_names(without_key_material(text, dossier), REDACTOR, "dossier text")


@pytest.mark.parametrize("evidence", [
    "An told us about the boat.",
    "Photo TranVanAn_2024.jpg",
    "Seen at 3AnOo pier",
])
def test_a_name_in_evidence_text_is_still_found(dossier: SimpleNamespace, evidence: str) -> None:
    text = _dossier_text(dossier, evidence)
    with pytest.raises(NameLeak):
        check_no_protected_names(without_key_material(text, dossier), REDACTOR, "dossier text")


def test_only_the_dossiers_own_key_material_is_left_out(dossier: SimpleNamespace) -> None:
    other = SimpleNamespace(public_key_pem=_pem_matching_an(), seal_certificate_pem="", checkpoint_text="")
    text = _dossier_text(dossier, "nothing here")
    # Another key's PEM pasted into the text is not this dossier's: it is searched like any text.
    with pytest.raises(NameLeak):
        check_no_protected_names(without_key_material(text + other.public_key_pem, dossier), REDACTOR, "text")
    # A PEM line is left out only as a whole line, never inside a line of evidence.
    pem_line = next(line for line in dossier.public_key_pem.splitlines() if REDACTOR.find(line))
    kept = without_key_material(f"Description: {pem_line}\n", dossier)
    assert pem_line in kept
