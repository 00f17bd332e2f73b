#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration (real sockets, SQLite, Redis, PostgreSQL,
# real node processes) and the client written in Python from the protocol spec alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Python client's two packages; installed for the current user when missing.
if ! python3 -c 'import websockets, msgpack' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check -r clients/python/requirements.txt \
    || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages \
      -r clients/python/requirements.txt
fi
# The Python client encodes every golden example of the spec byte for byte.
python3 clients/python/test_golden.py

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
