#!/usr/bin/env bash
# stop_postgres.sh URL | --all: stop and delete the throwaway cluster that
# ensure_postgres.sh started for URL (or all of them). Any other server is left alone.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

stop_one() {
    local state="$1" dir pg_bin owner
    { read -r dir && read -r pg_bin; } <"$state"
    if [ -d "$dir/data" ]; then
        owner="$(stat -c %U "$dir")"
        if [ "$owner" != "$(id -un)" ]; then
            (cd "$dir" && runuser -u "$owner" -- "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w -s stop) \
                || warn "pg_ctl stop failed for $dir"
        else
            "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w -s stop || warn "pg_ctl stop failed for $dir"
        fi
    fi
    rm -rf "$dir" "$state"
    say "PostgreSQL: stopped and removed the throwaway cluster in $dir"
}

stop_throwaway postgres "$@"
exit 0
