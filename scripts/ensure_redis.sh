#!/usr/bin/env bash
# ensure_redis.sh: print a REDIS_URL of a Redis server the test suite may use.
#
#   1. $REDIS_URL, when it answers PING;
#   2. else redis://127.0.0.1:6379/0, when that answers;
#   3. else a throwaway redis-server (no persistence) on a free port on 127.0.0.1;
#      `scripts/stop_redis.sh URL` stops it.
#
# Installs redis-server with apt-get when it is missing. REDIS_PROBE_PORT (default 6379)
# changes where step 2 looks; point it at a dead port to exercise step 3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

probe_port="${REDIS_PROBE_PORT:-6379}"

answers() {
    local url="$1" host port
    if command -v redis-cli >/dev/null 2>&1; then
        [ "$(timeout 5 redis-cli -u "$url" ping 2>/dev/null)" = "PONG" ]
        return
    fi
    host="$(url_part "$url" host)"
    port="$(url_part "$url" port)"
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 \
        && read -r reply <&3 && [[ $reply == +PONG* ]]' "$host" "$port" 2>/dev/null
}

if [ -n "${REDIS_URL:-}" ]; then
    if answers "$REDIS_URL"; then
        say "Redis: using \$REDIS_URL"
        printf '%s\n' "$REDIS_URL"
        exit 0
    fi
    warn "\$REDIS_URL does not answer; looking elsewhere"
fi

local_url="redis://127.0.0.1:$probe_port/0"
if answers "$local_url"; then
    say "Redis: using the server on 127.0.0.1:$probe_port"
    printf '%s\n' "$local_url"
    exit 0
fi

say "Redis: nothing on 127.0.0.1:$probe_port; starting a throwaway redis-server"
command -v redis-server >/dev/null 2>&1 || "$(dirname "$0")/apt_install.sh" redis-server

dir="$(mktemp -d "${TMPDIR:-/tmp}/portfolio-redis.XXXXXX")"
port="$(free_port)"
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
url="redis://127.0.0.1:$port/0"
for _ in $(seq 50); do
    answers "$url" && break
    sleep 0.1
done
answers "$url" || { cat "$dir/redis.log" >&2; die "the throwaway redis-server does not answer"; }
mkdir -p "$RUN_DIR"
printf '%s\n' "$dir" >"$RUN_DIR/redis-$port.state"
say "Redis: throwaway server in $dir on port $port"
printf '%s\n' "$url"
