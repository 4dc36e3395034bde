#!/usr/bin/env bash
# ensure_venv.sh [DIR]: make sure DIR (default .venv) is a working virtualenv with pip,
# built from python3 (3.11 or newer). On Debian, where `python3 -m venv` needs the
# python3-venv package, installs it when missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

venv="${1:-.venv}"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    "$(dirname "$0")/apt_install.sh" python3
fi
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$python is $("$python" -V 2>&1); this project needs Python 3.11 or newer"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    exit 0
fi

if [ -e "$venv" ]; then
    warn "$venv is incomplete (no python or no pip); recreating it"
    rm -rf "$venv"
fi
say "creating $venv with $("$python" -V 2>&1)"
if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    # Debian splits venv/ensurepip out of the interpreter package.
    rm -rf "$venv"
    "$(dirname "$0")/apt_install.sh" python3-venv
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip --version >/dev/null || die "$venv has no pip"
