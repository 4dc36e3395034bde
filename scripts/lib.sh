# Shared helpers for the scripts in this directory; `source` it, don't run it.
# Messages go to stderr so that a script's stdout stays a clean answer (a URL, say).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${PORTFOLIO_RUN_DIR:-$REPO_ROOT/var/run}"

say() { printf '  %s\n' "$*" >&2; }
warn() { printf '  warning: %s\n' "$*" >&2; }
die() { printf '  error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, else through sudo when there is one.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# url_part URL FIELD: host, port (with the scheme's default) or path of a URL.
url_part() {
    python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit

url, field = sys.argv[1], sys.argv[2]
parts = urlsplit(url)
defaults = {"postgres": 5432, "postgresql": 5432, "redis": 6379, "rediss": 6379}
if field == "host":
    print(parts.hostname or "127.0.0.1")
elif field == "port":
    print(parts.port or defaults.get(parts.scheme, ""))
elif field == "scheme":
    print(parts.scheme)
PY
}

# The command line of stop_<kind>.sh: `URL` stops the throwaway <kind> server on that URL's
# port (nothing when the URL names a server we did not start), `--all` stops every one.
# The caller defines stop_one STATE_FILE.
stop_throwaway() {
    local kind="$1" arg="${2:-}" state
    case "$arg" in
        --all)
            for state in "$RUN_DIR/$kind"-*.state; do
                [ -e "$state" ] && stop_one "$state"
            done
            ;;
        "") die "usage: stop_$kind.sh URL | --all" ;;
        *)
            state="$RUN_DIR/$kind-$(url_part "$arg" port).state"
            if [ -e "$state" ]; then stop_one "$state"; fi
            ;;
    esac
}
