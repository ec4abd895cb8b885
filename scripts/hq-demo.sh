#!/usr/bin/env bash
# Headquarters end to end on this machine, in a temporary folder that is removed afterwards:
# a local PostgreSQL (Unix socket only), headquarters and two field vaults made with the
# `evidence-vault` command line from real media in ../shared/data/media, transfers, imports
# (each checkpoint cosigned; the second package of a vault extends the first), receipts taken
# back into the field vaults, a signed export bundle and a sealed PDF dossier from headquarters,
# and a full verify.
# Prints exactly one line:  N items from M field vaults, custody unbroken, W checkpoints witnessed
# Exits 0 only when every step succeeded and everything verified; stops the server it started.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${EVIDENCE_VAULT_PYTHON:-$ROOT/.venv/bin/python}"
MEDIA="${EVIDENCE_VAULT_TEST_DATA:-$ROOT/../shared/data}/media"
for f in jpeg_exif_gps_DSCN0010.jpg audio_speech_librispeech_116-288045-0000.wav video_h264_aac_hamilton.mp4 \
         jpeg_exif_gps_DSCN0021.jpg; do
  [ -f "$MEDIA/$f" ] || { echo "hq-demo: real media is missing ($MEDIA/$f); see ../shared/data/SOURCES.md" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/evhq-demo.XXXXXX")"
[ "$(id -u)" -eq 0 ] && chmod 711 "$WORK"   # the 'postgres' account must enter it (see scripts/hq.sh)
HQ="$WORK/hq"
LOG="$WORK/demo.log"
cleanup() {
  bash scripts/hq.sh stop "$HQ" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export EVIDENCE_VAULT_PASSPHRASE="demo passphrase orbit lantern copper meadow"
ev() { "$PYTHON" -m app "$@"; }
step() {  # run quietly; on failure show what it said and stop
  if ! "$@" >>"$LOG" 2>&1; then
    echo "hq-demo: this step failed: $*" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
}

step bash scripts/hq.sh start "$HQ"
step ev hq init --dir "$HQ" --name hq.example.org

field() {  # field NAME FILE... : a vault with one case holding FILEs, transferred and imported
  local name="$1"; shift
  local vault="$WORK/$name.vault"
  step ev --vault "$vault" init
  local case_id
  case_id="$(ev --vault "$vault" case add "Case of $name" 2>>"$LOG")"
  for f in "$@"; do step ev --vault "$vault" ingest --case "$case_id" "$MEDIA/$f"; done
  step ev --vault "$vault" transfer --case "$case_id" --to "$HQ/hq-public.pem" --out "$WORK/$name-1.evt"
  step ev hq import --dir "$HQ" "$WORK/$name-1.evt"
  step ev --vault "$vault" receipt import "$WORK/$name-1.evt.receipt" --hq "$HQ/hq-public.pem"
  echo "$case_id" >"$WORK/$name.case"
}
field alpha jpeg_exif_gps_DSCN0010.jpg audio_speech_librispeech_116-288045-0000.wav
field beta video_h264_aac_hamilton.mp4

# A second transfer from alpha: its checkpoint is cosigned only because it extends the first.
step ev --vault "$WORK/alpha.vault" ingest --case "$(cat "$WORK/alpha.case")" "$MEDIA/jpeg_exif_gps_DSCN0021.jpg"
step ev --vault "$WORK/alpha.vault" transfer --case "$(cat "$WORK/alpha.case")" --to "$HQ/hq-public.pem" \
  --out "$WORK/alpha-2.evt"
step ev hq import --dir "$HQ" "$WORK/alpha-2.evt"
step ev --vault "$WORK/alpha.vault" receipt import "$WORK/alpha-2.evt.receipt" --hq "$HQ/hq-public.pem"

step ev hq export --dir "$HQ" --items all --out "$WORK/export"
# The field app's sealed PDF dossier, made at headquarters from the archive (one field vault: alpha's items).
alpha_items="$(ev hq list --dir "$HQ" --json 2>>"$LOG" | "$PYTHON" -c '
import json, sys
items = json.load(sys.stdin)
print(",".join(str(i["id"]) for i in items if i["origin"] == items[0]["origin"]))')"
step ev hq export --dir "$HQ" --items "$alpha_items" --out "$WORK/alpha-dossier.pdf"
for v in alpha beta; do step ev --vault "$WORK/$v.vault" verify; done
if ! ev hq verify --dir "$HQ" --json >"$WORK/verify.json" 2>>"$LOG"; then
  echo "hq-demo: headquarters' verification found problems:" >&2
  cat "$WORK/verify.json" >&2
  exit 1
fi
"$PYTHON" - "$WORK" <<'PY'
import json, sys
from pathlib import Path

from app.hq.export_bundle import verify_export
from app.transfer.identity import HqPublicIdentity

work = Path(sys.argv[1])
report = json.loads((work / "verify.json").read_text())
problems = verify_export(work / "export", HqPublicIdentity.from_pem((work / "hq" / "hq-public.pem").read_bytes()))
if not report["ok"] or report["forks"] or problems:
    print("hq-demo: custody is NOT unbroken:", report["problems"] + problems, file=sys.stderr)
    sys.exit(1)
items = len(json.loads((work / "export" / "records" / "items.json").read_text()))
if not (work / "alpha-dossier.pdf").read_bytes().startswith(b"%PDF-"):
    print("hq-demo: the dossier made at headquarters is not a PDF", file=sys.stderr)
    sys.exit(1)
print(f"{items} items from {report['field_vaults']} field vaults, custody unbroken, "
      f"{report['checkpoints_witnessed']} checkpoints witnessed")
PY
