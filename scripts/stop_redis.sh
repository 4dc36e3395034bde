#!/usr/bin/env bash
# stop_redis.sh URL | --all: stop the throwaway redis-server that ensure_redis.sh started
# for URL (or all of them). Any other server is left alone.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

stop_one() {
    local state="$1" dir pid
    read -r dir <"$state"
    if [ -f "$dir/redis.pid" ]; then
        pid="$(cat "$dir/redis.pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -rf "$dir" "$state"
    say "Redis: stopped the throwaway server in $dir"
}

stop_throwaway redis "$@"
exit 0
