"""The tamper table of issue 9: every insider tamper case, the app's verdict and the independent verifier's.

    .venv/bin/python benchmarks/tamper_table.py [--keep FOLDER]

One vault is made with the project's API at production settings (256,000 PBKDF2 iterations, a real
RSA seal key): a case, two photos and a three-chunk document, a note, a checkpoint that "left the laptop"
(earlier.txt), then one more note.  Each case tampers with a fresh copy as an insider who knows the
passphrase would: stock SQLCipher with the PRAGMAs of docs/FORMAT.md, triggers dropped, events re-chained
and checkpoints re-signed with the vault's own key where the case says so.  Then both verifiers run as an
auditor runs them, in child processes:

* the app: ``evidence-vault --read-only verify`` or ``evidence-vault verify-bundle`` (exit 0 intact,
  1 altered, 2 could not run);
* ``python -I tools/independent_verifier.py`` (written from docs/FORMAT.md alone, same exit codes).

The table prints each verdict, whether each is what the case must give, and whether the two agree; the
script exits 1 if any verdict is unexpected or the two disagree.  The baseline is the untouched vault,
checked in the same run (first rows).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from app.export.exporter import export  # noqa: E402
from app.vault.checkpoint import parse_checkpoint, sign_checkpoint  # noqa: E402
from app.vault.merkle import MerkleTree  # noqa: E402
from app.vault.proofs_file import format_proof_file  # noqa: E402
from app.vault.vault import Vault  # noqa: E402
from benchmarks.tamper_cases import (  # noqa: E402
    ACTOR,
    PASSPHRASE,
    Pristine,
    Tamper,
    backdate_last_event,
    delete_checkpoint_row,
    delete_item,
    delete_middle_event,
    delete_tail_under_stored_checkpoint,
    edit_event_and_hash,
    edit_event_field,
    flip_chunk_byte,
    make_pristine,
    raw_connect,
    rekey_and_rewrite,
    replace_key_columns,
    replace_signing_key,
    resign,
    rewrite_exhibit,
    stale_checkpoint_root,
    swap_events,
    truncate_tail,
)

VERDICT = {0: "intact", 1: "ALTERED", 2: "could not run"}


@dataclass
class Row:
    case: str
    check: str
    expected: int
    app: int
    tool: int
    app_said: str
    warned: tuple[bool, bool] = (False, False)

    @property
    def good(self) -> bool:
        return self.app == self.tool == self.expected


# --- the vault and the two verifiers ---------------------------------------------------------------

def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["EVIDENCE_VAULT_PASSPHRASE"] = PASSPHRASE
    return env


def _run(argv: Sequence[str | Path]) -> tuple[int, str]:
    done = subprocess.run([str(a) for a in argv], env=_env(), cwd=PROJECT, capture_output=True, text=True,
                          timeout=600)
    return done.returncode, done.stdout + done.stderr


def app_vault(path: Path, *extra: str | Path) -> tuple[int, str]:
    return _run([sys.executable, "-m", "app", "--vault", path, "--read-only", "--actor", "Auditor", "verify",
                 *extra])


def tool_vault(path: Path, *extra: str | Path) -> tuple[int, str]:
    return _run([sys.executable, "-I", PROJECT / "tools" / "independent_verifier.py", path, *extra])


def app_bundle(path: Path, *extra: str | Path) -> tuple[int, str]:
    return _run([sys.executable, "-m", "app", "verify-bundle", path, *extra])


def tool_bundle(path: Path, *extra: str | Path) -> tuple[int, str]:
    return _run([sys.executable, "-I", PROJECT / "tools" / "independent_verifier.py", "--bundle", path, *extra])


def app_proof(proof: Path, key: Path, held: Path) -> tuple[int, str]:
    return _run([sys.executable, "-m", "app", "verify-proof", proof, "--key", key, "--from", f"@{held}"])


def tool_proof(proof: Path, key: Path, held: Path) -> tuple[int, str]:
    return _run([sys.executable, "-I", PROJECT / "tools" / "independent_verifier.py", "--proof", proof, "--key", key,
                 "--checkpoint", held])


def _first_line(output: str) -> str:
    """The app's verdict in its own words: the first ALTERED/NOT VERIFIED reason, else its first line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith("ALTERED:"):
            return line[:130]
        if line.startswith(("NOT CONSISTENT:", "CONSISTENT:")):
            return line[:130]
        if line.startswith("NOT VERIFIED") and index + 1 < len(lines):
            return f"NOT VERIFIED: {lines[index + 1].lstrip('- ')}"[:130]
    return (lines[0] if lines else "")[:130]


