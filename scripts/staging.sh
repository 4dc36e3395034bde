#!/usr/bin/env bash
# staging.sh [--serve]: the production topology on one machine, each role its own process:
# two daphne servers, an order worker, the simulated market, position sync and the broker
# stream, with DEBUG off, on PostgreSQL and Redis (found or started by ensure_*.sh).
#
#   staging.sh          run the smoke and load test (tests/staging/smoke.py) across them,
#                       print its numbers, tear everything down; exits non-zero on a failure
#   staging.sh --serve  keep them running on $PORT and $PORT+1 with the demo users, until
#                       Ctrl-C
#
# Each run gets a database of its own on the PostgreSQL server (dropped at the end) and
# Redis database $STAGING_REDIS_DB (default 12, flushed before and after). The servers speak
# plain HTTP (DJANGO_HTTPS=0): there is no TLS proxy in front of them here.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

mode=smoke
case "${1:-}" in
    "") ;;
    --serve) mode=serve ;;
    *) die "usage: staging.sh [--serve]" ;;
esac

BIN="$REPO_ROOT/.venv/bin"
[ -x "$BIN/python" ] || die "no .venv: run make install first"
run_dir="$RUN_DIR/staging-$$"
mkdir -p "$run_dir"

pids=()
names=()
pg_server=""
redis_server=""
database=""

stop_all() {
    local status=$? pid i
    trap - INT TERM EXIT
    if [ ${#pids[@]} -gt 0 ]; then
        say "stopping ${#pids[@]} processes (SIGTERM)"
        kill -TERM "${pids[@]}" 2>/dev/null || true
        for _ in $(seq 100); do
            alive=0
            for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
            [ "$alive" -eq 0 ] && break
            sleep 0.1
        done
        for i in "${!pids[@]}"; do
            if kill -0 "${pids[$i]}" 2>/dev/null; then
                warn "${names[$i]} ignored SIGTERM for 10 s; killing it"
                kill -KILL "${pids[$i]}" 2>/dev/null || true
            fi
        done
        wait 2>/dev/null || true
    fi
    if [ -n "$database" ]; then
        psql "$pg_server" -XAtqc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null \
            || warn "could not drop the staging database $database"
    fi
    if [ -n "${REDIS_URL:-}" ]; then
        "$BIN/python" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1]).flushdb()' \
            "$REDIS_URL" 2>/dev/null || true
    fi
    [ -z "$pg_server" ] || scripts/stop_postgres.sh "$pg_server"
    [ -z "$redis_server" ] || scripts/stop_redis.sh "$redis_server"
    if [ "$status" -eq 0 ]; then rm -rf "$run_dir"; fi
    exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# --- Services ---------------------------------------------------------------------------------
pg_server="$(scripts/ensure_postgres.sh)"
redis_server="$(scripts/ensure_redis.sh)"

database="portfolio_staging_$$"
psql "$pg_server" -XAtqc "CREATE DATABASE \"$database\"" >/dev/null
DATABASE_URL="$("$BIN/python" - "$pg_server" "$database" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit

parts = urlsplit(sys.argv[1])
print(urlunsplit((parts.scheme, parts.netloc, "/" + sys.argv[2], parts.query, "")))
PY
)"
REDIS_URL="${redis_server%/*}/${STAGING_REDIS_DB:-12}"
"$BIN/python" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1]).flushdb()' "$REDIS_URL"
say "staging database $database; Redis $REDIS_URL"

# --- The deployment's environment (docs/deployment.md), without TLS ----------------------------
DJANGO_SECRET_KEY="$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export DATABASE_URL REDIS_URL DJANGO_SECRET_KEY
export DJANGO_SETTINGS_MODULE=portfolio_stream.settings
export DJANGO_DEBUG=0 DJANGO_HTTPS=0 DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost SERVE_STATIC=1
# Reports every second, so the smoke test sees a process's sockets without waiting long.
export STATS_REPORT_INTERVAL_SECONDS=1 STATS_REDIS_PREFIX="portfolio:staging$$:stats:"
export PYTHONUNBUFFERED=1 LOG_LEVEL="${LOG_LEVEL:-INFO}"
# No market-data keys from the caller's shell: the broker stream stays off Alpaca.
unset ALPACA_DATA_API_KEY ALPACA_DATA_SECRET_KEY PORTFOLIO_VAR_DIR

"$BIN/python" manage.py migrate --noinput >"$run_dir/migrate.log" 2>&1 \
    || { cat "$run_dir/migrate.log" >&2; die "migrate failed"; }

start() {
    local name="$1"
    shift
    say "starting $name: $*"
    if [ "$mode" = serve ]; then
        "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
    else
        "$@" >"$run_dir/$name.log" 2>&1 &
    fi
    pids+=("$!")
    names+=("$name")
}

if [ "$mode" = serve ]; then
    ports=("${PORT:-8000}" "$((${PORT:-8000} + 1))")
    # The demo users come from a development command; it only writes rows.
    DJANGO_DEBUG=1 "$BIN/python" manage.py ensure_demo_data
else
    ports=("$(free_port)" "$(free_port)")
fi

# The Procfile's command lines.
for i in 0 1; do
    start "web-$((i + 1))" "$BIN/daphne" -b 127.0.0.1 -p "${ports[$i]}" --proxy-headers \
        portfolio_stream.asgi:application
done
start worker "$BIN/python" manage.py run_order_worker
start market "$BIN/python" manage.py run_market
start sync "$BIN/python" manage.py sync_positions --loop
start broker-stream "$BIN/python" manage.py run_broker_stream

if [ "$mode" = serve ]; then
    say "web on http://127.0.0.1:${ports[0]} and http://127.0.0.1:${ports[1]} (demo/demo, admin/admin)"
    wait -n "${pids[@]}"
    exit 1
fi

# --- The smoke test ---------------------------------------------------------------------------
status=0
"$BIN/python" -m tests.staging.smoke \
    --web "http://127.0.0.1:${ports[0]}" --web "http://127.0.0.1:${ports[1]}" || status=$?
for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
        warn "${names[$i]} exited during the smoke test"
        status=1
    fi
done
if [ "$status" -ne 0 ]; then
    for name in "${names[@]}"; do
        printf '\n--- %s (last 30 lines of %s) ---\n' "$name" "$run_dir/$name.log" >&2
        tail -n 30 "$run_dir/$name.log" >&2 || true
    done
    die "the staging smoke test failed (logs kept in $run_dir)"
fi
