#!/usr/bin/env bash
# Sets up (system packages + .venv) and runs the whole test suite, then ruff.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export QT_QPA_PLATFORM=offscreen
status=0
.venv/bin/python -m pytest "$@" || status=$?
.venv/bin/ruff check app tests benchmarks scripts tools || status=$?
exit "$status"