def _warned_app(output: str) -> bool:
    return any(line.startswith("Warning:") for line in output.splitlines())


def _warned_tool(output: str) -> bool:
    return any("WARNING" in line for line in output.splitlines())


# --- running the cases -----------------------------------------------------------------------------


def _copy(p: Pristine, folder: Path, name: str) -> Path:
    path = folder / f"{name}.vault"
    shutil.copyfile(p.vault, path)
    return path


def _tampered(p: Pristine, folder: Path, name: str, tamper: Tamper) -> Path:
    path = _copy(p, folder, name)
    conn = raw_connect(path)
    try:
        tamper(conn, p)
    finally:
        conn.close()
    return path


def _vault_row(case: str, check: str, expected: int, path: Path, *extra: str | Path,
               tool_extra: Sequence[str | Path] | None = None) -> Row:
    code_tool, out_tool = tool_vault(path, *(extra if tool_extra is None else tool_extra))
    code_app, out_app = app_vault(path, *extra)
    return Row(case, check, expected, code_app, code_tool, _first_line(out_app),
               (_warned_app(out_app), _warned_tool(out_tool)))


def _bundle_rows(case: str, path: Path, folder: Path, checks: Sequence[tuple[str, int, Path | None]], *,
                 expect_key_id: str | None = None) -> list[Row]:
    bundle = folder / f"{case.split()[0]}-{len(list(folder.iterdir()))}.zip"
    with Vault.open(path, PASSPHRASE, actor=ACTOR) as vault:
        export(vault, item_ids=[1, 2], audience="court", level="original", out=bundle, bundle=True)
    rows = []
    for check, expected, checkpoint in checks:
        app_extra: list[str | Path] = [] if checkpoint is None else ["--checkpoint", f"@{checkpoint}"]
        tool_extra: list[str | Path] = [] if checkpoint is None else ["--checkpoint", checkpoint]
        if expect_key_id is not None:
            app_extra += ["--expect-key-id", expect_key_id]
            tool_extra += ["--expect-key-id", expect_key_id]
        code_app, out_app = app_bundle(bundle, *app_extra)
        code_tool, _ = tool_bundle(bundle, *tool_extra)
        rows.append(Row(case, check, expected, code_app, code_tool, _first_line(out_app)))
    return rows


def honest_proof(path: Path, earlier: Path, out: Path) -> Path:
    """`evidence-vault proof --from @earlier.txt > proof.txt`, as the vault's holder runs it."""
    code, text = _run([sys.executable, "-m", "app", "--vault", path, "proof", "--from", f"@{earlier}"])
    if code != 0:
        raise RuntimeError(f"evidence-vault proof failed: {text}")
    out.write_text(text, encoding="utf-8")
    return out


def forged_proof(path: Path, old_size: int, out: Path) -> Path:
    """What an insider who rewrote the log can hand headquarters: a valid proof between two checkpoints
    of the rewritten log, both signed with the vault's key (the vault's own `proof` refuses to make one
    from the real earlier checkpoint)."""
    with Vault.open(path, PASSPHRASE, actor=ACTOR) as vault:
        tree = MerkleTree(vault.leaf_hashes())
        old = sign_checkpoint(origin=vault.origin, tree_size=old_size, root=tree.root(old_size),
                              time="2026-01-01T00:00:00Z", key=vault.signing_key)
        new = vault.checkpoint()
        tree = MerkleTree(vault.leaf_hashes())
        size = parse_checkpoint(new).tree_size
        out.write_text(format_proof_file(old, new, tree.consistency_proof(old_size, size)), encoding="utf-8")
    return out


