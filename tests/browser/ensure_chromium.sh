#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests when it is missing (Playwright drives
# /usr/bin/chromium; `playwright install` is not used). Safe to run repeatedly.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure_chromium: no apt-get here; install Chromium at /usr/bin/chromium yourself" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
echo "==> apt-get install chromium (for the browser tests)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
