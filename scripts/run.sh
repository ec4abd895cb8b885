#!/usr/bin/env bash
# Sets up (system packages + .venv) and launches Evidence Vault.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/evidence-vault "$@"
