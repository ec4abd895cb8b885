"""Redacted exports against a real vault: no protected identity leaves, in any encoding or parameter.

Files are ingested under names that are the GBK, Big5 and cp874 bytes of protected people's names
(as old Windows machines and phones write them); the vault stores such names with ``\\xNN`` escapes.
The redacted PDF (parsed back with pikepdf and pdftotext) and bundle (read back with zipfile) must
carry neither the name in any encoding nor its escaped form, nor the original's plain SHA-256, nor
any value that undoes a redaction; the bundle's checkpoint must cover its own ``exported`` event.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.export.bundle_verify import verify_bundle
from app.export.commitments import commit, commitment_key, original_commitment
from app.export.exporter import ExportResult, export
from app.export.pdf.inspect import extract_everything, find_strings
from app.vault import db, keys
from app.vault.checkpoint import parse_checkpoint
from app.vault.vault import Vault
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE, shared_data_path
from tests.export.test_bundle_support import resign
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

GBK_NAME, BIG5_NAME, THAI_NAME = "赵新民", "趙新民", "สมชาย ใจดี"
LEGACY = [(GBK_NAME, "gbk"), (BIG5_NAME, "big5"), ("สมชาย", "cp874")]


def escaped(data: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in data)


# Every form of the names that must not leave: as text, as escapes, as the raw legacy bytes.
NAME_FORMS = [GBK_NAME, BIG5_NAME, THAI_NAME, "สมชาย", "ใจดี"]
ESCAPED_FORMS = [escaped(name.encode(enc)[:4]) for name, enc in LEGACY]
RAW_FORMS = [name.encode(enc) for name, enc in LEGACY]


@dataclass
class Exported:
    vault: Vault
    folder: Path
    items: list[int]
    pdf: Path
    pdf_result: ExportResult
    bundle: Path
    bundle_result: ExportResult


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    faces = [shared_data_path("faces", "19_Couple_Couple_19_106.jpg"),
             shared_data_path("faces", "13_Interview_Interview_On_Location_13_129.jpg"),
             shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")]
    mp = pytest.MonkeyPatch()
    mp.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    mp.setattr(keys, "new_seal_identity",
               lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    folder = tmp_path_factory.mktemp("legacy")
    inputs = os.fsencode(folder / "inputs")
    os.mkdir(inputs)
    paths = []
    for (name, encoding), face, tail in zip(LEGACY, faces, (b".jpg", b"_harbour.jpg", b" interview.jpg"),
                                            strict=True):
        path = os.path.join(inputs, name.encode(encoding) + tail)
        os.symlink(face, path)
        paths.append(path)
    vault = Vault.create(folder / "case.vault", TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO")
    try:
        case_id = vault.add_case(f"The detention of {GBK_NAME}")
        survivor = vault.add_person(name=GBK_NAME, aliases=[BIG5_NAME], pseudonym="Survivor S-9",
                                    role="survivor", protected=True)
        witness = vault.add_person(name=THAI_NAME, aliases=["สมชาย"], pseudonym="Witness W-7", role="witness",
                                   protected=True)
        vault.add_consent(survivor, scopes="court,un,ngo")
        vault.add_consent(witness, scopes="court,un,ngo")
        items = [vault.ingest_file(path, case_id=case_id).item_id for path in paths]
        assert "\\x" in vault.get_item(items[0]).original_name  # stored escaped, as the issue describes
        vault.edit_item(items[0], captured_at="2024-05-01T10:00:00+07:00")
        for item in items:
            vault.link(item, survivor)
        pdf = folder / "redacted.pdf"
        pdf_result = export(vault, case_id=case_id, audience="ngo", level="redacted", out=pdf, ern_prefix="NGO")
        bundle = folder / "bundle.zip"
        bundle_result = export(vault, case_id=case_id, audience="un", level="redacted", out=bundle, bundle=True)
        yield Exported(vault, folder, items, pdf, pdf_result, bundle, bundle_result)
    finally:
        vault.close()
        mp.undo()


def _assert_no_identity(where: str, text: str) -> None:
    for form in [*NAME_FORMS, *ESCAPED_FORMS]:
        assert form not in text, f"{form!r} found in {where}"


def test_pdf_carries_no_legacy_encoded_name_anywhere(exported: Exported) -> None:
    contents = extract_everything(exported.pdf)
    assert contents.outlines and "dossier-text.txt" in contents.attachments
    assert find_strings(contents, NAME_FORMS + ESCAPED_FORMS) == []
    for raw in RAW_FORMS:
        assert not any(raw in stream for stream in contents.streams)
        assert not any(raw in data for data in contents.attachments.values())
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    _assert_no_identity("dossier-text.txt", text)
    # Exhibits are named by ERN and kind when their title was only the file name.
    assert "Exhibit EX-001: Photo EX-001" in text and "Exhibit EX-003: Photo EX-003" in text
    assert "Survivor S-9" in text
    shown = subprocess.run(["pdftotext", "-enc", "UTF-8", str(exported.pdf), "-"], capture_output=True,
                           check=True).stdout.decode("utf-8")
    _assert_no_identity("pdftotext output", shown)
    assert "Photo EX-002" in shown


def test_pdf_title_and_xmp_are_pseudonymised(exported: Exported) -> None:
    contents = extract_everything(exported.pdf)
    assert "The detention of [Survivor S-9]" in contents.info.get("/Title", "")
    assert "The detention of [Survivor S-9]" in contents.xmp
    _assert_no_identity("document info", json.dumps(contents.info, ensure_ascii=False))
    _assert_no_identity("XMP", contents.xmp)


def test_pdf_shows_redacted_hash_and_commitment_never_the_original_hash(exported: Exported) -> None:
    vault = exported.vault
    text = extract_everything(exported.pdf).attachments["dossier-text.txt"].decode("utf-8")
    key = commitment_key(vault)
    for item_id in exported.items:
        item = vault.get_item(item_id)
        assert item.sha256 not in text
        assert original_commitment(key, item) in text
        derivative = vault.get_item(exported.pdf_result.derivatives_used[item_id])
        assert derivative.sha256 in text
    # The exact size of an original would confirm a candidate file as well as its hash.
    for item_id in exported.items:
        size = vault.get_item(item_id).size
        assert f"size: {size}" not in text and f"{size:,} bytes" not in text
    # The camera's zone offset is a location hint, and so is the exact time: the UTC date alone is shown.
    assert "2024-05-01 (UTC date only)" in text
    assert "2024-05-01 03:00" not in text and "2024-05-01T10:00" not in text and "2024-05-01 10:00" not in text
    assert "+07:00" not in text
    # The mosaic/fill seed of each redaction stays in the vault.
    seeds = {e.details["seed"] for e in vault.events() if e.action == "redacted"}
    for seed in seeds:
        assert f"seed: {seed}" not in text


def _bundle_texts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_bundle_carries_no_legacy_encoded_name_nor_original_hash(exported: Exported) -> None:
    members = _bundle_texts(exported.bundle)
    _assert_no_identity("bundle member names", "\n".join(members))
    assert sorted(n for n in members if n.startswith("exhibits/")) == \
        [f"exhibits/EV-{i:05d}-Red.png" for i in sorted(exported.items)]  # the redacted copies, named by ERN
    originals = [exported.vault.get_item(i).sha256 for i in exported.items]
    for name, data in members.items():
        for raw in RAW_FORMS:
            assert raw not in data, (name, raw)
        if name.startswith("exhibits/") or name.endswith((".pdf", ".sig")):
            continue
        text = data.decode("utf-8")
        _assert_no_identity(name, text)
        for sha in originals:
            assert sha not in text, (name, "original SHA-256")
    manifest = json.loads(members["manifest.json"])
    assert all("\\x" not in entry["path"] for entry in manifest["files"])


def test_bundle_events_show_commitments_a_court_with_the_vault_can_check(exported: Exported) -> None:
    vault = exported.vault
    key = commitment_key(vault)
    by_seq = {e.seq: e for e in vault.events()}
    lines = _bundle_texts(exported.bundle)["custody/events.jsonl"].decode("utf-8").splitlines()
    withheld = [json.loads(line) for line in lines if '"withheld":' in line]
    assert withheld
    seen_fields = set()
    for shown in withheld:
        event = by_seq[shown["seq"]]
        assert shown["withheld"]["leaf_hash"] == event.leaf_hash().hex()
        assert shown["withheld"]["chain_hash"] == event.chain_hash()
        for path in shown["withheld"]["fields"]:
            seen_fields.add(path.rsplit(".", 1)[-1])
            original: object = {"item_sha256": event.item_sha256, "details": event.details}
            shown_value: object = shown
            for part in path.split("."):
                original = original[part]  # type: ignore[index]
                shown_value = shown_value[part]  # type: ignore[index]
            assert shown_value == commit(key, field=path, value=original, seq=event.seq, item_id=event.item_id)
    assert {"seed", "original_sha256", "item_sha256", "size"} <= seen_fields
    for line in lines:
        assert '"seed":' not in line or '"seed":"hmac-sha256:' in line


def test_bundle_checkpoint_covers_its_own_export_event(exported: Exported) -> None:
    result = exported.bundle_result
    assert verify_bundle(exported.bundle).ok
    members = _bundle_texts(exported.bundle)
    last = json.loads(members["custody/events.jsonl"].decode("utf-8").splitlines()[-1])
    assert last["action"] == "exported" and last["seq"] == result.event_seq
    assert parse_checkpoint(members["custody/checkpoint.txt"].decode("utf-8")).tree_size == last["seq"] + 1
    exported_event = next(e for e in exported.vault.events() if e.seq == result.event_seq)
    made = dict(map(tuple, exported_event.details["bundle_files"]))
    assert made["dossier.pdf"] == hashlib.sha256(members["dossier.pdf"]).hexdigest()


def test_independent_verifier_accepts_the_redacted_bundle(exported: Exported) -> None:
    tool = PROJECT_ROOT / "tools" / "independent_verifier.py"
    done = subprocess.run([sys.executable, "-I", str(tool), "--bundle", str(exported.bundle)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "keyed commitments" in done.stdout and "is the export itself" in done.stdout


def test_a_changed_stated_leaf_hash_fails_both_verifiers(exported: Exported, tmp_path: Path) -> None:
    members = _bundle_texts(exported.bundle)
    lines = members["custody/events.jsonl"].decode("utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if '"withheld":' in line)
    shown = json.loads(lines[index])
    shown["withheld"]["leaf_hash"] = "0" * 64
    from app.vault.canonical import canonical_json

    lines[index] = canonical_json(shown).decode("utf-8")
    folder = tmp_path / "edited"
    folder.mkdir()
    for name, data in members.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(("\n".join(lines) + "\n").encode("utf-8") if name == "custody/events.jsonl" else data)
    resign(folder, exported.vault.signing_key)  # an insider with the key: sums and signature are right
    report = verify_bundle(folder)
    assert [p.file_or_part for p in report.problems] == ["custody/proofs.json"], report.problems
    tool = PROJECT_ROOT / "tools" / "independent_verifier.py"
    done = subprocess.run([sys.executable, "-I", str(tool), "--bundle", str(folder)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stdout


def test_verify_txt_commands_pass_on_the_redacted_bundle(exported: Exported, tmp_path: Path) -> None:
    from app.export.bundle_verify import extract_bundle
    from tests.export.test_bundle_shell import command_blocks, run_block

    folder = tmp_path / "extracted"
    extract_bundle(exported.bundle, folder)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    blocks = command_blocks((folder / "VERIFY.txt").read_text(encoding="utf-8"))
    custody = next(b for b in blocks if any("check_custody.py" in line for line in b))
    result = run_block(custody, folder, scratch)
    assert result.returncode == 0 and "OK:" in result.stdout, result.stderr
    for block in blocks:  # the signature and checksum steps ("$E" ones need an earlier checkpoint)
        if any("openssl" in line or "sha256sum" in line for line in block) and not any("$E" in x for x in block):
            assert run_block(block, folder, scratch).returncode == 0, block
