#!/usr/bin/env bash
# Set everything up (scripts/setup.sh) and run the demo pipeline locally: the wine classification
# notebook, its three models trained in parallel, each step in its own kernel. Ends with its metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> the pipeline:"
.venv/bin/jupyter kf compile examples/wine-pipeline.ipynb --graph text
echo "==> running it locally:"
.venv/bin/jupyter kf run examples/wine-pipeline.ipynb "$@"
echo "==> the run and its metrics (jupyter kf runs):"
.venv/bin/jupyter kf runs -n examples/wine-pipeline.ipynb --limit 1 --wide
