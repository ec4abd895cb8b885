"""VERIFY.txt: how an auditor checks a bundle with sha256sum, openssl and (for the Merkle proofs) a
short standard-library Python script printed inside the file, so they can read every line they run.

The commands here are exercised verbatim by tests/export/test_bundle_shell.py.
"""

from __future__ import annotations

SCRIPT_BEGIN = "# ---- begin check_custody.py ----"
SCRIPT_END = "# ---- end check_custody.py ----"

# Standard library only, Python 3.6+.  Kept short enough to read in full before running it.
CHECK_CUSTODY_SCRIPT = r'''# ---- begin check_custody.py ----
# Checks the custody part of an Evidence Vault bundle. Run it inside the bundle folder.
# It does not check signatures: openssl does that (steps 2 and 4 of VERIFY.txt).
import base64, hashlib, json, sys

def sha(data):
    return hashlib.sha256(data).digest()

def fail(message):
    sys.exit("FAILED: " + message)

manifest = json.loads(open("manifest.json", "rb").read().decode("utf-8"))
note = open("custody/checkpoint.txt", "rb").read().decode("utf-8")
if note != manifest["checkpoint"]:
    fail("custody/checkpoint.txt differs from the checkpoint in manifest.json")
lines = note.split("\n")
size, root = int(lines[1]), base64.b64decode(lines[2])
proofs = json.loads(open("custody/proofs.json", "rb").read().decode("utf-8"))
if proofs["tree_size"] != size or bytes.fromhex(proofs["root"]) != root:
    fail("custody/proofs.json is not for the checkpoint in custody/checkpoint.txt")
events = open("custody/events.jsonl", "rb").read().split(b"\n")
if events[-1] != b"":
    fail("custody/events.jsonl does not end with a newline")
events = events[:-1]
if len(events) != len(proofs["proofs"]):
    fail("custody/proofs.json does not have one proof per event")
previous = None
for line, proof in zip(events, proofs["proofs"]):
    event = json.loads(line.decode("utf-8"))
    index = event["seq"]
    leaf = sha(b"\x00" + line)  # RFC 9162 leaf hash of the exact line bytes
    chain = hashlib.sha256(b"evidence-vault:event-chain:v1\x00" + line).hexdigest()
    if "withheld" in event:  # redacted bundle: values kept in the vault, shown as commitments
        if manifest["level"] != "redacted":
            fail("event %d withholds values in a bundle that is not redacted" % index)
        leaf, chain = bytes.fromhex(event["withheld"]["leaf_hash"]), event["withheld"]["chain_hash"]
    if proof["leaf_index"] != index or proof["leaf_hash"] != leaf.hex():
        fail("event %d: its proof is for another event" % index)
    fn, sn, r = index, size - 1, leaf  # RFC 9162 section 2.1.3.2
    for sibling in [bytes.fromhex(h) for h in proof["inclusion_proof"]]:
        if sn == 0:
            fail("event %d: the proof is too long" % index)
        if fn % 2 == 1 or fn == sn:
            r = sha(b"\x01" + sibling + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha(b"\x01" + r + sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        fail("event %d: the proof does not lead to the signed checkpoint root" % index)
    if index == 0 and event["prev_hash"] != "0" * 64:
        fail("event 0 does not start the chain")
    if previous and previous[0] + 1 == index and event["prev_hash"] != previous[1]:
        fail("event %d does not follow from event %d" % (index, previous[0]))
    if previous and previous[0] >= index:
        fail("custody/events.jsonl is not in order")
    previous = (index, chain)
ingested = set()
for line in events:
    event = json.loads(line.decode("utf-8"))
    if event["action"] == "item_ingested":
        ingested.add((event["item_id"], event["item_sha256"]))
for entry in manifest["files"]:
    if entry["item_id"] is not None and (entry["item_id"], entry["sha256"]) not in ingested:
        fail("%s: no custody event records item %d with this SHA-256" % (entry["path"], entry["item_id"]))

def consistent(m, n, first, second, path):  # RFC 9162 section 2.1.4.2
    if m == n:
        return not path and first == second
    if m == 0 or not path:
        return False
    if m & (m - 1) == 0:
        path = [first] + path
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = sha(b"\x01" + c + fr), sha(b"\x01" + c + sr)
            while fn & 1 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = sha(b"\x01" + sr + c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first and sr == second

cons = json.loads(open("custody/consistency.json", "rb").read().decode("utf-8"))
if cons["tree_size"] != size or bytes.fromhex(cons["root"]) != root:
    fail("custody/consistency.json is not for the checkpoint in custody/checkpoint.txt")

def extends(old_size, old_root):  # is the bundle's log an extension of that earlier log?
    if old_size == size:
        return old_root == root
    found = [p for p in cons["proofs"] if p["tree_size"] == old_size and bytes.fromhex(p["root"]) == old_root]
    return bool(found) and consistent(old_size, size, old_root, root,
                                      [bytes.fromhex(h) for h in found[0]["consistency_proof"]])

# The last event is the export itself: it records the files made at export, the vault items shipped and
# the other events included, so none can be replaced, added or left out without changing the signed log.
last = json.loads(events[-1].decode("utf-8")) if events else {}
if last.get("action") != "exported" or last.get("seq") != size - 1 or "withheld" in last:
    fail("the last event is not this bundle's own exported event (seq %d), so the dossier, transcripts and "
         "load files are not bound to the custody log" % (size - 1))
d = last["details"]
own = ("VERIFY.txt", "SHA256SUMS")
made = dict((e["path"], e["sha256"]) for e in manifest["files"] if e["item_id"] is None
            and not e["path"].startswith(("custody/", "keys/")) and e["path"] not in own)
if made != dict((p, h) for p, h in d["bundle_files"]):
    fail("the files made at export are not those the exported event records (added, removed or replaced)")
if sorted(e["item_id"] for e in manifest["files"] if e["item_id"] is not None) != sorted(d["bundle_items"]):
    fail("the vault items in the bundle are not those the exported event records")
shown = [json.loads(line.decode("utf-8"))["seq"] for line in events[:-1]]
if shown != d["bundle_event_seqs"]:
    fail("the custody events included are not those the exported event records (one was removed or added)")
dossiers = [e for e in manifest["files"] if e["role"] == "dossier"]
if len(dossiers) != 1 or dossiers[0]["sha256"] != d["pdf_sha256"]:
    fail("the dossier is not the one the export sealed")
if made.get("dossier-manifest.json") != d["dossier_manifest_sha256"]:
    fail("dossier-manifest.json is not the one the export made")
if (manifest["audience"], manifest["level"]) != (d["audience"], d["level"]):
    fail("manifest.json's audience or level differs from the export's record")
pem = open("keys/vault-seal-cert.pem", "rb").read().decode("ascii").split("-----")[2]
if hashlib.sha256(base64.b64decode("".join(pem.split()))).hexdigest() != d["seal"]["certificate_sha256"]:
    fail("keys/vault-seal-cert.pem is not the certificate the dossier was sealed with")
dossier = json.loads(open("dossier-manifest.json", "rb").read().decode("utf-8"))
if not set(s for x in dossier["exhibits"] for s in x["custody_event_seqs"]) <= set(shown):
    fail("an event dossier-manifest.json lists for an exhibit is missing")
dcp = dossier["checkpoint"].split("\n")  # its signature is checked by openssl, step 4
dsize, droot = int(dcp[1]), base64.b64decode(dcp[2])
if dcp[0] != lines[0] or (dsize, droot.hex()) != (d["checkpoint_tree_size"], d["checkpoint_root"]):
    fail("the dossier's checkpoint is not the one the export recorded")
if not extends(dsize, droot):
    fail("no consistency proof leads from the dossier's checkpoint to the bundle's")
print("OK: %d custody events are in the signed log of %d events; the files and events are those the export "
      "recorded" % (len(events), size))

if len(sys.argv) > 1:  # an earlier checkpoint you hold (its signature is checked by openssl, step 6)
    old = open(sys.argv[1], "rb").read().decode("utf-8").replace("\r\n", "\n").strip().split("\n")
    if old[0] != lines[0]:
        fail("the earlier checkpoint is from another vault (%s)" % old[0])
    old_size, old_root = int(old[1]), base64.b64decode(old[2])
    if old_size > size and lines[3] > old[3]:  # "time ...Z" lines compare as text
        fail("your checkpoint covers %d events, the bundle's log only %d although signed later: events were "
             "removed" % (old_size, size))
    if old_size > size:
        print("NOT CHECKED: your checkpoint covers %d events, more than this bundle's log of %d events, which "
              "was signed earlier. A bundle can only show that it extends older checkpoints. Ask the vault's "
              "keeper for a proof file: evidence-vault proof --from @custody/checkpoint.txt --to @yours.txt"
              % (old_size, size))
        sys.exit(3)
    if not extends(old_size, old_root):
        fail("the bundle's log is not an extension of the earlier checkpoint: the history was rewritten")
    print("OK: the bundle's log of %d events extends the earlier checkpoint of %d events" % (size, old_size))
# ---- end check_custody.py ----
'''


