"""Child process for test_leaks.py: a full workflow with HOME and TMPDIR pointed at empty folders.

    python -m tests.reliability.leak_workflow WORKDIR PHOTO
create -> person/consent -> ingest (photo, text document) -> transcript -> view -> redact -> export
(redacted bundle + PDF) -> lock.  Writes the vault in WORKDIR/vault/ and exports in WORKDIR/export/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.vault import db
from tests.vault.vaultkit import FAST_KDF_ITER

MARKER = "PLAINTEXT-MARKER-7f3a9c"
PROTECTED = "Nguyễn Thị Hoa"
PASSPHRASE = "correct horse battery staple orbit"
# The protected name as a Vietnamese Windows machine writes it in a file name (cp1258, tones as combining
# marks): the vault stores it as \xNN escapes, which must not reach a redacted export either.
LEGACY_NAME = "Nguyê\u0303n Thi\u0323 Hoa".encode("cp1258") + b" statement.txt"


def main(workdir: Path, photo: Path) -> None:
    db._unsafe_kdf_iter_for_tests = FAST_KDF_ITER
    from app.export.exporter import export
    from app.redact.derive import redact_item
    from app.vault.models import Segment
    from app.vault.vault import Vault

    vault = Vault.create(workdir / "vault" / "case.vault", PASSPHRASE, actor="Investigator")
    case = vault.add_case(f"Case {MARKER}")
    person = vault.add_person(name=PROTECTED, aliases=["Hoa"], pseudonym="Witness W-03", role="witness",
                              protected=True)
    vault.add_consent(person, scopes=["court", "un"])
    document = workdir / "input" / "statement.txt"
    photo_id = vault.ingest_file(photo, case_id=case).item_id
    doc_id = vault.ingest_file(document, case_id=case).item_id
    legacy_id = vault.ingest_file(os.path.join(os.fsencode(workdir / "input"), LEGACY_NAME), case_id=case).item_id
    vault.link(legacy_id, person)
    vault.link(photo_id, person)
    vault.link(doc_id, person)
    vault.add_note(doc_id, f"{PROTECTED} said {MARKER}")
    vault.set_transcript(doc_id, [Segment(start=0.0, end=2.0, speaker=PROTECTED, language="vi",
                                          text=f"Tôi là {PROTECTED}. {MARKER}")])
    for item in (photo_id, doc_id):  # view
        with vault.open_original(item) as stream:
            stream.read()
        vault.record_event("item_viewed", item_id=item, details={})
    redact_item(vault, photo_id, names=True, accept_residual=True, seed=7)
    export(vault, case_id=case, audience="court", level="redacted", out=workdir / "export" / "bundle", bundle=True)
    export(vault, case_id=case, audience="court", level="redacted", out=workdir / "export" / "dossier.pdf")
    vault.lock()
    print("done", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
