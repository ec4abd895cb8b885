#!/usr/bin/env bash
# Sets up (system packages + .venv) and launches Evidence Vault. Once set up it needs no network:
# setup.sh calls apt only for missing system packages and pip only when pyproject.toml or
# constraints.txt changed since the last install (tests/test_setup_offline.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/evidence-vault "$@"