def verify_instructions(*, key_id: str, created_at: str, audience: str, level: str) -> str:
    """The text of VERIFY.txt for one bundle."""
    return f"""HOW TO VERIFY THIS EVIDENCE BUNDLE
==================================

This bundle was exported by Evidence Vault on {created_at} (UTC).
Audience: {audience}.  Level: {level}.
Vault signing key ID: {key_id}

You need: sha256sum (GNU coreutils), openssl 3.0 or newer, and for steps 4 to 6 python3.
Unpack the bundle into an empty folder (if it is a .zip) and run every command INSIDE that folder.
Each step says what its commands must print; anything else, or "FAILED", means the bundle is not
intact.  Evidence Vault can run all checks at once:  evidence-vault verify-bundle <bundle>
These instructions travel inside the bundle; the same commands are published in Evidence Vault's
documentation (docs/FORMAT.md, section "Bundles") if you prefer an independent copy.

1. Check the key.  The signatures below only prove that the bundle is consistent with the key
   inside it; anyone can make a new key.  Compute the key ID and compare it with the key ID you
   received separately from the vault owner (by phone, in person, or in a signed letter):

     openssl pkey -pubin -in keys/vault-ed25519.pem -outform DER | tail -c 32 | sha256sum | cut -c1-16

   It must print the key ID you were given (for this bundle it should be {key_id}).

2. Check the signature on the manifest (manifest.json lists every file with its SHA-256 and size):

     openssl pkeyutl -verify -pubin -inkey keys/vault-ed25519.pem -rawin -in manifest.json -sigfile manifest.json.sig

   It must print "Signature Verified Successfully".

3. Check the files.  First check that SHA256SUMS is the one the manifest names (must print 1),
   then every file listed in it (every line must end in "OK"):

     S=$(sha256sum SHA256SUMS | cut -c1-64)
     grep -c "\\"path\\":\\"SHA256SUMS\\",\\"role\\":\\"checksums\\",\\"sha256\\":\\"$S\\"" manifest.json
     sha256sum -c SHA256SUMS

   Then check that the folder holds nothing else (must print nothing):

     T=$(mktemp -d)
     find . -type f | sed 's|^\\./||' | LC_ALL=C sort > "$T/found.txt"
     {{ cut -c67- SHA256SUMS; printf '%s\\n' SHA256SUMS manifest.json manifest.json.sig; }} > "$T/listed.txt"
     LC_ALL=C sort "$T/listed.txt" | diff - "$T/found.txt"

   and that it holds no links or special files (must print nothing):

     find . ! -type f ! -type d

4. Check the signature on the checkpoint (custody/checkpoint.txt: a signed tree head in the C2SP
   signed-note format; its first four lines are signed, the signature line of the vault's key (it starts
   with an em dash and the first line) carries the signature after a 4-byte key hint):

     T=$(mktemp -d)
     head -n 4 custody/checkpoint.txt > "$T/cp.body"
     origin=$(head -n 1 custody/checkpoint.txt)
     grep "^— $origin " custody/checkpoint.txt | cut -d' ' -f3 | base64 -d | tail -c 64 > "$T/cp.sig"
     openssl pkeyutl -verify -pubin -inkey keys/vault-ed25519.pem -rawin -in "$T/cp.body" -sigfile "$T/cp.sig"

   It must print "Signature Verified Successfully".  Line 2 is the number of custody events the
   vault had recorded, line 3 the base64 Merkle root over all of them.

   Then check the same way the earlier checkpoint the dossier was made from (printed on its cover,
   copied in dossier-manifest.json) (must print "Signature Verified Successfully"):

     T=$(mktemp -d)
     python3 -c 'import json, sys; dossier = json.loads(open("dossier-manifest.json", "rb").read())
     sys.stdout.buffer.write(dossier["checkpoint"].encode("utf-8"))' > "$T/d.txt"
     head -n 4 "$T/d.txt" > "$T/d.body"
     origin=$(head -n 1 custody/checkpoint.txt)
     grep "^— $origin " "$T/d.txt" | cut -d' ' -f3 | base64 -d | tail -c 64 > "$T/d.sig"
     openssl pkeyutl -verify -pubin -inkey keys/vault-ed25519.pem -rawin -in "$T/d.body" -sigfile "$T/d.sig"

5. Check the custody events.  custody/events.jsonl holds one event per line (canonical JSON,
   RFC 8785).  Each event's Merkle leaf hash is SHA-256(0x00 || line bytes without the newline);
   custody/proofs.json holds, per event, the RFC 9162 inclusion proof from that leaf to the root in
   the checkpoint (sibling hashes from the leaf up, hex).  Interior nodes are
   SHA-256(0x01 || left || right).  Events that follow each other (seq n and n+1) are also chained:
   event n+1's "prev_hash" is SHA-256("evidence-vault:event-chain:v1" || 0x00 || line of event n),
   again over the line bytes without the newline.
   In a redacted bundle, an event whose values would undo a redaction (a voice-disguise factor, a
   noise seed) or link it to the unredacted original (the original's SHA-256) shows those values as
   keyed commitments ("hmac-sha256:..."), lists them under "withheld" and gives its real leaf and
   chain hashes there; the proof and the chain are checked with those.  A court holding the vault
   can recompute each commitment (docs/FORMAT.md, "Withheld values in redacted exports").
   Each exhibit taken from the vault (manifest "item_id" not null) must match an "item_ingested"
   event for that item with the same SHA-256.
   The last event is this bundle's own "exported" event, covered by the checkpoint (its seq is the
   checkpoint's size minus 1).  Before the bundle was written it recorded the SHA-256 of every file
   made at export ("bundle_files": the dossier, dossier-manifest.json, transcripts, load files,
   placeholders), the vault items shipped ("bundle_items") and the other events included
   ("bundle_event_seqs"), the dossier's and its manifest's SHA-256, the seal certificate's
   fingerprint and the dossier's checkpoint.  The bundle must hold exactly those: so no file can be
   replaced and no event left out, even by someone who re-signs the bundle with the vault's own key.

   The script below checks all of this.  Copy it out of this file and run it (must print "OK"):

     T=$(mktemp -d)
     sed -n '/^{SCRIPT_BEGIN}$/,/^{SCRIPT_END}$/p' VERIFY.txt > "$T/check_custody.py"
     python3 "$T/check_custody.py"

{CHECK_CUSTODY_SCRIPT}
6. If you hold a checkpoint of this vault from earlier (one sent to you or to headquarters before
   this bundle was made), check that this bundle's log extends it: that nothing recorded before it
   was rewritten or removed since.  A bundle alone cannot show that; it is what catches an insider
   who rewrites the history and re-signs it with the vault's own key.  custody/consistency.json holds
   an RFC 9162 consistency proof from every checkpoint the vault printed or received to the bundle's
   checkpoint.  Put the path of your checkpoint file in E (for example E=$HOME/earlier-checkpoint.txt),
   then check its signature by the same key (must print "Signature Verified Successfully"):

     T=$(mktemp -d)
     head -n 4 "$E" > "$T/old.body"
     origin=$(head -n 1 custody/checkpoint.txt)
     grep "^— $origin " "$E" | cut -d' ' -f3 | base64 -d | tail -c 64 > "$T/old.sig"
     openssl pkeyutl -verify -pubin -inkey keys/vault-ed25519.pem -rawin -in "$T/old.body" -sigfile "$T/old.sig"

   and run the script of step 5 with it (must print two lines starting with "OK").  If your
   checkpoint is later than the bundle's (it covers more events), the bundle cannot show that it
   agrees: the script then says "NOT CHECKED" and how to ask the vault's keeper for a proof file,
   which evidence-vault verify-proof checks.

     T=$(mktemp -d)
     sed -n '/^{SCRIPT_BEGIN}$/,/^{SCRIPT_END}$/p' VERIFY.txt > "$T/check_custody.py"
     python3 "$T/check_custody.py" "$E"

   Evidence Vault does the same with:  evidence-vault verify-bundle <bundle> --checkpoint @"$E"

7. The dossier PDF also carries a PAdES seal; keys/vault-seal-cert.pem is the seal certificate,
   listed in the manifest, so step 2 covers it.  Any PDF reader with signature support shows it.
"""
