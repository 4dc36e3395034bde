#!/usr/bin/env bash
# Install the official AsyncAPI JSON Schemas (npm's @asyncapi/specs, pinned in
# tests/docs/asyncapi_specs/package-lock.json) that the AsyncAPI document is validated with.
# Does nothing when the pinned version is already there. Needs npm (Debian's `npm` package).
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/asyncapi_specs" && pwd)"
INSTALLED="$DIR/node_modules/@asyncapi/specs/package.json"

pinned() { node -p "require('$DIR/package.json').dependencies['@asyncapi/specs']"; }
installed() { [[ -f "$INSTALLED" ]] && node -p "require('$INSTALLED').version" || true; }

if [[ -f "$INSTALLED" && "$(installed)" == "$(pinned)" ]]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "ensure_asyncapi_specs: npm is missing; install it (apt-get install npm)" >&2
  exit 1
fi
echo "==> npm ci @asyncapi/specs $(pinned) (for the AsyncAPI document's tests)" >&2
npm ci --prefix "$DIR" --no-audit --no-fund --loglevel=error >&2
