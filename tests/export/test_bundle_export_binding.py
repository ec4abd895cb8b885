"""The bundle's own ``exported`` event binds what it holds (docs/FORMAT.md, "What the exported event binds",
verification steps 13-16), so an insider holding the vault's signing key cannot swap a file made at export,
drop the export record or leave an event out and re-sign the bundle unnoticed.

Bundles are made by the real exporter from a real vault.  The insider reads the signing key out of the
vault with stock SQLCipher and re-signs the edited manifest with it (the technique of the outside auditor's
tamper script); the recipient checks with the key ID and a checkpoint obtained before the export, exactly
as they are told to.  The independent verifier (tools/independent_verifier.py, written from FORMAT.md)
must reach the same verdict.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shutil
import struct
import wave
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from app.cli import bundle_cmds
from app.errors import BundleError, IntegrityError
from app.export import bundle as layout
from app.export.bundle import BundleFile, write_bundle
from app.export.bundle_custody_checks import EARLIER
from app.export.bundle_verify import BundleReport, extract_bundle, verify_bundle
from app.export.exporter import export
from app.vault import keys
from app.vault.canonical import canonical_json
from app.vault.checkpoint import parse_checkpoint, sign_checkpoint
from app.vault.events import Event
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.export.test_bundle_support import resign
from tests.vault.vaultkit import ACTOR, raw_connect, speed_up
from tools import independent_verifier

TRANSCRIPT = [dict(start=0.0, end=1.0, speaker="Interviewer", language="en", text="Where were you held?")]


@dataclass
class Made:
    vault: Path
    folder: Path
    key_id: str
    earlier: Path  # a checkpoint sent away before the exports (the recipient's)
    later: Path  # a checkpoint made after them
    original_zip: Path
    original_dir: Path
    redacted_zip: Path
    redacted_dir: Path


def _wav() -> bytes:
    """One second of a 440 Hz tone, 16 kHz mono: a real recording ffmpeg can read."""
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(16_000)
        sound.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / 16_000)))
                                   for n in range(16_000)))
    return out.getvalue()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """A photo and a recording with a transcript; a checkpoint sent away; four bundles (original and redacted
    level, ZIP and folder); a later checkpoint.  The redacted export makes the photo's redacted copy (a
    ``redacted`` event) and withholds the recording (a placeholder file)."""
    folder = tmp_path_factory.mktemp("binding")
    photo, recording = folder / "photo.png", folder / "interview.wav"
    Image.new("RGB", (96, 72), (40, 90, 160)).save(photo)
    recording.write_bytes(_wav())
    path = folder / "case.vault"
    with pytest.MonkeyPatch.context() as mp:
        speed_up(mp)
        with Vault.create(path, TEST_PASSPHRASE, actor=ACTOR) as vault:
            case_id = vault.add_case("Harbour case")
            vault.ingest_file(photo, case_id=case_id)
            interview = vault.ingest_file(recording, case_id=case_id, kind="interview").item_id
            vault.set_transcript(interview, TRANSCRIPT)
            (folder / "earlier.txt").write_text(vault.checkpoint(), encoding="utf-8")
            bundles = {}
            for level, audience in (("redacted", "un"), ("original", "court")):
                for suffix in (".zip", ""):
                    out = folder / f"{level}{suffix or '-dir'}"
                    out = out.with_suffix(".zip") if suffix else out
                    export(vault, case_id=case_id, audience=audience, level=level, out=out, bundle=True)
                    bundles[(level, suffix)] = out
            (folder / "later.txt").write_text(vault.checkpoint(), encoding="utf-8")
            key_id = vault.key_id
    return Made(path, folder, key_id, folder / "earlier.txt", folder / "later.txt", bundles[("original", ".zip")],
                bundles[("original", "")], bundles[("redacted", ".zip")], bundles[("redacted", "")])


def insider_key(path: Path) -> object:
    """The vault's own signing key, read out of the vault file with the passphrase (stock SQLCipher)."""
    conn = raw_connect(path)
    seed, = conn.execute("SELECT private_key FROM keys WHERE name = 'signing'").fetchone()
    conn.close()
    return keys.load_private_key(bytes(seed))


def copy_of(bundle: Path, target: Path) -> Path:
    """A folder copy of a genuine bundle to tamper with."""
    if bundle.is_dir():
        shutil.copytree(bundle, target)
    else:
        extract_bundle(bundle, target)
    return target


