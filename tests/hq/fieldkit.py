"""Field vaults and real transfer packages for headquarters' tests (A's app.transfer, real SQLCipher)."""

from __future__ import annotations

import os
from pathlib import Path

from app.transfer.identity import HqPublicIdentity
from app.transfer.package import write_transfer
from app.vault.vault import Vault
from tests.vault.vaultkit import new_vault


def text_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as out:
        while size > 0:
            piece = min(size, 1 << 20)
            out.write(os.urandom(piece))
            size -= piece
    return path


def field_vault(folder: Path, name: str = "field.vault", *, texts: tuple[str, ...] = ("statement one",)) -> tuple[
        Vault, int]:
    """A vault with one case holding one text item per entry of ``texts``, a protected person and consent."""
    folder.mkdir(parents=True, exist_ok=True)
    vault = new_vault(folder, name)
    case_id = vault.add_case("Compound K")
    first = None
    for index, text in enumerate(texts):
        item = vault.ingest_file(text_file(folder / f"{name}-{index}.txt", text), case_id=case_id).item_id
        vault.update_item(item, title=text[:80])
        first = first or item
    person = vault.add_person(name="Nguyễn Văn An", pseudonym="Witness A", role="survivor", protected=True)
    assert first is not None
    vault.link(first, person)
    vault.add_consent(person, scopes="court,un")
    return vault, case_id


def add_text(vault: Vault, case_id: int, path: Path, text: str) -> int:
    return vault.ingest_file(text_file(path, text), case_id=case_id).item_id


def transfer(vault: Vault, case_id: int, hq: HqPublicIdentity, out: Path) -> Path:
    write_transfer(vault, case_id=case_id, item_ids=None, recipient=hq, out_path=out)
    return out
