#!/usr/bin/env bash
# Starts, stops or reports headquarters' private PostgreSQL 15 server (tracker #12):
#
#   scripts/hq.sh start DIR     create the cluster in DIR/postgres on first use, then start it
#   scripts/hq.sh stop DIR      stop it (fast shutdown: open transactions are rolled back)
#   scripts/hq.sh status DIR    print running/stopped (exit 0 running, 3 stopped)
#
# The server listens on NO network port (listen_addresses = ''): only on a Unix socket in
# DIR/postgres/run, mode 0700, so only the account running it (and root) can connect.  PostgreSQL
# refuses to run as root; started by root, it runs as the 'postgres' account that Debian's
# postgresql-15 package creates (another: EVIDENCE_VAULT_PG_USER=name, created with
# 'useradd --system name'), and DIR and its parent folders must be enterable by that account
# (DIR is set to mode 0711; e.g. use a folder under /srv).  Then: evidence-vault hq init --dir DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${EVIDENCE_VAULT_PYTHON:-$ROOT/.venv/bin/python}"
if [ $# -ne 2 ] || { [ "$1" != start ] && [ "$1" != stop ] && [ "$1" != status ]; }; then
  echo "usage: scripts/hq.sh start|stop|status DIR" >&2
  exit 2
fi
action="$1"
mkdir -p -- "$2" 2>/dev/null || true
dir="$(cd -- "$2" && pwd)" || { echo "hq.sh: the folder $2 cannot be used." >&2; exit 2; }
cd "$ROOT"
exec "$PYTHON" -m app.hq.pg_cluster "$action" "$dir"
