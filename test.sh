#!/usr/bin/env bash
# Install (into .venv, once) and run the whole test suite: unit, app (AppTest) and browser tests.
set -euo pipefail
cd "$(dirname "$0")"
GENRE_EXTRAS="${GENRE_EXTRAS:-spark}" ./scripts/install.sh  # the suite runs the Spark engine too
export OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
