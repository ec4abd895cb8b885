"""No plaintext outside the vault: a full session runs with TMPDIR pointed at an empty folder, then that
folder and the vault's folder are scanned for a marker that was in the file, its title, a note and a
transcript."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE

MARKER = "PLAINTEXT-MARKER-7d1e9c"

_SESSION = """
import io, sys
from pathlib import Path
from app.vault import db
db._unsafe_kdf_iter_for_tests = 2000
from app.vault.vault import Vault
vault_path, source, marker, passphrase = sys.argv[1:]
with Vault.create(vault_path, passphrase, actor="tester") as v:
    item = v.ingest_file(source, title="Title " + marker).item_id
    v.ingest_stream(io.BytesIO((marker * 1000).encode() + b"derived"), name=marker + ".txt", kind="document",
                    derived_from=item, derivation={"note": "redacted"})
    v.add_note(item, "Note " + marker)
    v.set_transcript(item, [{"start": 0, "end": 1, "text": "Said " + marker}])
    v.update_item(item, description="Description " + marker, tags=[marker])
    assert v.search(marker[:10]) and v.search("PL")
    with v.open_original(item) as f:
        assert marker.encode() in f.read()
    assert v.verify().ok
    v.checkpoint()
    v.change_passphrase("a different long passphrase for the field")
    assert len(v.list_items()) == 2
print("ok")
"""


def _scan(folder: Path, needle: bytes) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            if needle in path.read_bytes() or needle in name.encode():
                found.append(str(path))
    return found


def test_no_plaintext_in_tmpdir_or_next_to_the_vault(tmp_path: Path) -> None:
    temp, vault_dir, source_dir = tmp_path / "tmp", tmp_path / "vault", tmp_path / "source"
    for folder in (temp, vault_dir, source_dir):
        folder.mkdir()
    source = source_dir / "testimony.txt"
    source.write_bytes((MARKER + "\n").encode() * 300_000)  # ~7 MB: several chunks, cache spills
    env = {**os.environ, "TMPDIR": str(temp), "TMP": str(temp), "TEMP": str(temp), "SQLITE_TMPDIR": str(temp)}
    result = subprocess.run(
        [sys.executable, "-c", _SESSION, str(vault_dir / "case.vault"), str(source), MARKER, TEST_PASSPHRASE],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    assert sorted(p.name for p in vault_dir.iterdir()) == ["case.vault", "case.vault-journal", "case.vault.lock"]
    for needle in (MARKER.encode(), MARKER.encode("utf-16-le")):
        assert _scan(vault_dir, needle) == []
        assert _scan(temp, needle) == []
