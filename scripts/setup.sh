#!/usr/bin/env bash
# Sets up everything Evidence Vault needs on a fresh Debian 12 machine with Python 3.11:
# the system packages (Qt runtime libraries, ffmpeg, fonts, Xvfb, poppler) and a virtual
# environment in .venv with the project installed.  Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
  # Qt offscreen and on a real X screen / Xvfb
  libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfreetype6 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0
  libxkbcommon-x11-0 libpulse0 xvfb xauth
  # media probing, decoding and re-encoding
  ffmpeg
  # fonts for the witnesses' scripts (Qt and the PDF dossiers)
  fonts-noto-core fonts-noto-cjk fonts-khmeros fonts-wqy-microhei fontconfig
  # PDF pages to PNG for looking at dossiers in tests; strace proves in tests that no socket is opened
  poppler-utils strace
  # headquarters archive (evidence-vault hq, scripts/hq.sh) and its tests
  postgresql-15
)

SUDO_CMD=""; [ "$(id -u)" -ne 0 ] && SUDO_CMD="sudo"
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c "import venv, ensurepip" 2>/dev/null || { $SUDO_CMD apt-get install -y -qq python3-venv >/dev/null; }
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extras="${1:-app}"
# pip is only called when .venv does not yet hold what pyproject.toml and constraints.txt ask for:
# the stamp records their hash after a successful install, so a set-up field laptop starts offline.
STAMP=.venv/.evidence-vault-setup
wanted="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && { grep -qx "$wanted test" "$STAMP" || grep -qx "$wanted $extras" "$STAMP"; }; then
  echo "setup: .venv is up to date ($extras); pip not needed"
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$extras" = "test" ]; then
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
else
  .venv/bin/python -m pip install -q -c constraints.txt -e .
fi
echo "$wanted $extras" > "$STAMP"
