#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv: both Python packages installed
# editable, the JupyterLab front-end built into jupyter_kf/labextension. Idempotent.
#   scripts/setup.sh          jupyter-kf and what the example notebooks import (the demo)
#   scripts/setup.sh test     plus test dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "setup: Python 3.10 or newer is needed (found: $("$PY" --version 2>&1)). Set PYTHON=/path/to/python3." >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js (18 or newer) is needed to build the JupyterLab extension from source." >&2
  echo "       On Debian/Ubuntu: sudo apt-get install -y nodejs" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
echo "==> installing Python packages into .venv (first time: a few minutes)"
.venv/bin/python -m pip install -q --upgrade pip
extras="[examples]"
[ "${1:-}" = "test" ] && extras="[examples,test]"
.venv/bin/python -m pip install -q -e ./converter -e ".${extras}"
echo "==> installed: $(.venv/bin/jupyter kf --version 2>/dev/null | head -1)"
