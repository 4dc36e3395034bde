#!/usr/bin/env bash
# timed.sh LABEL COMMAND...: run COMMAND under a banner and report its wall time.
set -uo pipefail
label="$1"
shift
printf '\n==> %s\n' "$label"
start=$(date +%s.%N)
"$@"
status=$?
elapsed=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" \
    "$start" "$(date +%s.%N)")
if [ $status -eq 0 ]; then
    printf '<== %s: ok in %ss\n' "$label" "$elapsed"
else
    printf '<== %s: FAILED (exit %d) after %ss\n' "$label" "$status" "$elapsed"
fi
exit $status
