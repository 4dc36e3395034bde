#!/usr/bin/env bash
# Install the Debian packages given as arguments that are not installed yet.
# Runs `apt-get update` first, once per hour at most (fresh containers have no lists).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

missing=()
for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"

# apt and dpkg are chatty: keep their output in a log, shown only when they fail.
log="$(mktemp "${TMPDIR:-/tmp}/portfolio-apt.XXXXXX")"
trap 'rm -f "$log"' EXIT
run_apt() {
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$log" 2>&1; then
        cat "$log" >&2
        die "apt-get $* failed"
    fi
}

marker="${TMPDIR:-/tmp}/portfolio-stream-apt-updated"
if [ -z "$(find "$marker" -mmin -60 2>/dev/null)" ]; then
    say "apt-get update"
    run_apt update -q
    touch "$marker"
fi
say "apt-get install ${missing[*]}"
run_apt install -y -q --no-install-recommends "${missing[@]}"
