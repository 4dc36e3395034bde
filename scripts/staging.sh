#!/usr/bin/env bash
# staging.sh: the production topology on one machine, each role its own process:
# two daphne servers, an order worker, the simulated market, position sync and the broker
# stream, on PostgreSQL and Redis (found or started by ensure_*.sh). Ctrl-C stops them all.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

BIN="$REPO_ROOT/.venv/bin"
first_port="${PORT:-8000}"
DATABASE_URL="${DATABASE_URL:-$(scripts/ensure_postgres.sh)}"
REDIS_URL="${REDIS_URL:-$(scripts/ensure_redis.sh)}"
export DATABASE_URL REDIS_URL

pids=()
stop_all() {
    trap - INT TERM EXIT
    say "stopping ${#pids[@]} processes"
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

start() {
    local name="$1"; shift
    say "starting $name: $*"
    "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
    pids+=("$!")
}

"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py ensure_demo_data
start web-1 "$BIN/daphne" -b 127.0.0.1 -p "$first_port" portfolio_stream.asgi:application
start web-2 "$BIN/daphne" -b 127.0.0.1 -p "$((first_port + 1))" portfolio_stream.asgi:application
start worker "$BIN/python" manage.py run_order_worker
start market "$BIN/python" manage.py run_market
start sync "$BIN/python" manage.py sync_positions --loop
start broker-stream "$BIN/python" manage.py run_broker_stream
say "web on http://127.0.0.1:$first_port and http://127.0.0.1:$((first_port + 1)) (demo/demo)"
wait -n "${pids[@]}"
