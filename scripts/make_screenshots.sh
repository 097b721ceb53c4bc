#!/usr/bin/env bash
# Screenshots of the main pages into docs/screenshots/: a fresh demo database, a server, Debian chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
home="$(mktemp -d)"
port="${PORT:-8765}"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$home"' EXIT
BEIAN_HOME="$home" .venv/bin/beian demo >/dev/null
BEIAN_HOME="$home" BEIAN_DEMO=1 .venv/bin/beian serve --port "$port" >"$home/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
BEIAN_HOME="$home" .venv/bin/python scripts/screenshots.py "http://127.0.0.1:$port"