def resign_as_insider(folder: Path, made: Made) -> None:
    """Recompute every hash, the event count and SHA256SUMS, and sign the manifest with the vault's key."""
    manifest = json.loads((folder / layout.MANIFEST).read_bytes())
    manifest["events"] = (folder / layout.EVENTS).read_bytes().count(b"\n")
    (folder / layout.MANIFEST).write_bytes(canonical_json(manifest))
    resign(folder, insider_key(made.vault))


def check(folder: Path, made: Made) -> BundleReport:
    """As the recipient is told to: with the key ID and the checkpoint they hold.  The independent verifier
    must agree with the app."""
    report = verify_bundle(folder, expected_key_id=made.key_id, earlier_checkpoint=made.earlier.read_text())
    tool = independent_verifier.main(["--bundle", str(folder), "--expect-key-id", made.key_id,
                                      "--checkpoint", str(made.earlier)])
    assert tool == (0 if report.ok else 1), report.problems
    return report


def lines(folder: Path) -> list[bytes]:
    return (folder / layout.EVENTS).read_bytes().split(b"\n")[:-1]


def drop_event(folder: Path, index: int) -> int:
    """Remove one line of custody/events.jsonl and its proof; return its seq."""
    kept = lines(folder)
    seq = json.loads(kept.pop(index))["seq"]
    (folder / layout.EVENTS).write_bytes(b"".join(line + b"\n" for line in kept))
    proofs = json.loads((folder / layout.PROOFS).read_bytes())
    proofs["proofs"] = [p for p in proofs["proofs"] if p["seq"] != seq]
    (folder / layout.PROOFS).write_bytes(canonical_json(proofs))
    return seq


def messages(report: BundleReport) -> list[str]:
    return [str(p) for p in report.problems]


# --- the genuine bundles --------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["original_zip", "original_dir", "redacted_zip", "redacted_dir"])
def test_genuine_bundles_verify_with_key_and_earlier_checkpoint(made: Made, which: str) -> None:
    bundle = getattr(made, which)
    report = check(bundle, made)
    assert report.ok and report.key_trusted and report.earlier_checkpoint_consistent is True, report.problems
    assert report.notes == []


def test_the_exported_event_lists_what_the_bundle_holds(made: Made, tmp_path: Path) -> None:
    folder = copy_of(made.redacted_zip, tmp_path / "b")
    last = json.loads(lines(folder)[-1])
    manifest = json.loads((folder / layout.MANIFEST).read_bytes())
    made_files = {e["path"]: e["sha256"] for e in manifest["files"]
                  if e["item_id"] is None and e["path"] not in layout.GENERATED_ROLES}
    assert {p for p, _ in last["details"]["bundle_files"]} == set(made_files) == {
        "dossier.pdf", "dossier-manifest.json", "transcripts/EX-002.txt", "exhibits/EV-00002-WITHHELD.txt",
        "loadfiles/production.dat", "loadfiles/production.csv", "loadfiles/production.opt"}
    assert dict(last["details"]["bundle_files"]) == made_files
    assert last["details"]["bundle_items"] == [e["item_id"] for e in manifest["files"] if e["item_id"]]
    assert last["details"]["bundle_event_seqs"] == [json.loads(line)["seq"] for line in lines(folder)[:-1]]
    assert "withheld" not in last  # shown whole, even in a redacted bundle


def test_load_files_are_deflated_in_a_zip_bundle(made: Made) -> None:
    with zipfile.ZipFile(made.original_zip) as archive:
        methods = {i.filename: i.compress_type for i in archive.infolist()}
    assert {methods[f"loadfiles/production.{s}"] for s in ("dat", "csv", "opt")} == {zipfile.ZIP_DEFLATED}
    assert methods["dossier.pdf"] == zipfile.ZIP_STORED


# --- C1: a file made at export replaced, the manifest re-signed with the vault's key -----------------------


@pytest.mark.parametrize(("bundle", "name"), [
    ("original_zip", "dossier.pdf"),
    ("original_zip", "dossier-manifest.json"),
    ("original_zip", "transcripts/EX-002.txt"),
    ("original_zip", "loadfiles/production.dat"),
    ("original_zip", "loadfiles/production.csv"),
    ("original_zip", "loadfiles/production.opt"),
    ("redacted_zip", "exhibits/EV-00002-WITHHELD.txt"),
])
def test_replaced_file_made_at_export_is_caught(made: Made, tmp_path: Path, bundle: str, name: str) -> None:
    folder = copy_of(getattr(made, bundle), tmp_path / "b")
    target = folder / name
    if name == "dossier.pdf":  # another genuine, validly sealed dossier of the same vault
        other = made.redacted_zip if bundle == "original_zip" else made.original_zip
        with zipfile.ZipFile(other) as archive:
            target.write_bytes(archive.read("dossier.pdf"))
    elif name == "dossier-manifest.json":  # an exhibit's custody list shortened, still canonical JSON
        dossier = json.loads(target.read_bytes())
        dossier["exhibits"][0]["custody_event_seqs"] = dossier["exhibits"][0]["custody_event_seqs"][:1]
        target.write_bytes(canonical_json(dossier))
    else:
        target.write_bytes(target.read_bytes() + b"The witness said nothing relevant.\r\n")
    resign_as_insider(folder, made)
    report = check(folder, made)
    assert not report.ok
    assert f"{name}: is not the file this export made: its SHA-256 differs from the one the export recorded in " \
        "the custody log, so it was replaced afterwards" in messages(report)


