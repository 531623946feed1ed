#!/usr/bin/env bash
# Install (into .venv, once) and start the GENRE app on the bundled sample data.
#
# Safe by default: the app listens on 127.0.0.1 only. To let colleagues reach it, set
# GENRE_ADDRESS (e.g. GENRE_ADDRESS=0.0.0.0 ./run.sh) or pass --server.address yourself, and read
# docs/hosting.md first. Further arguments go to `streamlit run` (later ones win).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install.sh
export OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m streamlit run hosted.py --browser.gatherUsageStats false \
  --server.address "${GENRE_ADDRESS:-127.0.0.1}" "$@"
