#!/usr/bin/env bash
# ensure_postgres.sh: print a DATABASE_URL of a PostgreSQL server the test suite may use.
#
#   1. $DATABASE_URL, when it names PostgreSQL and answers;
#   2. else postgres://postgres@127.0.0.1:5432/postgres, when that answers with trust auth
#      (pytest-django creates and drops its own test_postgres database there);
#   3. else a throwaway cluster: initdb into a temporary directory, started on a free port
#      on 127.0.0.1 with trust auth. `scripts/stop_postgres.sh URL` stops and deletes it.
#
# Installs the Debian packages it needs (postgresql-client, postgresql) when missing.
# PG_PROBE_HOST / PG_PROBE_PORT (default 127.0.0.1:5432) change where step 2 looks;
# point PG_PROBE_PORT at a dead port to exercise step 3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

probe_host="${PG_PROBE_HOST:-127.0.0.1}"
probe_port="${PG_PROBE_PORT:-5432}"

if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
    "$(dirname "$0")/apt_install.sh" postgresql-client
fi

# Does the server at URL accept our connection and run a query?
answers() {
    PGCONNECT_TIMEOUT=3 pg_isready -q -t 3 -d "$1" >/dev/null 2>&1 \
        && PGCONNECT_TIMEOUT=3 psql "$1" -XAtqc 'select 1' >/dev/null 2>&1
}

if [ -n "${DATABASE_URL:-}" ]; then
    case "$(url_part "$DATABASE_URL" scheme)" in
        postgres | postgresql)
            if answers "$DATABASE_URL"; then
                say "PostgreSQL: using \$DATABASE_URL"
                printf '%s\n' "$DATABASE_URL"
                exit 0
            fi
            warn "\$DATABASE_URL does not answer; looking elsewhere"
            ;;
        *) say "\$DATABASE_URL is not PostgreSQL; looking elsewhere" ;;
    esac
fi

local_url="postgres://postgres@$probe_host:$probe_port/postgres"
if answers "$local_url"; then
    say "PostgreSQL: using the server on $probe_host:$probe_port"
    printf '%s\n' "$local_url"
    exit 0
fi

# --- A throwaway cluster ----------------------------------------------------------------------
say "PostgreSQL: nothing usable on $probe_host:$probe_port; starting a throwaway cluster"

find_pg_bin() {
    local dir
    dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
    fi
}
pg_bin="$(find_pg_bin)"
if [ -z "$pg_bin" ]; then
    "$(dirname "$0")/apt_install.sh" postgresql
    pg_bin="$(find_pg_bin)"
    [ -n "$pg_bin" ] || die "initdb not found even after installing postgresql"
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/portfolio-pg.XXXXXX")"
chmod 755 "$dir"
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root.
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    fi
    chown postgres: "$dir"
    as_owner=(runuser -u postgres --)
fi

(cd "$dir" && "${as_owner[@]}" "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust \
    --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1) \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

started=""
for _ in 1 2 3; do
    port="$(free_port)"
    if (cd "$dir" && "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -w -t 30 -s start -o "-p $port -k $dir -c listen_addresses=127.0.0.1 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        >&2); then
        started=1
        break
    fi
done
if [ -z "$started" ]; then
    tail -n 20 "$dir/server.log" >&2 || true
    die "the throwaway PostgreSQL did not start"
fi

url="postgres://postgres@127.0.0.1:$port/postgres"
mkdir -p "$RUN_DIR"
printf '%s\n%s\n' "$dir" "$pg_bin" >"$RUN_DIR/postgres-$port.state"
answers "$url" || die "the throwaway PostgreSQL on port $port does not answer"
say "PostgreSQL: throwaway cluster in $dir on port $port ($("$pg_bin/postgres" --version))"
printf '%s\n' "$url"