def test_added_and_removed_files_are_caught(made: Made, tmp_path: Path) -> None:
    folder = copy_of(made.original_dir, tmp_path / "b")
    manifest = json.loads((folder / layout.MANIFEST).read_bytes())
    exhibit = next(e for e in manifest["files"] if e["role"] == "exhibit")
    manifest["files"] = [e for e in manifest["files"] if e["path"] not in (exhibit["path"], "loadfiles/production.opt")]
    manifest["files"].insert(2, {"path": "exhibits/EV-00009.txt", "sha256": "0" * 64, "size": 0,
                                 "role": "attachment", "item_id": None})
    (folder / exhibit["path"]).unlink()
    (folder / "loadfiles/production.opt").unlink()
    (folder / "exhibits/EV-00009.txt").write_text("A note that was never exported.\n")
    (folder / layout.MANIFEST).write_bytes(canonical_json(manifest))
    resign_as_insider(folder, made)
    found = messages(check(folder, made))
    assert f"manifest.json: does not list the file of vault item {exhibit['item_id']}, which the export's record " \
        "in the custody log lists as part of this bundle, so it was removed" in found
    assert "loadfiles/production.opt: is missing: the export's record in the custody log lists it as part of this " \
        "bundle, so it was removed" in found
    assert "exhibits/EV-00009.txt: was not made by this export: the export's record in the custody log does not " \
        "list it, so it was added afterwards" in found


# --- C2: the export record itself dropped; C3: one event left out ------------------------------------------


def test_dropped_export_record_is_caught(made: Made, tmp_path: Path) -> None:
    folder = copy_of(made.original_zip, tmp_path / "b")
    seq = drop_event(folder, -1)
    (folder / "transcripts/EX-002.txt").write_text("The witness said nothing relevant.\n")  # now "unbound"
    resign_as_insider(folder, made)
    report = check(folder, made)
    assert not report.ok and report.earlier_checkpoint_consistent is True  # the log itself is untouched
    assert [p.file_or_part for p in report.problems] == [layout.EVENTS]
    assert report.problems[0].message.startswith(f"does not end with this bundle's own exported event (event {seq}")
    assert "not bound to the custody log" in report.problems[0].message


@pytest.mark.parametrize("bundle", ["original_zip", "redacted_dir"])
def test_left_out_event_is_caught(made: Made, tmp_path: Path, bundle: str) -> None:
    folder = copy_of(getattr(made, bundle), tmp_path / "b")
    index = next(i for i, line in enumerate(lines(folder)) if json.loads(line)["action"] == "redacted")
    seq = drop_event(folder, index)
    resign_as_insider(folder, made)
    report = check(folder, made)
    assert not report.ok
    assert messages(report) == [
        f"custody/events.jsonl: event {seq} is missing: the export's record in the custody log lists them as part "
        "of this bundle, so they were removed"]


