"""What an export killed half-way left beside its output (the unsealed dossier with originals attached, a
half-written bundle) is removed the next time the vault is opened for writing: where each export in
progress writes is remembered inside the encrypted vault until it ends (app/vault/pending_outputs.py).
tests/reliability/test_crashes.py kills real exports; this checks the rules on real vault files."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from app.durable import STALE_PARTIAL_SECONDS
from app.export.exporter import export
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, new_vault, speed_up


def _leftover(folder: Path, name: str, *, age: float) -> Path:
    path = folder / name
    path.write_bytes(b"%PDF-1.7 unsealed dossier naming a witness")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    speed_up(monkeypatch)
    new_vault(tmp_path).close()
    return tmp_path / "test.vault"


def test_leftovers_of_an_export_that_never_ended_are_removed_at_the_next_opening(vault_path: Path,
                                                                                   tmp_path: Path) -> None:
    exports = tmp_path / "usb"
    exports.mkdir()
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        vault.begin_output(exports, "dossier.pdf")  # then the process is killed: end_output never runs
    old = STALE_PARTIAL_SECONDS + 60
    pdfa = _leftover(exports, ".dossier.pdf.pdfa-0a1b2c.partial", age=old)
    bundle_dir = exports / ".dossier.pdf.9f8e7d.partial"
    bundle_dir.mkdir()
    (bundle_dir / "manifest.json").write_text("{}")
    os.utime(bundle_dir, (time.time() - old, time.time() - old))
    unrelated = _leftover(exports, ".other.pdf.pdfa-0a1b2c.partial", age=old)
    mine = _leftover(exports, "dossier.pdf", age=old)

    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as vault:
        assert vault.pending_outputs() == [(str(exports), "dossier.pdf")]
    assert pdfa.exists()  # a read-only opening changes nothing

    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        assert vault.pending_outputs() == []
    assert not pdfa.exists() and not bundle_dir.exists()
    assert unrelated.exists() and mine.exists()  # only that export's hidden temporaries


def test_a_fresh_leftover_or_an_absent_drive_keeps_the_export_listed(vault_path: Path, tmp_path: Path) -> None:
    exports, unplugged = tmp_path / "usb", tmp_path / "unplugged"
    exports.mkdir()
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        vault.begin_output(exports, "a.zip")
        vault.begin_output(unplugged, "b.pdf")
    fresh = _leftover(exports, ".a.zip.1234.partial", age=0)
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        assert sorted(vault.pending_outputs()) == [(str(unplugged), "b.pdf"), (str(exports), "a.zip")]
        assert fresh.exists()
        os.utime(fresh, (time.time() - STALE_PARTIAL_SECONDS - 1,) * 2)
        assert vault.sweep_pending_outputs() == 1
        assert vault.pending_outputs() == [(str(unplugged), "b.pdf")] and not fresh.exists()
        unplugged.mkdir()
        assert vault.sweep_pending_outputs() == 1 and vault.pending_outputs() == []


def test_a_finished_export_is_not_left_listed(vault_path: Path, tmp_path: Path) -> None:
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        item = vault.ingest_stream(io.BytesIO(b"statement"), name="s.txt", kind="document").item_id
        begun: list[tuple[str, str]] = []
        original = vault.begin_output

        def watch(folder: Path, name: str) -> None:
            begun.append((str(folder), name))
            original(folder, name)

        vault.begin_output = watch  # type: ignore[method-assign]
        export(vault, item_ids=[item], audience="court", level="original", out=tmp_path / "court.pdf")
        assert begun == [(str(tmp_path), "court.pdf")]  # remembered while it ran...
        assert vault.pending_outputs() == []  # ...and no longer once it ended


def test_a_bundle_whose_event_was_recorded_but_never_written_is_said_interrupted(vault_path: Path,
                                                                               tmp_path: Path) -> None:
    exports = tmp_path / "usb"
    exports.mkdir()
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        for name in ("lost.zip", "whole.zip"):
            vault.begin_output(exports, name)
            seq = vault.record_event("exported", details={"audience": "un", "level": "redacted"}).seq
            vault.output_event(exports, name, seq)
        # killed: lost.zip never renamed into place; whole.zip was, just before end_output
    _leftover(exports, ".lost.zip.5a5a5a.partial", age=STALE_PARTIAL_SECONDS + 60)
    (exports / "whole.zip").write_bytes(b"PK bundle")
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        exported = [e for e in vault.events() if e.action == "exported"]
        assert vault.pending_outputs() == []
    lost, _whole, follow_up = exported
    assert follow_up.details == {"completed": False, "failed_export_event": lost.seq, "reason": "interrupted"}
    assert follow_up.actor == ACTOR
