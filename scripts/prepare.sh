#!/usr/bin/env bash
# What every entry point needs first on a fresh machine: Debian packages, npm dependencies
# (only when the lock file changed), and the dashboard's static files (no CDN at run time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/system-deps.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