# --- a4: the recipient's checkpoint is later than the bundle ----------------------------------------------


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="evidence-vault")
    for option in ("--vault", "--actor"):
        parser.add_argument(option)
    parser.add_argument("--passphrase-stdin", action="store_true")
    parser.add_argument("--read-only", action="store_true")
    bundle_cmds.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_later_checkpoint_is_not_compared_and_says_how_to_check(made: Made, tmp_path: Path, capsys,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    later = made.later.read_text()
    report = verify_bundle(made.original_zip, expected_key_id=made.key_id, earlier_checkpoint=later)
    assert report.ok and report.problems == [] and report.earlier_checkpoint_consistent is None
    assert [n.file_or_part for n in report.notes] == [EARLIER]
    assert "evidence-vault proof --from @checkpoint.txt --to @yours.txt" in report.notes[0].message
    assert report.as_dict()["notes"][0]["file"] == EARLIER
    capsys.readouterr()
    assert run_cli(["verify-bundle", str(made.original_zip), "--checkpoint", f"@{made.later}"]) == 3
    printed = capsys.readouterr().out
    assert printed.startswith("VERIFIED") and "NOT CHECKED: the earlier checkpoint you gave was not compared" in printed
    assert independent_verifier.main(["--bundle", str(made.original_zip), "--checkpoint", str(made.later)]) == 3

    # What the note says to do: the keeper proves from the bundle's checkpoint to the recipient's.
    speed_up(monkeypatch)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    with zipfile.ZipFile(made.original_zip) as archive:
        (tmp_path / "bundle-cp.txt").write_bytes(archive.read(layout.CHECKPOINT))
        (tmp_path / "key.pem").write_bytes(archive.read(layout.PUBLIC_KEY))
    vault_copy = tmp_path / "case.vault"
    shutil.copyfile(made.vault, vault_copy)
    capsys.readouterr()
    assert run_cli(["--vault", str(vault_copy), "--actor", ACTOR, "proof", "--from", f"@{tmp_path / 'bundle-cp.txt'}",
                    "--to", f"@{made.later}"]) == 0
    proof = tmp_path / "proof.txt"
    proof.write_text(capsys.readouterr().out, encoding="utf-8")
    assert proof.read_text().split("--- new checkpoint\n")[1] == later
    common = ["verify-proof", str(proof), "--key", str(tmp_path / "key.pem"),
              "--from", f"@{tmp_path / 'bundle-cp.txt'}"]
    assert run_cli([*common, "--to", f"@{made.later}"]) == 0
    assert run_cli([*common, "--to", f"@{made.earlier}"]) == 1  # a proof to another checkpoint is refused
    assert "not at yours" in capsys.readouterr().out


def test_later_checkpoint_with_an_older_time_means_events_were_removed(made: Made) -> None:
    """A bundle signed after the recipient's checkpoint but covering fewer events: the log shrank."""
    key = insider_key(made.vault)
    held = parse_checkpoint(made.later.read_text())
    with zipfile.ZipFile(made.original_zip) as archive:
        size = parse_checkpoint(archive.read(layout.CHECKPOINT).decode()).tree_size
    assert held.tree_size > size
    backdated = sign_checkpoint(origin=held.origin, tree_size=held.tree_size, root=held.root,
                                time="2000-01-01T00:00:00Z", key=key)  # as if it had been made long before
    report = verify_bundle(made.original_zip, earlier_checkpoint=backdated)
    assert not report.ok and report.earlier_checkpoint_consistent is False
    assert "events were removed after that checkpoint" in report.problems[0].message


# --- a9: the dossier's checkpoint ---------------------------------------------------------------------------


def _resigned(text: str, key: object) -> str:
    old = parse_checkpoint(text)
    return sign_checkpoint(origin=f"evidence-vault/{keys.key_id(key)}", tree_size=old.tree_size, root=old.root,
                           time=old.time, key=key)


def test_dossier_checkpoint_signed_by_another_key_is_caught(made: Made, tmp_path: Path) -> None:
    """After a key swap everything the attacker could re-sign is consistent; the dossier's checkpoint, bound
    by the export's own event, still carries the vault's real signature."""
    folder = copy_of(made.original_zip, tmp_path / "b")
    attacker = keys.new_signing_key()
    (folder / layout.CHECKPOINT).write_text(_resigned((folder / layout.CHECKPOINT).read_text(), attacker))
    consistency = json.loads((folder / layout.CONSISTENCY).read_bytes())
    for entry in consistency["proofs"]:
        entry["checkpoint"] = _resigned(entry["checkpoint"], attacker)
    (folder / layout.CONSISTENCY).write_bytes(canonical_json(consistency))
    (folder / layout.PUBLIC_KEY).write_bytes(keys.public_key_pem(attacker))
    manifest = json.loads((folder / layout.MANIFEST).read_bytes())
    manifest["vault_key_id"] = keys.key_id(attacker)
    (folder / layout.MANIFEST).write_bytes(canonical_json(manifest))
    resign(folder, attacker)
    report = verify_bundle(folder)  # even without the expected key ID
    assert messages(report) == [
        "dossier-manifest.json: its checkpoint (the one printed on the dossier) is not signed by this bundle's "
        "vault key: the dossier comes from another vault, or the bundle was re-signed with another key"]
    assert independent_verifier.main(["--bundle", str(folder)]) == 1


def test_dossier_checkpoint_without_its_consistency_proof_is_caught(made: Made, tmp_path: Path) -> None:
    folder = copy_of(made.redacted_dir, tmp_path / "b")
    dossier_size = parse_checkpoint(json.loads((folder / layout.DOSSIER_MANIFEST).read_bytes())["checkpoint"]).tree_size
    consistency = json.loads((folder / layout.CONSISTENCY).read_bytes())
    consistency["proofs"] = [e for e in consistency["proofs"] if e["tree_size"] != dossier_size]
    (folder / layout.CONSISTENCY).write_bytes(canonical_json(consistency))
    resign_as_insider(folder, made)
    report = check(folder, made)
    assert messages(report) == [
        f"dossier-manifest.json: its checkpoint of {dossier_size} events has no verified consistency proof in "
        "custody/consistency.json, so the dossier cannot be shown to come from this bundle's log"]


# --- the ZIP container; bundles made before the export record existed -------------------------------------


@pytest.mark.parametrize("how", ["appended", "comment"])
def test_bytes_after_the_zip_are_refused(made: Made, tmp_path: Path, capsys, how: str) -> None:
    target = tmp_path / "bundle.zip"
    shutil.copyfile(made.original_zip, target)
    if how == "appended":
        with target.open("ab") as handle:
            handle.write(b"trailing junk that no hash covers")
    else:
        with zipfile.ZipFile(target, "a") as archive:
            archive.comment = b"unsigned text shown by archive tools"
    with pytest.raises(BundleError, match="extra data after the end of its ZIP archive"):
        verify_bundle(target)
    with pytest.raises(BundleError):
        extract_bundle(target, tmp_path / "out")
    assert run_cli(["verify-bundle", str(target)]) == 1
    assert "NOT VERIFIED: This bundle has extra data after the end" in capsys.readouterr().out
    assert independent_verifier.main(["--bundle", str(target)]) == 1


def test_bundle_without_its_export_record_is_not_intact(made: Made, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle as the exporter wrote it before the exported event was included: the files of the real
    export, the events of its items and the dossier's checkpoint, genuinely signed."""
    speed_up(monkeypatch)
    genuine = copy_of(made.original_zip, tmp_path / "genuine")
    dossier_checkpoint = json.loads((genuine / layout.DOSSIER_MANIFEST).read_bytes())["checkpoint"]
    manifest = json.loads((genuine / layout.MANIFEST).read_bytes())
    with Vault.open(made.vault, TEST_PASSPHRASE, actor=ACTOR) as vault:
        seqs = {json.loads(line)["seq"] for line in lines(genuine)[:-1]}
        events: list[Event] = [e for e in vault.events() if e.seq in seqs]
        leaves, signing_key, earlier = vault.leaf_hashes(), vault.signing_key, vault.checkpoints()
    files = [BundleFile(e["path"], (lambda p=genuine / e["path"]: p.open("rb")), e["item_id"], e["role"])
             for e in manifest["files"] if e["path"] not in layout.GENERATED_ROLES]
    out = tmp_path / "legacy"
    write_bundle(out=out, as_zip=False, files=files, events=events, leaf_hashes=leaves,
                 checkpoint_text=dossier_checkpoint, signing_key=signing_key,
                 seal_cert_pem=(genuine / layout.SEAL_CERT).read_bytes(), audience="court", level="original",
                 earlier_checkpoints=[c for c in earlier if parse_checkpoint(c).tree_size <= len(leaves)])
    report = verify_bundle(out, expected_key_id=made.key_id)
    assert [p.file_or_part for p in report.problems] == [layout.EVENTS]
    assert "not bound to the custody log" in report.problems[0].message
    assert "Bundles made by earlier versions of Evidence Vault lack this record" in report.problems[0].message
    assert independent_verifier.main(["--bundle", str(out)]) == 1


def test_redacted_export_refuses_a_bundle_whose_record_would_be_withheld(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The user exporting shares a name with a person of the vault: at the redacted level their name is
    withheld from every event, the export record included, which then could not bind the bundle."""
    speed_up(monkeypatch)
    photo = tmp_path / "photo.png"
    Image.new("RGB", (96, 72), (40, 90, 160)).save(photo)
    with Vault.create(tmp_path / "case.vault", TEST_PASSPHRASE, actor="Sokha Chan") as vault:
        item = vault.ingest_file(photo).item_id
        vault.add_person(name="Sokha Chan", role="witness", protected=True)
        with pytest.raises(IntegrityError, match="contains the name of a person in the vault"):
            export(vault, item_ids=[item], audience="un", level="redacted", out=tmp_path / "b.zip", bundle=True)
        assert not (tmp_path / "b.zip").exists()
        failed = [e for e in vault.events() if e.action == "exported"][-1]
        assert failed.details["completed"] is False and failed.details["reason"] == "error"
