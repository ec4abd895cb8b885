#!/usr/bin/env bash
# Sets up (system packages + .venv) and runs the whole test suite, then ruff, then mypy (all of app/,
# strict, with the per-module relaxations mypy.ini explains); any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export QT_QPA_PLATFORM=offscreen
status=0
.venv/bin/python -m pytest "$@" || status=$?
.venv/bin/ruff check app tests benchmarks scripts tools || status=$?
.venv/bin/mypy --config-file mypy.ini || status=$?
exit "$status"
