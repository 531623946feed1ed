#!/usr/bin/env bash
# Install (into .venv, once) and start the GENRE app on the bundled sample data.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install.sh
export OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m streamlit run app.py --browser.gatherUsageStats false "$@"