def _proof_row(case: str, check: str, expected: int, proof: Path, key: Path, held: Path) -> Row:
    code_app, out_app = app_proof(proof, key, held)
    code_tool, _ = tool_proof(proof, key, held)
    return Row(case, check, expected, code_app, code_tool, _first_line(out_app))


def run_cases(p: Pristine, folder: Path) -> list[Row]:
    rows: list[Row] = []
    earlier = p.earlier
    intact = _copy(p, folder, "intact")
    rows.append(_vault_row("untouched vault (baseline)", "vault", 0, intact))
    rows.append(_vault_row("untouched vault (baseline)", "vault + earlier checkpoint", 0, intact,
                           "--checkpoint", f"@{earlier}", tool_extra=["--checkpoint", earlier]))
    rows.append(_vault_row("untouched vault (baseline)", f"vault --expect-key-id {p.key_id}", 0, intact,
                           "--expect-key-id", p.key_id))
    rows += _bundle_rows("untouched vault (baseline)", intact, folder,
                         [("bundle", 0, None), ("bundle + earlier checkpoint", 0, earlier)])
    proof = honest_proof(_copy(p, folder, "proof"), earlier, folder / "honest-proof.txt")
    rows.append(_proof_row("untouched vault (baseline)", "HQ: verify-proof --from earlier", 0, proof, p.key_pem,
                           earlier))

    single: list[tuple[str, Tamper]] = [
        ("chunk byte flipped", flip_chunk_byte),
        ("event field edited", edit_event_field),
        ("event edited with its hash", edit_event_and_hash),
        ("middle event deleted", delete_middle_event),
        ("two events swapped", swap_events),
        ("item row deleted", delete_item),
        ("tail under stored checkpoint deleted", delete_tail_under_stored_checkpoint),
    ]
    for name, tamper in single:
        rows.append(_vault_row(name, "vault", 1, _tampered(p, folder, name.split()[0], tamper)))

    key = _tampered(p, folder, "key", replace_signing_key)
    rows.append(_vault_row("signing key replaced", "vault", 1, key))
    rows.append(_vault_row("signing key replaced", "vault + earlier checkpoint", 1, key,
                           "--checkpoint", f"@{earlier}", tool_extra=["--checkpoint", earlier]))
    rows.append(_vault_row("signing key replaced", f"vault --expect-key-id {p.key_id}", 1, key,
                           "--expect-key-id", p.key_id))
    # An export refuses a vault whose stored checkpoints the current key did not sign, so the insider
    # who replaced the key also rebuilds the log without them and re-signs it with the new key.
    rekeyed = _tampered(p, folder, "rekeyed", rekey_and_rewrite)
    resign(rekeyed)
    case = "new key, log rebuilt, re-signed"
    rows.append(_vault_row(case, "vault alone (cannot tell)", 0, rekeyed))
    rows.append(_vault_row(case, f"vault --expect-key-id {p.key_id}", 1, rekeyed, "--expect-key-id", p.key_id))
    rows.append(_vault_row(case, "vault + earlier checkpoint", 1, rekeyed,
                           "--checkpoint", f"@{earlier}", tool_extra=["--checkpoint", earlier]))
    rows += _bundle_rows(case, rekeyed, folder, [("bundle alone (cannot tell)", 0, None),
                                                 ("bundle + earlier checkpoint", 1, earlier)])
    rows += _bundle_rows(case, rekeyed, folder, [(f"bundle --expect-key-id {p.key_id}", 1, None)],
                         expect_key_id=p.key_id)
    forged = forged_proof(rekeyed, p.earlier_size, folder / "rekeyed-proof.txt")
    rows.append(_proof_row(case, "HQ: its proof, verify-proof --key (HQ's)", 1, forged, p.key_pem, earlier))
    rows.append(_vault_row("key columns replaced", "vault", 1,
                           _tampered(p, folder, "columns", replace_key_columns)))
    rows.append(_vault_row("stale checkpoint root", "vault", 1, _tampered(p, folder, "stale", stale_checkpoint_root)))
    rows.append(_vault_row("checkpoint row deleted", "vault", 1,
                           _tampered(p, folder, "cprow", delete_checkpoint_row)))
    rows.append(_vault_row("event backdated (after last checkpoint)", "vault (warning expected)", 0,
                           _tampered(p, folder, "backdated", backdate_last_event)))

    rewritten = _tampered(p, folder, "rewrite", rewrite_exhibit)
    resign(rewritten)
    case = "full rewrite, re-signed"
    rows.append(_vault_row(case, "vault alone (cannot tell)", 0, rewritten))
    rows.append(_vault_row(case, "vault + earlier checkpoint", 1, rewritten,
                           "--checkpoint", f"@{earlier}", tool_extra=["--checkpoint", earlier]))
    rows += _bundle_rows(case, rewritten, folder,
                         [("bundle alone (cannot tell)", 0, None), ("bundle + earlier checkpoint", 1, earlier)])
    forged = forged_proof(rewritten, p.earlier_size, folder / "forged-proof.txt")
    rows.append(_proof_row(case, "HQ: forged proof, verify-proof --from earlier", 1, forged, p.key_pem, earlier))

    truncated = _copy(p, folder, "truncate")
    later = folder / "later.txt"
    with Vault.open(truncated, PASSPHRASE, actor=ACTOR) as vault:
        later.write_text(vault.checkpoint(), encoding="utf-8")
    conn = raw_connect(truncated)
    try:
        truncate_tail(conn, p)
    finally:
        conn.close()
    case = "tail truncated after a later checkpoint"
    rows.append(_vault_row(case, "vault alone (cannot tell)", 0, truncated))
    rows.append(_vault_row(case, "vault + later checkpoint", 1, truncated,
                           "--checkpoint", f"@{later}", tool_extra=["--checkpoint", later]))
    rows += _bundle_rows(case, truncated, folder,
                         [("bundle + earlier checkpoint", 0, earlier), ("bundle + later checkpoint", 1, later)])
    return rows


