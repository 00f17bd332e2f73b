#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration (real sockets, real SQLite) and the
# foreign-language client written from the protocol spec alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Python client's two packages; installed for the current user when missing.
if ! python3 -c 'import websockets, msgpack' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check -r clients/python/requirements.txt
fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
# Doc tests are not run by nextest.
cargo test --workspace --doc --quiet
