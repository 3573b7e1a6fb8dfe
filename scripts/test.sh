#!/usr/bin/env bash
# Run every test: Python (unit, integration with real kernels, server via pytest-jupyter, KFP's local
# runner, the Binder environment) and the front-end (unit tests, browser tests in Debian's chromium).
# Sets up everything it needs first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test: the browser tests need Chromium: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi

# jlpm and node tools come from the venv; the front-end's jest tests run inside pytest (tests/frontend).
export PATH="$PWD/.venv/bin:$PATH"
echo "==> pytest"
exec .venv/bin/python -m pytest "$@"