def print_table(rows: Sequence[Row]) -> None:
    widths = (max(len(r.case) for r in rows), max(len(r.check) for r in rows))
    head = (f"{'case':<{widths[0]}}  {'check':<{widths[1]}}  {'must be':<13}  {'app':<13}  "
            f"{'independent':<13}  agree")
    print(head)
    print("-" * len(head))
    for r in rows:
        app = VERDICT.get(r.app, str(r.app)) + ("+W" if r.warned[0] else "")
        tool = VERDICT.get(r.tool, str(r.tool)) + ("+W" if r.warned[1] else "")
        mark = "yes" if r.good else "NO"
        must = VERDICT[r.expected]
        print(f"{r.case:<{widths[0]}}  {r.check:<{widths[1]}}  {must:<13}  {app:<13}  {tool:<13}  {mark}")
    print("\n+W: a warning was printed (times are claims: a backdated event is named, the verdict stays intact).")
    print("\nWhat the app printed first, per row:")
    for r in rows:
        print(f"  {r.case} / {r.check}: {r.app_said}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the vaults and bundles in this (new) folder")
    args = parser.parse_args()
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="tamper-table-"))
    try:
        pristine = make_pristine(scratch)
        rows = run_cases(pristine, scratch)
        print_table(rows)
        bad = [r for r in rows if not r.good]
        print(f"\n{len(rows)} checks, {len(rows) - len(bad)} as required and in agreement, {len(bad)} not; "
              f"{time.perf_counter() - started:.0f} s.")
        if args.keep is not None:
            shutil.copytree(scratch, args.keep)
        return 1 if bad else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
